// Counts the engine's upsampler runs (the model's most expensive graph after the decoder): tests use it to
// show when features are computed, reused or recomputed.
import type { Engine } from '../../src/engine/engine';

type Run = (...a: unknown[]) => Promise<unknown>;

export function countUpsamplerRuns(engine: Engine): { calls: () => number; reset: () => void; restore: () => void } {
  const sessions = (engine.runner as unknown as { sessions: { upsampler: { run: Run } } }).sessions;
  const run = sessions.upsampler.run.bind(sessions.upsampler);
  let calls = 0;
  sessions.upsampler.run = (...a: unknown[]) => {
    calls++;
    return run(...a);
  };
  return { calls: () => calls, reset: () => void (calls = 0), restore: () => void (sessions.upsampler.run = run) };
}
