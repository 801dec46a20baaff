// What the engine worker does with each message, apart from the process it runs in (worker.ts is only the
// process shell): opening the engine from the start-up configuration, checking every message against the
// protocol (workerProtocol.ts), running one task at a time with cancellation, and turning every failure into
// the protocol's error message. Kept importable so it is tested, and mutation-tested, in-process.
import { Engine, EngineError } from './engine';
import { ModelDirError } from './modelDir';
import { RegionSpecError } from './regions';
import type { ErrorCode, FromWorker, ToWorker, WorkerStats } from './workerProtocol';
import { parseWorkerConfig, toWorkerSchema, workerNow } from './workerProtocol';

/** How the handler talks back: `send` for every message, `sendAndWait` for one that must leave before a long run. */
export interface WorkerIo {
  send: (msg: FromWorker) => void;
  /** Resolves once the message is handed to the channel (the prefill that follows blocks the thread). */
  sendAndWait: (msg: FromWorker) => Promise<void>;
}

/** The engine the worker owns, or the message of the `fatal` answer that ends the worker before any request. */
export async function openWorkerEngine(configText: string | undefined): Promise<{ ok: true; engine: Engine } | { ok: false; message: string }> {
  const parsed = parseWorkerConfig(configText);
  if (!parsed.ok) return { ok: false, message: parsed.problem };
  try {
    return { ok: true, engine: await Engine.open(parsed.config.modelPath, parsed.config) };
  } catch (e) {
    return { ok: false, message: (e as Error).message };
  }
}

export function readyMessage(engine: Engine): FromWorker {
  return { type: 'ready', device: engine.device, model: engine.summary() };
}

/** The protocol's code for a failed task: the user's input, the model folder, a cancel, or our own bug. */
export function errorCode(e: unknown): ErrorCode {
  if ((e as Error)?.message === 'cancelled') return 'cancelled';
  if (e instanceof EngineError || e instanceof RegionSpecError) return 'bad-input';
  if (e instanceof ModelDirError) return 'model';
  return 'internal';
}

export function workerStats(engine: Engine): WorkerStats {
  const mem = process.memoryUsage();
  const cache = engine.cacheStats();
  return {
    rssMb: Math.round(mem.rss / 2 ** 20),
    // maxRSS is in KiB.
    peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
    cacheEntries: cache.entries,
    cacheMb: Math.round(cache.bytes / 2 ** 20),
  };
}

/** `message.task.image`-style path of a zod issue, for the malformed-message error. */
function issuePath(parts: readonly PropertyKey[]): string {
  return parts.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
}

/**
 * The worker's message handler: give it every message that arrives. Runs are queued and run one at a time;
 * a cancel is seen between stages and decode steps of its run, or before a queued run starts.
 */
export function createWorkerHandler(engine: Engine, io: WorkerIo): (raw: unknown) => void {
  const cancelled = new Set<number>();
  const queue: Extract<ToWorker, { type: 'run' }>[] = [];
  let busy = false;

  const pump = async () => {
    if (busy) return;
    const next = queue.shift();
    if (!next) return;
    busy = true;
    const { id, task } = next;
    try {
      if (cancelled.has(id)) throw new EngineError('cancelled');
      const answer = await engine.run(task, {
        onToken: (text, special) => io.send(special ? { type: 'token', id, text, special, at: workerNow() } : { type: 'token', id, text, at: workerNow() }),
        shouldStop: () => cancelled.has(id),
        onProgress: (p) => io.sendAndWait({ type: 'progress', id, ...p, at: workerNow() }),
      });
      io.send({ type: 'result', id, answer });
    } catch (e) {
      io.send({ type: 'error', id, message: (e as Error).message, code: errorCode(e) });
    } finally {
      cancelled.delete(id);
      busy = false;
      void pump();
    }
  };

  return (raw: unknown) => {
    const checked = toWorkerSchema.safeParse(raw);
    if (!checked.success) {
      // Answer by id when the message has one, so the sender's request ends instead of waiting for a timeout.
      const id = typeof (raw as { id?: unknown })?.id === 'number' ? (raw as { id: number }).id : -1;
      const issue = checked.error.issues[0];
      io.send({ type: 'error', id, message: `the engine worker got a malformed message: message${issuePath(issue.path)}: ${issue.message}`, code: 'internal' });
      return;
    }
    const msg = checked.data as ToWorker;
    if (msg.type === 'run') {
      queue.push(msg);
      void pump();
    } else if (msg.type === 'cancel') {
      cancelled.add(msg.id);
    } else {
      io.send({ type: 'stats', id: msg.id, stats: workerStats(engine) });
    }
  };
}
