// The pixel work of the masks drawn over the image, without any canvas (so unit tests run it in node):
// COCO RLE decoded once per distinct RLE, with its box found from the runs; each mask's pixels sorted into
// edge, inner ring and fill; and one painting loop that turns those classes into an RGBA tile of the
// mask's own box. A style says what each class looks like: an object is a two-pixel outline in its
// category colour over a fill, the candidate a black-and-white dashed edge over a white striped fill (so it
// never looks like an accepted object), the chat's masks the same in amber. The canvas side is layers.ts.
import { Rle, RleError, MAX_RLE_PIXELS, stringToCounts } from '../src/masks/rle';

export interface Rgb {
  r: number;
  g: number;
  b: number;
}

export function parseHex(color: string): Rgb {
  const n = parseInt(color.slice(1), 16);
  return { r: (n >> 16) & 255, g: (n >> 8) & 255, b: n & 255 };
}

/** Pixel classes of a mask: outside, its edge, the ring just inside the edge, and the fill within. */
export const OUTSIDE = 0, EDGE = 1, RING = 2, FILL = 3;

/**
 * A decoded mask, kept only over its tile: the box of its pixels and one pixel around it (inside the image),
 * so a scaled drawing smooths the mask's border as an image-sized layer would, and a small mask on a big
 * image costs in proportion to itself. Each pixel holds its class: EDGE (a 4-neighbour outside the mask, or
 * on the image border), RING (not an edge, but next to one) or FILL; OUTSIDE is 0. Column-major, as COCO RLE
 * runs are, so decoding fills runs rather than single pixels.
 */
export interface DecodedMask {
  /** The image's size. */
  width: number;
  height: number;
  /** [x, y, w, h] of the set pixels (from the pixels, never a file's bbox: a loose one must not clip the paint); zeros when there are none. */
  bbox: [number, number, number, number];
  /** The tile in image pixels. */
  x: number;
  y: number;
  tileWidth: number;
  tileHeight: number;
  /** Classes, column-major: pixel (ix, iy) is at (ix − x) · tileHeight + (iy − y). */
  cls: Uint8Array;
}

/**
 * COCO RLE → the mask's classes over its tile. First the box from the runs' ends (no scan of the image),
 * then each run of ones filled into its columns of the tile, then the classes in two passes over the tile.
 * Same checks, and the same errors, as src/masks/rle.ts's decodeRle.
 */
