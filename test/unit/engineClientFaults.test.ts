// The engine client against a scripted fake worker (a small node file this test writes): each request's task
// carries the steps the fake takes (messages to send, malformed ones included, stderr, exits, kills), and each
// start of the fake follows a plan (load failures, fatal errors, output). The fake logs every message it gets,
// so the tests see what the client sent. Nothing here waits on a clock: each step waits for an event or promise.
import * as assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CANCEL_GRACE_MS, EngineClient, EngineRequestError, EngineStartError, type ClientOptions, type RequestOptions } from '../../src/engine/engineClient';
import type { EngineAnswer, EngineTask } from '../../src/engine/types';
import { progressMessageSchema, tokenMessageSchema } from '../../src/engine/workerProtocol';

const FAKE_WORKER = `
const fs = require('node:fs');
const dir = JSON.parse(process.env.PIXEL_SAIL_WORKER_CONFIG).modelPath;
const plan = JSON.parse(fs.readFileSync(dir + '/plan.json', 'utf8'));
const startsFile = dir + '/starts';
const startNo = fs.existsSync(startsFile) ? Number(fs.readFileSync(startsFile, 'utf8')) : 0;
fs.writeFileSync(startsFile, String(startNo + 1));
const start = plan.starts[Math.min(startNo, plan.starts.length - 1)];
const log = (m) => fs.appendFileSync(dir + '/log', JSON.stringify({ worker: startNo, ...m }) + '\\n');
const send = (m) => new Promise((resolve) => process.send(m, undefined, {}, () => resolve()));
const onCancel = new Map();
async function act(steps, id) {
  for (const s of steps) {
    if (s.send) await send({ id, ...s.send });
    if (s.stderr) process.stderr.write(s.stderr);
    if (s.exit !== undefined) process.exit(s.exit);
    if (s.kill) process.kill(process.pid, s.kill);
  }
}
process.on('disconnect', () => process.exit(0));
process.on('message', (m) => {
  log(m.type === 'run' ? { type: 'run', name: m.task.name } : m);
  if (m.type === 'stats') void send({ type: 'stats', id: m.id, stats: { rssMb: m.id, peakRssMb: 2, cacheEntries: 3, cacheMb: 4 } });
  if (m.type === 'cancel' && onCancel.has(m.id)) void act(onCancel.get(m.id), m.id);
  if (m.type === 'run') {
    onCancel.set(m.id, m.task.onCancel || []);
    void act(m.task.steps, m.id);
  }
});
(async () => {
  if (start.stdout) process.stdout.write('x'.repeat(start.stdout));
  await act(start.steps || [], undefined);
  if (start.fatal) {
    await send({ type: 'fatal', message: start.fatal });
    process.exit(1);
  }
  await send({ type: 'ready', device: { provider: 'cpu', weights: 'float32' }, model: { name: 'fake', dir } });
})();
`;

interface Step { send?: Record<string, unknown>; stderr?: string; exit?: number; kill?: string }
interface StartPlan { steps?: Step[]; fatal?: string; stdout?: number }
/** A task only the fake understands: its name (for the log), what to do on `run` and on `cancel`. */
const task = (name: string, steps: Step[], onCancel: Step[] = []) => ({ kind: 'script', name, steps, onCancel }) as unknown as EngineTask;
const answer = (text: string): EngineAnswer => ({ answer: text, masks: [], device: 'cpu', timingsMs: {} });
const answers = (name: string) => task(name, [{ send: { type: 'result', answer: answer(name) } }]);
/** Never answers; stops (answers "cancelled") when cancelled. */
const stoppable = (name: string, steps: Step[] = []) => task(name, steps, [{ send: { type: 'error', message: 'cancelled', code: 'cancelled' } }]);

// Made in `before` and removed in `after`: a mutation run loads this file once and runs the suite many times.
let root: string;
let workerPath: string;
let dirs = 0;

