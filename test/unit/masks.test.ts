import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { anySet } from '../../src/masks/anySet';
import { connectedComponents } from '../../src/masks/components';
import { fillPolygons, maskToPolygons, polygonsArea, polygonsBbox, polygonsPixelCount } from '../../src/masks/polygons';
import { decodeRle, encodeMask, maskBbox, Rle, rleArea, RleError, stringToCounts } from '../../src/masks/rle';

const repo = path.resolve(__dirname, '../../..');

function rect(h: number, w: number, x0: number, y0: number, rw: number, rh: number): Uint8Array {
  const m = new Uint8Array(h * w);
  for (let y = y0; y < y0 + rh; y++) for (let x = x0; x < x0 + rw; x++) m[y * w + x] = 1;
  return m;
}

describe('COCO RLE', () => {
  it('decodes and re-encodes all 734 strings made by the official COCO toolkit identically', () => {
    const refs = JSON.parse(fs.readFileSync(path.join(repo, 'test/data/coco/cocoapi_fakesegm100_results.json'), 'utf8')) as { segmentation: Rle }[];
    assert.equal(refs.length, 734);
    // Under mutation testing (npm run test:mutation) every 100th string: instrumented per-pixel loops run ~50×
    // slower, and every run of this test decodes whole 640×480 masks.
    const step = process.env.PIXEL_SAIL_MUTATION ? 100 : 1;
    for (const r of refs.filter((_, i) => i % step === 0)) {
      const [h, w] = r.segmentation.size;
      const mask = decodeRle(r.segmentation);
      const again = encodeMask(mask, h, w);
      assert.equal(again.counts, r.segmentation.counts);
      assert.equal(rleArea(again), mask.reduce((s, v) => s + v, 0));
    }
  });

  it('counts column-major runs starting with zeros', () => {
    const m = rect(3, 4, 1, 1, 2, 1);
    const rle = encodeMask(m, 3, 4);
    assert.deepEqual(stringToCounts(rle.counts), [4, 1, 2, 1, 4]);
    assert.deepEqual(rle.size, [3, 4]);
    const full = new Uint8Array(4).fill(1);
    assert.deepEqual(stringToCounts(encodeMask(full, 2, 2).counts), [0, 4]);
  });

  it('rejects a string that does not cover the image', () => {
    assert.throws(() => decodeRle({ size: [10, 10], counts: '52' }), /covers/);
  });

  it('computes area and bbox of known shapes', () => {
    const m = rect(20, 30, 5, 7, 10, 4);
    assert.deepEqual(maskBbox(m, 20, 30), [5, 7, 10, 4]);
    assert.equal(rleArea(encodeMask(m, 20, 30)), 40);
    assert.deepEqual(maskBbox(new Uint8Array(6), 2, 3), [0, 0, 0, 0]);
  });

  // Cases the mutation run (npm run test:mutation) showed no fast test pinned.
  it('refuses malformed strings by what is wrong with them', () => {
    assert.throws(() => stringToCounts('P'), (e: Error) => e instanceof RleError && e.message === 'the RLE string ends in the middle of a run'); // continuation bit, then nothing
    assert.throws(() => stringToCounts('1 '), /invalid RLE character " " at 1/); // below '0'
    assert.throws(() => stringToCounts('p'), /invalid RLE character "p" at 0/); // above 'o'
    assert.throws(() => stringToCounts('O'), /run 0 of the RLE string is -1, not a pixel count/); // sign bit: a negative run
    assert.throws(() => stringToCounts(`${'o'.repeat(12)}0`), /run 0 of the RLE string is \d+, not a pixel count/); // beyond 2^53
    assert.deepEqual(stringToCounts('0'), [0]);
  });

  it('refuses sizes that are not a [height, width] of at most a billion pixels, and accepts empty ones', () => {
    for (const size of [[1.5, 2], [2, 1.5], [-1, 2], [2, -1], [1e6, 1e4]] as [number, number][]) {
      assert.throws(() => decodeRle({ size, counts: '' }), /is not a \[height, width\] of at most 1000000000 pixels/, JSON.stringify(size));
    }
    // Exactly the limit is allowed (and fails later, before allocating, because the runs cover nothing).
    assert.throws(() => decodeRle({ size: [1, 1e9], counts: '' }), /RLE covers 0 pixels, size says 1×1000000000/);
    assert.equal(decodeRle({ size: [0, 5], counts: '0' }).length, 0);
    assert.equal(decodeRle({ size: [5, 0], counts: '0' }).length, 0);
  });

  it('bounds masks touching the first row and column, and rows of different widths', () => {
    const m = (rows: string[]) => Uint8Array.from(rows.join('').split('').map((c) => (c === '#' ? 1 : 0)));
    assert.deepEqual(maskBbox(m(['..#', '...']), 2, 3), [2, 0, 1, 1]);
    assert.deepEqual(maskBbox(m(['...', '#..', '#..']), 3, 3), [0, 1, 1, 2]);
    assert.deepEqual(maskBbox(m(['.###', '.#..', '....']), 3, 4), [1, 0, 3, 2]);
  });
});

