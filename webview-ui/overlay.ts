// Paints masks over the image: each object filled in its category colour with a two-pixel outline, the
// selected (or hovered) one with a white-and-colour outline, and the candidate, in a tile of its own box,
// with a striped fill and a black-and-white dashed outline so it never looks like an accepted object. Masks arrive as COCO RLE and
// are decoded here, once per distinct RLE.
import { decodeRle, maskBbox, Rle } from '../src/masks/rle';

export interface Rgb {
  r: number;
  g: number;
  b: number;
}

export function parseHex(color: string): Rgb {
  const n = parseInt(color.slice(1), 16);
  return { r: (n >> 16) & 255, g: (n >> 8) & 255, b: n & 255 };
}

const decoded = new Map<string, { mask: Uint8Array; bbox: [number, number, number, number] }>();

function entry(rle: Rle) {
  const key = `${rle.size[0]}x${rle.size[1]}:${rle.counts}`;
  let e = decoded.get(key);
  if (!e) {
    const mask = decodeRle(rle);
    // The box is computed from the pixels, not taken from the file: a loose bbox must not clip the paint.
    e = { mask, bbox: maskBbox(mask, rle.size[0], rle.size[1]) };
    if (decoded.size > 256) decoded.clear();
    decoded.set(key, e);
  }
  return e;
}

export function maskOf(rle: Rle): Uint8Array {
  return entry(rle).mask;
}

/** The [x, y, w, h] box of the mask's pixels. */
export function maskBoxOf(rle: Rle): [number, number, number, number] {
  return entry(rle).bbox;
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

/** The rows and columns to visit: the mask's box (COCO [x, y, w, h]) when known, else the whole image. */
function span(w: number, h: number, bbox?: readonly number[]) {
  if (!bbox) return { x0: 0, y0: 0, x1: w, y1: h };
  return {
    x0: Math.max(0, Math.floor(bbox[0])),
    y0: Math.max(0, Math.floor(bbox[1])),
    x1: Math.min(w, Math.ceil(bbox[0] + bbox[2]) + 1),
    y1: Math.min(h, Math.ceil(bbox[1] + bbox[3]) + 1),
  };
}

/**
 * Paints one object; with its bbox only that box is visited, so large images with small objects stay fast.
 * `opacity` (0–1, the editor's slider) scales the fill only: outlines stay solid so a faint mask is still found.
 */
/** `proposed`: a batch job's proposal not yet reviewed, outlined in dashes of its colour and black. */
export function paintObject(image: ImageData, mask: Uint8Array, color: Rgb, selected: boolean, bbox?: readonly number[], opacity = 0.4, proposed = false) {
  const { width: w, height: h, data } = image;
  const white = { r: 255, g: 255, b: 255 };
  const black = { r: 0, g: 0, b: 0 };
  const { x0, y0, x1, y1 } = span(w, h, bbox);
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const i = y * w + x;
      if (!mask[i]) continue;
      // A two-pixel outline: the edge itself, then the ring inside it (white outside when selected).
      if (isEdge(mask, w, h, x, y)) blend(data, i * 4, selected ? white : proposed && (x + y) % 8 < 4 ? black : color, 255);
      else if (nearEdge(mask, w, h, x, y)) blend(data, i * 4, color, 255);
      else blend(data, i * 4, color, Math.min(255, Math.round(255 * opacity * (selected ? 1.4 : 1))));
    }
  }
}

/**
 * The candidate painted into a tile of its own box only ([x, y, w, h] in image pixels), so a new candidate
 * costs work in proportion to its size, not the image's: the objects' layer is not touched.
 */
export function candidateTile(mask: Uint8Array, w: number, h: number, bbox: readonly number[]): { image: ImageData; x: number; y: number } {
  const { x0, y0, x1, y1 } = span(w, h, bbox);
  const tw = Math.max(1, x1 - x0);
  const th = Math.max(1, y1 - y0);
  const image = new ImageData(tw, th);
  const data = image.data;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      if (!mask[y * w + x]) continue;
      const o = ((y - y0) * tw + (x - x0)) * 4;
      const edge = isEdge(mask, w, h, x, y);
      const light = (x + y) % 8 < 4;
      const v = edge ? (light ? 255 : 0) : 255;
      data[o] = v;
      data[o + 1] = v;
      data[o + 2] = v;
      data[o + 3] = edge ? 255 : light ? 150 : 60;
    }
  }
  return { image, x: x0, y: y0 };
}

/**
 * A mask in a tile of its own box, in one colour: a solid outline and a striped fill of `fillAlpha`
 * (0 = outline only). The chat's answer masks and its highlighted mask regions use it, in the chat's
 * amber, so they read as neither an accepted object nor the editor's own (black-and-white) candidate.
 */
export function colourTile(mask: Uint8Array, w: number, h: number, bbox: readonly number[], c: Rgb, fillAlpha: number): { image: ImageData; x: number; y: number } {
  const { x0, y0, x1, y1 } = span(w, h, bbox);
  const tw = Math.max(1, x1 - x0);
  const th = Math.max(1, y1 - y0);
  const image = new ImageData(tw, th);
  const data = image.data;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      if (!mask[y * w + x]) continue;
      const o = ((y - y0) * tw + (x - x0)) * 4;
      // Outline only (fillAlpha 0): two pixels wide, so it stays solid when the view scales the image down.
      const edge = isEdge(mask, w, h, x, y) || (fillAlpha === 0 && nearEdge(mask, w, h, x, y));
      data[o] = c.r;
      data[o + 1] = c.g;
      data[o + 2] = c.b;
      data[o + 3] = edge ? 255 : (x - y + 1024) % 8 < 4 ? fillAlpha : Math.round(fillAlpha / 2);
    }
  }
  return { image, x: x0, y: y0 };
}
