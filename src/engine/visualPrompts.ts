// Visual prompts → per-patch slot ids, as the reference: nearest-resize each mask to the model size,
// a patch is covered if any pixel is set, masks written largest area first so the smallest wins.
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
    for (let y = 0; y < modelHeight; y++) {
      const sy = Math.min(Math.floor((y * m.height) / modelHeight), m.height - 1);
      for (let x = 0; x < modelWidth; x++) {
        const sx = Math.min(Math.floor((x * m.width) / modelWidth), m.width - 1);
        if (m.data[sy * m.width + sx]) out[Math.floor(y / patch) * gw + Math.floor(x / patch)] = m.slot;
      }
    }
  }
  return out;
}
