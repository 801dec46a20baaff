// Messages between the image editor's webview (webview-ui/) and the extension host. Both sides import
// this file. The host trusts nothing that comes from the webview: every message is parsed with
// fromWebviewSchema first. The webview imports only the types, so zod is not bundled into it.
import { z } from 'zod';
import type { StoredRegionSpec } from '../annotations/conversationSchema';
import type { Category, Rle } from '../annotations/schema';
import { MAX_SCRIBBLE_POINTS } from '../engine/regions';
import type { EngineProgress } from '../engine/types';
import type { RegionPrompt } from './regionPrompt';

export type { RegionPrompt } from './regionPrompt';

// Geometry comes in image pixel coordinates; the host checks each against the image's size.
const coord = z.number().finite().min(-1e6).max(1e6);
const xy = z.object({ x: coord, y: coord }).strict();
const strokeWidth = z.number().finite().positive().max(2000);
const path = z.array(xy).min(1).max(MAX_SCRIBBLE_POINTS);

/** A visual prompt (see regionPrompt.ts): points, at most one box, scribbles. */
export const regionPromptSchema: z.ZodType<RegionPrompt> = z.object({
  points: z.array(xy.extend({ positive: z.boolean() }).strict()).max(1000),
  box: z.object({ x: coord, y: coord, w: coord.positive(), h: coord.positive() }).strict().optional(),
  scribbles: z.array(z.object({ points: path, width: strokeWidth }).strict()).max(100),
}).strict();

export const strokeSchema = z.object({ points: path, width: strokeWidth }).strict();

/** A category named by id (picked from the list) or by a name, which is created when new. */
export const categoryChoiceSchema = z.union([
  z.object({ id: z.number().int().positive() }).strict(),
  z.object({ name: z.string().trim().min(1).max(200) }).strict(),
]);
export type CategoryChoice = z.infer<typeof categoryChoiceSchema>;

export const fromWebviewSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ready') }).strict(),
  z.object({ type: z.literal('imageShown'), width: z.number().int().nonnegative(), height: z.number().int().nonnegative() }).strict(),
  z.object({ type: z.literal('prompt'), text: z.string().trim().min(1).max(2000) }).strict(),
  /** The visual prompt changed: run it (superseding an older one), or clear the candidate when empty. */
  z.object({ type: z.literal('regionPrompt'), prompt: regionPromptSchema }).strict(),
  /** A brush or eraser stroke on the selected object, or (brush, no id) a new object of the category. */
  z.object({ type: z.literal('stroke'), mode: z.enum(['brush', 'eraser']), id: z.number().int().positive().optional(), category: categoryChoiceSchema.optional(), stroke: strokeSchema }).strict(),
  /** A closed hand-drawn polygon, flat [x1, y1, x2, y2, …]. */
  z.object({ type: z.literal('polygon'), points: z.array(coord).min(6).max(2 * MAX_SCRIBBLE_POINTS), category: categoryChoiceSchema }).strict(),
  z.object({ type: z.literal('describe'), id: z.number().int().positive() }).strict(),
  z.object({ type: z.literal('renameCategory'), id: z.number().int().positive(), name: z.string().trim().min(1).max(200) }).strict(),
  /** A hand-drawn object's polygons after a vertex was dragged. */
  z.object({ type: z.literal('reshape'), id: z.number().int().positive(), polygons: z.array(z.array(coord).min(6).max(2 * MAX_SCRIBBLE_POINTS)).min(1).max(100) }).strict(),
  z.object({ type: z.literal('accept'), category: categoryChoiceSchema }).strict(),
  z.object({ type: z.literal('reject') }).strict(),
  z.object({ type: z.literal('delete'), id: z.number().int().positive() }).strict(),
  z.object({ type: z.literal('setCategory'), id: z.number().int().positive(), category: categoryChoiceSchema }).strict(),
  z.object({ type: z.literal('retryEngine') }).strict(),
  /** Cancel: end the running prompt and describe (the engine is replaced if it cannot stop by itself). */
  z.object({ type: z.literal('cancel') }).strict(),
  z.object({ type: z.literal('error'), message: z.string().max(10000) }).strict(),
  // Review of batch proposals: one proposal accepted or rejected, all of this image's accepted, or another image.
  z.object({ type: z.literal('review'), id: z.number().int().positive(), verdict: z.enum(['accept', 'reject']) }).strict(),
  z.object({ type: z.literal('acceptAll') }).strict(),
  z.object({ type: z.literal('goTo'), which: z.enum(['nextUnreviewed', 'previous']) }).strict(),
  /** Add to chat: the visual prompt's marks become the chat's next regions (one chip per engine region). */
  z.object({ type: z.literal('addToChat'), prompt: regionPromptSchema }).strict(),
  /** The pointer is over chat region n on the canvas (null: over none), so the chat lights that chip. */
  z.object({ type: z.literal('chatHoverRegion'), n: z.number().int().positive().max(1000).nullable() }).strict(),
  /**
   * bench:ui only: a no-op round trip shaped like a prompt, answered at once (no engine) with a message shaped
   * like a candidate, empty or carrying the current candidate's mask, to measure the floor of the message path.
   * The host answers it only when BENCH_ECHO_ENV is set (and then tells the webview so in `init`).
   */
  z.object({ type: z.literal('benchEcho'), text: z.string().max(2000), withMask: z.boolean() }).strict(),
]);
export type FromWebview = z.infer<typeof fromWebviewSchema>;

