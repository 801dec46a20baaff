// The engine worker's message handling (workerHandler.ts), in-process on the tiny random model: opening the
// engine from the start-up configuration, malformed messages answered by id, each request kind, cancels before
// and during a run, one run at a time, and failures turned into the protocol's error codes.
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { Engine, EngineError } from '../../src/engine/engine';
import { ModelDirError } from '../../src/engine/modelDir';
import { RegionSpecError } from '../../src/engine/regions';
import type { EngineTask } from '../../src/engine/types';
import { createWorkerHandler, errorCode, openWorkerEngine, readyMessage, workerStats } from '../../src/engine/workerHandler';
import type { FromWorker } from '../../src/engine/workerProtocol';
import { toWorkerSchema, WORKER_CONFIG_ENV } from '../../src/engine/workerProtocol';

const repo = path.resolve(__dirname, '../../..');
const modelPath = path.join(repo, 'models/tiny-random');
const image = path.join(modelPath, 'parity/image.png');
const segment: EngineTask = { kind: 'segment', image, text: 'the red box' };
// The random model never emits a stop token: a describe runs to maxNewTokens.
const describeTask = (maxNewTokens: number): EngineTask => ({ kind: 'describe', image, region: { kind: 'box', x: 0, y: 0, w: 30, h: 30 }, maxNewTokens });

/** A handler whose messages are collected; `until(pred)` resolves at the first message that matches. */
function harness(engine: Engine) {
  const sent: FromWorker[] = [];
  const waitedFor: FromWorker[] = [];
  const watchers: { pred: (m: FromWorker) => boolean; resolve: (m: FromWorker) => void }[] = [];
  const record = (m: FromWorker) => {
    sent.push(m);
    for (const w of watchers.filter((x) => x.pred(m))) {
      watchers.splice(watchers.indexOf(w), 1);
      w.resolve(m);
    }
  };
  const handle = createWorkerHandler(engine, {
    send: record,
    sendAndWait: async (m) => {
      waitedFor.push(m);
      record(m);
    },
  });
  const until = (pred: (m: FromWorker) => boolean) => new Promise<FromWorker>((resolve) => {
    const seen = sent.find(pred);
    if (seen) resolve(seen);
    else watchers.push({ pred, resolve });
  });
  const end = (id: number) => until((m) => (m.type === 'result' || m.type === 'error') && m.id === id);
  return { sent, waitedFor, handle, until, end };
}

