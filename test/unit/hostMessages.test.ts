// The host → webview direction of both webview protocols (src/editor/protocol.ts, src/chat/protocol.ts): every
// message the host builds fits its schema (objects built with the host's own objectView), and malformed ones
// (a wrong type tag, NaN or negative sizes, missing fields, numbers where text belongs) are refused with a
// problem short enough for the webview's banner.
import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Annotation } from '../../src/annotations/schema';
import { annotationSchema } from '../../src/annotations/schema';
import { turnSchema } from '../../src/annotations/conversationSchema';
import { fromChatSchema, toChatSchema, ToChat } from '../../src/chat/protocol';
import { objectView } from '../../src/editor/objectView';
import { toWebviewSchema, ToWebview } from '../../src/editor/protocol';
import { encodeMask, maskBbox, rleArea } from '../../src/masks/rle';
import { messageType, parseHostMessage } from '../../webview-ui/hostMessage';

const RUNS = Number(process.env.FC_RUNS || 2_000);

// A real mask through the real codec: a 6×4 block in a 20×30 image.
const mask = new Uint8Array(20 * 30);
for (let y = 5; y < 11; y++) for (let x = 3; x < 7; x++) mask[y * 30 + x] = 1;
const rle = encodeMask(mask, 20, 30);
const bbox = maskBbox(mask, 20, 30);
const area = rleArea(rle);

const modelObject: Annotation = annotationSchema.parse({
  id: 1, category_id: 2, segmentation: rle, area, bbox, iscrowd: 0,
  pixel_sail: { origin: 'model', status: 'proposed', prompt: 'the red cube', model: 'pixel-sail-tiny', caption: 'a red cube' },
});
const handObject: Annotation = annotationSchema.parse({
  id: 2, category_id: 1, segmentation: [[1, 1, 9, 1, 9, 7, 1, 7]], area: 48, bbox: [1, 1, 8, 6], iscrowd: 0,
  pixel_sail: { origin: 'human', status: 'accepted', future_field: 'kept' }, extra: true,
});
const categories = [{ id: 1, name: 'cube', color: '#e6194b' }, { id: 2, name: 'sphere', color: '#3cb44b' }];
const host = { receivedAt: 1_764_460_000_000.25, postedAt: 1_764_460_000_400.5, engineMs: 380 };

/** One of each message the editor's host sends (editorSession.ts), built as it builds them. */
const editorMessages: ToWebview[] = [
  { type: 'init', image: { src: 'https://file+.vscode-resource.vscode-cdn.net/data/cubes.png', name: 'cubes.png', width: 30, height: 20 }, objects: [modelObject, handObject].map(objectView), categories, problem: undefined },
  { type: 'init', image: { src: 'vscode-resource:/a.png', name: 'a.png', width: 1, height: 1 }, objects: [], categories: [], problem: 'The annotation file is not valid JSON', bench: true },
  { type: 'objects', objects: [modelObject, handObject].map(objectView) },
  { type: 'categories', categories },
  { type: 'engine', engine: { state: 'starting' } },
  { type: 'engine', engine: { state: 'ready', summary: 'pixel-sail-tiny · cpu · int8' } },
  { type: 'engine', engine: { state: 'failed', message: 'the model folder has no model.onnx' } },
  { type: 'busy', prompt: 'the red cube', postedAt: host.postedAt },
  { type: 'progress', what: 'prompt', stage: 'prefill', patches: 144, side: 192 },
  { type: 'progress', what: 'describe', stage: 'generate' },
  { type: 'cancelled', prompt: 'the red cube' },
  { type: 'describing', id: 1 },
  { type: 'described', id: 1, caption: 'a red cube' },
  { type: 'described', id: 1, caption: null, message: 'cancelled' },
  { type: 'candidate', prompt: 'the red cube', answer: 'It is [SEG].', mask: { rle, area, bbox }, ms: 412, host },
  { type: 'candidate', prompt: '1 box', answer: '', mask: null, ms: 0, host },
  { type: 'benchEcho', prompt: 'x', answer: 'echo', mask: null, ms: 0, host: { ...host, engineMs: 0 } },
  { type: 'candidateCleared' },
  { type: 'promptFailed', prompt: 'the red cube', message: 'the engine stopped' },
  { type: 'problem', message: null },
  { type: 'problem', message: 'Could not save: disk full' },
  { type: 'review', images: 12, reviewed: 3, hasNext: true, hasPrevious: false },
  { type: 'review', images: 0, reviewed: 0, hasNext: false, hasPrevious: false, message: 'no job has run here' },
  { type: 'chatRegions', regions: [{ n: 1, spec: { kind: 'box', x: -2, y: 0, w: 5, h: 5 } }, { n: 2, spec: { kind: 'points', points: [{ x: 1, y: 2, positive: false }] } }, { n: 3, spec: { kind: 'scribble', points: [{ x: 1, y: 2 }], width: 4 } }, { n: 4, spec: { kind: 'rle', rle } }] },
  { type: 'chatHighlight', n: 2 },
  { type: 'chatHighlight', n: null },
  { type: 'chatMasks', turnId: 't-7', masks: [{ rle, bbox }] },
  { type: 'addedToChat', regions: [1, 2] },
  { type: 'chatFailed', message: 'the chat has 15 regions already' },
];

