import * as assert from 'node:assert/strict';
import { bootstrapIntervals, ImageTally, metricsOf, newTally } from '../../src/eval/bootstrap';
import { addIou, cIoU, gIoU, newIou, perbenchOverall } from '../../src/eval/metrics';

// A split whose images differ: image k gets a RES mask overlapping k of 4 target pixels, an MCQ answer
// right on odd k, and a caption scoring k/10.
function split(n: number): { tallies: ImageTally[]; res: ReturnType<typeof newIou>; mcqRight: number; meteor: number[] } {
  const tallies: ImageTally[] = [], res = newIou(), meteor: number[] = [];
  let mcqRight = 0;
  for (let i = 0; i < n; i++) {
    const k = i % 5, t = newTally(i);
    const gt = Uint8Array.from([1, 1, 1, 1, 0, 0]);
    const pred = Uint8Array.from([0, 0, 0, 0, 1, 0]).map((v, j) => (j < k ? 1 : v));
    addIou(res, pred, gt);
    addIou(t.res, pred, gt);
    addIou(t.vtres, pred, gt);
    t.mcq = { right: k % 2, n: 1 };
    mcqRight += k % 2;
    t.meteor.push(k / 10);
    meteor.push(k / 10);
    tallies.push(t);
  }
  return { tallies, res, mcqRight, meteor };
}

describe('bootstrap intervals of the evaluation', () => {
  it('pools per-image tallies into the same figures as the whole-split accumulators', () => {
    const { tallies, res, mcqRight, meteor } = split(20);
    const m = metricsOf(tallies);
    assert.equal(m.resCIoU, cIoU(res));
    assert.equal(m.resGIoU, gIoU(res));
    assert.equal(m.mcqAccuracy, mcqRight / 20);
    const meanMeteor = meteor.reduce((a, b) => a + b, 0) / meteor.length;
    assert.ok(Math.abs(m.meteor - meanMeteor) < 1e-12);
    assert.ok(Math.abs(m.overall - perbenchOverall(meanMeteor, mcqRight / 20, cIoU(res), gIoU(res))) < 1e-9);
  });

  it('brackets the point estimate, repeats exactly for a seed, and narrows as the split grows', () => {
    const small = split(20).tallies, large = split(400).tallies;
    const a = bootstrapIntervals(small), b = bootstrapIntervals(small);
    assert.deepEqual(a, b);
    const point = metricsOf(small);
    for (const [name, [lo, hi]] of Object.entries(a.intervals)) {
      const v = point[name as keyof typeof point];
      assert.ok(lo <= v && v <= hi, `${name}: ${v} outside [${lo}, ${hi}]`);
    }
    const width = (i: [number, number]) => i[1] - i[0];
    assert.ok(width(a.intervals.mcqAccuracy) > 0.2, `MCQ on 20 images should be uncertain: ${a.intervals.mcqAccuracy}`);
    assert.ok(width(bootstrapIntervals(large).intervals.mcqAccuracy) < width(a.intervals.mcqAccuracy) / 2);
    assert.notDeepEqual(bootstrapIntervals(small, { seed: 2 }).intervals, a.intervals);
  });

  it('gives a zero-width interval when every image scores the same', () => {
    const same = Array.from({ length: 10 }, (_, i) => {
      const t = newTally(i);
      t.mcq = { right: 1, n: 1 };
      return t;
    });
    assert.deepEqual(bootstrapIntervals(same).intervals.mcqAccuracy, [1, 1]);
  });
});
