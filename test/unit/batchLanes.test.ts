// How many engines a folder job runs: the setting when given, else two for a small model on two or more
// cores, one (the editor's engine) for a paper-size model or a single core.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { batchLanes, LANE_MODEL_LIMIT_BYTES, MAX_LANES, modelBytes } from '../../src/annotations/batchLanes';
import { loadModelDir } from '../../src/engine/modelDir';

const MB = 1024 * 1024;

describe('batch lanes', () => {
  it('automatic: two for a small model on 2+ cores; one on a single core or for a large or unreadable model', () => {
    assert.equal(batchLanes(0, 2, 20 * MB), 2);
    assert.equal(batchLanes(0, 64, 20 * MB), 2, 'more cores do not add lanes: each lane holds the model');
    assert.equal(batchLanes(0, 1, 20 * MB), 1);
    assert.equal(batchLanes(0, 16, LANE_MODEL_LIMIT_BYTES), 1);
    assert.equal(batchLanes(0, 16, 3700 * MB), 1, 'the 0.5B model (3.7 GB) shares the editor\'s engine');
    assert.equal(batchLanes(0, 16, Infinity), 1);
    assert.equal(batchLanes(0, 16, NaN), 1);
  });

  it('a positive setting is taken as it is, up to the maximum; anything else means automatic', () => {
    assert.equal(batchLanes(1, 16, 20 * MB), 1);
    assert.equal(batchLanes(3, 2, 3700 * MB), 3, 'the user asked for it');
    assert.equal(batchLanes(99, 2, 20 * MB), MAX_LANES);
    assert.equal(batchLanes(-2, 2, 20 * MB), 2);
    assert.equal(batchLanes(1.5, 2, 20 * MB), 2);
  });

  it('the shipped model is small enough for two lanes', () => {
    const dir = path.resolve(__dirname, '../../../models/default');
    const model = loadModelDir(dir);
    const bytes = modelBytes(dir);
    assert.ok(fs.existsSync(model.graphPath('decoder')) && bytes > MB && bytes < LANE_MODEL_LIMIT_BYTES, `${bytes} bytes`);
    assert.equal(batchLanes(0, 2, bytes), 2);
    assert.equal(modelBytes(path.join(dir, 'no-such-model')), Infinity, 'an unreadable model counts as large');
  });
});
