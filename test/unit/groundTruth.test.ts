// The evaluation refuses bad ground truth with the JSON path at fault instead of scoring it.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { GroundTruthError, jsonPath, readGroundTruth } from '../../src/eval/groundTruth';

const repo = path.resolve(__dirname, '../../..');
const python = process.env.PYTHON || '/usr/bin/python3';

describe('evaluation ground truth', function () {
  this.timeout(120000);
  let dataset: string;
  let original: { images: { width: number; height: number; file_name: string }[]; annotations: { id: number }[]; tasks: Record<string, unknown>[] };

  before(() => {
    dataset = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ps-gt-')), 'data');
    const r = spawnSync(python, ['training/generate.py', '--split', 'test', '--seed', '12', '--count', '2', '--size', '128', '--out', dataset, '--quiet'], { cwd: repo, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    original = JSON.parse(fs.readFileSync(path.join(dataset, 'ground_truth.json'), 'utf8'));
  });

  /** A copy of the dataset with ground_truth.json changed by `edit`. */
  function variant(edit: (gt: typeof original) => void): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ps-gt-variant-'));
    fs.cpSync(path.join(dataset, 'images'), path.join(dir, 'images'), { recursive: true });
    const gt = structuredClone(original);
    edit(gt);
    fs.writeFileSync(path.join(dir, 'ground_truth.json'), JSON.stringify(gt));
    return dir;
  }

  const refuses = async (dir: string, message: RegExp) =>
    assert.rejects(readGroundTruth(dir), (e: Error) => e instanceof GroundTruthError && message.test(e.message) && e.message.includes(path.join(dir, 'ground_truth.json')));

  it('accepts what training/generate.py writes', async () => {
    const gt = await readGroundTruth(dataset);
    assert.equal(gt.tasks.length, original.tasks.length);
    assert.ok(gt.tasks.some((t) => t.type === 'res') && gt.tasks.some((t) => t.type === 'mcq'));
  });

  it('refuses a dataset with no tasks (it used to score cIoU 1.0)', async () => {
    await refuses(variant((gt) => { gt.tasks = []; }), /tasks: the dataset has no tasks/);
  });

  it('names the JSON path of a wrong type', async () => {
    const i = original.tasks.findIndex((t) => t.type === 'res');
    await refuses(variant((gt) => { (gt.tasks[i] as { target_ids: unknown[] }).target_ids = ['one']; }), new RegExp(`tasks\\[${i}\\]\\.target_ids\\[0\\]: `));
    await refuses(variant((gt) => { (gt.images[0] as { width: unknown }).width = '128'; }), /: images\[0\]\.width: .*expected number/);
    await refuses(variant((gt) => { (gt as { images?: unknown }).images = undefined; }), /lacks images, annotations or tasks/);
  });

  it('refuses a task that names a missing annotation (it used to die with a TypeError)', async () => {
    const i = original.tasks.findIndex((t) => t.type === 'mcq');
    await refuses(variant((gt) => { (gt.tasks[i] as { region_id: number }).region_id = 987654; }), new RegExp(`tasks\\[${i}\\]\\.region_id: annotation 987654 does not exist`));
  });

  it('refuses image sizes that disagree with the files (they used to change the score)', async () => {
    await refuses(variant((gt) => { gt.images[0].width += 1; }), /annotations\[\d+\]\.segmentation\.size: .* differs from image/);
    const dir = variant(() => {});
    const file = path.join(dir, 'images', original.images[0].file_name);
    await sharp(fs.readFileSync(file)).resize(64, 64).toFile(file);
    await refuses(dir, /images\[0\]: .* is 64×64, but the dataset says 128×128/);
  });

  it('writes JSON paths the way a reader types them', () => {
    assert.equal(jsonPath(['annotations', 17, 'segmentation', 0]), 'annotations[17].segmentation[0]');
    assert.equal(jsonPath([]), '(top level)');
  });
});
