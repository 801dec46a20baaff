// `pixel-sail check-model DIR`: loads every graph a model directory ships — the float32 files and every
// weights variant — checks each graph's inputs and outputs against config.json, and runs the parity
// fixtures when the directory has them. The engine only opens the graphs it runs, so a corrupt float32
// decoder used to go unnoticed while the int8 one served; this finds it, and names the file at fault.
import '../engine/ortTelemetryOff'; // before onnxruntime-node: see the module
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { GRAPH_NAMES, loadModelDir, ModelDir } from '../engine/modelDir';
import { checkParity } from './parityCheck';

export interface ModelCheckItem {
  /** A file of the directory, or "parity" for the fixtures check. */
  file: string;
  ok: boolean;
  problem?: string;
}

export interface ModelCheckReport {
  model: string;
  items: ModelCheckItem[];
  ok: boolean;
}

const firstLine = (e: unknown) => String((e as Error).message ?? e).split('\n')[0];

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && [...a].sort().every((v, i) => v === [...b].sort()[i]);
}

async function checkGraph(model: ModelDir, file: string, spec: { inputs: string[]; outputs: string[] }): Promise<ModelCheckItem> {
  const name = path.relative(model.dir, file);
  if (!fs.existsSync(file)) return { file: name, ok: false, problem: 'missing' };
  let session: ort.InferenceSession | undefined;
  try {
    session = await ort.InferenceSession.create(file, { executionProviders: ['cpu'], graphOptimizationLevel: 'disabled' });
  } catch (e) {
    return { file: name, ok: false, problem: `onnxruntime cannot load it: ${firstLine(e)} (the file is damaged or not an ONNX model; export or convert it again)` };
  }
  try {
    if (!sameSet(session.inputNames, spec.inputs)) {
      return { file: name, ok: false, problem: `inputs ${JSON.stringify(session.inputNames)} differ from config.json's ${JSON.stringify(spec.inputs)}` };
    }
    if (!sameSet(session.outputNames, spec.outputs)) {
      return { file: name, ok: false, problem: `outputs ${JSON.stringify(session.outputNames)} differ from config.json's ${JSON.stringify(spec.outputs)}` };
    }
    return { file: name, ok: true };
  } finally {
    await session.release();
  }
}

export async function checkModel(dir: string): Promise<ModelCheckReport> {
  let model: ModelDir;
  try {
    model = loadModelDir(dir);
  } catch (e) {
    return { model: path.resolve(dir), items: [{ file: 'config.json', ok: false, problem: firstLine(e) }], ok: false };
  }
  const items: ModelCheckItem[] = [];
  for (const g of GRAPH_NAMES) {
    const spec = model.config.graphs[g];
    items.push(await checkGraph(model, model.graphPath(g), spec));
    if (spec.variants?.int8) items.push(await checkGraph(model, model.graphPath(g, 'int8'), spec));
  }
  if (fs.existsSync(path.join(model.dir, 'parity'))) {
    if (items.every((i) => i.ok)) {
      try {
        const parity = await checkParity(model.dir, 1e-4);
        const off = [
          ...Object.entries(parity.diffs).filter(([, d]) => !(d <= parity.tolerance)).map(([k, d]) => `${k} differs by ${d.toExponential(2)}`),
          ...Object.entries(parity.exact).filter(([, same]) => !same).map(([k]) => `${k} differs`),
          ...(parity.int8 && !parity.int8.ok ? [`the int8 decoder's answer or mask differs (mask IoU ${parity.int8.maskIoU.toFixed(3)})`] : []),
        ];
        items.push(parity.ok ? { file: 'parity', ok: true } : { file: 'parity', ok: false, problem: `outputs differ from the PyTorch fixtures: ${off.join('; ')}` });
      } catch (e) {
        items.push({ file: 'parity', ok: false, problem: firstLine(e) });
      }
    } else {
      items.push({ file: 'parity', ok: false, problem: 'not run: a graph above does not load' });
    }
  }
  return { model: model.dir, items, ok: items.every((i) => i.ok) };
}
