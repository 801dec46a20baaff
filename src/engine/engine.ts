// The engine's tasks on top of the runner: segment (text → masks), segmentRegions (clicks/boxes/scribbles →
// mask), describe (region → caption) and ask (question about regions → text and masks, multi-turn).
// Image states are cached per (image content, prompt set) in a byte-bounded LRU, so follow-up questions
// skip the image block and the upsampler. The worker process and the CLI both drive this class.
import { createHash, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { collectGarbage } from './collectGarbage';
import { DecodedImage, DEFAULT_MAX_IMAGE_PIXELS, ImageInputError, loadImageForModel, loadMask } from './imageLoader';
import { readInputFile } from './inputFile';
import { checkTask } from './taskSchema';
import { LruCache } from './lruCache';
import { loadModelDir, ModelDir } from './modelDir';
import { ImageState, KvCache, ModelRunner, UpsampleCancelled, UpsampleHooks } from './modelRunner';
import { logitsToMaskSummary } from './postprocess';
import { patchify } from './preprocess';
import type { DeviceInfo, DeviceSetting, EngineAnswer, EngineProgress, EngineTask, ExecutionProvider, MaskResult, ModelSummary, Weights, WeightsSetting } from './types';
import { rasterizeRegion, RegionSpec } from './regions';
import type { Grid } from './sequence';
import { TextCodec } from './tokenizer';
import { emptyRegions, promptSlots, PromptMask } from './visualPrompts';
import { fillTemplate, highestRegion, partsFromRegionText, QuestionError, QuestionPart } from './question';
import { countsToString } from '../masks/rle';

/** The longest answer a request may ask for: a model that never writes its stop token still ends. */
export const MAX_NEW_TOKENS = 4096;
/** The longest user turn: the model was trained on short prompts, and a 7,300-token one took 40 s on 2 cores. */
export const MAX_PROMPT_TOKENS = 1024;

export class EngineError extends Error {
  constructor(message: string, readonly code: 'bad-input' | 'model' = 'bad-input') {
    super(message);
  }
}

export interface EngineOptions {
  device?: DeviceSetting;
  weights?: WeightsSetting;
  cacheBudgetMb?: number;
  maxImagePixels?: number;
  threads?: number;
  /**
   * Caps the image side the model sees (long side, in pixels; rounded down to the patch size): a 1024-px model
   * asked for 512 prefills a quarter of the patches. Unset: the model's own max_long_side.
   */
  maxInputSide?: number;
}

/** The long side images are resized to: the model's own, or less when the user caps it (a multiple of the patch). */
export function inputSide(modelMaxLongSide: number, patch: number, cap?: number): number {
  if (cap === undefined || cap >= modelMaxLongSide) return modelMaxLongSide;
  return Math.max(patch, Math.floor(cap / patch) * patch);
}

export interface TaskOptions {
  /** Each generated token as text; `special` for the model's own tokens (<PromptK>, [SEG], stop tokens). */
  onToken?: (text: string, special: boolean) => void;
  shouldStop?: () => boolean;
  /**
   * Called as each stage starts; awaited, so a worker can get the message out before a long synchronous
   * onnxruntime run blocks its thread. shouldStop is checked between the stages too.
   */
  onProgress?: (progress: EngineProgress) => void | Promise<void>;
}

/** An image read and decoded ahead of its request (batch jobs), with the file's stamp when it was read. */
interface Prefetch {
  stamp: string;
  load: Promise<{ bytes: Buffer; img: Awaited<ReturnType<typeof loadImageForModel>> }>;
}

/** Batch image states: enough for the prompts of the current image and the next, never the interactive budget. */
const BATCH_CACHE_BYTES = 48 * 2 ** 20;
/** Decoded model-size images (a few hundred kB each at most), by content. */
const DECODED_CACHE_BYTES = 16 * 2 ** 20;
const MAX_PREFETCHES = 4;

const fileStamp = (file: string) => {
  const st = fs.statSync(file);
  return `${st.size}:${st.mtimeMs}:${st.ino}`;
};

interface PreparedImage {
  width: number;
  height: number;
  grid: Grid;
  state: ImageState;
  bytes: number;
  /** Its key in the image cache (image hash and prompt set). */
  key: string;
}

interface Conversation {
  image: PreparedImage;
  cache: KvCache;
}

/** onnxruntime-node keeps its CUDA provider libraries beside the native binding; installs that skipped the
 *  CUDA download (the default here) lack them. Returns why CUDA cannot load, or undefined if it may. */
export function missingCudaProvider(): string | undefined {
  if (process.platform !== 'linux' || process.arch !== 'x64') return `onnxruntime-node has no CUDA provider for ${process.platform}/${process.arch}`;
  let binding: string;
  try {
    binding = path.dirname(require.resolve('onnxruntime-node/bin/napi-v6/linux/x64/onnxruntime_binding.node'));
  } catch {
    return undefined; // unknown layout: let onnxruntime try
  }
  const lib = 'libonnxruntime_providers_cuda.so';
  if (!fs.existsSync(path.join(binding, lib))) {
    return `${lib} is not installed (onnxruntime-node was installed with ONNXRUNTIME_NODE_INSTALL=skip; see the README to add CUDA)`;
  }
  return undefined;
}

/** Which decoder weights run: an explicit choice, or for `auto` the int8 variant on the CPU when the model
 *  ships one (validated against float32 at export; faster on CPU) and float32 on CUDA (int8 there would
 *  fall back to CPU kernels). */
export function chooseWeights(model: ModelDir, setting: WeightsSetting, provider: ExecutionProvider): { weights: Weights; weightsReason?: string } {
  if (setting === 'int8' && !model.hasInt8Decoder) {
    throw new EngineError(`model ${model.config.name} ships no int8 decoder. Set pixelSail.weights (or --weights) to auto or float32.`, 'model');
  }
  if (setting !== 'auto') return { weights: setting };
  if (provider === 'cuda') return { weights: 'float32', weightsReason: 'float32 on CUDA (the int8 decoder has CPU kernels only)' };
  return model.hasInt8Decoder
    ? { weights: 'int8', weightsReason: 'int8 decoder on the CPU (faster, same held-out quality; see the model card)' }
    : { weights: 'float32', weightsReason: 'the model ships no int8 decoder' };
}

export async function openRunner(model: ModelDir, device: DeviceSetting, threads?: number, weightsSetting: WeightsSetting = 'auto'): Promise<{ runner: ModelRunner; device: DeviceInfo }> {
  const cpu = async () => {
    const w = chooseWeights(model, weightsSetting, 'cpu');
    return { runner: await ModelRunner.create(model, { executionProviders: ['cpu'], intraOpNumThreads: threads, weights: w.weights }), w };
  };
  if (device === 'cpu') {
    const { runner, w } = await cpu();
    return { runner, device: { requested: device, provider: 'cpu', ...w } };
  }
  let w: ReturnType<typeof chooseWeights> | undefined;
  try {
    const missing = missingCudaProvider();
    if (missing) throw new Error(missing);
    w = chooseWeights(model, weightsSetting, 'cuda');
    const runner = await ModelRunner.create(model, { executionProviders: ['cuda'], logSeverityLevel: 4, weights: w.weights });
    return { runner, device: { requested: device, provider: 'cuda', ...w } };
  } catch (e) {
    if (e instanceof EngineError) throw e;
    const reason = `CUDA execution provider unavailable: ${(e as Error).message.split('\n')[0]}`;
    if (device === 'cuda') throw new EngineError(`${reason}. Set pixelSail.device (or --device) to auto or cpu to run on the CPU.`, 'model');
    const opened = await cpu();
    return { runner: opened.runner, device: { requested: device, provider: 'cpu', fallbackReason: reason, ...opened.w } };
  }
}

/** Test-only: see testOnlyBlockPrefill. */
export const TEST_BLOCK_PREFILL_ENV = 'PIXEL_SAIL_TEST_BLOCK_PREFILL_WHILE_FILE';

/**
 * Test-only: while the file `PIXEL_SAIL_TEST_BLOCK_PREFILL_WHILE_FILE` names exists, every image prefill
 * first blocks the engine's thread, exactly as a paper-size model's onnxruntime run does (synchronously, deaf
 * to messages), so the client and UI tests exercise progress and Cancel on the tiny test model without timing
 * anything: the test decides when the "run" ends by deleting the file. Only tests set the variable.
 */
function testOnlyBlockPrefill() {
  const file = process.env[TEST_BLOCK_PREFILL_ENV];
  if (!file) return;
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  while (fs.existsSync(file)) Atomics.wait(sleeper, 0, 0, 50);
}

const tensorBytes = (t: { data: unknown }) => (t.data as Float32Array).byteLength;
/** Above this many bytes (an image's features; evicted states) the engine collects garbage at once (see prepare). */
const LARGE_STATE_FEATURE_BYTES = 32 * 2 ** 20;
const cacheBytes = (c: KvCache) => c.tensors.reduce((s, t) => s + tensorBytes(t), 0);

export class Engine {
  private readonly images: LruCache<PreparedImage>;
  private readonly conversations: LruCache<Conversation>;
  /**
   * The draft for the next segment answer: the last complete one that found a target. Training teaches several
   * phrasings (`Sure, [SEG].`, `It is [SEG].` …) and a trained model keeps to one of them; until it has
   * answered once, the reference's own answer.
   */
  private segmentDraft?: number[];
  private readonly batchImages: LruCache<PreparedImage>;
  private readonly prefetches = new Map<string, Prefetch>();
  private readonly decoded = new LruCache<DecodedImage>(DECODED_CACHE_BYTES);
  /** Images decoded for a request (not counting the ones a prefetch decoded ahead). */
  private decodes = 0;

  private constructor(
    readonly model: ModelDir,
    readonly runner: ModelRunner,
    readonly codec: TextCodec,
    readonly device: DeviceInfo,
    private readonly maxImagePixels: number,
    cacheBudgetMb: number,
    /** Long side of the model's input (model max_long_side unless capped by EngineOptions.maxInputSide). */
    readonly inputSide: number,
  ) {
    this.images = new LruCache(cacheBudgetMb * 0.75 * 2 ** 20);
    this.conversations = new LruCache(cacheBudgetMb * 0.25 * 2 ** 20);
    this.batchImages = new LruCache(BATCH_CACHE_BYTES);
  }

  static async open(modelPath: string, options: EngineOptions = {}): Promise<Engine> {
    const model = loadModelDir(modelPath);
    const opened = await openRunner(model, options.device ?? 'auto', options.threads, options.weights ?? 'auto');
    const side = inputSide(model.config.image.max_long_side, model.config.image.patch_size, options.maxInputSide);
    return new Engine(model, opened.runner, new TextCodec(model), opened.device, options.maxImagePixels ?? DEFAULT_MAX_IMAGE_PIXELS, options.cacheBudgetMb ?? 512, side);
  }

  async close(): Promise<void> {
    await this.runner.release();
  }

  summary(): ModelSummary {
    const m = this.model.config.model;
    return { name: this.model.config.name, dir: this.model.dir, hiddenSize: m.hidden_size, layers: m.num_hidden_layers, maxLongSide: m.max_long_side, inputSide: this.inputSide, promptSlots: m.num_prompt_slots, prompts: { caption: this.model.config.prompts.caption, segment: this.model.config.prompts.segment } };
  }

  cacheStats(): { entries: number; bytes: number; decodes: number } {
    return { entries: this.images.size + this.conversations.size, bytes: this.images.bytes + this.conversations.bytes, decodes: this.decodes };
  }

  private get rules() {
    return this.model.config.image;
  }

  private async readRegionMasks(regions: RegionSpec[], width: number, height: number, radius: number): Promise<{ masks: PromptMask[]; key: string }> {
    const masks: PromptMask[] = [];
    const key = createHash('sha1');
    for (let k = 0; k < regions.length; k++) {
      const r = regions[k];
      if (r.kind === 'mask') {
        let bytes: Buffer;
        try {
          bytes = readInputFile(r.file, 'region mask');
        } catch (e) {
          throw new EngineError((e as Error).message);
        }
        const m = await loadMask(bytes).catch((e) => {
          throw new EngineError(`cannot read region mask ${r.file}: ${(e as Error).message}`);
        });
        if (m.width !== width || m.height !== height) throw new EngineError(`region mask ${r.file} is ${m.width}×${m.height}, the image is ${width}×${height}`);
        key.update(createHash('sha1').update(bytes).digest());
        masks.push({ ...m, slot: k });
      } else {
        // A drawn region that covers no pixel is refused by rasterizeRegion, naming its kind; the task schema
        // caps its points (MAX_SCRIBBLE_POINTS).
        masks.push({ width, height, data: rasterizeRegion(r, width, height, radius), slot: k });
        key.update(JSON.stringify(r));
      }
    }
    // Only a mask file can still be empty here.
    const empty = emptyRegions(masks);
    if (empty.length) {
      throw new EngineError(`region ${empty.join(', ')} covers no pixel of the ${width}×${height} image: a mask file needs pixels brighter than mid-grey`);
    }
    return { masks, key: key.digest('hex') };
  }

  /** Decodes the image and prefills its block with the prompts — or returns the cached state. */
  async prepare(imagePath: string, regions: RegionSpec[], batch = false, opts: TaskOptions = {}): Promise<{ image: PreparedImage; cacheHit: boolean; loadMs: number; prefillMs: number; prefetched?: boolean }> {
    const maxRegions = this.model.config.model.num_prompt_slots;
    if (regions.length > maxRegions) throw new EngineError(`at most ${maxRegions} regions can be prompted at once, got ${regions.length}`);
    const cache = batch ? this.batchImages : this.images;
    const t0 = performance.now();
    const early = await this.takePrefetch(imagePath);
    let bytes: Buffer;
    try {
      bytes = early?.bytes ?? readInputFile(imagePath, 'image');
    } catch (e) {
      throw new EngineError((e as Error).message);
    }
    const imageHash = createHash('sha1').update(bytes).digest('hex');
    // The decoded model-size pixels are kept by content: a new prompt set on a known image (each click,
    // box or scribble) skips decoding and resizing it again.
    let img = this.decoded.get(imageHash);
    if (!img) {
      try {
        img = early?.img ?? (this.decodes++, await loadImageForModel(bytes, this.rules.patch_size, this.inputSide, this.maxImagePixels));
      } catch (e) {
        throw new EngineError(`cannot use ${path.basename(imagePath)}: ${e instanceof ImageInputError ? e.message : (e as Error).message}`);
      }
      this.decoded.set(imageHash, img, img.rgb.byteLength);
    }
    const radius = (this.rules.patch_size / 2) * (img.width / img.modelWidth);
    const { masks, key: promptKey } = await this.readRegionMasks(regions, img.width, img.height, radius);
    const key = `${imageHash}:${promptKey}`;
    const loadMs = performance.now() - t0;
    const cached = cache.get(key);
    if (cached) return { image: cached, cacheHit: true, loadMs, prefillMs: 0 };
    const t1 = performance.now();
    const { patches, grid } = patchify(img.rgb, img.modelWidth, img.modelHeight, this.rules);
    const slots = masks.length ? promptSlots(masks, img.modelWidth, img.modelHeight, this.rules.patch_size, this.rules.prompt_overlap) : undefined;
    await opts.onProgress?.({ stage: 'prefill', patches: grid.gh * grid.gw, side: Math.max(img.modelWidth, img.modelHeight) });
    if (opts.shouldStop?.()) throw new EngineError('cancelled');
    testOnlyBlockPrefill();
    // The state about to be built evicts older ones once it is stored; evicted first, they are not held beside
    // the prefill and the upsampler's bands (a 1024-px 0.5B state is 383 MB). The collection frees their
    // buffers now rather than after the new ones are allocated (the worker runs with --expose-gc); small states
    // (the shipped model's, a folder job's next image) are left to V8, a collection per image would cost more.
    const expected = this.runner.stateBytes(grid);
    const stored = expected.kv + expected.visionHidden + expected.features;
    if (cache.makeRoom(stored <= cache.budget ? stored : expected.kv + expected.visionHidden) > LARGE_STATE_FEATURE_BYTES) collectGarbage();
    let state = await this.runner.prefillImage(patches, grid, slots);
    // A large image's prefill leaves ~200 MB of garbage (its attention mask alone is 67 MB at 1024 px, the KV
    // and hidden-state copies more): collected before the upsampler's bands allocate beside it.
    if (expected.features > LARGE_STATE_FEATURE_BYTES) collectGarbage();
    let size = cacheBytes(state.cache) + state.pixelFeatureBytes + tensorBytes(state.visionHidden);
    const lean = size - state.pixelFeatureBytes;
    if (size > cache.budget && lean <= cache.budget) {
      // Features larger than the whole cache (a 3B model's 1024-px state: 302 MB of KV cache and 268 MB of
      // features against 384 MB): keep what a follow-up needs (the KV cache) and upsample again for each mask.
      const visionHidden = state.visionHidden;
      state = this.withoutFeatures(state, (hooks) => this.runner.upsample(visionHidden, hooks));
      size = lean;
    }
    const image: PreparedImage = { width: img.width, height: img.height, grid, state, bytes: size, key };
    cache.set(key, image, size);
    return { image, cacheHit: false, loadMs, prefillMs: performance.now() - t1, prefetched: !!early };
  }

  /**
   * Starts reading and decoding an image that a coming request will ask for (a batch job's next image), so
   * the decoding (libvips threads) overlaps the current request's inference. Failures are not reported here:
   * the image's own request reads it again and reports them.
   */
  prefetch(imagePath: string): void {
    if (this.prefetches.has(imagePath)) return;
    let stamp: string;
    try {
      stamp = fileStamp(imagePath);
    } catch {
      return;
    }
    const load = (async () => {
      const bytes = readInputFile(imagePath, 'image');
      return { bytes, img: await loadImageForModel(bytes, this.rules.patch_size, this.inputSide, this.maxImagePixels) };
    })();
    load.catch(() => undefined);
    this.prefetches.set(imagePath, { stamp, load });
    for (const key of this.prefetches.keys()) {
      if (this.prefetches.size <= MAX_PREFETCHES) break;
      this.prefetches.delete(key);
    }
  }

  /** The prefetched image, if it was read from the file as it still is; undefined otherwise (read it now). */
  private async takePrefetch(imagePath: string) {
    const p = this.prefetches.get(imagePath);
    if (!p) return undefined;
    this.prefetches.delete(imagePath);
    try {
      const loaded = await p.load;
      return fileStamp(imagePath) === p.stamp ? loaded : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * A conversation continues from its own KV cache and needs the image only for masks. A large image's state
   * (a paper-size model's float16 features of a 1024-px image, 268 MB) alone exceeds the conversations' share
   * of the cache, so the conversation keeps the image without it: masks then read the features the image
   * cache still holds for the same image and prompts, or upsample again once it has let them go.
   */
  private keepConversation(id: string, image: PreparedImage, cache: KvCache): void {
    if (this.conversations.set(id, { image, cache }, cacheBytes(cache) + image.bytes)) return;
    const { state, key } = image;
    // Only the patch hidden states: a closure over `state` would hold its features and KV cache (368 MB at
    // 1024 px with the 0.5B model) for as long as the conversation, after the image cache had let them go.
    const visionHidden = state.visionHidden;
    const features = (hooks?: UpsampleHooks) => {
      const held = this.images.get(key);
      return held ? held.state.pixelFeatures(hooks) : this.runner.upsample(visionHidden, hooks);
    };
    const lean: PreparedImage = { ...image, state: { ...this.withoutFeatures(state, features), cache: this.runner.emptyCache() }, bytes: tensorBytes(state.visionHidden) };
    this.conversations.set(id, { image: lean, cache }, cacheBytes(cache) + lean.bytes);
  }

  /** The state with its features not held: `features` computes or finds them when a mask needs them. */
  private withoutFeatures(state: ImageState, features: ImageState['pixelFeatures']): ImageState {
    return { ...state, pixelFeatures: features, pixelFeatureBytes: 0 };
  }

  private async masksFor(image: PreparedImage, segHidden: Float32Array, count: number, opts: TaskOptions = {}): Promise<MaskResult[]> {
    if (count === 0) return [];
    // A large image's features are upsampled in bands: say how far it is, and stop between bands on a cancel
    // (before, a cancel had to wait for the whole run, or replace the worker).
    const features = await image.state.pixelFeatures({
      onBand: (done, total) => opts.onProgress?.({ stage: 'masks', done, total }),
      shouldStop: opts.shouldStop,
    }).catch((e: unknown) => {
      throw e instanceof UpsampleCancelled ? new EngineError('cancelled') : e;
    });
    const logits = await this.runner.maskLogits(segHidden, count, features);
    const [q, ph, pw] = logits.dims;
    const data = logits.data as Float32Array;
    const out: MaskResult[] = [];
    for (let i = 0; i < q; i++) {
      const m = logitsToMaskSummary(data, i * ph * pw, ph, pw, image.height, image.width);
      out.push({ rle: { size: [image.height, image.width], counts: countsToString(m.counts) }, area: m.area, bbox: m.bbox });
    }
    return out;
  }

  /**
   * Token ids → streamed text. A character of several UTF-8 bytes can span byte-level tokens; one token
   * alone then decodes to U+FFFD, so such a token streams as '' until the character is complete (at most
   * 4 bytes), and the whole character goes out with the token that completes it.
   */
  private tokenStream(onToken: NonNullable<TaskOptions['onToken']>): (id: number) => void {
    let held: number[] = [];
    return (id) => {
      if (this.codec.isSpecial(id)) {
        if (held.length) onToken(this.codec.decode(held), false);
        held = [];
        onToken(this.codec.decode([id]), true);
        return;
      }
      held.push(id);
      const text = this.codec.decode(held);
      // Still one call per token (callers count tokens): an empty piece while the character is incomplete.
      if (text.endsWith('\uFFFD') && held.length < 4) return onToken('', false);
      held = [];
      onToken(text, false);
    };
  }

  private async answer(imagePath: string, regions: RegionSpec[], question: QuestionPart[], maxNewTokens: number, opts: TaskOptions,
    mode: { segFallback: boolean; conversationId?: string; batch?: boolean }): Promise<EngineAnswer> {
    const t0 = performance.now();
    const timings: Record<string, number> = {};
    const round = (v: number) => Math.round(v * 100) / 100;
    let conversation = mode.conversationId ? this.conversations.get(mode.conversationId) : undefined;
    if (mode.conversationId && !conversation) throw new EngineError('this conversation has expired from the cache; ask again without the conversation id');
    let image: PreparedImage;
    let start: KvCache;
    const asked = highestRegion(question);
    if (asked > regions.length) throw new EngineError(`the question refers to region ${asked} but only ${regions.length} region(s) were given`);
    let promptIds = this.codec.questionTurn(question);
    if (promptIds.length > MAX_PROMPT_TOKENS) {
      throw new EngineError(`the prompt is ${promptIds.length} tokens long, above the limit of ${MAX_PROMPT_TOKENS}: shorten it`);
    }
    if (conversation) {
      image = conversation.image;
      start = conversation.cache;
      timings.cacheHit = 1;
    } else {
      await opts.onProgress?.({ stage: 'image' });
      const prep = await this.prepare(imagePath, regions, mode.batch, opts);
      image = prep.image;
      start = image.state.cache;
      timings.load = round(prep.loadMs);
      if (mode.batch && !prep.cacheHit && regions.length === 0) {
        // A folder job's text prompts mostly find an object (82 % of generated scenes), and the next image's
        // decoding runs beside this request: measured, the upsampler run here, where that decoding overlaps
        // large kernels, costs less than after the answer, where it slows every small decoding step.
        const u0 = performance.now();
        await image.state.pixelFeatures();
        prep.prefillMs += performance.now() - u0;
      }
      timings.imagePrefill = round(prep.prefillMs);
      timings.cacheHit = prep.cacheHit ? 1 : 0;
      if (prep.prefetched) timings.prefetched = 1;
    }
    if (conversation) {
      // The previous answer ended at a stop token that was never fed: close the turn as training did.
      promptIds = [...this.codec.encode(this.model.config.chat.answer_suffix), ...promptIds];
    }
    if (opts.shouldStop?.()) throw new EngineError('cancelled');
    await opts.onProgress?.({ stage: 'generate' });
    const t2 = performance.now();
    // A segment prompt's answer is drafted: the model checks it in the prompt's own pass (where the decoder returns
    // the rows for it), and a kept draft costs one pass instead of one per token.
    const draft = mode.segFallback ? (this.segmentDraft ?? this.codec.encode(this.model.config.prompts.segmentAnswerPrefix)) : undefined;
    let gen = await this.runner.generate(promptIds, start, image.grid, {
      maxNewTokens,
      draft,
      onToken: opts.onToken ? this.tokenStream(opts.onToken) : undefined,
      shouldStop: opts.shouldStop,
    });
    if (gen.stoppedBy === 'cancelled') throw new EngineError('cancelled');
    // The model's own tokens, also when the fallback below replaces its answer (a bench times decoding by them).
    timings.generatedTokens = gen.tokenIds.length;
    timings.decoderPasses = gen.passes;
    timings.firstPass = round(gen.firstPassMs);
    if (draft && this.runner.draftCapacity >= draft.length) timings.draftAccepted = gen.draftAccepted;
    let answer = this.codec.decode(gen.tokenIds);
    let answerParts = this.codec.answerParts(gen.tokenIds);
    const noTarget = answer.includes(this.model.config.prompts.noTargetMarker);
    if (mode.segFallback && gen.segCount > 0 && !noTarget && gen.stoppedBy === 'stop-token' && gen.tokenIds.length <= this.runner.draftCapacity) {
      this.segmentDraft = gen.tokenIds;
    }
    if (mode.segFallback && gen.segCount === 0 && !noTarget) {
      // The reference's fallback: answer "It is [SEG]." and read the mask from that prefill.
      const prefix = this.model.config.prompts.segmentAnswerPrefix;
      const f0 = performance.now();
      gen = await this.runner.generate(promptIds, start, image.grid, { maxNewTokens: 0, answerPrefix: this.codec.encode(prefix) });
      timings.fallbackMs = round(performance.now() - f0);
      answer = prefix;
      answerParts = this.codec.answerParts(this.codec.encode(prefix));
      timings.fallback = 1;
    }
    timings.generate = round(performance.now() - t2);
    const t3 = performance.now();
    if (!noTarget && gen.segCount > 0) {
      if (opts.shouldStop?.()) throw new EngineError('cancelled');
      await opts.onProgress?.({ stage: 'masks' });
    }
    const masks = noTarget ? [] : await this.masksFor(image, gen.segHidden, gen.segCount, opts);
    timings.masks = round(performance.now() - t3);
    timings.total = round(performance.now() - t0);
    // A batch answer is never followed up: keeping its conversation would only evict the user's.
    if (mode.batch) return { answer, answerParts, masks, device: this.device.provider, timingsMs: timings };
    const conversationId = mode.conversationId ?? randomUUID();
    this.keepConversation(conversationId, image, gen.cache);
    return { answer, answerParts, masks, device: this.device.provider, timingsMs: timings, conversationId };
  }

  async run(task: EngineTask, opts: TaskOptions = {}): Promise<EngineAnswer> {
    // Before the schema, whose message for this one would not say the range.
    if (task.maxNewTokens !== undefined && !(Number.isInteger(task.maxNewTokens) && task.maxNewTokens >= 1 && task.maxNewTokens <= MAX_NEW_TOKENS)) {
      throw new EngineError(`maxNewTokens must be an integer from 1 to ${MAX_NEW_TOKENS}, got ${task.maxNewTokens}`);
    }
    const checked = checkTask(task);
    if (!checked.ok) throw new EngineError(`malformed request: ${checked.problem}`);
    const prompts = this.model.config.prompts;
    if (task.batch?.next) this.prefetch(task.batch.next);
    const batch = task.batch !== undefined;
    const region = (n: number): QuestionPart[] => [{ kind: 'region', region: n }];
    try {
      switch (task.kind) {
        case 'segment': {
          const text = task.text.trim();
          if (!text) throw new EngineError('the text prompt is empty');
          const question = fillTemplate(prompts.segment, { expression: [{ kind: 'text', text }] });
          return await this.answer(task.image, [], question, task.maxNewTokens ?? 32, opts, { segFallback: true, batch });
        }
        case 'segmentRegions': {
          if (!task.regions.length) throw new EngineError('no region given');
          const names = task.regions.flatMap((_, k): QuestionPart[] => (k ? [{ kind: 'text', text: ' and ' }, ...region(k + 1)] : region(k + 1)));
          return await this.answer(task.image, task.regions, fillTemplate(prompts.segment, { expression: names }), task.maxNewTokens ?? 32, opts, { segFallback: true, batch });
        }
        case 'describe':
          return await this.answer(task.image, [task.region], fillTemplate(prompts.caption, { region: region(1) }), task.maxNewTokens ?? 128, opts, { segFallback: false, batch });
        case 'ask': {
          if ((task.text === undefined) === (task.question === undefined)) throw new EngineError('an ask request needs either text (with <regionN> for regions) or question parts, not both');
          const question = task.question ?? partsFromRegionText(task.text!, task.regions.length);
          if (!question.some((p) => p.kind === 'region' || p.text.trim())) throw new EngineError('the question is empty');
          return await this.answer(task.image, task.regions, question, task.maxNewTokens ?? 128, opts, { segFallback: false, conversationId: task.conversationId, batch });
        }
      }
    } catch (e) {
      if (e instanceof QuestionError) throw new EngineError(e.message);
      throw e;
    }
  }
}
