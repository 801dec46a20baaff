// A model directory (models/<name>/): config.json, the four ONNX graphs and tokenizer.json.
// Everything the engine needs to know about a model is read and checked here, once, so a broken
// directory fails with a message that names what is missing instead of a shape error later.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PROMPT_OVERLAP_ORDERS, type PromptOverlap } from './visualPrompts';
import { z } from 'zod';
import { readJsonFile } from '../jsonText';

export const MODEL_FORMAT = 'pixel-sail-onnx';
export const DEFAULT_MODEL_NAME = 'default';
export const GRAPH_NAMES = ['embed', 'decoder', 'upsampler', 'mask_head'] as const;
export type GraphName = (typeof GRAPH_NAMES)[number];

export const REQUIRED_TOKENS = [
  '<|endoftext|>', '<|im_start|>', '<|im_end|>', '<vision>', '<vpatch>', '</vision>', '[SEG]',
  ...Array.from({ length: 15 }, (_, k) => `<Prompt${k}>`),
] as const;

/** A count the graphs are built with: config.json must give a positive integer. */
const count = z.number({ error: 'must be a number' }).int('must be an integer').positive('must be positive');
const text = z.string({ error: 'must be a string' });

const graphSpecSchema = z.object({
  file: text.min(1, 'must name a file'),
  inputs: z.array(text, { error: 'must list the graph\'s input names' }),
  outputs: z.array(text, { error: 'must list the graph\'s output names' }),
  /** Same graph contract with other weights, e.g. {"int8": "decoder.int8.onnx"} (validated against float32 at export). */
  variants: z.strictObject({ int8: text.min(1, 'must name a file').optional() }, { error: 'may only name an int8 file' }).optional(),
  /** decoder: "fused" when the image block runs onnxruntime's fused attention (no [heads, S, S] score tensors). */
  image_attention: z.enum(['fused', 'matmul'], { error: 'must be "fused" or "matmul"' }).optional(),
  /** decoder: how many last rows its `logits` output has (default 1); above 1 the engine checks drafted answers. */
  logits_rows: z.number({ error: 'must be a whole number from 1 to 64' }).int('must be a whole number from 1 to 64').min(1, 'must be a whole number from 1 to 64').max(64, 'must be a whole number from 1 to 64').optional(),
}, { error: 'must name a file, its inputs and its outputs' });

/**
 * config.json of a model directory. Unknown keys are allowed (exporters add provenance such as `source`);
 * everything the engine reads is checked here, so a broken file fails at load with the JSON path at fault
 * instead of a shape error in the middle of a request.
 */