export function decodeMask(rle: Rle): DecodedMask {
  const [height, width] = rle.size;
  if (!Number.isInteger(height) || !Number.isInteger(width) || height < 0 || width < 0 || height * width > MAX_RLE_PIXELS) {
    throw new RleError(`RLE size ${JSON.stringify(rle.size)} is not a [height, width] of at most ${MAX_RLE_PIXELS} pixels`);
  }
  const counts = stringToCounts(rle.counts);
  let total = 0;
  for (const c of counts) total += c;
  if (total !== height * width) throw new RleError(`RLE covers ${total} pixels, size says ${height}×${width}`);
  let bx0 = width, by0 = height, bx1 = -1, by1 = -1;
  for (let i = 1, pos = counts[0]; i < counts.length; pos += counts[i] + (counts[i + 1] ?? 0), i += 2) {
    const n = counts[i];
    if (n === 0) continue;
    const x = Math.floor(pos / height), lastX = Math.floor((pos + n - 1) / height);
    if (x < bx0) bx0 = x;
    if (lastX > bx1) bx1 = lastX;
    if (lastX > x) {
      // A run over more than one column covers the bottom row (in its first) and the top row (in its last).
      by0 = 0;
      by1 = height - 1;
    } else {
      const y = pos - x * height;
      if (y < by0) by0 = y;
      if (y + n - 1 > by1) by1 = y + n - 1;
    }
  }
  const bbox: [number, number, number, number] = bx1 < 0 ? [0, 0, 0, 0] : [bx0, by0, bx1 - bx0 + 1, by1 - by0 + 1];
  const x0 = Math.max(0, bbox[0] - 1), y0 = Math.max(0, bbox[1] - 1);
  const tw = Math.max(1, Math.min(width, bbox[0] + bbox[2] + 1) - x0);
  const th = Math.max(1, Math.min(height, bbox[1] + bbox[3] + 1) - y0);
  const cls = new Uint8Array(tw * th);
  const d: DecodedMask = { width, height, bbox, x: x0, y: y0, tileWidth: tw, tileHeight: th, cls };
  if (bx1 < 0) return d;
  for (let i = 1, pos = counts[0]; i < counts.length; pos += counts[i] + (counts[i + 1] ?? 0), i += 2) {
    let left = counts[i];
    let x = Math.floor(pos / height);
    let y = pos - x * height;
    while (left > 0) {
      const take = Math.min(left, height - y);
      const o = (x - x0) * th + (y - y0);
      cls.fill(FILL, o, o + take);
      left -= take;
      x++;
      y = 0;
    }
  }
  // Edges. A mask pixel lies in the box, so its neighbours are in the tile unless they are off the image
  // (the border tests come first). Up and down are ±1 in a column, left and right ±th.
  for (let tx = 0, o = 0; tx < tw; tx++) {
    const ix = x0 + tx;
    const side = ix === 0 || ix === width - 1;
    for (let ty = 0; ty < th; ty++, o++) {
      if (!cls[o]) continue;
      const iy = y0 + ty;
      if (side || iy === 0 || iy === height - 1 || !cls[o - 1] || !cls[o + 1] || !cls[o - th] || !cls[o + th]) cls[o] = EDGE;
    }
  }
  // The ring. A non-edge pixel is never on the image border, so all four of its neighbours are in the tile.
  for (let o = 0; o < cls.length; o++) {
    if (cls[o] === FILL && (cls[o - 1] === EDGE || cls[o + 1] === EDGE || cls[o - th] === EDGE || cls[o + th] === EDGE)) cls[o] = RING;
  }
  return d;
}

/** The class of image pixel (x, y): OUTSIDE beyond the tile. */
export function classAt(d: DecodedMask, x: number, y: number): number {
  const tx = x - d.x, ty = y - d.y;
  if (tx < 0 || ty < 0 || tx >= d.tileWidth || ty >= d.tileHeight) return OUTSIDE;
  return d.cls[tx * d.tileHeight + ty];
}

/** Whether image pixel (x, y) is in the mask. */
export function maskHas(d: DecodedMask, x: number, y: number): boolean {
  return classAt(d, x, y) !== OUTSIDE;
}

const decoded = new Map<string, DecodedMask>();
let decodedBytes = 0;
/** What the kept masks may hold: every candidate of a session would otherwise stay, megabytes each on big images. */
const DECODED_BUDGET = 256 * 1024 * 1024;

/** The decoded mask of an RLE, kept for the next call with the same RLE (the most recently used, within a budget). */
export function decodedOf(rle: Rle): DecodedMask {
  const key = `${rle.size[0]}x${rle.size[1]}:${rle.counts}`;
  let e = decoded.get(key);
  if (e) {
    decoded.delete(key); // to the end: the map's order is the order of use
  } else {
    e = decodeMask(rle);
    decodedBytes += e.cls.length;
    for (const [k, old] of decoded) {
      if (decodedBytes <= DECODED_BUDGET) break;
      decoded.delete(k);
      decodedBytes -= old.cls.length;
    }
  }
  decoded.set(key, e);
  return e;
}

