// What a request is doing, in words, for the image editor's progress line and the chat's pending answer (both
// webviews use these, so a stage reads the same in both). The engine cannot report a fraction of a model run
// (an image prefill is one onnxruntime call), so the stage and the time since the request began are shown.
import type { EngineProgress } from './types';

/**
 * The stage in words. `progress` undefined: no stage has begun yet, either because the model is still loading
 * (`engineStarting`) or because the request waits its turn in the engine's queue.
 */
export function stageText(progress: EngineProgress | undefined, engineStarting = false): string {
  switch (progress?.stage) {
    case undefined: return engineStarting ? 'Loading the model' : 'Waiting for the engine';
    case 'image': return 'Reading the image';
    case 'prefill': return progress.patches
      ? `Prefilling the image (${progress.patches.toLocaleString('en-US')} patches${progress.side ? `, ${progress.side} px` : ''})`
      : 'Prefilling the image';
    case 'generate': return 'Writing the answer';
    case 'masks': return progress.total
      ? `Computing the mask (upsampling the features, part ${Math.min((progress.done ?? 0) + 1, progress.total)} of ${progress.total})`
      : 'Computing the mask';
  }
}

/** Whole seconds from `since` to `now` (epoch ms of the same clock); never negative. */
export function elapsedSeconds(since: number, now: number): number {
  return Math.max(0, Math.floor((now - since) / 1000));
}

/** The time part of a progress line: "· 12 s". */
export function elapsedText(seconds: number): string {
  return `· ${seconds} s`;
}

/** The line shown while a request runs: "Prefilling the image (4,096 patches, 1024 px) · 12 s". */
export function progressLine(stage: string, seconds: number): string {
  return `${stage} ${elapsedText(seconds)}`;
}
