// Mask ↔ polygon conversion against references that do not share its code: masks drawn here, the pixel
// round trip (a polygon filled at pixel centres must give the mask back at the export's 0.5 px tolerance),
// areas and fills worked out by hand, and Douglas–Peucker's own guarantees (the kept vertices are original
// ones, and every dropped vertex lies within the tolerance of the simplified ring).
import * as assert from 'node:assert/strict';
import { fillPolygons, maskToPolygons, polygonsArea, polygonsBbox, polygonsPixelCount } from '../../src/masks/polygons';

const grid = (rows: string[]) => Uint8Array.from(rows.join('').split('').map((c) => (c === '#' ? 1 : 0)));
const show = (mask: Uint8Array, w: number) => Array.from({ length: mask.length / w }, (_, y) => [...mask.slice(y * w, (y + 1) * w)].map((v) => (v ? '#' : '.')).join(''));
const pairs = (flat: number[]) => Array.from({ length: flat.length / 2 }, (_, i) => [flat[2 * i], flat[2 * i + 1]]);

/** Distance from point p to segment ab. */
function toSegment([px, py]: number[], [ax, ay]: number[], [bx, by]: number[]): number {
  const dx = bx - ax, dy = by - ay, len2 = dx * dx + dy * dy;
  const t = len2 ? Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / len2)) : 0;
  return Math.hypot(px - (ax + t * dx), py - (ay + t * dy));
}

const SHAPES: Record<string, string[]> = {
  'one pixel': ['...', '.#.', '...'],
  'a full image (every border)': ['###', '###'],
  'an L': ['#....', '#....', '#....', '####.'],
  'a staircase': ['#.....', '##....', '###...', '####..', '#####.', '######'],
  'a diagonal of corner-touching pixels': ['#...', '.#..', '..#.', '...#'],
  'a wide U (concave, non-square image)': ['#.....#', '#.....#', '#######'],
  'two objects': ['##....', '##....', '....##', '....##'],
  'a bar on the right edge': ['....#', '....#', '....#'],
  'a left column': ['#...', '#...', '#...', '#...', '#...'],
};
/** Rings each shape must give: one per object, where pixels touching only at a corner are separate objects. */
const RINGS: Record<string, number> = {
  'one pixel': 1, 'a full image (every border)': 1, 'an L': 1, 'a staircase': 1, 'a diagonal of corner-touching pixels': 4,
  'a wide U (concave, non-square image)': 1, 'two objects': 2, 'a bar on the right edge': 1, 'a left column': 1,
};

