// Runs the four exported graphs with onnxruntime-node and implements the reference inference flow:
// image block prefill (bidirectional) → cached KV + upsampled pixel features; then per question a causal
// text prefill and greedy decoding with the KV cache; [SEG] hidden states → mask logits.
import './ortTelemetryOff'; // before onnxruntime-node: see the module
import * as ort from 'onnxruntime-node';
import * as path from 'node:path';
import { collectGarbage } from './collectGarbage';
import type { GraphName, ModelDir } from './modelDir';
import { GRAPH_NAMES, ModelDirError } from './modelDir';
import { attentionMask, Grid, imageBlockLength, NO_PROMPT, NON_VISION, positionIds } from './sequence';
import { featureBands, rowsPerBand } from './featureBands';
import * as helperGraphs from './helperGraphs';

export type ExecutionProvider = 'cuda' | 'cpu';

/** onnxruntime's own message ("Protobuf parsing failed") does not say which file or what to do. */
async function openSession(model: ModelDir, file: string, options: ort.InferenceSession.SessionOptions): Promise<ort.InferenceSession> {
  try {
    return await ort.InferenceSession.create(file, options);
  } catch (e) {
    const reason = String((e as Error).message ?? e).split('\n')[0].replace(/^Load model from \S+ failed:/, '').replace(/\.+\s*$/, '');
    throw new ModelDirError(`onnxruntime cannot load ${path.relative(model.dir, file)} in ${model.dir}: ${reason}. The file is damaged or not an ONNX graph: export or convert the model again (pixel-sail check-model DIR lists every problem)`);
  }
}

export interface KvCache {
  /** present_key_i / present_value_i tensors, [1, kvHeads, T, headDim] each, layer-major. */
  tensors: ort.Tensor[];
  length: number;
}

export interface ImageState {
  grid: Grid;
  cache: KvCache;
  /** Post-norm last hidden of the patch tokens, [gh, gw, H]. */
  visionHidden: ort.Tensor;
  /**
   * Upsampler output, [upsample·gh, upsample·gw, D], run on first use and kept: an answer without a mask
   * (a caption, a question, a prompt that finds nothing) never pays for it. float32, or float16 for a large
   * image (see FeatureStorage); ModelRunner.maskLogits reads either.
   */
  pixelFeatures: (hooks?: UpsampleHooks) => Promise<ort.Tensor>;
  /** Bytes the upsampler output takes once it has run, known before (for the image cache's budget). */
  pixelFeatureBytes: number;
}

/** What a caller of a banded upsampler run sees between bands (a 1024-px paper-size run takes seconds each). */
export interface UpsampleHooks {
  onBand?: (done: number, total: number) => void | Promise<void>;
  /** Asked before each band: true ends the run with UpsampleCancelled. */
  shouldStop?: () => boolean;
}

export class UpsampleCancelled extends Error {
  constructor() {
    super('cancelled');
  }
}

export interface DecodeResult {
  lastLogits: Float32Array;
  /** The logits of the last R rows, [R, vocab] (R = 1 unless the graph has graphs.decoder.logits_rows > 1). */
  logits: Float32Array;
  hidden: Float32Array; // [S, H]
  cache: KvCache;
}

export interface GenerateOptions {
  maxNewTokens: number;
  answerPrefix?: number[];
  /**
   * Tokens the answer is expected to start with (a segment prompt's `It is [SEG].`). With a decoder that returns
   * enough logits rows they go through the prompt's pass too, and every drafted token the model itself predicts
   * is kept: greedy decoding's answer in one pass instead of one per token. Ignored otherwise.
   */
  draft?: number[];
  onToken?: (id: number) => void;
  shouldStop?: () => boolean;
}

export interface GenerateResult {
  tokenIds: number[];
  /** Hidden state of every [SEG] where it is the input token, [Q·H]. */
  segHidden: Float32Array;
  segCount: number;
  cache: KvCache;
  stoppedBy: 'stop-token' | 'max-tokens' | 'cancelled';
  /** Decoder passes run (the first one included). */
  passes: number;
  /** Drafted tokens kept (0 without a draft); the first pass's milliseconds. */
  draftAccepted: number;
  firstPassMs: number;
}