export const modelConfigSchema = z.looseObject({
  format: z.literal(MODEL_FORMAT, { error: (iss) => `is ${JSON.stringify(iss.input)}, expected "${MODEL_FORMAT}" (this is not a Pixel-SAIL ONNX model)` }),
  format_version: count,
  name: text.min(1, 'must not be empty'),
  model: z.looseObject({
    vocab_size: count,
    hidden_size: count,
    intermediate_size: count,
    num_hidden_layers: count,
    num_attention_heads: count,
    num_key_value_heads: count,
    patch_size: count,
    max_long_side: count,
    upsampler_channels: count,
    num_upsample_blocks: count,
    seg_hidden_states: count,
    num_prompt_slots: count,
    token_ids: z.record(text, z.number().int('must be an integer token id').nonnegative('must be a token id (0 or more)'), { error: 'must map special tokens to ids' }),
  }, { error: 'must be an object (the model\'s sizes)' }),
  image: z.looseObject({
    patch_size: count,
    max_long_side: count,
    mean: z.array(z.number(), { error: 'must be 3 numbers' }).length(3, 'must be 3 numbers (R, G, B)'),
    std: z.array(z.number().positive('must be positive'), { error: 'must be 3 numbers' }).length(3, 'must be 3 numbers (R, G, B)'),
    upsample_factor: count,
    /** Which prompt mask a patch gets where masks overlap (absent: "largest_first"); see visualPrompts.ts. */
    prompt_overlap: z.enum(PROMPT_OVERLAP_ORDERS as [PromptOverlap, ...PromptOverlap[]], { error: `must be one of ${PROMPT_OVERLAP_ORDERS.map((o) => JSON.stringify(o)).join(', ')}` }).optional(),
  }, { error: 'must be an object (the image preprocessing rules)' }),
  chat: z.looseObject({
    user_prefix: text,
    user_suffix: text,
    answer_suffix: text,
    stop_tokens: z.array(text, { error: 'must list the stop tokens' }).min(1, 'must name at least one stop token'),
  }, { error: 'must be an object (the chat template)' }),
  prompts: z.looseObject({
    segment: text.includes('{expression}', { message: 'must contain {expression}' }),
    segmentAnswerPrefix: text,
    noTargetMarker: text.min(1, 'must not be empty'),
    caption: text.includes('{region}', { message: 'must contain {region}' }),
    mcq: text,
    mcqOptions: text.optional(),
  }, { error: 'must be an object (the prompt templates)' }),
  graphs: z.looseObject(Object.fromEntries(GRAPH_NAMES.map((g) => [g, graphSpecSchema])) as Record<GraphName, typeof graphSpecSchema>, { error: 'must be an object naming the four graphs' }),
}, { error: 'must be a JSON object' }).superRefine((c, ctx) => {
  for (const tok of REQUIRED_TOKENS) {
    if (c.model.token_ids[tok] === undefined) ctx.addIssue({ code: 'custom', path: ['model', 'token_ids'], message: `lacks the special token ${tok}` });
  }
  if (c.model.hidden_size % c.model.num_attention_heads !== 0) {
    ctx.addIssue({ code: 'custom', path: ['model', 'hidden_size'], message: `(${c.model.hidden_size}) must be a multiple of model.num_attention_heads (${c.model.num_attention_heads})` });
  }
  const expected = 3 + 2 * c.model.num_hidden_layers;
  if (c.graphs.decoder.inputs.length !== expected) {
    ctx.addIssue({ code: 'custom', path: ['graphs', 'decoder', 'inputs'], message: `names ${c.graphs.decoder.inputs.length} inputs, expected ${expected} for ${c.model.num_hidden_layers} layers` });
  }
});

/** The part of tokenizer.json the engine checks itself: the special tokens and their ids. */
const tokenizerSchema = z.looseObject({
  added_tokens: z.array(z.looseObject({ content: text, id: z.number({ error: 'must be a number' }).int('must be an integer') }), { error: 'must list the special tokens' }),
}, { error: 'must be a JSON object' });

export type ModelConfig = z.infer<typeof modelConfigSchema>;
export type ModelSizes = ModelConfig['model'];
export type GraphSpec = z.infer<typeof graphSpecSchema>;

export interface ModelDir {
  dir: string;
  config: ModelConfig;
  tokenizerJson: object;
  tokenizerConfig: object;
  /** The graph file; `weights` picks a variant the directory ships (float32 is always the main file). */
  graphPath(name: GraphName, weights?: 'float32' | 'int8'): string;
  /** Bytes of a graph on disk, its external weights file (`<file>.data`, see training/pixel_sail/exporting.py) included. */
  graphBytes(name: GraphName, weights?: 'float32' | 'int8'): number;
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
  if (!fs.existsSync(file)) throw new ModelDirError(`model directory is missing ${what} (${file})`);
  const read = readJsonFile(file);
  if (!read.ok) throw new ModelDirError(`cannot read ${file}: ${read.problem} (export the model again with training/export.py)`);
  return read.value;
}

/** `graphs.decoder.inputs[3]` from zod's path. */
function configPath(parts: readonly PropertyKey[]): string {
  return parts.map((p, i) => (typeof p === 'number' ? `[${p}]` : /^[A-Za-z_$][\w$]*$/.test(String(p)) ? `${i ? '.' : ''}${String(p)}` : `[${JSON.stringify(String(p))}]`)).join('') || 'the file';
}

