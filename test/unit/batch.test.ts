// Batch annotation jobs through the CLI: shards that partition a folder and merge into the single-machine
// export, a job killed with SIGKILL (or cancelled) that resumes to exactly the uninterrupted result, the
// policies, and a corrupt image that fails alone.
import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createJob, hasImages, JobStoppedError, listImages, noImagesMessage, readManifest, RunProgress, runJob, shardOf, storeFiles } from '../../src/annotations/batch';
import { mergeCoco, MergeError } from '../../src/annotations/cocoMerge';
import { Engine } from '../../src/engine/engine';
import { EngineClient } from '../../src/engine/engineClient';
import type { EngineTask } from '../../src/engine/types';

const repo = path.resolve(__dirname, '../../..');
const bin = path.join(repo, 'bin/pixel-sail.js');
const tiny = path.join(repo, 'models/tiny-random');
const workerPath = path.join(repo, 'dist/worker.js');
const python = process.env.PYTHON || '/usr/bin/python3';
const cli = (...args: string[]) => spawnSync('node', [bin, ...args], { encoding: 'utf8' });
const PROMPTS = ['--prompt', 'circle=every circle', '--prompt', 'square=the square'];

/** Every store file of a root, with the job ids (which differ between runs) left out. */
function storeOf(root: string): Record<string, unknown> {
  const dir = path.join(root, '.pixel-sail/annotations');
  const out: Record<string, unknown> = {};
  for (const f of fs.readdirSync(dir, { recursive: true }) as string[]) {
    if (!f.endsWith('.json')) continue;
    const data = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
    data.annotations.forEach((a: { pixel_sail: { job?: string } }) => delete a.pixel_sail.job);
    out[f] = data;
  }
  return out;
}
// Job ids differ between runs, and info names the folder the export came from.
const withoutJobs = (coco: { info: object; annotations: { pixel_sail: { job?: string } }[] }) =>
  ({ ...coco, info: { ...coco.info, description: undefined }, annotations: coco.annotations.map((a) => ({ ...a, pixel_sail: { ...a.pixel_sail, job: undefined } })) });

