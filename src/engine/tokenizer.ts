// Tokenization through @huggingface/tokenizers, which reads the model's tokenizer.json as-is
// (special tokens, pre-tokenizer, BPE merges). The chat layout comes from config.json.
// Two tokenizers over the same file: `tok` splits out the added (special) tokens, for the model's own
// text (chat markers, prompt templates); `plain` has no added tokens at all, for anything a user wrote, so a
// typed `<Prompt3>` or `<|im_start|>` becomes the byte-level pieces `<`, `Prompt`, `3`, `>` and never the
// token. Region tokens reach the model only from region parts of a question (question.ts).
import { Tokenizer } from '@huggingface/tokenizers';
import type { ModelDir } from './modelDir';
import { AnswerPart, normalizeQuestion, QuestionPart } from './question';

export class TextCodec {
  private readonly tok: Tokenizer;
  private readonly plain: Tokenizer;
  private readonly idToSpecial = new Map<number, string>();
  private readonly promptSlotOfId = new Map<number, number>();
  private readonly segId?: number;

  constructor(private readonly model: ModelDir) {
    this.tok = new Tokenizer(model.tokenizerJson as never, model.tokenizerConfig as never);
    const json = model.tokenizerJson as { added_tokens?: unknown[] };
    this.plain = new Tokenizer({ ...json, added_tokens: [] } as never, model.tokenizerConfig as never);
    for (const [token, id] of Object.entries(model.config.model.token_ids)) {
      this.idToSpecial.set(id, token);
      const slot = /^<Prompt(\d+)>$/.exec(token);
      if (slot) this.promptSlotOfId.set(id, Number(slot[1]));
    }
    for (const t of json.added_tokens ?? []) {
      const { id, content } = t as { id: number; content: string };
      if (!this.idToSpecial.has(id)) this.idToSpecial.set(id, content);
    }
    this.segId = model.config.model.token_ids['[SEG]'];
  }

  /** Model text (templates, chat markers): special tokens written in it become the tokens. */
  encode(text: string): number[] {
    const ids = this.tok.encode(text, { add_special_tokens: false }).ids;
    if (ids.some((id) => !Number.isInteger(id))) throw new Error(`tokenizer produced an unknown id for ${JSON.stringify(text)}`);
    return ids;
  }

  /** User text: never a special token, whatever it spells. */
  encodePlain(text: string): number[] {
    const ids = this.plain.encode(text, { add_special_tokens: false }).ids;
    if (ids.some((id) => !Number.isInteger(id))) throw new Error(`tokenizer produced an unknown id for ${JSON.stringify(text)}`);
    // The byte-level vocabulary covers every byte, so this only fires on a tokenizer.json whose base
    // vocabulary itself holds a special token's text: refuse rather than let user text become a token.
    const special = ids.find((id) => this.idToSpecial.has(id));
    if (special !== undefined) throw new Error(`the tokenizer's base vocabulary maps user text to the special token ${this.idToSpecial.get(special)}`);
    return ids;
  }

  /** Whether an id is one of the model's special (added) tokens. */
  isSpecial(id: number): boolean {
    return this.idToSpecial.has(id);
  }

  /** Decodes keeping special tokens ([SEG], <PromptK>) visible, as the reference does. */
  decode(ids: number[]): string {
    return this.tok.decode(ids, { skip_special_tokens: false, clean_up_tokenization_spaces: false });
  }

  /** Generated ids as answer parts: <PromptK> → region K+1, [SEG] → the next mask, other specials dropped. */
  answerParts(ids: number[]): AnswerPart[] {
    const parts: AnswerPart[] = [];
    let run: number[] = [];
    let masks = 0;
    const flush = () => {
      if (run.length) parts.push({ kind: 'text', text: this.tok.decode(run, { skip_special_tokens: false, clean_up_tokenization_spaces: false }) });
      run = [];
    };
    for (const id of ids) {
      if (!this.idToSpecial.has(id)) {
        run.push(id);
        continue;
      }
      flush();
      const slot = this.promptSlotOfId.get(id);
      if (slot !== undefined) parts.push({ kind: 'region', region: slot + 1 });
      else if (id === this.segId) parts.push({ kind: 'mask', index: masks++ });
    }
    flush();
    return parts;
  }

  tokenId(token: string): number {
    const id = this.model.config.model.token_ids[token];
    if (id === undefined) throw new Error(`model has no special token ${token}`);
    return id;
  }

  /** `<|im_start|>user\n{text}<|im_end|>\n` — one user turn of model text; the answer follows directly. */
  userTurn(text: string): number[] {
    const chat = this.model.config.chat;
    return this.encode(chat.user_prefix + text + chat.user_suffix);
  }

  /**
   * One user turn from question parts: the chat markers as tokens, text parts with special tokens off,
   * region N as <Prompt{N-1}>. Region numbers are checked by the caller against the regions it prompts.
   */
  questionTurn(parts: readonly QuestionPart[]): number[] {
    const chat = this.model.config.chat;
    const ids = [...this.encode(chat.user_prefix)];
    for (const p of normalizeQuestion(parts)) {
      if (p.kind === 'text') ids.push(...this.encodePlain(p.text));
      else ids.push(this.tokenId(`<Prompt${p.region - 1}>`));
    }
    ids.push(...this.encode(chat.user_suffix));
    return ids;
  }
}
