// Messages between the image editor's webview (webview-ui/) and the extension host, both ways, as zod schemas;
// both sides import this file. Neither trusts the other: the host parses every message from the webview with
// fromWebviewSchema before acting on it, and the webview parses every message from the host with
// toWebviewSchema before showing it (a malformed one is reported, not applied). The types are inferred from
// the schemas, so the two cannot drift. zod/mini, not classic zod: the webview bundles this file, and mini
// costs it tens of KB where classic costs hundreds (see src/annotations/sharedSchemas.ts).
import * as z from 'zod/mini';
import { annotationOriginSchema, annotationStatusSchema, bboxSchema, categorySchema, polygonsSchema, rleSchema, storedMaskShape, storedRegionSpecSchema, turnIdSchema } from '../annotations/sharedSchemas';
import { MAX_SCRIBBLE_POINTS } from '../engine/regions';
import { engineProgressSchema } from '../engine/progressSchema';
import type { RegionPrompt } from './regionPrompt';

export type { RegionPrompt } from './regionPrompt';

// Geometry comes in image pixel coordinates; the host checks each against the image's size.
const coord = z.number().check(z.gte(-1e6), z.lte(1e6));
const xy = z.strictObject({ x: coord, y: coord });
const strokeWidth = z.number().check(z.gt(0), z.lte(2000));
const path = z.array(xy).check(z.minLength(1), z.maxLength(MAX_SCRIBBLE_POINTS));
const positiveInt = z.int().check(z.gt(0));
const nonNegativeInt = z.int().check(z.gte(0));
const nonNegative = z.number().check(z.gte(0));
const name = z.string().check(z.trim(), z.minLength(1), z.maxLength(200));

/** A visual prompt (see regionPrompt.ts): points, at most one box, scribbles. */
export const regionPromptSchema: z.ZodMiniType<RegionPrompt> = z.strictObject({
  points: z.array(z.strictObject({ x: coord, y: coord, positive: z.boolean() })).check(z.maxLength(1000)),
  box: z.optional(z.strictObject({ x: coord, y: coord, w: coord.check(z.gt(0)), h: coord.check(z.gt(0)) })),
  scribbles: z.array(z.strictObject({ points: path, width: strokeWidth })).check(z.maxLength(100)),
});

export const strokeSchema = z.strictObject({ points: path, width: strokeWidth });

/** A category named by id (picked from the list) or by a name, which is created when new. */
export const categoryChoiceSchema = z.union([
  z.strictObject({ id: positiveInt }),
  z.strictObject({ name }),
]);
export type CategoryChoice = z.infer<typeof categoryChoiceSchema>;

const polygon = z.array(coord).check(z.minLength(6), z.maxLength(2 * MAX_SCRIBBLE_POINTS));

