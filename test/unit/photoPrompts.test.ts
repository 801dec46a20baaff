// The held-out real-photo figures: the prompts (box, one click at the distance-transform maximum, a
// scribble) against hand-worked and brute-force answers, and photoPromptCheck() on targets and photos made
// here, with a stand-in engine whose masks make every IoU known (worked out in the comments).
import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import sharp from 'sharp';
import type { Engine } from '../../src/engine/engine';
import type { EngineAnswer, EngineTask } from '../../src/engine/types';
import { clusterBootstrapMean } from '../../src/eval/bootstrap';
import { boxOfMask, clickPoint, distanceTransform, scribblePath } from '../../src/eval/photoPrompts';
import { photoPromptCheck, PhotoPromptReport } from '../../src/eval/photoTargets';
import { encodeMask } from '../../src/masks/rle';

function mask(...rows: string[]): { data: Uint8Array; w: number; h: number } {
  const h = rows.length, w = rows[0].length;
  const data = new Uint8Array(w * h);
  rows.forEach((r, y) => [...r].forEach((c, x) => { data[y * w + x] = c === '#' ? 1 : 0; }));
  return { data, w, h };
}

/** Distance from each pixel to the nearest background pixel, by trying them all (outside the image is background). */
function bruteDistance(m: Uint8Array, w: number, h: number): number[] {
  const out: number[] = [];
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    if (!m[y * w + x]) { out.push(0); continue; }
    let best = Infinity;
    for (let yy = -1; yy <= h; yy++) for (let xx = -1; xx <= w; xx++) {
      const outside = xx < 0 || yy < 0 || xx >= w || yy >= h;
      if (outside || !m[yy * w + xx]) best = Math.min(best, Math.hypot(xx - x, yy - y));
    }
    out.push(best);
  }
  return out;
}

describe('real-photo prompts: the click, the box and the scribble of a target mask', () => {
  it('the distance transform is the exact Euclidean one, with the image frame as border', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 9 }), fc.array(fc.boolean(), { minLength: 81, maxLength: 81 }), (w, h, bits) => {
      const m = Uint8Array.from(bits.slice(0, w * h), (b) => (b ? 1 : 0));
      const dt = distanceTransform(m, w, h);
      bruteDistance(m, w, h).forEach((d, i) => assert.ok(Math.abs(dt[i] - d) < 1e-9, `pixel ${i}: ${dt[i]} vs ${d}`));
    }), { numRuns: 300 });
  });

  it('the click is the distance-transform maximum, the first in reading order on a tie', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 10 }), fc.integer({ min: 1, max: 10 }), fc.array(fc.boolean(), { minLength: 100, maxLength: 100 }), (w, h, bits) => {
      const m = Uint8Array.from(bits.slice(0, w * h), (b) => (b ? 1 : 0));
      if (!m.some((v) => v)) return assert.throws(() => clickPoint(m, w, h), /empty/);
      const d = bruteDistance(m, w, h);
      const max = Math.max(...d);
      const first = d.findIndex((v) => Math.abs(v - max) < 1e-9);
      const c = clickPoint(m, w, h);
      assert.deepEqual([c.x, c.y], [first % w, Math.floor(first / w)]);
      assert.ok(Math.abs(c.distance - max) < 1e-9);
    }), { numRuns: 300 });
  });

  it('by hand: a 5×5 square in a 7×7 image is clicked at its centre; a full image too', () => {
    const sq = mask('.......', '.#####.', '.#####.', '.#####.', '.#####.', '.#####.', '.......');
    assert.deepEqual(clickPoint(sq.data, sq.w, sq.h), { x: 3, y: 3, distance: 3 }); // 3 px to column 0 or row 0
    const full = mask('###', '###', '###');
    assert.deepEqual(clickPoint(full.data, 3, 3), { x: 1, y: 1, distance: 2 }); // the frame, 2 px away
  });

  it('by hand: the scribble of a bar runs along it through the click, ≥ half its distance from the border', () => {
    // Rows 2–7, columns 2–21 of a 24×10 image. The click: DT 3 on rows 4 and 5 for columns 4–19; the first is (4, 4).
    const rows = Array.from({ length: 10 }, (_, y) => Array.from({ length: 24 }, (_, x) => (y >= 2 && y <= 7 && x >= 2 && x <= 21 ? '#' : '.')).join(''));
    const bar = mask(...rows);
    assert.deepEqual(clickPoint(bar.data, bar.w, bar.h), { x: 4, y: 4, distance: 3 });
    // Horizontal axis; along row 4 the DT is ≥ 1.5 for x = 3…20 (x = 2 has 1): t from −1 to 16, 17 px long →
    // 5 points at t = −1, 3.25, 7.5, 11.75, 16 → x = 3, 7, 12 (11.5 rounds up), 16, 20. Width max(2, 0.36) = 2.
    assert.deepEqual(scribblePath(bar.data, bar.w, bar.h), { points: [{ x: 3, y: 4 }, { x: 7, y: 4 }, { x: 12, y: 4 }, { x: 16, y: 4 }, { x: 20, y: 4 }], width: 2 });
    assert.deepEqual(boxOfMask(bar.data, bar.w, bar.h), [2, 2, 20, 6]);
  });

  it('the scribble stays inside the mask (random discs and ellipses)', () => {
    fc.assert(fc.property(fc.integer({ min: 4, max: 20 }), fc.integer({ min: 4, max: 20 }), fc.double({ min: 0, max: Math.PI, noNaN: true }), (a, b, theta) => {
      const w = 48, h = 48, m = new Uint8Array(w * h);
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
        const dx = x - 24, dy = y - 24;
        const u = dx * Math.cos(theta) + dy * Math.sin(theta), v = -dx * Math.sin(theta) + dy * Math.cos(theta);
        if ((u / a) ** 2 + (v / b) ** 2 <= 1) m[y * w + x] = 1;
      }
      const s = scribblePath(m, w, h);
      assert.ok(s.points.length >= 1 && s.points.length <= 16);
      for (const p of s.points) assert.equal(m[p.y * w + p.x], 1, `point ${p.x},${p.y} outside`);
    }), { numRuns: 100 });
  });
});

