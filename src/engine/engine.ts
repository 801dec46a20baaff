// The engine's tasks on top of the runner: segment (text → masks), describe (region → caption) and ask
// (question about regions → text and masks). One instance holds one model; the worker process and the
// CLI both drive it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadImageForModel, loadMask } from './imageLoader';
import { loadModelDir, ModelDir } from './modelDir';
import { ExecutionProvider, ImageState, ModelRunner } from './modelRunner';
import { logitsToMask } from './postprocess';
import { patchify } from './preprocess';
import { parseRegionSpec, rasterizeRegion, RegionSpec } from './regions';
import { TextCodec } from './tokenizer';
import { promptSlots, PromptMask } from './visualPrompts';
import { encodeMask, maskBbox, Rle } from '../masks/rle';

export type DeviceSetting = 'auto' | 'cuda' | 'cpu';

export interface DeviceInfo {
  requested: DeviceSetting;
  provider: ExecutionProvider;
  /** Why the engine is not on CUDA although it was asked to try. */
  fallbackReason?: string;
}

export interface MaskResult {
  rle: Rle;
  area: number;
  bbox: [number, number, number, number];
}

export interface EngineAnswer {
  answer: string;
  masks: MaskResult[];
  device: string;
  timingsMs: Record<string, number>;
}

export interface TaskOptions {
  maxNewTokens?: number;
  onToken?: (text: string) => void;
  shouldStop?: () => boolean;
}

export class EngineError extends Error {}

