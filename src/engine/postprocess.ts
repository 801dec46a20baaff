// Mask logits at stride 2 → binary masks at the original image size: bilinear (align_corners=False)
// straight to (H0, W0), then logit > 0 (sigmoid > 0.5), as the reference does.

export function logitsToMask(logits: Float32Array, offset: number, ph: number, pw: number, height: number, width: number): Uint8Array {
  const out = new Uint8Array(height * width);
  const sy = ph / height;
  const sx = pw / width;
  const x0s = new Int32Array(width), x1s = new Int32Array(width), wxs = new Float32Array(width);
  for (let x = 0; x < width; x++) {
    const src = Math.max((x + 0.5) * sx - 0.5, 0);
    const x0 = Math.min(Math.floor(src), pw - 1);
    x0s[x] = x0;
    x1s[x] = Math.min(x0 + 1, pw - 1);
    wxs[x] = src - x0;
  }
  for (let y = 0; y < height; y++) {
    const src = Math.max((y + 0.5) * sy - 0.5, 0);
    const y0 = Math.min(Math.floor(src), ph - 1);
    const y1 = Math.min(y0 + 1, ph - 1);
    const wy = src - y0;
    const r0 = offset + y0 * pw, r1 = offset + y1 * pw;
    for (let x = 0; x < width; x++) {
      const a = logits[r0 + x0s[x]] * (1 - wxs[x]) + logits[r0 + x1s[x]] * wxs[x];
      const b = logits[r1 + x0s[x]] * (1 - wxs[x]) + logits[r1 + x1s[x]] * wxs[x];
      out[y * width + x] = a * (1 - wy) + b * wy > 0 ? 1 : 0;
    }
  }
  return out;
}

export interface MaskSummary {
  /** COCO run lengths, column-major, starting with zeros. */
  counts: number[];
  area: number;
  /** [x, y, w, h], zeros for an empty mask. */
  bbox: [number, number, number, number];
}

/**
 * The same binary mask as `logitsToMask`, bit for bit, summarised in one column-major pass without
 * allocating the full-size bitmap: the runs come out in COCO order, and output columns whose source
 * columns hold no positive logit are skipped whole (bilinear interpolation is a convex combination, so
 * a pixel can only be positive next to a positive cell). On a 512² image with one small object this is
 * where the follow-up latency went.
 */
export function logitsToMaskSummary(logits: Float32Array, offset: number, ph: number, pw: number, height: number, width: number): MaskSummary {
  const sy = ph / height;
  const sx = pw / width;
  const y0s = new Int32Array(height), y1s = new Int32Array(height), wys = new Float64Array(height);
  for (let y = 0; y < height; y++) {
    const src = Math.max((y + 0.5) * sy - 0.5, 0);
    const y0 = Math.min(Math.floor(src), ph - 1);
    y0s[y] = y0;
    y1s[y] = Math.min(y0 + 1, ph - 1);
    wys[y] = src - y0;
  }
  const colHasPositive = new Uint8Array(pw);
  for (let r = 0; r < ph; r++) {
    const base = offset + r * pw;
    for (let c = 0; c < pw; c++) if (logits[base + c] > 0) colHasPositive[c] = 1;
  }
  const counts: number[] = [];
  let current = 0, run = 0, area = 0;
  let bx0 = width, by0 = height, bx1 = -1, by1 = -1;
  const column = new Float64Array(ph);
  for (let x = 0; x < width; x++) {
    const src = Math.max((x + 0.5) * sx - 0.5, 0);
    const x0 = Math.min(Math.floor(src), pw - 1);
    const x1 = Math.min(x0 + 1, pw - 1);
    if (!colHasPositive[x0] && !colHasPositive[x1]) {
      if (current === 1) { counts.push(run); run = 0; current = 0; }
      run += height;
      continue;
    }
    // A float32 horizontal weight and a double vertical one: the exact arithmetic of logitsToMask.
    const wx = Math.fround(src - x0);
    for (let r = 0; r < ph; r++) {
      const base = offset + r * pw;
      column[r] = logits[base + x0] * (1 - wx) + logits[base + x1] * wx;
    }
    for (let y = 0; y < height; y++) {
      const wy = wys[y];
      const v = column[y0s[y]] * (1 - wy) + column[y1s[y]] * wy > 0 ? 1 : 0;
      if (v !== current) { counts.push(run); run = 0; current = v; }
      run++;
      if (v) {
        area++;
        if (y < by0) by0 = y;
        if (y > by1) by1 = y;
        if (x < bx0) bx0 = x;
        bx1 = x;
      }
    }
  }
  counts.push(run);
  const bbox: [number, number, number, number] = bx1 < 0 ? [0, 0, 0, 0] : [bx0, by0, bx1 - bx0 + 1, by1 - by0 + 1];
  return { counts, area, bbox };
}
