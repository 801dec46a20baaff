// The editor's mask painting (webview-ui/overlay.ts) against the straightforward definition it replaced:
// decode pixel by pixel into the whole image with the project's codec (src/masks/rle.ts) and scan it for the box;
// classify each pixel by looking at its neighbours (an edge has a 4-neighbour outside the mask or is on the
// image border; the ring is next to an edge); paint an object by blending into one image-sized layer. The
// fast paths (runs filled into the mask's own tile, two-pass classes, one painting loop, an object as fill + outline + white edge
// composited at the opacity) must give the same pixels for any mask, anywhere in the image.
import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeRle, encodeMask, maskBbox, RleError } from '../../src/masks/rle';
import { candidateStyle, classAt, colourStyle, decodeMask, EDGE, FILL, fillOpacity, maskHas, objectStyles, OUTSIDE, paintTile, parseHex, RING, Rgb, Tile, TileStyle } from '../../webview-ui/overlay';

// ---- the reference: the per-pixel definitions -------------------------------------------------------

function isEdge(mask: Uint8Array, w: number, h: number, x: number, y: number): boolean {
  const i = y * w + x;
  return x === 0 || y === 0 || x === w - 1 || y === h - 1 || !mask[i - 1] || !mask[i + 1] || !mask[i - w] || !mask[i + w];
}

function nearEdge(mask: Uint8Array, w: number, h: number, x: number, y: number): boolean {
  return (x < w - 1 && isEdge(mask, w, h, x + 1, y)) || (x > 0 && isEdge(mask, w, h, x - 1, y)) || (y > 0 && isEdge(mask, w, h, x, y - 1)) || (y < h - 1 && isEdge(mask, w, h, x, y + 1));
}

function referenceClass(mask: Uint8Array, w: number, h: number, x: number, y: number): number {
  if (!mask[y * w + x]) return OUTSIDE;
  if (isEdge(mask, w, h, x, y)) return EDGE;
  return nearEdge(mask, w, h, x, y) ? RING : FILL;
}

/** Source-over in unpremultiplied RGBA, as the old image-sized layer blended. */
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

/** The old paintObject: edge (white when selected, dashed black when proposed), ring, fill at the opacity. */
function referenceObject(layer: Uint8ClampedArray, mask: Uint8Array, w: number, h: number, color: Rgb, selected: boolean, opacity: number, proposed: boolean) {
  const white = { r: 255, g: 255, b: 255 };
  const black = { r: 0, g: 0, b: 0 };
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const k = referenceClass(mask, w, h, x, y);
      const i = (y * w + x) * 4;
      if (k === EDGE) blend(layer, i, selected ? white : proposed && (x + y) % 8 < 4 ? black : color, 255);
      else if (k === RING) blend(layer, i, color, 255);
      else if (k === FILL) blend(layer, i, color, Math.min(255, Math.round(255 * opacity * (selected ? 1.4 : 1))));
    }
  }
}

/** The old candidate tile's pixel at (x, y), as RGBA. */
function referenceCandidate(mask: Uint8Array, w: number, h: number, x: number, y: number): number[] {
  const k = referenceClass(mask, w, h, x, y);
  if (k === OUTSIDE) return [0, 0, 0, 0];
  const light = (x + y) % 8 < 4;
  const v = k === EDGE ? (light ? 255 : 0) : 255;
  return [v, v, v, k === EDGE ? 255 : light ? 150 : 60];
}

/** The old chat tile's pixel at (x, y): outline (two pixels when there is no fill) and a striped fill. */
function referenceColour(mask: Uint8Array, w: number, h: number, x: number, y: number, c: Rgb, fillAlpha: number): number[] {
  const k = referenceClass(mask, w, h, x, y);
  if (k === OUTSIDE) return [0, 0, 0, 0];
  const edge = k === EDGE || (fillAlpha === 0 && k === RING);
  const alpha = edge ? 255 : (x - y + 1024) % 8 < 4 ? fillAlpha : Math.round(fillAlpha / 2);
  return alpha === 0 ? [0, 0, 0, 0] : [c.r, c.g, c.b, alpha];
}

