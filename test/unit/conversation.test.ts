// The chat's conversation model: region numbering and slot mapping, typed messages and escaping, answers
// as chips (never raw tokens), fresh-context rules, and the persistence format in the store file,
// including the upgrade of the older (format 1, plain text) conversations.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Conversation } from '../../src/annotations/conversationSchema';
import { applyEdit, AnnotationState, describeEdit, invertEdit, setCaption, stateFromFile, stateToFile } from '../../src/annotations/document';
import { parseAnnotationFile, readAnnotationFile, StoreFormatError, writeAnnotationFile } from '../../src/annotations/store';
import { addRegion, AnswerStream, answerPartsFromText, ChatError, engineRegions, freshContextReason, markAccepted, messageText, newConversation, parseMessage, regionSetKey, upgradeConversation, withoutMissingMasks, withTurns } from '../../src/chat/conversation';
import { loadModelDir } from '../../src/engine/modelDir';
import { TextCodec } from '../../src/engine/tokenizer';

const repo = path.resolve(__dirname, '../../..');
const box = (x: number) => ({ kind: 'box' as const, x, y: 0, w: 4, h: 4 });
const image = { file_name: 'scene.png', width: 8, height: 6 };

describe('chat conversation model', () => {
  it('numbers regions 1…15 in the order added; region N is engine slot N-1 (<Prompt{N-1}>)', () => {
    let c = newConversation('c');
    for (let i = 0; i < 15; i++) c = addRegion(c, { source: 'canvas', spec: box(i) }).conversation;
    assert.deepEqual(c.regions.map((r) => r.n), Array.from({ length: 15 }, (_, i) => i + 1));
    assert.deepEqual(engineRegions(c).map((r) => (r as { x: number }).x), Array.from({ length: 15 }, (_, i) => i));
    assert.throws(() => addRegion(c, { source: 'canvas', spec: box(99) }), (e: Error) => e instanceof ChatError && /at most 15 regions.*Clear the conversation/.test(e.message));
  });

  it('refuses the same object twice as a region', () => {
    const c = addRegion(newConversation('c'), { source: 'object', objectId: 3, spec: box(0) }).conversation;
    assert.throws(() => addRegion(c, { source: 'object', objectId: 3, spec: box(0) }), /already region 1/);
  });

  it('turns @regionN into references and leaves everything else as text, model tokens included', () => {
    assert.deepEqual(parseMessage('Is @region1 bigger than @region2?', 2), [
      { kind: 'text', text: 'Is ' }, { kind: 'region', region: 1 }, { kind: 'text', text: ' bigger than ' }, { kind: 'region', region: 2 }, { kind: 'text', text: '?' },
    ]);
    assert.deepEqual(parseMessage('what is <Prompt3> [SEG] <|im_start|>user', 1), [{ kind: 'text', text: 'what is <Prompt3> [SEG] <|im_start|>user' }]);
    assert.throws(() => parseMessage('what is @region3?', 2), /There is no region 3: this conversation has region 1–2/);
    assert.throws(() => parseMessage('what is @region1?', 0), /add a region first/);
    assert.throws(() => parseMessage('   ', 0), /The message is empty/);
    assert.equal(messageText(parseMessage('a @region1 b', 1)), 'a @region1 b');
  });

  it('keeps typed special tokens out of the model: the parts of a typed "<Prompt3>" tokenize with no special id', () => {
    const model = loadModelDir(path.join(repo, 'models/default'));
    const codec = new TextCodec(model);
    const specials = new Set(Object.values(model.config.model.token_ids));
    const turn = codec.questionTurn(parseMessage('describe <Prompt3> and @region1', 1));
    const prompts = turn.filter((id) => specials.has(id) && id >= model.config.model.token_ids['<Prompt0>'] && id <= model.config.model.token_ids['<Prompt14>']);
    assert.deepEqual(prompts, [model.config.model.token_ids['<Prompt0>']], 'only the @region1 reference is a prompt token');
  });

  it('streams answers into parts: special <PromptK> → chip, [SEG] → mask, other specials dropped, text never a chip', () => {
    const s = new AnswerStream();
    for (const [t, sp] of [['It', false], [' is', false], [' ', false], ['<Prompt0>', true], ['<Prompt1>', false], ['.', false], ['[SEG]', true], ['<|endoftext|>', true]] as [string, boolean][]) s.push(t, sp);
    assert.deepEqual(s.parts, [{ kind: 'text', text: 'It is ' }, { kind: 'region', region: 1 }, { kind: 'text', text: '<Prompt1>.' }, { kind: 'mask', index: 0 }]);
  });

  it('drops a mask reference the answer has no mask for, and joins the words around it as a person writes them', () => {
    const stream = new AnswerStream();
    for (const [t, special] of [['No', false], [' target', false], [' ', false], ['[SEG]', true], ['.', false]] as const) stream.push(t, special);
    assert.deepEqual(withoutMissingMasks(stream.parts, 0), [{ kind: 'text', text: 'No target.' }]);
    // With its mask the reference stays, and the text is untouched.
    assert.deepEqual(withoutMissingMasks(stream.parts, 1), stream.parts);
    // Between words one space is left; a region chip is not text and is kept as it is.
    assert.deepEqual(withoutMissingMasks([{ kind: 'text', text: 'the cat ' }, { kind: 'mask', index: 0 }, { kind: 'text', text: ' and ' }, { kind: 'region', region: 1 }], 0),
      [{ kind: 'text', text: 'the cat and ' }, { kind: 'region', region: 1 }]);
    assert.deepEqual(withoutMissingMasks([{ kind: 'text', text: 'Sure, ' }, { kind: 'mask', index: 0 }, { kind: 'mask', index: 1 }, { kind: 'text', text: '.' }], 1),
      [{ kind: 'text', text: 'Sure, ' }, { kind: 'mask', index: 0 }, { kind: 'text', text: '.' }]);
  });

  it('reads raw tokens out of stored text answers (the CLI writes "<Prompt0>: a red circle")', () => {
    assert.deepEqual(answerPartsFromText('<Prompt0>: a red circle<|endoftext|>'), [{ kind: 'region', region: 1 }, { kind: 'text', text: ': a red circle' }]);
    assert.deepEqual(answerPartsFromText('It is [SEG].'), [{ kind: 'text', text: 'It is ' }, { kind: 'mask', index: 0 }, { kind: 'text', text: '.' }]);
  });

  it('says when the next question needs a fresh context, and why', () => {
    let c = addRegion(newConversation('c'), { source: 'canvas', spec: box(0) }).conversation;
    assert.equal(freshContextReason(c, undefined, 'img'), undefined, 'nothing to lose before the first question');
    c = withTurns(c, { kind: 'question', id: 'q1', parts: [{ kind: 'text', text: 'hi' }] }, { kind: 'answer', id: 'a1', parts: [], masks: [], status: 'complete' });
    const ctx = { regionKey: regionSetKey(c), afterTurn: 'a1', imageKey: 'img' };
    assert.equal(freshContextReason(c, ctx, 'img'), undefined, 'same image, regions and turns: continue');
    assert.match(freshContextReason(c, ctx, 'other')!, /the image changed/);
    assert.match(freshContextReason(addRegion(c, { source: 'canvas', spec: box(1) }).conversation, ctx, 'img')!, /the regions changed/);
    assert.match(freshContextReason(c, undefined, 'img')!, /window was reloaded or the engine restarted/);
    assert.match(freshContextReason(withTurns(c, { kind: 'question', id: 'q2', parts: [{ kind: 'text', text: 'x' }] }), ctx, 'img')!, /edited/);
  });
});