export interface RunnerOptions {
  executionProviders: ExecutionProvider[];
  /** Decoder weights (default float32); the other graphs are float32 in every model. */
  weights?: 'float32' | 'int8';
  intraOpNumThreads?: number;
  logSeverityLevel?: 0 | 1 | 2 | 3 | 4;
}

function int64(values: ArrayLike<number>, dims: number[]): ort.Tensor {
  const data = new BigInt64Array(values.length);
  for (let i = 0; i < values.length; i++) data[i] = BigInt(values[i]);
  return new ort.Tensor('int64', data, dims);
}

/** Largest embed + decoder graphs (bytes on disk) that get single-threaded copies for the text path. */
export const TEXT_COPY_MAX_BYTES = 64 * 1024 * 1024;

/** Sessions for the text path: one token at a time, where a thread pool costs more than it gives. */
interface TextSessions {
  embed: ort.InferenceSession;
  decoder: ort.InferenceSession;
}

/**
 * Where a large image's pixel features go. A paper-size model's features of a 1024-px image are [512, 512,
 * 512] (537 MB in float32) and its upsampler's transient tensors are ~1 GB each at 896 channels; above
 * `float16AboveBytes` the upsampler runs in bands of patch rows (featureBands.ts: the same values as one
 * whole run), each band's transients within `bandBytes`, and the features are kept in float16 (half the
 * memory; finer than the bfloat16 the official code runs in), so that one image state fits the cache and a
 * follow-up reads its masks without upsampling again.
 */
export interface FeatureStorage {
  float16AboveBytes: number;
  bandBytes: number;
}

export const DEFAULT_FEATURE_STORAGE: FeatureStorage = { float16AboveBytes: 32 * 2 ** 20, bandBytes: 128 * 2 ** 20 };

/**
 * float32 elements of stored features read per run of the float16 mask head: an 8 MB transient, which that
 * session's arena keeps and reuses. Without an arena each run's cast mapped fresh pages (32 MB chunks: a
 * 1024-px mask took 200–290 ms in the engine, where the same runs alone took 36 ms).
 */
const LOGIT_CHUNK_ELEMENTS = 2 * 2 ** 20;

/** Embedding rows kept for text tokens (a few MB even at the 0.5B model's width). */
const MAX_TEXT_ROWS = 4096;

/**
 * The graphs whose sessions use onnxruntime's CPU memory arena. The arena keeps every block it has handed out
 * for the life of the session and serves the next run from them: no allocation, no page faults. For a small
 * model that is every graph. A paper-size model's decoder and embed get it only when its image block runs the
 * fused attention (config.json graphs.decoder.image_attention): with the batched form a 1024-px prefill makes
 * ~1 GB score tensors per layer and the arena kept them all (the 0.5B int8 worker reached 8.3 GB); with the
 * fused one it holds the prefill's working set (+0.76 GB after a 1024-px prefill), and that prefill took
 * 12.5 s instead of 20.0 s through the worker (npm run bench -- --scale, quiet, 2 threads, same hour). The
 * upsampler and mask head of a large model allocate directly: their band transients go back between images.
 */
export function arenaGraphs(model: ModelDir, large: boolean): Set<GraphName> {
  if (!large) return new Set(GRAPH_NAMES);
  return new Set<GraphName>(model.config.graphs.decoder.image_attention === 'fused' ? ['embed', 'decoder'] : []);
}

interface HelperSessions {
  toFloat16: ort.InferenceSession;
  pixelLogits: ort.InferenceSession;
}

export class ModelRunner {
  private readonly textRows = new Map<number, Float32Array>();
  /** Tests lower the thresholds to run the float16 path on a tiny model. */
  featureStorage: FeatureStorage = DEFAULT_FEATURE_STORAGE;
  private helpers?: Promise<HelperSessions>;
  private identity?: Float32Array;