describe('polygons', () => {
  it('traces a rectangle along pixel edges', () => {
    const polys = maskToPolygons(rect(20, 30, 5, 7, 10, 4), 20, 30, { tolerance: 0 });
    assert.equal(polys.length, 1);
    const xs = polys[0].filter((_, i) => i % 2 === 0), ys = polys[0].filter((_, i) => i % 2 === 1);
    assert.deepEqual([Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)], [5, 7, 15, 11]);
    // Marching squares on the twice-finer grid cut each corner by a quarter pixel: 4 × 0.03125 px² lost.
    assert.ok(Math.abs(polygonsArea(polys) - 40) <= 0.125 + 1e-9, String(polygonsArea(polys)));
  });

  it('gives one ring per component, closes shapes at the border, drops holes', () => {
    const m = rect(20, 20, 0, 0, 6, 6);
    const b = rect(20, 20, 10, 10, 8, 8);
    for (let i = 0; i < m.length; i++) m[i] |= b[i];
    m[13 * 20 + 13] = 0; // a hole
    const polys = maskToPolygons(m, 20, 20);
    assert.equal(polys.length, 2);
    assert.ok(polys.every((p) => p.length >= 6 && p.length % 2 === 0));
    assert.ok(polys.some((p) => p.includes(0)), 'border shape starts at 0');
  });

  it('approximates a disk within a few percent and simplifies with the detail parameter', () => {
    const h = 100, w = 100, m = new Uint8Array(h * w);
    let area = 0;
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) if ((x + 0.5 - 50) ** 2 + (y + 0.5 - 50) ** 2 <= 30 ** 2) { m[y * w + x] = 1; area++; }
    const fine = maskToPolygons(m, h, w, { tolerance: 0 });
    const coarse = maskToPolygons(m, h, w, { tolerance: 1 });
    assert.ok(Math.abs(polygonsArea(fine) - area) / area < 0.01);
    assert.ok(coarse[0].length < fine[0].length / 4, `${coarse[0].length} vs ${fine[0].length}`);
    assert.ok(Math.abs(polygonsArea(coarse) - area) / area < 0.03);
  });

  it('returns nothing for an empty mask', () => {
    assert.deepEqual(maskToPolygons(new Uint8Array(100), 10, 10), []);
  });
});

