// `npm run bench -- --model DIR --scale [--weights int8,float32] [--runs N] [--only-512] [--json]`: a paper-size model
// (training/scale_model.py: the official 0.5B or 3B shapes, random weights, converted by convert_official.py)
// through the engine worker as the extension runs it. Reports, per decoder precision, in a fresh worker each:
// load time, image prefill at 512 px and at 1024 px (the official max_long_side: 64×64 = 4096 patches), the
// follow-up text prompt, a click prompt, decode tokens/s and the worker's peak RSS; the prefill's FLOP/s
// against the GEMM peak measured in the same run; and, from DIR/conversion.json, the conversion's time and
// peak RSS and the ONNX files' sizes. Few samples (each 1024-px prefill is a multi-second call): medians of
// `--runs` images (default 2) per size. `--only-512` (the 3B shapes on a shared 2-core machine: a 1024-px
// prefill there is tens of minutes) skips the 1024-px rows; the follow-up then runs on the cached 512-px image.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EngineClient } from '../src/engine/engineClient';
import type { ModelDir } from '../src/engine/modelDir';
import { loadModelDir } from '../src/engine/modelDir';
import { TextCodec } from '../src/engine/tokenizer';
import type { EngineAnswer } from '../src/engine/types';

export interface ScaleOptions {
  repo: string;
  python: string;
  modelPath: string;
  threads: number;
  runs: number;
  weights: ('int8' | 'float32')[];
  only512?: boolean;
  gemmPeakGflops: () => Promise<{ gflops: number; gflopsP50: number; n: number }>;
  log: (s: string) => void;
}

const DECODE_TOKENS = 48;

export const SCALE_GOALS = { prefill1024Ms: 15000, followUpTextMs: 400, peakRssMb: 2500, matmulEfficiency: 0.6 };

const round = (x: number) => Math.round(x * 100) / 100;
const median = (v: number[]) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length ? round(s[Math.floor((s.length - 1) / 2)]) : NaN;
};

function scenes(opts: ScaleOptions, size: number, count: number): string[] {
  const dir = path.join(os.tmpdir(), `pixel-sail-scale-${size}-${count}`);
  if (!fs.existsSync(path.join(dir, 'ground_truth.json'))) {
    fs.rmSync(dir, { recursive: true, force: true });
    opts.log(`generating ${count} scenes at ${size} px…`);
    const r = spawnSync(opts.python, ['training/generate.py', '--split', 'test', '--seed', '777', '--count', String(count), '--size', String(size), '--out', dir, '--quiet'], { cwd: opts.repo, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`training/generate.py failed: ${r.stderr || r.error}`);
  }
  const gt = JSON.parse(fs.readFileSync(path.join(dir, 'ground_truth.json'), 'utf8'));
  return gt.images.map((i: { file_name: string }) => path.join(dir, 'images', i.file_name));
}

/** Matmul FLOPs of one decoder pass over S tokens with no cache (attention scores and values included; last-row LM head). */
export function decoderFlops(model: ModelDir, s: number): number {
  const m = model.config.model;
  const hd = model.headDim;
  const h = m.hidden_size;
  const proj = 2 * s * h * (m.num_attention_heads * hd + 2 * m.num_key_value_heads * hd) + 2 * s * m.num_attention_heads * hd * h;
  const mlp = 2 * s * 3 * h * m.intermediate_size;
  const attn = 2 * 2 * s * s * m.num_attention_heads * hd;
  return m.num_hidden_layers * (proj + mlp + attn) + 2 * h * m.vocab_size;
}

function onnxSizes(dir: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const f of fs.readdirSync(dir).sort()) if (/\.onnx(\.data)?$/.test(f)) out[f] = fs.statSync(path.join(dir, f)).size;
  return out;
}

interface PrecisionResult {
  weights: string;
  loadMs: number;
  prefill512Ms: number;
  prefill1024Ms: number;
  patches1024: number;
  newImage1024TextMs: number;
  followUpTextMs: number;
  /** The follow-up's round trip less the fallback step: what a trained model's answer of the same length costs. */
  followUpAnswerMs: number;
  /** Its parts, medians: the answer's steps (prompt + answerTokens), the fallback step, the masks. */
  followUpParts: { generateMs: number; firstPassMs: number; fallbackMs: number; masksMs: number };
  /** The decoder checks the segment answer as a draft (graphs.decoder.logits_rows > 1); the most drafted tokens kept. */
  drafted: boolean;
  draftKept: number;
  answerTokens: number;
  clickPromptMs: number;
  decodeTokensPerSec: number;
  peakRssMb: number;
  prefillGflops1024: number;
  prefillGflops512: number;
  /** The first 512-px answer's text (random weights: nonsense, but it shows the whole path ran). */
  firstAnswer: string;
}

