// Host-side preprocessing of the reference, on already-decoded 8-bit RGB pixels: the resize rule,
// ImageNet normalisation and patchify (row-major patches, channel-major inside a patch).
import type { Grid } from './sequence';

export interface ImageRules {
  patch_size: number;
  max_long_side: number;
  mean: number[];
  std: number[];
}

/** Long side rounded up to a multiple of the patch and capped; short side scaled, truncated, rounded up. */
export function resizedSize(width: number, height: number, patch: number, maxLongSide: number): { width: number; height: number } {
  if (!(width > 0 && height > 0)) throw new Error(`image size must be positive, got ${width}x${height}`);
  const long = Math.max(width, height);
  const short = Math.min(width, height);
  const newLong = Math.min(Math.ceil(long / patch) * patch, maxLongSide);
  const newShort = Math.max(patch, Math.ceil(Math.trunc((newLong * short) / long) / patch) * patch);
  return width >= height ? { width: newLong, height: newShort } : { width: newShort, height: newLong };
}

/** RGB uint8 (interleaved, width×height already at the resized size) → patches [gh·gw, 3·p·p]. */
export function patchify(rgb: Uint8Array, width: number, height: number, rules: ImageRules): { patches: Float32Array; grid: Grid } {
  const p = rules.patch_size;
  if (width % p || height % p) throw new Error(`image ${width}x${height} is not a multiple of the patch size ${p}`);
  if (rgb.length !== width * height * 3) throw new Error(`expected ${width * height * 3} RGB bytes, got ${rgb.length}`);
  const gh = height / p;
  const gw = width / p;
  const patchLen = 3 * p * p;
  const out = new Float32Array(gh * gw * patchLen);
  // Same float32 arithmetic as the Python side: (v/255 − mean)/std with float32 constants.
  const mean = Float32Array.from(rules.mean);
  const std = Float32Array.from(rules.std);
  const f = new Float32Array(1);
  for (let y = 0; y < height; y++) {
    const r = Math.floor(y / p);
    const py = y % p;
    for (let x = 0; x < width; x++) {
      const c = Math.floor(x / p);
      const px = x % p;
      const base = (r * gw + c) * patchLen + py * p + px;
      const src = (y * width + x) * 3;
      for (let ch = 0; ch < 3; ch++) {
        f[0] = rgb[src + ch] / 255;
        f[0] = f[0] - mean[ch];
        f[0] = f[0] / std[ch];
        out[base + ch * p * p] = f[0];
      }
    }
  }
  return { patches: out, grid: { gh, gw } };
}
