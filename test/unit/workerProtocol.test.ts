// The worker's start-up configuration and its incoming messages are checked by zod (workerProtocol.ts):
// a bad one is refused naming the environment variable and the JSON path, and a malformed message is
// answered with an error while the worker carries on.
import * as assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import * as path from 'node:path';
import fc from 'fast-check';
import { EngineClient } from '../../src/engine/engineClient';
import { parseWorkerConfig, tokenMessageSchema, toWorkerSchema, WORKER_CONFIG_ENV, workerNow } from '../../src/engine/workerProtocol';
import type { FromWorker } from '../../src/engine/workerProtocol';

const repo = path.resolve(__dirname, '../../..');
const workerPath = path.join(repo, 'dist/worker.js');
const modelPath = path.join(repo, 'models/tiny-random');
const good = { modelPath, device: 'cpu', cacheBudgetMb: 64, maxImagePixels: 1e8 };
const hint = '(check the pixelSail settings, or the options passed to the engine client)';

describe('worker protocol', function () {
  this.timeout(120000);

  it('accepts a good configuration as it is', () => {
    assert.deepEqual(parseWorkerConfig(JSON.stringify({ ...good, weights: 'int8', threads: 2 })), { ok: true, config: { ...good, weights: 'int8', threads: 2 } });
    assert.deepEqual(parseWorkerConfig(JSON.stringify({ ...good, maxInputSide: 512 })), { ok: true, config: { ...good, maxInputSide: 512 } });
    for (const weights of ['auto', 'float32', 'int8']) {
      for (const device of ['auto', 'cuda', 'cpu']) {
        const config = { ...good, device, weights, threads: 1024, cacheBudgetMb: 1024 * 1024 };
        assert.deepEqual(parseWorkerConfig(JSON.stringify(config)), { ok: true, config });
      }
    }
  });

  it('checks messages to the worker in-process: run, cancel and stats with an id, nothing else', () => {
    for (const m of [{ type: 'run', id: 0, task: { anything: 1 } }, { type: 'cancel', id: 7 }, { type: 'stats', id: 3 }]) {
      assert.deepEqual(toWorkerSchema.parse(m), m);
    }
    for (const m of [{ type: 'launch', id: 1 }, { type: 'cancel', id: -1 }, { type: 'stats', id: 1.5 }, { type: 'run' }, { id: 1 }]) {
      assert.equal(toWorkerSchema.safeParse(m).success, false, JSON.stringify(m));
    }
  });

  const cases: [string, string | undefined, string][] = [
    ['no variable', undefined, `the engine worker started without ${WORKER_CONFIG_ENV} (it is started by the extension or the engine client, not by hand)`],
    ['not JSON', '{"modelPath": ', `${WORKER_CONFIG_ENV} is not valid JSON: it ends early (the file is cut short?)`],
    ['not an object', '[]', `${WORKER_CONFIG_ENV} must be a JSON object ${hint}`],
    ['a device typo', JSON.stringify({ ...good, device: 'gpu' }), `${WORKER_CONFIG_ENV}.device must be "auto", "cuda" or "cpu" ${hint}`],
    ['weights typo', JSON.stringify({ ...good, weights: 'fp16' }), `${WORKER_CONFIG_ENV}.weights must be "auto", "float32" or "int8" ${hint}`],
    ['a budget as a string', JSON.stringify({ ...good, cacheBudgetMb: '64' }), `${WORKER_CONFIG_ENV}.cacheBudgetMb must be a number of MB ${hint}`],
    ['a negative budget', JSON.stringify({ ...good, cacheBudgetMb: -1 }), `${WORKER_CONFIG_ENV}.cacheBudgetMb must be a positive number of MB ${hint}`],
    ['fractional pixels', JSON.stringify({ ...good, maxImagePixels: 1.5 }), `${WORKER_CONFIG_ENV}.maxImagePixels must be a whole number of pixels ${hint}`],
    ['zero threads', JSON.stringify({ ...good, threads: 0 }), `${WORKER_CONFIG_ENV}.threads must be at least 1 ${hint}`],
    ['a tiny input side', JSON.stringify({ ...good, maxInputSide: 8 }), `${WORKER_CONFIG_ENV}.maxInputSide must be at least 16 pixels ${hint}`],
    ['an input side as a string', JSON.stringify({ ...good, maxInputSide: '512' }), `${WORKER_CONFIG_ENV}.maxInputSide must be a number of pixels ${hint}`],
    ['no model path', JSON.stringify({ ...good, modelPath: undefined }), `${WORKER_CONFIG_ENV}.modelPath must be the model folder's path (a string) ${hint}`],
    ['an empty model path', JSON.stringify({ ...good, modelPath: '' }), `${WORKER_CONFIG_ENV}.modelPath must name the model folder ${hint}`],
    ['an empty variable', '', `the engine worker started without ${WORKER_CONFIG_ENV} (it is started by the extension or the engine client, not by hand)`],
    ['a budget above 1 TB', JSON.stringify({ ...good, cacheBudgetMb: 1024 * 1024 + 1 }), `${WORKER_CONFIG_ENV}.cacheBudgetMb must be at most 1 TB (in MB) ${hint}`],
    ['pixels as a string', JSON.stringify({ ...good, maxImagePixels: '1e8' }), `${WORKER_CONFIG_ENV}.maxImagePixels must be a number of pixels ${hint}`],
    ['zero pixels', JSON.stringify({ ...good, maxImagePixels: 0 }), `${WORKER_CONFIG_ENV}.maxImagePixels must be positive ${hint}`],
    ['threads as a string', JSON.stringify({ ...good, threads: '2' }), `${WORKER_CONFIG_ENV}.threads must be a number ${hint}`],
    ['fractional threads', JSON.stringify({ ...good, threads: 1.5 }), `${WORKER_CONFIG_ENV}.threads must be a whole number ${hint}`],
    ['too many threads', JSON.stringify({ ...good, threads: 1025 }), `${WORKER_CONFIG_ENV}.threads must be at most 1024 ${hint}`],
  ];
  for (const [what, text, problem] of cases) {
    it(`refuses ${what} with the exact message`, () => {
      assert.deepEqual(parseWorkerConfig(text), { ok: false, problem });
    });
  }

  it('never throws, whatever the text (10,000 cases)', () => {
    const value = fc.oneof(fc.string(), fc.json(), fc.jsonValue().map((v) => JSON.stringify({ ...good, ...(typeof v === 'object' && v && !Array.isArray(v) ? v : { device: v }) })));
    fc.assert(fc.property(value, (text) => {
      const r = parseWorkerConfig(text);
      if (r.ok) assert.ok(typeof r.config.modelPath === 'string' && r.config.modelPath.length > 0 && ['auto', 'cuda', 'cpu'].includes(r.config.device));
      else assert.match(r.problem, /^(the engine worker started without |PIXEL_SAIL_WORKER_CONFIG[ .\[])[^\n]+$/, 'one line that names the variable');
    // Under mutation testing (instrumented, once per mutant) a sample; the property runs in full otherwise.
    }), { numRuns: process.env.PIXEL_SAIL_MUTATION ? 300 : 10000 });
  });

  it('a worker started with a bad configuration says why before loading anything', async () => {
    const client = new EngineClient({ workerPath, config: { ...good, device: 'gpu' } as never });
    try {
      await assert.rejects(client.start(), { name: 'EngineRequestError', message: `${WORKER_CONFIG_ENV}.device must be "auto", "cuda" or "cpu" ${hint}` });
    } finally {
      client.dispose();
    }
  });

  it('answers a malformed message with an error and keeps serving', async () => {
    const child = fork(workerPath, [], { env: { ...process.env, [WORKER_CONFIG_ENV]: JSON.stringify(good) }, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    const messages: FromWorker[] = [];
    const next = (type: FromWorker['type']) => new Promise<FromWorker>((resolve, reject) => {
      const seen = messages.find((m) => m.type === type);
      if (seen) return resolve(seen);
      const on = (m: FromWorker) => { if (m.type === type) { child.off('message', on); resolve(m); } };
      child.on('message', on);
      child.once('exit', (code) => reject(new Error(`worker exited (${code})`)));
    });
    child.on('message', (m: FromWorker) => messages.push(m));
    try {
      await next('ready');
      child.send({ type: 'run', id: 'seven', task: {} });
      assert.deepEqual(await next('error'), { type: 'error', id: -1, message: 'the engine worker got a malformed message: message.id: Invalid input: expected number, received string', code: 'internal' });
      messages.length = 0;
      child.send({ type: 'launch', id: 3 });
      const e = await next('error') as Extract<FromWorker, { type: 'error' }>;
      assert.equal(e.id, 3, 'answered by id, so the sender does not wait for a timeout');
      assert.match(e.message, /^the engine worker got a malformed message: message\.type: /);
      child.send({ type: 'stats', id: 4 });
      const stats = await next('stats') as Extract<FromWorker, { type: 'stats' }>;
      assert.equal(stats.id, 4, 'still serving');
    } finally {
      child.kill();
    }
  });

  it('a streamed token carries when the worker had it: checked by zod, in order, between the request and its arrival', async () => {
    assert.equal(tokenMessageSchema.safeParse({ type: 'token', id: 1, text: 'a' }).success, false, 'a token without its time is refused');
    assert.equal(tokenMessageSchema.safeParse({ type: 'token', id: 1, text: 'a', at: Number.NaN }).success, false);
    assert.equal(tokenMessageSchema.safeParse({ type: 'token', id: 1, text: 'a', at: 1, extra: 1 }).success, false);
    const client = new EngineClient({ workerPath, config: good as never });
    try {
      await client.start();
      const image = path.join(modelPath, 'parity/image.png');
      const sent = workerNow();
      const seen: { at: number; arrived: number }[] = [];
      await client.request({ kind: 'ask', image, regions: [], question: [{ kind: 'text', text: 'Tell me everything.' }], maxNewTokens: 12 }, { onToken: (_t, _s, at) => seen.push({ at, arrived: workerNow() }) });
      assert.ok(seen.length >= 2, `tokens were streamed (${seen.length})`);
      // Both processes read the same system clock (performance.timeOrigin); the slack is for its rounding only.
      const slack = 50;
      assert.ok(seen.every((t, i) => i === 0 || t.at >= seen[i - 1].at), 'the times are in the order of the tokens');
      assert.ok(seen[0].at >= sent - slack, 'no token is timed before the request was sent');
      assert.ok(seen.every((t) => t.at <= t.arrived + slack), 'no token is timed after it arrived');
    } finally {
      client.dispose();
    }
  });
});