export async function openRunner(model: ModelDir, device: DeviceSetting): Promise<{ runner: ModelRunner; device: DeviceInfo }> {
  if (device === 'cpu') return { runner: await ModelRunner.create(model, { executionProviders: ['cpu'] }), device: { requested: device, provider: 'cpu' } };
  try {
    const missing = missingCudaProvider();
    if (missing) throw new Error(missing);
    const runner = await ModelRunner.create(model, { executionProviders: ['cuda'], logSeverityLevel: 4 });
    return { runner, device: { requested: device, provider: 'cuda' } };
  } catch (e) {
    const reason = `CUDA execution provider unavailable: ${(e as Error).message.split('\n')[0]}`;
    if (device === 'cuda') throw new EngineError(`${reason}. Set pixelSail.device (or --device) to auto or cpu to run on the CPU.`);
    const runner = await ModelRunner.create(model, { executionProviders: ['cpu'] });
    return { runner, device: { requested: device, provider: 'cpu', fallbackReason: reason } };
  }
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

export class Engine {
  private constructor(
    readonly model: ModelDir,
    readonly runner: ModelRunner,
    readonly codec: TextCodec,
    readonly device: DeviceInfo,
  ) {}

  static async open(modelPath: string, device: DeviceSetting = 'auto'): Promise<Engine> {
    const model = loadModelDir(modelPath);
    const opened = await openRunner(model, device);
    return new Engine(model, opened.runner, new TextCodec(model), opened.device);
  }

  async close(): Promise<void> {
    await this.runner.release();
  }

  private get rules() {
    return this.model.config.image;
  }

  private async prepare(imagePath: string, regions: RegionSpec[]) {
    if (!fs.existsSync(imagePath)) throw new EngineError(`image not found: ${imagePath}`);
    const maxRegions = this.model.config.model.num_prompt_slots;
    if (regions.length > maxRegions) throw new EngineError(`at most ${maxRegions} regions can be prompted at once, got ${regions.length}`);
    let img;
    try {
      img = await loadImageForModel(imagePath, this.rules.patch_size, this.rules.max_long_side);
    } catch (e) {
      throw new EngineError(`cannot read ${imagePath} as an image: ${(e as Error).message}`);
    }
    const { patches, grid } = patchify(img.rgb, img.modelWidth, img.modelHeight, this.rules);
    const radius = (this.rules.patch_size / 2) * (img.width / img.modelWidth);
    const masks: PromptMask[] = [];
    for (let k = 0; k < regions.length; k++) {
      const r = regions[k];
      if (r.kind === 'mask') {
        const m = await loadMask(r.file).catch((e) => {
          throw new EngineError(`cannot read region mask ${r.file}: ${(e as Error).message}`);
        });
        if (m.width !== img.width || m.height !== img.height) {
          throw new EngineError(`region mask ${r.file} is ${m.width}×${m.height}, the image is ${img.width}×${img.height}`);
        }
        masks.push({ ...m, slot: k });
      } else {
        masks.push({ width: img.width, height: img.height, data: rasterizeRegion(r, img.width, img.height, radius), slot: k });
      }
    }
    const slots = masks.length ? promptSlots(masks, img.modelWidth, img.modelHeight, this.rules.patch_size) : undefined;
    return { img, patches, grid, slots };
  }

  private async run(imagePath: string, regions: RegionSpec[], prompt: string, opts: TaskOptions, segFallback: boolean): Promise<EngineAnswer> {
    const t0 = performance.now();
    const timings: Record<string, number> = {};
    const mark = (name: string, since: number) => (timings[name] = Math.round((performance.now() - since) * 100) / 100);
    const prep = await this.prepare(imagePath, regions);
    mark('load', t0);
    const t1 = performance.now();
    const state: ImageState = await this.runner.prefillImage(prep.patches, prep.grid, prep.slots);
    mark('imagePrefill', t1);
    const t2 = performance.now();
    const maxNewTokens = opts.maxNewTokens ?? 64;
    let gen = await this.runner.generate(this.codec.userTurn(prompt), state.cache, prep.grid, {
      maxNewTokens,
      onToken: opts.onToken ? (id) => opts.onToken!(this.codec.decode([id])) : undefined,
      shouldStop: opts.shouldStop,
    });
    let answer = this.codec.decode(gen.tokenIds);
    const noTarget = answer.includes(this.model.config.prompts.noTargetMarker);
    if (segFallback && gen.segCount === 0 && !noTarget && gen.stoppedBy !== 'cancelled') {
      // The reference's fallback: answer "It is [SEG]." and read the mask from that prefill.
      const prefix = this.model.config.prompts.segmentAnswerPrefix;
      gen = await this.runner.generate(this.codec.userTurn(prompt), state.cache, prep.grid, { maxNewTokens: 0, answerPrefix: this.codec.encode(prefix) });
      answer = prefix;
    }
    mark('generate', t2);
    const t3 = performance.now();
    const masks: MaskResult[] = [];
    if (gen.segCount > 0 && !noTarget) {
      const logits = await this.runner.maskLogits(gen.segHidden, gen.segCount, state.pixelFeatures);
      const [q, ph, pw] = logits.dims;
      const data = logits.data as Float32Array;
      for (let i = 0; i < q; i++) {
        const m = logitsToMask(data, i * ph * pw, ph, pw, prep.img.height, prep.img.width);
        const rle = encodeMask(m, prep.img.height, prep.img.width);
        const area = m.reduce((s, v) => s + v, 0);
        masks.push({ rle, area, bbox: maskBbox(m, prep.img.height, prep.img.width) });
      }
    }
    mark('masks', t3);
    mark('total', t0);
    timings.generatedTokens = gen.tokenIds.length;
    return { answer, masks, device: this.device.provider, timingsMs: timings };
  }

  segment(imagePath: string, expression: string, opts: TaskOptions = {}): Promise<EngineAnswer> {
    if (!expression.trim()) throw new EngineError('the text prompt is empty');
    return this.run(imagePath, [], this.model.config.prompts.segment.replace('{expression}', expression.trim()), opts, true);
  }

  describe(imagePath: string, region: RegionSpec, opts: TaskOptions = {}): Promise<EngineAnswer> {
    return this.run(imagePath, [region], this.model.config.prompts.caption.replace('{region}', '<Prompt0>'), { maxNewTokens: 128, ...opts }, false);
  }

  ask(imagePath: string, question: string, regions: RegionSpec[], opts: TaskOptions = {}): Promise<EngineAnswer> {
    if (!question.trim()) throw new EngineError('the question is empty');
    const text = question.replace(/<region(\d+)>/g, (whole, k) => {
      const i = Number(k);
      if (i < 1 || i > regions.length) throw new EngineError(`${whole} is used but only ${regions.length} region(s) were given`);
      return `<Prompt${i - 1}>`;
    });
    return this.run(imagePath, regions, text, { maxNewTokens: 128, ...opts }, false);
  }
}

export { parseRegionSpec };
