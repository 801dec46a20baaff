// Starts the engine worker as a child process of the extension host (or of the CLI) and sends it
// requests. The full client (queue, priorities, restart) belongs to the engine issue; this is the
// smallest honest piece: fork, one request, a timeout, and a clear error when the child dies.
import { fork, ChildProcess } from 'node:child_process';

export interface InfoResult {
  name: string;
  hidden: number;
  pid: number;
}

export function requestModelInfo(workerPath: string, modelPath: string, timeoutMs = 30000): Promise<InfoResult> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = fork(workerPath, [], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    let stderr = '';
    child.stderr?.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`engine worker did not answer within ${timeoutMs} ms`));
    }, timeoutMs);
    const finish = () => {
      clearTimeout(timer);
      child.kill();
    };
    child.on('message', (msg: { ok: boolean; result?: Omit<InfoResult, 'pid'>; error?: string }) => {
      finish();
      if (msg.ok && msg.result) resolve({ ...msg.result, pid: child.pid ?? -1 });
      else reject(new Error(msg.error ?? 'engine worker failed'));
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`engine worker exited (${signal ?? `code ${code}`}) before answering${stderr ? `: ${stderr.trim()}` : ''}`));
    });
    child.send({ id: 1, type: 'info', modelPath });
  });
}
