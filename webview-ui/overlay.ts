// Paints masks over the image: each object filled in its category colour with a two-pixel outline, the
// selected one with a white-and-colour outline, and the candidate with a striped fill and a
// black-and-white dashed outline so it never looks like an accepted object. Masks arrive as COCO RLE and
// are decoded here, once per distinct RLE.
import { decodeRle, Rle } from '../src/masks/rle';

export interface Rgb {
  r: number;
  g: number;
  b: number;
}

export function parseHex(color: string): Rgb {
  const n = parseInt(color.slice(1), 16);
  return { r: (n >> 16) & 255, g: (n >> 8) & 255, b: n & 255 };
}

const decoded = new Map<string, Uint8Array>();

export function maskOf(rle: Rle): Uint8Array {
  const key = `${rle.size[0]}x${rle.size[1]}:${rle.counts}`;
  let mask = decoded.get(key);
  if (!mask) {
    mask = decodeRle(rle);
    if (decoded.size > 256) decoded.clear();
    decoded.set(key, mask);
  }
  return mask;
}

/** A pixel of the mask with a 4-neighbour outside it (or the image border). */
function isEdge(mask: Uint8Array, w: number, h: number, x: number, y: number): boolean {
  const i = y * w + x;
  return x === 0 || y === 0 || x === w - 1 || y === h - 1 || !mask[i - 1] || !mask[i + 1] || !mask[i - w] || !mask[i + w];
}

function nearEdge(mask: Uint8Array, w: number, h: number, x: number, y: number): boolean {
  return (x < w - 1 && isEdge(mask, w, h, x + 1, y)) || (x > 0 && isEdge(mask, w, h, x - 1, y)) || (y > 0 && isEdge(mask, w, h, x, y - 1)) || (y < h - 1 && isEdge(mask, w, h, x, y + 1));
}

function blend(px: Uint8ClampedArray, i: number, c: Rgb, alpha: number) {
  const a = alpha / 255;
  const keep = px[i + 3] / 255;
  const out = a + keep * (1 - a);
  if (out === 0) return;
  px[i] = (c.r * a + px[i] * keep * (1 - a)) / out;
  px[i + 1] = (c.g * a + px[i + 1] * keep * (1 - a)) / out;
  px[i + 2] = (c.b * a + px[i + 2] * keep * (1 - a)) / out;
  px[i + 3] = out * 255;
}

export function paintObject(image: ImageData, mask: Uint8Array, color: Rgb, selected: boolean) {
  const { width: w, height: h, data } = image;
  const white = { r: 255, g: 255, b: 255 };
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      if (!mask[i]) continue;
      // A two-pixel outline: the edge itself, then the ring inside it (white outside when selected).
      if (isEdge(mask, w, h, x, y)) blend(data, i * 4, selected ? white : color, 255);
      else if (nearEdge(mask, w, h, x, y)) blend(data, i * 4, color, 255);
      else blend(data, i * 4, color, selected ? 140 : 100);
    }
  }
}

export function paintCandidate(image: ImageData, mask: Uint8Array) {
  const { width: w, height: h, data } = image;
  const light = { r: 255, g: 255, b: 255 };
  const dark = { r: 0, g: 0, b: 0 };
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      if (!mask[i]) continue;
      if (isEdge(mask, w, h, x, y)) blend(data, i * 4, (x + y) % 8 < 4 ? light : dark, 255);
      else blend(data, i * 4, light, (x + y) % 8 < 4 ? 150 : 60);
    }
  }
}