class Fake {
  readonly dir = fs.mkdtempSync(path.join(root, `w${dirs++}-`));
  readonly client: EngineClient;
  readonly exits: string[] = [];
  constructor(starts: StartPlan[] = [{}], options: Partial<ClientOptions> = {}) {
    fs.writeFileSync(path.join(this.dir, 'plan.json'), JSON.stringify({ starts }));
    this.client = new EngineClient({ workerPath, config: { modelPath: this.dir, device: 'cpu', cacheBudgetMb: 64, maxImagePixels: 1e6 }, ...options });
    this.client.on('exit', (why: string, how?: string) => this.exits.push(how ? `${why} (${how})` : why));
  }
  /** What the workers got, in order: `1:run a`, `1:cancel`, `2:stats` (worker number from 1, then what). */
  log(): string[] {
    const file = path.join(this.dir, 'log');
    if (!fs.existsSync(file)) return [];
    return fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { worker: number; type: string; name?: string })
      .map((m) => `${m.worker + 1}:${m.type}${m.name ? ` ${m.name}` : ''}`);
  }
  starts(): number {
    const file = path.join(this.dir, 'starts');
    return fs.existsSync(file) ? Number(fs.readFileSync(file, 'utf8')) : 0;
  }
  child(): ChildProcess | undefined {
    return (this.client as unknown as { child?: ChildProcess }).child;
  }
  next(event: 'exit' | 'ready'): Promise<unknown[]> {
    return new Promise((resolve) => this.client.once(event, (...args: unknown[]) => resolve(args)));
  }
}

/** The request's rejection as `code: message`, or `answered: text`. */
const outcome = (p: Promise<EngineAnswer>) => p.then(
  (a) => `answered: ${a.answer}`,
  (e: Error) => (e instanceof EngineRequestError ? `${e.code}: ${e.message}` : `not an EngineRequestError: ${e.message}`),
);

