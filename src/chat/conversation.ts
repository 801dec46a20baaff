// The chat about one image, as plain values (no vscode, no engine): regions numbered region 1 … 15 (region N
// is the model's <Prompt{N-1}>), turns (question parts, answer parts, the chat's own notices), typed messages
// to question parts, streamed tokens to answer parts, and the upgrade of older stored formats. The host
// (src/host/chat/) keeps a conversation in the image's document, so saving and undo work as for objects.
import type { ChatRegion, Conversation, StoredConversation, StoredMask, StoredRegionSpec, Turn } from '../annotations/conversationSchema';
import { AnswerPart, MAX_REGIONS, normalizeQuestion, partsFromRegionText, QuestionPart } from '../engine/questionParts';
import type { RegionSpec } from '../engine/regions';

export class ChatError extends Error {}

export function newConversation(id: string): Conversation {
  return { format: 2, id, regions: [], turns: [] };
}

/** Adds a region as the next chip; the 16th is refused (the model has 15 prompt slots). */
export function addRegion(conversation: Conversation, region: { source: 'object' | 'canvas'; objectId?: number; spec: StoredRegionSpec }): { conversation: Conversation; region: ChatRegion } {
  if (conversation.regions.length >= MAX_REGIONS) {
    throw new ChatError(`The model takes at most ${MAX_REGIONS} regions at once and this conversation has ${MAX_REGIONS}. Clear the conversation to start again with other regions.`);
  }
  if (region.source === 'object' && region.objectId !== undefined) {
    const same = conversation.regions.find((r) => r.source === 'object' && r.objectId === region.objectId);
    if (same) throw new ChatError(`Object ${region.objectId} is already region ${same.n}.`);
  }
  const added: ChatRegion = { ...region, n: conversation.regions.length + 1 };
  return { conversation: { ...conversation, regions: [...conversation.regions, added] }, region: added };
}

/** The regions in slot order, as the engine takes them (region N at index N-1). */
export function engineRegions(conversation: Conversation): RegionSpec[] {
  return conversation.regions.map((r) => r.spec as StoredRegionSpec);
}

/** Identifies the region set: a question under another key cannot continue an engine context. */
export function regionSetKey(conversation: Conversation): string {
  return JSON.stringify(conversation.regions.map((r) => r.spec));
}

/**
 * A typed message → question parts. `@regionN` is a reference to chip N (what typing `@` or clicking a chip
 * inserts); everything else is text, whatever it spells (`<Prompt3>` included: see tokenizer.ts).
 */
export function parseMessage(text: string, regionCount: number): QuestionPart[] {
  const parts: QuestionPart[] = [];
  let last = 0;
  for (const m of text.matchAll(/@region(\d+)\b/g)) {
    const n = Number(m[1]);
    if (n < 1 || n > regionCount) {
      throw new ChatError(regionCount
        ? `There is no region ${n}: this conversation has region 1${regionCount > 1 ? `–${regionCount}` : ''}. Add the region first, or fix the reference.`
        : `There is no region ${n}: add a region first (pick an object, or mark one on the image), then refer to it.`);
    }
    parts.push({ kind: 'text', text: text.slice(last, m.index) }, { kind: 'region', region: n });
    last = m.index! + m[0].length;
  }
  parts.push({ kind: 'text', text: text.slice(last) });
  const out = normalizeQuestion(parts);
  if (!out.some((p) => p.kind === 'region' || p.text.trim())) throw new ChatError('The message is empty: type a question first.');
  return out;
}

/** The question as the user typed it (`@regionN` for references), e.g. to put it back into the input. */
export function messageText(parts: readonly QuestionPart[]): string {
  return parts.map((p) => (p.kind === 'text' ? p.text : `@region${p.region}`)).join('');
}

/**
 * Streamed tokens → answer parts, as they arrive. Only a token the engine marks special can be a region or
 * a mask; the other special tokens (stop tokens, <vision> …) are the model's structure and are dropped.
 */
export class AnswerStream {
  private readonly list: AnswerPart[] = [];
  private masks = 0;

  push(text: string, special: boolean): AnswerPart | undefined {
    let part: AnswerPart | undefined;
    if (!special) {
      if (!text) return undefined;
      const last = this.list[this.list.length - 1];
      if (last?.kind === 'text') {
        last.text += text;
        return { kind: 'text', text };
      }
      part = { kind: 'text', text };
    } else {
      const slot = /^<Prompt(\d+)>$/.exec(text);
      if (slot && Number(slot[1]) < MAX_REGIONS) part = { kind: 'region', region: Number(slot[1]) + 1 };
      else if (text === '[SEG]') part = { kind: 'mask', index: this.masks++ };
    }
    if (part) this.list.push({ ...part });
    return part;
  }

