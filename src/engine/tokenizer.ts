// Tokenization through @huggingface/tokenizers, which reads the model's tokenizer.json as-is
// (special tokens, pre-tokenizer, BPE merges). The chat layout comes from config.json.
import { Tokenizer } from '@huggingface/tokenizers';
import type { ModelDir } from './modelDir';

export class TextCodec {
  private readonly tok: Tokenizer;
  private readonly idToSpecial = new Map<number, string>();

  constructor(private readonly model: ModelDir) {
    this.tok = new Tokenizer(model.tokenizerJson as never, model.tokenizerConfig as never);
    for (const [token, id] of Object.entries(model.config.model.token_ids)) this.idToSpecial.set(id, token);
  }

  encode(text: string): number[] {
    const ids = this.tok.encode(text, { add_special_tokens: false }).ids;
    if (ids.some((id) => !Number.isInteger(id))) throw new Error(`tokenizer produced an unknown id for ${JSON.stringify(text)}`);
    return ids;
  }

  /** Decodes keeping special tokens ([SEG], <PromptK>) visible, as the reference does. */
  decode(ids: number[]): string {
    return this.tok.decode(ids, { skip_special_tokens: false, clean_up_tokenization_spaces: false });
  }

  tokenId(token: string): number {
    const id = this.model.config.model.token_ids[token];
    if (id === undefined) throw new Error(`model has no special token ${token}`);
    return id;
  }

  /** `<|im_start|>user\n{text}<|im_end|>\n` — one user turn; the answer follows directly. */
  userTurn(text: string): number[] {
    const chat = this.model.config.chat;
    return this.encode(chat.user_prefix + text + chat.user_suffix);
  }
}
