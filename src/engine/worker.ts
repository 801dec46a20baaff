// The engine worker: a child process that owns the model and answers one task at a time over IPC.
// Its configuration arrives in an environment variable so a failing model load is reported before any
// request is accepted. Cancellation is checked between stages and decode steps; an onnxruntime run in
// progress cannot see it (it blocks this thread), so the client replaces a worker that does not stop soon.
import { Engine, EngineError } from './engine';
import { ModelDirError } from './modelDir';
import type { FromWorker, ToWorker, WorkerConfig } from './workerProtocol';
import { parseWorkerConfig, toWorkerSchema, WORKER_CONFIG_ENV, workerNow } from './workerProtocol';
import { RegionSpecError } from './regions';

const send = (msg: FromWorker) => process.send?.(msg);

function stats(engine: Engine) {
  const mem = process.memoryUsage();
  const cache = engine.cacheStats();
  return {
    rssMb: Math.round(mem.rss / 2 ** 20),
    peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
    cacheEntries: cache.entries,
    cacheMb: Math.round(cache.bytes / 2 ** 20),
  };
}

async function main() {
  const parsed = parseWorkerConfig(process.env[WORKER_CONFIG_ENV]);
  if (!parsed.ok) {
    send({ type: 'fatal', message: parsed.problem });
    process.exit(1);
  }
  const config: WorkerConfig = parsed.config;
  let engine: Engine;
  try {
    engine = await Engine.open(config.modelPath, config);
  } catch (e) {
    send({ type: 'fatal', message: (e as Error).message });
    process.exit(1);
  }
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
        onToken: (text, special) => send(special ? { type: 'token', id, text, special, at: workerNow() } : { type: 'token', id, text, at: workerNow() }),
        shouldStop: () => cancelled.has(id),
        // Waits until the message is handed to the channel: the prefill that follows blocks this thread.
        onProgress: (p) => new Promise<void>((resolve) => {
          if (!process.send) return resolve();
          process.send({ type: 'progress', id, ...p, at: workerNow() } satisfies FromWorker, undefined, {}, () => resolve());
        }),
      });
      send({ type: 'result', id, answer });
    } catch (e) {
      const message = (e as Error).message;
      const code = message === 'cancelled' ? 'cancelled'
        : e instanceof EngineError || e instanceof RegionSpecError ? 'bad-input'
          : e instanceof ModelDirError ? 'model' : 'internal';
      send({ type: 'error', id, message, code });
    } finally {
      cancelled.delete(id);
      busy = false;
      void pump();
    }
  };

  process.on('message', (raw: unknown) => {
    const checked = toWorkerSchema.safeParse(raw);
    if (!checked.success) {
      // Answer by id when the message has one, so the sender's request ends instead of waiting for a timeout.
      const id = typeof (raw as { id?: unknown })?.id === 'number' ? (raw as { id: number }).id : -1;
      const issue = checked.error.issues[0];
      const at = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
      send({ type: 'error', id, message: `the engine worker got a malformed message: message${at}: ${issue.message}`, code: 'internal' });
      return;
    }
    const msg = checked.data as ToWorker;
    if (msg.type === 'run') {
      queue.push(msg);
      void pump();
    } else if (msg.type === 'cancel') {
      cancelled.add(msg.id);
    } else if (msg.type === 'stats') {
      send({ type: 'stats', id: msg.id, stats: stats(engine) });
    }
  });
  process.on('disconnect', () => process.exit(0));
  send({ type: 'ready', device: engine.device, model: engine.summary() });
}

void main();