async function onePrecision(opts: ScaleOptions, model: ModelDir, weights: 'int8' | 'float32', small: string[], large: string[]): Promise<PrecisionResult> {
  const client = new EngineClient({
    workerPath: path.join(opts.repo, 'dist/worker.js'),
    config: { modelPath: opts.modelPath, device: 'cpu', weights, cacheBudgetMb: 512, maxImagePixels: 1e8, threads: opts.threads },
    defaultTimeoutMs: 30 * 60 * 1000,
  });
  const t0 = performance.now();
  const info = await client.start();
  const loadMs = performance.now() - t0;
  opts.log(`${weights}: worker ready in ${Math.round(loadMs)} ms (${info.device.provider}, ${info.device.weights} decoder)`);
  const request = async (task: Parameters<typeof client.request>[0]) => {
    const t = performance.now();
    const a: EngineAnswer = await client.request(task);
    return { a, ms: performance.now() - t };
  };
  const prefill512: number[] = [], prefill1024: number[] = [], new1024: number[] = [], followUp: number[] = [], click: number[] = [], tps: number[] = [];
  const followUpAnswer: number[] = [], fGenerate: number[] = [], fFallback: number[] = [], fMasks: number[] = [], fFirstPass: number[] = [];
  let drafted = false, draftKept = 0;
  let patches1024 = 0;
  // Random weights never say the stop token: every answer is cut at the length of a trained model's answer to a
  // segment prompt (`It is [SEG].`, then the stop token), so it runs as many decoding steps as that answer: the
  // prompt step, then one step per token (the last one reads the stop token). Without [SEG] in it, the engine's
  // fallback then prefills prompt + `It is [SEG].` once more for the mask: a trained model never pays that step,
  // so the follow-up is also reported without it.
  // A decoder with graphs.decoder.logits_rows > 1 checks that answer as a draft in the prompt's own pass. A
  // trained model predicts it and the answer ends there; random weights reject it, and the passes that follow
  // (one per token, then the fallback) are what a rejected draft costs. The first pass runs the same operations
  // either way, so the follow-up as a trained answer runs it is the round trip without the later passes.
  const maxNewTokens = new TextCodec(model).encode(model.config.prompts.segmentAnswerPrefix).length;
  const noteFollowUp = (a: EngineAnswer, ms: number) => {
    const t = a.timingsMs;
    followUp.push(ms);
    if (t.draftAccepted !== undefined) {
      drafted = true;
      draftKept = Math.max(draftKept, t.draftAccepted);
      followUpAnswer.push(ms - (t.generate - t.firstPass));
    } else {
      followUpAnswer.push(ms - (t.fallbackMs ?? 0));
    }
    fGenerate.push(t.generate - (t.fallbackMs ?? 0));
    fFirstPass.push(t.firstPass ?? NaN);
    fFallback.push(t.fallbackMs ?? 0);
    fMasks.push(t.masks ?? NaN);
  };
  let firstAnswer: string | undefined;
  for (const img of small) {
    const { a } = await request({ kind: 'segment', image: img, text: 'the red circle', maxNewTokens });
    prefill512.push(a.timingsMs.imagePrefill);
    firstAnswer ??= a.answer;
    opts.log(`  512 px: prefill ${a.timingsMs.imagePrefill} ms (total ${a.timingsMs.total} ms; ${a.timingsMs.generatedTokens} tokens, ${a.masks.length} mask(s)): ${JSON.stringify(a.answer)}`);
    if (opts.only512) {
      const f = await request({ kind: 'segment', image: img, text: 'the large blue square', maxNewTokens });
      noteFollowUp(f.a, f.ms);
      opts.log(`  512 px follow-up ${Math.round(f.ms)} ms (cache hit ${f.a.timingsMs.cacheHit}, ${f.a.timingsMs.generatedTokens} tokens): ${JSON.stringify(f.a.answer)}`);
    }
  }
  for (const img of large) {
    const { a, ms } = await request({ kind: 'segment', image: img, text: 'the red circle', maxNewTokens });
    prefill1024.push(a.timingsMs.imagePrefill);
    new1024.push(ms);
    opts.log(`  1024 px: prefill ${a.timingsMs.imagePrefill} ms (round trip ${Math.round(ms)} ms)`);
    // Follow-ups on the cached 1024-px image: the case the goal is about.
    const f = await request({ kind: 'segment', image: img, text: 'the large blue square', maxNewTokens });
    noteFollowUp(f.a, f.ms);
    // Decode speed on the cached 1024-px image (a 4,098-token KV cache): a longer answer to the same prompt.
    const d = await request({ kind: 'segment', image: img, text: 'the large blue square', maxNewTokens: DECODE_TOKENS });
    // Random weights rarely say the stop token or [SEG]: the tokens are the model's own, timed without the
    // `It is [SEG].` fallback that then supplies the mask.
    if (d.a.timingsMs.generatedTokens > 0) tps.push(d.a.timingsMs.generatedTokens / ((d.a.timingsMs.generate - (d.a.timingsMs.fallbackMs ?? 0)) / 1000));
    const c = await request({ kind: 'segmentRegions', image: img, regions: [{ kind: 'points', points: [{ x: 300, y: 280, positive: true }] }], maxNewTokens });
    click.push(c.ms);
    opts.log(`  follow-up ${Math.round(f.ms)} ms (cache hit ${f.a.timingsMs.cacheHit}; ${f.a.timingsMs.generatedTokens} tokens in ${f.a.timingsMs.generate - (f.a.timingsMs.fallbackMs ?? 0)} ms, fallback step ${f.a.timingsMs.fallbackMs ?? 0} ms, masks ${f.a.timingsMs.masks} ms), decode ${d.a.timingsMs.generatedTokens} tokens in ${d.a.timingsMs.generate} ms, click ${Math.round(c.ms)} ms (prefill ${c.a.timingsMs.imagePrefill ?? 0} ms)`);
  }
  const peakRssMb = (await client.stats()).peakRssMb;
  client.dispose();
  const side = model.config.image.max_long_side;
  const patch = model.config.image.patch_size;
  patches1024 = (side / patch) ** 2;
  const patches512 = Math.round(512 / patch) ** 2;
  return {
    weights, loadMs: round(loadMs), prefill512Ms: median(prefill512), prefill1024Ms: median(prefill1024), patches1024,
    newImage1024TextMs: median(new1024), followUpTextMs: median(followUp), clickPromptMs: median(click),
    followUpAnswerMs: median(followUpAnswer), answerTokens: maxNewTokens, drafted, draftKept,
    followUpParts: { generateMs: median(fGenerate), firstPassMs: median(fFirstPass), fallbackMs: median(fFallback), masksMs: median(fMasks) },
    decodeTokensPerSec: median(tps), peakRssMb,
    prefillGflops1024: round(decoderFlops(model, patches1024 + 2) / (median(prefill1024) / 1000) / 1e9),
    prefillGflops512: round(decoderFlops(model, patches512 + 2) / (median(prefill512) / 1000) / 1e9),
    firstAnswer: firstAnswer ?? '',
  };
}

