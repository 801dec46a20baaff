// Runs one ONNX graph in onnxruntime-node (the engine's runtime) for the Python tests: there is no Python
// onnxruntime on this machine, and the kernels that matter are the ones the engine will run.
//   node training/run_graph.mjs GRAPH.onnx IN.json OUT.json [--threads N]
// IN.json: {"name": {"dims": [...], "type": "float32" | "int64", "data": base64 of the little-endian values}, ...}
// OUT.json: every output in the same form.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const ort = require('onnxruntime-node');
const [graph, inPath, outPath, ...rest] = process.argv.slice(2);
if (!graph || !inPath || !outPath) {
  console.error('usage: node training/run_graph.mjs GRAPH.onnx IN.json OUT.json [--threads N]');
  process.exit(2);
}
const threads = rest[0] === '--threads' ? Number(rest[1]) : 1;
const arrays = { float32: Float32Array, int64: BigInt64Array, int32: Int32Array, int8: Int8Array, uint8: Uint8Array };
const feeds = {};
for (const [name, t] of Object.entries(JSON.parse(readFileSync(inPath, 'utf8')))) {
  const bytes = Buffer.from(t.data, 'base64');
  const Arr = arrays[t.type];
  if (!Arr) throw new Error(`${name}: unsupported type ${t.type}`);
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  feeds[name] = new ort.Tensor(t.type, new Arr(copy.buffer), t.dims);
}
const session = await ort.InferenceSession.create(graph, { intraOpNumThreads: threads, interOpNumThreads: 1 });
const results = await session.run(feeds);
const out = {};
for (const [name, t] of Object.entries(results)) {
  const d = t.data;
  out[name] = { dims: t.dims, type: t.type, data: Buffer.from(d.buffer, d.byteOffset, d.byteLength).toString('base64') };
}
writeFileSync(outPath, JSON.stringify(out));
