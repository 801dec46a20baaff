import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chooseWeights, Engine } from '../../src/engine/engine';
import { loadModelDir, ModelDirError } from '../../src/engine/modelDir';
import { checkParity, INT8_MIN_MASK_IOU } from '../../src/tools/parityCheck';

const shipped = path.resolve(__dirname, '../../../models/tiny-random');
const defaultModel = path.resolve(__dirname, '../../../models/default');

function copyModel(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ps-model-'));
  for (const f of fs.readdirSync(shipped)) {
    if (fs.statSync(path.join(shipped, f)).isFile()) fs.copyFileSync(path.join(shipped, f), path.join(dir, f));
  }
  return dir;
}

describe('model directory', () => {
  it('loads the shipped tiny model', () => {
    const m = loadModelDir(shipped);
    assert.equal(m.config.format, 'pixel-sail-onnx');
    assert.equal(m.headDim * m.config.model.num_attention_heads, m.config.model.hidden_size);
  });

  it('names a missing graph', () => {
    const dir = copyModel();
    fs.unlinkSync(path.join(dir, 'upsampler.onnx'));
    assert.throws(() => loadModelDir(dir), (e: Error) => e instanceof ModelDirError && /upsampler graph upsampler\.onnx/.test(e.message));
  });

  it('names a missing special token', () => {
    const dir = copyModel();
    const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    delete cfg.model.token_ids['[SEG]'];
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(cfg));
    assert.throws(() => loadModelDir(dir), /special token \[SEG\]/);
  });

  it('reports malformed config.json and a missing directory clearly', () => {
    const dir = copyModel();
    fs.writeFileSync(path.join(dir, 'config.json'), '{"format": ');
    assert.throws(() => loadModelDir(dir), /config\.json is not valid JSON/);
    assert.throws(() => loadModelDir(path.join(dir, 'nope')), /model directory not found/);
  });

  it('runs the tiny model\'s ONNX graphs to the PyTorch parity fixtures (≤ 1e-4)', async () => {
    const report = await checkParity(shipped, 1e-4);
    assert.ok(report.ok, JSON.stringify(report, null, 2));
  });

  it('runs the shipped default model to its PyTorch parity fixtures (logits and mask logits ≤ 1e-3)', async () => {
    const report = await checkParity(defaultModel, 1e-3);
    assert.ok(report.ok, JSON.stringify(report, null, 2));
    // Its int8 decoder: the same generated answer and the same mask as float32 PyTorch.
    assert.ok(report.int8, 'the shipped model ships an int8 decoder');
    assert.equal(report.int8.generatedIdsEqual, true);
    assert.ok(report.int8.maskIoU >= INT8_MIN_MASK_IOU, JSON.stringify(report.int8));
  });

  it('names a missing int8 variant file', () => {
    const dir = copyModel();
    const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    cfg.graphs.decoder.variants = { int8: 'decoder.int8.onnx' };
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(cfg));
    assert.throws(() => loadModelDir(dir), /missing the int8 decoder graph decoder\.int8\.onnx/);
  });

  it('chooses decoder weights and says why: int8 on the CPU when shipped, float32 otherwise and on CUDA', () => {
    const tiny = loadModelDir(shipped);
    const def = loadModelDir(defaultModel);
    assert.equal(tiny.hasInt8Decoder, false);
    assert.equal(def.hasInt8Decoder, true);
    assert.deepEqual(chooseWeights(def, 'auto', 'cpu').weights, 'int8');
    assert.deepEqual(chooseWeights(def, 'auto', 'cuda').weights, 'float32');
    assert.match(chooseWeights(tiny, 'auto', 'cpu').weightsReason!, /no int8 decoder/);
    assert.equal(chooseWeights(def, 'float32', 'cpu').weights, 'float32');
    assert.throws(() => chooseWeights(tiny, 'int8', 'cpu'), /ships no int8 decoder\. Set pixelSail\.weights/);
  });

  it('runs the weights it reports', async () => {
    for (const weights of ['int8', 'float32'] as const) {
      const engine = await Engine.open(defaultModel, { device: 'cpu', weights, cacheBudgetMb: 16 });
      try {
        assert.equal(engine.device.weights, weights);
        const a = await engine.run({ kind: 'segment', image: path.join(defaultModel, 'parity/image.png'), text: 'the red square' });
        assert.equal(typeof a.answer, 'string');
      } finally {
        await engine.close();
      }
    }
  });
});
