// The one place that turns the model's raw text into what a user reads. The model writes special tokens:
// `<PromptK>` names a region slot (a caption begins "<Prompt0>: ..."), `[SEG]` marks where a mask is
// produced, and `<|endoftext|>` / `<|im_end|>` can leak from generation. None of them means anything to a
// person, so the editor's answer line, captions stored with objects and anything else shown go through
// readableAnswer. The webview and the host both import it (no DOM, no Node).

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
