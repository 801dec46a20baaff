// The engine worker: a child process that owns the model and answers one task at a time over IPC. This file is
// only the process shell; what the worker does with each message is workerHandler.ts's. Its configuration
// arrives in an environment variable so a failing model load is reported before any request is accepted.
// Cancellation is checked between stages and decode steps; an onnxruntime run in progress cannot see it (it
// blocks this thread), so the client replaces a worker that does not stop soon.
import type { FromWorker } from './workerProtocol';
import { WORKER_CONFIG_ENV } from './workerProtocol';
import { createWorkerHandler, openWorkerEngine, readyMessage } from './workerHandler';

const send = (msg: FromWorker) => process.send?.(msg);
const sendAndWait = (msg: FromWorker) => new Promise<void>((resolve) => {
  if (!process.send) return resolve();
  process.send(msg, undefined, {}, () => resolve());
});

async function main() {
  const opened = await openWorkerEngine(process.env[WORKER_CONFIG_ENV]);
  if (!opened.ok) {
    send({ type: 'fatal', message: opened.message });
    process.exit(1);
  }
  const handle = createWorkerHandler(opened.engine, { send, sendAndWait });
  process.on('message', handle);
  process.on('disconnect', () => process.exit(0));
  send(readyMessage(opened.engine));
}

void main();