describe('polygons against masks drawn by hand', () => {
  for (const [what, rows] of Object.entries(SHAPES)) {
    it(`${what}: filled at pixel centres, the polygons give the mask back (tolerance 0 and 0.5)`, () => {
      const h = rows.length, w = rows[0].length;
      for (const tolerance of [0, 0.5]) {
        const polys = maskToPolygons(grid(rows), h, w, { tolerance });
        assert.deepEqual(show(fillPolygons(polys, h, w), w), rows, `tolerance ${tolerance}: ${JSON.stringify(polys)}`);
        assert.equal(polys.length, RINGS[what], `one ring per object: ${JSON.stringify(polys)}`);
        assert.equal(polygonsPixelCount(polys, h, w), rows.join('').split('#').length - 1);
        for (const ring of polys.map(pairs)) {
          assert.ok(ring.length >= 3, 'COCO rings have at least 3 points');
          assert.ok(ring.every(([x, y]) => x >= 0 && x <= w && y >= 0 && y <= h), `inside the ${w}×${h} image: ${JSON.stringify(ring)}`);
          const [first, last] = [ring[0], ring[ring.length - 1]];
          assert.ok(first[0] !== last[0] || first[1] !== last[1], 'each vertex once: the ring is not closed by repeating the first');
        }
      }
    });
  }

  it('traces each pixel corner cut by a quarter pixel at tolerance 0 (twice-finer grid)', () => {
    // One pixel at (1, 1): its outline from (1, 1) to (2, 2) with every corner cut by ¼ px: 8 vertices, area 1 − 4 · ⅛ · ¼.
    const [ring] = maskToPolygons(grid(SHAPES['one pixel']), 3, 3, { tolerance: 0 });
    assert.deepEqual(new Set(pairs(ring).map((p) => p.join(','))), new Set(['1,1.25', '1,1.75', '1.25,2', '1.75,2', '2,1.75', '2,1.25', '1.75,1', '1.25,1']));
    assert.equal(polygonsArea([ring]), 1 - 4 * (0.25 * 0.25) / 2);
    // Tolerance 0 keeps every traced vertex, also those in the middle of a straight edge: two pixels side by side
    // give 4 vertices on each long edge, 2 on each short one.
    const [pair] = maskToPolygons(grid(['##']), 1, 2, { tolerance: 0 });
    assert.deepEqual(new Set(pairs(pair).map((p) => p.join(','))), new Set([
      '0.25,0', '0.75,0', '1.25,0', '1.75,0', '2,0.25', '2,0.75', '1.75,1', '1.25,1', '0.75,1', '0.25,1', '0,0.75', '0,0.25',
    ]));
  });

  it('keeps outer rings only: a hole is filled, one ring per object', () => {
    const rows = ['#####', '#...#', '#####'];
    const polys = maskToPolygons(grid(rows), 3, 5, { tolerance: 0 });
    assert.equal(polys.length, 1);
    assert.deepEqual(show(fillPolygons(polys, 3, 5), 5), ['#####', '#####', '#####']);
    assert.equal(maskToPolygons(grid(SHAPES['two objects']), 4, 6, { tolerance: 0.5 }).length, 2);
    assert.equal(maskToPolygons(grid(SHAPES['a diagonal of corner-touching pixels']), 4, 4, { tolerance: 0.5 }).length, 4);
  });

  it('drops rings below minArea (default ½ px, which no pixel is below)', () => {
    const px = grid(SHAPES['one pixel']);
    assert.equal(maskToPolygons(px, 3, 3, { tolerance: 0 }).length, 1);
    assert.equal(maskToPolygons(px, 3, 3, { tolerance: 0, minArea: 0.9 }).length, 0); // its ring covers 0.875 px²
    assert.equal(maskToPolygons(px, 3, 3, { tolerance: 0, minArea: 0.85 }).length, 1);
    assert.equal(maskToPolygons(px, 3, 3, { tolerance: 0, minArea: 0.875 }).length, 1, 'exactly minArea is kept');
    assert.equal(maskToPolygons(grid(['.##']), 1, 3, { tolerance: 0, minArea: 1 }).length, 1); // 1.875 px²
  });

  it('drops rings that simplification leaves with fewer than 3 points (pycocotools rejects them)', () => {
    // At 1 px a single pixel (0.7 px across) collapses to 2 points; a 3×2 block keeps 4 corners at 1 px, not at 2.
    assert.deepEqual(maskToPolygons(grid(SHAPES['one pixel']), 3, 3, { tolerance: 1 }), []);
    assert.deepEqual(maskToPolygons(grid(SHAPES['one pixel']), 3, 3), [], 'the default tolerance is 1 px');
    assert.equal(pairs(maskToPolygons(grid(['###', '###']), 2, 3, { tolerance: 1 })[0]).length, 4);
    assert.deepEqual(maskToPolygons(grid(['###', '###']), 2, 3, { tolerance: 2 }), []);
    // A triangle-like staircase keeps exactly its three far corners at 1 px.
    const [tri] = maskToPolygons(grid(SHAPES['a staircase']), 6, 6, { tolerance: 1 });
    assert.deepEqual(new Set(pairs(tri).map((p) => p.join(','))), new Set(['0,0.25', '0.25,6', '6,5.75']));
  });

  it('simplifies as Douglas–Peucker promises: original vertices only, none dropped farther than the tolerance', () => {
    const h = 40, w = 50, disk = new Uint8Array(h * w);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) if ((x + 0.5 - 22) ** 2 + (y + 0.5 - 19) ** 2 <= 15 ** 2 || (x >= 30 && y >= 25 && y < 30)) disk[y * w + x] = 1;
    const [full] = maskToPolygons(disk, h, w, { tolerance: 0 }).map(pairs);
    const fullSet = new Set(full.map((p) => p.join(',')));
    for (const tolerance of [0.5, 1, 3]) {
      const [ring] = maskToPolygons(disk, h, w, { tolerance }).map(pairs);
      assert.ok(ring.length < full.length, `${ring.length} < ${full.length}`);
      assert.ok(ring.every((p) => fullSet.has(p.join(','))), 'every kept vertex is a traced one');
      for (const p of full) {
        const d = Math.min(...ring.map((a, i) => toSegment(p, a, ring[(i + 1) % ring.length])));
        assert.ok(d <= tolerance + 1e-9, `traced vertex ${p} is ${d} px from the ${tolerance} px ring`);
      }
      // No anchor in the middle of an edge: the ring starts at the left-most (then top-most) vertex.
      const left = [...full].sort((a, b) => a[0] - b[0] || a[1] - b[1])[0];
      assert.deepEqual(ring[0], left);
    }
    assert.deepEqual(maskToPolygons(disk, h, w), maskToPolygons(disk, h, w, { tolerance: 1 }), 'default tolerance 1 px');
  });

  it('splits each ring at its left-most (then top-most) vertex and the vertex farthest from it, and keeps both', () => {
    const shapes: [string, Uint8Array, number, number][] = ['an L', 'a wide U (concave, non-square image)', 'a staircase'].map((k) => [k, grid(SHAPES[k]), SHAPES[k].length, SHAPES[k][0].length]);
    shapes.push(['a T', grid(['######', '..##..', '..##..', '..##..']), 4, 6], ['a blob', grid(['..##..', '.####.', '######', '.####.', '..##..']), 5, 6]);
    // Its left-most vertices are at the bottom, its top-most on the right.
    shapes.push(['a J', grid(['...##', '...##', '...##', '#####']), 4, 5], ['a mirrored L', grid(['#####', '#....', '#....']), 3, 5]);
    for (const [what, m, h, w] of shapes) {
      const full = pairs(maskToPolygons(m, h, w, { tolerance: 0 })[0]);
      const start = [...full].sort((a, b) => a[0] - b[0] || a[1] - b[1])[0];
      const farthest = full.reduce((b, p) => (Math.hypot(p[0] - start[0], p[1] - start[1]) > Math.hypot(b[0] - start[0], b[1] - start[1]) ? p : b));
      for (const tolerance of [0.5, 1]) {
        const ring = pairs(maskToPolygons(m, h, w, { tolerance })[0]);
        assert.deepEqual(ring[0], start, `${what} at ${tolerance} px starts at ${start}`);
        assert.ok(ring.some((p) => p[0] === farthest[0] && p[1] === farthest[1]), `${what} at ${tolerance} px keeps ${farthest}: ${JSON.stringify(ring)}`);
      }
    }
  });

  it('simplifies the L at 0.5 px to the six vertices Douglas–Peucker gives by hand', () => {
    // Traced: corners cut by ¼ px. Start a = (0, 0.25); farthest from it b = (4, 3.75) (d² 28.25 against 28.125
    // for (3.75, 4)). Chain a → b along the left and bottom edges: the farthest from the chord is (0.25, 4)
    // (2.66 px), and nothing else is over ½ px from the two new chords. Chain b → a along the inside:
    // (1.25, 3) (1.25 px from the chord), then (3.75, 3) (0.66 px from (4, 3.75)–(1.25, 3)) and (1, 0.25)
    // (0.91 px from (1.25, 3)–(0, 0.25)); the rest lie within ½ px. With a radial-distance pre-pass (not plain
    // Douglas–Peucker) or another start, the result differs.
    assert.deepEqual(maskToPolygons(grid(SHAPES['an L']), 4, 5, { tolerance: 0.5 }), [[0, 0.25, 0.25, 4, 4, 3.75, 3.75, 3, 1.25, 3, 1, 0.25]]);
  });
});

