// Property-based tests (fast-check, 10,000 cases each) for the parsers and codecs that take outside
// input: round trips are exact, and nothing is thrown but the module's own error type.
import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { hostileJson } from '../support/fuzz';
import { RegionSpecError, parseRegionSpec } from '../../src/engine/regions';
import { GroundTruthError, validateGroundTruth } from '../../src/eval/groundTruth';
import { maskToPolygons } from '../../src/masks/polygons';
import { countsToString, decodeRle, encodeMask, maskBbox, RleError, rleArea, stringToCounts } from '../../src/masks/rle';

const RUNS = Number(process.env.FC_RUNS || 10_000); // FC_RUNS raises it when hunting a rare case
const onlyThrows = (kind: new (...a: never[]) => Error, f: () => unknown) => {
  try {
    f();
  } catch (e) {
    if (!(e instanceof kind)) throw new Error(`threw ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
  }
};

const maskArb = fc.record({ h: fc.integer({ min: 1, max: 24 }), w: fc.integer({ min: 1, max: 24 }), seed: fc.integer(), density: fc.double({ min: 0, max: 1, noNaN: true }) })
  .map(({ h, w, seed, density }) => {
    const data = new Uint8Array(h * w);
    let s = seed >>> 0;
    for (let i = 0; i < data.length; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      data[i] = s / 2 ** 32 < density ? 1 : 0;
    }
    return { h, w, data };
  });

describe('properties (fast-check)', function () {
  this.timeout(120000);

  it('RLE: decode(encode(mask)) is the mask, and area and box agree with the pixels', () => {
    fc.assert(fc.property(maskArb, ({ h, w, data }) => {
      const rle = encodeMask(data, h, w);
      assert.deepEqual(decodeRle(rle), data);
      assert.equal(rleArea(rle), data.reduce((s, v) => s + v, 0));
      const [x, y, bw, bh] = maskBbox(data, h, w);
      for (let yy = 0; yy < h; yy++) for (let xx = 0; xx < w; xx++) {
        if (data[yy * w + xx]) assert.ok(xx >= x && xx < x + bw && yy >= y && yy < y + bh, 'every set pixel is inside the box');
      }
    }), { numRuns: RUNS });
  });

  it('RLE: counts survive the string form exactly', () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 2 ** 31 - 1 }), { maxLength: 40 }), (counts) => {
      assert.deepEqual(stringToCounts(countsToString(counts)), counts);
    }), { numRuns: RUNS });
  });

  it('RLE: any string and any size decode to a mask of that size or an RleError', () => {
    const size = fc.tuple(fc.oneof(fc.integer({ min: -3, max: 40 }), fc.double(), fc.constant(1e6)), fc.oneof(fc.integer({ min: -3, max: 40 }), fc.constant(1e6)));
    fc.assert(fc.property(fc.string({ maxLength: 30 }), size, (counts, [h, w]) => {
      onlyThrows(RleError, () => {
        const m = decodeRle({ size: [h, w], counts });
        assert.ok(m.length === h * w, `${m.length} pixels for ${h}×${w}`);
      });
    }), { numRuns: RUNS });
  });

  it('polygons: every ring has at least 3 vertices, inside the image, for any mask', () => {
    fc.assert(fc.property(maskArb, fc.constantFrom(0, 1, 2), ({ h, w, data }, tolerance) => {
      for (const ring of maskToPolygons(data, h, w, { tolerance })) {
        assert.ok(ring.length >= 6 && ring.length % 2 === 0, `ring of ${ring.length} numbers`);
        for (let i = 0; i < ring.length; i += 2) {
          assert.ok(Number.isFinite(ring[i]) && ring[i] >= 0 && ring[i] <= w && ring[i + 1] >= 0 && ring[i + 1] <= h, 'inside the image');
        }
      }
    }), { numRuns: RUNS });
  });

  it('region specs: well-formed specs parse to what they say', () => {
    const n = fc.integer({ min: -5000, max: 5000 });
    const pos = fc.integer({ min: 1, max: 5000 });
    const spec = fc.oneof(
      fc.record({ kind: fc.constant('box' as const), x: n, y: n, w: pos, h: pos }).map((r) => ({ text: `box:${r.x},${r.y},${r.w},${r.h}`, want: r })),
      fc.array(fc.record({ x: n, y: n, positive: fc.boolean() }), { minLength: 1, maxLength: 8 })
        .filter((pts) => pts.some((p) => p.positive))
        .map((points) => ({ text: `point:${points.map((p) => `${p.x},${p.y}${p.positive ? '' : ',neg'}`).join(';')}`, want: { kind: 'points', points } })),
      fc.record({ points: fc.array(fc.record({ x: n, y: n }), { minLength: 1, maxLength: 8 }), width: fc.option(pos, { nil: undefined }) })
        .map(({ points, width }) => ({ text: `scribble:${points.map((p) => `${p.x},${p.y}`).join(';')}${width === undefined ? '' : `@${width}`}`, want: { kind: 'scribble', points, width } })),
    );
    const plain = (v: unknown) => JSON.parse(JSON.stringify(v)); // fast-check records have no prototype
    fc.assert(fc.property(spec, ({ text, want }) => assert.deepEqual(plain(parseRegionSpec(text)), plain(want))), { numRuns: RUNS });
  });

  it('region specs: any string parses or throws RegionSpecError', () => {
    const kinds = fc.constantFrom('box:', 'point:', 'scribble:', 'mask:', '', 'ellipse:');
    const body = fc.stringMatching(/^[-0-9.,;@a-z eE+]{0,30}$/);
    fc.assert(fc.property(fc.oneof(fc.tuple(kinds, body).map(([k, b]) => k + b), fc.string({ maxLength: 40 })), (text) => {
      onlyThrows(RegionSpecError, () => parseRegionSpec(text));
    }), { numRuns: RUNS });
  });

  it('ground truth: any JSON value is a dataset or a GroundTruthError', () => {
    const valid = {
      images: [{ id: 1, file_name: 'a.png', width: 2, height: 2 }],
      annotations: [{ id: 1, image_id: 1, segmentation: { size: [2, 2], counts: '04' } }],
      tasks: [{ id: 1, type: 'res', image_id: 1, expression: 'the thing', target_ids: [1] }],
    };
    // Random JSON, and the valid dataset with one value somewhere replaced by random JSON.
    const paths = ['images.0.id', 'images.0.width', 'annotations.0.image_id', 'annotations.0.segmentation.size', 'annotations.0.segmentation',
      'tasks.0.type', 'tasks.0.target_ids', 'tasks.0.target_ids.0', 'tasks.0', 'tasks', 'images'];
    assert.equal(validateGroundTruth(valid, 'gt.json').tasks.length, 1);
    fc.assert(fc.property(hostileJson(valid, paths), (raw) => {
      onlyThrows(GroundTruthError, () => validateGroundTruth(raw, 'gt.json'));
    }), { numRuns: RUNS });
  });
});
