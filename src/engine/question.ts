// A question as structured parts: text pieces and references to regions. Region tokens (<PromptK>) enter the
// model's input only from region parts; every text part is tokenized with the special tokens switched off
// (tokenizer.ts), so `<Prompt3>`, `[SEG]`, `<vision>` or `<|im_start|>` typed by a user stay plain text.
// The CLI's `<regionN>` convention and the model's prompt templates (`{region}`, `{expression}`) are mapped
// onto the same parts here, so there is one way into the tokenizer.
import { z } from 'zod';

/** The model's 15 visual-prompt slots; region N (1-based, as the chat and the CLI number them) is <Prompt{N-1}>. */
export const MAX_REGIONS = 15;
/** A question longer than this is a mistake; the token limit (engine.ts) is checked after tokenizing. */
export const MAX_QUESTION_CHARS = 8000;

export const questionPartSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('text'), text: z.string().max(MAX_QUESTION_CHARS) }),
  z.object({ kind: z.literal('region'), region: z.number().int().min(1).max(MAX_REGIONS) }),
]);
export const questionSchema = z.array(questionPartSchema).min(1).max(256);

export type QuestionPart = z.infer<typeof questionPartSchema>;

export class QuestionError extends Error {}

/** Joins neighbouring text parts and drops empty ones (the tokenizer sees the same text either way). */
export function normalizeQuestion(parts: readonly QuestionPart[]): QuestionPart[] {
  const out: QuestionPart[] = [];
  for (const p of parts) {
    if (p.kind === 'text') {
      if (!p.text) continue;
      const last = out[out.length - 1];
      if (last?.kind === 'text') out[out.length - 1] = { kind: 'text', text: last.text + p.text };
      else out.push({ kind: 'text', text: p.text });
    } else out.push({ kind: 'region', region: p.region });
  }
  return out;
}

/**
 * The CLI's convention: `<region1>` … `<region15>` in a question name the regions given with --region, in
 * order. Everything else is text, including anything that looks like a model token.
 */
export function partsFromRegionText(text: string, regionCount: number): QuestionPart[] {
  const parts: QuestionPart[] = [];
  let last = 0;
  for (const m of text.matchAll(/<region(\d+)>/g)) {
    const n = Number(m[1]);
    if (n < 1 || n > regionCount) throw new QuestionError(`${m[0]} is used but only ${regionCount} region(s) were given`);
    parts.push({ kind: 'text', text: text.slice(last, m.index) }, { kind: 'region', region: n });
    last = m.index! + m[0].length;
  }
  parts.push({ kind: 'text', text: text.slice(last) });
  return normalizeQuestion(parts);
}

/** The question back as the CLI would write it (`<regionN>` for region parts), for logs and plain-text stores. */
export function regionText(parts: readonly QuestionPart[]): string {
  return parts.map((p) => (p.kind === 'text' ? p.text : `<region${p.region}>`)).join('');
}

/**
 * A model prompt template (config.json's `prompts`) filled with parts: each `{name}` placeholder becomes the
 * parts given for it; the template's own text is the model's, the fills may come from a user.
 */
export function fillTemplate(template: string, fills: Record<string, readonly QuestionPart[]>): QuestionPart[] {
  const parts: QuestionPart[] = [];
  let last = 0;
  for (const m of template.matchAll(/\{(\w+)\}/g)) {
    const fill = fills[m[1]];
    if (!fill) throw new QuestionError(`the prompt template needs {${m[1]}}`);
    parts.push({ kind: 'text', text: template.slice(last, m.index) }, ...fill);
    last = m.index! + m[0].length;
  }
  parts.push({ kind: 'text', text: template.slice(last) });
  return normalizeQuestion(parts);
}

/** The highest region number a question refers to (0 when none). */
export function highestRegion(parts: readonly QuestionPart[]): number {
  return parts.reduce((m, p) => (p.kind === 'region' ? Math.max(m, p.region) : m), 0);
}

/**
 * An answer as parts, read from the token ids (not from the decoded text, where a model that spelled out
 * "<Prompt0>" byte by byte would look the same as the token): text, a region the model refers to
 * (<PromptK> → region K+1), or the n-th mask ([SEG]). Other special tokens are structure, not content.
 */
export const answerPartSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('text'), text: z.string() }),
  z.object({ kind: z.literal('region'), region: z.number().int().min(1).max(MAX_REGIONS) }),
  z.object({ kind: z.literal('mask'), index: z.number().int().nonnegative() }),
]);
export type AnswerPart = z.infer<typeof answerPartSchema>;

/** The answer as plain text: regions as "region N", masks as "[mask N]". */
export function answerText(parts: readonly AnswerPart[]): string {
  return parts.map((p) => (p.kind === 'text' ? p.text : p.kind === 'region' ? `region ${p.region}` : `[mask ${p.index + 1}]`)).join('');
}
