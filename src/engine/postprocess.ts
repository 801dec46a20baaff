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
