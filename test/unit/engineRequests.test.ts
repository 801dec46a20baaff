// The engine's own checks of a request, in process (the CLI tests reach the same messages through a child
// process, where mutation testing cannot see them): each refusal is an EngineError with its own message, and
// each limit is exact — the value at the limit runs, the next one is refused.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { Engine, EngineError, MAX_NEW_TOKENS, MAX_PROMPT_TOKENS, missingCudaProvider } from '../../src/engine/engine';
import { MAX_SCRIBBLE_POINTS, RegionSpecError } from '../../src/engine/regions';

const repo = path.resolve(__dirname, '../../..');
const modelDir = path.join(repo, 'models/tiny-random');
const image = path.join(modelDir, 'parity/image.png'); // 80 × 48

describe('engine requests: refusals and exact limits (in process, tiny random model)', function () {
  let engine: Engine;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ps-engine-requests-'));
  before(async () => {
    engine = await Engine.open(modelDir, { device: 'cpu', cacheBudgetMb: 64 });
  });
  after(async () => {
    await engine.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  /** The request is refused with an EngineError of code bad-input whose message matches. */
  const refused = (run: Promise<unknown>, message: RegExp) =>
    assert.rejects(run, (e: unknown) => {
      assert.ok(e instanceof EngineError, `an EngineError, not ${String(e)}`);
      assert.equal(e.code, 'bad-input');
      assert.match(e.message, message);
      return true;
    });

  it('an EngineError is bad input unless it says otherwise', () => {
    assert.equal(new EngineError('x').code, 'bad-input');
    assert.equal(new EngineError('x', 'model').code, 'model');
  });

  it('refuses an empty text prompt, a visual prompt without a region, and an ask with both or neither of text and parts', async () => {
    await refused(engine.run({ kind: 'segment', image, text: ' \t ' }), /^the text prompt is empty$/);
    await refused(engine.run({ kind: 'segmentRegions', image, regions: [] }), /^no region given$/);
    await refused(engine.run({ kind: 'ask', image, regions: [], text: 'a', question: [{ kind: 'text', text: 'a' }] }), /^an ask request needs either text .* or question parts, not both$/);
    await refused(engine.run({ kind: 'ask', image, regions: [] }), /^an ask request needs either text/);
    await refused(engine.run({ kind: 'ask', image, regions: [], question: [{ kind: 'text', text: '   ' }] }), /^the question is empty$/);
    await refused(engine.run({ kind: 'ask', image, regions: [{ kind: 'points', points: [{ x: 3, y: 3, positive: true }] }], question: [{ kind: 'text', text: 'what is ' }, { kind: 'region', region: 2 }] }),
      /^the question refers to region 2 but only 1 region\(s\) were given$/);
    // A question of a region alone is not empty.
    const a = await engine.run({ kind: 'ask', image, regions: [{ kind: 'points', points: [{ x: 3, y: 3, positive: true }] }], question: [{ kind: 'region', region: 1 }], maxNewTokens: 1 });
    assert.ok((a.answerParts ?? []).length <= 1);
  });

  it(`maxNewTokens runs from 1 to ${MAX_NEW_TOKENS}, integers only`, async () => {
    for (const bad of [0, MAX_NEW_TOKENS + 1, 2.5, -1]) {
      await refused(engine.run({ kind: 'segment', image, text: 'x', maxNewTokens: bad }), new RegExp(`^maxNewTokens must be an integer from 1 to ${MAX_NEW_TOKENS}, got ${bad}$`));
    }
    let tokens = 0;
    await engine.run({ kind: 'ask', image, regions: [], text: 'Tell me everything.', maxNewTokens: 1 }, { onToken: () => tokens++ });
    assert.equal(tokens, 1, 'one token at the lower limit');
    // At the upper limit it runs (stopped after a few tokens: the random model may never write a stop token).
    tokens = 0;
    await assert.rejects(engine.run({ kind: 'ask', image, regions: [], text: 'Tell me everything.', maxNewTokens: MAX_NEW_TOKENS }, { onToken: () => tokens++, shouldStop: () => tokens >= 3 }), (e: Error) => e.message === 'cancelled');
    assert.equal(tokens, 3, 'it ran until stopped');
  });

  it(`a prompt of exactly ${MAX_PROMPT_TOKENS} tokens runs; one more is refused with its length`, async () => {
    const words = (n: number) => Array.from({ length: n }, () => 'a').join(' ');
    // The template's own tokens, read from the refusal of a prompt well over the limit ("a" and " a" are one token each).
    const over = 2 * MAX_PROMPT_TOKENS;
    let length = 0;
    await assert.rejects(engine.run({ kind: 'segment', image, text: words(over) }), (e: Error) => {
      const m = /^the prompt is (\d+) tokens long, above the limit of (\d+): shorten it$/.exec(e.message);
      assert.ok(m, e.message);
      assert.equal(Number(m[2]), MAX_PROMPT_TOKENS);
      length = Number(m[1]);
      return true;
    });
    const template = length - over;
    assert.ok(template > 0 && template < 100, `the template is ${template} tokens`);
    await refused(engine.run({ kind: 'segment', image, text: words(MAX_PROMPT_TOKENS - template + 1) }), new RegExp(`^the prompt is ${MAX_PROMPT_TOKENS + 1} tokens long`));
    const atLimit = await engine.run({ kind: 'segment', image, text: words(MAX_PROMPT_TOKENS - template), maxNewTokens: 1 });
    assert.ok(atLimit.timingsMs.total > 0);
  });

  it(`a scribble of ${MAX_SCRIBBLE_POINTS} points runs; one more point is refused, naming the region`, async () => {
    const points = (n: number) => Array.from({ length: n }, (_, i) => ({ x: 10 + (i % 50), y: 20 + (i % 7) }));
    const ok = await engine.run({ kind: 'segmentRegions', image, regions: [{ kind: 'scribble', points: points(MAX_SCRIBBLE_POINTS), width: 3 }], maxNewTokens: 1 });
    assert.ok(ok.masks.length <= 1);
    await refused(engine.run({ kind: 'segmentRegions', image, regions: [{ kind: 'points', points: [{ x: 5, y: 5, positive: true }] }, { kind: 'scribble', points: points(MAX_SCRIBBLE_POINTS + 1), width: 3 }] }),
      new RegExp(`^malformed request: task\\.regions\\[1\\]\\.points: Too big: expected array to have <=${MAX_SCRIBBLE_POINTS} items$`));
  });

  it('a region mask file must decode, match the image size and have pixels; a region outside the image is refused with which one', async () => {
    const wrongSize = path.join(tmp, 'small.png');
    await sharp({ create: { width: 10, height: 10, channels: 3, background: '#ffffff' } }).png().toFile(wrongSize);
    await refused(engine.run({ kind: 'segmentRegions', image, regions: [{ kind: 'mask', file: wrongSize }] }), /^region mask .*small\.png is 10×10, the image is 80×48$/);
    const notAnImage = path.join(tmp, 'mask.png');
    fs.writeFileSync(notAnImage, 'this is text, not a PNG');
    await refused(engine.run({ kind: 'segmentRegions', image, regions: [{ kind: 'mask', file: notAnImage }] }), /mask\.png/);
    await refused(engine.run({ kind: 'segmentRegions', image, regions: [{ kind: 'mask', file: path.join(tmp, 'absent.png') }] }), /absent\.png/);
    const blank = path.join(tmp, 'blank.png');
    await sharp({ create: { width: 80, height: 48, channels: 3, background: '#000000' } }).png().toFile(blank);
    await refused(engine.run({ kind: 'segmentRegions', image, regions: [{ kind: 'mask', file: blank }, { kind: 'points', points: [{ x: 4, y: 4, positive: true }] }, { kind: 'mask', file: blank }] }),
      /^region 1, 3 covers no pixel of the 80×48 image: a mask file needs pixels brighter than mid-grey$/);
    // A drawn region outside the image is refused by its kind (the worker reports it as bad input too).
    await assert.rejects(engine.run({ kind: 'segmentRegions', image, regions: [{ kind: 'points', points: [{ x: 4, y: 4, positive: true }] }, { kind: 'box', x: 200, y: 200, w: 100, h: 100 }] }),
      (e: Error) => e instanceof RegionSpecError && /^the box region covers no pixel of the 80×48 image$/.test(e.message));
    // The same mask with pixels runs, and a changed mask file is a different prompt set (not a cache hit).
    const half = path.join(tmp, 'half.png');
    const pixels = Buffer.alloc(80 * 48);
    for (let y = 0; y < 48; y++) for (let x = 0; x < 40; x++) pixels[y * 80 + x] = 255;
    await sharp(pixels, { raw: { width: 80, height: 48, channels: 1 } }).png().toFile(half);
    const first = await engine.run({ kind: 'segmentRegions', image, regions: [{ kind: 'mask', file: half }], maxNewTokens: 1 });
    const again = await engine.run({ kind: 'segmentRegions', image, regions: [{ kind: 'mask', file: half }], maxNewTokens: 1 });
    assert.equal(first.timingsMs.cacheHit, 0);
    assert.equal(again.timingsMs.cacheHit, 1);
    for (let y = 0; y < 48; y++) for (let x = 40; x < 80; x++) pixels[y * 80 + x] = 255;
    await sharp(pixels, { raw: { width: 80, height: 48, channels: 1 } }).png().toFile(half);
    const changed = await engine.run({ kind: 'segmentRegions', image, regions: [{ kind: 'mask', file: half }], maxNewTokens: 1 });
    assert.equal(changed.timingsMs.cacheHit, 0, 'the mask file changed: its prompt set is new');
  });

  it('says CUDA cannot load exactly when onnxruntime-node lacks its CUDA provider library', function () {
    if (process.platform !== 'linux' || process.arch !== 'x64') {
      assert.equal(missingCudaProvider(), `onnxruntime-node has no CUDA provider for ${process.platform}/${process.arch}`);
      return;
    }
    const binding = path.dirname(require.resolve('onnxruntime-node/bin/napi-v6/linux/x64/onnxruntime_binding.node'));
    const present = fs.existsSync(path.join(binding, 'libonnxruntime_providers_cuda.so'));
    assert.equal(missingCudaProvider(), present ? undefined
      : 'libonnxruntime_providers_cuda.so is not installed (onnxruntime-node was installed with ONNXRUNTIME_NODE_INSTALL=skip; see the README to add CUDA)');
  });

  it('counts the cache as its images and conversations together', async () => {
    const own = await Engine.open(modelDir, { device: 'cpu', cacheBudgetMb: 64 });
    try {
      assert.deepEqual(own.cacheStats(), { entries: 0, bytes: 0, decodes: 0 });
      const a = await own.run({ kind: 'ask', image, regions: [], text: 'What is this?', maxNewTokens: 2 });
      const afterAsk = own.cacheStats();
      assert.equal(afterAsk.entries, 2, 'the image state and the conversation');
      assert.equal(afterAsk.decodes, 1);
      await own.run({ kind: 'ask', image, regions: [], text: 'And?', maxNewTokens: 2, conversationId: a.conversationId });
      const afterFollowUp = own.cacheStats();
      assert.equal(afterFollowUp.entries, 2, 'the conversation\'s state is replaced by its longer one');
      assert.ok(afterFollowUp.bytes > afterAsk.bytes, 'a longer conversation holds more bytes');
      await own.run({ kind: 'ask', image, regions: [], text: 'Another conversation.', maxNewTokens: 2 });
      assert.equal(own.cacheStats().entries, 3, 'a second conversation beside the first');
    } finally {
      await own.close();
    }
  });
});