  get parts(): AnswerPart[] {
    return this.list.map((p) => ({ ...p }));
  }
}

/**
 * An answer's parts once its masks are known: a mask reference without a mask ("No target [SEG]." has a
 * [SEG] but no mask) would point at nothing, so it goes, and the words around it join as readableAnswer
 * joins them ("No target." rather than "No target .").
 */
export function withoutMissingMasks(parts: readonly AnswerPart[], masks: number): AnswerPart[] {
  const out: AnswerPart[] = [];
  let dropped = false;
  for (const p of parts) {
    if (p.kind === 'mask' && p.index >= masks) {
      dropped = true;
      continue;
    }
    const prev = out[out.length - 1];
    if (dropped && p.kind === 'text' && prev?.kind === 'text') {
      const left = prev.text.replace(/[ \t]+$/, '');
      const right = p.text.replace(/^[ \t]+/, '');
      const space = !/^[.,;:!?]/.test(right) && (left !== prev.text || right !== p.text) ? ' ' : '';
      prev.text = left + space + right;
    } else out.push({ ...p });
    dropped = false;
  }
  return out;
}

const RAW_SPECIAL = /<Prompt(\d+)>|\[SEG\]|<\|[a-z_]+\|>|<\/?vision>|<vpatch>|<vrow_sep>|<vframe_sep>|<NO_Prompt>|<\/?p>/g;

/**
 * An answer stored as text (format 1, or the CLI's output) → parts: raw `<PromptK>` becomes region K+1,
 * `[SEG]` a mask, other special tokens are dropped, so no raw token reaches the screen.
 */
export function answerPartsFromText(text: string): AnswerPart[] {
  const parts: AnswerPart[] = [];
  let last = 0;
  let masks = 0;
  const pushText = (t: string) => {
    if (!t) return;
    const prev = parts[parts.length - 1];
    if (prev?.kind === 'text') prev.text += t;
    else parts.push({ kind: 'text', text: t });
  };
  for (const m of text.matchAll(RAW_SPECIAL)) {
    pushText(text.slice(last, m.index));
    if (m[1] !== undefined && Number(m[1]) < MAX_REGIONS) parts.push({ kind: 'region', region: Number(m[1]) + 1 });
    else if (m[0] === '[SEG]') parts.push({ kind: 'mask', index: masks++ });
    last = m.index! + m[0].length;
  }
  pushText(text.slice(last));
  return parts;
}

/** Upgrades a stored conversation of any known format to the current one (format 2). */
export function upgradeConversation(stored: StoredConversation, index = 0): Conversation {
  if (stored.format === 2) return stored;
  const turns: Turn[] = [];
  stored.turns.forEach((t, i) => {
    turns.push({ kind: 'question', id: `v1-${i}-q`, parts: partsFromRegionText(t.question, stored.regions.length) });
    turns.push({ kind: 'answer', id: `v1-${i}-a`, parts: answerPartsFromText(t.answer), masks: [], status: 'complete' });
  });
  return {
    format: 2,
    id: stored.id ?? `imported-${index + 1}`,
    regions: stored.regions.map((spec, i) => ({ n: i + 1, source: 'canvas', spec })),
    turns,
  };
}

export function withTurns(conversation: Conversation, ...turns: Turn[]): Conversation {
  return { ...conversation, turns: [...conversation.turns, ...turns] };
}

/** Marks mask `index` of answer `turnId` as accepted as object `objectId`. */
export function markAccepted(conversation: Conversation, turnId: string, index: number, objectId: number): Conversation {
  return {
    ...conversation,
    turns: conversation.turns.map((t) => {
      if (t.id !== turnId || t.kind !== 'answer') return t;
      const masks: StoredMask[] = t.masks.map((m, i) => (i === index ? { ...m, acceptedAs: objectId } : m));
      return { ...t, masks };
    }),
  };
}

/** Why the next question starts a fresh engine context, said in the conversation; undefined to continue. */
export function freshContextReason(conversation: Conversation, context: { regionKey: string; afterTurn: string; imageKey: string } | undefined, imageKey: string): string | undefined {
  const hasHistory = conversation.turns.some((t) => t.kind === 'question');
  if (!hasHistory) return undefined;
  if (!context) return 'New context: the model no longer holds the earlier turns (the window was reloaded or the engine restarted), so it answers this question on its own.';
  if (context.imageKey !== imageKey) return 'New context: the image changed, so the model starts afresh and does not see the earlier turns.';
  if (context.regionKey !== regionSetKey(conversation)) return 'New context: the regions changed, so the model starts afresh and does not see the earlier turns.';
  const last = [...conversation.turns].reverse().find((t) => t.kind !== 'notice');
  if (last?.id !== context.afterTurn) return 'New context: the conversation was edited (undo or clear), so the model starts afresh.';
  return undefined;
}
