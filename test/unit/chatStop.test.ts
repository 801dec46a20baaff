// Stop in the chat aborts the request through the client's AbortSignal; this checks, at the worker's own
// messages, that the engine really ends the request (not only the display): the worker stops sending
// tokens for it, reports it cancelled, and runs the next request. No timing is asserted.
import * as assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import * as path from 'node:path';
import { EngineClient, EngineRequestError } from '../../src/engine/engineClient';
import type { EngineTask } from '../../src/engine/types';
import { FromWorker, WORKER_CONFIG_ENV } from '../../src/engine/workerProtocol';

const repo = path.resolve(__dirname, '../../..');
const workerPath = path.join(repo, 'dist/worker.js');
const modelPath = path.join(repo, 'models/tiny-random');
const image = path.join(modelPath, 'parity/image.png');
const config = { modelPath, device: 'cpu' as const, cacheBudgetMb: 64, maxImagePixels: 1e8 };
// The random model never writes a stop token: without a cancel this runs all 4096 tokens.
const long: EngineTask = { kind: 'ask', image, regions: [], question: [{ kind: 'text', text: 'Tell me everything.' }], maxNewTokens: 4096 };
const short: EngineTask = { kind: 'ask', image, regions: [], question: [{ kind: 'text', text: 'And briefly?' }], maxNewTokens: 4 };

describe('chat Stop ends the request in the engine', function () {
  it('the worker stops generating a cancelled request and takes the next one', async () => {
    const child = fork(workerPath, [], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'], env: { ...process.env, [WORKER_CONFIG_ENV]: JSON.stringify(config) } });
    try {
      const seen: FromWorker[] = [];
      const done = new Promise<void>((resolve, reject) => {
        child.on('exit', (code) => reject(new Error(`worker exited (${code})`)));
        child.on('message', (msg: FromWorker) => {
          seen.push(msg);
          if (msg.type === 'ready') child.send({ type: 'run', id: 1, task: long });
          const tokens1 = seen.filter((m) => m.type === 'token' && m.id === 1).length;
          if (msg.type === 'token' && msg.id === 1 && tokens1 === 5) {
            child.send({ type: 'cancel', id: 1 });
            child.send({ type: 'run', id: 2, task: short });
          }
          if ((msg.type === 'result' || msg.type === 'error') && msg.id === 2) resolve();
        });
      });
      await done;
      const end1 = seen.findIndex((m) => (m.type === 'error' || m.type === 'result') && m.id === 1);
      const end2 = seen.findIndex((m) => (m.type === 'error' || m.type === 'result') && m.id === 2);
      assert.ok(end1 >= 0, 'request 1 ends');
      assert.deepEqual({ type: seen[end1].type, code: (seen[end1] as { code?: string }).code }, { type: 'error', code: 'cancelled' }, 'request 1 ends as cancelled, not as a full answer');
      const tokens1 = seen.filter((m) => m.type === 'token' && m.id === 1).length;
      assert.ok(tokens1 < 100, `the engine stopped generating soon after the cancel (${tokens1} of 4096 tokens)`);
      assert.ok(seen.slice(end1).every((m) => !(m.type === 'token' && m.id === 1)), 'no token of request 1 after it ended');
      assert.ok(end2 > end1 && seen[end2].type === 'result', 'request 2 is answered after request 1 ended');
    } finally {
      child.kill();
    }
  });

  it('through the client: an aborted request rejects as cancelled and the next one is answered', async () => {
    const client = new EngineClient({ workerPath, config });
    try {
      const abort = new AbortController();
      let tokens = 0;
      const first = client.request(long, { signal: abort.signal, onToken: () => { if (++tokens === 5) abort.abort(); } });
      await assert.rejects(first, (e: Error) => e instanceof EngineRequestError && e.code === 'cancelled');
      const second = await client.request(short);
      assert.ok(second.answerParts, 'the next request is answered');
    } finally {
      client.dispose();
    }
  });
});
