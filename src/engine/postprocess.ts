// Mask logits at stride 2 → binary masks at the original image size: bilinear (align_corners=False)
// straight to (H0, W0), then logit > 0 (sigmoid > 0.5), as the reference does.

/** Per output index along one axis: the two source cells and the weight of the second (align_corners=False). */
interface AxisTaps {
  i0: Int32Array;
  i1: Int32Array;
  w: Float32Array | Float64Array;
}

function axisTaps(outLen: number, srcLen: number, weights: Float32Array | Float64Array): AxisTaps {
  const scale = srcLen / outLen;
  const i0 = new Int32Array(outLen), i1 = new Int32Array(outLen);
  for (let i = 0; i < outLen; i++) {
    const src = Math.max((i + 0.5) * scale - 0.5, 0);
    const lo = Math.min(Math.floor(src), srcLen - 1);
    i0[i] = lo;
    i1[i] = Math.min(lo + 1, srcLen - 1);
    weights[i] = src - lo;
  }
  return { i0, i1, w: weights };
}

// The horizontal weights are float32 and the vertical ones double: both paths below use exactly this
// arithmetic, which is what makes them bit-identical. This plain bitmap path is the reference the engine's
// one-pass `logitsToMaskSummary` is tested against, and what a caller needing the pixels uses.
export function logitsToMask(logits: Float32Array, offset: number, ph: number, pw: number, height: number, width: number): Uint8Array {
  const out = new Uint8Array(height * width);
  const { i0: x0s, i1: x1s, w: wxs } = axisTaps(width, pw, new Float32Array(width));
  const ys = axisTaps(height, ph, new Float64Array(height));
  for (let y = 0; y < height; y++) {
    const wy = ys.w[y];
    const r0 = offset + ys.i0[y] * pw, r1 = offset + ys.i1[y] * pw;
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
  const { i0: y0s, i1: y1s, w: wys } = axisTaps(height, ph, new Float64Array(height));
  const xs = axisTaps(width, pw, new Float32Array(width));
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
    const x0 = xs.i0[x], x1 = xs.i1[x];
    if (!colHasPositive[x0] && !colHasPositive[x1]) {
      if (current === 1) { counts.push(run); run = 0; current = 0; }
      run += height;
      continue;
    }
    const wx = xs.w[x];
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