// ---- helpers --------------------------------------------------------------------------------------

/** The tile's RGBA at image pixel (x, y): transparent outside the tile (its data is stored transposed). */
function tilePixel(t: Tile, x: number, y: number): number[] {
  const tx = x - t.x, ty = y - t.y;
  if (tx < 0 || ty < 0 || tx >= t.width || ty >= t.height) return [0, 0, 0, 0];
  const o = (tx * t.height + ty) * 4;
  const px = Array.from(t.data.subarray(o, o + 4));
  return px[3] === 0 ? [0, 0, 0, 0] : px;
}

/** Source-over of a tile onto an image-sized layer, with the tile's alpha scaled by `alpha` (a canvas's globalAlpha). */
function composite(layer: Uint8ClampedArray, w: number, t: Tile, alpha: number) {
  for (let ty = 0; ty < t.height; ty++) {
    for (let tx = 0; tx < t.width; tx++) {
      const o = (tx * t.height + ty) * 4;
      if (!t.data[o + 3]) continue;
      blend(layer, ((t.y + ty) * w + t.x + tx) * 4, { r: t.data[o], g: t.data[o + 1], b: t.data[o + 2] }, Math.round(t.data[o + 3] * alpha));
    }
  }
}

/** A random mask: blobs (rectangles and discs) on a w × h image, so edges, rings and fills all occur. */
const maskArb = fc
  .record({
    w: fc.integer({ min: 1, max: 24 }),
    h: fc.integer({ min: 1, max: 24 }),
    shapes: fc.array(fc.record({ kind: fc.constantFrom('rect', 'disc', 'dot'), x: fc.integer({ min: -3, max: 26 }), y: fc.integer({ min: -3, max: 26 }), a: fc.integer({ min: 0, max: 12 }), b: fc.integer({ min: 0, max: 12 }) }), { maxLength: 4 }),
  })
  .map(({ w, h, shapes }) => {
    const mask = new Uint8Array(w * h);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        for (const s of shapes) {
          const inside = s.kind === 'rect' ? x >= s.x && y >= s.y && x < s.x + s.a && y < s.y + s.b : s.kind === 'disc' ? (x - s.x) ** 2 + (y - s.y) ** 2 <= s.a * s.a : x === s.x && y === s.y;
          if (inside) mask[y * w + x] = 1;
        }
      }
    }
    return { w, h, mask };
  });

const colours = ['#e6194b', '#3cb44b', '#ffb000', '#000000', '#ffffff'].map(parseHex);

