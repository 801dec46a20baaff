import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import sharp from 'sharp';
import { Engine, EngineError, inputSide, missingCudaProvider } from '../../src/engine/engine';
import { loadImageForModel } from '../../src/engine/imageLoader';
import { patchify } from '../../src/engine/preprocess';
import { countUpsamplerRuns } from '../support/upsamplerRuns';

const repo = path.resolve(__dirname, '../../..');
const modelDir = path.join(repo, 'models/tiny-random');
const sample = path.join(modelDir, 'parity/image.png');

describe('engine (in process, tiny random model)', function () {
  let engine: Engine;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ps-engine-'));
  before(async () => {
    engine = await Engine.open(modelDir, { device: 'cpu', cacheBudgetMb: 64 });
  });
  after(async () => engine.close());

  it('streams characters that span several byte-level tokens whole, one call per token, the text unchanged', () => {
    // 猫 is 3 UTF-8 bytes, 🐱 and 𝄞 4: a byte-level tokenizer can split them over tokens that alone decode to
    // U+FFFD. Streamed token by token, the pieces must join to the original text and none may hold U+FFFD.
    const text = 'a 猫 🐱𝄞 é ok';
    const codec = (engine as unknown as { codec: { encodePlain(t: string): number[]; decode(ids: number[]): string } }).codec;
    const ids = codec.encodePlain(text);
    const pieces: string[] = [];
    const stream = (engine as unknown as { tokenStream(f: (t: string, special: boolean) => void): (id: number) => void }).tokenStream((t) => pieces.push(t));
    ids.forEach(stream);
    assert.equal(pieces.length, ids.length, 'one call per token');
    assert.equal(pieces.join(''), text);
    assert.ok(pieces.every((p) => !p.includes('\uFFFD')), JSON.stringify(pieces));
    const alone = ids.filter((id) => codec.decode([id]).includes('\uFFFD')).length;
    assert.ok(alone >= 3, `tokens that alone are part of a character: ${alone}`);
  });

  it('when the answer names no target and no [SEG], the fallback answers It is [SEG]. and the timings still count the model\'s own tokens', async () => {
    // Random weights write tokens without [SEG] or the stop token: the answer is replaced by the fallback's, and
    // generatedTokens must still say how many tokens the model wrote (a bench divides the decoding time by it).
    const a = await engine.run({ kind: 'segment', image: sample, text: 'the red box', maxNewTokens: 6 });
    assert.equal(a.timingsMs.fallback, 1, `the tiny model answered ${JSON.stringify(a.answer)} without the fallback`);
    assert.equal(a.answer, 'It is [SEG].');
    assert.equal(a.masks.length, 1);
    assert.equal(a.timingsMs.generatedTokens, 6, 'the model\'s six tokens, not the fallback\'s none');
    assert.ok(a.timingsMs.fallbackMs >= 0 && a.timingsMs.fallbackMs <= a.timingsMs.generate);
  });

  it('a region mask file changed on disk under the same name is a new prompt, not the cached one', async () => {
    // The image state is cached per prompt set; a mask file is known by its content, not its name.
    const half = async (file: string, left: boolean) => {
      const px = Buffer.alloc(80 * 48);
      for (let y = 0; y < 48; y++) for (let x = 0; x < 80; x++) px[y * 80 + x] = (x < 40) === left ? 255 : 0;
      await sharp(px, { raw: { width: 80, height: 48, channels: 1 } }).png().toFile(file);
    };
    const file = path.join(tmp, 'region-mask.png');
    const ask = (f: string) => engine.run({ kind: 'ask', image: sample, text: 'What is <region1>?', regions: [{ kind: 'mask', file: f }], maxNewTokens: 3 });
    await half(file, true);
    const left = await ask(file);
    assert.equal((await ask(file)).timingsMs.cacheHit, 1, 'the same file again: cached');
    await half(file, false);
    const right = await ask(file);
    assert.equal(right.timingsMs.cacheHit, 0, 'rewritten with the other half: prefilled again');
    const other = path.join(tmp, 'region-mask-left.png');
    await half(other, true);
    const leftAgain = await ask(other);
    assert.equal(leftAgain.timingsMs.cacheHit, 1, 'the left half under another name: the cached state of the left half');
    assert.deepEqual([leftAgain.answer, leftAgain.masks], [left.answer, left.masks]);
  });

  it('draws a click as a disk of half a model patch scaled to the image: radius 8 · 1024/256 = 32 px on a 1024×512 photo', async () => {
    // The tiny model: 16-px patches, long side 256, so a 1024×512 image runs at 256×128 (4 image pixels a model
    // pixel) and a click must cover the 16-model-pixel patch it lands in: a disk of radius 32 image pixels.
    const big = path.join(tmp, 'big-1024x512.png');
    await sharp({ create: { width: 1024, height: 512, channels: 3, background: '#468' } }).png().toFile(big);
    const seen: Uint8Array[] = [];
    const inner = engine as unknown as { readRegionMasks: (...a: unknown[]) => Promise<{ masks: { data: Uint8Array }[] }> };
    const read = inner.readRegionMasks.bind(engine);
    inner.readRegionMasks = async (...a) => { const r = await read(...a); seen.push(...r.masks.map((m) => m.data)); return r; };
    try {
      await engine.run({ kind: 'ask', image: big, text: 'What is <region1>?', regions: [{ kind: 'points', points: [{ x: 500, y: 250, positive: true }] }], maxNewTokens: 1 });
    } finally {
      delete (inner as { readRegionMasks?: unknown }).readRegionMasks; // back to the prototype's
    }
    assert.equal(seen.length, 1);
    const row = [...seen[0].subarray(250 * 1024, 251 * 1024)].flatMap((v, x) => (v ? [x] : []));
    assert.deepEqual([row[0], row.at(-1), row.length], [468, 532, 65], 'row 250: columns 500 ± 32');
    const column = Array.from({ length: 512 }, (_, y) => seen[0][y * 1024 + 500]).flatMap((v, y) => (v ? [y] : []));
    assert.deepEqual([column[0], column.at(-1)], [218, 282], 'column 500: rows 250 ± 32');
  });

  it('returns a mask at the original size for a text prompt', async () => {
    const a = await engine.run({ kind: 'segment', image: sample, text: 'the red box' });
    assert.equal(a.masks.length, 1);
    assert.deepEqual(a.masks[0].rle.size, [48, 80]);
    assert.equal(a.device, 'cpu');
    assert.ok(a.timingsMs.total > 0);
  });

  it('answers from the cache on a second question about the same image, with the same masks', async () => {
    const image = path.join(tmp, 'tinted.png');
    await sharp(sample).tint('#80c0ff').toFile(image); // content not seen before
    const miss = await engine.run({ kind: 'segment', image, text: 'the blue circle' });
    const hit = await engine.run({ kind: 'segment', image, text: 'the blue circle' });
    assert.equal(miss.timingsMs.cacheHit, 0);
    assert.equal(hit.timingsMs.cacheHit, 1);
    assert.deepEqual(hit.masks, miss.masks);
    assert.equal(hit.answer, miss.answer);
  });

  it('keys the cache on the prompt set too', async () => {
    const a = await engine.run({ kind: 'describe', image: sample, region: { kind: 'box', x: 0, y: 0, w: 20, h: 20 }, maxNewTokens: 4 });
    const b = await engine.run({ kind: 'describe', image: sample, region: { kind: 'box', x: 40, y: 20, w: 30, h: 20 }, maxNewTokens: 4 });
    assert.equal(a.timingsMs.cacheHit, 0);
    assert.equal(b.timingsMs.cacheHit, 0);
  });

  it('keeps batch requests out of the interactive cache and keeps no conversation for them', async () => {
    const image = path.join(tmp, 'batch-only.png');
    await sharp(sample).tint('#ffd080').toFile(image);
    const before = engine.cacheStats();
    const first = await engine.run({ kind: 'segment', image, text: 'the red box', batch: {} });
    const again = await engine.run({ kind: 'segment', image, text: 'the red box', batch: {} });
    assert.equal(first.conversationId, undefined);
    assert.equal(again.timingsMs.cacheHit, 1, 'the prompts of one image share its state within the batch cache');
    const after = engine.cacheStats();
    assert.deepEqual({ entries: after.entries, bytes: after.bytes }, { entries: before.entries, bytes: before.bytes }, 'the interactive caches are untouched');
    const interactive = await engine.run({ kind: 'segment', image, text: 'the red box' });
    assert.equal(interactive.timingsMs.cacheHit, 0);
    assert.deepEqual(interactive.masks, first.masks);
  });

  it('decodes the next batch image ahead, and reads it again if the file changed meanwhile', async () => {
    const a = path.join(tmp, 'batch-a.png');
    const b = path.join(tmp, 'batch-b.png');
    const c = path.join(tmp, 'batch-c.png');
    await sharp(sample).tint('#a0ffa0').toFile(a);
    await sharp(sample).tint('#a0a0ff').toFile(b);
    await sharp(sample).tint('#ffa0ff').toFile(c);
    await engine.run({ kind: 'segment', image: a, text: 'the red box', batch: { next: b } });
    const viaPrefetch = await engine.run({ kind: 'segment', image: b, text: 'the red box', batch: { next: c } });
    assert.equal(viaPrefetch.timingsMs.prefetched, 1);
    const reference = await Engine.open(modelDir, { device: 'cpu', cacheBudgetMb: 64 });
    try {
      const direct = await reference.run({ kind: 'segment', image: b, text: 'the red box' });
      assert.deepEqual(viaPrefetch.masks, direct.masks);
      assert.equal(viaPrefetch.answer, direct.answer);
      // c was prefetched with its old content; it changes on disk before its request arrives.
      await sharp(sample).flop().toFile(c + '.new');
      fs.renameSync(c + '.new', c);
      const changed = await engine.run({ kind: 'segment', image: c, text: 'the red box', batch: {} });
      assert.equal(changed.timingsMs.prefetched, undefined, 'a stale prefetch is not used');
      const fresh = await reference.run({ kind: 'segment', image: c, text: 'the red box' });
      assert.deepEqual(changed.masks, fresh.masks);
    } finally {
      await reference.close();
    }
  });

  it('decodes with the KV cache exactly as a full recomputation does', async () => {
    const img = await loadImageForModel(fs.readFileSync(sample), 16, engine.model.config.image.max_long_side);
    const { patches, grid } = patchify(img.rgb, img.modelWidth, img.modelHeight, engine.model.config.image);
    const state = await engine.runner.prefillImage(patches, grid);
    const ids = engine.codec.userTurn('Please segment the red box in this image.');
    const all = await engine.runner.step(ids, state.cache, grid);
    let cache = state.cache;
    const h = engine.model.config.model.hidden_size;
    let worst = 0;
    for (let i = 0; i < ids.length; i++) {
      const one = await engine.runner.step([ids[i]], cache, grid);
      cache = one.cache;
      for (let j = 0; j < h; j++) worst = Math.max(worst, Math.abs(one.hidden[j] - all.hidden[i * h + j]));
    }
    assert.ok(worst < 1e-4, `max diff ${worst}`);
    assert.equal(cache.length, all.cache.length);
  });

  it('embeds text tokens from kept rows exactly as the embed graph does, in order and with repeats', async () => {
    const ids = engine.codec.encode('Please segment the red box, the red box and [SEG].');
    const minus = ids.map(() => -1);
    const graph = (await engine.runner.embed(ids, null, minus, minus)).data as Float32Array;
    const first = await engine.runner.embedText([ids[3], ids[0], ids[3]]); // some rows kept before the rest
    const h = engine.model.config.model.hidden_size;
    assert.deepEqual(Array.from(first.data as Float32Array), [...graph.slice(3 * h, 4 * h), ...graph.slice(0, h), ...graph.slice(3 * h, 4 * h)]);
    const all = await engine.runner.embedText(ids);
    assert.deepEqual(all.dims, [1, ids.length, h]);
    assert.deepEqual(Array.from(all.data as Float32Array), Array.from(graph));
  });

  it('returns one mask per [SEG], in order', async () => {
    const img = await loadImageForModel(fs.readFileSync(sample), 16, engine.model.config.image.max_long_side);
    const { patches, grid } = patchify(img.rgb, img.modelWidth, img.modelHeight, engine.model.config.image);
    const state = await engine.runner.prefillImage(patches, grid);
    const gen = await engine.runner.generate(engine.codec.userTurn('Please segment both.'), state.cache, grid, {
      maxNewTokens: 0,
      answerPrefix: engine.codec.encode('A is [SEG] and B is [SEG].'),
    });
    assert.equal(gen.segCount, 2);
    const logits = await engine.runner.maskLogits(gen.segHidden, gen.segCount, await state.pixelFeatures());
    assert.deepEqual(logits.dims, [2, 8 * grid.gh, 8 * grid.gw]);
  });

  it('runs the upsampler only when a mask needs it, once per image state', async () => {
    const upsampler = countUpsamplerRuns(engine);
    try {
      const img = await loadImageForModel(fs.readFileSync(sample), 16, engine.model.config.image.max_long_side);
      const { patches, grid } = patchify(img.rgb, img.modelWidth, img.modelHeight, engine.model.config.image);
      const state = await engine.runner.prefillImage(patches, grid);
      assert.equal(upsampler.calls(), 0, 'the prefill alone does not upsample');
      const [a, b] = await Promise.all([state.pixelFeatures(), state.pixelFeatures()]);
      assert.equal(upsampler.calls(), 1);
      assert.equal(a, b);
      assert.equal(await state.pixelFeatures(), a);
      assert.equal((a.data as Float32Array).byteLength, state.pixelFeatureBytes, 'the cache budget counts the real size');

      // Through the engine: every new image state upsamples exactly when its answer has a mask.
      for (const [i, tint] of ['#ff8080', '#80ff80', '#8080ff', '#ffff80'].entries()) {
        const image = path.join(tmp, `lazy-${i}.png`);
        await sharp(sample).tint(tint).toFile(image);
        upsampler.reset();
        const d = await engine.run({ kind: 'describe', image, region: { kind: 'box', x: 4, y: 4, w: 30, h: 20 }, maxNewTokens: 12 });
        assert.equal(upsampler.calls(), d.masks.length > 0 ? 1 : 0, `describe answered ${JSON.stringify(d.answer)}`);
        upsampler.reset();
        const s = await engine.run({ kind: 'segment', image, text: 'the red box', batch: {} });
        assert.equal(upsampler.calls(), 1, 'a batch text prompt upsamples before generating (measured faster beside the next image\'s decoding)');
        assert.equal(s.timingsMs.cacheHit, 0);
        upsampler.reset();
        const again = await engine.run({ kind: 'segment', image, text: 'the red box', batch: {} });
        assert.equal(again.timingsMs.cacheHit, 1);
        assert.equal(upsampler.calls(), 0, 'a cached batch state keeps its features');
      }
    } finally {
      upsampler.restore();
    }
  });

  it('decodes an image once for all the prompt sets asked of it, and again when the file changes', async () => {
    const image = path.join(tmp, 'decode-once.png');
    await sharp(sample).tint('#c080ff').toFile(image);
    const start = engine.cacheStats().decodes;
    const box = (x: number) => ({ kind: 'segmentRegions' as const, image, regions: [{ kind: 'box' as const, x, y: 4, w: 20, h: 20 }] });
    const first = await engine.run(box(4));
    await engine.run(box(10));
    await engine.run({ kind: 'segment', image, text: 'the red box' });
    assert.equal(engine.cacheStats().decodes - start, 1);
    // Same prompt, new pixels: decoded again, and the answer is about the new pixels.
    await sharp(sample).negate({ alpha: false }).toFile(image);
    const changed = await engine.run(box(4));
    assert.equal(engine.cacheStats().decodes - start, 2);
    assert.equal(changed.timingsMs.cacheHit, 0);
    assert.equal(first.timingsMs.cacheHit, 0);
  });

  it('segments from clicks, boxes and scribbles', async () => {
    for (const region of [
      { kind: 'points' as const, points: [{ x: 20, y: 15, positive: true }, { x: 60, y: 30, positive: false }] },
      { kind: 'box' as const, x: 45, y: 15, w: 25, h: 25 },
      { kind: 'scribble' as const, points: [{ x: 10, y: 10 }, { x: 35, y: 25 }], width: 4 },
    ]) {
      const a = await engine.run({ kind: 'segmentRegions', image: sample, regions: [region] });
      assert.equal(a.masks.length, 1, region.kind);
    }
  });

  it('continues a conversation on the cached image state', async () => {
    const first = await engine.run({ kind: 'ask', image: sample, text: 'What is <region1>?', regions: [{ kind: 'box', x: 10, y: 8, w: 30, h: 22 }], maxNewTokens: 4 });
    assert.ok(first.conversationId);
    const next = await engine.run({ kind: 'ask', image: sample, text: 'And its colour?', regions: [], conversationId: first.conversationId, maxNewTokens: 4 });
    assert.equal(next.timingsMs.cacheHit, 1);
    await assert.rejects(engine.run({ kind: 'ask', image: sample, text: 'x', regions: [], conversationId: 'nope' }), /expired/);
  });

  it('refuses more than 15 regions and unknown region names', async () => {
    const regions = Array.from({ length: 16 }, (_, i) => ({ kind: 'box' as const, x: i, y: 0, w: 4, h: 4 }));
    await assert.rejects(engine.run({ kind: 'ask', image: sample, text: 'hi', regions }), /at most 15 regions/);
    await assert.rejects(engine.run({ kind: 'ask', image: sample, text: 'What is <region2>?', regions: [regions[0]] }), /<region2> is used but only 1/);
  });

  it('streams tokens and stops when cancelled', async () => {
    const seen: string[] = [];
    // shouldStop is also asked between stages (before the prefill, before generating), so the stop is on what streamed.
    await assert.rejects(
      engine.run({ kind: 'describe', image: sample, region: { kind: 'box', x: 0, y: 0, w: 9, h: 9 }, maxNewTokens: 50 }, { onToken: (t) => seen.push(t), shouldStop: () => seen.length >= 3 }),
      (e: Error) => e instanceof EngineError && e.message === 'cancelled',
    );
    assert.equal(seen.length, 3);
  });

  it('reports its stages, and a cancel seen between them ends the request before the prefill', async () => {
    const stages: string[] = [];
    const box = { kind: 'box' as const, x: 2, y: 3, w: 11, h: 13 };
    await assert.rejects(
      engine.run({ kind: 'describe', image: sample, region: box }, { onProgress: (p) => { stages.push(p.stage); }, shouldStop: () => stages.includes('prefill') }),
      (e: Error) => e instanceof EngineError && e.message === 'cancelled',
    );
    assert.deepEqual(stages, ['image', 'prefill'], 'stopped right after the prefill stage was announced, before generating');
    const before = engine.cacheStats().entries;
    const again: string[] = [];
    await engine.run({ kind: 'describe', image: sample, region: box, maxNewTokens: 4 }, { onProgress: (p) => { again.push(p.stage); } });
    assert.deepEqual(again.slice(0, 2), ['image', 'prefill'], 'the cancelled prefill was not cached: it runs now');
    assert.equal(again[2], 'generate');
    assert.ok(engine.cacheStats().entries > before);
  });

  it('says why it is not on CUDA, and refuses cuda when it cannot load', async function () {
    const reason = missingCudaProvider();
    if (!reason) this.skip(); // a machine with the CUDA provider installed: reported as pending, not passed
    const auto = await Engine.open(modelDir, { device: 'auto' });
    assert.equal(auto.device.provider, 'cpu');
    assert.match(auto.device.fallbackReason!, /libonnxruntime_providers_cuda/);
    await auto.close();
    await assert.rejects(Engine.open(modelDir, { device: 'cuda' }), /CUDA execution provider unavailable/);
  });

  it('writes nothing and fails clearly on a model directory without a graph', async () => {
    const broken = fs.mkdtempSync(path.join(os.tmpdir(), 'ps-broken-'));
    for (const f of fs.readdirSync(modelDir)) if (fs.statSync(path.join(modelDir, f)).isFile()) fs.copyFileSync(path.join(modelDir, f), path.join(broken, f));
    fs.unlinkSync(path.join(broken, 'decoder.onnx'));
    await assert.rejects(Engine.open(broken), /missing the decoder graph decoder\.onnx/);
  });

  describe('image inputs', () => {
    const write = (name: string, data: Buffer | string) => {
      const p = path.join(tmp, name);
      fs.writeFileSync(p, data);
      return p;
    };
    const seg = (image: string) => engine.run({ kind: 'segment', image, text: 'the object' });

    it('refuses a missing file, a 0-byte file, a text file named .jpg and a truncated PNG clearly', async () => {
      await assert.rejects(seg(path.join(tmp, 'absent.png')), /image not found/);
      await assert.rejects(seg(write('empty.png', Buffer.alloc(0))), /empty/);
      await assert.rejects(seg(write('notes.jpg', 'just some text, not a picture\n')), /not an image/);
      const png = fs.readFileSync(sample);
      await assert.rejects(seg(write('truncated.png', png.subarray(0, Math.floor(png.length / 2)))), /damaged or truncated/);
    });

    it('refuses a 30000×30000 image from its header, before decoding it', async () => {
      // A real PNG header (IHDR) for 30000×30000 followed by a tiny, valid-looking stream.
      const big = await sharp({ create: { width: 16, height: 16, channels: 3, background: '#fff' } }).png().toBuffer();
      const ihdr = big.indexOf('IHDR');
      const forged = Buffer.from(big);
      forged.writeUInt32BE(30000, ihdr + 4);
      forged.writeUInt32BE(30000, ihdr + 8);
      // Decoding would fail differently (the pixel stream holds 16×16 pixels, not 900 megapixels: "damaged or
      // truncated"); this message can only come from the header, so the refusal happened before any decoding.
      await assert.rejects(seg(write('huge.png', forged)), (e: Error) => /30000×30000 \(900 megapixels\), above the limit/.test(e.message) && !/truncated|damaged/.test(e.message));
    });

    it('decodes a large JPEG by shrinking on load', async () => {
      const jpg = await sharp({ create: { width: 6000, height: 4000, channels: 3, background: '#3060c0' } }).jpeg().toBuffer();
      const a = await seg(write('large.jpg', jpg));
      assert.deepEqual(a.masks[0].rle.size, [4000, 6000]);
    });

    it('applies EXIF orientation', async () => {
      const jpg = await sharp({ create: { width: 64, height: 32, channels: 3, background: '#f00' } }).jpeg().withMetadata({ orientation: 6 }).toBuffer();
      const a = await seg(write('rotated.jpg', jpg));
      assert.deepEqual(a.masks[0].rle.size, [64, 32], 'height and width swapped by the 90° orientation');
    });

    it('converts CMYK, 16-bit, grey, palette and alpha images to 8-bit RGB', async () => {
      const base = () => sharp({ create: { width: 48, height: 32, channels: 4, background: { r: 200, g: 30, b: 40, alpha: 0.5 } } });
      const cases: [string, Buffer][] = [
        ['cmyk.jpg', await base().removeAlpha().toColourspace('cmyk').jpeg().toBuffer()],
        ['deep.png', await base().toColourspace('rgb16').png().toBuffer()],
        ['grey.png', await base().greyscale().png().toBuffer()],
        ['palette.png', await base().png({ palette: true }).toBuffer()],
        ['alpha.png', await base().png().toBuffer()],
      ];
      for (const [name, data] of cases) {
        const img = await loadImageForModel(data, 16, 1024);
        assert.equal(img.rgb.length, 48 * 32 * 3, name);
        if (name !== 'grey.png') assert.ok(img.rgb[0] > img.rgb[1] + 50, `${name} stays red: ${img.rgb.slice(0, 3)}`);
        const a = await seg(write(name, data));
        assert.deepEqual(a.masks[0].rle.size, [32, 48], name);
      }
    });
  });
});

