// TextCodec (tokenizer.ts) on the shipped model's tokenizer files (no graph is loaded): special tokens stay
// visible in decoded text, spacing is kept as written, answers become parts, and a config that lists fewer
// special tokens than tokenizer.json still treats every added token as special.
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { loadModelDir } from '../../src/engine/modelDir';
import { TextCodec } from '../../src/engine/tokenizer';

const repo = path.resolve(__dirname, '../../..');

describe('TextCodec', () => {
  const model = loadModelDir(path.join(repo, 'models/default'));
  const codec = new TextCodec(model);
  const ids = model.config.model.token_ids;

  it('decodes keeping special tokens and the spacing as written', () => {
    assert.equal(codec.decode([ids['[SEG]']]), '[SEG]');
    assert.equal(codec.decode([...codec.encode('It is '), ids['<Prompt0>'], ...codec.encode(' .')]), 'It is <Prompt0> .');
    for (const text of ['a . b', "it 's", 'x , y ! z ?', "do n't"]) assert.equal(codec.decode(codec.encodePlain(text)), text, 'no clean-up of spaces');
  });

  it('reads answers as parts: every <PromptK> up to <Prompt14>, masks numbered in order, spacing kept', () => {
    const parts = codec.answerParts([...codec.encode('a , b'), ids['<Prompt12>'], ids['[SEG]'], ids['<|im_end|>'], ...codec.encode('c'), ids['[SEG]'], ids['<Prompt0>']]);
    assert.deepEqual(parts, [
      { kind: 'text', text: 'a , b' }, { kind: 'region', region: 13 }, { kind: 'mask', index: 0 },
      { kind: 'text', text: 'c' }, { kind: 'mask', index: 1 }, { kind: 'region', region: 1 },
    ]);
    assert.deepEqual(codec.answerParts([]), []);
  });

  it('names a special token it lacks', () => {
    assert.equal(codec.tokenId('[SEG]'), ids['[SEG]']);
    assert.throws(() => codec.tokenId('<Prompt99>'), (e: Error) => e.message === 'model has no special token <Prompt99>');
  });

  it('treats tokens added in tokenizer.json as special even when config.json does not list them', () => {
    const endId = ids['<|endoftext|>'];
    const { '<|endoftext|>': _, ...fewer } = ids;
    const partial = new TextCodec({ ...model, config: { ...model.config, model: { ...model.config.model, token_ids: fewer } } });
    assert.equal(partial.isSpecial(endId), true);
    assert.equal(partial.isSpecial(codec.encodePlain('a')[0]), false);
    assert.ok(!partial.encodePlain('x <|endoftext|> y').includes(endId), 'typed, it stays text');
    assert.deepEqual(partial.answerParts([...partial.encode('ok'), endId]), [{ kind: 'text', text: 'ok' }], 'and it is dropped from answers');
    assert.deepEqual(partial.encode('<|endoftext|>'), [endId]);
  });
});

describe('TextCodec on a broken tokenizer.json', () => {
  it('refuses user text that the base vocabulary maps to a special token', () => {
    const model = loadModelDir(path.join(repo, 'models/default'));
    const json = structuredClone(model.tokenizerJson) as { model: { vocab: Record<string, number> } };
    // "!" is a byte-level base token; point it at [SEG]'s id, as a corrupted or hand-edited file might.
    const segId = model.config.model.token_ids['[SEG]'];
    json.model.vocab['!'] = segId;
    const codec = new TextCodec({ ...model, tokenizerJson: json });
    assert.throws(() => codec.encodePlain('hi!'), (e: Error) => e.message === "the tokenizer's base vocabulary maps user text to the special token [SEG]");
    assert.ok(codec.encodePlain('hi').length > 0, 'other text still encodes');
  });
});
