// Messages between the chat view's webview (webview-ui/chat.ts) and the extension host (src/host/chat/), both
// ways, as zod schemas. The host checks everything the webview sends with fromChatSchema before acting on it;
// the webview checks everything the host sends with toChatSchema before showing it (a malformed message is
// reported, not applied). The types are inferred from the schemas, so the two cannot drift. zod/mini: the
// webview bundles this file (see src/annotations/sharedSchemas.ts for why not classic zod).
import * as z from 'zod/mini';
import { storedMaskShape, turnIdSchema } from '../annotations/sharedSchemas';
import { answerPartSchema, MAX_REGIONS, questionPartSchema, questionSchema } from '../engine/question';
import { engineProgressSchema } from '../engine/progressSchema';

const region = z.int().check(z.gte(1), z.lte(MAX_REGIONS));
/** A turn's id as the store allows it (sharedSchemas.ts), both ways: a stored chat always shows, and its buttons
 * (Copy, Accept, Use as caption) always reach the host. */
const turnId = turnIdSchema;
const positiveInt = z.int().check(z.gt(0));
const nonNegative = z.number().check(z.gte(0));

export const fromChatSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ready') }),
  /** A question as parts: the webview turns `@regionN` into region parts; text stays text. */
  z.object({ type: z.literal('send'), question: questionSchema, sentAt: z.optional(z.number()) }),
  /** Describe region N with the model's own caption prompt. */
  z.object({ type: z.literal('describe'), region }),
  z.object({ type: z.literal('stop') }),
  z.object({ type: z.literal('clear') }),
  z.object({ type: z.literal('addObjectRegion'), objectId: positiveInt }),
  z.object({ type: z.literal('copy'), turnId }),
  z.object({ type: z.literal('useAsCaption'), turnId, objectId: positiveInt }),
  z.object({ type: z.literal('accept'), turnId, index: z.int().check(z.gte(0)) }),
  /** A chip is hovered (region N) or left (null): the editor highlights that region on the canvas. */
  z.object({ type: z.literal('highlight'), region: z.nullable(region) }),
  z.object({ type: z.literal('error'), message: z.string().check(z.maxLength(4000)) }),
]);
export type FromChat = z.infer<typeof fromChatSchema>;

// Host → webview. Sizes, counts and times are checked for range (no NaN, nothing negative); text the host
// writes is not bounded (the check catches a message that drifted from what the webview draws).

export const regionViewSchema = z.object({ n: region, label: z.string() });
export type RegionView = z.infer<typeof regionViewSchema>;

export const maskViewSchema = z.object({
  ...storedMaskShape,
  /** The object this mask became, when it is one of the document's objects. */
  acceptedAs: z.optional(positiveInt),
});
export type MaskView = z.infer<typeof maskViewSchema>;

/**
 * What the engine is doing for the answer being written, which the webview says in words with the time since
 * the question left (src/engine/progressText.ts): a large model's image prefill takes tens of seconds.
 */
export const answerProgressViewSchema = z.object({
  /** The stage the engine's worker began last; absent until the first one. */
  stage: z.optional(engineProgressSchema),
  /** The model is (re)loading: at first use, or after a Stop that had to replace the engine's process. */
  engineStarting: z.boolean(),
});
export type AnswerProgressView = z.infer<typeof answerProgressViewSchema>;

export const turnViewSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('question'), id: turnId, parts: z.array(questionPartSchema) }),
  z.object({
    kind: z.literal('answer'),
    id: turnId,
    parts: z.array(answerPartSchema),
    masks: z.array(maskViewSchema),
    status: z.enum(['complete', 'stopped', 'failed', 'streaming']),
    message: z.optional(z.string()),
    progress: z.optional(answerProgressViewSchema),
  }),
  z.object({ kind: z.literal('notice'), id: turnId, text: z.string() }),
]);
export type TurnView = z.infer<typeof turnViewSchema>;

export const chatStateViewSchema = z.object({
  /** The image the chat is about; null when no Pixel-SAIL editor is open. */
  image: z.nullable(z.object({ name: z.string(), width: positiveInt, height: positiveInt, src: z.string() })),
  regions: z.array(regionViewSchema),
  objects: z.array(z.object({ id: positiveInt, label: z.string() })),
  turns: z.array(turnViewSchema),
  busy: z.boolean(),
  /** Why the chat cannot be used right now (no editor, a broken store file). */
  problem: z.optional(z.string()),
});
export type ChatStateView = z.infer<typeof chatStateViewSchema>;

/** Epoch ms (src/epochClock.ts). */
const epochMs = nonNegative;

export const toChatSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('state'), state: chatStateViewSchema }),
  /**
   * Streamed pieces of the answer being written (one per token of the model's; those of one frame together).
   * producedAt[i]: when the engine's worker had part i (epoch ms, workerProtocol.ts), so the webview can time
   * each token's way to the screen; hostAt[i] when the extension host had it and postedAt when the host posted
   * this message (epoch ms, src/epochClock.ts), so bench:ui can say which hop the time goes to. It arrives per
   * token, so its schema is flat: the parts of this message only, never the conversation.
   */
  z.object({
    type: z.literal('tokens'),
    turnId,
    parts: z.array(answerPartSchema),
    producedAt: z.array(epochMs),
    hostAt: z.array(epochMs),
    postedAt: epochMs,
  }).check(z.refine((m) => m.producedAt.length === m.parts.length && m.hostAt.length === m.parts.length, 'producedAt and hostAt need one time per part')),
  /** The answer being written reached another stage (or the engine began or ended loading the model). */
  z.object({ type: z.literal('progress'), turnId, progress: answerProgressViewSchema }),
  z.object({ type: z.literal('highlightFromCanvas'), region: z.nullable(region) }),
]);
export type ToChat = z.infer<typeof toChatSchema>;

export { answerPartSchema };
