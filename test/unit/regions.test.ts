// Region specs as typed on the CLI, and their pixels, worked out by hand: each spec form with its exact
// result, each mistake with the exact message, and each region kind drawn on a small grid.
import * as assert from 'node:assert/strict';
import { MAX_SCRIBBLE_POINTS, parseRegionSpec, rasterizeRegion, RegionSpecError } from '../../src/engine/regions';
import { encodeMask } from '../../src/masks/rle';

const show = (mask: Uint8Array, w: number) => Array.from({ length: mask.length / w }, (_, y) => [...mask.slice(y * w, (y + 1) * w)].map((v) => (v ? '#' : '.')).join(''));
const grid = (rows: string[]) => Uint8Array.from(rows.join('').split('').map((c) => (c === '#' ? 1 : 0)));
const refuses = (f: () => unknown, message: string) => assert.throws(f, (e: Error) => {
  assert.ok(e instanceof RegionSpecError, `${e.constructor.name}: ${e.message}`);
  assert.equal(e.message, message);
  return true;
});

describe('region specs (parseRegionSpec)', () => {
  it('reads each form', () => {
    assert.deepEqual(parseRegionSpec('box:1,2.5,30,4'), { kind: 'box', x: 1, y: 2.5, w: 30, h: 4 });
    assert.deepEqual(parseRegionSpec('point:3,4'), { kind: 'points', points: [{ x: 3, y: 4, positive: true }] });
    assert.deepEqual(parseRegionSpec('point:3,4;5,6,neg;7,8,pos'), { kind: 'points', points: [{ x: 3, y: 4, positive: true }, { x: 5, y: 6, positive: false }, { x: 7, y: 8, positive: true }] });
    assert.deepEqual(parseRegionSpec('scribble:1,2;3,4'), { kind: 'scribble', points: [{ x: 1, y: 2 }, { x: 3, y: 4 }], width: undefined });
    assert.deepEqual(parseRegionSpec('scribble:1,2;3,4;@6'), { kind: 'scribble', points: [{ x: 1, y: 2 }, { x: 3, y: 4 }], width: 6 });
    assert.deepEqual(parseRegionSpec('mask:dir/m.png'), { kind: 'mask', file: 'dir/m.png' });
    assert.deepEqual(parseRegionSpec('mask:C:/x.png'), { kind: 'mask', file: 'C:/x.png' }, 'only the first colon separates');
  });

  it('refuses each mistake with its message', () => {
    refuses(() => parseRegionSpec('box:1,2,3'), 'box needs x,y,w,h, got "1,2,3"');
    refuses(() => parseRegionSpec('box:1,2,3,4,5'), 'box needs x,y,w,h, got "1,2,3,4,5"');
    refuses(() => parseRegionSpec('box'), 'box needs x,y,w,h, got ""');
    refuses(() => parseRegionSpec('box:1,2,0,4'), 'box width and height must be positive');
    refuses(() => parseRegionSpec('box:1,2,4,-1'), 'box width and height must be positive');
    refuses(() => parseRegionSpec('box:1,2,4,0'), 'box width and height must be positive');
    refuses(() => parseRegionSpec(':1,2'), 'unknown region kind "" (use box:, point:, scribble: or mask:)');
    refuses(() => parseRegionSpec('point:b,3'), 'point: "b" is not a number');
    refuses(() => parseRegionSpec('scribble:b,1'), 'scribble: "b" is not a number');
    refuses(() => parseRegionSpec('box:1,,3,4'), 'box: "" is not a number');
    refuses(() => parseRegionSpec('box:1, ,3,4'), 'box: " " is not a number');
    refuses(() => parseRegionSpec('box:1,x,3,4'), 'box: "x" is not a number');
    refuses(() => parseRegionSpec('box:1,Infinity,3,4'), 'box: "Infinity" is not a number');
    refuses(() => parseRegionSpec('point:3'), 'point needs x,y or x,y,neg, got "3"');
    refuses(() => parseRegionSpec('point:3,4,5,6'), 'point needs x,y or x,y,neg, got "3,4,5,6"');
    refuses(() => parseRegionSpec('point:3,4,negative'), 'point needs x,y or x,y,neg, got "3,4,negative"');
    refuses(() => parseRegionSpec('point:3,a'), 'point: "a" is not a number');
    refuses(() => parseRegionSpec('point:3,4,neg'), 'a point region needs at least one positive point');
    refuses(() => parseRegionSpec('scribble:1,2;3'), 'scribble points are x,y separated by \';\', got "3"');
    refuses(() => parseRegionSpec('scribble:1,2;3,4,5'), 'scribble points are x,y separated by \';\', got "3,4,5"');
    refuses(() => parseRegionSpec('scribble:;;'), 'a scribble needs at least one point');
    refuses(() => parseRegionSpec('scribble:1,b'), 'scribble: "b" is not a number');
    refuses(() => parseRegionSpec('scribble:1,2@w'), 'scribble width: "w" is not a number');
    refuses(() => parseRegionSpec('mask:'), 'mask needs a file: mask:FILE.png');
    refuses(() => parseRegionSpec('mask'), 'mask needs a file: mask:FILE.png');
    refuses(() => parseRegionSpec('circle:1,2,3'), 'unknown region kind "circle" (use box:, point:, scribble: or mask:)');
    refuses(() => parseRegionSpec('Box:1,2,3,4'), 'unknown region kind "Box" (use box:, point:, scribble: or mask:)');
  });

  it('takes a scribble of up to MAX_SCRIBBLE_POINTS points and refuses one more', () => {
    const pts = (n: number) => Array.from({ length: n }, (_, i) => `${i},${i}`).join(';');
    const s = parseRegionSpec(`scribble:${pts(MAX_SCRIBBLE_POINTS)}`);
    assert.equal(s.kind === 'scribble' && s.points.length, MAX_SCRIBBLE_POINTS);
    refuses(() => parseRegionSpec(`scribble:${pts(MAX_SCRIBBLE_POINTS + 1)}`), `a scribble has at most ${MAX_SCRIBBLE_POINTS} points, got ${MAX_SCRIBBLE_POINTS + 1}: simplify it`);
  });
});