describe('connected components', () => {
  const m = (rows: string[]) => Uint8Array.from(rows.join('').split('').map((c) => (c === '#' ? 1 : 0)));
  const show = (mask: Uint8Array, w: number) => Array.from({ length: mask.length / w }, (_, y) => [...mask.slice(y * w, (y + 1) * w)].map((v) => (v ? '#' : '.')).join(''));

  it('splits 8-connected objects, largest first, ties in scan order, nothing lost', () => {
    const mask = m([
      '#..##',
      '.#..#',
      '....#',
      '##...',
    ]);
    const parts = connectedComponents(mask, 4, 5);
    assert.deepEqual(parts.map((p) => show(p, 5)), [
      ['...##', '....#', '....#', '.....'], // 4 px
      ['#....', '.#...', '.....', '.....'], // 2 px, corner-connected; first in scan order among the 2-px ones
      ['.....', '.....', '.....', '##...'], // 2 px
    ]);
  });

  it('keeps objects on every border apart, and returns nothing for an empty mask', () => {
    const parts = connectedComponents(m(['#.#', '...', '#.#']), 3, 3);
    assert.equal(parts.length, 4);
    assert.deepEqual(parts.map((p) => p.indexOf(1)), [0, 2, 6, 8]);
    assert.deepEqual(connectedComponents(new Uint8Array(6), 2, 3), []);
    // A wrap-around must not join the end of one row with the start of the next.
    assert.equal(connectedComponents(m(['..#', '#..']), 2, 3).length, 2);
    // Joined only through a pixel in column 0 (corner to corner): one object.
    assert.equal(connectedComponents(m(['.#', '#.', '.#']), 3, 2).length, 1);
  });
});

describe('polygons → pixels and boxes (worked out by hand)', () => {
  const show = (mask: Uint8Array, w: number) => Array.from({ length: mask.length / w }, (_, y) => [...mask.slice(y * w, (y + 1) * w)].map((v) => (v ? '#' : '.')).join(''));
  const cases: { what: string; polygons: number[][]; h: number; w: number; pixels: string[]; bbox: [number, number, number, number] }[] = [
    // Pixel centres (x + ½, y + ½) strictly inside: x ∈ {1, 2, 3}, y ∈ {1, 2}.
    { what: 'a rectangle', polygons: [[1, 1, 4, 1, 4, 3, 1, 3]], h: 4, w: 5, pixels: ['.....', '.###.', '.###.', '.....'], bbox: [1, 1, 3, 2] },
    // x + y < 3 below the diagonal x + y = 4 (centres): 3 + 2 + 1 pixels.
    { what: 'a triangle', polygons: [[0, 0, 4, 0, 0, 4]], h: 4, w: 4, pixels: ['###.', '##..', '#...', '....'], bbox: [0, 0, 4, 4] },
    // Partly outside on the left and top: clipped, the box starting at 0 and measured from there.
    { what: 'a polygon over the top-left corner', polygons: [[-2, -1, 3, -1, 3, 2, -2, 2]], h: 3, w: 4, pixels: ['###.', '###.', '....'], bbox: [0, 0, 3, 2] },
    // Beyond the right and bottom edges: only the pixels inside.
    { what: 'a polygon over the bottom-right corner', polygons: [[2, 1, 10, 1, 10, 9, 2, 9]], h: 3, w: 4, pixels: ['....', '..##', '..##'], bbox: [2, 1, 8, 8] },
    // Even-odd: where two squares overlap, they cancel (16 + 16 − 2·4 pixels).
    { what: 'two overlapping squares', polygons: [[0, 0, 4, 0, 4, 4, 0, 4], [2, 2, 6, 2, 6, 6, 2, 6]], h: 6, w: 6,
      pixels: ['####..', '####..', '##..##', '##..##', '..####', '..####'], bbox: [0, 0, 6, 6] },
  ];
  for (const c of cases) {
    it(c.what, () => {
      const filled = fillPolygons(c.polygons, c.h, c.w);
      assert.deepEqual(show(filled, c.w), c.pixels);
      assert.equal(polygonsPixelCount(c.polygons, c.h, c.w), c.pixels.join('').split('#').length - 1);
      assert.deepEqual(polygonsBbox(c.polygons), c.bbox);
    });
  }
});

describe('anySet', () => {
  it('is true exactly when some entry is non-zero, wherever it is', () => {
    assert.equal(anySet(new Uint8Array(0)), false);
    assert.equal(anySet(new Uint8Array(1000)), false);
    for (const at of [0, 1, 500, 999]) {
      const m = new Uint8Array(1000);
      m[at] = at === 500 ? 255 : 1;
      assert.equal(anySet(m), true, `set at ${at}`);
    }
  });
});
