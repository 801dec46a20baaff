// Visual prompts → per-patch slot ids, as the reference: nearest-resize each mask to the model size,
// a patch is covered if any pixel is set, masks written largest area first so the smallest wins.
// One departure: a region so small that the nearest resize samples none of its pixels (a 19-px box on a
// 4000-px photo) would silently vanish; it gets the patch that holds most of its pixels instead.
import { NO_PROMPT } from './sequence';

export interface PromptMask {
  width: number;
  height: number;
  data: Uint8Array; // 0/1, row-major
  slot: number;
}

export function promptSlots(masks: PromptMask[], modelWidth: number, modelHeight: number, patch: number): Int32Array {
  const gh = modelHeight / patch;
  const gw = modelWidth / patch;
  const out = new Int32Array(gh * gw).fill(NO_PROMPT);
  const area = (m: PromptMask) => m.data.reduce((s, v) => s + (v ? 1 : 0), 0);
  const order = masks.map((m, i) => ({ m, a: area(m), i })).sort((x, y) => y.a - x.a || x.i - y.i);
  for (const { m } of order) {
    let covered = 0;
    for (let y = 0; y < modelHeight; y++) {
      const sy = Math.min(Math.floor((y * m.height) / modelHeight), m.height - 1);
      for (let x = 0; x < modelWidth; x++) {
        const sx = Math.min(Math.floor((x * m.width) / modelWidth), m.width - 1);
        if (m.data[sy * m.width + sx]) {
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
  return masks.filter((m) => !m.data.some((v) => v)).map((m) => m.slot + 1);
}
