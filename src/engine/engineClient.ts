// The engine client: forks the worker (child_process.fork), queues requests with priorities (interactive
// before batch), sends one at a time, supports cancellation (a newer request with the same cancelKey
// supersedes an older one) and per-request timeouts, and restarts the worker when it dies — failing the
// request in flight with a clear message and carrying on with the rest. A request cancelled (or timed out)
// while the worker runs it is answered at once; the worker stops at its next check, and one that does not
// within CANCEL_GRACE_MS (inside an onnxruntime run, which cannot be interrupted: a large model's image
// prefill takes minutes) is killed and started again, so Cancel really ends the work.
import { ChildProcess, fork } from 'node:child_process';
import { EventEmitter } from 'node:events';
import type { DeviceInfo, EngineAnswer, EngineProgress, EngineTask, ModelSummary, Priority } from './types';
import type { ErrorCode, FromWorker, ToWorker, WorkerConfig, WorkerStats } from './workerProtocol';
import { progressMessageSchema, tokenMessageSchema, WORKER_CONFIG_ENV } from './workerProtocol';

export class EngineRequestError extends Error {
  constructor(message: string, readonly code: ErrorCode | 'crashed' | 'timeout' | 'unavailable') {
    super(message);
    this.name = 'EngineRequestError';
  }
}

/**
 * The engine could not start: the model did not load, or its process stopped while loading it. Every request
 * waiting on the start gets this error, and so would every later one until the cause is fixed; so a folder
 * job stops at the first (src/annotations/batch.ts) instead of failing image after image with the same words.
 * Its name stays EngineRequestError: callers that tell errors apart by name see no change.
 */
export class EngineStartError extends EngineRequestError {}

export interface RequestOptions {
  priority?: Priority;
  /** A newer request with the same key cancels this one (e.g. one per editor: a new click wins). */
  cancelKey?: string;
  timeoutMs?: number;
  /**
   * `special` marks the model's own tokens (<PromptK>, [SEG], stop tokens), which text can never produce;
   * `at` is when the worker had the token (epoch ms, see workerProtocol.ts), for timing its way to a screen.
   */
  onToken?: (text: string, special: boolean, at: number) => void;
  /** Each stage as the worker starts it (`at`: the worker's clock, epoch ms). */
  onProgress?: (progress: EngineProgress, at: number) => void;
  signal?: AbortSignal;
}

interface Pending {
  id: number;
  task: EngineTask;
  options: RequestOptions;
  resolve: (a: EngineAnswer) => void;
  reject: (e: Error) => void;
  timer?: NodeJS.Timeout;
  seq: number;
  done?: boolean;
}

export interface ClientOptions {
  workerPath: string;
  config: WorkerConfig;
  defaultTimeoutMs?: number;
  /** Give up restarting after this many crashes within a minute. */
  maxRestartsPerMinute?: number;
}

export interface ReadyInfo {
  device: DeviceInfo;
  model: ModelSummary;
  pid: number;
}

/**
 * How long a worker may take to stop a cancelled or timed-out request before it is killed and restarted. It
 * sees the cancel between stages and decode steps (milliseconds with the shipped model); inside an onnxruntime
 * run it sees nothing until the run ends.
 */
export const CANCEL_GRACE_MS = 3000;

/**
 * The worker's environment. glibc's malloc raises its mmap threshold each time a large block is freed, so
 * after a paper-size model's first prefill its ~100 MB tensors came from the heap and were never given back:
 * the 0.5B int8 runner kept +1.1 GB after a 1024-px prefill (peak 3.5 GB). A fixed threshold returns every
 * block above it to the system when freed: at 8 MB +0.3 GB kept, peak 2.56 GB. 1 MB kept less (+0.18 GB,
 * peak 2.51 GB) but then every decoding step's KV tensors (2 MB each at 4,098 tokens) were new mappings, and
 * their Concat took 3× as long (onnxruntime's profile, one step). Two arenas bound the per-thread heaps.
 * A value the user set wins.
 */
export function workerEnv(env: NodeJS.ProcessEnv, config: unknown): NodeJS.ProcessEnv {
  return { MALLOC_MMAP_THRESHOLD_: String(MALLOC_MMAP_THRESHOLD), MALLOC_ARENA_MAX: '2', ...env, [WORKER_CONFIG_ENV]: JSON.stringify(config) };
}

export const MALLOC_MMAP_THRESHOLD = 8 * 2 ** 20;

export class EngineClient extends EventEmitter {
  private child?: ChildProcess;
  private starting?: Promise<ReadyInfo>;
  private info?: ReadyInfo;
  private queue: Pending[] = [];
  private inFlight?: Pending;
  private nextId = 1;
  private seq = 0;
  private crashes: number[] = [];
  private disposed = false;
  private statsWaiters = new Map<number, (s: WorkerStats) => void>();
  private killTimer?: NodeJS.Timeout;
  /** The worker this client killed on purpose (a cancel it could not honour): its exit is no crash. */
  private replacing?: ChildProcess;

