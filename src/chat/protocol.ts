// Messages between the chat view's webview (webview-ui/chat.ts) and the extension host
// (src/host/chat/). The host checks everything the webview sends with fromChatSchema before acting on it;
// what the host sends is typed here (the webview trusts its own host).
import { z } from 'zod';
import { answerPartSchema, AnswerPart, MAX_REGIONS, questionSchema, QuestionPart } from '../engine/question';
import type { EngineProgress, Rle } from '../engine/types';

const region = z.number().int().min(1).max(MAX_REGIONS);
const turnId = z.string().min(1).max(200);

export const fromChatSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ready') }),
  /** A question as parts: the webview turns `@regionN` into region parts; text stays text. */
  z.object({ type: z.literal('send'), question: questionSchema, sentAt: z.number().optional() }),
  /** Describe region N with the model's own caption prompt. */
  z.object({ type: z.literal('describe'), region }),
  z.object({ type: z.literal('stop') }),
  z.object({ type: z.literal('clear') }),
  z.object({ type: z.literal('addObjectRegion'), objectId: z.number().int().positive() }),
  z.object({ type: z.literal('copy'), turnId }),
  z.object({ type: z.literal('useAsCaption'), turnId, objectId: z.number().int().positive() }),
  z.object({ type: z.literal('accept'), turnId, index: z.number().int().nonnegative() }),
  /** A chip is hovered (region N) or left (null): the editor highlights that region on the canvas. */
  z.object({ type: z.literal('highlight'), region: region.nullable() }),
  z.object({ type: z.literal('error'), message: z.string().max(4000) }),
]);
export type FromChat = z.infer<typeof fromChatSchema>;

export interface RegionView {
  n: number;
  label: string;
}

export interface MaskView {
  rle: Rle;
  area: number;
  bbox: [number, number, number, number];
  /** The object this mask became, when it is one of the document's objects. */
  acceptedAs?: number;
}

/**
 * What the engine is doing for the answer being written, which the webview says in words with the time since
 * the question left (src/engine/progressText.ts): a large model's image prefill takes tens of seconds.
 */
export interface AnswerProgressView {
  /** The stage the engine's worker began last; absent until the first one. */
  stage?: EngineProgress;
  /** The model is (re)loading: at first use, or after a Stop that had to replace the engine's process. */
  engineStarting: boolean;
}

export type TurnView =
  | { kind: 'question'; id: string; parts: QuestionPart[] }
  | { kind: 'answer'; id: string; parts: AnswerPart[]; masks: MaskView[]; status: 'complete' | 'stopped' | 'failed' | 'streaming'; message?: string; progress?: AnswerProgressView }
  | { kind: 'notice'; id: string; text: string };

export interface ChatStateView {
  /** The image the chat is about; null when no Pixel-SAIL editor is open. */
  image: { name: string; width: number; height: number; src: string } | null;
  regions: RegionView[];
  objects: { id: number; label: string }[];
  turns: TurnView[];
  busy: boolean;
  /** Why the chat cannot be used right now (no editor, a broken store file). */
  problem?: string;
}

export type ToChat =
  | { type: 'state'; state: ChatStateView }
  /**
   * Streamed pieces of the answer being written (one per token of the model's; those of one frame together).
   * producedAt[i]: when the engine's worker had part i (epoch ms, workerProtocol.ts), so the webview can time
   * each token's way to the screen; hostAt[i] when the extension host had it and postedAt when the host posted
   * this message (epoch ms, src/epochClock.ts), so bench:ui can say which hop the time goes to.
   */
  | { type: 'tokens'; turnId: string; parts: AnswerPart[]; producedAt: number[]; hostAt: number[]; postedAt: number }
  /** The answer being written reached another stage (or the engine began or ended loading the model). */
  | { type: 'progress'; turnId: string; progress: AnswerProgressView }
  | { type: 'highlightFromCanvas'; region: number | null };

export { answerPartSchema };