function valueAt(raw: unknown, parts: readonly PropertyKey[]): unknown {
  let v = raw;
  for (const p of parts) {
    if (typeof v !== 'object' || v === null || !Object.hasOwn(v, p)) return undefined;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return v;
}

/** Checks config.json's shape; the first problem is thrown, naming the file and the JSON path. */
export function parseModelConfig(raw: unknown, file: string): ModelConfig {
  const parsed = modelConfigSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  // A missing key reads better as "is missing" than as "must be a number".
  const missing = issue.code === 'invalid_type' && issue.path.length > 0 && valueAt(raw, issue.path) === undefined;
  const where = configPath(issue.path);
  const problem = missing ? `${where} is missing` : `${where} ${issue.message}`;
  throw new ModelDirError(`${file}: ${problem} (fix config.json, or export the model again with training/export.py)`);
}

/** Reads and validates a model directory. Throws ModelDirError naming the first thing that is wrong. */
export function loadModelDir(dir: string): ModelDir {
  const abs = path.resolve(dir);
  if (!fs.existsSync(abs)) throw new ModelDirError(`model directory not found: ${abs}`);
  if (!fs.statSync(abs).isDirectory()) {
    const parent = path.dirname(abs);
    const hint = fs.existsSync(path.join(parent, 'config.json')) ? `: ${parent}` : '';
    throw new ModelDirError(`${abs} is a file, not a model folder; name the folder that holds config.json and the ONNX graphs${hint}`);
  }
  const configFile = path.join(abs, 'config.json');
  const config = parseModelConfig(readJson(configFile, 'config.json'), configFile);
  const ids = config.model.token_ids;
  for (const g of GRAPH_NAMES) {
    const spec = config.graphs[g];
    if (!fs.existsSync(path.join(abs, spec.file))) throw new ModelDirError(`model directory is missing the ${g} graph ${spec.file}`);
    for (const [kind, file] of Object.entries(spec.variants ?? {})) {
      if (file && !fs.existsSync(path.join(abs, file))) throw new ModelDirError(`model directory is missing the ${kind} ${g} graph ${file}`);
    }
  }
  const tokenizerFile = path.join(abs, 'tokenizer.json');
  const tokenizerJson = readJson(tokenizerFile, 'tokenizer.json') as object;
  const tokenizer = tokenizerSchema.safeParse(tokenizerJson);
  if (!tokenizer.success) {
    const issue = tokenizer.error.issues[0];
    throw new ModelDirError(`${tokenizerFile}: ${configPath(issue.path)} ${issue.message} (export the model again with training/export.py)`);
  }
  const added = new Map(tokenizer.data.added_tokens.map((t) => [t.content, t.id]));
  for (const tok of REQUIRED_TOKENS) {
    if (added.get(tok) !== ids[tok]) {
      throw new ModelDirError(`tokenizer.json does not define the special token ${tok} with id ${ids[tok]}`);
    }
  }
  const tcPath = path.join(abs, 'tokenizer_config.json');
  const tokenizerConfig = fs.existsSync(tcPath) ? (readJson(tcPath, 'tokenizer_config.json') as object) : {};
  const graphPath = (name: GraphName, weights: 'float32' | 'int8' = 'float32') => {
    const spec = config.graphs[name];
    const file = weights === 'int8' ? spec.variants?.int8 : spec.file;
    if (!file) throw new ModelDirError(`model ${config.name} has no ${weights} ${name} graph`);
    return path.join(abs, file);
  };
  return {
    dir: abs,
    config,
    tokenizerJson,
    tokenizerConfig,
    graphPath,
    graphBytes: (name, weights) => {
      const file = graphPath(name, weights);
      const data = `${file}.data`;
      return fs.statSync(file).size + (fs.existsSync(data) ? fs.statSync(data).size : 0);
    },
    hasInt8Decoder: typeof config.graphs.decoder.variants?.int8 === 'string',
    headDim: config.model.hidden_size / config.model.num_attention_heads,
  };
}

/** The default model shipped with the extension, relative to the extension (or package) root. */
export function defaultModelPath(packageRoot: string): string {
  return path.join(packageRoot, 'models', DEFAULT_MODEL_NAME);
}