export const fromWebviewSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('ready') }),
  z.strictObject({ type: z.literal('imageShown'), width: nonNegativeInt, height: nonNegativeInt }),
  z.strictObject({ type: z.literal('prompt'), text: z.string().check(z.trim(), z.minLength(1), z.maxLength(2000)) }),
  /** The visual prompt changed: run it (superseding an older one), or clear the candidate when empty. */
  z.strictObject({ type: z.literal('regionPrompt'), prompt: regionPromptSchema }),
  /** A brush or eraser stroke on the selected object, or (brush, no id) a new object of the category. */
  z.strictObject({ type: z.literal('stroke'), mode: z.enum(['brush', 'eraser']), id: z.optional(positiveInt), category: z.optional(categoryChoiceSchema), stroke: strokeSchema }),
  /** A closed hand-drawn polygon, flat [x1, y1, x2, y2, …]. */
  z.strictObject({ type: z.literal('polygon'), points: polygon, category: categoryChoiceSchema }),
  z.strictObject({ type: z.literal('describe'), id: positiveInt }),
  z.strictObject({ type: z.literal('renameCategory'), id: positiveInt, name }),
  /** A hand-drawn object's polygons after a vertex was dragged. */
  z.strictObject({ type: z.literal('reshape'), id: positiveInt, polygons: z.array(polygon).check(z.minLength(1), z.maxLength(100)) }),
  z.strictObject({ type: z.literal('accept'), category: categoryChoiceSchema }),
  z.strictObject({ type: z.literal('reject') }),
  z.strictObject({ type: z.literal('delete'), id: positiveInt }),
  z.strictObject({ type: z.literal('setCategory'), id: positiveInt, category: categoryChoiceSchema }),
  z.strictObject({ type: z.literal('retryEngine') }),
  /** Cancel: end the running prompt and describe (the engine is replaced if it cannot stop by itself). */
  z.strictObject({ type: z.literal('cancel') }),
  z.strictObject({ type: z.literal('error'), message: z.string().check(z.maxLength(10000)) }),
  // Review of batch proposals: one proposal accepted or rejected, all of this image's accepted, or another image.
  z.strictObject({ type: z.literal('review'), id: positiveInt, verdict: z.enum(['accept', 'reject']) }),
  z.strictObject({ type: z.literal('acceptAll') }),
  z.strictObject({ type: z.literal('goTo'), which: z.enum(['nextUnreviewed', 'previous']) }),
  /** Add to chat: the visual prompt's marks become the chat's next regions (one chip per engine region). */
  z.strictObject({ type: z.literal('addToChat'), prompt: regionPromptSchema }),
  /** The pointer is over chat region n on the canvas (null: over none), so the chat lights that chip. */
  z.strictObject({ type: z.literal('chatHoverRegion'), n: z.nullable(positiveInt.check(z.lte(1000))) }),
  /**
   * bench:ui only: a no-op round trip shaped like a prompt, answered at once (no engine) with a message shaped
   * like a candidate, empty or carrying the current candidate's mask, to measure the floor of the message path.
   * The host answers it only when BENCH_ECHO_ENV is set (and then tells the webview so in `init`).
   */
  z.strictObject({ type: z.literal('benchEcho'), text: z.string().check(z.maxLength(2000)), withMask: z.boolean() }),
]);
export type FromWebview = z.infer<typeof fromWebviewSchema>;

// Host → webview. Sizes, counts and times are checked for range (no NaN, nothing negative); strings the host
// writes (messages, captions, names) are not bounded: the host is ours, and the check is there to catch a
// message that drifted from what the webview draws, not to ration text.

const bbox = bboxSchema;

/** What the webview needs to draw and describe one object (editorView.ts builds it from an annotation). */
export const objectViewSchema = z.object({
  id: positiveInt,
  categoryId: positiveInt,
  rle: z.nullable(rleSchema),
  /** COCO polygons when the object was drawn by hand (rle is null then). */
  polygons: z.nullable(polygonsSchema),
  bbox,
  area: nonNegative,
  origin: annotationOriginSchema,
  status: annotationStatusSchema,
  prompt: z.optional(z.string()),
  /** The model's caption (Describe), free of special tokens. */
  caption: z.optional(z.string()),
});
export type ObjectView = z.infer<typeof objectViewSchema>;

export const engineViewSchema = z.discriminatedUnion('state', [
  z.object({ state: z.literal('starting') }),
  z.object({ state: z.literal('ready'), summary: z.string() }),
  z.object({ state: z.literal('failed'), message: z.string() }),
]);
export type EngineView = z.infer<typeof engineViewSchema>;

export const hostTimingSchema = z.object({ receivedAt: nonNegative, postedAt: nonNegative, engineMs: nonNegative });
export type HostTiming = z.infer<typeof hostTimingSchema>;

/**
 * Set (to "1") in the extension host's environment by bench:ui only: the editor then answers `benchEcho`
 * messages. Users never set it, so the path is closed to them: the host ignores the message without it.
 */
export const BENCH_ECHO_ENV = 'PIXEL_SAIL_BENCH_ECHO';

/** A candidate's mask as the candidate message carries it: COCO compressed RLE over the whole image. */
export const candidateMaskSchema = z.object({ rle: rleSchema, area: nonNegative, bbox });
export type CandidateMask = z.infer<typeof candidateMaskSchema>;

/** A chat region as the canvas draws it: its number and its geometry in image pixels. */
export const chatRegionViewSchema = z.object({ n: positiveInt, spec: storedRegionSpecSchema });
export type ChatRegionView = z.infer<typeof chatRegionViewSchema>;