describe('input side cap (pixelSail.maxInputSide)', () => {
  it('caps the model\'s side at a multiple of the patch, never above the model\'s own size', () => {
    assert.equal(inputSide(1024, 16), 1024);
    assert.equal(inputSide(1024, 16, 512), 512);
    assert.equal(inputSide(1024, 16, 500), 496);
    assert.equal(inputSide(1024, 16, 4096), 1024);
    assert.equal(inputSide(1024, 16, 1), 16);
  });

  it('runs a capped engine on the smaller input: masks still at the image size but different; a cap at or above the model\'s size changes nothing', async () => {
    const big = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ps-cap-')), 'big.png');
    const trained = path.join(repo, 'models/default'); // a trained model: its masks are not empty, so they can differ
    await sharp(sample).resize(240, 144).toFile(big); // the default model takes 192 px: 240×144 runs at 192×112
    const full = await Engine.open(trained, { device: 'cpu', cacheBudgetMb: 16 });
    const capped = await Engine.open(trained, { device: 'cpu', cacheBudgetMb: 16, maxInputSide: 100 });
    const same = await Engine.open(trained, { device: 'cpu', cacheBudgetMb: 16, maxInputSide: 192 });
    try {
      assert.equal(full.summary().inputSide, 192);
      assert.deepEqual([capped.summary().inputSide, capped.summary().maxLongSide], [96, 192]);
      const task = { kind: 'segment' as const, image: big, text: 'the red box' };
      const a = await full.run(task);
      const b = await capped.run(task);
      const c = await same.run(task);
      assert.deepEqual(b.masks.map((m) => m.rle.size), a.masks.map((m) => m.rle.size));
      assert.deepEqual(a.masks[0].rle.size, [144, 240]);
      assert.ok(a.masks[0].area > 0, 'the full-size run finds the box');
      assert.notDeepEqual(b.masks, a.masks, 'a 96-px input gives other masks than the 192-px one');
      assert.deepEqual(c.masks, a.masks);
      assert.equal(c.answer, a.answer);
    } finally {
      await Promise.all([full.close(), capped.close(), same.close()]);
    }
  });
});