describe('engine worker message handling (in process, tiny random model)', function () {
  let engine: Engine;
  before(async () => {
    const opened = await openWorkerEngine(JSON.stringify({ modelPath, device: 'cpu', cacheBudgetMb: 64, maxImagePixels: 1e8 }));
    assert.ok(opened.ok, opened.ok ? '' : opened.message);
    engine = opened.engine;
  });
  after(async () => engine?.close());

  describe('start-up', () => {
    it('refuses a missing or bad configuration with the problem, before loading anything', async () => {
      assert.deepEqual(await openWorkerEngine(undefined), { ok: false, message: `the engine worker started without ${WORKER_CONFIG_ENV} (it is started by the extension or the engine client, not by hand)` });
      const bad = await openWorkerEngine(JSON.stringify({ modelPath, device: 'gpu', cacheBudgetMb: 64, maxImagePixels: 1e8 }));
      assert.deepEqual(bad, { ok: false, message: `${WORKER_CONFIG_ENV}.device must be "auto", "cuda" or "cpu" (check the pixelSail settings, or the options passed to the engine client)` });
    });

    it('reports a model that cannot be opened with the engine\'s message', async () => {
      const missing = await openWorkerEngine(JSON.stringify({ modelPath: '/nonexistent/model', device: 'cpu', cacheBudgetMb: 64, maxImagePixels: 1e8 }));
      assert.equal(missing.ok, false);
      assert.match((missing as { message: string }).message, /^model directory not found/);
    });

    it('opens the configured model with the configured options and says so in its ready message', () => {
      assert.deepEqual(readyMessage(engine), { type: 'ready', device: engine.device, model: engine.summary() });
      assert.equal(engine.summary().name, 'tiny-random');
      assert.equal(engine.device.provider, 'cpu');
    });
  });

  describe('error codes', () => {
    it('tells the user\'s input, the model folder, a cancel and our own bugs apart', () => {
      assert.equal(errorCode(new EngineError('cancelled')), 'cancelled');
      assert.equal(errorCode(new Error('cancelled')), 'cancelled');
      assert.equal(errorCode(new EngineError('image not found: x')), 'bad-input');
      assert.equal(errorCode(new EngineError('bad weights', 'model')), 'bad-input');
      assert.equal(errorCode(new RegionSpecError('box outside the image')), 'bad-input');
      assert.equal(errorCode(new ModelDirError('config.json is missing')), 'model');
      assert.equal(errorCode(new TypeError('x is undefined')), 'internal');
      assert.equal(errorCode(undefined), 'internal');
      assert.equal(errorCode('cancelled'), 'internal');
    });
  });

  describe('messages', () => {
    it('answers a malformed message with an error naming the JSON path, by id when it has one', () => {
      const h = harness(engine);
      const cases: [unknown, number][] = [
        [null, -1],
        ['run', -1],
        [{ type: 'launch', id: 4 }, 4],
        [{ type: 'cancel', id: 'x' }, -1],
        [{ type: 'run', id: -2, task: segment }, -2],
        [{ type: 'stats', id: 1.5 }, 1.5],
      ];
      for (const [raw] of cases) h.handle(raw);
      const expected = cases.map(([raw, id]) => {
        const r = toWorkerSchema.safeParse(raw);
        assert.ok(!r.success);
        const where = r.error.issues[0].path.map((p) => `.${String(p)}`).join('');
        return { type: 'error', id, message: `the engine worker got a malformed message: message${where}: ${r.error.issues[0].message}`, code: 'internal' };
      });
      assert.deepEqual(h.sent, expected);
      assert.deepEqual(expected.map((e) => e.message.split(':')[1]), [' message', ' message', ' message.type', ' message.id', ' message.id', ' message.id']);
    });

    it('runs a task: each stage sent and handed to the channel before it starts, tokens, then the answer', async () => {
      const h = harness(engine);
      h.handle({ type: 'run', id: 7, task: segment });
      const end = await h.end(7);
      assert.equal(end.type, 'result', JSON.stringify(end));
      const answer = (end as Extract<FromWorker, { type: 'result' }>).answer;
      assert.equal(answer.masks.length, 1);
      const progress = h.sent.filter((m) => m.type === 'progress') as Extract<FromWorker, { type: 'progress' }>[];
      assert.deepEqual(progress.map((p) => p.stage), ['image', 'prefill', 'generate', 'masks']);
      assert.deepEqual(h.waitedFor, progress, 'every progress message, and only they, waits for the channel');
      const tokens = h.sent.filter((m) => m.type === 'token') as Extract<FromWorker, { type: 'token' }>[];
      assert.ok(tokens.length >= 1);
      assert.equal(tokens.map((t) => t.text).join(''), answer.answer.length ? tokens.map((t) => t.text).join('') : '');
      for (const m of [...progress, ...tokens]) {
        assert.equal(m.id, 7);
        assert.ok(m.at > 1.6e12 && Number.isFinite(m.at), `at is epoch ms: ${m.at}`);
      }
      // `special` is sent only for the model's own tokens, and then as true.
      assert.ok(tokens.every((t) => !('special' in t) || t.special === true), JSON.stringify(tokens.slice(0, 5)));
      assert.ok(h.sent.indexOf(end) === h.sent.length - 1, 'the answer comes last');
    });

    it('marks the model\'s own tokens special and sends no flag for text (an engine that streams both)', async () => {
      // The random model rarely emits a special token, so a stand-in engine streams one of each.
      const streaming = { run: async (_task: unknown, opts: { onToken: (t: string, special: boolean) => void }) => {
        opts.onToken('[SEG]', true);
        opts.onToken('red', false);
        return { answer: 'red', masks: [], device: 'cpu', timingsMs: {} };
      } } as unknown as Engine;
      const h = harness(streaming);
      h.handle({ type: 'run', id: 3, task: segment });
      await h.end(3);
      assert.deepEqual(h.sent.map((m) => (m.type === 'token' ? { ...m, at: 0 } : m)), [
        { type: 'token', id: 3, text: '[SEG]', special: true, at: 0 },
        { type: 'token', id: 3, text: 'red', at: 0 },
        { type: 'result', id: 3, answer: { answer: 'red', masks: [], device: 'cpu', timingsMs: {} } },
      ]);
    });

    it('answers a task the engine refuses with its message as bad input, and carries on', async () => {
      const h = harness(engine);
      h.handle({ type: 'run', id: 1, task: { ...segment, image: '/nonexistent.png' } });
      h.handle({ type: 'run', id: 2, task: { kind: 'paint' } });
      const [missing, unknown] = [await h.end(1), await h.end(2)] as Extract<FromWorker, { type: 'error' }>[];
      assert.equal(missing.code, 'bad-input');
      assert.match(missing.message, /image not found/);
      assert.equal(unknown.type, 'error');
      assert.equal(unknown.code, 'bad-input');
      h.handle({ type: 'run', id: 3, task: segment });
      assert.equal((await h.end(3)).type, 'result');
    });

    it('reports its memory and cache', async () => {
      const h = harness(engine);
      h.handle({ type: 'run', id: 1, task: segment });
      await h.end(1);
      h.handle({ type: 'stats', id: 9 });
      const m = h.sent.at(-1) as Extract<FromWorker, { type: 'stats' }>;
      assert.equal(m.type, 'stats');
      assert.equal(m.id, 9);
      const cache = engine.cacheStats();
      assert.ok(cache.entries >= 1);
      assert.equal(m.stats.cacheEntries, cache.entries);
      assert.equal(m.stats.cacheMb, Math.round(cache.bytes / 2 ** 20));
      const rssMb = process.memoryUsage().rss / 2 ** 20;
      assert.ok(Number.isInteger(m.stats.rssMb) && Math.abs(m.stats.rssMb - rssMb) < 200, `rss ${m.stats.rssMb} MB, now ${rssMb} MB`);
      assert.ok(Number.isInteger(m.stats.peakRssMb) && m.stats.peakRssMb >= m.stats.rssMb - 1 && m.stats.peakRssMb < 10 * rssMb, `peak ${m.stats.peakRssMb} MB`);
      assert.deepEqual(workerStats(engine).cacheEntries, cache.entries);
    });

    it('stops a running task at its next decode step when cancelled, and answers "cancelled"', async () => {
      const h = harness(engine);
      h.handle({ type: 'run', id: 5, task: describeTask(2000) });
      await h.until((m) => m.type === 'token' && m.id === 5);
      h.handle({ type: 'cancel', id: 5 });
      assert.deepEqual(await h.end(5), { type: 'error', id: 5, message: 'cancelled', code: 'cancelled' });
      const tokens = h.sent.filter((m) => m.type === 'token').length;
      assert.ok(tokens < 1000, `stopped early: ${tokens} tokens of 2000`);
      // The id is free again: a new run with it is not taken for cancelled.
      h.handle({ type: 'run', id: 5, task: segment });
      assert.equal((await h.until((m) => m.type === 'result' && m.id === 5)).type, 'result');
    });

    it('runs one task at a time in arrival order; a queued task cancelled before it starts never runs', async () => {
      const h = harness(engine);
      h.handle({ type: 'run', id: 1, task: describeTask(20) });
      h.handle({ type: 'run', id: 2, task: segment });
      h.handle({ type: 'run', id: 3, task: describeTask(5) });
      h.handle({ type: 'cancel', id: 2 });
      h.handle({ type: 'cancel', id: 99 });
      await h.end(3);
      const ends = h.sent.filter((m) => m.type === 'result' || m.type === 'error').map((m) => `${m.type} ${(m as { id: number }).id}`);
      assert.deepEqual(ends, ['result 1', 'error 2', 'result 3']);
      assert.deepEqual(h.sent.find((m) => m.type === 'error'), { type: 'error', id: 2, message: 'cancelled', code: 'cancelled' });
      assert.ok(!h.sent.some((m) => m.type !== 'error' && (m as { id?: number }).id === 2), 'nothing of the cancelled task was run');
      const ids = h.sent.map((m) => (m as { id: number }).id);
      assert.deepEqual(ids, [...ids].sort((a, b) => a - b), 'no task\'s messages interleave with another\'s');
      assert.equal(h.sent.filter((m) => m.type === 'token' && m.id === 1).length, 20);
    });
  });
});
