import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadModelDir, ModelDirError } from '../../src/engine/modelDir';
import { checkParity } from '../../src/tools/parity';

const shipped = path.resolve(__dirname, '../../../models/tiny-random');

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
    const report = await checkParity(path.resolve(__dirname, '../../../models/default'), 1e-3);
    assert.ok(report.ok, JSON.stringify(report, null, 2));
  });
});