  private constructor(
    readonly model: ModelDir,
    private readonly sessions: Record<GraphName, ort.InferenceSession>,
    private readonly text: TextSessions,
    private readonly sessionOptions: ort.InferenceSession.SessionOptions,
  ) {}

  static async create(model: ModelDir, options: RunnerOptions): Promise<ModelRunner> {
    const large = model.graphBytes('decoder', options.weights) + model.graphBytes('embed') > TEXT_COPY_MAX_BYTES;
    const sessionOptions: ort.InferenceSession.SessionOptions = {
      executionProviders: options.executionProviders,
      graphOptimizationLevel: 'all',
      // Pool threads spin while a run is in flight (parking and waking them between the ~100 small kernels of
      // an image prefill cost a third of its time on 2 cores) and stop spinning as soon as the run ends, so
      // an idle session never takes the cores the single-threaded text path and the host process need.
      extra: { session: { intra_op: { allow_spinning: '1' }, force_spinning_stop: '1' } },
      ...(options.logSeverityLevel !== undefined ? { logSeverityLevel: options.logSeverityLevel } : {}),
      ...(options.intraOpNumThreads ? { intraOpNumThreads: options.intraOpNumThreads } : {}),
    };
    const arena = arenaGraphs(model, large);
    const sessions = {} as Record<GraphName, ort.InferenceSession>;
    for (const name of GRAPH_NAMES) {
      // A memory pattern is one block per input shape, served from the arena: a paper-size decoder sees many shapes
      // (a 4,098-token prefill, a 30-token prompt pass, one-token steps) and the arena grew by another block on a
      // later prefill (+480 MB retained after two 1024-px prefills with the 0.5B model); tensor by tensor, the
      // arena reuses what the first prefill freed.
      const graphOptions = arena.has(name) ? (large ? { ...sessionOptions, enableMemPattern: false } : sessionOptions) : { ...sessionOptions, enableCpuMemArena: false };
      sessions[name] = await openSession(model, model.graphPath(name, name === 'decoder' ? options.weights : undefined), graphOptions);
      const spec = model.config.graphs[name];
      for (const input of spec.inputs) {
        if (!sessions[name].inputNames.includes(input)) throw new ModelDirError(`${spec.file} has no input named ${input} (config.json names it)`);
      }
      for (const output of spec.outputs) {
        if (!sessions[name].outputNames.includes(output)) throw new ModelDirError(`${spec.file} has no output named ${output} (config.json names it)`);
      }
    }
    // Text steps (a prompt of a few dozen tokens, then one token per call) run a second copy of the embed
    // and decoder graphs on a single thread: on 2 CPU cores the thread pool's hand-offs took longer than the
    // tiny matmuls (follow-up generation p50 21.6 → 10.1 ms in bench/bench.ts's setting). The image block
    // keeps the multi-threaded sessions, where the matmuls are large enough to share.
    // Only for small models: a copy of a paper-size decoder would double the worker's memory (the 0.5B model's
    // graphs are 1.8 GB with the int8 decoder), and its single-token matmuls are large enough to share.
    const multiThreaded = (options.intraOpNumThreads ?? 0) !== 1;
    const copyForText = multiThreaded && !large;
    const text: TextSessions = copyForText
      ? {
          embed: await openSession(model, model.graphPath('embed'), { ...sessionOptions, intraOpNumThreads: 1 }),
          decoder: await openSession(model, model.graphPath('decoder', options.weights), { ...sessionOptions, intraOpNumThreads: 1 }),
        }
      : { embed: sessions.embed, decoder: sessions.decoder };
    return new ModelRunner(model, sessions, text, sessionOptions);
  }

  async release(): Promise<void> {
    const extra = [this.text.embed, this.text.decoder].filter((s) => s !== this.sessions.embed && s !== this.sessions.decoder);
    const helpers = this.helpers ? Object.values(await this.helpers.catch(() => ({}))) : [];
    await Promise.all([...GRAPH_NAMES.map((n) => this.sessions[n]), ...extra, ...helpers].map((s) => s.release()));
  }