export async function scaleBench(opts: ScaleOptions, asJson: boolean): Promise<void> {
  const model = loadModelDir(opts.modelPath);
  const conversionFile = path.join(opts.modelPath, 'conversion.json');
  const conversion = fs.existsSync(conversionFile) ? JSON.parse(fs.readFileSync(conversionFile, 'utf8')) : undefined;
  const m = model.config.model;
  opts.log(`model ${model.config.name}: hidden ${m.hidden_size}, ${m.num_hidden_layers} layers, ${m.num_attention_heads}/${m.num_key_value_heads} heads, MLP ${m.intermediate_size}, vocabulary ${m.vocab_size}; max side ${model.config.image.max_long_side}`);
  const small = scenes(opts, 512, opts.runs);
  const large = opts.only512 ? [] : scenes(opts, model.config.image.max_long_side, opts.runs);
  const results: PrecisionResult[] = [];
  for (const w of opts.weights) {
    if (w === 'int8' && !model.hasInt8Decoder) {
      opts.log('int8: the model ships no int8 decoder (convert with --int8)');
      continue;
    }
    results.push(await onePrecision(opts, model, w, small, large));
  }
  // After the workers are gone, so the GEMM has the cores to itself as the prefill had.
  const peak = await opts.gemmPeakGflops();
  const report = {
    model: model.config.name, threads: opts.threads, runs: opts.runs, shapes: m, onnxBytes: onnxSizes(opts.modelPath),
    conversion: conversion && { seconds: conversion.conversion_s, peakRssMb: conversion.conversion_peak_rss_mb, externalData: conversion.external_data, parameters: conversion.parameters },
    gemmPeakGflops: round(peak.gflops), gemmPeakGflopsP50: round(peak.gflopsP50),
    results: results.map((r) => ({ ...r, matmulEfficiency1024: round(r.prefillGflops1024 / peak.gflops), matmulEfficiency512: round(r.prefillGflops512 / peak.gflops) })),
    goals: SCALE_GOALS,
  };
  if (asJson) {
    process.stdout.write(JSON.stringify(report) + '\n');
    return;
  }
  const line = (k: string, v: string, goal?: string) => process.stdout.write(`${k.padEnd(28)} ${v}${goal ? `   (goal ${goal})` : ''}\n`);
  line('model', `${report.model}, ${opts.threads} threads, medians of ${opts.runs} images per size`);
  if (report.conversion) line('conversion', `${report.conversion.seconds} s, converter peak RSS ${report.conversion.peakRssMb} MB, ${(report.conversion.parameters / 1e6).toFixed(0)} M parameters; external data: ${report.conversion.externalData.join(', ') || 'none'}`);
  line('ONNX files', Object.entries(report.onnxBytes).map(([f, b]) => `${f} ${(b / 1e6).toFixed(0)} MB`).join(', '));
  line('GEMM peak', `${report.gemmPeakGflops} GFLOP/s best, ${report.gemmPeakGflopsP50} p50`);
  for (const r of report.results) {
    line(`[${r.weights}] load`, `${r.loadMs} ms`);
    line(`[${r.weights}] prefill 512 px`, `${r.prefill512Ms} ms (${r.prefillGflops512} GFLOP/s = ${r.matmulEfficiency512} of the GEMM peak)`);
    line(`[${r.weights}] first answer`, JSON.stringify(r.firstAnswer));
    const has1024 = !Number.isNaN(r.prefill1024Ms);
    if (has1024) line(`[${r.weights}] prefill 1024 px`, `${r.prefill1024Ms} ms (${r.patches1024} patches; new image + text ${r.newImage1024TextMs} ms)`, r.weights === 'int8' ? `≤ ${SCALE_GOALS.prefill1024Ms}` : undefined);
    line(`[${r.weights}] follow-up text`, `${r.followUpTextMs} ms round trip, of which the prompt step and ${r.answerTokens} answer tokens ${r.followUpParts.generateMs} ms, the fallback step ${r.followUpParts.fallbackMs} ms, the masks ${r.followUpParts.masksMs} ms`);
    if (r.drafted) {
      line(`[${r.weights}] follow-up, drafted`, `the first pass (prompt + the ${r.answerTokens}-token answer as a draft) ${r.followUpParts.firstPassMs} ms; drafted tokens the model kept: at most ${r.draftKept} of ${r.answerTokens}`);
      line(`[${r.weights}] follow-up, real answer`, `${r.followUpAnswerMs} ms (the round trip without the passes after the first: a trained model that predicts the draft runs none)`, r.weights === 'int8' ? `≤ ${SCALE_GOALS.followUpTextMs}` : undefined);
    } else {
      line(`[${r.weights}] follow-up, real answer`, `${r.followUpAnswerMs} ms (the round trip without the fallback step a trained model never runs)`, r.weights === 'int8' ? `≤ ${SCALE_GOALS.followUpTextMs}` : undefined);
    }
    if (has1024) line(`[${r.weights}] click prompt`, `${r.clickPromptMs} ms (cached image: the prompt changes the patch embeddings, so the block is prefilled again)`);
    if (has1024) line(`[${r.weights}] decode`, Number.isNaN(r.decodeTokensPerSec) ? 'not measured: the random weights answered the stop token at once' : `${r.decodeTokensPerSec} tokens/s`);
    line(`[${r.weights}] worker peak RSS`, `${r.peakRssMb} MB`, r.weights === 'int8' ? `≤ ${SCALE_GOALS.peakRssMb}` : undefined);
    if (has1024) line(`[${r.weights}] prefill FLOP/s`, `${r.prefillGflops1024} GFLOP/s at 1024 px = ${r.matmulEfficiency1024} of the GEMM peak`, r.weights === 'int8' ? `≥ ${SCALE_GOALS.matmulEfficiency}` : undefined);
  }
}
