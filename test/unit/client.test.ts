import * as assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TEST_BLOCK_PREFILL_ENV } from '../../src/engine/engine';
import { EngineClient, EngineRequestError, MALLOC_MMAP_THRESHOLD, workerEnv } from '../../src/engine/engineClient';
import type { EngineTask } from '../../src/engine/types';

const repo = path.resolve(__dirname, '../../..');
const workerPath = path.join(repo, 'dist/worker.js');
const modelPath = path.join(repo, 'models/tiny-random');
const image = path.join(modelPath, 'parity/image.png');
const config = { modelPath, device: 'cpu' as const, cacheBudgetMb: 64, maxImagePixels: 1e8 };
const segment: EngineTask = { kind: 'segment', image, text: 'the red box' };
// The random model never emits a stop token, so a long answer keeps the worker busy for a while.
const slow: EngineTask = { kind: 'describe', image, region: { kind: 'box', x: 0, y: 0, w: 30, h: 30 }, maxNewTokens: 4000 };

describe('engine client and worker process', function () {
  let client: EngineClient;
  beforeEach(() => (client = new EngineClient({ workerPath, config })));
  afterEach(() => client.dispose());

  it('starts the worker, reports the device and answers', async () => {
    const info = await client.start();
    assert.notEqual(info.pid, process.pid);
    assert.equal(info.device.provider, 'cpu');
    assert.equal(info.model.name, 'tiny-random');
    const a = await client.request(segment);
    assert.equal(a.masks.length, 1);
    const stats = await client.stats();
    assert.ok(stats.peakRssMb > 0 && stats.cacheEntries >= 1);
    // The allocator settings that let a large model's freed tensors go back to the system reach the worker.
    const environ = fs.readFileSync(`/proc/${info.pid}/environ`, 'utf8').split('\0');
    assert.ok(environ.includes(`MALLOC_MMAP_THRESHOLD_=${MALLOC_MMAP_THRESHOLD}`), environ.filter((e) => e.startsWith('MALLOC')).join(' '));
    assert.ok(environ.includes('MALLOC_ARENA_MAX=2'));
  });

  it('leaves allocator settings the user made as they are', () => {
    const env = workerEnv({ MALLOC_ARENA_MAX: '8', PATH: '/bin' }, { x: 1 });
    assert.equal(env.MALLOC_ARENA_MAX, '8');
    assert.equal(env.MALLOC_MMAP_THRESHOLD_, String(MALLOC_MMAP_THRESHOLD));
    assert.equal(env.PATH, '/bin');
  });

  it('survives a request sent to a worker killed a moment before (EPIPE must not escape)', async () => {
    await client.start();
    const escaped: Error[] = [];
    const onUncaught = (e: Error) => escaped.push(e);
    process.on('uncaughtException', onUncaught);
    try {
      // The worker is dead but this process has not handled its exit yet (the event loop is blocked), so
      // the channel still looks connected and the write fails with EPIPE.
      process.kill(client.pid!, 'SIGKILL');
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300);
      const outcome = await client.request(segment).then(() => 'answered', (e: Error) => e.message);
      assert.ok(outcome === 'answered' || /engine process stopped/.test(outcome), outcome);
      assert.equal((await client.request(segment)).masks.length, 1, 'the engine comes back');
      await new Promise((r) => setTimeout(r, 100));
      assert.deepEqual(escaped.map((e) => e.message), []);
    } finally {
      process.off('uncaughtException', onUncaught);
    }
  });

  it('fails the request in flight clearly when the worker is killed, then restarts and carries on', async () => {
    await client.start();
    const firstPid = client.pid!;
    let tokens = 0;
    const doomed = client.request(slow, { onToken: () => {
      if (++tokens === 5) process.kill(firstPid, 'SIGKILL');
    } });
    await assert.rejects(doomed, (e: Error) => e instanceof EngineRequestError && e.code === 'crashed' && /stopped unexpectedly \(signal SIGKILL\)/.test(e.message));
    const next = await client.request(segment);
    assert.equal(next.masks.length, 1);
    assert.notEqual(client.pid, firstPid);
  });

  it('runs interactive requests before queued batch requests', async () => {
    await client.start();
    const order: string[] = [];
    const track = (name: string, p: Promise<unknown>) => p.then(() => order.push(name));
    let started!: () => void;
    const running = new Promise<void>((r) => (started = r));
    const busy = track('busy', client.request({ ...slow, maxNewTokens: 200 }, { priority: 'batch', onToken: () => started() }));
    await running; // the worker is busy; the next three wait in the queue
    const b1 = track('batch1', client.request(segment, { priority: 'batch' }));
    const b2 = track('batch2', client.request(segment, { priority: 'batch' }));
    const i1 = track('interactive', client.request(segment, { priority: 'interactive' }));
    await Promise.all([busy, b1, b2, i1]);
    assert.deepEqual(order, ['busy', 'interactive', 'batch1', 'batch2']);
  });

  it('lets a newer request with the same cancel key supersede the stale one', async () => {
    await client.start();
    // Count what the worker itself streams for the stale request (the client drops tokens once it is cancelled).
    const child = (client as unknown as { child: ChildProcess }).child;
    const streamed = new Map<number, number>();
    child.on('message', (m: { type: string; id?: number }) => { if (m.type === 'token') streamed.set(m.id!, (streamed.get(m.id!) ?? 0) + 1); });
    let running!: () => void;
    const staleRunning = new Promise<void>((r) => (running = r));
    const stale = client.request(slow, { cancelKey: 'editor-1', onToken: () => running() });
    await staleRunning; // in flight in the worker, not just queued
    const fresh = client.request(segment, { cancelKey: 'editor-1' });
    await assert.rejects(stale, (e: Error) => e instanceof EngineRequestError && e.code === 'cancelled');
    assert.equal((await fresh).masks.length, 1);
    // One request at a time: had the stale one run to its end, the worker would have streamed all its tokens
    // (the random model never stops early) before answering the fresh one.
    const staleTokens = Math.max(...streamed.values());
    assert.ok(staleTokens >= 1 && staleTokens < slow.maxNewTokens! - 1, `the stale request was stopped, not run to its end (${staleTokens} of ${slow.maxNewTokens} tokens)`);
  });

  it('reports each stage of a request, the prefill with its patch count', async () => {
    await client.start();
    const stages: string[] = [];
    let patches: number | undefined;
    const a = await client.request({ ...segment, image: path.join(modelPath, 'parity/image.png') }, { onProgress: (p) => {
      stages.push(p.stage);
      if (p.stage === 'prefill') patches = p.patches;
    } });
    assert.deepEqual(stages, ['image', 'prefill', 'generate', 'masks'].slice(0, a.masks.length ? 4 : 3));
    assert.ok(patches !== undefined && patches > 0, 'the prefill says how many patches it runs');
    // A cached image skips the prefill: no prefill stage is reported.
    const again: string[] = [];
    await client.request(segment, { onProgress: (p) => again.push(p.stage) });
    assert.ok(!again.includes('prefill'), again.join(','));
  });

  describe('a cancel the worker cannot see (a model run blocking its thread)', () => {
    // While the file exists, the worker's thread blocks before each prefill, as a paper-size model's
    // onnxruntime run does: the cancel message is not read until the block ends.
    let blocked: EngineClient;
    let blockFile: string;
    beforeEach(() => {
      blockFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'pixel-sail-block-')), 'block');
      fs.writeFileSync(blockFile, '');
      process.env[TEST_BLOCK_PREFILL_ENV] = blockFile;
      blocked = new EngineClient({ workerPath, config });
    });
    afterEach(() => {
      delete process.env[TEST_BLOCK_PREFILL_ENV];
      fs.rmSync(path.dirname(blockFile), { recursive: true, force: true });
      blocked.dispose();
    });

    it('answers the cancel at once, replaces the worker, and serves the next request', async () => {
      await blocked.start();
      const firstPid = blocked.pid!;
      const abort = new AbortController();
      let prefilling!: () => void;
      const inPrefill = new Promise<void>((r) => (prefilling = r));
      const exits: string[] = [];
      blocked.on('exit', (_why: string, how?: string) => exits.push(how ?? 'crash'));
      const doomed = blocked.request(segment, { signal: abort.signal, onProgress: (p) => p.stage === 'prefill' && prefilling() });
      await inPrefill;
      abort.abort();
      await assert.rejects(doomed, (e: Error) => e instanceof EngineRequestError && e.code === 'cancelled');
      // The worker stays blocked until the client gives up on it and kills it; then the block is lifted, so the
      // replacement's prefill runs.
      await new Promise<void>((resolve) => (exits.length ? resolve() : blocked.once('exit', () => resolve())));
      fs.rmSync(blockFile);
      const next = await blocked.request(segment);
      assert.equal(next.masks.length, 1);
      assert.notEqual(blocked.pid, firstPid, 'the blocked worker was killed and a new one started');
      assert.deepEqual(exits, ['replaced'], 'a replacement is not counted as a crash');
    });
  });

  it('times out a request and keeps serving the next', async () => {
    await client.start();
    await assert.rejects(client.request(slow, { timeoutMs: 200 }), (e: Error) => e instanceof EngineRequestError && e.code === 'timeout');
    assert.equal((await client.request(segment)).masks.length, 1);
  });

  it('reports bad input from the worker without restarting it', async () => {
    await client.start();
    const pid = client.pid;
    await assert.rejects(client.request({ ...segment, image: '/nonexistent.png' }), (e: Error) => e instanceof EngineRequestError && e.code === 'bad-input' && /image not found/.test(e.message));
    assert.equal(client.pid, pid);
  });

  it('fails clearly when the model directory is invalid', async () => {
    const bad = new EngineClient({ workerPath, config: { ...config, modelPath: '/nonexistent/model' } });
    await assert.rejects(bad.request(segment), /model directory not found/);
    bad.dispose();
  });
});