describe('batch annotation', function () {
  this.timeout(300000);
  let scenes: string;
  // Every folder this suite makes (a 600-image job's copy is 4 MB), removed at the end.
  const made: string[] = [];
  after(() => { for (const d of made) fs.rmSync(d, { recursive: true, force: true }); });
  const copy = () => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'ps-batch-'));
    made.push(d);
    fs.cpSync(scenes, d, { recursive: true });
    return d;
  };
  /**
   * The 30 scenes and 19 more copies of them in other folders: 600 images, so a job stopped after a few of
   * them is still running when the signal lands, even when this process is slow to see its progress (on the
   * 30 scenes alone, a loaded machine once saw the job end first).
   */
  const LONG_JOB = 600;
  const longCopy = () => {
    const d = copy();
    for (let k = 1; k < LONG_JOB / 30; k++) fs.cpSync(path.join(d, 'images'), path.join(d, 'more', String(k)), { recursive: true });
    return d;
  };

  before(() => {
    scenes = fs.mkdtempSync(path.join(os.tmpdir(), 'ps-batch-scenes-'));
    made.push(scenes);
    const r = spawnSync(python, ['training/generate.py', '--split', 'test', '--seed', '52', '--count', '30', '--size', '96', '--out', scenes, '--quiet'], { cwd: repo, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    fs.rmSync(path.join(scenes, 'ground_truth.json'));
  });

  it('asks the engine to decode each pending image ahead, and marks every request as batch work', async () => {
    const root = copy();
    const engine = await Engine.open(tiny, { device: 'cpu', cacheBudgetMb: 64 });
    try {
      const job = await createJob(root, { prompts: [{ label: 'circle', expression: 'every circle' }, { label: 'square', expression: 'the square' }], policy: 'add', model: { name: 'tiny', hash: 'x' } });
      const files = Object.keys(job.images).sort();
      job.images[files[1]] = { state: 'done', objects: 0 }; // as if a resumed job had done it already
      const seen: EngineTask[] = [];
      let prefetched = 0;
      await runJob(root, job, { run: async (task) => { seen.push(task); const a = await engine.run(task); prefetched += a.timingsMs.prefetched ?? 0; return a; } });
      const pending = files.filter((_, i) => i !== 1).map((f) => path.join(root, ...f.split('/')));
      const firsts = seen.filter((t, i) => i === 0 || t.image !== seen[i - 1].image);
      assert.deepEqual(firsts.map((t) => t.image), pending);
      assert.deepEqual(firsts.map((t) => t.batch?.next), [...pending.slice(1), undefined], 'the next pending image, skipping the done one');
      assert.ok(seen.every((t) => t.batch !== undefined));
      assert.equal(prefetched, pending.length - 1, 'every image after the first came from its prefetch');
    } finally {
      await engine.close();
    }
  });

  it('two lanes (engines) share a job: each runs every other image with its own read-ahead, and the result is the one-lane result; a cancel and resume with lanes too', async () => {
    const one = copy(), two = copy();
    const engines = [await Engine.open(tiny, { device: 'cpu', cacheBudgetMb: 64, threads: 1 }), await Engine.open(tiny, { device: 'cpu', cacheBudgetMb: 64, threads: 1 })];
    try {
      const prompts = [{ label: 'circle', expression: 'every circle' }, { label: 'square', expression: 'the square' }];
      await runJob(one, await createJob(one, { prompts, policy: 'add', model: { name: 'tiny', hash: 'x' } }), engines[0]);
      const job = await createJob(two, { prompts, policy: 'add', model: { name: 'tiny', hash: 'x' } });
      const seen: EngineTask[][] = [[], []];
      const progress: RunProgress[] = [];
      const lanes = engines.map((e, k) => ({ run: (task: EngineTask) => { seen[k].push(task); return e.run(task); } }));
      const stopped = await runJob(two, job, lanes, { onProgress: (p) => progress.push(p), shouldStop: () => progress.length >= 6 });
      assert.equal(stopped.cancelled, true);
      const k = progress.length;
      assert.ok(k >= 6 && k < 30, `stopped after ${k}`);
      assert.deepEqual(progress.map((p) => p.done), Array.from({ length: k }, (_, i) => i + 1));
      assert.equal(Object.values(readManifest(two, job.id).images).filter((i) => i.state === 'done').length, k, 'the manifest says k done');
      const files = Object.keys(job.images).sort().map((f) => path.join(two, ...f.split('/')));
      for (const [lane, tasks] of seen.entries()) {
        const firsts = tasks.filter((t, i) => i === 0 || t.image !== tasks[i - 1].image);
        assert.ok(firsts.length >= 3, `lane ${lane} ran ${firsts.length} images`);
        assert.deepEqual(firsts.map((t) => t.image), files.filter((_, i) => i % 2 === lane).slice(0, firsts.length), `lane ${lane} runs every other image, in order`);
        assert.deepEqual(firsts.map((t) => t.batch?.next), files.filter((_, i) => i % 2 === lane).slice(1, firsts.length + 1), `lane ${lane} reads its own next image ahead`);
      }
      await runJob(two, readManifest(two, job.id), lanes);
      assert.ok(Object.values(readManifest(two, job.id).images).every((i) => i.state === 'done'));
      assert.deepEqual(storeOf(two), storeOf(one), 'the same objects in every store file as one lane made');
    } finally {
      for (const e of engines) await e.close();
    }
  });

  it('redoes an image whose store file was written but whose manifest entry was not (killed between the two): no object doubled', async () => {
    // The kill tests rarely land in that window, so it is made here: the job runs, then its manifest says the
    // images are pending again, as it would after such a kill. Under the add policy the resumed run must
    // replace this job's own objects, leaving each store file as the uninterrupted run left it (ids aside).
    const root = copy();
    const engine = await Engine.open(tiny, { device: 'cpu', cacheBudgetMb: 64 });
    try {
      const job = await createJob(root, { prompts: [{ label: 'circle', expression: 'every circle' }, { label: 'square', expression: 'the square' }], policy: 'add', model: { name: 'tiny', hash: 'x' } });
      const files = Object.keys(job.images).sort().slice(0, 3);
      job.images = Object.fromEntries(files.map((f) => [f, { state: 'pending' as const }]));
      const first = await runJob(root, job, engine);
      assert.ok(first.objects > 0, 'the job found objects');
      const objects = () => files.map((f) => (JSON.parse(fs.readFileSync(path.join(root, '.pixel-sail/annotations', `${f}.json`), 'utf8')).annotations as { id?: number }[])
        .map(({ id: _, ...rest }) => rest));
      const uninterrupted = objects();
      const resumed = readManifest(root, job.id);
      for (const f of files) resumed.images[f] = { state: 'pending' };
      await runJob(root, resumed, engine);
      assert.deepEqual(objects(), uninterrupted);
    } finally {
      await engine.close();
    }
  });

  it('counts progress from what the job had done: a resumed job goes on from k + 1 of 30, not from 1', async () => {
    const root = copy();
    const engine = await Engine.open(tiny, { device: 'cpu', cacheBudgetMb: 64 });
    try {
      const job = await createJob(root, { prompts: [{ label: 'circle', expression: 'every circle' }], policy: 'add', model: { name: 'tiny', hash: 'x' } });
      const first: RunProgress[] = [];
      const stopped = await runJob(root, job, engine, { onProgress: (p) => first.push(p), shouldStop: () => first.length >= 4 });
      assert.equal(stopped.cancelled, true);
      // A cancel stops within one image (the write of one may still be in flight): k images done, 4 ≤ k < 30.
      const k = first.length;
      assert.ok(k >= 4 && k < 30, `stopped after ${k}`);
      assert.deepEqual(first.map((p) => [p.done, p.total]), Array.from({ length: k }, (_, i) => [i + 1, 30]));
      assert.equal(Object.values(readManifest(root, job.id).images).filter((i) => i.state !== 'pending').length, k, 'the manifest says k done');
      const again: RunProgress[] = [];
      await runJob(root, readManifest(root, job.id), engine, { onProgress: (p) => again.push(p) });
      assert.deepEqual(again.map((p) => [p.done, p.total]), Array.from({ length: 30 - k }, (_, i) => [k + i + 1, 30]));
      assert.deepEqual(again.map((p) => p.file), Object.keys(job.images).sort().slice(k), 'the images not done yet, in order');
    } finally {
      await engine.close();
    }
  });

  it('writes an image\'s result while the engine runs the next; an image whose result cannot be written fails alone', async () => {
    const root = copy();
    const engine = await Engine.open(tiny, { device: 'cpu', cacheBudgetMb: 64 });
    try {
      const job = await createJob(root, { prompts: [{ label: 'circle', expression: 'every circle' }], policy: 'add', model: { name: 'tiny', hash: 'x' } });
      const files = Object.keys(job.images).sort();
      const full = files[3];
      // The first image's write waits until the engine has been asked for the second image: a job that wrote
      // before computing the next image would never get there (and the test would time out).
      let secondAsked!: () => void;
      const overlap = new Promise<void>((resolve) => (secondAsked = resolve));
      const summary = await runJob(root, job, {
        run: (task) => {
          if (task.image.endsWith(files[1])) secondAsked();
          return engine.run(task);
        },
      }, {
        store: {
          objects: storeFiles.objects,
          apply: async (image, paths, result) => {
            if (image.endsWith(files[0])) await overlap;
            if (image.endsWith(full)) throw new Error('ENOSPC: no space left on device');
            return storeFiles.apply(image, paths, result);
          },
        },
      });
      assert.deepEqual(summary.failed, [{ file: full, error: 'ENOSPC: no space left on device' }]);
      assert.equal(summary.images, files.length - 1);
      const manifest = JSON.parse(fs.readFileSync(path.join(root, '.pixel-sail/jobs', `${job.id}.json`), 'utf8'));
      assert.equal(manifest.images[full].state, 'failed');
      assert.equal(Object.values(manifest.images).filter((i) => (i as { state: string }).state === 'done').length, files.length - 1);
      assert.ok(!fs.existsSync(path.join(root, '.pixel-sail/annotations', `${full}.json`)), 'nothing half-written');
    } finally {
      await engine.close();
    }
  });

  it('stops at the first engine that cannot start, with one error naming the model file; keeps what was written; resumes once the model is fixed', async () => {
    // Real engine processes (dist/worker.js, onnxruntime) on a copy of the model whose decoder is cut short: the
    // load fails as it would for a damaged download. The job must not fail image after image with that error.
    const root = copy(), reference = copy();
    const broken = fs.mkdtempSync(path.join(os.tmpdir(), 'ps-batch-broken-model-'));
    made.push(broken);
    fs.cpSync(tiny, broken, { recursive: true });
    fs.truncateSync(path.join(broken, 'decoder.onnx'), 1000);
    const brokenClient = () => new EngineClient({ workerPath, config: { modelPath: broken, device: 'cpu', cacheBudgetMb: 64, maxImagePixels: 1e6, threads: 1 } });
    const clients: EngineClient[] = [];
    const engine = await Engine.open(tiny, { device: 'cpu', cacheBudgetMb: 64, threads: 1 });
    try {
      const prompts = [{ label: 'circle', expression: 'every circle' }];
      await runJob(reference, await createJob(reference, { prompts, policy: 'add', model: { name: 'tiny', hash: 'x' } }), engine);
      const job = await createJob(root, { prompts, policy: 'add', model: { name: 'tiny', hash: 'x' } });
      const states = () => Object.values(readManifest(root, job.id).images).map((i) => i.state);
      const storeBytes = () => Object.fromEntries((fs.readdirSync(path.join(root, '.pixel-sail/annotations'), { recursive: true }) as string[])
        .filter((f) => f.endsWith('.json')).map((f) => [f, fs.readFileSync(path.join(root, '.pixel-sail/annotations', f), 'utf8')]));
      const stopped = (e: unknown, done: number) => {
        assert.ok(e instanceof JobStoppedError, String(e));
        assert.match(e.reason, /cannot load decoder\.onnx in .*ps-batch-broken-model-.*: Protobuf parsing failed\. The file is damaged/);
        assert.equal(e.message, `job ${job.id} stopped with ${done} of 30 images done: the engine could not start: ${e.reason}`);
        assert.deepEqual(e.summary.failed, [], 'no image failed with the start error');
        return true;
      };

      // Mid-job: lane 0 runs on a good engine, lane 1's process cannot load the model; lane 1 asks once two
      // images are written. Its request stops the job; what lane 0 finished is written, and nothing is failed.
      let brokenAsked = 0;
      const one = brokenClient();
      clients.push(one);
      const progress: RunProgress[] = [];
      let twoWritten!: () => void;
      const afterTwo = new Promise<void>((resolve) => (twoWritten = resolve));
      const mixed = [engine, { run: async (task: EngineTask) => { await afterTwo; brokenAsked++; return one.request(task); } }];
      await assert.rejects(runJob(root, job, mixed, { onProgress: (p) => { if (progress.push(p) === 2) twoWritten(); } }), (e) => stopped(e, progress.length));
      assert.equal(brokenAsked, 1, 'the broken lane was asked once, not once per image');
      const done = progress.length;
      assert.ok(done >= 2 && done <= 15, `the job stopped (${done} of 30 done; lane 0 has 15)`);
      assert.deepEqual(states().filter((x) => x !== 'pending'), Array(done).fill('done'), 'only done or pending: the failed start is no image\'s failure');
      const written = storeBytes();
      assert.deepEqual(Object.keys(written).sort(), progress.map((p) => `${p.file}.json`).sort(), 'every image done has its store file, and only those');

      // Resumed while the model is still broken, with two lanes as the extension runs them: one request per
      // lane, one error, and not a byte of the store or the manifest changes.
      let asked = 0;
      const two = [brokenClient(), brokenClient()];
      clients.push(...two);
      const manifestText = fs.readFileSync(path.join(root, '.pixel-sail/jobs', `${job.id}.json`), 'utf8');
      await assert.rejects(runJob(root, readManifest(root, job.id), two.map((c) => ({ run: (task: EngineTask) => { asked++; return c.request(task); } }))), (e) => stopped(e, done));
      assert.equal(asked, 2);
      assert.deepEqual(storeBytes(), written);
      assert.equal(fs.readFileSync(path.join(root, '.pixel-sail/jobs', `${job.id}.json`), 'utf8'), manifestText);

      // The model fixed (here: a good engine), the same job resumes to exactly the uninterrupted result.
      const rest: RunProgress[] = [];
      const summary = await runJob(root, readManifest(root, job.id), engine, { onProgress: (p) => rest.push(p) });
      assert.deepEqual(rest.map((p) => p.done), Array.from({ length: 30 - done }, (_, i) => done + i + 1));
      assert.deepEqual(summary.failed, []);
      assert.ok(states().every((x) => x === 'done'));
      assert.deepEqual(storeOf(root), storeOf(reference), 'nothing lost, nothing doubled');
    } finally {
      for (const c of clients) c.dispose();
      await engine.close();
    }
  });

  it('shards by a stable hash of the relative path: every image in exactly one shard', () => {
    assert.equal(shardOf('images/000001.png', 1), 0);
    assert.equal(shardOf('a.png', 3), shardOf('a.png', 3));
    const images = listImages(scenes);
    assert.equal(images.length, 30);
    const counts = [0, 1, 2].map((k) => images.filter((f) => shardOf(f, 3) === k).length);
    assert.equal(counts.reduce((a, b) => a + b, 0), 30);
    assert.ok(counts.every((c) => c > 0), `every shard gets images: ${counts}`);
  });

  it('three shards merged equal the single-machine export; merge is idempotent and checks categories', () => {
    const single = copy(), sharded = copy();
    assert.equal(cli('annotate', single, ...PROMPTS, '--model', tiny, '--out', path.join(single, 'all.json')).status, 0);
    const shards = [0, 1, 2].map((k) => {
      const out = path.join(sharded, `shard${k}.json`);
      const r = cli('annotate', sharded, ...PROMPTS, '--model', tiny, '--shard', `${k}/3`, '--out', out);
      assert.equal(r.status, 0, r.stderr);
      return out;
    });
    const merged = path.join(sharded, 'merged.json');
    assert.equal(cli('merge', '--out', merged, ...shards).status, 0);
    const all = JSON.parse(fs.readFileSync(path.join(single, 'all.json'), 'utf8'));
    const m = JSON.parse(fs.readFileSync(merged, 'utf8'));
    assert.equal(m.images.length, 30);
    assert.deepEqual(withoutJobs(m), withoutJobs(all));
    const again = path.join(sharded, 'again.json');
    assert.equal(cli('merge', '--out', again, merged, shards[1]).status, 0, 'a merged file and one of its shards merge to the same');
    assert.deepEqual(JSON.parse(fs.readFileSync(again, 'utf8')), m);
    const other = JSON.parse(fs.readFileSync(shards[2], 'utf8'));
    other.categories.push({ id: 99, name: 'unicorn' });
    fs.writeFileSync(shards[2], JSON.stringify(other));
    const refused = cli('merge', '--out', again, ...shards);
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /has other categories .*only in .*shard2\.json: \[99:unicorn\]/);
  });

  it('a job killed with SIGKILL, then resumed, ends exactly as an uninterrupted run: nothing lost, nothing doubled', async () => {
    const whole = longCopy(), killed = longCopy();
    assert.equal(cli('annotate', whole, ...PROMPTS, '--model', tiny).status, 0);
    const child = spawn('node', [bin, 'annotate', killed, ...PROMPTS, '--model', tiny], { stdio: 'ignore' });
    const exited = new Promise((r) => child.on('exit', r));
    const jobs = path.join(killed, '.pixel-sail/jobs');
    let id = '';
    // Poll until 5 images are done (or the job ended on its own); mocha's timeout bounds it, not a clock here.
    while (!id && child.exitCode === null && child.signalCode === null) {
      await new Promise((r) => setTimeout(r, 50));
      for (const f of fs.existsSync(jobs) ? fs.readdirSync(jobs) : []) {
        try {
          const m = JSON.parse(fs.readFileSync(path.join(jobs, f), 'utf8'));
          if (Object.values(m.images).filter((x) => (x as { state: string }).state === 'done').length >= 5) id = m.id;
        } catch { /* being replaced atomically */ }
      }
    }
    child.kill('SIGKILL');
    await exited;
    assert.ok(id, 'the job got going before the kill');
    const manifest = JSON.parse(fs.readFileSync(path.join(jobs, `${id}.json`), 'utf8'));
    assert.ok(Object.values(manifest.images).some((x) => (x as { state: string }).state === 'pending'), 'killed before the end');
    const resumed = cli('annotate', killed, '--resume', id, '--model', tiny);
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.deepEqual(storeOf(killed), storeOf(whole));
  });

  it('killed between an image\'s store write and its manifest entry: the resume keeps the written objects, ids and reviews', () => {
    const whole = copy(), killed = copy();
    assert.equal(cli('annotate', whole, ...PROMPTS, '--model', tiny).status, 0);
    assert.equal(cli('annotate', killed, ...PROMPTS, '--model', tiny).status, 0);
    const jobs = path.join(killed, '.pixel-sail/jobs');
    const [jobFile] = fs.readdirSync(jobs);
    const manifest = JSON.parse(fs.readFileSync(path.join(jobs, jobFile), 'utf8'));
    const withObjects = Object.keys(manifest.images).filter((f) => manifest.images[f].objects > 0);
    assert.ok(withObjects.length >= 2, 'the tiny model proposes objects on some scenes');
    // The state a kill leaves between the two writes: the store file written, the manifest still pending.
    for (const f of withObjects.slice(0, 2)) manifest.images[f] = { state: 'pending' };
    fs.writeFileSync(path.join(jobs, jobFile), JSON.stringify(manifest));
    // Meanwhile a person accepted one of the proposals of the first of them.
    const store = path.join(killed, '.pixel-sail/annotations', `${withObjects[0]}.json`);
    const reviewed = JSON.parse(fs.readFileSync(store, 'utf8'));
    reviewed.annotations[0].pixel_sail.status = 'accepted';
    fs.writeFileSync(store, JSON.stringify(reviewed));
    const resumed = cli('annotate', killed, '--resume', manifest.id, '--model', tiny);
    assert.equal(resumed.status, 0, resumed.stderr);
    const expected = storeOf(whole) as Record<string, { annotations: { pixel_sail: { status: string } }[] }>;
    expected[`${withObjects[0]}.json`].annotations[0].pixel_sail.status = 'accepted';
    assert.deepEqual(storeOf(killed), expected);
    const after = JSON.parse(fs.readFileSync(path.join(jobs, jobFile), 'utf8'));
    for (const f of withObjects.slice(0, 2)) assert.deepEqual(after.images[f], { state: 'done', objects: JSON.parse(fs.readFileSync(path.join(killed, '.pixel-sail/annotations', `${f}.json`), 'utf8')).annotations.length });
  });

  it('Ctrl+C stops within one image with exit 130 and says how to resume', async () => {
    const root = longCopy();
    const child = spawn('node', [bin, 'annotate', root, ...PROMPTS, '--model', tiny], { stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<[number | null, string | null]>((r) => child.on('exit', (code, signal) => r([code, signal])));
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    let err = '';
    await new Promise<void>((resolve) => child.stderr.on('data', (d) => { err += d; if (new RegExp(`\\[3/${LONG_JOB}\\]`).test(err)) resolve(); }));
    child.kill('SIGINT');
    const [code, signal] = await exited;
    assert.equal(code, 130, `ended by ${signal ?? `exit ${code}`}; its stderr ends: ${err.slice(-1500)}`);
    const id = /resume with --resume (\S+)/.exec(out)?.[1];
    assert.ok(id, out);
    assert.equal(cli('annotate', root, '--resume', id, '--model', tiny).status, 0);
  });

  it('policies: skip leaves annotated images alone; replace swaps only the model\'s unreviewed proposals', () => {
    const root = copy();
    const file = path.join(root, '.pixel-sail/annotations/images/000001.png.json');
    assert.equal(cli('annotate', root, '--prompt', 'circle=every circle', '--model', tiny).status, 0);
    const first = JSON.parse(fs.readFileSync(file, 'utf8'));
    // a person accepts nothing but adds an object by hand
    first.annotations.push({ id: 100, category_id: 1, segmentation: [[1, 1, 5, 1, 5, 5]], area: 8, bbox: [1, 1, 4, 4], iscrowd: 0, pixel_sail: { origin: 'human', status: 'accepted' } });
    fs.writeFileSync(file, JSON.stringify(first));
    const annotated = Object.values(storeOf(root)).filter((d) => (d as { annotations: unknown[] }).annotations.length > 0).length;
    const skip = cli('annotate', root, '--prompt', 'square=the square', '--model', tiny, '--policy', 'skip');
    assert.match(skip.stdout, new RegExp(`, ${annotated} skipped`), 'every image with objects is skipped');
    assert.deepEqual(JSON.parse(fs.readFileSync(file, 'utf8')), first);
    assert.equal(cli('annotate', root, '--prompt', 'square=the square', '--model', tiny, '--policy', 'replace').status, 0);
    const after = JSON.parse(fs.readFileSync(file, 'utf8'));
    assert.ok(after.annotations.some((a: { id: number }) => a.id === 100), 'the human object is kept');
    assert.ok(after.annotations.every((a: { pixel_sail: { prompt?: string } }) => a.pixel_sail.prompt !== 'every circle'), 'the old proposals are gone');
  });

  it('a corrupt image fails alone: reported in the manifest and the summary, and the run goes on', () => {
    const root = copy();
    fs.writeFileSync(path.join(root, 'images/000002.png'), 'not a png');
    const r = cli('annotate', root, '--prompt', 'circle=every circle', '--model', tiny);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /29 images, \d+ objects?, 0 skipped, 1 failed/);
    assert.match(r.stderr, /failed images\/000002\.png: .*not an image/);
  });

  it('--describe stores the model\'s caption of each object, free of special tokens', () => {
    const root = copy();
    const r = cli('annotate', root, '--prompt', 'circle=every circle', '--describe');
    assert.equal(r.status, 0, r.stderr);
    const captions = Object.values(storeOf(root)).flatMap((d) => (d as { annotations: { pixel_sail: { caption?: string } }[] }).annotations.map((a) => a.pixel_sail.caption));
    assert.ok(captions.length > 0, 'the shipped model found objects');
    for (const c of captions) {
      assert.equal(typeof c, 'string');
      assert.ok(c!.length > 0);
      assert.doesNotMatch(c!, /<Prompt\d+>|\[SEG\]|<\|/, c);
    }
  });
});