  private helperSessions(): Promise<HelperSessions> {
    // They run only for large images. The cast to float16 takes whole bands, whose transients should go back to
    // the system; the mask head's chunks are one fixed size, so an arena serves them all from one block.
    const open = (b64: string, arena: boolean) => ort.InferenceSession.create(Buffer.from(b64, 'base64'), { ...this.sessionOptions, enableCpuMemArena: arena });
    return (this.helpers ??= (async () => ({ toFloat16: await open(helperGraphs.toFloat16, false), pixelLogits: await open(helperGraphs.pixelLogits, true) }))());
  }

  /** How an image state's pixel features are kept, and the bytes they take then. */
  featureLayout(grid: Grid): { float16: boolean; bytes: number } {
    const f = this.model.config.image.upsample_factor;
    const float32Bytes = f * grid.gh * f * grid.gw * this.sizes.seg_hidden_states * 4;
    const float16 = float32Bytes > this.featureStorage.float16AboveBytes;
    return { float16, bytes: float16 ? float32Bytes / 2 : float32Bytes };
  }

  /** Bytes of the image state prefillImage returns for `grid`: the block's KV cache, the patch hidden states, the features. */
  stateBytes(grid: Grid): { kv: number; visionHidden: number; features: number } {
    const { num_hidden_layers: layers, num_key_value_heads: kvh, hidden_size: h } = this.sizes;
    return {
      kv: 2 * layers * kvh * imageBlockLength(grid) * this.model.headDim * 4,
      visionHidden: grid.gh * grid.gw * h * 4,
      features: this.featureLayout(grid).bytes,
    };
  }

  private get sizes() {
    return this.model.config.model;
  }

  emptyCache(): KvCache {
    const { num_hidden_layers: layers, num_key_value_heads: kvh } = this.sizes;
    const tensors: ort.Tensor[] = [];
    for (let i = 0; i < 2 * layers; i++) tensors.push(new ort.Tensor('float32', new Float32Array(0), [1, kvh, 0, this.model.headDim]));
    return { tensors, length: 0 };
  }

  /** inputs_embeds for token ids, with patch and visual-prompt contributions at patch positions. */
  async embed(ids: number[], patches: Float32Array | null, patchIndices: number[], promptSlots: number[]): Promise<ort.Tensor> {
    const p2 = 3 * this.sizes.patch_size ** 2;
    const n = patches ? patches.length / p2 : 0;
    const session = n > 0 ? this.sessions.embed : this.text.embed;
    const out = await session.run({
      input_ids: int64(ids, [1, ids.length]),
      vision_patches: new ort.Tensor('float32', patches ?? new Float32Array(0), [n, p2]),
      vision_patch_indices: int64(patchIndices, [1, ids.length]),
      vp_token_indices: int64(promptSlots, [1, ids.length]),
    });
    return out.inputs_embeds;
  }

  /** One decoder pass over S new positions on top of `cache`. */
  async decode(embeds: ort.Tensor, cache: KvCache, grid: Grid, bidirectionalBlock = 0): Promise<DecodeResult> {
    const s = embeds.dims[1];
    const spec = this.model.config.graphs.decoder;
    const feeds: Record<string, ort.Tensor> = {
      inputs_embeds: embeds,
      attention_mask: new ort.Tensor('float32', attentionMask(s, cache.length, bidirectionalBlock), [1, 1, s, cache.length + s]),
      position_ids: new ort.Tensor('int64', positionIds(cache.length, s, grid), [3, 1, s]),
    };
    spec.inputs.slice(3).forEach((name, i) => (feeds[name] = cache.tensors[i]));
    const out = await (bidirectionalBlock > 0 ? this.sessions.decoder : this.text.decoder).run(feeds);
    const logits = out.logits.data as Float32Array;
    const vocab = out.logits.dims[2];
    return {
      logits,
      lastLogits: logits.subarray(logits.length - vocab),
      hidden: out.last_hidden.data as Float32Array,
      cache: { tensors: spec.outputs.slice(2).map((name) => out[name]), length: cache.length + s },
    };
  }