/** An RGBA colour as one little-endian 32-bit word, as a Uint32Array over ImageData's bytes holds it. */
export function rgba(c: Rgb, alpha: number): number {
  return ((alpha << 24) | (c.b << 16) | (c.g << 8) | c.r) >>> 0;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * What each class looks like: two colours a class (`rgba` words), the first on the light stripes of the
 * diagonal pattern, the second on the dark ones; `diagonal` 1 stripes along x + y, −1 along x − y, in
 * bands of four pixels (image coordinates, so a tile's stripes line up with the image).
 */
export interface TileStyle {
  edge: [number, number];
  ring: [number, number];
  fill: [number, number];
  diagonal: 1 | -1;
}

export interface Tile {
  /**
   * RGBA bytes, stored transposed, as the classes are: the data's row k is image column x + k, so the data
   * is an image `height` wide and `width` tall (draw it with layers.ts's drawLayer, which transposes it back).
   * Painting then writes memory in order, about twice as fast on big masks as a row-major tile.
   */
  data: Uint8ClampedArray<ArrayBuffer>;
  /** The tile's size in the image. */
  width: number;
  height: number;
  /** Where the tile's top-left pixel is in the image. */
  x: number;
  y: number;
}

/** The one painting loop: each pixel of the tile gets its class's colour from the style. */
export function paintTile(d: DecodedMask, style: TileStyle): Tile {
  const { cls, tileWidth: tw, tileHeight: th, x: x0, y: y0 } = d;
  const data = new Uint8ClampedArray(tw * th * 4);
  const words = new Uint32Array(data.buffer);
  const palette = new Uint32Array(8);
  palette.set([style.edge[0], style.edge[1], style.ring[0], style.ring[1], style.fill[0], style.fill[1]], 2);
  if (!LITTLE_ENDIAN) for (let i = 0; i < 8; i++) palette[i] = ((palette[i] & 255) << 24 | ((palette[i] >>> 8) & 255) << 16 | ((palette[i] >>> 16) & 255) << 8 | palette[i] >>> 24) >>> 0;
  const diagonal = style.diagonal;
  // Down the columns, as the classes are stored; the stripe phase moves by `diagonal` a row.
  for (let tx = 0, o = 0; tx < tw; tx++) {
    let phase = (x0 + tx + diagonal * y0) & 7;
    for (let ty = 0; ty < th; ty++, o++, phase = (phase + diagonal) & 7) {
      const k = cls[o];
      if (k) words[o] = palette[k * 2 + (phase < 4 ? 0 : 1)];
    }
  }
  return { data, width: tw, height: th, x: x0, y: y0 };
}

const WHITE = { r: 255, g: 255, b: 255 };
const BLACK = { r: 0, g: 0, b: 0 };

/** The candidate: a black-and-white dashed edge over a white fill in stripes of two strengths. */
export function candidateStyle(): TileStyle {
  const white = rgba(WHITE, 255), black = rgba(BLACK, 255);
  const fill: [number, number] = [rgba(WHITE, 150), rgba(WHITE, 60)];
  return { edge: [white, black], ring: fill, fill, diagonal: 1 };
}

/**
 * A mask in one colour: a solid outline and a striped fill of `fillAlpha` (0 = an outline only, two pixels
 * wide so it stays solid when the view scales the image down). The chat's answer masks and its highlighted
 * mask regions use it, in the chat's amber, so they read as neither an accepted object nor the candidate.
 */
export function colourStyle(c: Rgb, fillAlpha: number): TileStyle {
  const solid = rgba(c, 255);
  const fill: [number, number] = [rgba(c, fillAlpha), rgba(c, Math.round(fillAlpha / 2))];
  return { edge: [solid, solid], ring: fillAlpha === 0 ? [solid, solid] : fill, fill: fillAlpha === 0 ? [0, 0] : fill, diagonal: -1 };
}

/**
 * An object's three parts, each drawn as its own tile so that hover, selection and opacity only change how
 * they are composited: its outline (edge and ring in its colour; a batch proposal's edge in dashes of its
 * colour and black), its fill (solid colour, drawn at the opacity), and the white edge it gets when selected
 * or hovered (drawn over the outline).
 */
export function objectStyles(c: Rgb, proposed: boolean): { outline: TileStyle; fill: TileStyle; strongEdge: TileStyle } {
  const solid = rgba(c, 255), white = rgba(WHITE, 255);
  return {
    outline: { edge: [proposed ? rgba(BLACK, 255) : solid, solid], ring: [solid, solid], fill: [0, 0], diagonal: 1 },
    fill: { edge: [0, 0], ring: [0, 0], fill: [solid, solid], diagonal: 1 },
    strongEdge: { edge: [white, white], ring: [0, 0], fill: [0, 0], diagonal: 1 },
  };
}

/** The fill's opacity for the slider's value: a selected or hovered object's fill is 1.4 times as strong. */
export function fillOpacity(opacity: number, strong: boolean): number {
  return Math.min(1, opacity * (strong ? 1.4 : 1));
}