describe('batch shard hash', () => {
  // The README promises FNV-1a (32 bit) of the path's UTF-8 bytes, so any tool (a Slurm script, Python) can
  // tell which shard holds an image. With n = 2^32 the shard is the whole hash: checked against FNV's published
  // vectors ("", "a", "foobar") and, for non-ASCII paths, against FNV-1a over Python's str.encode('utf8')
  // (h = ((h ^ b) * 0x01000193) & 0xffffffff from 0x811c9dc5).
  it('is FNV-1a of the UTF-8 bytes, as published and as Python computes it', () => {
    const whole = (s: string) => shardOf(s, 2 ** 32);
    assert.equal(whole(''), 0x811c9dc5);
    assert.equal(whole('a'), 0xe40c292c);
    assert.equal(whole('foobar'), 0xbf9cf968);
    assert.equal(whole('données/été.png'), 0xdde8a742);
    assert.equal(whole('images/猫.jpg'), 0x385d4799);
    assert.equal(shardOf('données/été.png', 3), 2);
    assert.equal(shardOf('images/猫.jpg', 4), 1);
  });
});

describe('merging shard exports', () => {
  const write = (dir: string, name: string, images: { id: number; file_name: string; width: number; height: number }[]) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, JSON.stringify({ info: {}, licenses: [], images, annotations: [], categories: [{ id: 1, name: 'a' }] }));
    return file;
  };
  it('takes an image found in two files only when it is the same image there: same size, same objects', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ps-merge-'));
    const a = write(dir, 'a.json', [{ id: 1, file_name: 'x.png', width: 40, height: 20 }]);
    const same = write(dir, 'same.json', [{ id: 7, file_name: 'x.png', width: 40, height: 20 }, { id: 8, file_name: 'w.png', width: 5, height: 5 }]);
    const merged = mergeCoco([a, same]);
    assert.deepEqual(merged.images, [{ id: 1, file_name: 'w.png', width: 5, height: 5 }, { id: 2, file_name: 'x.png', width: 40, height: 20 }]);
    // The same name at another size (the image was replaced between the shards' runs): refused, not merged.
    const other = write(dir, 'other.json', [{ id: 1, file_name: 'x.png', width: 20, height: 40 }]);
    assert.throws(() => mergeCoco([a, other]), (e: Error) => e instanceof MergeError && e.message === `x.png is in both ${a} and ${other} with different content: were they exported from different runs?`);
  });
});

describe('a folder without images', () => {
  it('is named with the image kinds that count and where they are looked for', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ps-no-images-'));
    try {
      fs.writeFileSync(path.join(dir, 'notes.txt'), 'no images here');
      fs.mkdirSync(path.join(dir, '.hidden'));
      fs.writeFileSync(path.join(dir, '.hidden', 'a.png'), '');
      assert.deepEqual(listImages(dir), [], 'a text file and a dot-folder hold no images to annotate');
      assert.equal(hasImages(dir), false);
      fs.mkdirSync(path.join(dir, 'sub'));
      fs.writeFileSync(path.join(dir, 'sub', 'b.PNG'), '');
      assert.equal(hasImages(dir), true, 'an image in a subfolder counts, as listImages lists it');
      assert.deepEqual(listImages(dir), ['sub/b.PNG']);
      assert.equal(noImagesMessage('notes'), 'Pixel-SAIL: notes has no images to annotate; choose the folder that holds them (png, jpg, jpeg, webp, tif, tiff, gif, in it or its subfolders; folders whose name starts with "." are skipped).');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
