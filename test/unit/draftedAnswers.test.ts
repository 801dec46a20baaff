import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Engine } from '../../src/engine/engine';
import type { EngineAnswer } from '../../src/engine/types';

// The shipped weights exported with an 8-row LM head (what convert_official.py writes), against the same
// graphs with the single-row contract: a drafted segment answer may change the number of decoder passes and
// nothing else. float32, where a drafted token's pass computes exactly what a pass of its own would.
const repo = path.resolve(__dirname, '../../..');
const python = process.env.PYTHON || '/usr/bin/python3';

describe('drafted segment answers (shipped weights, 8 logits rows)', function () {
  this.timeout(300_000);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ps-draft-'));
  const drafted = path.join(tmp, 'drafted');
  const plain = path.join(tmp, 'plain');
  const scenes = path.join(tmp, 'scenes');
  let a: Engine;
  let b: Engine;
  let images: { file: string; expressions: string[] }[];

  before(async () => {
    const run = (args: string[]) => {
      const r = spawnSync(python, args, { cwd: repo, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr || String(r.error));
    };
    run(['training/export.py', '--checkpoint', 'training/checkpoints/long_run_seg7.pt', '--no-int8', '--logits-rows', '8', '--no-fixtures', '--out', drafted]);
    run(['training/generate.py', '--split', 'test', '--seed', '61', '--count', '4', '--size', '192', '--out', scenes, '--quiet']);
    fs.cpSync(drafted, plain, { recursive: true });
    const config = JSON.parse(fs.readFileSync(path.join(plain, 'config.json'), 'utf8'));
    assert.equal(config.graphs.decoder.logits_rows, 8);
    delete config.graphs.decoder.logits_rows;
    fs.writeFileSync(path.join(plain, 'config.json'), JSON.stringify(config));
    const gt = JSON.parse(fs.readFileSync(path.join(scenes, 'ground_truth.json'), 'utf8'));
    images = gt.images.map((i: { id: number; file_name: string }) => ({
      file: path.join(scenes, 'images', i.file_name),
      expressions: gt.tasks.filter((t: { image_id: number; type: string }) => t.image_id === i.id && t.type === 'res').map((t: { expression: string }) => t.expression),
    }));
    a = await Engine.open(drafted, { device: 'cpu', cacheBudgetMb: 64 });
    b = await Engine.open(plain, { device: 'cpu', cacheBudgetMb: 64 });
  });
  after(async () => {
    await a?.close();
    await b?.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('gives the same answers and masks; an answer the model gave before runs in one decoder pass', async () => {
    let previous: string | undefined;
    let onePass = 0;
    let passes = 0;
    let plainPasses = 0;
    const asked: string[] = [];
    for (const img of images) {
      for (const text of img.expressions) {
        const x: EngineAnswer = await a.run({ kind: 'segment', image: img.file, text });
        const y: EngineAnswer = await b.run({ kind: 'segment', image: img.file, text });
        asked.push(`${text} → ${x.answer}`);
        assert.equal(x.answer, y.answer, text);
        assert.deepEqual(x.masks, y.masks, text);
        assert.equal(y.timingsMs.draftAccepted, undefined, 'a single-row decoder drafts nothing');
        assert.equal(typeof x.timingsMs.draftAccepted, 'number');
        passes += x.timingsMs.decoderPasses;
        plainPasses += y.timingsMs.decoderPasses;
        if (previous !== undefined && x.answer === previous && x.masks.length > 0) {
          // The draft was this very answer: every token kept, and the stop token read from the same pass.
          assert.equal(x.timingsMs.decoderPasses, 1, `${text}: ${JSON.stringify(x.timingsMs)}`);
          assert.equal(x.timingsMs.draftAccepted, x.timingsMs.generatedTokens);
          onePass++;
        }
        if (x.masks.length > 0 && x.timingsMs.fallback !== 1) previous = x.answer;
      }
    }
    assert.ok(onePass >= 3, `answers in one pass: ${onePass} of ${asked.length}\n${asked.join('\n')}`);
    assert.ok(passes < plainPasses, `${passes} passes drafted, ${plainPasses} plain`);
  });

  it('refuses a model folder whose config.json promises more logits rows than its decoder returns, naming the cause', async () => {
    const lying = path.join(tmp, 'lying');
    fs.cpSync(path.join(repo, 'models/default'), lying, { recursive: true });
    const config = JSON.parse(fs.readFileSync(path.join(lying, 'config.json'), 'utf8'));
    config.graphs.decoder.logits_rows = 8;
    fs.writeFileSync(path.join(lying, 'config.json'), JSON.stringify(config));
    const e = await Engine.open(lying, { device: 'cpu', cacheBudgetMb: 64 });
    try {
      await assert.rejects(e.run({ kind: 'segment', image: images[0].file, text: images[0].expressions[0] }), /returned 1 logits row\(s\) where config\.json's graphs\.decoder\.logits_rows promises/);
    } finally {
      await e.close();
    }
  });

  it('drafts only segment answers: a question is decoded as before', async () => {
    const img = images[0];
    const x = await a.run({ kind: 'ask', image: img.file, text: 'What is in this image?', regions: [], maxNewTokens: 12 });
    const y = await b.run({ kind: 'ask', image: img.file, text: 'What is in this image?', regions: [], maxNewTokens: 12 });
    assert.equal(x.answer, y.answer);
    assert.equal(x.timingsMs.draftAccepted, undefined);
    assert.equal(x.timingsMs.decoderPasses, y.timingsMs.decoderPasses);
  });
});
