// Visual prompts → per-patch slot ids, as the reference: nearest-resize each mask to the model size with
// Pillow's rule (what the official torchvision Resize(NEAREST) on a PIL image runs), a patch is covered if
// any pixel is set, and where masks overlap the one written last wins. The order is the model's
// `image.prompt_overlap`: "largest_first" (default; as training listed them, so the smallest wins) or
// "given_order" (the official predict_forward: later in the list wins).
// One departure: a region so small that the nearest resize samples none of its pixels (a 19-px box on a
// 4000-px photo) would silently vanish; it gets the patch that holds most of its pixels instead.
import { anySet } from '../masks/anySet';
import { NO_PROMPT } from './sequence';

export interface PromptMask {
  width: number;
  height: number;
  data: Uint8Array; // 0/1, row-major
  slot: number;
}

export type PromptOverlap = 'largest_first' | 'given_order';
export const PROMPT_OVERLAP_ORDERS: readonly PromptOverlap[] = ['largest_first', 'given_order'];

/**
 * Source index of each destination index in Pillow's NEAREST resize: pixel centres,
 * floor((dst + 0.5) · in / out), computed as Pillow does by adding the scale to a running double
 * (ImagingScaleAffine), which sometimes lands just below an exact integer (8 → 6 picks 5 for
 * destination 4). training/pixel_sail/preprocess.py repeats these steps; tests check both against Pillow.
 */
export function pilNearestSources(sizeIn: number, sizeOut: number): Int32Array {
  if (!(sizeIn > 0 && sizeOut > 0)) throw new RangeError(`sizes must be positive, got ${sizeIn} → ${sizeOut}`);
  const scale = sizeIn / sizeOut;
  let pos = scale * 0.5;
  const out = new Int32Array(sizeOut);
  for (let d = 0; d < sizeOut; d++) {
    out[d] = Math.min(Math.trunc(pos), sizeIn - 1);
    pos += scale;
  }
  return out;
}

export function promptSlots(masks: PromptMask[], modelWidth: number, modelHeight: number, patch: number,
  overlap: PromptOverlap = 'largest_first'): Int32Array {
  const gh = modelHeight / patch;
  const gw = modelWidth / patch;
  const out = new Int32Array(gh * gw).fill(NO_PROMPT);
  // Areas only matter for ordering two or more masks; a full-resolution count is the costly part of a click.
  const order = masks.map((m, i) => ({ m, a: masks.length > 1 && overlap === 'largest_first' ? area(m) : 0, i }));
  if (overlap === 'largest_first') order.sort((x, y) => y.a - x.a || x.i - y.i);
  for (const { m } of order) {
    const ys = pilNearestSources(m.height, modelHeight);
    const xs = pilNearestSources(m.width, modelWidth);
    let covered = 0;
    for (let y = 0; y < modelHeight; y++) {
      const row = ys[y] * m.width;
      for (let x = 0; x < modelWidth; x++) {
        if (m.data[row + xs[x]]) {
          out[Math.floor(y / patch) * gw + Math.floor(x / patch)] = m.slot;
          covered++;
        }
      }
    }
    if (covered === 0) {
      const best = patchHoldingMost(m, gw, gh);
      if (best >= 0) out[best] = m.slot;
    }
  }
  return out;
}

function area(m: PromptMask): number {
  let n = 0;
  for (let i = 0; i < m.data.length; i++) if (m.data[i]) n++;
  return n;
}

/** The patch of the gw×gh grid that holds most of the mask's pixels (-1 for an empty mask). */
function patchHoldingMost(m: PromptMask, gw: number, gh: number): number {
  const counts = new Float64Array(gw * gh);
  for (let y = 0; y < m.height; y++) {
    const py = Math.min(Math.floor((y * gh) / m.height), gh - 1);
    for (let x = 0; x < m.width; x++) {
      if (m.data[y * m.width + x]) counts[py * gw + Math.min(Math.floor((x * gw) / m.width), gw - 1)]++;
    }
  }
  let best = -1;
  for (let i = 0; i < counts.length; i++) if (counts[i] > 0 && (best < 0 || counts[i] > counts[best])) best = i;
  return best;
}

/** The 1-based numbers of the regions that cover no pixel of the image. */
export function emptyRegions(masks: PromptMask[]): number[] {
  return masks.filter((m) => !anySet(m.data)).map((m) => m.slot + 1);
}
