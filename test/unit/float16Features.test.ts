import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { Engine } from '../../src/engine/engine';
import { featureBands, HALO_ROWS, rowsPerBand } from '../../src/engine/featureBands';
import { loadImageForModel } from '../../src/engine/imageLoader';
import { DEFAULT_FEATURE_STORAGE, ImageState } from '../../src/engine/modelRunner';
import { patchify } from '../../src/engine/preprocess';
import { countUpsamplerRuns } from '../support/upsamplerRuns';

const repo = path.resolve(__dirname, '../../..');

/** IEEE half → number (the store's values, read back without onnxruntime). */
function half(bits: number): number {
  const s = bits & 0x8000 ? -1 : 1;
  const e = (bits >> 10) & 0x1f;
  const m = bits & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

describe('feature bands', () => {
  it('cover every patch row once, in order, each with one row of real context where there is one', () => {
    for (const gh of [1, 2, 3, 7, 16, 64]) {
      for (const rows of [1, 2, 5, 16, 100]) {
        const bands = featureBands(gh, rows);
        const kept = bands.flatMap((b) => Array.from({ length: b.end - b.start }, (_, i) => b.start + i));
        assert.deepEqual(kept, Array.from({ length: gh }, (_, i) => i), `gh ${gh}, rows ${rows}`);
        for (const b of bands) {
          assert.ok(b.end - b.start <= rows);
          assert.equal(b.inStart, Math.max(0, b.start - HALO_ROWS));
          assert.equal(b.inEnd, Math.min(gh, b.end + HALO_ROWS));
        }
      }
    }
    assert.throws(() => featureBands(0, 4), /positive integer/);
  });

  it('size a band by its widest tensor, halo included, and never below one row', () => {
    // 1024 px at the paper's 0.5B widths: a patch row upsampled 8× is 8 · 512 pixels of 896 channels (14.7 MB).
    const perRow = 8 * 8 * 64 * 896 * 4;
    assert.equal(rowsPerBand(64, 8, 896, 10 * perRow), 8);
    assert.equal(rowsPerBand(64, 8, 896, perRow), 1);
    assert.equal(rowsPerBand(64, 8, 896, 128 * 2 ** 20), Math.floor((128 * 2 ** 20) / perRow) - 2);
  });
});

describe('float16 pixel features of large images (tiny random model)', function () {
  let engine: Engine;
  let whole: ImageState;
  let wholeFeatures: Float32Array;
  // The model's largest input (256 px): 15 × 16 patches, so bands of 1, 2 and 5 rows leave seams everywhere.
  const image = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ps-f16-')), 'large.png');
  before(async () => {
    engine = await Engine.open(path.join(repo, 'models/tiny-random'), { device: 'cpu', cacheBudgetMb: 64 });
    await sharp(path.join(repo, 'models/tiny-random/parity/image.png')).resize(256, 240, { fit: 'fill' }).toFile(image);
    const [patches, grid] = await patchesOf(image);
    assert.equal(grid.gh, 15);
    whole = await engine.runner.prefillImage(patches, grid);
    const features = await whole.pixelFeatures();
    assert.equal(features.type, 'float32', 'small features stay float32 by default');
    wholeFeatures = features.data as Float32Array;
  });
  after(async () => {
    engine.runner.featureStorage = DEFAULT_FEATURE_STORAGE;
    await engine.close();
  });

  /** The same image state's features, upsampled in bands of `rows` patch rows and kept in float16. */
  async function banded(rows: number) {
    const { gw } = whole.grid;
    const f = engine.model.config.image.upsample_factor;
    const c = Math.max(engine.model.config.model.upsampler_channels, engine.model.config.model.seg_hidden_states);
    engine.runner.featureStorage = { float16AboveBytes: 0, bandBytes: (rows + 2 * HALO_ROWS) * f * f * gw * c * 4 };
    try {
      assert.equal(rowsPerBand(gw, f, c, engine.runner.featureStorage.bandBytes), rows);
      return await engine.runner.upsample(whole.visionHidden);
    } finally {
      engine.runner.featureStorage = DEFAULT_FEATURE_STORAGE;
    }
  }

  it('equal the whole-image upsampler run to float16 rounding, at every band seam', async () => {
    for (const rows of [1, 2, 5]) {
      const features = await banded(rows);
      assert.equal(features.type, 'float16');
      assert.deepEqual(features.dims, [8 * whole.grid.gh, 8 * whole.grid.gw, engine.model.config.model.seg_hidden_states]);
      const store = features.data as Uint16Array;
      assert.equal(store.length, wholeFeatures.length);
      let worst = 0;
      for (let i = 0; i < store.length; i++) {
        // float16 keeps 11 significant bits: within half a unit in the last place, plus its subnormal step.
        const err = Math.abs(half(store[i]) - wholeFeatures[i]) - (Math.abs(wholeFeatures[i]) * 2 ** -11 + 2 ** -24);
        worst = Math.max(worst, err);
      }
      assert.ok(worst <= 1e-6, `${rows}-row bands: worst excess error ${worst}`);
    }
  });

  it('give the same mask logits through the float16 mask head, for one [SEG] and for several', async () => {
    const features = await banded(2);
    for (const answer of ['It is [SEG].', 'A is [SEG], B is [SEG] and C is [SEG].']) {
      const gen = await engine.runner.generate(engine.codec.userTurn('Please segment them.'), whole.cache, whole.grid, {
        maxNewTokens: 0,
        answerPrefix: engine.codec.encode(answer),
      });
      const want = await engine.runner.maskLogits(gen.segHidden, gen.segCount, await whole.pixelFeatures());
      const got = await engine.runner.maskLogits(gen.segHidden, gen.segCount, features);
      assert.deepEqual(got.dims, want.dims);
      const a = got.data as Float32Array;
      const b = want.data as Float32Array;
      const scale = b.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      let worst = 0;
      let flips = 0;
      for (let i = 0; i < b.length; i++) {
        worst = Math.max(worst, Math.abs(a[i] - b[i]));
        if (a[i] > 0 !== b[i] > 0) flips++;
      }
      assert.ok(worst <= 2e-3 * scale, `${gen.segCount} masks: worst ${worst} against a logit scale of ${scale}`);
      assert.ok(flips <= b.length * 1e-3, `${flips} of ${b.length} pixels changed side`);
    }
  });

  it('are what the engine keeps for a large image: counted at their float16 size, upsampled once for every mask of it', async () => {
    const { gw } = whole.grid;
    engine.runner.featureStorage = { float16AboveBytes: 0, bandBytes: 3 * 8 * 8 * gw * 32 * 4 };
    const upsampler = countUpsamplerRuns(engine);
    try {
      const first = await engine.run({ kind: 'segment', image, text: 'the red box' });
      assert.equal(first.masks.length, 1);
      assert.equal(upsampler.calls(), whole.grid.gh, 'one band per kept patch row');
      const follow = await engine.run({ kind: 'segment', image, text: 'the blue circle' });
      assert.equal(follow.timingsMs.cacheHit, 1);
      assert.equal(upsampler.calls(), whole.grid.gh, 'the follow-up reads the kept float16 features');
      const state = await engine.runner.prefillImage(...(await patchesOf(image)));
      const features = await state.pixelFeatures();
      assert.equal((features.data as Uint16Array).byteLength, state.pixelFeatureBytes, 'the cache budget counts the float16 size');
    } finally {
      upsampler.restore();
      engine.runner.featureStorage = DEFAULT_FEATURE_STORAGE;
    }
  });

  it('report each band of a large image\'s upsampling, and stop between bands on a cancel', async () => {
    const { gw } = whole.grid;
    engine.runner.featureStorage = { float16AboveBytes: 0, bandBytes: 5 * 8 * 8 * gw * 32 * 4 }; // 3 rows a band: 5 bands
    try {
      const seen: string[] = [];
      const task = { kind: 'segmentRegions' as const, image, regions: [{ kind: 'box' as const, x: 10, y: 10, w: 60, h: 40 }] };
      const a = await engine.run(task, { onProgress: (p) => void seen.push(p.stage === 'masks' && p.total ? `${p.done}/${p.total}` : p.stage) });
      assert.equal(a.masks.length, 1);
      assert.deepEqual(seen.filter((x) => x.includes('/')), ['0/5', '1/5', '2/5', '3/5', '4/5']);
      // A new prompt set is a new state: cancelled after two bands, it ends as cancelled at once…
      let bands = 0;
      const other = { ...task, regions: [{ kind: 'box' as const, x: 30, y: 20, w: 60, h: 40 }] };
      await assert.rejects(
        engine.run(other, { onProgress: (p) => void (p.stage === 'masks' && p.total && bands++), shouldStop: () => bands >= 2 }),
        /cancelled/,
      );
      assert.equal(bands, 2);
      // …and the next request for it upsamples again in full and answers as a fresh engine would.
      const again = await engine.run(other);
      engine.runner.featureStorage = DEFAULT_FEATURE_STORAGE;
      const fresh = await Engine.open(path.join(repo, 'models/tiny-random'), { device: 'cpu', cacheBudgetMb: 64 });
      try {
        fresh.runner.featureStorage = { float16AboveBytes: 0, bandBytes: 5 * 8 * 8 * gw * 32 * 4 };
        assert.deepEqual(again.masks, (await fresh.run(other)).masks);
      } finally {
        await fresh.close();
      }
    } finally {
      engine.runner.featureStorage = DEFAULT_FEATURE_STORAGE;
    }
  });

  async function patchesOf(image: string): Promise<[Float32Array, ImageState['grid']]> {
    const img = await loadImageForModel(fs.readFileSync(image), 16, 256);
    const { patches, grid } = patchify(img.rgb, img.modelWidth, img.modelHeight, engine.model.config.image);
    return [patches, grid];
  }
});

describe('pixel feature bytes (the shipped model, whose feature width differs from its upsampler width)', () => {
  it('count the features the upsampler returns', async () => {
    const engine = await Engine.open(path.join(repo, 'models/default'), { device: 'cpu', cacheBudgetMb: 64 });
    try {
      const m = engine.model.config.model;
      assert.notEqual(m.upsampler_channels, m.seg_hidden_states, 'this test needs the two widths to differ');
      const img = await loadImageForModel(fs.readFileSync(path.join(repo, 'models/tiny-random/parity/image.png')), 16, engine.model.config.image.max_long_side);
      const { patches, grid } = patchify(img.rgb, img.modelWidth, img.modelHeight, engine.model.config.image);
      const state = await engine.runner.prefillImage(patches, grid);
      const features = await state.pixelFeatures();
      assert.equal((features.data as Float32Array).byteLength, state.pixelFeatureBytes);
    } finally {
      await engine.close();
    }
  });
});