describe('engine client against a scripted fake worker (faults, cancels, crashes, shutdown)', function () {
  const fakes: Fake[] = [];
  const fake = (starts?: StartPlan[], options?: Partial<ClientOptions>) => {
    const f = new Fake(starts, options);
    fakes.push(f);
    return f;
  };
  afterEach(() => {
    for (const f of fakes.splice(0)) f.client.dispose();
  });
  before(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'ps-fake-worker-'));
    workerPath = path.join(root, 'fake-worker.js');
    fs.writeFileSync(workerPath, FAKE_WORKER);
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  describe('start', () => {
    it('forks the worker once with its configuration, reports ready and the worker pid', async () => {
      const f = fake();
      assert.equal(f.client.ready, undefined);
      assert.equal(f.client.pid, undefined);
      const readyEvent = f.next('ready');
      const first = f.client.start();
      assert.equal(f.client.start(), first, 'a second start while starting is the same start');
      const info = await first;
      assert.deepEqual(info, { device: { provider: 'cpu', weights: 'float32' }, model: { name: 'fake', dir: f.dir }, pid: f.client.pid } as unknown);
      assert.notEqual(info.pid, process.pid);
      assert.deepEqual(await readyEvent, [info]);
      assert.equal(f.client.ready, info);
      assert.equal(await f.client.start(), info);
      assert.equal(f.starts(), 1);
    });

    it('drains the worker\'s stdout (a chatty worker must not block on a full pipe)', async () => {
      const f = fake([{ stdout: 4 * 2 ** 20 }]);
      assert.equal((await f.client.start()).model.name, 'fake');
    });

    it('a worker that exits while loading fails the start with its exit code and last stderr line; the next start tries again', async () => {
      const f = fake([{ steps: [{ stderr: 'loading weights\nboom: no model here\n' }, { exit: 3 }] }, {}]);
      const waiting = outcome(f.client.request(answers('queued')));
      // An EngineStartError (a folder job stops at the first, src/annotations/batch.ts), named as any request error.
      await assert.rejects(f.client.start(), (e: Error) => e instanceof EngineStartError && e.name === 'EngineRequestError' && e.code === 'crashed'
        && e.message === 'the engine process stopped while loading the model (exit code 3): boom: no model here');
      assert.equal(await waiting, 'crashed: the engine process stopped while loading the model (exit code 3): boom: no model here', 'a request waiting on the start gets its error');
      assert.equal(f.client.ready, undefined);
      assert.deepEqual(f.exits, ['exit code 3']);
      assert.equal((await f.client.start()).model.name, 'fake');
      assert.equal(await outcome(f.client.request(answers('after'))), 'answered: after');
      assert.equal(f.starts(), 2);
    });

    it('a worker killed while loading, with nothing on stderr, is named by its signal alone', async () => {
      const f = fake([{ steps: [{ kill: 'SIGKILL' }] }]);
      await assert.rejects(f.client.start(), (e: Error) => e instanceof EngineRequestError && e.code === 'crashed'
        && e.message === 'the engine process stopped while loading the model (signal SIGKILL)');
    });

    it('a fatal message (model not loadable) fails the start and the requests waiting with the worker\'s message', async () => {
      const f = fake([{ fatal: 'model directory not found: /x (set pixelSail.modelPath)' }, {}]);
      const waiting = outcome(f.client.request(answers('queued')));
      await assert.rejects(f.client.start(), (e: Error) => e instanceof EngineStartError && e.code === 'model'
        && e.message === 'model directory not found: /x (set pixelSail.modelPath)');
      assert.equal(await waiting, 'model: model directory not found: /x (set pixelSail.modelPath)');
      assert.deepEqual(f.log(), [], 'nothing was sent to a worker that never became ready');
      assert.equal((await f.client.start()).model.name, 'fake', 'the next start tries again');
      assert.deepEqual(f.exits, [], 'a fatal load is reported once, by its message');
    });
  });

  describe('requests', () => {
    it('passes progress stages and tokens (special or not, with the worker\'s time) to the caller, then the answer', async () => {
      const f = fake();
      const progress: unknown[] = [];
      const tokens: unknown[] = [];
      const steps: Step[] = [
        { send: { type: 'progress', stage: 'image', at: 10 } },
        { send: { type: 'progress', stage: 'prefill', patches: 4, side: 32, at: 11 } },
        { send: { type: 'token', text: 'a', at: 12 } },
        { send: { type: 'token', id: 999, text: 'someone else\'s', at: 13 } },
        { send: { type: 'hello' } },
        { send: { type: 'token', text: '[SEG]', special: true, at: 14 } },
        { send: { type: 'token', text: 'b', special: false, at: 15 } },
        { send: { type: 'result', answer: answer('done') } },
      ];
      const opts: RequestOptions = { onProgress: (p, at) => progress.push([p, at]), onToken: (t, special, at) => tokens.push([t, special, at]) };
      assert.equal(await outcome(f.client.request(task('t', steps), opts)), 'answered: done');
      assert.deepEqual(progress, [[{ stage: 'image' }, 10], [{ stage: 'prefill', patches: 4, side: 32 }, 11]]);
      assert.deepEqual(tokens, [['a', false, 12], ['[SEG]', true, 14], ['b', false, 15]]);
    });

    it('passes the worker\'s error with its code', async () => {
      const f = fake();
      const failing = task('bad', [{ send: { type: 'error', message: 'image not found: /nope.png', code: 'bad-input' } }]);
      assert.equal(await outcome(f.client.request(failing)), 'bad-input: image not found: /nope.png');
      assert.equal(await outcome(f.client.request(answers('next'))), 'answered: next');
    });

    for (const [what, bad, schema] of [
      ['progress message', { type: 'progress', stage: 'warp', at: 1 }, progressMessageSchema],
      ['token', { type: 'token', text: 5, at: 1 }, tokenMessageSchema],
    ] as const) {
      it(`fails the request on a malformed ${what}, stops the worker's run and ignores what it streams after`, async () => {
        const f = fake();
        const seen: string[] = [];
        const opts: RequestOptions = { onProgress: (p) => seen.push(p.stage), onToken: (t) => seen.push(t) };
        // After the malformed message the fake streams on until it sees the cancel.
        const doomed = task('doomed', [{ send: bad }, { send: { type: 'progress', stage: 'generate', at: 2 } }, { send: { type: 'token', text: 'late', at: 3 } }],
          [{ send: { type: 'token', text: 'later', at: 4 } }, { send: { type: 'error', message: 'cancelled', code: 'cancelled' } }]);
        const problem = schema.safeParse({ id: 1, ...bad });
        assert.ok(!problem.success);
        assert.equal(await outcome(f.client.request(doomed, opts)), `internal: the engine sent a malformed ${what} (${problem.error.issues[0].message})`);
        assert.equal(await outcome(f.client.request(answers('next'))), 'answered: next', 'the same worker serves the next request once it lets go');
        assert.deepEqual(seen, []);
        assert.deepEqual(f.log(), ['1:run doomed', '1:cancel', '1:run next']);
        assert.equal(f.starts(), 1);
      });
    }

    it('runs interactive requests before batch ones, each in the order asked', async () => {
      const f = fake();
      const all = [
        f.client.request(answers('batch1'), { priority: 'batch' }),
        f.client.request(answers('first')),
        f.client.request(answers('batch2'), { priority: 'batch' }),
        f.client.request(answers('second'), { priority: 'interactive' }),
      ].map(outcome);
      assert.deepEqual(await Promise.all(all), ['answered: batch1', 'answered: first', 'answered: batch2', 'answered: second']);
      assert.deepEqual(f.log(), ['1:run first', '1:run second', '1:run batch1', '1:run batch2']);
    });

    it('answers stats requests, each by its own id', async () => {
      const f = fake();
      const [a, b] = await Promise.all([f.client.stats(), f.client.stats()]);
      assert.deepEqual({ ...a, rssMb: 0 }, { rssMb: 0, peakRssMb: 2, cacheEntries: 3, cacheMb: 4 });
      assert.notEqual(a.rssMb, b.rssMb, 'the fake echoes the id as rssMb: each call got its own answer');
    });
  });

  describe('cancel, supersede, timeout', () => {
    it('a newer request with the same cancel key supersedes the one in flight and the queued one, not other keys', async () => {
      const f = fake();
      let running!: () => void;
      const inFlight = new Promise<void>((r) => (running = r));
      const old = outcome(f.client.request(stoppable('old', [{ send: { type: 'progress', stage: 'image', at: 1 } }]), { cancelKey: 'editor-1', onProgress: () => running() }));
      await inFlight;
      const other = outcome(f.client.request(answers('other'), { cancelKey: 'editor-2' }));
      const queued = outcome(f.client.request(answers('queued'), { cancelKey: 'editor-1' }));
      const fresh = outcome(f.client.request(answers('fresh'), { cancelKey: 'editor-1' }));
      assert.equal(await old, 'cancelled: superseded by a newer request');
      assert.equal(await queued, 'cancelled: superseded by a newer request');
      assert.equal(await other, 'answered: other');
      assert.equal(await fresh, 'answered: fresh');
      assert.deepEqual(f.log(), ['1:run old', '1:cancel', '1:run other', '1:run fresh'], 'the superseded queued request never reached the worker');
      assert.deepEqual(f.exits, [], 'a worker that stops when asked is kept');
    });

    it('a request already aborted is refused without reaching the worker; one aborted while queued never runs', async () => {
      const f = fake();
      const gone = new AbortController();
      gone.abort();
      assert.equal(await outcome(f.client.request(answers('aborted'), { signal: gone.signal })), 'cancelled: cancelled');
      let running!: () => void;
      const inFlight = new Promise<void>((r) => (running = r));
      const busy = f.client.request(task('busy', [{ send: { type: 'progress', stage: 'image', at: 1 } }, { send: { type: 'result', answer: answer('busy') } }]), { onProgress: () => running() });
      await inFlight;
      const later = new AbortController();
      const queued = outcome(f.client.request(answers('queued'), { signal: later.signal }));
      later.abort();
      assert.equal(await queued, 'cancelled: cancelled');
      assert.equal(await outcome(busy), 'answered: busy');
      assert.equal(await outcome(f.client.request(answers('next'))), 'answered: next');
      assert.deepEqual(f.log(), ['1:run busy', '1:run next']);
    });

    it('times a request out with the time in the message and tells the worker to stop; a request\'s own timeout wins', async () => {
      // Each timed request goes to an idle, loaded worker, so its clock runs while the worker has it, not
      // while it waits (a loaded machine can take longer than the timeout to start a worker).
      const f = fake([{}], { defaultTimeoutMs: 1500 });
      const long = { timeoutMs: 600000 };
      await f.client.start();
      assert.equal(await outcome(f.client.request(stoppable('slow'))), 'timeout: the engine did not answer within 2 s');
      // Runs once the worker has answered the cancel.
      assert.equal(await outcome(f.client.request(answers('after1'), long)), 'answered: after1');
      assert.equal(await outcome(f.client.request(stoppable('slower'), { timeoutMs: 499 })), 'timeout: the engine did not answer within 0 s');
      assert.equal(await outcome(f.client.request(answers('after2'), long)), 'answered: after2');
      assert.deepEqual(f.log(), ['1:run slow', '1:cancel', '1:run after1', '1:run slower', '1:cancel', '1:run after2']);
      const patient = fake([{}], { defaultTimeoutMs: 1 });
      await patient.client.start();
      assert.equal(await outcome(patient.client.request(answers('quick'), { timeoutMs: 600000 })), 'answered: quick');
    });

    it(`replaces a worker that does not stop within ${CANCEL_GRACE_MS} ms of a cancel, at once and without counting a crash`, async () => {
      // maxRestartsPerMinute 0: one counted crash would refuse the next request.
      const f = fake([{}], { maxRestartsPerMinute: 0 });
      const first = await f.client.start();
      let running!: () => void;
      const inFlight = new Promise<void>((r) => (running = r));
      const abort = new AbortController();
      const stuck = outcome(f.client.request(task('stuck', [{ send: { type: 'progress', stage: 'prefill', at: 1 } }]), { signal: abort.signal, onProgress: () => running() }));
      await inFlight;
      const exited = f.next('exit');
      const restarted = f.next('ready');
      abort.abort();
      abort.abort();
      assert.equal(await stuck, 'cancelled: cancelled', 'the caller hears at once');
      assert.deepEqual(await exited, ['signal SIGKILL', 'replaced']);
      const [info] = (await restarted) as [{ pid: number }];
      assert.notEqual(info.pid, first.pid, 'a new worker is loaded without waiting for a request');
      assert.equal(await outcome(f.client.request(answers('next'))), 'answered: next');
      assert.deepEqual(f.log(), ['1:run stuck', '1:cancel', '2:run next']);
      assert.deepEqual(f.exits, ['signal SIGKILL (replaced)']);
    });

    it('cancels a request in flight only once however often it is superseded', async () => {
      const f = fake([{}], { maxRestartsPerMinute: 0 });
      let running!: () => void;
      const inFlight = new Promise<void>((r) => (running = r));
      const stuck = outcome(f.client.request(task('stuck', [{ send: { type: 'progress', stage: 'prefill', at: 1 } }]), { cancelKey: 'k', onProgress: () => running() }));
      await inFlight;
      const second = outcome(f.client.request(answers('second'), { cancelKey: 'k' }));
      const third = outcome(f.client.request(answers('third'), { cancelKey: 'k' }));
      assert.equal(await stuck, 'cancelled: superseded by a newer request');
      assert.equal(await second, 'cancelled: superseded by a newer request');
      assert.equal(await third, 'answered: third');
      assert.deepEqual(f.log(), ['1:run stuck', '1:cancel', '2:run third']);
    });
  });

  describe('crashes', () => {
    it('fails the request in flight when the worker dies, and starts a new one only when a request needs it', async () => {
      const f = fake();
      await f.client.start();
      const died = task('dies', [{ send: { type: 'token', text: 'a', at: 1 } }, { stderr: 'Segmentation fault\n' }, { exit: 7 }]);
      const request = f.client.request(died);
      assert.equal(await outcome(request),
        'crashed: the engine process stopped unexpectedly (exit code 7) while working on this request; it has been restarted — try again');
      assert.equal(await request.catch((e) => e instanceof EngineStartError), false, 'a crash while running is no start failure: a job fails that image alone');
      assert.equal(f.client.pid, undefined, 'no worker is started while nothing waits');
      assert.equal(f.client.ready, undefined);
      assert.deepEqual(f.exits, ['exit code 7']);
      assert.equal(await outcome(f.client.request(answers('next'))), 'answered: next');
      assert.equal(f.starts(), 2);
    });

    it('a worker that dies while idle is started again by the next request', async () => {
      const f = fake();
      const first = await f.client.start();
      const exited = f.next('exit');
      process.kill(first.pid, 'SIGKILL');
      assert.deepEqual(await exited, ['signal SIGKILL']);
      assert.equal(f.client.pid, undefined);
      assert.equal(await outcome(f.client.request(answers('next'))), 'answered: next');
      assert.equal(f.starts(), 2);
    });

    it('fails the queued requests clearly when the restart after a crash cannot load the model', async () => {
      const f = fake([{}, { steps: [{ stderr: 'out of memory\n' }, { exit: 9 }] }]);
      const died = outcome(f.client.request(task('dies', [{ exit: 7 }])));
      const queued = outcome(f.client.request(answers('queued')));
      assert.equal(await died, 'crashed: the engine process stopped unexpectedly (exit code 7) while working on this request; it has been restarted — try again');
      assert.equal(await queued, 'crashed: the engine process stopped while loading the model (exit code 9): out of memory');
    });

    it('restarts for the queued requests after a crash', async () => {
      const f = fake();
      const died = outcome(f.client.request(task('dies', [{ kill: 'SIGKILL' }])));
      const queued = outcome(f.client.request(answers('queued')));
      assert.equal(await died, 'crashed: the engine process stopped unexpectedly (signal SIGKILL) while working on this request; it has been restarted — try again');
      assert.equal(await queued, 'answered: queued');
      assert.deepEqual(f.log(), ['1:run dies', '2:run queued']);
    });

    for (const limit of [1, undefined]) {
      const allowed = limit ?? 3;
      it(`gives up after ${allowed} restarts within a minute (maxRestartsPerMinute ${limit ?? 'unset, 3'}) and fails what is queued clearly`, async () => {
        const f = fake([{}], limit === undefined ? {} : { maxRestartsPerMinute: limit });
        const requests = Array.from({ length: allowed + 3 }, (_, i) => outcome(f.client.request(task(`r${i}`, [{ exit: 7 }]))));
        const results = await Promise.all(requests);
        const crashed = 'crashed: the engine process stopped unexpectedly (exit code 7) while working on this request; it has been restarted — try again';
        const refused = 'crashed: the engine process keeps stopping (exit code 7); not restarting it again';
        assert.deepEqual(results, [...Array(allowed + 1).fill(crashed), refused, refused]);
        assert.equal(f.starts(), allowed + 1);
        assert.equal(f.exits.length, allowed + 1);
      });
    }
  });

  describe('shutdown', () => {
    it('fails the request in flight and the queued ones, kills the worker and refuses anything after', async () => {
      const f = fake();
      let running!: () => void;
      const inFlight = new Promise<void>((r) => (running = r));
      const busy = outcome(f.client.request(task('busy', [{ send: { type: 'progress', stage: 'image', at: 1 } }]), { onProgress: () => running() }));
      const queued = outcome(f.client.request(answers('queued')));
      await inFlight;
      const child = f.child()!;
      const killed = new Promise<unknown[]>((r) => child.once('exit', (...args) => r(args)));
      f.client.dispose();
      assert.equal(await busy, 'unavailable: the engine has been shut down');
      assert.equal(await queued, 'unavailable: the engine has been shut down');
      assert.deepEqual(await killed, [null, 'SIGTERM']);
      assert.equal(f.client.pid, undefined);
      assert.equal(await outcome(f.client.request(answers('late'))), 'unavailable: the engine has been shut down');
      await assert.rejects(f.client.start(), (e: Error) => e instanceof EngineRequestError && e.code === 'unavailable' && e.message === 'the engine has been shut down');
      assert.deepEqual(f.exits, [], 'a shutdown is not a crash');
      assert.deepEqual(f.log(), ['1:run busy']);
    });
  });
});
