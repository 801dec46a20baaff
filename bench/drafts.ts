// `npm run bench -- --drafts [--model DIR] [--split DIR] [--prompts N]`: what drafted segment answers change, on a
// model whose decoder returns several logits rows (graphs.decoder.logits_rows > 1; export.py --logits-rows 8).
// The same graphs run three ways on the split's referring expressions (ground_truth.json tasks of type res):
// int8 drafted, int8 plain (the config without logits_rows, so the engine drafts nothing) and float32 plain.
// Reports how many answers took one decoder pass, the passes in all, and the int8 answers and masks against
// float32 (drafted and plain alike), and float32 drafted against float32 plain (which must be identical).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Engine } from '../src/engine/engine';
import type { EngineAnswer, EngineTask } from '../src/engine/types';
import { addIou, gIoU, newIou } from '../src/eval/metrics';
import { decodeRle } from '../src/masks/rle';

export interface DraftOptions {
  modelPath: string;
  split: string;
  prompts: number;
  threads: number;
  log: (line: string) => void;
}

function maskIoU(a: EngineAnswer['masks'][number], b: EngineAnswer['masks'][number]): number {
  const acc = newIou();
  addIou(acc, decodeRle(a.rle), decodeRle(b.rle));
  return gIoU(acc);
}

const sameMasks = (a: EngineAnswer, b: EngineAnswer) => a.masks.length === b.masks.length && a.masks.every((m, i) => maskIoU(m, b.masks[i]) === 1);

export async function draftBench(opts: DraftOptions, asJson: boolean): Promise<void> {
  const config = JSON.parse(fs.readFileSync(path.join(opts.modelPath, 'config.json'), 'utf8'));
  const rows = config.graphs?.decoder?.logits_rows ?? 1;
  if (rows < 2) throw new Error(`${opts.modelPath}: the decoder returns ${rows} logits row; export with --logits-rows 8 to draft answers`);
  const plainDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pixel-sail-plain-'));
  for (const f of fs.readdirSync(opts.modelPath)) {
    if (f !== 'config.json' && fs.statSync(path.join(opts.modelPath, f)).isFile()) fs.symlinkSync(path.resolve(opts.modelPath, f), path.join(plainDir, f));
  }
  delete config.graphs.decoder.logits_rows;
  fs.writeFileSync(path.join(plainDir, 'config.json'), JSON.stringify(config));
  const gt = JSON.parse(fs.readFileSync(path.join(opts.split, 'ground_truth.json'), 'utf8'));
  const files = new Map<number, string>(gt.images.map((i: { id: number; file_name: string }) => [i.id, path.join(opts.split, 'images', i.file_name)]));
  const tasks = (gt.tasks as { image_id: number; type: string; expression: string }[]).filter((t) => t.type === 'res').slice(0, opts.prompts);
  const open = (dir: string, weights: 'int8' | 'float32') => Engine.open(dir, { device: 'cpu', weights, threads: opts.threads, cacheBudgetMb: 512 });
  const drafted8 = await open(opts.modelPath, 'int8'), plain8 = await open(plainDir, 'int8');
  const drafted32 = await open(opts.modelPath, 'float32'), plain32 = await open(plainDir, 'float32');
  const r = {
    model: opts.modelPath, split: opts.split, prompts: tasks.length, logitsRows: rows,
    onePassInt8: 0, passesInt8Drafted: 0, passesInt8Plain: 0,
    float32DraftedEqualsPlain: { answers: 0, masks: 0 },
    int8DraftedVsFloat32: { sameAnswer: 0, masksCompared: 0, meanIoU: 0, minIoU: 1 },
    int8PlainVsFloat32: { sameAnswer: 0, masksCompared: 0, meanIoU: 0, minIoU: 1 },
  };
  const against = (acc: typeof r.int8PlainVsFloat32, x: EngineAnswer, ref: EngineAnswer) => {
    if (x.answer === ref.answer) acc.sameAnswer++;
    if (x.masks.length === 0 || x.masks.length !== ref.masks.length) return;
    const v = maskIoU(x.masks[0], ref.masks[0]);
    acc.masksCompared++;
    acc.meanIoU += v;
    acc.minIoU = Math.min(acc.minIoU, v);
  };
  try {
    for (const [k, t] of tasks.entries()) {
      const task: EngineTask = { kind: 'segment', image: files.get(t.image_id)!, text: t.expression };
      const [d8, p8, d32, p32] = [await drafted8.run(task), await plain8.run(task), await drafted32.run(task), await plain32.run(task)];
      if (d8.timingsMs.decoderPasses === 1) r.onePassInt8++;
      r.passesInt8Drafted += d8.timingsMs.decoderPasses;
      r.passesInt8Plain += p8.timingsMs.decoderPasses;
      if (d32.answer === p32.answer) r.float32DraftedEqualsPlain.answers++;
      if (sameMasks(d32, p32)) r.float32DraftedEqualsPlain.masks++;
      against(r.int8DraftedVsFloat32, d8, p32);
      against(r.int8PlainVsFloat32, p8, p32);
      if ((k + 1) % 20 === 0) opts.log(`  ${k + 1} of ${tasks.length} prompts`);
    }
  } finally {
    await Promise.all([drafted8, plain8, drafted32, plain32].map((e) => e.close()));
    fs.rmSync(plainDir, { recursive: true, force: true });
  }
  for (const acc of [r.int8DraftedVsFloat32, r.int8PlainVsFloat32]) acc.meanIoU = Math.round((acc.meanIoU / Math.max(1, acc.masksCompared)) * 1e4) / 1e4;
  if (asJson) {
    process.stdout.write(JSON.stringify(r) + '\n');
    return;
  }
  const line = (k: string, v: string) => process.stdout.write(`${k.padEnd(34)} ${v}\n`);
  line('model, split', `${r.model} (${r.logitsRows} logits rows), ${r.split}, ${r.prompts} referring expressions`);
  line('int8: answered in one pass', `${r.onePassInt8} of ${r.prompts}; decoder passes ${r.passesInt8Drafted} drafted, ${r.passesInt8Plain} plain`);
  line('float32 drafted = plain', `answers ${r.float32DraftedEqualsPlain.answers} of ${r.prompts}, masks ${r.float32DraftedEqualsPlain.masks} of ${r.prompts}`);
  for (const [k, acc] of [['int8 drafted vs float32', r.int8DraftedVsFloat32], ['int8 plain vs float32', r.int8PlainVsFloat32]] as const) {
    line(k, `same answer ${acc.sameAnswer} of ${r.prompts}; mask IoU mean ${acc.meanIoU}, min ${Math.round(acc.minIoU * 1e4) / 1e4} over ${acc.masksCompared} masks`);
  }
}