const answer = { kind: 'answer' as const, id: 'a-1', parts: [{ kind: 'text' as const, text: 'It is ' }, { kind: 'region' as const, region: 1 }, { kind: 'mask' as const, index: 0 }], masks: [{ rle, area, bbox, acceptedAs: 1 }, { rle, area, bbox, acceptedAs: undefined }], status: 'complete' as const, message: undefined };
/** One of each message the chat's host sends (chatController.ts), built as it builds them. */
const chatMessages: ToChat[] = [
  { type: 'state', state: { image: null, regions: [], objects: [], turns: [], busy: false, problem: 'Open an image in the Pixel-SAIL editor to chat about it.' } },
  {
    type: 'state',
    state: {
      image: { name: 'cubes.png', width: 30, height: 20, src: 'vscode-resource:/cubes.png' },
      regions: [{ n: 1, label: 'object 1 (cube)' }],
      objects: [{ id: 1, label: '#1 cube' }],
      turns: [
        { kind: 'question', id: 'q-1', parts: [{ kind: 'text', text: 'What is ' }, { kind: 'region', region: 1 }] },
        answer,
        { kind: 'answer', id: 'a-2', parts: [], masks: [], status: 'failed', message: 'The model answered nothing.' },
        { kind: 'question', id: 'q-3', parts: [{ kind: 'text', text: 'and now?' }] },
        { kind: 'answer', id: 'a-3', parts: [{ kind: 'text', text: 'It' }], masks: [], status: 'streaming', progress: { stage: { stage: 'prefill', patches: 144, side: 192 }, engineStarting: false } },
        { kind: 'notice', id: 'n-1', text: 'Cleared.' },
      ],
      busy: true,
    },
  },
  { type: 'tokens', turnId: 'a-3', parts: [{ kind: 'text', text: ' is' }, { kind: 'mask', index: 0 }], producedAt: [host.receivedAt, host.postedAt], hostAt: [host.postedAt, host.postedAt + 1], postedAt: host.postedAt + 2 },
  { type: 'progress', turnId: 'a-3', progress: { stage: undefined, engineStarting: true } },
  { type: 'progress', turnId: 'a-3', progress: { stage: { stage: 'masks' }, engineStarting: false } },
  { type: 'highlightFromCanvas', region: 3 },
  { type: 'highlightFromCanvas', region: null },
];

/** The type tags a discriminated union accepts (its options' `type` literals). */
function tags(schema: { _zod: { propValues?: Record<string, Set<unknown>> } }): string[] {
  return [...(schema._zod.propValues?.type ?? [])].map(String).sort();
}

/** The message as the webview may get it: over code-server's remote channel it travels as JSON, which drops
 * undefined keys (`problem: undefined`) and turns NaN into null. */
const overTheWire = (m: unknown) => JSON.parse(JSON.stringify(m));