  /**
   * Prefills `<vision> <vpatch>×N </vision>` with full attention inside the block; the upsampler runs when
   * a mask first needs the pixel features.
   * `slots` gives each patch's prompt slot (−2 = none); they change the patch embeddings, so a cached
   * state belongs to one (image, prompt set) pair.
   */
  async prefillImage(patches: Float32Array, grid: Grid, slots?: ArrayLike<number>): Promise<ImageState> {
    const n = grid.gh * grid.gw;
    const ids = this.model.config.model.token_ids;
    const block = imageBlockLength(grid);
    const tokenIds = [ids['<vision>'], ...new Array<number>(n).fill(ids['<vpatch>']), ids['</vision>']];
    const patchIndices = [NON_VISION, ...Array.from({ length: n }, (_, i) => i), NON_VISION];
    const promptSlots = [NON_VISION, ...(slots ? Array.from(slots) : new Array<number>(n).fill(NO_PROMPT)), NON_VISION];
    if (promptSlots.length !== block) throw new Error(`expected ${n} patch prompt slots, got ${promptSlots.length - 2}`);
    const embeds = await this.embed(tokenIds, patches, patchIndices, promptSlots);
    const result = await this.decode(embeds, this.emptyCache(), grid, block);
    const h = this.sizes.hidden_size;
    const visionHidden = new ort.Tensor('float32', result.hidden.slice(h, (n + 1) * h), [grid.gh, grid.gw, h]);
    let features: Promise<ort.Tensor> | undefined;
    const pixelFeatures = (hooks?: UpsampleHooks) =>
      (features ??= this.upsample(visionHidden, hooks).then(
        (up) => up,
        (e: unknown) => {
          features = undefined; // a failed run is not remembered: the next mask request tries again
          throw e;
        },
      ));
    return { grid, cache: result.cache, visionHidden, pixelFeatures, pixelFeatureBytes: this.featureLayout(grid).bytes };
  }

  /**
   * Upsampler output for post-norm patch hidden states [gh, gw, H] → [f·gh, f·gw, D]: float32 from one run,
   * or, for a large image (featureLayout), float16 from bands of patch rows.
   */
  async upsample(visionHidden: ort.Tensor, hooks: UpsampleHooks = {}): Promise<ort.Tensor> {
    const [gh, gw, h] = visionHidden.dims;
    if (!this.featureLayout({ gh, gw }).float16) {
      return (await this.sessions.upsampler.run({ vision_hidden: visionHidden })).pixel_features;
    }
    const f = this.model.config.image.upsample_factor;
    const d = this.sizes.seg_hidden_states;
    const widest = Math.max(this.sizes.upsampler_channels, d);
    const perRow = f * f * gw * d; // feature values per patch row
    const store = new Uint16Array(gh * perRow);
    const hidden = visionHidden.data as Float32Array;
    const { toFloat16 } = await this.helperSessions();
    const bands = featureBands(gh, rowsPerBand(gw, f, widest, this.featureStorage.bandBytes));
    for (const [i, band] of bands.entries()) {
      if (hooks.shouldStop?.()) throw new UpsampleCancelled();
      await hooks.onBand?.(i, bands.length);
      const input = new ort.Tensor('float32', hidden.subarray(band.inStart * gw * h, band.inEnd * gw * h), [band.inEnd - band.inStart, gw, h]);
      const up = (await this.sessions.upsampler.run({ vision_hidden: input })).pixel_features.data as Float32Array;
      const kept = up.subarray((band.start - band.inStart) * perRow, (band.end - band.inStart) * perRow);
      const half = (await toFloat16.run({ x: new ort.Tensor('float32', kept, [kept.length]) })).y.data as Uint16Array;
      store.set(half, band.start * perRow);
      // The band's float32 and float16 copies (up to bandBytes each) are garbage now: freed before the next band.
      collectGarbage();
    }
    return new ort.Tensor('float16', store, [f * gh, f * gw, d]);
  }