/** The candidate and its bench twin: ms is the engine request as the host waited for it (see below). */
const candidateFields = { prompt: z.string(), answer: z.string(), mask: z.nullable(candidateMaskSchema), ms: nonNegative, host: hostTimingSchema };

export const toWebviewSchema = z.discriminatedUnion('type', [
  /** bench: the host answers `benchEcho` (bench:ui set BENCH_ECHO_ENV); absent for users. */
  z.object({
    type: z.literal('init'),
    image: z.object({ src: z.string().check(z.minLength(1)), name: z.string(), width: positiveInt, height: positiveInt }),
    objects: z.array(objectViewSchema),
    categories: z.array(categorySchema),
    problem: z.optional(z.string()),
    bench: z.optional(z.literal(true)),
  }),
  z.object({ type: z.literal('objects'), objects: z.array(objectViewSchema) }),
  z.object({ type: z.literal('categories'), categories: z.array(categorySchema) }),
  z.object({ type: z.literal('engine'), engine: engineViewSchema }),
  /** postedAt: when the host posted it (epoch ms), so bench:ui times this hop while the engine works. */
  z.object({ type: z.literal('busy'), prompt: z.string(), postedAt: z.optional(nonNegative) }),
  /** The running prompt or describe reached a stage (see EngineProgress); the webview counts the time. */
  z.object({ type: z.literal('progress'), what: z.enum(['prompt', 'describe']), ...engineProgressSchema.shape }),
  /**
   * The user's Cancel ended the prompt. When the engine was inside a model run it is replaced a moment later,
   * which the engine state ('starting', then 'ready') shows.
   */
  z.object({ type: z.literal('cancelled'), prompt: z.string() }),
  /** Describe of object `id` is running / finished (the caption arrives with the objects) / failed. */
  z.object({ type: z.literal('describing'), id: positiveInt }),
  z.object({ type: z.literal('described'), id: positiveInt, caption: z.nullable(z.string()), message: z.optional(z.string()) }),
  /**
   * mask null: the model found no target for the prompt. ms: the engine request as the host waited for it.
   * host: when the host got the prompt and posted this answer, and the worker's own time for it (epoch ms,
   * src/epochClock.ts), so bench:ui can split the way by process.
   */
  z.object({ type: z.literal('candidate'), ...candidateFields }),
  /** The answer to `benchEcho`, shaped like a candidate (engineMs 0: no engine); it changes nothing on show. */
  z.object({ type: z.literal('benchEcho'), ...candidateFields }),
  z.object({ type: z.literal('candidateCleared') }),
  z.object({ type: z.literal('promptFailed'), prompt: z.string(), message: z.string() }),
  /** A problem with the store (malformed file, failed save) to show in the editor's banner. */
  z.object({ type: z.literal('problem'), message: z.nullable(z.string()) }),
  /** The dataset root's review of batch proposals: images its jobs have done, and how many are reviewed. */
  z.object({ type: z.literal('review'), images: nonNegativeInt, reviewed: nonNegativeInt, hasNext: z.boolean(), hasPrevious: z.boolean(), message: z.optional(z.string()) }),
  /** The chat's regions of this image (kept current), for hit-testing the pointer and drawing a highlight. */
  z.object({ type: z.literal('chatRegions'), regions: z.array(chatRegionViewSchema) }),
  /** A chip is hovered in the chat: outline region n on the canvas; null clears the outline. */
  z.object({ type: z.literal('chatHighlight'), n: z.nullable(positiveInt) }),
  /** Masks of a chat answer, drawn like a candidate (in the chat's colour) until accepted or dismissed. */
  z.object({ type: z.literal('chatMasks'), turnId: turnIdSchema, masks: z.array(z.object({ rle: storedMaskShape.rle, bbox: storedMaskShape.bbox })) }),
  /** Add to chat worked (the chips' numbers) or failed (why, for the answer line). */
  z.object({ type: z.literal('addedToChat'), regions: z.array(positiveInt) }),
  z.object({ type: z.literal('chatFailed'), message: z.string() }),
]);
export type ToWebview = z.infer<typeof toWebviewSchema>;