describe('host → webview messages', () => {
  it('every message the editor host builds fits toWebviewSchema, and every type of message is among them', () => {
    for (const m of editorMessages) {
      for (const form of [m, overTheWire(m)]) {
        const r = toWebviewSchema.safeParse(form);
        assert.ok(r.success, `${m.type}: ${JSON.stringify(r.error?.issues)}`);
      }
    }
    assert.deepEqual([...new Set(editorMessages.map((m) => m.type))].sort(), tags(toWebviewSchema));
  });

  it('every message the chat host builds fits toChatSchema, and every type of message is among them', () => {
    for (const m of chatMessages) {
      for (const form of [m, overTheWire(m)]) {
        const r = toChatSchema.safeParse(form);
        assert.ok(r.success, `${m.type}: ${JSON.stringify(r.error?.issues)}`);
      }
    }
    assert.deepEqual([...new Set(chatMessages.map((m) => m.type))].sort(), tags(toChatSchema));
  });

  it("objectView's objects fit the schema for any valid annotation", () => {
    const annotation = fc.record({
      id: fc.integer({ min: 1, max: 1e6 }),
      category_id: fc.integer({ min: 1, max: 1e6 }),
      segmentation: fc.oneof(
        fc.constant(rle),
        fc.array(fc.array(fc.double({ min: -1e4, max: 1e4, noNaN: true }), { minLength: 3, maxLength: 20 }).map((p) => [...p, ...p]), { minLength: 1, maxLength: 4 }),
      ),
      area: fc.double({ min: 0, max: 1e8, noNaN: true }),
      bbox: fc.tuple(...Array.from({ length: 4 }, () => fc.double({ min: 0, max: 1e5, noNaN: true }))),
      iscrowd: fc.constantFrom(0, 1),
      pixel_sail: fc.record({ origin: fc.constantFrom('model', 'human'), status: fc.constantFrom('proposed', 'accepted', 'rejected'), prompt: fc.option(fc.string(), { nil: undefined }), caption: fc.option(fc.string(), { nil: undefined }) }, { requiredKeys: ['origin', 'status'] }),
    }).map((a) => annotationSchema.parse(a));
    fc.assert(fc.property(annotation, (a) => {
      const r = toWebviewSchema.safeParse(overTheWire({ type: 'objects', objects: [objectView(a)] }));
      assert.ok(r.success, JSON.stringify(r.error?.issues));
    }), { numRuns: RUNS });
  });

  it('shows whatever a store file may hold: a long turn id, a mask whose bbox leaves the image', () => {
    // What the store loads (conversationSchema.ts) the chat must show; a refusal here would hide a whole chat.
    // (A negative bbox the store refuses, as it does an object's: conversation.test.ts.)
    const stored = turnSchema.parse({ kind: 'answer', id: 'x'.repeat(300), parts: [{ kind: 'text', text: 'here' }], masks: [{ rle, area: 0, bbox: [25, 15, 40, 20] }], status: 'complete' });
    assert.equal(stored.kind, 'answer');
    if (stored.kind !== 'answer') return;
    // As chatController.view() turns a stored answer into a TurnView.
    const turn = { kind: 'answer' as const, id: stored.id, parts: stored.parts, status: stored.status, message: stored.message, masks: stored.masks.map((m) => ({ rle: m.rle, area: m.area, bbox: m.bbox, acceptedAs: undefined })) };
    const state = { image: null, regions: [], objects: [], turns: [turn], busy: false };
    assert.ok(toChatSchema.safeParse(overTheWire({ type: 'state', state })).success);
    assert.ok(toWebviewSchema.safeParse(overTheWire({ type: 'chatMasks', turnId: stored.id, masks: turn.masks.map((m) => ({ rle: m.rle, bbox: m.bbox })) })).success);
  });

  it("takes back from the chat webview every turn id the store accepts: Copy, Accept and Use as caption never go quiet", () => {
    // The webview sends a stored turn's id back as it got it; an id the store loaded but the chat protocol
    // refused made those buttons do nothing (the host drops a message that fails fromChatSchema).
    const ids = fc.oneof(fc.string({ minLength: 1, maxLength: 2000 }), fc.constant('x'.repeat(201)), fc.constant('y'.repeat(5000)), fc.string({ unit: 'binary', minLength: 1, maxLength: 400 }));
    fc.assert(fc.property(ids, (id) => {
      if (!turnSchema.safeParse({ kind: 'notice', id, text: '' }).success) return;
      for (const m of [{ type: 'copy', turnId: id }, { type: 'accept', turnId: id, index: 0 }, { type: 'useAsCaption', turnId: id, objectId: 1 }]) {
        const r = fromChatSchema.safeParse(overTheWire(m));
        assert.ok(r.success, `${m.type} with a ${id.length}-character id: ${JSON.stringify(r.error?.issues)}`);
      }
    }), { numRuns: RUNS });
    // And the one id the store refuses, the chat refuses too.
    assert.equal(turnSchema.safeParse({ kind: 'notice', id: '', text: '' }).success, false);
    assert.equal(fromChatSchema.safeParse({ type: 'copy', turnId: '' }).success, false);
  });

  it('refuses malformed editor messages: wrong tags, NaN or negative sizes, missing fields', () => {
    const init = editorMessages[0] as Extract<ToWebview, { type: 'init' }>;
    const object = init.objects[0];
    const bad: [string, unknown][] = [
      ['not an object', 'init'],
      ['null', null],
      ['no type', { objects: [] }],
      ['unknown type', { type: 'objectz', objects: [] }],
      ['type of another message', { type: 'objects', categories }],
      ['NaN width', { ...init, image: { ...init.image, width: NaN } }],
      ['zero height', { ...init, image: { ...init.image, height: 0 } }],
      ['fractional width', { ...init, image: { ...init.image, width: 30.5 } }],
      ['no image', { ...init, image: undefined }],
      ['negative area', { type: 'objects', objects: [{ ...object, area: -1 }] }],
      ['NaN bbox', { type: 'objects', objects: [{ ...object, bbox: [0, 0, NaN, 1] }] }],
      ['short bbox', { type: 'objects', objects: [{ ...object, bbox: [0, 0, 1] }] }],
      ['negative RLE size', { type: 'objects', objects: [{ ...object, rle: { size: [-20, 30], counts: rle.counts } }] }],
      ['RLE without counts', { type: 'objects', objects: [{ ...object, rle: { size: [20, 30] } }] }],
      ['object without status', { type: 'objects', objects: [{ ...object, status: undefined }] }],
      ['unknown origin', { type: 'objects', objects: [{ ...object, origin: 'robot' }] }],
      ['odd polygon', { type: 'objects', objects: [{ ...object, rle: null, polygons: [[1, 2, 3, 4, 5, 6, 7]] }] }],
      ['bad colour', { type: 'categories', categories: [{ id: 1, name: 'cube', color: 'red' }] }],
      ['category id 0', { type: 'categories', categories: [{ id: 0, name: 'cube', color: '#ffffff' }] }],
      ['unknown engine state', { type: 'engine', engine: { state: 'broken' } }],
      ['failed engine without message', { type: 'engine', engine: { state: 'failed' } }],
      ['unknown stage', { type: 'progress', what: 'prompt', stage: 'thinking' }],
      ['negative patches', { type: 'progress', what: 'prompt', stage: 'prefill', patches: -1 }],
      ['candidate with negative ms', { ...editorMessages[14], ms: -5 }],
      ['candidate without host timing', { ...editorMessages[14], host: undefined }],
      ['candidate with an infinite time', { ...editorMessages[14], host: { ...host, postedAt: Infinity } }],
      ['review with negative counts', { type: 'review', images: -1, reviewed: 0, hasNext: false, hasPrevious: false }],
      ['caption as a number', { type: 'described', id: 1, caption: 42 }],
      ['chat region 0', { type: 'chatRegions', regions: [{ n: 0, spec: { kind: 'box', x: 0, y: 0, w: 1, h: 1 } }] }],
      ['empty box region', { type: 'chatRegions', regions: [{ n: 1, spec: { kind: 'box', x: 0, y: 0, w: 0, h: 1 } }] }],
      ['chat masks without turn', { type: 'chatMasks', masks: [] }],
      ['problem missing', { type: 'problem' }],
    ];
    for (const [why, m] of bad) assert.equal(toWebviewSchema.safeParse(m).success, false, why);
  });

  it('refuses malformed chat messages', () => {
    const state = (chatMessages[1] as Extract<ToChat, { type: 'state' }>).state;
    const tokens = chatMessages[2] as Extract<ToChat, { type: 'tokens' }>;
    const bad: [string, unknown][] = [
      ['unknown type', { type: 'stat', state }],
      ['state missing', { type: 'state' }],
      ['busy as text', { type: 'state', state: { ...state, busy: 'no' } }],
      ['NaN image width', { type: 'state', state: { ...state, image: { ...state.image, width: NaN } } }],
      ['region 16', { type: 'state', state: { ...state, regions: [{ n: 16, label: 'x' }] } }],
      ['unknown turn kind', { type: 'state', state: { ...state, turns: [{ kind: 'thought', id: 't', text: '' }] } }],
      ['turn without id', { type: 'state', state: { ...state, turns: [{ kind: 'notice', text: 'x' }] } }],
      ['unknown answer status', { type: 'state', state: { ...state, turns: [{ ...answer, status: 'thinking' }] } }],
      ['mask with negative area', { type: 'state', state: { ...state, turns: [{ ...answer, masks: [{ rle, area: -3, bbox }] }] } }],
      ['unknown part', { ...tokens, parts: [{ kind: 'seg' }, { kind: 'text', text: '' }] }],
      ['text part without text', { ...tokens, parts: [{ kind: 'text' }], producedAt: [1], hostAt: [1] }],
      ['times not one per part', { ...tokens, producedAt: [1] }],
      ['NaN time', { ...tokens, postedAt: NaN }],
      ['negative time', { ...tokens, hostAt: [-1, 2] }],
      ['empty turn id', { ...tokens, turnId: '' }],
      ['progress without engineStarting', { type: 'progress', turnId: 'a', progress: {} }],
      ['highlight of region 0', { type: 'highlightFromCanvas', region: 0 }],
    ];
    for (const [why, m] of bad) assert.equal(toChatSchema.safeParse(m).success, false, why);
  });

  it('refuses any message with a number leaf made NaN or infinite, or a text leaf made a number', () => {
    type Path = (string | number)[];
    const leaves = (v: unknown, path: Path = []): { path: Path; value: unknown }[] =>
      v !== null && typeof v === 'object' ? Object.entries(v).flatMap(([k, x]) => leaves(x, [...path, Array.isArray(v) ? Number(k) : k])) : [{ path, value: v }];
    const set = (v: unknown, path: Path, value: unknown): unknown => {
      const copy = structuredClone(v) as Record<string | number, unknown>;
      let at = copy;
      for (const k of path.slice(0, -1)) at = at[k] as Record<string | number, unknown>;
      at[path[path.length - 1]] = value;
      return copy;
    };
    const cases = [
      ...editorMessages.map((m) => ({ schema: toWebviewSchema as { safeParse(v: unknown): { success: boolean } }, m: overTheWire(m) })),
      ...chatMessages.map((m) => ({ schema: toChatSchema as { safeParse(v: unknown): { success: boolean } }, m: overTheWire(m) })),
    ];
    const target = fc.constantFrom(...cases).chain(({ schema, m }) => {
      const spots = leaves(m).filter((l) => typeof l.value === 'number' || typeof l.value === 'string');
      return fc.record({ schema: fc.constant(schema), m: fc.constant(m), spot: fc.constantFrom(...spots), nan: fc.constantFrom(NaN, Infinity, -Infinity) });
    });
    fc.assert(fc.property(target, ({ schema, m, spot, nan }) => {
      const broken = set(m, spot.path, typeof spot.value === 'number' ? nan : 7);
      assert.equal(schema.safeParse(broken).success, false, `${spot.path.join('.')} → ${typeof spot.value === 'number' ? nan : 7}`);
    }), { numRuns: RUNS });
  });

  it("says what was wrong with a refused message, short enough for the banner, and what is right passes", () => {
    const refused = parseHostMessage(toWebviewSchema, { type: 'objects', objects: [{ ...objectView(modelObject), area: NaN }] }, 'image editor');
    assert.equal(refused.ok, false);
    if (refused.ok) return;
    assert.match(refused.problem, /^The image editor ignored a malformed 'objects' message from the extension: objects\.0\.area: /);
    const huge = parseHostMessage(toChatSchema, { type: 'x'.repeat(5000) }, 'chat');
    assert.ok(!huge.ok && huge.problem.length <= 300, 'the problem is cut to 300 characters');
    assert.equal(messageType(42), '');
    assert.equal(messageType({ type: 'state' }), "'state' ");
    const ok = parseHostMessage(toChatSchema, chatMessages[2], 'chat');
    assert.ok(ok.ok && ok.message.type === 'tokens' && ok.message.parts.length === 2);
  });
});