describe('chat persistence in the store file', () => {
  const rle = { size: [6, 8] as [number, number], counts: '48' };
  const conversation = (): Conversation => {
    let c = addRegion(newConversation('conv-1'), { source: 'object', objectId: 1, spec: { kind: 'rle', rle } }).conversation;
    c = withTurns(c,
      { kind: 'question', id: 'q1', parts: [{ kind: 'text', text: 'What is ' }, { kind: 'region', region: 1 }, { kind: 'text', text: '?' }] },
      { kind: 'answer', id: 'a1', parts: [{ kind: 'region', region: 1 }, { kind: 'text', text: ': a red circle' }], masks: [{ rle, area: 0, bbox: [0, 0, 0, 0] }], status: 'complete' });
    return markAccepted(c, 'a1', 0, 7);
  };

  it('writes the conversation in the store file and reads it back exactly', async () => {
    const state: AnnotationState = { image, annotations: [], conversations: [conversation()] };
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ps-chat-')), 'scene.png.json');
    await writeAnnotationFile(file, stateToFile(state));
    const onDisk = JSON.parse(fs.readFileSync(file, 'utf8'));
    assert.equal(onDisk.version, 1, 'the store version is unchanged: the chat has its own format');
    assert.equal(onDisk.conversations[0].format, 2);
    assert.equal(onDisk.conversations[0].turns[1].masks[0].acceptedAs, 7);
    assert.deepEqual(stateFromFile((await readAnnotationFile(file))!), state);
  });

  it('writes no conversations key for an image without a chat (files stay as they were)', () => {
    assert.ok(!('conversations' in stateToFile({ image, annotations: [] })));
    assert.ok(!('conversations' in stateToFile({ image, annotations: [], conversations: [] })));
  });

  it('changes the conversation through an undoable edit', () => {
    const before: AnnotationState = { image, annotations: [] };
    const edit = { kind: 'setConversations' as const, from: [], to: [conversation()], label: 'Chat: ask' };
    const after = applyEdit(before, edit);
    assert.deepEqual(after.conversations, [conversation()]);
    assert.deepEqual(applyEdit(after, invertEdit(edit)).conversations, []);
    assert.throws(() => applyEdit(before, invertEdit(edit)), /the conversation has changed/);
  });

  it('sets an object\'s caption from an answer through an undoable edit', () => {
    const annotation = { id: 4, category_id: 1, segmentation: rle, area: 0, bbox: [0, 0, 0, 0] as [number, number, number, number], iscrowd: 0 as const, pixel_sail: { origin: 'human' as const, status: 'accepted' as const } };
    const before: AnnotationState = { image, annotations: [annotation] };
    const edit = setCaption(before, 4, 'a red circle', 'Chat: use answer as caption')!;
    assert.equal(describeEdit(edit), 'Chat: use answer as caption');
    const after = applyEdit(before, edit);
    assert.equal(after.annotations[0].pixel_sail.caption, 'a red circle');
    assert.deepEqual(applyEdit(after, invertEdit(edit)), before, 'undo removes the caption again');
    assert.throws(() => applyEdit(after, edit), /has changed since this edit was made/);
  });

  it('loads an older (format 1, plain text) conversation as the current format, with chips for raw tokens', () => {
    const old = {
      version: 1, image, annotations: [],
      conversations: [{ format: 1, regions: [{ kind: 'box', x: 1, y: 1, w: 3, h: 2 }], turns: [{ question: 'Describe <region1> please', answer: '<Prompt0>: a small blue square[SEG]<|endoftext|>' }] }],
    };
    const state = stateFromFile(parseAnnotationFile(JSON.stringify(old), 'old.json'));
    const c = state.conversations![0];
    assert.equal(c.format, 2);
    assert.equal(c.id, 'imported-1');
    assert.deepEqual(c.regions, [{ n: 1, source: 'canvas', spec: { kind: 'box', x: 1, y: 1, w: 3, h: 2 } }]);
    assert.deepEqual(c.turns[0], { kind: 'question', id: 'v1-0-q', parts: [{ kind: 'text', text: 'Describe ' }, { kind: 'region', region: 1 }, { kind: 'text', text: ' please' }] });
    assert.deepEqual(c.turns[1], { kind: 'answer', id: 'v1-0-a', parts: [{ kind: 'region', region: 1 }, { kind: 'text', text: ': a small blue square' }, { kind: 'mask', index: 0 }], masks: [], status: 'complete' });
    assert.equal(stateToFile(state).conversations![0].format, 2, 'saved again in the current format');
    assert.deepEqual(upgradeConversation(c), c, 'the current format upgrades to itself');
  });

  it('refuses a malformed conversation with the JSON path, like any other store problem', () => {
    const bad = { version: 1, image, annotations: [], conversations: [{ format: 2, id: 'x', regions: [{ n: 16, source: 'canvas', spec: { kind: 'box', x: 0, y: 0, w: 1, h: 1 } }], turns: [] }] };
    assert.throws(() => parseAnnotationFile(JSON.stringify(bad), 'bad.json'), (e: Error) => e instanceof StoreFormatError && e.jsonPath === '$.conversations[0].regions[0].n');
    const future = { version: 1, image, annotations: [], conversations: [{ format: 3, id: 'x' }] };
    assert.throws(() => parseAnnotationFile(JSON.stringify(future), 'f.json'), (e: Error) => e instanceof StoreFormatError && /conversations\[0\]/.test(e.jsonPath));
  });

  it("refuses a chat mask's negative bbox as it refuses an object's, naming the field, and leaves the file as it was", async () => {
    // A chat mask becomes an object on Accept (its bbox copied), so the two follow one rule (sharedSchemas.ts).
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ps-conv-')), 'scene.png.json');
    const onDisk = JSON.parse(JSON.stringify(stateToFile({ image, annotations: [], conversations: [conversation()] })));
    onDisk.conversations[0].turns[1].masks[0].bbox = [-2, 0, 3, 1];
    const text = JSON.stringify(onDisk, null, 2);
    fs.writeFileSync(file, text);
    await assert.rejects(readAnnotationFile(file), (e: unknown) => {
      assert.ok(e instanceof StoreFormatError);
      assert.equal(e.jsonPath, '$.conversations[0].turns[1].masks[0].bbox[0]');
      assert.match(e.message, /^.*scene\.png\.json: \$\.conversations\[0\]\.turns\[1\]\.masks\[0\]\.bbox\[0\]: .*>=\s*0/);
      return true;
    });
    // Nor is such a conversation ever written: the file on disk keeps its bytes.
    const state = stateFromFile(JSON.parse(JSON.stringify({ ...onDisk, conversations: [conversation()] })));
    const bad = stateToFile(state);
    (bad.conversations![0].turns[1] as { masks: { bbox: number[] }[] }).masks[0].bbox = [0, -1, 3, 1];
    await assert.rejects(writeAnnotationFile(file, bad), (e: unknown) => e instanceof StoreFormatError && e.jsonPath === '$.conversations[0].turns[1].masks[0].bbox[1]');
    assert.equal(fs.readFileSync(file, 'utf8'), text);
    assert.deepEqual(fs.readdirSync(path.dirname(file)), ['scene.png.json'], 'no temporary file left behind');
  });
});
