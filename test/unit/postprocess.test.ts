import * as assert from 'node:assert/strict';
import { logitsToMask, logitsToMaskSummary } from '../../src/engine/postprocess';
import { maskBbox, maskToCounts } from '../../src/masks/rle';

// A deterministic generator so a failure reproduces.
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

function blobLogits(ph: number, pw: number, rand: () => number, blobs: number, bias: number): Float32Array {
  const out = new Float32Array(ph * pw).fill(bias);
  for (let b = 0; b < blobs; b++) {
    const cy = rand() * ph, cx = rand() * pw, r = 1 + rand() * ph / 4;
    for (let y = 0; y < ph; y++) for (let x = 0; x < pw; x++) {
      out[y * pw + x] += 12 * Math.max(0, 1 - Math.hypot(y - cy, x - cx) / r) + (rand() - 0.5);
    }
  }
  return out;
}

describe('mask post-processing', () => {
  it('the one-pass summary equals the bitmap path (RLE counts, area, bbox) on random logits and sizes', () => {
    const rand = lcg(7);
    const cases: [number, number, number, number, number, number][] = [
      // ph, pw, height, width, blobs, bias
      [24, 24, 192, 192, 1, -6], [24, 24, 512, 512, 3, -6], [24, 32, 300, 401, 2, -6], [24, 24, 17, 13, 2, -6],
      [24, 24, 97, 500, 0, -6], [24, 24, 64, 64, 0, 3], [16, 20, 333, 100, 5, -2], [8, 8, 7, 1000, 2, -4],
    ];
    // Under mutation testing (instrumented, once per mutant) the small cases once each; all of them otherwise.
    const sampled = process.env.PIXEL_SAIL_MUTATION ? cases.filter(([, , h, w]) => h * w <= 40000) : cases;
    for (const [ph, pw, h, w, blobs, bias] of sampled) {
      for (let rep = 0; rep < (process.env.PIXEL_SAIL_MUTATION ? 1 : 3); rep++) {
        const q = 2;
        const logits = new Float32Array(q * ph * pw);
        for (let i = 0; i < q; i++) logits.set(blobLogits(ph, pw, rand, blobs, bias), i * ph * pw);
        for (let i = 0; i < q; i++) {
          const mask = logitsToMask(logits, i * ph * pw, ph, pw, h, w);
          const fast = logitsToMaskSummary(logits, i * ph * pw, ph, pw, h, w);
          const label = `${ph}x${pw} → ${h}x${w}, ${blobs} blobs, rep ${rep}, mask ${i}`;
          assert.deepEqual(fast.counts, maskToCounts(mask, h, w), label);
          assert.equal(fast.area, mask.reduce((a, v) => a + v, 0), label);
          assert.deepEqual(fast.bbox, maskBbox(mask, h, w), label);
        }
      }
    }
  });

  it('an all-negative map gives one run of zeros and an empty box; an all-positive one a full mask', () => {
    const neg = logitsToMaskSummary(new Float32Array(16).fill(-1), 0, 4, 4, 10, 7);
    assert.deepEqual(neg, { counts: [70], area: 0, bbox: [0, 0, 0, 0] });
    const pos = logitsToMaskSummary(new Float32Array(16).fill(1), 0, 4, 4, 10, 7);
    assert.deepEqual(pos, { counts: [0, 70], area: 70, bbox: [0, 0, 7, 10] });
  });

  it('at the same size, a pixel is set exactly where its logit is above 0 (sigmoid > ½): boxes at the top-left corner', () => {
    // 2×2 logits to 2×2 pixels: every output pixel centre lands on its own cell (weight 0), so by hand:
    for (const [logits, mask, bbox] of [
      [[1, -1, -1, -1], [1, 0, 0, 0], [0, 0, 1, 1]], // only (0, 0): the box starts and ends in row 0 and column 0
      [[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]], // exactly 0 is sigmoid ½: not set
      [[-1, 0, 2, 0], [0, 0, 1, 0], [0, 1, 1, 1]], // only (0, 1) of the [y, x] grid: column 0, row 1
    ] as [number[], number[], number[]][]) {
      const l = Float32Array.from(logits);
      assert.deepEqual([...logitsToMask(l, 0, 2, 2, 2, 2)], mask, `${logits}`);
      const s = logitsToMaskSummary(l, 0, 2, 2, 2, 2);
      assert.deepEqual([s.area, s.bbox], [mask.reduce((a, v) => a + v, 0), bbox], `${logits}`);
    }
  });
});