  /** Text tokens on top of a cache (no patches). */
  async step(ids: number[], cache: KvCache, grid: Grid): Promise<DecodeResult> {
    return this.decode(await this.embedText(ids), cache, grid);
  }

  /**
   * inputs_embeds of text tokens. A text token's embedding depends on its id alone (positions enter in the
   * decoder), so each id goes through the embed graph once and its row is kept: a generated token then
   * costs one decoder run instead of two session runs.
   */
  async embedText(ids: number[]): Promise<ort.Tensor> {
    const h = this.sizes.hidden_size;
    const unknown = [...new Set(ids.filter((id) => !this.textRows.has(id)))];
    if (unknown.length) {
      if (this.textRows.size + unknown.length > MAX_TEXT_ROWS) this.textRows.clear();
      const minus = new Array<number>(unknown.length).fill(NON_VISION);
      const rows = (await this.embed(unknown, null, minus, minus)).data as Float32Array;
      unknown.forEach((id, i) => this.textRows.set(id, rows.slice(i * h, (i + 1) * h)));
    }
    const out = new Float32Array(ids.length * h);
    ids.forEach((id, i) => out.set(this.textRows.get(id)!, i * h));
    return new ort.Tensor('float32', out, [1, ids.length, h]);
  }

  /** How many drafted tokens one pass can check: each needs the logits row before it, and the last row follows it. */
  get draftCapacity(): number {
    return (this.model.config.graphs.decoder.logits_rows ?? 1) - 1;
  }

  /** Greedy decoding of one answer. The starting cache is not modified (follow-ups reuse it). */
  async generate(promptIds: number[], start: KvCache, grid: Grid, options: GenerateOptions): Promise<GenerateResult> {
    const tokenIds = this.model.config.model.token_ids;
    const segId = tokenIds['[SEG]'];
    const stopIds = new Set(this.model.config.chat.stop_tokens.map((t) => tokenIds[t]));
    const h = this.sizes.hidden_size;
    const input = [...promptIds, ...(options.answerPrefix ?? [])];
    const draft = options.draft && options.draft.length <= this.draftCapacity ? options.draft.slice(0, options.maxNewTokens) : [];
    const segRows: Float32Array[] = [];
    const t0 = performance.now();
    let r = await this.step([...input, ...draft], start, grid);
    const firstPassMs = performance.now() - t0;
    let passes = 1;
    input.forEach((id, i) => id === segId && segRows.push(r.hidden.slice(i * h, (i + 1) * h)));
    const out: number[] = [];
    let next: number;
    if (draft.length === 0) {
      next = argmax(r.lastLogits);
    } else {
      // Logits row k predicts the token after input position S − R + k; the last input token's row is the one
      // before the draft's. Keep the drafted tokens while the model predicts each one itself.
      const vocab = r.lastLogits.length;
      const rows = r.logits.length / vocab;
      if (rows < draft.length + 1) {
        throw new Error(`the decoder returned ${rows} logits row(s) where config.json's graphs.decoder.logits_rows promises ${draft.length + 1} or more: the model folder is inconsistent; convert it again`);
      }
      const firstRowAt = input.length + draft.length - rows; // the position of logits row 0
      const rowAfter = (pos: number) => argmax(r.logits.subarray((pos - firstRowAt) * vocab, (pos - firstRowAt + 1) * vocab));
      let kept = 0;
      next = rowAfter(input.length - 1);
      while (kept < draft.length && next === draft[kept] && !stopIds.has(next) && !options.shouldStop?.()) {
        out.push(next);
        options.onToken?.(next);
        if (next === segId) segRows.push(r.hidden.slice((input.length + kept) * h, (input.length + kept + 1) * h));
        kept++;
        next = rowAfter(input.length + kept - 1);
      }
      // The cache holds the whole draft; a rejected tail is cut off, as if it had never been fed.
      if (kept < draft.length) r = { ...r, cache: truncateCache(r.cache, start.length + input.length + kept) };
    }
    const draftAccepted = out.length;
    let stoppedBy: GenerateResult['stoppedBy'] = 'stop-token';
    while (!stopIds.has(next)) {
      if (out.length >= options.maxNewTokens) {
        stoppedBy = 'max-tokens';
        break;
      }
      if (options.shouldStop?.()) {
        stoppedBy = 'cancelled';
        break;
      }
      out.push(next);
      options.onToken?.(next);
      r = await this.step([next], r.cache, grid);
      passes++;
      if (next === segId) segRows.push(r.hidden.slice(0, h));
      next = argmax(r.lastLogits);
    }
    const segHidden = new Float32Array(segRows.length * h);
    segRows.forEach((row, i) => segHidden.set(row, i * h));
    return { tokenIds: out, segHidden, segCount: segRows.length, cache: r.cache, stoppedBy, passes, draftAccepted, firstPassMs };
  }