  constructor(private readonly options: ClientOptions) {
    super();
  }

  get ready(): ReadyInfo | undefined {
    return this.info;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts the worker (once); resolves when the model is loaded. */
  start(): Promise<ReadyInfo> {
    if (this.disposed) return Promise.reject(new EngineRequestError('the engine has been shut down', 'unavailable'));
    this.starting ??= new Promise<ReadyInfo>((resolve, reject) => {
      const child = fork(this.options.workerPath, [], {
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
        // The engine collects after evicting image states, so their hundreds of MB go back before the next prefill.
        execArgv: [...process.execArgv.filter((a) => !a.startsWith('--inspect')), '--expose-gc'],
        env: workerEnv(process.env, this.options.config),
      });
      this.child = child;
      child.on('error', () => { /* spawn and IPC errors surface through 'exit' */ });
      let stderr = '';
      child.stderr?.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
      child.stdout?.on('data', () => {});
      let settled = false;
      child.on('message', (msg: FromWorker) => {
        if (msg.type === 'ready') {
          settled = true;
          this.info = { device: msg.device, model: msg.model, pid: child.pid ?? -1 };
          this.emit('ready', this.info);
          resolve(this.info);
          this.pump();
        } else if (msg.type === 'fatal') {
          settled = true;
          reject(new EngineStartError(msg.message, 'model'));
        } else {
          this.onMessage(msg);
        }
      });
      child.on('exit', (code, signal) => {
        const why = signal ? `signal ${signal}` : `exit code ${code}`;
        if (!settled) {
          settled = true;
          reject(new EngineStartError(`the engine process stopped while loading the model (${why})${stderr ? `: ${stderr.trim().split('\n').pop()}` : ''}`, 'crashed'));
          // A failed load is no crash to restart from: the requests waiting on it get its error (failAll), and
          // the next request starts again. (Restarting here forked a second worker that the start's reset
          // below then forgot: an orphan process holding a model, never killed.)
          this.forget(starting);
          this.emit('exit', why);
          return;
        }
        this.onExit(child, why);
      });
    });
    const starting = this.starting;
    // A start that failed is retried by the next request.
    starting.catch(() => this.forget(starting));
    return starting;
  }

  /** Drops a failed start (and its worker), unless a newer start has replaced it already. */
  private forget(starting: Promise<ReadyInfo>) {
    if (this.starting !== starting) return;
    this.starting = undefined;
    this.child = undefined;
  }

  request(task: EngineTask, options: RequestOptions = {}): Promise<EngineAnswer> {
    if (this.disposed) return Promise.reject(new EngineRequestError('the engine has been shut down', 'unavailable'));
    return new Promise<EngineAnswer>((resolve, reject) => {
      const p: Pending = { id: this.nextId++, task, options, resolve, reject, seq: this.seq++ };
      if (options.cancelKey) {
        for (const old of [...this.queue, ...(this.inFlight ? [this.inFlight] : [])]) {
          if (old.options.cancelKey === options.cancelKey && !old.done) this.cancel(old, 'superseded by a newer request');
        }
      }
      if (options.signal) {
        if (options.signal.aborted) return reject(new EngineRequestError('cancelled', 'cancelled'));
        options.signal.addEventListener('abort', () => this.cancel(p, 'cancelled'), { once: true });
      }
      const timeout = options.timeoutMs ?? this.options.defaultTimeoutMs ?? 120000;
      p.timer = setTimeout(() => this.timeout(p, timeout), timeout);
      this.queue.push(p);
      // Interactive requests go first; FIFO within a priority.
      const rank = (q: Pending) => (q.options.priority === 'batch' ? 1 : 0);
      this.queue.sort((a, b) => rank(a) - rank(b) || a.seq - b.seq);
      this.start().then(() => this.pump(), (e) => this.failAll(e));
    });
  }

  stats(): Promise<WorkerStats> {
    return this.start().then(() => new Promise((resolve) => {
      const id = this.nextId++;
      this.statsWaiters.set(id, resolve);
      this.send({ type: 'stats', id });
    }));
  }

  dispose(): void {
    this.disposed = true;
    this.failAll(new EngineRequestError('the engine has been shut down', 'unavailable'));
    this.child?.kill();
    this.child = undefined;
  }

  private send(msg: ToWorker) {
    // A worker that died a moment ago can still look connected: the write then fails with EPIPE. The
    // exit handler fails or retries the request; the error must not escape as an unhandled event (it
    // would take the extension host down with the worker).
    if (this.child?.connected) this.child.send(msg, (err) => { if (err) this.emit('sendError', err); });
  }

  private pump() {
    if (this.inFlight || !this.info || !this.child?.connected) return;
    const next = this.queue.shift();
    if (!next) return;
    this.inFlight = next;
    this.send({ type: 'run', id: next.id, task: next.task });
  }

  /** Rejects once; a request the worker is still running stays "in flight" until the worker lets go of it. */
  private finish(p: Pending, outcome: { answer?: EngineAnswer; error?: Error }) {
    if (p.done) return;
    p.done = true;
    clearTimeout(p.timer);
    this.queue = this.queue.filter((q) => q !== p);
    if (outcome.error) p.reject(outcome.error);
    else p.resolve(outcome.answer!);
  }

  private cancel(p: Pending, why: string, code: 'cancelled' | 'timeout' | 'internal' = 'cancelled') {
    if (this.inFlight === p && !p.done) {
      this.send({ type: 'cancel', id: p.id });
      // A worker inside a long onnxruntime run cannot see the cancel: replace it after a grace period.
      clearTimeout(this.killTimer);
      this.killTimer = setTimeout(() => {
        if (this.inFlight === p && this.child) {
          this.replacing = this.child;
          this.child.kill('SIGKILL');
        }
      }, CANCEL_GRACE_MS);
    }
    this.finish(p, { error: new EngineRequestError(why, code) });
  }

  private timeout(p: Pending, ms: number) {
    this.cancel(p, `the engine did not answer within ${Math.round(ms / 1000)} s`, 'timeout');
  }

  private onMessage(msg: FromWorker) {
    if (msg.type === 'stats') {
      this.statsWaiters.get(msg.id)?.(msg.stats);
      this.statsWaiters.delete(msg.id);
      return;
    }
    if (msg.type !== 'token' && msg.type !== 'progress' && msg.type !== 'result' && msg.type !== 'error') return;
    const p = this.inFlight;
    if (!p || p.id !== msg.id) return;
    if (msg.type === 'progress') {
      const progress = progressMessageSchema.safeParse(msg);
      if (!progress.success) {
        this.cancel(p, `the engine sent a malformed progress message (${progress.error.issues[0]?.message ?? 'unknown'})`, 'internal');
        return;
      }
      if (!p.done) {
        const { type: _type, id: _id, at, ...stage } = progress.data;
        p.options.onProgress?.(stage, at);
      }
      return;
    }
    if (msg.type === 'token') {
      const token = tokenMessageSchema.safeParse(msg);
      if (!token.success) {
        // A token that does not fit the protocol is a bug on the worker's side: the answer cannot be trusted.
        this.cancel(p, `the engine sent a malformed token (${token.error.issues[0]?.message ?? 'unknown'})`, 'internal');
        return;
      }
      if (!p.done) p.options.onToken?.(token.data.text, token.data.special === true, token.data.at);
      return;
    }
    this.inFlight = undefined;
    clearTimeout(this.killTimer);
    if (msg.type === 'result') this.finish(p, { answer: msg.answer });
    else this.finish(p, { error: new EngineRequestError(msg.message, msg.code) });
    this.pump();
  }

  private onExit(child: ChildProcess, why: string) {
    if (child !== this.child) return;
    this.child = undefined;
    this.starting = undefined;
    this.info = undefined;
    clearTimeout(this.killTimer);
    const p = this.inFlight;
    this.inFlight = undefined;
    if (this.disposed) return;
    if (child === this.replacing) {
      // Killed on purpose (its request was cancelled and answered): load the model again right away, so the
      // next request waits as little as it can; this is not a crash.
      this.replacing = undefined;
      this.emit('exit', why, 'replaced');
      this.start().then(() => this.pump(), (e) => this.failAll(e));
      return;
    }
    if (p) {
      this.finish(p, { error: new EngineRequestError(`the engine process stopped unexpectedly (${why}) while working on this request; it has been restarted — try again`, 'crashed') });
    }
    const now = Date.now();
    this.crashes = this.crashes.filter((t) => now - t < 60000).concat(now);
    this.emit('exit', why);
    if (this.crashes.length > (this.options.maxRestartsPerMinute ?? 3)) {
      this.failAll(new EngineRequestError(`the engine process keeps stopping (${why}); not restarting it again`, 'crashed'));
      return;
    }
    if (this.queue.length) {
      this.start().then(() => this.pump(), (e) => this.failAll(e));
    }
  }

  private failAll(e: Error) {
    const all = [...this.queue, ...(this.inFlight ? [this.inFlight] : [])];
    this.queue = [];
    this.inFlight = undefined;
    for (const p of all) this.finish(p, { error: e });
  }
}
