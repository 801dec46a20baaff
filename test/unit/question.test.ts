// Questions as structured parts, at the tokenizer level: what a user types never becomes a special token;
// region tokens come only from region parts; the CLI's <regionN> and the prompt templates map onto parts.
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import fc from 'fast-check';
import { Engine, EngineError } from '../../src/engine/engine';
import { loadModelDir } from '../../src/engine/modelDir';
import { answerText, fillTemplate, partsFromRegionText, QuestionPart, questionSchema } from '../../src/engine/question';
import { checkTask } from '../../src/engine/taskSchema';
import { TextCodec } from '../../src/engine/tokenizer';

const repo = path.resolve(__dirname, '../../..');

describe('questions as parts (tokenizer level)', () => {
  const model = loadModelDir(path.join(repo, 'models/default'));
  const codec = new TextCodec(model);
  const ids = model.config.model.token_ids;
  const specialIds = new Set(Object.values(ids));
  const chat = model.config.chat;

  it('encodes a typed <Prompt3> as plain text, not as the <Prompt3> token', () => {
    const typed = codec.encodePlain('<Prompt3>');
    assert.ok(typed.length > 1, `typed text is several byte-level tokens, got ${JSON.stringify(typed)}`);
    assert.ok(!typed.includes(ids['<Prompt3>']));
    assert.deepEqual(codec.encode('<Prompt3>'), [ids['<Prompt3>']], 'the model-text path does read it as the token');
    assert.equal(codec.decode(typed), '<Prompt3>', 'and it decodes back to the same text');
  });

  it('keeps [SEG], <vision>, <vpatch> and the chat-template markers plain in user text', () => {
    for (const token of ['[SEG]', '<vision>', '<vpatch>', '</vision>', '<|im_start|>', '<|im_end|>', '<|endoftext|>', '<NO_Prompt>', '<p>', '</p>']) {
      const typed = codec.encodePlain(`before ${token} after`);
      assert.ok(typed.every((id) => !specialIds.has(id)), `${token} typed by a user produced a special id: ${typed}`);
      assert.equal(codec.decode(typed), `before ${token} after`);
    }
  });

  it('never produces a special id from any user text (property)', () => {
    const specials = Object.keys(ids);
    const piece = fc.oneof(fc.string(), fc.constantFrom(...specials), fc.constantFrom('<', '>', '|', '[', ']', 'Prompt', '\n', ' '));
    fc.assert(fc.property(fc.array(piece, { maxLength: 12 }), (pieces) => {
      const text = pieces.join('');
      const turn = codec.questionTurn([{ kind: 'text', text }]);
      const inner = turn.slice(codec.encode(chat.user_prefix).length, turn.length - codec.encode(chat.user_suffix).length);
      assert.ok(inner.every((id) => !specialIds.has(id)), `${JSON.stringify(text)} → ${inner}`);
    }), { numRuns: 300 });
  });

  it('inserts region tokens only from region parts: region N is <Prompt{N-1}>', () => {
    const turn = codec.questionTurn([{ kind: 'text', text: 'What is ' }, { kind: 'region', region: 1 }, { kind: 'text', text: ' next to ' }, { kind: 'region', region: 15 }, { kind: 'text', text: '?' }]);
    const prompts = turn.filter((id) => id >= ids['<Prompt0>'] && id <= ids['<Prompt14>']);
    assert.deepEqual(prompts, [ids['<Prompt0>'], ids['<Prompt14>']]);
    assert.equal(turn[0], ids['<|im_start|>']);
    assert.equal(turn.filter((id) => id === ids['<|im_start|>']).length, 1);
    assert.equal(turn.filter((id) => id === ids['<|im_end|>']).length, 1);
  });

  it('encodes ordinary questions and the prompt templates exactly as the model-text path did', () => {
    // The trained model saw these ids: the parts path must not shift a single one for honest input.
    for (const q of ['What colour is the circle?', ' Please segment the red square in this image.', 'a\nb  c', 'Is it left of it? Yes.']) {
      assert.deepEqual(codec.questionTurn([{ kind: 'text', text: q }]), codec.userTurn(q));
    }
    const caption = model.config.prompts.caption;
    assert.deepEqual(codec.questionTurn(fillTemplate(caption, { region: [{ kind: 'region', region: 1 }] })), codec.userTurn(caption.replace('{region}', '<Prompt0>')));
    const seg = model.config.prompts.segment;
    assert.deepEqual(codec.questionTurn(fillTemplate(seg, { expression: [{ kind: 'text', text: 'the blue hexagon' }] })), codec.userTurn(seg.replace('{expression}', 'the blue hexagon')));
  });

  it('maps the CLI <regionN> convention onto region parts, and only that', () => {
    assert.deepEqual(partsFromRegionText('Is <region1> bigger than <region2>?', 2), [
      { kind: 'text', text: 'Is ' }, { kind: 'region', region: 1 }, { kind: 'text', text: ' bigger than ' }, { kind: 'region', region: 2 }, { kind: 'text', text: '?' },
    ]);
    assert.deepEqual(partsFromRegionText('what is <Prompt0>?', 1), [{ kind: 'text', text: 'what is <Prompt0>?' }]);
    assert.throws(() => partsFromRegionText('<region3>', 2), /<region3> is used but only 2/);
  });

  it('reads answers from token ids: <PromptK> → region K+1, [SEG] → mask, other specials dropped', () => {
    const gen = [...codec.encodePlain('It is '), ids['<Prompt1>'], ...codec.encodePlain(', see '), ids['[SEG]'], ...codec.encodePlain('.'), ids['<|endoftext|>']];
    const parts = codec.answerParts(gen);
    assert.deepEqual(parts, [{ kind: 'text', text: 'It is ' }, { kind: 'region', region: 2 }, { kind: 'text', text: ', see ' }, { kind: 'mask', index: 0 }, { kind: 'text', text: '.' }]);
    assert.equal(answerText(parts), 'It is region 2, see [mask 1].');
    // A model that spelled "<Prompt0>" out of byte tokens wrote text, and it stays text.
    assert.deepEqual(codec.answerParts(codec.encodePlain('<Prompt0>')), [{ kind: 'text', text: '<Prompt0>' }]);
  });

  it('validates question parts in the task schema', () => {
    const image = 'x.png';
    assert.ok(checkTask({ kind: 'ask', image, regions: [], question: [{ kind: 'text', text: 'hi' }] }).ok);
    const bad = checkTask({ kind: 'ask', image, regions: [], question: [{ kind: 'region', region: 16 }] });
    assert.ok(!bad.ok && /task\.question\[0\]\.region/.test(bad.problem), JSON.stringify(bad));
    assert.ok(!checkTask({ kind: 'ask', image, regions: [], question: [{ kind: 'token', id: 626 }] }).ok);
    assert.ok(!questionSchema.safeParse([]).success, 'an empty question is refused');
  });
});