/** What the webview needs to draw and describe one object. */
export interface ObjectView {
  id: number;
  categoryId: number;
  rle: Rle | null;
  /** COCO polygons when the object was drawn by hand (rle is null then). */
  polygons: number[][] | null;
  bbox: [number, number, number, number];
  area: number;
  origin: 'model' | 'human';
  status: 'proposed' | 'accepted' | 'rejected';
  prompt?: string;
  /** The model's caption (Describe), free of special tokens. */
  caption?: string;
}

export type EngineView =
  | { state: 'starting' }
  | { state: 'ready'; summary: string }
  | { state: 'failed'; message: string };

export interface HostTiming { receivedAt: number; postedAt: number; engineMs: number }

/**
 * Set (to "1") in the extension host's environment by bench:ui only: the editor then answers `benchEcho`
 * messages. Users never set it, so the path is closed to them: the host ignores the message without it.
 */
export const BENCH_ECHO_ENV = 'PIXEL_SAIL_BENCH_ECHO';

/** A candidate's mask as the candidate message carries it: COCO compressed RLE over the whole image. */
export interface CandidateMask { rle: Rle; area: number; bbox: [number, number, number, number] }

export type ToWebview =
  /** bench: the host answers `benchEcho` (bench:ui set BENCH_ECHO_ENV); absent for users. */
  | { type: 'init'; image: { src: string; name: string; width: number; height: number }; objects: ObjectView[]; categories: Category[]; problem?: string; bench?: true }
  | { type: 'objects'; objects: ObjectView[] }
  | { type: 'categories'; categories: Category[] }
  | { type: 'engine'; engine: EngineView }
  /** postedAt: when the host posted it (epoch ms), so bench:ui times this hop while the engine works. */
  | { type: 'busy'; prompt: string; postedAt?: number }
  /** The running prompt or describe reached a stage (see EngineProgress); the webview counts the time. */
  | ({ type: 'progress'; what: 'prompt' | 'describe' } & EngineProgress)
  /**
   * The user's Cancel ended the prompt. When the engine was inside a model run it is replaced a moment later,
   * which the engine state ('starting', then 'ready') shows.
   */
  | { type: 'cancelled'; prompt: string }
  /** Describe of object `id` is running / finished (the caption arrives with the objects) / failed. */
  | { type: 'describing'; id: number }
  | { type: 'described'; id: number; caption: string | null; message?: string }
  /** mask null: the model found no target for the prompt. */
  /**
   * ms: the engine request as the host waited for it. host: when the host got the prompt and posted this answer,
   * and the worker's own time for it (epoch ms, src/epochClock.ts), so bench:ui can split the way by process.
   */
  | { type: 'candidate'; prompt: string; answer: string; mask: CandidateMask | null; ms: number; host: HostTiming }
  /** The answer to `benchEcho`, shaped like a candidate (engineMs 0: no engine); it changes nothing on show. */
  | { type: 'benchEcho'; prompt: string; answer: string; mask: CandidateMask | null; ms: number; host: HostTiming }
  | { type: 'candidateCleared' }
  | { type: 'promptFailed'; prompt: string; message: string }
  /** A problem with the store (malformed file, failed save) to show in the editor's banner. */
  | { type: 'problem'; message: string | null }
  /** The dataset root's review of batch proposals: images its jobs have done, and how many are reviewed. */
  | { type: 'review'; images: number; reviewed: number; hasNext: boolean; hasPrevious: boolean; message?: string }
  /** The chat's regions of this image (kept current), for hit-testing the pointer and drawing a highlight. */
  | { type: 'chatRegions'; regions: ChatRegionView[] }
  /** A chip is hovered in the chat: outline region n on the canvas; null clears the outline. */
  | { type: 'chatHighlight'; n: number | null }
  /** Masks of a chat answer, drawn like a candidate (in the chat's colour) until accepted or dismissed. */
  | { type: 'chatMasks'; turnId: string; masks: { rle: Rle; bbox: [number, number, number, number] }[] }
  /** Add to chat worked (the chips' numbers) or failed (why, for the answer line). */
  | { type: 'addedToChat'; regions: number[] }
  | { type: 'chatFailed'; message: string };

/** A chat region as the canvas draws it: its number and its geometry in image pixels. */
export interface ChatRegionView {
  n: number;
  spec: StoredRegionSpec;
}
