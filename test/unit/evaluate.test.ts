import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Engine } from '../../src/engine/engine';
import { evaluate } from '../../src/eval/evaluate';

const repo = path.resolve(__dirname, '../../..');
const python = process.env.PYTHON || '/usr/bin/python3';

describe('pixel-sail eval', function () {
  this.timeout(180000);
  let dataset: string;
  let engine: Engine;
  before(async () => {
    dataset = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ps-eval-')), 'test');
    const r = spawnSync(python, ['training/generate.py', '--split', 'test', '--seed', '11', '--count', '3', '--size', '256', '--out', dataset, '--quiet'], { cwd: repo, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    engine = await Engine.open(path.join(repo, 'models/tiny-random'), { device: 'cpu' });
  });
  after(async () => engine?.close());

  it('scores every task kind and reports the PerBench overall', async () => {
    const report = await evaluate(engine, dataset, {
      realPhotos: { masks: path.join(repo, 'test/data/real_photos'), photos: path.join(repo, 'media/samples/photos') },
    });
    const gt = JSON.parse(fs.readFileSync(path.join(dataset, 'ground_truth.json'), 'utf8'));
    const count = (t: string) => gt.tasks.filter((x: { type: string }) => x.type === t).length;
    assert.equal(report.n.res, count('res'));
    assert.equal(report.n.caption, count('caption'));
    assert.equal(report.n.mcq, count('mcq'));
    assert.equal(report.n.vtres, count('vtres'));
    for (const v of [report.res.cIoU, report.res.gIoU, report.caption.meteor, report.mcq.accuracy, report.vtres.cIoU]) {
      assert.ok(v >= 0 && v <= 1);
    }
    assert.match(report.caption.matching, /exact\+stem/);
    // The breakdowns cover every task once.
    const resKinds = new Set(gt.tasks.filter((x: { type: string }) => x.type === 'res').map((x: { kind: string }) => x.kind));
    assert.deepEqual(new Set(Object.keys(report.res.byKind)), resKinds);
    assert.equal(Object.values(report.res.byKind).reduce((s, k) => s + k.n, 0), report.n.res);
    assert.equal(Object.values(report.mcq.byKind).reduce((s, k) => s + k.n, 0), report.n.mcq);
    assert.ok(report.realPhotos && report.realPhotos.photos.length === 5);
    const expected = (report.caption.meteor * 100 + 100 * report.mcq.accuracy + 50 * (report.vtres.cIoU + report.vtres.gIoU)) / 3;
    assert.ok(Math.abs(report.overall - expected) < 1e-9);
  });

  it('refuses a folder that is not a generated dataset', async () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'ps-eval-empty-'));
    await assert.rejects(evaluate(engine, empty), /cannot read .*ground_truth\.json/);
    fs.writeFileSync(path.join(empty, 'ground_truth.json'), '{"images": []}');
    await assert.rejects(evaluate(engine, empty), /lacks images, annotations or tasks/);
  });
});