describe('clusterBootstrapMean', () => {
  it('resamples whole clusters: by hand on two clusters', () => {
    // Cluster A holds 1 and 1, B holds 0: a resample is AA (mean 1), BB (0) or AB/BA (2/3), so the 95 % interval
    // over 2000 draws reaches both ends.
    assert.deepEqual(clusterBootstrapMean([1, 1, 0], ['A', 'A', 'B']), [0, 1]);
    assert.deepEqual(clusterBootstrapMean([0.4, 0.6], ['A', 'A']), [0.5, 0.5]); // one cluster: no spread
    assert.deepEqual(clusterBootstrapMean([], []), [0, 0]);
    assert.throws(() => clusterBootstrapMean([1], []), /1 values but 0 cluster names/);
  });
});

describe('photoPromptCheck() on targets and photos made here, scores worked out by hand', function () {
  this.timeout(60000);
  let dir: string, root: string, file: string;
  const sha = (f: string) => createHash('sha256').update(fs.readFileSync(f)).digest('hex');
  const seen: { size: string; region: unknown }[] = [];
  const answer = (m: ReturnType<typeof mask> | null): EngineAnswer => ({
    answer: '', masks: m ? [{ rle: encodeMask(m.data, m.h, m.w), area: 0, bbox: [0, 0, 0, 0] }] : [], device: 'cpu', timingsMs: {},
  });
  const photoRaw = Buffer.from(Array.from({ length: 12 * 10 * 3 }, (_, i) => (i * 37) % 251));
  const engine = {
    async run(task: EngineTask): Promise<EngineAnswer> {
      assert.equal(task.kind, 'segmentRegions');
      const t = task as Extract<EngineTask, { kind: 'segmentRegions' }>;
      const { data, info } = await sharp(t.image).raw().toBuffer({ resolveWithObject: true });
      seen.push({ size: `${info.width}x${info.height}`, region: t.regions[0] });
      if (info.width === 8) {
        // Target one: the crop [2, 1, 8, 8] of photo one, not resized — its pixels are the photo's.
        for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) for (let c = 0; c < 3; c++) {
          assert.equal(data[(y * 8 + x) * 3 + c], photoRaw[((y + 1) * 12 + x + 2) * 3 + c]);
        }
        const kind = t.regions[0].kind;
        // The target is the 4×4 square at rows/columns 2–5 (16 px).
        if (kind === 'box') return answer(mask('........', '........', '..####..', '..####..', '..####..', '..####..', '........', '........')); // IoU 1
        if (kind === 'points') return answer(mask('........', '........', '........', '...##...', '...##...', '........', '........', '........')); // I 4, U 16: 1/4
        return answer(null); // scribble: no mask, I 0, U 16: 0
      }
      assert.equal(`${info.width}x${info.height}`, '3x2'); // target two, photo two's 6×4 crop at half size
      return answer(mask('##.', '##.')); // target '##.' / '#..' (3 px): I 3, U 4 → 3/4 for every prompt
    },
  } as unknown as Engine;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ps-photo-targets-'));
    root = path.join(dir, 'tree');
    fs.mkdirSync(path.join(root, 'pkg'), { recursive: true });
    await sharp(photoRaw, { raw: { width: 12, height: 10, channels: 3 } }).png().toFile(path.join(root, 'pkg', 'one.png'));
    await sharp(Buffer.alloc(6 * 4 * 3, 90), { raw: { width: 6, height: 4, channels: 3 } }).png().toFile(path.join(root, 'pkg', 'two.png'));
    const square = mask('........', '........', '..####..', '..####..', '..####..', '..####..', '........', '........');
    const ell = mask('##.', '#..');
    file = path.join(dir, 'targets.json');
    fs.writeFileSync(file, JSON.stringify({
      split: 'test', teacher: 'isnet-small.onnx', filter: 'by hand',
      targets: [
        { id: 'one/0', scene: 'one', photo: 'pkg/one.png', sha256: sha(path.join(root, 'pkg', 'one.png')), box: [2, 1, 8, 8], size: [8, 8], rle: encodeMask(square.data, 8, 8) },
        { id: 'two/0', scene: 'two', photo: 'pkg/two.png', sha256: sha(path.join(root, 'pkg', 'two.png')), box: [0, 0, 6, 4], size: [3, 2], rle: encodeMask(ell.data, 2, 3) },
      ],
    }));
  });

  it('gives each target its box, click and scribble, and scores them and the box baseline', async () => {
    const r = await photoPromptCheck(engine, file, root) as PhotoPromptReport;
    assert.ok(!('skipped' in r));
    // The prompts: square → box [2, 2, 4, 4]; click (3, 3) (DT 2, first in reading order); scribble along
    // row 3 from x = 2 to 5 (DT ≥ 1; centroid axis horizontal as the square's covariance is isotropic).
    assert.deepEqual(seen.slice(0, 3).map((s) => s.region), [
      { kind: 'box', x: 2, y: 2, w: 4, h: 4 },
      { kind: 'points', points: [{ x: 3, y: 3, positive: true }] },
      { kind: 'scribble', points: [{ x: 2, y: 3 }, { x: 5, y: 3 }], width: 2 },
    ]);
    // The L: every pixel is 1 from the frame or the background, so the click is (0, 0); its axis runs
    // diagonally off the image at once, so the scribble is that one point.
    assert.deepEqual(seen.slice(3).map((s) => s.region), [
      { kind: 'box', x: 0, y: 0, w: 2, h: 2 },
      { kind: 'points', points: [{ x: 0, y: 0, positive: true }] },
      { kind: 'scribble', points: [{ x: 0, y: 0 }], width: 2 },
    ]);
    assert.deepEqual(r.perTarget.map((p) => [p.box, p.click, p.scribble, p.boxBaseline]), [[1, 0.25, 0, 1], [0.75, 0.75, 0.75, 0.75]]);
    // Means over the two targets; each is its own scene, so a resample's mean is a, b or (a + b) / 2.
    assert.deepEqual(r.box, { meanIoU: 0.875, ci95: [0.75, 1] });
    assert.deepEqual(r.click, { meanIoU: 0.5, ci95: [0.25, 0.75] });
    assert.deepEqual(r.scribble, { meanIoU: 0.375, ci95: [0, 0.75] });
    assert.deepEqual(r.boxBaseline, { meanIoU: 0.875, ci95: [0.75, 1] });
    assert.deepEqual(r.n, { targets: 2, photos: 2, scenes: 2 });
    assert.match(r.reference, /not human labels/);
  });

  it('says how to fetch the photos when they are absent, and refuses photos that differ', async () => {
    const missing = await photoPromptCheck(engine, file, path.join(dir, 'nowhere'));
    assert.ok('skipped' in missing && /python3 training\/real_photos.py fetch/.test(missing.skipped));
    const other = path.join(dir, 'other');
    fs.cpSync(root, other, { recursive: true });
    await sharp(Buffer.alloc(6 * 4 * 3, 91), { raw: { width: 6, height: 4, channels: 3 } }).png().toFile(path.join(other, 'pkg', 'two.png'));
    const differs = await photoPromptCheck(engine, file, other);
    assert.ok('skipped' in differs && /differs from the photo the targets were made on/.test(differs.skipped));
  });

  it('refuses a targets file whose mask and size disagree, naming the target', async () => {
    const bad = JSON.parse(fs.readFileSync(file, 'utf8'));
    bad.targets[1].size = [2, 3];
    const badFile = path.join(dir, 'bad.json');
    fs.writeFileSync(badFile, JSON.stringify(bad));
    await assert.rejects(photoPromptCheck(engine, badFile, root), /target two\/0: its mask is 3×2, its size 2×3/);
  });
});