describe('image cache at paper sizes', () => {
  it('lets an image state go when the image cache does, though a conversation kept without its features came from it', async () => {
    // A conversation too large for its share keeps the image without its features (the next test). It must not
    // hold them some other way: once the image cache lets the state go, nothing may keep its features alive
    // (a closure over the state did: 368 MB per conversation at 1024 px with the 0.5B model).
    const small = await Engine.open(modelDir, { device: 'cpu', cacheBudgetMb: 0.4 });
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    let features: WeakRef<object> | undefined;
    const upsample = small.runner.upsample.bind(small.runner);
    small.runner.upsample = async (...args) => {
      const t = await upsample(...args);
      features ??= new WeakRef(t);
      return t;
    };
    try {
      const first = await small.run({ kind: 'segment', image: sample, text: 'the red box', maxNewTokens: 4 });
      assert.ok(features?.deref(), 'the mask ran the upsampler');
      (small as unknown as { images: { makeRoom(bytes: number): number } }).images.makeRoom(Infinity);
      await new Promise((r) => setImmediate(r));
      gc();
      assert.equal(features?.deref(), undefined, 'the features outlived the image cache');
      const next = await small.run({ kind: 'ask', image: sample, regions: [], text: 'And the blue one?', maxNewTokens: 3, conversationId: first.conversationId });
      assert.equal(typeof next.answer, 'string', 'the conversation itself is still there');
    } finally {
      await small.close();
    }
  });

  it('keeps a conversation whose image state alone exceeds the conversations\' share: the next turn continues it, with the same answers and masks', async () => {
    // 0.4 MB: 0.3 MB for images holds this picture's state with its features (123 kB), the 0.1 MB for
    // conversations does not hold the conversation's KV cache and those features together.
    const small = await Engine.open(modelDir, { device: 'cpu', cacheBudgetMb: 0.4 });
    const roomy = await Engine.open(modelDir, { device: 'cpu', cacheBudgetMb: 64 });
    try {
      const ask = (e: Engine, text: string, conversationId?: string) =>
        e.run({ kind: 'ask', image: sample, regions: [], text, maxNewTokens: 6, ...(conversationId ? { conversationId } : {}) });
      const a1 = await ask(small, 'What is in the picture?');
      const r1 = await ask(roomy, 'What is in the picture?');
      const a2 = await ask(small, 'And where is the red box?', a1.conversationId);
      const r2 = await ask(roomy, 'And where is the red box?', r1.conversationId);
      assert.equal(a2.answer, r2.answer);
      // Masks from a kept conversation: the same as with room, whether or not the image cache still has the features.
      const seg = (e: Engine, id?: string) => e.run({ kind: 'ask', image: sample, regions: [], text: 'Please segment the red box.', maxNewTokens: 6, conversationId: id });
      const a3 = await seg(small, a2.conversationId);
      const r3 = await seg(roomy, r2.conversationId);
      assert.equal(a3.answer, r3.answer);
      assert.deepEqual(a3.masks, r3.masks);
      assert.ok(small.cacheStats().bytes <= 0.4 * 2 ** 20);
    } finally {
      await Promise.all([small.close(), roomy.close()]);
    }
  });

  it('keeps an image whose upsampled features alone exceed the cache (a 1024-px image of the 0.5B model) without them: the follow-up is a cache hit with the same masks', async () => {
    // 0.05 MB: the tiny model's features of this picture (24×40×32 floats, 123 kB) do not fit, its KV cache does.
    const small = await Engine.open(modelDir, { device: 'cpu', cacheBudgetMb: 0.05 });
    const roomy = await Engine.open(modelDir, { device: 'cpu', cacheBudgetMb: 64 });
    try {
      const first = await small.run({ kind: 'segment', image: sample, text: 'the red box' });
      const again = await small.run({ kind: 'segment', image: sample, text: 'the blue circle' });
      assert.equal(first.timingsMs.cacheHit, 0);
      assert.equal(again.timingsMs.cacheHit, 1, 'the KV cache was kept');
      assert.ok(small.cacheStats().bytes < 0.05 * 2 ** 20);
      const ref = await roomy.run({ kind: 'segment', image: sample, text: 'the blue circle' });
      assert.deepEqual(again.masks, ref.masks);
      assert.equal(again.answer, ref.answer);
    } finally {
      await Promise.all([small.close(), roomy.close()]);
    }
  });
});
