// Engine child process (filled in by the engine issue): loads a model directory and answers requests
// over the IPC channel. For now it answers `info` so the process boundary is exercised end to end.
import { loadModelDir } from './modelDir';

process.on('message', (msg: { id: number; type: string; modelPath?: string }) => {
  if (msg.type === 'info') {
    try {
      const model = loadModelDir(msg.modelPath ?? '');
      process.send?.({ id: msg.id, ok: true, result: { name: model.config.name, hidden: model.config.model.hidden_size } });
    } catch (e) {
      process.send?.({ id: msg.id, ok: false, error: (e as Error).message });
    }
  }
});