describe('region pixels (rasterizeRegion), drawn by hand', () => {
  it('a box covers every pixel it touches, clipped to the image', () => {
    // x 1.5–4.2 touches columns 1–4; y 0.5–2 rows 0–1.
    assert.deepEqual(show(rasterizeRegion({ kind: 'box', x: 1.5, y: 0.5, w: 2.7, h: 1.5 }, 6, 3, 1), 6), ['.####.', '.####.', '......']);
    assert.deepEqual(show(rasterizeRegion({ kind: 'box', x: -2, y: 1, w: 4, h: 9 }, 4, 3, 1), 4), ['....', '##..', '##..']);
    assert.deepEqual(show(rasterizeRegion({ kind: 'box', x: 2, y: 0, w: 1, h: 1 }, 4, 2, 1), 4), ['..#.', '....']);
    // A portrait image (3 wide, 6 high): rows are clipped by the height, columns by the width.
    assert.deepEqual(show(rasterizeRegion({ kind: 'box', x: 1, y: 2, w: 5, h: 9 }, 3, 6, 1), 3), ['...', '...', '.##', '.##', '.##', '.##']);
    assert.deepEqual(show(rasterizeRegion({ kind: 'box', x: -1, y: -1, w: 2, h: 20 }, 3, 6, 1), 3), ['#..', '#..', '#..', '#..', '#..', '#..']);
  });

  it('points are disks of the given radius; negative points cut theirs out', () => {
    // Radius 1 around (2, 1): (x−2)² + (y−1)² ≤ 1.
    assert.deepEqual(show(rasterizeRegion({ kind: 'points', points: [{ x: 2, y: 1, positive: true }] }, 5, 3, 1), 5), ['..#..', '.###.', '..#..']);
    // Radius 1.5 also takes the diagonal neighbours (2 ≤ 2.25), and is clipped at the border.
    assert.deepEqual(show(rasterizeRegion({ kind: 'points', points: [{ x: 0, y: 0, positive: true }] }, 4, 3, 1.5), 4), ['##..', '##..', '....']);
    // At the right edge: the part of the disk beyond the image is dropped, not wrapped onto the next row.
    assert.deepEqual(show(rasterizeRegion({ kind: 'points', points: [{ x: 4, y: 1, positive: true }] }, 5, 3, 1), 5), ['....#', '...##', '....#']);
    // A negative point cuts its disk out of the positive one, whatever the order given.
    const cut = rasterizeRegion({ kind: 'points', points: [{ x: 3, y: 1, positive: false }, { x: 2, y: 1, positive: true }] }, 5, 3, 1);
    assert.deepEqual(show(cut, 5), ['..#..', '.#...', '..#..']);
  });

  it('refuses a point outside the image, and a region left with no pixel', () => {
    refuses(() => rasterizeRegion({ kind: 'points', points: [{ x: 1, y: 1, positive: true }, { x: 5, y: 0, positive: true }] }, 5, 3, 1), 'point 5,0 is outside the 5×3 image');
    refuses(() => rasterizeRegion({ kind: 'points', points: [{ x: 1, y: 3, positive: true }] }, 5, 3, 1), 'point 1,3 is outside the 5×3 image');
    refuses(() => rasterizeRegion({ kind: 'points', points: [{ x: -0.5, y: 1, positive: true }] }, 5, 3, 1), 'point -0.5,1 is outside the 5×3 image');
    refuses(() => rasterizeRegion({ kind: 'points', points: [{ x: 1, y: -1, positive: true }] }, 5, 3, 1), 'point 1,-1 is outside the 5×3 image');
    refuses(() => rasterizeRegion({ kind: 'points', points: [{ x: 2, y: 1, positive: true }, { x: 2, y: 1, positive: false }] }, 5, 3, 1), 'the points region covers no pixel of the 5×3 image');
    refuses(() => rasterizeRegion({ kind: 'box', x: 10, y: 0, w: 2, h: 2 }, 5, 3, 1), 'the box region covers no pixel of the 5×3 image');
  });

  it('a scribble is a stroke of half its width around each segment (or of the point radius without one)', () => {
    // Width 2 → radius 1 around the segment (0, 1)–(4, 1), pixels at integer coordinates: (5, 1) is 1 from the end.
    assert.deepEqual(show(rasterizeRegion({ kind: 'scribble', points: [{ x: 0, y: 1 }, { x: 4, y: 1 }], width: 2 }, 6, 4, 9), 6), ['#####.', '######', '#####.', '......']);
    // No width: the point radius (here 0.5) → the pixels on the segment only.
    assert.deepEqual(show(rasterizeRegion({ kind: 'scribble', points: [{ x: 1, y: 0 }, { x: 1, y: 2 }, { x: 3, y: 2 }] }, 5, 3, 0.5), 5), ['.#...', '.#...', '.###.']);
    // One point: a disk.
    assert.deepEqual(show(rasterizeRegion({ kind: 'scribble', points: [{ x: 2, y: 1 }], width: 2 }, 5, 3, 9), 5), ['..#..', '.###.', '..#..']);
    // A zero-length segment is a disk too; a diagonal segment of radius 0.5 takes the pixels within ½ of it.
    assert.deepEqual(show(rasterizeRegion({ kind: 'scribble', points: [{ x: 2, y: 1 }, { x: 2, y: 1 }], width: 2 }, 5, 3, 9), 5), ['..#..', '.###.', '..#..']);
    assert.deepEqual(show(rasterizeRegion({ kind: 'scribble', points: [{ x: 0, y: 0 }, { x: 3, y: 3 }] }, 4, 4, 0.5), 4), ['#...', '.#..', '..#.', '...#']);
    assert.deepEqual(show(rasterizeRegion({ kind: 'scribble', points: [{ x: 0, y: 1 }, { x: 3, y: 4 }] }, 5, 5, 0.5), 5), ['.....', '#....', '.#...', '..#..', '...#.']);
    // Beyond the image: clipped.
    assert.deepEqual(show(rasterizeRegion({ kind: 'scribble', points: [{ x: -3, y: 0 }, { x: 9, y: 0 }] }, 3, 2, 0.5), 3), ['###', '...']);
  });

  it('an RLE region is its mask, and must be the image size and not empty', () => {
    const m = grid(['.#.', '##.']);
    assert.deepEqual(show(rasterizeRegion({ kind: 'rle', rle: encodeMask(m, 2, 3) }, 3, 2, 1), 3), ['.#.', '##.']);
    refuses(() => rasterizeRegion({ kind: 'rle', rle: encodeMask(m, 2, 3) }, 2, 3, 1), 'region mask is 3×2, the image is 2×3');
    refuses(() => rasterizeRegion({ kind: 'rle', rle: encodeMask(m, 2, 3) }, 3, 3, 1), 'region mask is 3×2, the image is 3×3');
    refuses(() => rasterizeRegion({ kind: 'rle', rle: encodeMask(m, 2, 3) }, 4, 2, 1), 'region mask is 3×2, the image is 4×2');
    refuses(() => rasterizeRegion({ kind: 'rle', rle: encodeMask(new Uint8Array(6), 2, 3) }, 3, 2, 1), 'the region mask is empty');
  });
});
