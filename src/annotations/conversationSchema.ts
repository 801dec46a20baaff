// The `conversations` list of an image's store file, as zod schemas. Each conversation carries its own
// `format`, so the chat can change shape without bumping the store file's version (which every other tool
// reads). Format 1 is the plain-text form a script or the CLI can write: questions with `<regionN>` markers
// and answers as text (possibly with the model's raw `<PromptK>`); format 2 is what the chat writes:
// questions and answers as parts. Format 1 is upgraded on load (conversations.ts), never written.
import { z } from 'zod';
import { answerPartSchema, MAX_REGIONS, questionSchema } from '../engine/question';
import { storedMaskShape, storedRegionSpecSchema, turnIdSchema } from './sharedSchemas';

/**
 * A region as the engine takes it, minus mask files (a store file must not point at other files). Shared with
 * the editor's protocol, so it is written in zod/mini in sharedSchemas.ts.
 */
export { storedRegionSpecSchema };

export const chatRegionSchema = z.looseObject({
  /** The chip's number: region N is the model's <Prompt{N-1}>. */
  n: z.number().int().min(1).max(MAX_REGIONS),
  /** Where it came from: an object of the document (its mask at the time) or a mark on the canvas. */
  source: z.enum(['object', 'canvas']),
  objectId: z.number().int().positive().optional(),
  spec: storedRegionSpecSchema,
});

export const storedMaskSchema = z.looseObject({
  ...storedMaskShape,
  /** The object this mask became (Accept), so it is not accepted twice. */
  acceptedAs: z.number().int().positive().optional(),
});

/** Shared with the chat's protocol (sharedSchemas.ts), which carries turn ids both ways. */
const turnId = turnIdSchema;
export const turnSchema = z.discriminatedUnion('kind', [
  z.looseObject({ kind: z.literal('question'), id: turnId, parts: questionSchema }),
  z.looseObject({
    kind: z.literal('answer'),
    id: turnId,
    parts: z.array(answerPartSchema),
    masks: z.array(storedMaskSchema),
    /** complete; stopped by the user (the parts are what came before Stop); failed (message says why). */
    status: z.enum(['complete', 'stopped', 'failed']),
    message: z.string().optional(),
  }),
  /** What the chat says itself: a fresh context started, regions changed. */
  z.looseObject({ kind: z.literal('notice'), id: turnId, text: z.string() }),
]);

export const conversationV2Schema = z.looseObject({
  format: z.literal(2),
  id: z.string().min(1),
  regions: z.array(chatRegionSchema).max(MAX_REGIONS),
  turns: z.array(turnSchema),
});

export const conversationV1Schema = z.looseObject({
  format: z.literal(1),
  id: z.string().min(1).optional(),
  regions: z.array(storedRegionSpecSchema).max(MAX_REGIONS),
  turns: z.array(z.object({ question: z.string(), answer: z.string() })),
});

export const storedConversationSchema = z.discriminatedUnion('format', [conversationV1Schema, conversationV2Schema]);

export type StoredRegionSpec = z.infer<typeof storedRegionSpecSchema>;
export type ChatRegion = z.infer<typeof chatRegionSchema>;
export type StoredMask = z.infer<typeof storedMaskSchema>;
export type Turn = z.infer<typeof turnSchema>;
export type Conversation = z.infer<typeof conversationV2Schema>;
export type ConversationV1 = z.infer<typeof conversationV1Schema>;
export type StoredConversation = z.infer<typeof storedConversationSchema>;
