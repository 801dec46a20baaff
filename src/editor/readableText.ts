// The one place that turns the model's raw text into what a user reads. The model writes special tokens:
// `<PromptK>` names a region slot (a caption begins "<Prompt0>: ..."), `[SEG]` marks where a mask is
// produced, and `<|endoftext|>` / `<|im_end|>` can leak from generation. None of them means anything to a
// person, so the editor's answer line, captions stored with objects and anything else shown go through
// readableAnswer (the editor's Describe, batch jobs' --describe, the chat's Use as caption). The webview
// and the host both import it (no DOM, no Node). The evaluation keeps its own reading of captions
// (src/eval/metrics.ts cleanCaption), which must match the reference's evaluation, not what users read.
import type { AnswerPart } from '../engine/questionParts';

const SPECIAL = /<Prompt\d+>|\[SEG\]|<\|[a-z_]+\|>|<\/?(?:p|ref|box|region\d*)>/gi;

/** The answer without special tokens: "<Prompt0>: A red car [SEG]." reads "A red car.". */
export function readableAnswer(answer: string): string {
  return answer
    .replace(/^\s*<Prompt\d+>\s*[:,-]?\s*/i, '')
    .replace(SPECIAL, ' ')
    .replace(/[ \t]+/g, ' ')
    .replace(/\s+([.,;:!?])/g, '$1')
    .replace(/[,;:]+([.!?])/g, '$1')
    .replace(/^[\s,;:.-]+(?=\S)/, '')
    .trim();
}

/**
 * An answer as the chat holds it (parts: text, region references, masks) as a caption: the words only, read
 * exactly as readableAnswer reads the same answer in the model's raw text ("<Prompt0>: a red car." → "a red car.").
 */
export function readableAnswerParts(parts: readonly AnswerPart[]): string {
  // Back to the model's tokens (region N is <Prompt{N-1}>), so both read through the same rules.
  return readableAnswer(parts.map((p) => (p.kind === 'text' ? p.text : p.kind === 'region' ? `<Prompt${p.region - 1}>` : '[SEG]')).join(''));
}