  /** [Q, H] [SEG] hidden states × pixel features (float32 or float16) → mask logits [Q, ph, pw]. */
  async maskLogits(segHidden: Float32Array, count: number, pixelFeatures: ort.Tensor): Promise<ort.Tensor> {
    const seg = new ort.Tensor('float32', segHidden, [count, this.sizes.hidden_size]);
    if (pixelFeatures.type !== 'float16') {
      return (await this.sessions.mask_head.run({ seg_hidden: seg, pixel_features: pixelFeatures })).mask_logits;
    }
    // The mask head is the [SEG] projection, then a plain dot product with each pixel's features (the graph
    // contract): run on the identity as the "pixels", it returns the projected embeddings themselves, exactly,
    // which the float16 mask head then multiplies chunk by chunk without a float32 copy of the whole store.
    const [ph, pw, d] = pixelFeatures.dims;
    if (!this.identity || this.identity.length !== d * d) {
      this.identity = new Float32Array(d * d);
      for (let i = 0; i < d; i++) this.identity[i * d + i] = 1;
    }
    const projected = (await this.sessions.mask_head.run({ seg_hidden: seg, pixel_features: new ort.Tensor('float32', this.identity, [1, d, d]) }))
      .mask_logits.data as Float32Array; // [Q, 1, d]
    const queries = new Float32Array(d * count); // [d, Q]
    for (let q = 0; q < count; q++) for (let j = 0; j < d; j++) queries[j * count + q] = projected[q * d + j];
    const b = new ort.Tensor('float32', queries, [d, count]);
    const store = pixelFeatures.data as Uint16Array;
    const pixels = ph * pw;
    const out = new Float32Array(count * pixels);
    const { pixelLogits } = await this.helperSessions();
    const chunk = Math.max(1, Math.floor(LOGIT_CHUNK_ELEMENTS / d));
    for (let p0 = 0; p0 < pixels; p0 += chunk) {
      const n = Math.min(chunk, pixels - p0);
      const y = (await pixelLogits.run({ a: new ort.Tensor('float16', store.subarray(p0 * d, (p0 + n) * d), [n, d]), b })).y.data as Float32Array;
      if (count === 1) out.set(y, p0);
      else for (let p = 0; p < n; p++) for (let q = 0; q < count; q++) out[q * pixels + p0 + p] = y[p * count + q];
    }
    return new ort.Tensor('float32', out, [count, ph, pw]);
  }
}

/** The first `length` positions of each [1, kvh, T, d] cache tensor (copies: the rest of the buffer is dropped). */
export function truncateCache(cache: KvCache, length: number): KvCache {
  if (length === cache.length) return cache;
  const tensors = cache.tensors.map((t) => {
    const [b, kvh, total, d] = t.dims;
    const data = t.data as Float32Array;
    const kept = new Float32Array(b * kvh * length * d);
    for (let head = 0; head < b * kvh; head++) kept.set(data.subarray(head * total * d, (head * total + length) * d), head * length * d);
    return new ort.Tensor('float32', kept, [b, kvh, length, d]);
  });
  return { tensors, length };
}

export function argmax(values: Float32Array): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}
