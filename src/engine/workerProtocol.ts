// Messages between the engine client (extension host, bench) and the engine worker process. Both sides
// import this file, so a message's shape is defined once; the tasks and answers they carry are types.ts's.
import { z } from 'zod';
import { jsonSyntaxProblem } from '../jsonText';
import { engineProgressSchema } from './progressSchema';
import type { DeviceInfo, DeviceSetting, EngineAnswer, EngineProgress, EngineTask, ModelSummary, WeightsSetting } from './types';

/**
 * The worker's start-up configuration, checked by the worker before it loads anything: a bad value (a
 * settings typo, another extension's host passing a number as a string) is refused with the JSON path and
 * what to set, instead of surfacing later as an onnxruntime error.
 */
export const workerConfigSchema = z.object({
  modelPath: z.string({ error: 'must be the model folder\'s path (a string)' }).min(1, 'must name the model folder'),
  device: z.enum(['auto', 'cuda', 'cpu'], { error: 'must be "auto", "cuda" or "cpu"' }),
  weights: z.enum(['auto', 'float32', 'int8'], { error: 'must be "auto", "float32" or "int8"' }).optional(),
  cacheBudgetMb: z.number({ error: 'must be a number of MB' }).positive('must be a positive number of MB').max(1024 * 1024, 'must be at most 1 TB (in MB)'),
  maxImagePixels: z.number({ error: 'must be a number of pixels' }).int('must be a whole number of pixels').positive('must be positive'),
  threads: z.number({ error: 'must be a number' }).int('must be a whole number').min(1, 'must be at least 1').max(1024, 'must be at most 1024').optional(),
  maxInputSide: z.number({ error: 'must be a number of pixels' }).int('must be a whole number of pixels').min(16, 'must be at least 16 pixels').max(16384, 'must be at most 16384 pixels').optional(),
}, { error: 'must be a JSON object' });

export type WorkerConfig = z.infer<typeof workerConfigSchema>;

/** Where a config problem is, e.g. `PIXEL_SAIL_WORKER_CONFIG.cacheBudgetMb`. */
function where(root: string, parts: readonly PropertyKey[]): string {
  return root + parts.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
}

/** Parses the environment variable's text; the problem names the variable and the JSON path. */
export function parseWorkerConfig(text: string | undefined): { ok: true; config: WorkerConfig } | { ok: false; problem: string } {
  if (text === undefined || text === '') return { ok: false, problem: `the engine worker started without ${WORKER_CONFIG_ENV} (it is started by the extension or the engine client, not by hand)` };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    return { ok: false, problem: `${WORKER_CONFIG_ENV} is ${jsonSyntaxProblem(text, e)}` };
  }
  const r = workerConfigSchema.safeParse(raw);
  if (r.success) return { ok: true, config: r.data };
  const issue = r.error.issues[0];
  return { ok: false, problem: `${where(WORKER_CONFIG_ENV, issue.path)} ${issue.message} (check the pixelSail settings, or the options passed to the engine client)` };
}

const id = z.number().int().nonnegative();

/** Messages to the worker, checked on arrival: a malformed one is answered with an error, not a crash. */
export const toWorkerSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('run'), id, task: z.unknown() }), // the task is checked by the engine (taskSchema.ts)
  z.object({ type: z.literal('cancel'), id }),
  z.object({ type: z.literal('stats'), id }),
]);

export interface WorkerStats {
  rssMb: number;
  peakRssMb: number;
  cacheEntries: number;
  cacheMb: number;
}

export type ToWorker =
  | { type: 'run'; id: number; task: EngineTask }
  | { type: 'cancel'; id: number }
  | { type: 'stats'; id: number };

/**
 * One streamed token of a request, checked by the client on arrival. `at` is when the worker had the token
 * (decoded, about to send it), as epoch milliseconds with sub-millisecond resolution (performance.timeOrigin +
 * performance.now()), so the time from the engine to the screen can be measured per token (bench:ui).
 */
export const tokenMessageSchema = z.object({
  type: z.literal('token'),
  id,
  text: z.string(),
  /** The model's own tokens (<PromptK>, [SEG], stop tokens), which text can never produce. */
  special: z.boolean().optional(),
  at: z.number().finite().positive(),
}).strict();
export type TokenMessage = z.infer<typeof tokenMessageSchema>;

/** A request's stage started (engine.ts TaskOptions.onProgress), checked by the client on arrival. */
export const progressMessageSchema = z.object({
  type: z.literal('progress'),
  id,
  ...engineProgressSchema.shape,
  at: z.number().finite().positive(),
}).strict();
export type ProgressMessage = z.infer<typeof progressMessageSchema> & EngineProgress;

/** The worker's clock for `at`: epoch ms, sub-millisecond (src/epochClock.ts). */
export { epochNow as workerNow } from '../epochClock';

export type FromWorker =
  | { type: 'ready'; device: DeviceInfo; model: ModelSummary }
  | { type: 'fatal'; message: string }
  | TokenMessage
  | ProgressMessage
  | { type: 'result'; id: number; answer: EngineAnswer }
  | { type: 'stats'; id: number; stats: WorkerStats }
  | { type: 'error'; id: number; message: string; code: ErrorCode };

export type ErrorCode = 'bad-input' | 'cancelled' | 'model' | 'internal';

/** Worker start-up configuration travels in an environment variable, before any message. */
export const WORKER_CONFIG_ENV = 'PIXEL_SAIL_WORKER_CONFIG';
