// A model directory (models/<name>/): config.json, the four ONNX graphs and tokenizer.json.
// Everything the engine needs to know about a model is read and checked here, once, so a broken
// directory fails with a message that names what is missing instead of a shape error later.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PROMPT_OVERLAP_ORDERS, type PromptOverlap } from './visualPrompts';

export const MODEL_FORMAT = 'pixel-sail-onnx';
export const DEFAULT_MODEL_NAME = 'default';
export const GRAPH_NAMES = ['embed', 'decoder', 'upsampler', 'mask_head'] as const;
export type GraphName = (typeof GRAPH_NAMES)[number];

export const REQUIRED_TOKENS = [
  '<|endoftext|>', '<|im_start|>', '<|im_end|>', '<vision>', '<vpatch>', '</vision>', '[SEG]',
  ...Array.from({ length: 15 }, (_, k) => `<Prompt${k}>`),
] as const;

export interface ModelSizes {
  vocab_size: number;
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  patch_size: number;
  max_long_side: number;
  upsampler_channels: number;
  num_upsample_blocks: number;
  seg_hidden_states: number;
  num_prompt_slots: number;
  token_ids: Record<string, number>;
}

export interface GraphSpec {
  file: string;
  inputs: string[];
  outputs: string[];
  /** Same graph contract with other weights, e.g. {"int8": "decoder.int8.onnx"} (validated against float32 at export). */
  variants?: { int8?: string };
}

export interface ModelConfig {
  format: string;
  format_version: number;
  name: string;
  model: ModelSizes;
  image: {
    patch_size: number; max_long_side: number; mean: number[]; std: number[]; upsample_factor: number;
    /** Which prompt mask a patch gets where masks overlap (absent: "largest_first"); see visualPrompts.ts. */
    prompt_overlap?: PromptOverlap;
  };
  chat: { user_prefix: string; user_suffix: string; answer_suffix: string; stop_tokens: string[] };
  prompts: { segment: string; segmentAnswerPrefix: string; noTargetMarker: string; caption: string; mcq: string; mcqOptions?: string };
  graphs: Record<GraphName, GraphSpec>;
}

export interface ModelDir {
  dir: string;
  config: ModelConfig;
  tokenizerJson: object;
  tokenizerConfig: object;
  /** The graph file; `weights` picks a variant the directory ships (float32 is always the main file). */
  graphPath(name: GraphName, weights?: 'float32' | 'int8'): string;
  hasInt8Decoder: boolean;
  headDim: number;
}

export class ModelDirError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelDirError';
  }
}

function readJson(file: string, what: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw new ModelDirError(`model directory is missing ${what} (${file})`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ModelDirError(`${what} is not valid JSON (${file}): ${(e as Error).message}`);
  }
}

const SIZE_FIELDS: (keyof ModelSizes)[] = [
  'vocab_size', 'hidden_size', 'num_hidden_layers', 'num_attention_heads', 'num_key_value_heads',
  'patch_size', 'max_long_side', 'seg_hidden_states', 'num_upsample_blocks',
];

/** Reads and validates a model directory. Throws ModelDirError naming the first thing that is wrong. */
export function loadModelDir(dir: string): ModelDir {
  const abs = path.resolve(dir);
  if (!fs.existsSync(abs) || !fs.statSync(abs).isDirectory()) {
    throw new ModelDirError(`model directory not found: ${abs}`);
  }
  const config = readJson(path.join(abs, 'config.json'), 'config.json') as ModelConfig;
  if (config.format !== MODEL_FORMAT) {
    throw new ModelDirError(`config.json is not a Pixel-SAIL ONNX model (format ${JSON.stringify(config.format)}, expected "${MODEL_FORMAT}")`);
  }
  for (const key of ['model', 'image', 'chat', 'prompts', 'graphs'] as const) {
    if (typeof config[key] !== 'object' || config[key] === null) throw new ModelDirError(`config.json lacks the "${key}" section`);
  }
  for (const f of SIZE_FIELDS) {
    if (!Number.isInteger(config.model[f]) || (config.model[f] as number) <= 0) {
      throw new ModelDirError(`config.json model.${f} must be a positive integer`);
    }
  }
  const overlap = config.image.prompt_overlap;
  if (overlap !== undefined && !PROMPT_OVERLAP_ORDERS.includes(overlap)) {
    throw new ModelDirError(`config.json image.prompt_overlap must be one of ${PROMPT_OVERLAP_ORDERS.map((o) => JSON.stringify(o)).join(', ')}, got ${JSON.stringify(overlap)}`);
  }
  const ids = config.model.token_ids ?? {};
  for (const tok of REQUIRED_TOKENS) {
    if (!Number.isInteger(ids[tok])) throw new ModelDirError(`config.json model.token_ids lacks the special token ${tok}`);
  }
  for (const g of GRAPH_NAMES) {
    const spec = config.graphs[g];
    if (!spec || typeof spec.file !== 'string' || !Array.isArray(spec.inputs) || !Array.isArray(spec.outputs)) {
      throw new ModelDirError(`config.json graphs.${g} must name a file, its inputs and its outputs`);
    }
    if (!fs.existsSync(path.join(abs, spec.file))) throw new ModelDirError(`model directory is missing the ${g} graph ${spec.file}`);
    for (const [kind, file] of Object.entries(spec.variants ?? {})) {
      if (kind !== 'int8' || typeof file !== 'string') throw new ModelDirError(`config.json graphs.${g}.variants may only name an int8 file`);
      if (!fs.existsSync(path.join(abs, file))) throw new ModelDirError(`model directory is missing the ${kind} ${g} graph ${file}`);
    }
  }
  const expectedDecoderInputs = 3 + 2 * config.model.num_hidden_layers;
  if (config.graphs.decoder.inputs.length !== expectedDecoderInputs) {
    throw new ModelDirError(`config.json graphs.decoder names ${config.graphs.decoder.inputs.length} inputs, expected ${expectedDecoderInputs} for ${config.model.num_hidden_layers} layers`);
  }
  const tokenizerJson = readJson(path.join(abs, 'tokenizer.json'), 'tokenizer.json') as { added_tokens?: { content: string; id: number }[] };
  const added = new Map((tokenizerJson.added_tokens ?? []).map((t) => [t.content, t.id]));
  for (const tok of REQUIRED_TOKENS) {
    if (added.get(tok) !== ids[tok]) {
      throw new ModelDirError(`tokenizer.json does not define the special token ${tok} with id ${ids[tok]}`);
    }
  }
  const tcPath = path.join(abs, 'tokenizer_config.json');
  const tokenizerConfig = fs.existsSync(tcPath) ? (readJson(tcPath, 'tokenizer_config.json') as object) : {};
  return {
    dir: abs,
    config,
    tokenizerJson,
    tokenizerConfig,
    graphPath: (name, weights = 'float32') => {
      const spec = config.graphs[name];
      const file = weights === 'int8' ? spec.variants?.int8 : spec.file;
      if (!file) throw new ModelDirError(`model ${config.name} has no ${weights} ${name} graph`);
      return path.join(abs, file);
    },
    hasInt8Decoder: typeof config.graphs.decoder.variants?.int8 === 'string',
    headDim: config.model.hidden_size / config.model.num_attention_heads,
  };
}

/** The default model shipped with the extension, relative to the extension (or package) root. */
export function defaultModelPath(packageRoot: string): string {
  return path.join(packageRoot, 'models', DEFAULT_MODEL_NAME);
}
