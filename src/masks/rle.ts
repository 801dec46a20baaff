// COCO run-length encoding, byte-compatible with pycocotools (maskApi.c): runs counted column-major,
// starting with zeros; the string form stores each count (from the third on, as a delta to the count two
// places back) in 5-bit groups, 6 bits a character, offset by 48.

export interface Rle {
  size: [number, number]; // [height, width]
  counts: string;
}

/** Row-major 0/1 mask (height × width) → run lengths in column-major order. */
/** A malformed RLE (bad characters, negative runs, runs that do not cover the stated size). */
export class RleError extends Error {}

/** Masks above this many pixels are refused rather than allocated (the engine's image limit is 100 MP). */
export const MAX_RLE_PIXELS = 1_000_000_000;

export function maskToCounts(mask: Uint8Array, height: number, width: number): number[] {
  const counts: number[] = [];
  let current = 0;
  let run = 0;
  for (let x = 0; x < width; x++) {
    for (let y = 0; y < height; y++) {
      const v = mask[y * width + x] ? 1 : 0;
      if (v !== current) {
        counts.push(run);
        run = 0;
        current = v;
      }
      run++;
    }
  }
  counts.push(run);
  return counts;
}

export function countsToString(counts: number[]): string {
  let s = '';
  for (let i = 0; i < counts.length; i++) {
    // Values fit easily in 53-bit integers; arithmetic shifts are emulated with floor division.
    let x = counts[i] - (i > 2 ? counts[i - 2] : 0);
    let more = true;
    while (more) {
      let c = ((x % 32) + 32) % 32;
      x = Math.floor(x / 32);
      more = c & 0x10 ? x !== -1 : x !== 0;
      if (more) c |= 0x20;
      s += String.fromCharCode(c + 48);
    }
  }
  return s;
}

export function stringToCounts(s: string): number[] {
  const counts: number[] = [];
  let p = 0;
  while (p < s.length) {
    let x = 0;
    let k = 0;
    let more = true;
    while (more) {
      const c = s.charCodeAt(p) - 48;
      if (p >= s.length) throw new RleError('the RLE string ends in the middle of a run');
      if (c < 0 || c > 63) throw new RleError(`invalid RLE character ${JSON.stringify(s[p])} at ${p}`);
      x += (c & 0x1f) * 2 ** (5 * k);
      more = (c & 0x20) !== 0;
      p++;
      if (!more && c & 0x10) x -= 2 ** (5 * (k + 1));
      k++;
    }
    if (counts.length > 2) x += counts[counts.length - 2];
    if (x < 0 || !Number.isSafeInteger(x)) throw new RleError(`run ${counts.length} of the RLE string is ${x}, not a pixel count`);
    counts.push(x);
  }
  return counts;
}

export function encodeMask(mask: Uint8Array, height: number, width: number): Rle {
  return { size: [height, width], counts: countsToString(maskToCounts(mask, height, width)) };
}

export function decodeRle(rle: Rle): Uint8Array {
  const [height, width] = rle.size;
  if (!Number.isInteger(height) || !Number.isInteger(width) || height < 0 || width < 0 || height * width > MAX_RLE_PIXELS) {
    throw new RleError(`RLE size ${JSON.stringify(rle.size)} is not a [height, width] of at most ${MAX_RLE_PIXELS} pixels`);
  }
  const counts = stringToCounts(rle.counts);
  const total = counts.reduce((a, b) => a + b, 0);
  if (total !== height * width) throw new RleError(`RLE covers ${total} pixels, size says ${height}×${width}`);
  const out = new Uint8Array(height * width);
  let pos = 0;
  for (let i = 0; i < counts.length; i++) {
    if (i % 2 === 1) {
      for (let j = pos; j < pos + counts[i]; j++) out[(j % height) * width + Math.floor(j / height)] = 1;
    }
    pos += counts[i];
  }
  return out;
}

export function rleArea(rle: Rle): number {
  return stringToCounts(rle.counts).reduce((s, c, i) => (i % 2 ? s + c : s), 0);
}

/** [x, y, w, h] of the set pixels (COCO convention), zeros for an empty mask. */
export function maskBbox(mask: Uint8Array, height: number, width: number): [number, number, number, number] {
  let x0 = width, y0 = height, x1 = -1, y1 = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (mask[y * width + x]) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
    }
  }
  return x1 < 0 ? [0, 0, 0, 0] : [x0, y0, x1 - x0 + 1, y1 - y0 + 1];
}