describe('polygon areas, fills and boxes worked out by hand', () => {
  it('measures areas by the shoelace formula, either orientation, summed over rings', () => {
    assert.equal(polygonsArea([[1, 1, 4, 1, 4, 3, 1, 3]]), 6);
    assert.equal(polygonsArea([[1, 3, 4, 3, 4, 1, 1, 1]]), 6);
    assert.equal(polygonsArea([[0, 0, 4, 0, 0, 4]]), 8);
    // An L: a 1×4 bar and a 3×1 foot.
    assert.equal(polygonsArea([[0, 0, 1, 0, 1, 3, 4, 3, 4, 4, 0, 4]]), 7);
    assert.equal(polygonsArea([[0, 0, 2, 0, 2, 2, 0, 2], [5, 5, 6, 5, 6, 8]]), 4 + 1.5);
    assert.equal(polygonsArea([]), 0);
  });

  it('fills the same pixels whichever way a ring runs and wherever it starts', () => {
    // A U whose rows cross the ring four times: the crossings must be sorted left to right.
    const u = [0, 0, 1, 0, 1, 2, 9, 2, 9, 0, 10, 0, 10, 3, 0, 3];
    const expected = ['#........#', '#........#', '##########'];
    const reversed = pairs(u).reverse().flat();
    const rotated = [...u.slice(6), ...u.slice(0, 6)];
    for (const ring of [u, reversed, rotated]) {
      assert.deepEqual(show(fillPolygons([ring], 3, 10), 10), expected, JSON.stringify(ring));
      assert.equal(polygonsPixelCount([ring], 3, 10), 14);
    }
  });

  it('counts a pixel whose centre lies on an edge for the polygon on its right or below, never for both', () => {
    // Two rectangles share the edge x = 2.5 through the centres of column 2, and two share y = 1.5.
    const left = [0, 0, 2.5, 0, 2.5, 3, 0, 3], right = [2.5, 0, 5, 0, 5, 3, 2.5, 3];
    assert.deepEqual(show(fillPolygons([left], 3, 5), 5), ['##...', '##...', '##...']);
    assert.deepEqual(show(fillPolygons([right], 3, 5), 5), ['..###', '..###', '..###']);
    const top = [0, 0, 5, 0, 5, 1.5, 0, 1.5], bottom = [0, 1.5, 5, 1.5, 5, 3, 0, 3];
    assert.deepEqual(show(fillPolygons([top], 3, 5), 5), ['#####', '.....', '.....']);
    assert.deepEqual(show(fillPolygons([bottom], 3, 5), 5), ['.....', '#####', '#####']);
    assert.equal(polygonsPixelCount([top], 3, 5) + polygonsPixelCount([bottom], 3, 5), 15);
  });

  it('covers the rows and columns a polygon reaches, and only those', () => {
    // Rows 4–5 of 7 (centres 4.5, 5.5), columns 7–8 of 10: the row loop must reach the polygon's last rows.
    const low = [6.6, 3.9, 9.4, 3.9, 9.4, 6.2, 6.6, 6.2];
    const rows = ['..........', '..........', '..........', '..........', '.......##.', '.......##.', '..........'];
    assert.deepEqual(show(fillPolygons([low], 7, 10), 10), rows);
    assert.equal(polygonsPixelCount([low], 7, 10), 4);
    // Taller than the image: clipped to its rows.
    assert.equal(polygonsPixelCount([[0, -5, 1, -5, 1, 50, 0, 50]], 4, 2), 4);
    assert.equal(polygonsPixelCount([], 4, 2), 0);
    // Wholly right or left of the image in the rows it spans: no pixel, not a negative count.
    assert.equal(polygonsPixelCount([[10, 0, 12, 0, 12, 2, 10, 2]], 2, 4), 0);
    assert.equal(polygonsPixelCount([[-4, 0, -1, 0, -1, 2, -4, 2]], 2, 4), 0);
    assert.deepEqual(show(fillPolygons([[10, 0, 12, 0, 12, 2, 10, 2]], 2, 4), 4), ['....', '....']);
    // A row with two separate spans.
    assert.equal(polygonsPixelCount([[0, 0, 1, 0, 1, 1, 0, 1], [3, 0, 5, 0, 5, 1, 3, 1]], 1, 6), 3);
  });

  it('boxes polygons over every ring, clipped at 0', () => {
    assert.deepEqual(polygonsBbox([[2, 3, 5, 3, 5, 7], [1, 4, 2, 9, 1.5, 4]]), [1, 3, 4, 6]);
    assert.deepEqual(polygonsBbox([[-1, 2, 3, 2, 3, 5]]), [0, 2, 3, 3]);
    assert.deepEqual(polygonsBbox([[1, -2, 3, 4, 2, 0]]), [1, 0, 2, 4]);
  });
});