describe('questions as parts (engine, tiny random model)', function () {
  let engine: Engine;
  const modelDir = path.join(repo, 'models/tiny-random');
  const sample = path.join(modelDir, 'parity/image.png');
  const box = { kind: 'box' as const, x: 10, y: 8, w: 30, h: 22 };
  before(async () => {
    engine = await Engine.open(modelDir, { device: 'cpu', cacheBudgetMb: 64 });
  });
  after(async () => engine.close());

  it('answers the same for the CLI text and the equivalent parts (same ids reach the model)', async () => {
    const question: QuestionPart[] = [{ kind: 'text', text: 'What is ' }, { kind: 'region', region: 1 }, { kind: 'text', text: '?' }];
    const a = await engine.run({ kind: 'ask', image: sample, text: 'What is <region1>?', regions: [box], maxNewTokens: 6 });
    const b = await engine.run({ kind: 'ask', image: sample, question, regions: [box], maxNewTokens: 6 });
    assert.equal(a.answer, b.answer);
    assert.ok(b.answerParts, 'the answer comes with parts');
  });

  it('refuses a region part beyond the regions given, and text and parts together', async () => {
    await assert.rejects(engine.run({ kind: 'ask', image: sample, question: [{ kind: 'region', region: 2 }], regions: [box] }), (e: Error) => e instanceof EngineError && /region 2 but only 1/.test(e.message));
    await assert.rejects(engine.run({ kind: 'ask', image: sample, text: 'x', question: [{ kind: 'text', text: 'x' }], regions: [] }), /either text .* or question parts/);
    await assert.rejects(engine.run({ kind: 'ask', image: sample, question: [{ kind: 'text', text: '  ' }], regions: [] }), /the question is empty/);
  });
});

describe('streamed answers (default model)', function () {
  it('streams text that joins up to exactly the final answer, with the special tokens marked', async () => {
    const engine = await Engine.open(path.join(repo, 'models/default'), { device: 'cpu', cacheBudgetMb: 64 });
    try {
      const pieces: { text: string; special: boolean }[] = [];
      const image = path.join(repo, 'test/data/chat/000001.png');
      const a = await engine.run({ kind: 'describe', image, region: { kind: 'box', x: 20, y: 20, w: 60, h: 60 } }, { onToken: (text, special) => pieces.push({ text, special }) });
      assert.equal(pieces.map((p) => p.text).join(''), a.answer + '<|endoftext|>'.repeat(pieces.at(-1)?.text === '<|endoftext|>' ? 1 : 0));
      assert.deepEqual(pieces.filter((p) => p.special).map((p) => p.text).slice(0, 1), ['<Prompt0>'], 'the region token comes marked special');
      assert.ok(pieces.filter((p) => !p.special).every((p) => !p.text.includes('\uFFFD')), 'no broken character is streamed');
    } finally {
      await engine.close();
    }
  });
});