describe('editor overlay painting (webview-ui/overlay.ts) equals the per-pixel definitions', () => {
  it('decodes an RLE to the same mask as the project codec, with the box of its pixels', () => {
    fc.assert(
      fc.property(maskArb, ({ w, h, mask }) => {
        const rle = encodeMask(mask, h, w);
        const d = decodeMask(rle);
        const full = new Uint8Array(w * h);
        for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) full[y * w + x] = maskHas(d, x, y) ? 1 : 0;
        assert.deepEqual(full, decodeRle(rle));
        assert.deepEqual(d.bbox, maskBbox(mask, h, w));
        assert.equal(d.width, w);
        assert.equal(d.height, h);
        assert.ok(d.x >= 0 && d.y >= 0 && d.x + d.tileWidth <= w && d.y + d.tileHeight <= h, 'the tile is inside the image');
        assert.ok(d.tileWidth <= d.bbox[2] + 2 && d.tileHeight <= d.bbox[3] + 2, 'the tile is the box and a pixel around it');
      }),
      { numRuns: 300 },
    );
  });

  it('refuses a malformed RLE as the codec does', () => {
    assert.throws(() => decodeMask({ size: [2, 2], counts: '12' }), RleError, 'runs that do not cover the size');
    assert.throws(() => decodeMask({ size: [2, -1], counts: '' }), RleError);
    assert.throws(() => decodeMask({ size: [2, 2], counts: '1 ' }), RleError);
  });

  it('sorts each pixel into edge, ring and fill as its neighbours say, with the whole mask inside the tile', () => {
    fc.assert(
      fc.property(maskArb, ({ w, h, mask }) => {
        const d = decodeMask(encodeMask(mask, h, w));
        for (let y = 0; y < h; y++) {
          for (let x = 0; x < w; x++) assert.equal(classAt(d, x, y), referenceClass(mask, w, h, x, y), `pixel ${x},${y}`);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('paints the candidate and the chat masks pixel for pixel as before', () => {
    fc.assert(
      fc.property(maskArb, fc.constantFrom(...colours), fc.constantFrom(0, 150), ({ w, h, mask }, c, fillAlpha) => {
        const classes = decodeMask(encodeMask(mask, h, w));
        const candidate = paintTile(classes, candidateStyle());
        const chat = paintTile(classes, colourStyle(c, fillAlpha));
        for (let y = 0; y < h; y++) {
          for (let x = 0; x < w; x++) {
            assert.deepEqual(tilePixel(candidate, x, y), referenceCandidate(mask, w, h, x, y), `candidate ${x},${y}`);
            assert.deepEqual(tilePixel(chat, x, y), referenceColour(mask, w, h, x, y, c, fillAlpha), `chat ${x},${y}`);
          }
        }
      }),
      { numRuns: 200 },
    );
  });

  it('an object composited from fill (at the opacity), outline and white edge equals the old image-sized paint', () => {
    const objectArb = fc.record({ colour: fc.constantFrom(...colours), strong: fc.boolean(), proposed: fc.boolean(), opacity: fc.constantFrom(0, 0.2, 0.4, 0.75, 1) });
    fc.assert(
      fc.property(maskArb, fc.array(objectArb, { minLength: 1, maxLength: 3 }), ({ w, h, mask }, objects) => {
        // Several objects over each other (the same mask shifted), painted in order.
        const masks = objects.map((_, k) => {
          const m = new Uint8Array(w * h);
          for (let y = 0; y < h; y++) for (let x = k; x < w; x++) m[y * w + x] = mask[y * w + x - k];
          return m;
        });
        const before = new Uint8ClampedArray(w * h * 4);
        const after = new Uint8ClampedArray(w * h * 4);
        objects.forEach((o, k) => {
          referenceObject(before, masks[k], w, h, o.colour, o.strong, o.opacity, o.proposed);
          const classes = decodeMask(encodeMask(masks[k], h, w));
          const s = objectStyles(o.colour, o.proposed);
          const alpha = fillOpacity(o.opacity, o.strong);
          // A fill tile is opaque colour: at the opacity it is the old fill's alpha, rounded as before.
          composite(after, w, paintTile(classes, s.fill), Math.min(255, Math.round(255 * alpha)) / 255);
          composite(after, w, paintTile(classes, s.outline), 1);
          if (o.strong) composite(after, w, paintTile(classes, s.strongEdge), 1);
        });
        assert.deepEqual(after, before);
      }),
      { numRuns: 200 },
    );
  });

  it('styles: stripes follow image coordinates, so a tile anywhere lines up with the image', () => {
    const style: TileStyle = { edge: [1, 2], ring: [3, 4], fill: [5, 6], diagonal: -1 };
    const mask = new Uint8Array(16 * 16).fill(1);
    const t = paintTile(decodeMask(encodeMask(mask, 16, 16)), style);
    const words = new Uint32Array(t.data.buffer);
    // (5, 9): fill, x − y = −4 → mod 8 is 4: the dark stripe.
    assert.equal(words[5 * t.height + 9], 6);
    assert.equal(words[9 * t.height + 9], 5);
  });
});
