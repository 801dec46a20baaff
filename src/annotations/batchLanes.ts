// How many engine processes a folder job runs side by side. Measured (README, "Batch jobs and the editor as
// the user feels it"): on 2 cores, two single-threaded workers did 34.0 images/s together against 19.8 for one
// worker with two threads, and through the job as the extension runs it 28.3 against 18.2 (bench --batch-lanes,
// alternating runs), because one image's kernels are too small to keep two cores busy. Each lane holds
// its own copy of the model, so a paper-size model (gigabytes) runs a job in the editor's one engine instead.

import { GRAPH_NAMES, loadModelDir } from '../engine/modelDir';

/** Above this much model (graph files and their external weights), a job does not start extra processes. */
export const LANE_MODEL_LIMIT_BYTES = 256 * 1024 * 1024;
export const MAX_LANES = 8;

/**
 * The lanes for a job: `setting` (pixelSail.batch.engines) when positive, else automatic: one per core, up to
 * two, for a model under LANE_MODEL_LIMIT_BYTES; one for a larger model or a single core. 1 means the job
 * shares the editor's engine (at batch priority, so an editor's prompt goes first).
 */
export function batchLanes(setting: number, cores: number, modelBytes: number): number {
  if (Number.isInteger(setting) && setting >= 1) return Math.min(setting, MAX_LANES);
  if (cores < 2 || !(modelBytes < LANE_MODEL_LIMIT_BYTES)) return 1;
  return 2;
}

/** The bytes of a model's graphs and their external weights; Infinity when the model cannot be read (the
 * engine reports a broken model itself), so such a model is treated as large. */
export function modelBytes(modelDir: string): number {
  try {
    const model = loadModelDir(modelDir);
    return GRAPH_NAMES.reduce((sum, g) => sum + model.graphBytes(g), 0);
  } catch {
    return Infinity;
  }
}
