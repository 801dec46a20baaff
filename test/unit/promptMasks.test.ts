// Prompt masks → patch slots: the engine's rule against a hand-worked case and against the PyTorch
// reference (training/pixel_sail/preprocess.py, itself tested against Pillow, which the official code runs)
// on random masks at odd, non-square sizes, in both overlap orders.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadModelDir, ModelDirError } from '../../src/engine/modelDir';
import { NO_PROMPT } from '../../src/engine/sequence';
import { pilNearestSources, promptSlots, type PromptMask, type PromptOverlap } from '../../src/engine/visualPrompts';

const repo = path.resolve(__dirname, '../../..');
const python = process.env.PYTHON || '/usr/bin/python3';

/** Small deterministic generator (mulberry32) so a failure names a reproducible case. */
function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function resizedSize(w: number, h: number, patch = 16, maxLong = 1024): [number, number] {
  const long = Math.max(w, h), short = Math.min(w, h);
  const newLong = Math.min(Math.ceil(long / patch) * patch, maxLong);
  const newShort = Math.max(patch, Math.ceil(Math.trunc((newLong * short) / long) / patch) * patch);
  return w >= h ? [newLong, newShort] : [newShort, newLong];
}

describe('prompt masks on the patch grid', () => {
  it('samples pixel centres as Pillow does: 10 px to 4 picks 1, 3, 6, 8', () => {
    assert.deepEqual(Array.from(pilNearestSources(10, 4)), [1, 3, 6, 8]);
    assert.deepEqual(Array.from(pilNearestSources(5, 5)), [0, 1, 2, 3, 4]);
    // Pillow's running double sum lands just under 6.0 for destination 4 of 8 → 6.
    assert.deepEqual(Array.from(pilNearestSources(8, 6)), [0, 2, 3, 4, 5, 7]);
    // A mask 10 px wide with only pixel 0 set no longer reaches patch column 0 of a 4-px-wide grid of 1-px patches.
    const m: PromptMask = { width: 10, height: 1, data: Uint8Array.from([1, 0, 0, 1, 0, 0, 1, 0, 1, 0]), slot: 2 };
    assert.deepEqual(Array.from(promptSlots([m], 4, 1, 1)), [NO_PROMPT, 2, 2, 2]);
  });

  it('where masks overlap: largest first by default, or as given', () => {
    const full = { width: 32, height: 32, data: new Uint8Array(32 * 32).fill(1), slot: 2 };
    const corner = { width: 32, height: 32, data: new Uint8Array(32 * 32), slot: 1 };
    for (let y = 0; y < 16; y++) corner.data.fill(1, y * 32, y * 32 + 16);
    assert.deepEqual(Array.from(promptSlots([corner, full], 32, 32, 16)), [1, 2, 2, 2]);
    assert.deepEqual(Array.from(promptSlots([corner, full], 32, 32, 16, 'given_order')), [2, 2, 2, 2]);
    assert.deepEqual(Array.from(promptSlots([full, corner], 32, 32, 16, 'given_order')), [1, 2, 2, 2]);
  });

  it('a region the nearest resize misses entirely still reaches the model, on the patch that holds it', () => {
    // 4000×3000 → 192×144: samples every ~20.8 source pixels; a 19×19 box between two samples on both axes.
    const [w, h, x0, y0] = [4000, 3000, 2011, 1511];
    const xs = Array.from(pilNearestSources(w, 192)), ys = Array.from(pilNearestSources(h, 144));
    assert.ok(!xs.some((x) => x >= x0 && x < x0 + 19) && !ys.some((y) => y >= y0 && y < y0 + 19), 'the box must fall between samples');
    const data = new Uint8Array(w * h);
    for (let y = y0; y < y0 + 19; y++) data.fill(1, y * w + x0, y * w + x0 + 19);
    const slots = promptSlots([{ width: w, height: h, data, slot: 7 }], 192, 144, 16);
    // centre (2020, 1520): patch column floor(2020 / 4000 × 12) = 6, row floor(1520 / 3000 × 9) = 4
    assert.deepEqual([...slots.keys()].filter((i) => slots[i] !== NO_PROMPT), [4 * 12 + 6]);
    assert.equal(slots[4 * 12 + 6], 7);
  });

  it("reads the model's overlap order from config.json and refuses an unknown one", () => {
    const src = path.join(repo, 'models/default');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ps-overlap-'));
    for (const f of fs.readdirSync(src)) if (f !== 'config.json') fs.symlinkSync(path.join(src, f), path.join(dir, f));
    const config = JSON.parse(fs.readFileSync(path.join(src, 'config.json'), 'utf8'));
    const write = (overlap: unknown) => fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...config, image: { ...config.image, prompt_overlap: overlap } }));
    write('given_order');
    assert.equal(loadModelDir(dir).config.image.prompt_overlap, 'given_order');
    write('smallest_wins');
    assert.throws(() => loadModelDir(dir), (e: Error) => e instanceof ModelDirError && /prompt_overlap must be one of "largest_first", "given_order"/.test(e.message));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('agrees exactly with the PyTorch reference on random masks at odd, non-square sizes', function () {
    this.timeout(120000);
    const next = rng(20);
    const cases: { w: number; h: number; nw: number; nh: number; overlap: PromptOverlap; masks: PromptMask[] }[] = [];
    const sizes: [number, number][] = [[333, 201], [97, 413], [1000, 37], [45, 70], [1601, 899], [17, 17], [250, 251]];
    for (const [w, h] of sizes) {
      const [nw, nh] = resizedSize(w, h);
      for (const overlap of ['largest_first', 'given_order'] as const) {
        const masks: PromptMask[] = [];
        const count = 1 + Math.floor(next() * 4);
        for (let k = 0; k < count; k++) {
          const data = new Uint8Array(w * h);
          // Rectangles at least two source steps wide, so the nearest resize always sees them and the
          // engine's rescue of vanishing regions (a documented departure) stays out of the comparison.
          const minW = Math.min(w, Math.ceil((2 * w) / nw) + 1), minH = Math.min(h, Math.ceil((2 * h) / nh) + 1);
          const bw = minW + Math.floor(next() * (w - minW + 1)), bh = minH + Math.floor(next() * (h - minH + 1));
          const x0 = Math.floor(next() * (w - bw + 1)), y0 = Math.floor(next() * (h - bh + 1));
          for (let y = y0; y < y0 + bh; y++) data.fill(1, y * w + x0, y * w + x0 + bw);
          for (let i = 0; i < 25; i++) data[Math.floor(next() * w * h)] = 1;
          masks.push({ width: w, height: h, data, slot: Math.floor(next() * 15) });
        }
        cases.push({ w, h, nw, nh, overlap, masks });
      }
    }
    const script = [
      'import base64, json, sys',
      'import numpy as np',
      "sys.path.insert(0, 'training')",
      'from pixel_sail.preprocess import pil_nearest_sources, prompt_slots',
      'data = json.load(sys.stdin)',
      "pairs = [pil_nearest_sources(a, b).tolist() for a, b in data['pairs']]",
      'out = []',
      "for c in data['cases']:",
      "    ms = [np.frombuffer(base64.b64decode(m['data']), np.uint8).reshape(c['h'], c['w']).astype(bool) for m in c['masks']]",
      "    out.append(prompt_slots(ms, [m['slot'] for m in c['masks']], c['nw'], c['nh'], 16, c['overlap']).tolist())",
      "print(json.dumps({'slots': out, 'pairs': pairs}))",
    ].join('\n');
    // Photo sizes too, where Pillow's running sum has drifted furthest.
    const pairs: [number, number][] = [[4000, 1024], [3024, 768], [6000, 1000], [4032, 192], [1023, 1024], [999, 1008], [8, 6]];
    const input = JSON.stringify({
      pairs,
      cases: cases.map((c) => ({ ...c, masks: c.masks.map((m) => ({ slot: m.slot, data: Buffer.from(m.data).toString('base64') })) })),
    });
    const r = spawnSync(python, ['-c', script], { cwd: repo, input, encoding: 'utf8', maxBuffer: 64 << 20 });
    assert.equal(r.status, 0, r.stderr);
    const { slots: want, pairs: wantPairs } = JSON.parse(r.stdout) as { slots: number[][]; pairs: number[][] };
    pairs.forEach(([a, b], i) => assert.deepEqual(Array.from(pilNearestSources(a, b)), wantPairs[i], `${a} → ${b}`));
    let boundaryPatches = 0;
    cases.forEach((c, i) => {
      const got = Array.from(promptSlots(c.masks, c.nw, c.nh, 16, c.overlap));
      assert.deepEqual(got, want[i], `case ${i}: ${c.w}×${c.h} → ${c.nw}×${c.nh}, ${c.overlap}`);
      boundaryPatches += got.filter((s) => s !== NO_PROMPT).length;
    });
    assert.ok(boundaryPatches > 0);
  });
});
