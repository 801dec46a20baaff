// `npm run bench -- --attention [--layers 2] [--tokens 1026,4098] [--runs 2]`: the image prefill's attention, the
// batched-MatMul graph against the fused one (com.microsoft.MultiHeadAttention, a tiled flash attention on the
// CPU), at the paper's 0.5B layer shapes with a few layers (training/attention_graphs.py). Each graph runs in a
// fresh child process, so its peak RSS is its own; the two alternate per token count, and the float32 pair's
// outputs are compared. Per-layer figures scale to the 24 layers of the 0.5B model (its MLP and projections are
// the same in both graphs; only the attention differs).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';

type Graphs = { layers: number; hidden: number; heads: number; kvHeads: number; headDim: number; files: Record<string, string> };
type ChildResult = { ms: number[]; peakRssMb: number; sample: number[] };

/** One prefill graph, S tokens of a square image block (all-zero mask, no past), in this process. */
export async function attentionChild(file: string, tokens: number, runs: number, threads: number): Promise<ChildResult> {
  const g: Graphs = JSON.parse(fs.readFileSync(path.join(path.dirname(file), 'graphs.json'), 'utf8'));
  const session = await ort.InferenceSession.create(file, { intraOpNumThreads: threads, interOpNumThreads: 1, enableCpuMemArena: false });
  let seed = 7;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648 - 0.5;
  const x = Float32Array.from({ length: tokens * g.hidden }, rnd);
  const side = Math.round(Math.sqrt(tokens - 2));
  const pos = new BigInt64Array(3 * tokens);
  for (let i = 0; i < tokens; i++) {
    const p = i - 1;
    const patch = i >= 1 && i <= side * side;
    for (let a = 0; a < 3; a++) pos[a * tokens + i] = BigInt(i === 0 ? 0 : patch ? [1, 1 + Math.floor(p / side), 1 + (p % side)][a] : i - side * side + side);
  }
  const feeds: Record<string, ort.Tensor> = {
    inputs_embeds: new ort.Tensor('float32', x, [1, tokens, g.hidden]),
    attention_mask: new ort.Tensor('float32', new Float32Array(tokens * tokens), [1, 1, tokens, tokens]),
    position_ids: new ort.Tensor('int64', pos, [3, 1, tokens]),
  };
  for (let i = 0; i < g.layers; i++)
    for (const kv of ['key', 'value']) feeds[`past_${kv}_${i}`] = new ort.Tensor('float32', new Float32Array(0), [1, g.kvHeads, 0, g.headDim]);
  const ms: number[] = [];
  let out: ort.InferenceSession.OnnxValueMapType | undefined;
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    out = await session.run(feeds);
    ms.push(performance.now() - t0);
  }
  const hidden = out!.last_hidden.data as Float32Array;
  // A strided sample of the last hidden states: enough to compare the two graphs' answers without shipping 14 MB.
  const sample = Array.from({ length: 4096 }, (_, i) => hidden[Math.floor((i * hidden.length) / 4096)]);
  return { ms, peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024), sample };
}

export async function attentionBench(o: { repo: string; python: string; threads: number; layers: number; tokens: number[]; runs: number; log: (s: string) => void }, asJson: boolean) {
  const dir = path.join(os.tmpdir(), `pixel-sail-attention-${o.layers}`);
  if (!fs.existsSync(path.join(dir, 'graphs.json'))) {
    o.log(`writing the ${o.layers}-layer graphs at the 0.5B shapes…`);
    const r = spawnSync(o.python, ['training/attention_graphs.py', '--out', dir, '--layers', String(o.layers)], { cwd: o.repo, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`attention_graphs.py failed: ${r.stderr}`);
  }
  const g: Graphs = JSON.parse(fs.readFileSync(path.join(dir, 'graphs.json'), 'utf8'));
  const child = (key: string, tokens: number): ChildResult => {
    const r = spawnSync(process.execPath, [path.join(o.repo, 'dist/bench.js'), '--attention-child', path.join(dir, g.files[key]), String(tokens), String(o.runs), String(o.threads)],
      { encoding: 'utf8', maxBuffer: 1 << 26 });
    if (r.status !== 0) throw new Error(`the ${key} prefill at ${tokens} tokens failed: ${r.stderr}`);
    return JSON.parse(r.stdout);
  };
  const rows = [];
  for (const tokens of o.tokens) {
    const res: Record<string, ChildResult> = {};
    for (const key of ['int8-matmul', 'int8-fused', 'float32-matmul', 'float32-fused']) {
      o.log(`  ${key}, ${tokens} tokens…`);
      res[key] = child(key, tokens);
    }
    const best = (k: string) => Math.round(Math.min(...res[k].ms));
    const a = res['float32-matmul'].sample, b = res['float32-fused'].sample;
    const maxAbs = Math.max(...a.map(Math.abs));
    const maxDiff = Math.max(...a.map((v, i) => Math.abs(v - b[i])));
    const attentionFlop = 4 * g.heads * tokens * tokens * g.headDim * g.layers;
    rows.push({
      tokens,
      msBest: { int8Matmul: best('int8-matmul'), int8Fused: best('int8-fused'), float32Matmul: best('float32-matmul'), float32Fused: best('float32-fused') },
      speedup: { int8: Math.round((best('int8-matmul') / best('int8-fused')) * 100) / 100, float32: Math.round((best('float32-matmul') / best('float32-fused')) * 100) / 100 },
      peakRssMb: { int8Matmul: res['int8-matmul'].peakRssMb, int8Fused: res['int8-fused'].peakRssMb, float32Matmul: res['float32-matmul'].peakRssMb, float32Fused: res['float32-fused'].peakRssMb },
      perLayerMsInt8: { matmul: Math.round(best('int8-matmul') / g.layers), fused: Math.round(best('int8-fused') / g.layers) },
      attentionGflop: Math.round(attentionFlop / 1e9),
      float32MaxRelDiff: maxDiff / maxAbs,
    });
  }
  const result = { layers: g.layers, shapes: `hidden ${g.hidden}, ${g.heads} heads, ${g.kvHeads} KV heads`, threads: o.threads, runs: o.runs, rows };
  if (asJson) {
    process.stdout.write(JSON.stringify(result) + '\n');
    return;
  }
  process.stdout.write(`image prefill, ${g.layers} decoder layers at the 0.5B shapes (${result.shapes}), ${o.threads} threads, best of ${o.runs}:\n`);
  for (const r of rows)
    process.stdout.write(`  ${r.tokens} tokens: int8 ${r.msBest.int8Matmul} → ${r.msBest.int8Fused} ms (×${r.speedup.int8}), float32 ${r.msBest.float32Matmul} → ${r.msBest.float32Fused} ms (×${r.speedup.float32}); ` +
      `peak RSS int8 ${r.peakRssMb.int8Matmul} → ${r.peakRssMb.int8Fused} MB, float32 ${r.peakRssMb.float32Matmul} → ${r.peakRssMb.float32Fused} MB; float32 answers agree to ${r.float32MaxRelDiff.toExponential(1)} (relative)\n`);
}
