// Region rasterising and prompt slots on NON-square images, against the Python reference in training/
// (PIL rasterising, preprocess.resized_size and preprocess.prompt_slots, whose nearest resize is checked
// against Pillow's NEAREST when the fixture is made): test/data/reference/prompt_slots.json, written
// by training/reference_fixtures.py. An axis swap or an off-by-one in the grid only shows on images that
// are not square and not already at the model's size, which is what these are.
import * as assert from 'node:assert/strict';
import { fromRowRuns } from '../support/rowRuns';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { Engine } from '../../src/engine/engine';
import { resizedSize } from '../../src/engine/preprocess';
import { rasterizeRegion } from '../../src/engine/regions';
import type { RegionSpec } from '../../src/engine/regions';
import { promptSlots } from '../../src/engine/visualPrompts';
import type { Grid } from '../../src/engine/sequence';
import { encodeMask } from '../../src/masks/rle';

const repo = path.resolve(__dirname, '../../..');

interface Box { kind: 'box'; x: number; y: number; w: number; h: number }
interface MaskRegion { kind: 'mask'; rowRuns: number[] }
interface SlotCase { width: number; height: number; modelWidth: number; modelHeight: number; regions: (Box | MaskRegion)[]; slots: number[] }
const fixture = JSON.parse(fs.readFileSync(path.join(repo, 'test/data/reference/prompt_slots.json'), 'utf8')) as { patch: number; maxLongSide: number; cases: SlotCase[] };

/** Row-major run lengths, starting with zeros → a 0/1 mask. */

const label = (c: SlotCase) => `${c.width}×${c.height} → ${c.modelWidth}×${c.modelHeight}`;

describe('prompt slots against the Python reference, on non-square images', function () {
  this.timeout(120000);

  it('the fixture is what it claims: non-square images, resized, with every region on the grid', () => {
    assert.ok(fixture.cases.length >= 5);
    for (const c of fixture.cases) {
      assert.notEqual(c.width, c.height);
      assert.ok(c.modelWidth !== c.width || c.modelHeight !== c.height, label(c));
      for (let k = 0; k < c.regions.length; k++) assert.ok(c.slots.includes(k), `${label(c)}: region ${k} reaches the grid`);
    }
  });

  it('resizedSize gives the reference model size', () => {
    for (const c of fixture.cases) {
      assert.deepEqual(resizedSize(c.width, c.height, fixture.patch, fixture.maxLongSide), { width: c.modelWidth, height: c.modelHeight }, label(c));
    }
  });

  it('rasterizeRegion + promptSlots give the reference slot of every patch', () => {
    for (const c of fixture.cases) {
      const masks = c.regions.map((r, slot) => ({
        width: c.width, height: c.height, slot,
        data: r.kind === 'box' ? rasterizeRegion(r, c.width, c.height, 8) : fromRowRuns(r.rowRuns, c.width * c.height),
      }));
      assert.deepEqual([...promptSlots(masks, c.modelWidth, c.modelHeight, fixture.patch)], c.slots, label(c));
    }
  });

  it('the engine sends the model the reference grid and slots for box and mask regions', async () => {
    const engine = await Engine.open(path.join(repo, 'models/tiny-random'), { device: 'cpu', cacheBudgetMb: 16 });
    assert.equal(engine.model.config.image.max_long_side, fixture.maxLongSide, 'the fixture was made for this model');
    const seen: { grid: Grid; slots: number[] }[] = [];
    const runner = engine.runner as unknown as { prefillImage: (p: Float32Array, g: Grid, s?: ArrayLike<number>) => Promise<unknown> };
    const prefill = runner.prefillImage.bind(runner);
    runner.prefillImage = (patches, grid, slots) => {
      seen.push({ grid: { ...grid }, slots: slots ? Array.from(slots) : [] });
      return prefill(patches, grid, slots);
    };
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ps-slots-'));
    try {
      for (const [i, c] of fixture.cases.entries()) {
        const image = path.join(dir, `${i}.png`);
        await sharp({ create: { width: c.width, height: c.height, channels: 3, background: '#808080' } }).png().toFile(image);
        const regions: RegionSpec[] = c.regions.map((r) => r.kind === 'box' ? r : { kind: 'rle', rle: encodeMask(fromRowRuns(r.rowRuns, c.width * c.height), c.height, c.width) });
        seen.length = 0;
        await engine.run({ kind: 'segmentRegions', image, regions, maxNewTokens: 1 });
        assert.equal(seen.length, 1, 'one prefill of the image with its prompts');
        assert.deepEqual(seen[0].grid, { gh: c.modelHeight / fixture.patch, gw: c.modelWidth / fixture.patch }, label(c));
        assert.deepEqual(seen[0].slots, c.slots, label(c));
      }
    } finally {
      await engine.close();
    }
  });
});
