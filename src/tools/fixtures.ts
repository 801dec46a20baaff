// Reading the parity fixtures written by training/export.py (float32 arrays as base64).
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface B64Array {
  dims: number[];
  dtype: 'float32';
  data: string;
}

export function decodeF32(a: B64Array): Float32Array {
  const buf = Buffer.from(a.data, 'base64');
  const out = new Float32Array(buf.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = buf.readFloatLE(i * 4);
  return out;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Number.POSITIVE_INFINITY;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

export interface Fixtures {
  image: { file: string; width: number; height: number; gh: number; gw: number };
  prompt_masks: { file: string; slot: number }[];
  vision_patches: B64Array;
  slot_ids: number[];
  image_block: {
    input_ids: number[];
    vision_patch_indices: number[];
    vp_token_indices: number[];
    position_ids: number[][];
    inputs_embeds: B64Array;
    last_hidden: B64Array;
    last_logits: B64Array;
  };
  vision_hidden: B64Array;
  pixel_features: B64Array;
  generate: { prompt: string; prompt_ids: number[]; max_new_tokens: number; output_ids: number[] };
  forced_seg: { input_ids: number[]; seg_hidden: B64Array; mask_logits: B64Array; mask_area: number };
  tokenizer: { text: string; ids: number[] }[];
  /** Pictures the resize rule changes, with the patches Pillow's bilinear resize gives (older fixtures lack them). */
  resized?: { file: string; width: number; height: number; gh: number; gw: number; vision_patches: B64Array }[];
  /**
   * Inputs where the official rules bite (older fixtures lack it): a picture the resize shrinks, overlapping
   * prompt masks at its odd size, a prompt with digits and non-ASCII text.
   */
  fidelity?: {
    image: { file: string; width: number; height: number; gh: number; gw: number };
    prompt_masks: { file: string; slot: number }[];
    prompt_overlap: string;
    slot_ids: number[];
    generate: { prompt: string; prompt_ids: number[]; max_new_tokens: number; output_ids: number[] };
    forced_seg: { input_ids: number[]; mask_logits: B64Array };
  };
}

export function readFixtures(modelDir: string): { dir: string; fixtures: Fixtures } {
  const dir = path.join(modelDir, 'parity');
  const fixtures = JSON.parse(fs.readFileSync(path.join(dir, 'fixtures.json'), 'utf8')) as Fixtures;
  return { dir, fixtures };
}
