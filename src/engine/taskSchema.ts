// The engine's tasks as a zod schema: every request, from the CLI, the editor (through the worker) or
// another extension, is checked here before any file is read or any tensor is built, and a bad one is
// refused with the JSON path at fault (`task.region.w: expected number`), never half-run.
import { z } from 'zod';
import { MAX_SCRIBBLE_POINTS } from './regions';
import { questionSchema } from './question';
import type { EngineTask } from './types';

const coord = z.number().finite();
const point = z.object({ x: coord, y: coord });

export const regionSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('box'), x: coord, y: coord, w: coord.positive(), h: coord.positive() }),
  z.object({ kind: z.literal('points'), points: z.array(point.extend({ positive: z.boolean() })).min(1).max(MAX_SCRIBBLE_POINTS) }),
  z.object({ kind: z.literal('scribble'), points: z.array(point).min(1).max(MAX_SCRIBBLE_POINTS), width: coord.positive().optional() }),
  z.object({ kind: z.literal('mask'), file: z.string().min(1) }),
  z.object({ kind: z.literal('rle'), rle: z.object({ size: z.tuple([z.number().int().nonnegative(), z.number().int().nonnegative()]), counts: z.string() }) }),
]);

const base = {
  image: z.string().min(1),
  maxNewTokens: z.number().int().positive().optional(),
  batch: z.object({ next: z.string().min(1).optional() }).strict().optional(),
};

export const taskSchema = z.discriminatedUnion('kind', [
  z.object({ ...base, kind: z.literal('segment'), text: z.string() }),
  z.object({ ...base, kind: z.literal('segmentRegions'), regions: z.array(regionSchema) }),
  z.object({ ...base, kind: z.literal('describe'), region: regionSchema }),
  z.object({ ...base, kind: z.literal('ask'), text: z.string().optional(), question: z.optional(questionSchema), regions: z.array(regionSchema), conversationId: z.string().optional() }),
]);

/** The task, checked; or the first problem as `task.<path>: <what is wrong>`. */
export function checkTask(task: unknown): { ok: true; task: EngineTask } | { ok: false; problem: string } {
  const r = taskSchema.safeParse(task);
  if (r.success) return { ok: true, task: r.data as EngineTask };
  const issue = r.error.issues[0];
  const where = issue.path.map((k) => (typeof k === 'number' ? `[${k}]` : `.${String(k)}`)).join('');
  return { ok: false, problem: `task${where}: ${issue.message}` };
}
