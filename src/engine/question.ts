// A question as structured parts: text pieces and references to regions. Region tokens (<PromptK>) enter the
// model's input only from region parts; every text part is tokenized with the special tokens switched off
// (tokenizer.ts), so `<Prompt3>`, `[SEG]`, `<vision>` or `<|im_start|>` typed by a user stay plain text.
// The CLI's `<regionN>` convention and the model's prompt templates (`{region}`, `{expression}`) are mapped
// onto the same parts here, so there is one way into the tokenizer.
// zod/mini, not classic zod: the chat webview bundles these schemas (src/chat/protocol.ts), and mini costs it
// tens of KB where classic costs hundreds. Classic schemas elsewhere compose them as they are.
import * as z from 'zod/mini';
import { MAX_REGIONS } from './questionParts';
import type { AnswerPart, QuestionPart } from './questionParts';

export * from './questionParts';

/** A question longer than this is a mistake; the token limit (engine.ts) is checked after tokenizing. */
export const MAX_QUESTION_CHARS = 8000;

export const questionPartSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('text'), text: z.string().check(z.maxLength(MAX_QUESTION_CHARS)) }),
  z.object({ kind: z.literal('region'), region: z.int().check(z.gte(1), z.lte(MAX_REGIONS)) }),
]);
export const questionSchema = z.array(questionPartSchema).check(z.minLength(1), z.maxLength(256));

/**
 * An answer as parts, read from the token ids (not from the decoded text, where a model that spelled out
 * "<Prompt0>" byte by byte would look the same as the token): text, a region the model refers to
 * (<PromptK> → region K+1), or the n-th mask ([SEG]). Other special tokens are structure, not content.
 */
export const answerPartSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('text'), text: z.string() }),
  z.object({ kind: z.literal('region'), region: z.int().check(z.gte(1), z.lte(MAX_REGIONS)) }),
  z.object({ kind: z.literal('mask'), index: z.int().check(z.gte(0)) }),
]);

// The schemas and the plain types describe the same values.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
const sameQuestion: Same<z.infer<typeof questionPartSchema>, QuestionPart> = true;
const sameAnswer: Same<z.infer<typeof answerPartSchema>, AnswerPart> = true;
void sameQuestion;
void sameAnswer;
