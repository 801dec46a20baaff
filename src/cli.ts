// `pixel-sail` command-line tool: the same engine the extension runs, for scripts and batch users.
//   pixel-sail segment IMAGE --text "EXPR" [--out MASK.png] [--json]
//   pixel-sail describe IMAGE --region SPEC [--json]
//   pixel-sail ask IMAGE --text "QUESTION" [--region SPEC]... [--json]
//   common: --model DIR  --device auto|cpu|cuda  --weights auto|float32|int8
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { Engine, EngineError, MAX_NEW_TOKENS, missingCudaProvider } from './engine/engine';
import { imageSize } from './engine/imageLoader';
import { readInputFile } from './engine/inputFile';
import type { DeviceSetting, EngineAnswer, EngineTask, WeightsSetting } from './engine/types';
import { defaultModelPath, loadModelDir, ModelDirError } from './engine/modelDir';
import { parseRegionSpec, RegionSpecError } from './engine/regions';
import { answerText } from './engine/question';
import { decodeRle } from './masks/rle';
import { evaluate, EvalError } from './eval/evaluate';
import { defaultPhotosRoot } from './eval/photoTargets';
import { checkModel } from './tools/modelCheck';
import writeFileAtomic from 'write-file-atomic';
import { CocoFile, exportCoco, ExportError } from './annotations/cocoExport';
import { exportYolo } from './annotations/yoloExport';
import { BatchError, createJob, JobManifest, modelHash, parsePromptSpec, readManifest, runJob } from './annotations/batch';
import { mergeCoco, MergeError } from './annotations/cocoMerge';
import { StoreFormatError } from './annotations/store';
import { CocoImportError, importCoco } from './annotations/cocoImport';
import { count } from './words';

const USAGE = `usage:
  pixel-sail segment IMAGE --text "EXPRESSION" [--out MASK.png|.tif] [--json]
  pixel-sail eval DIR [--json] [--limit N]      DIR written by training/generate.py; also box, click and
                    scribble prompts on the held-out real photos (fetch them: python3 training/real_photos.py fetch)
  pixel-sail describe IMAGE --region SPEC [--json]
  pixel-sail ask IMAGE --text "QUESTION" [--region SPEC]... [--json]
  pixel-sail check-model DIR [--json]           load every graph, run the parity fixtures
  pixel-sail export ROOT --out FILE.json [--format polygon|rle|yolo] [--status accepted|all]
                    [--categories NAME,...] [--split-instances]     COCO JSON from the annotation store
  pixel-sail import FILE.json --root ROOT       COCO objects into the store (other tools' quirks accepted)
  pixel-sail annotate ROOT --prompt LABEL=EXPRESSION [--prompt ...] [--describe] [--policy skip|add|replace]
                    [--shard K/N] [--out FILE.json] | --resume JOB     batch job over a folder's images
  pixel-sail merge --out OUT.json SHARD.json...  shard exports → the single-machine export
options:
  --model DIR              model directory (default: the shipped model)
  --device auto|cpu|cuda   execution provider (default: auto)
  --weights auto|float32|int8
                           decoder weights (default: auto = int8 on the CPU when the model ships it)
  --max-tokens N           answer length limit
region SPEC: box:x,y,w,h | point:x,y[,neg][;x,y...] | scribble:x1,y1;x2,y2;...[@width] | mask:FILE.png
  in questions the regions are <region1>, <region2>, ... in the order given`;

class UsageError extends Error {}

interface Args {
  command: string;
  image: string;
  text?: string;
  regions: string[];
  out?: string;
  json: boolean;
  model?: string;
  device: DeviceSetting;
  weights: WeightsSetting;
  maxTokens?: number;
  limit?: number;
  format?: 'polygon' | 'rle' | 'yolo';
  status?: 'accepted' | 'all';
  categories?: string[];
  splitInstances: boolean;
  root?: string;
  prompts: string[];
  policy?: 'skip' | 'add' | 'replace';
  resume?: string;
  shard?: { k: number; n: number };
  inputs: string[];
  describe: boolean;
}

/** Refuses a value outside `allowed` with the message every enumerated option uses. */
function oneOf<T extends string>(flag: string, value: string, allowed: readonly T[]): asserts value is T {
  if (!(allowed as readonly string[]).includes(value)) {
    throw new UsageError(`${flag} must be ${allowed.slice(0, -1).join(', ')} or ${allowed[allowed.length - 1]}, got ${JSON.stringify(value)}`);
  }
}

function parseArgs(argv: string[]): Args {
  const [command, ...rest] = argv;
  if (command === '--help' || command === '-h') throw new UsageError('');
  if (!command) throw new UsageError('a command is required');
  if (!['segment', 'describe', 'ask', 'eval', 'check-model', 'export', 'import', 'annotate', 'merge'].includes(command)) throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  const args: Args = { command, image: '', regions: [], json: false, device: 'auto', weights: 'auto', splitInstances: false, prompts: [], inputs: [], describe: false };
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    const value = () => {
      if (i + 1 >= rest.length) throw new UsageError(`${a} needs a value`);
      return rest[++i];
    };
    switch (a) {
      case '--text': args.text = value(); break;
      case '--region': args.regions.push(value()); break;
      case '--out': args.out = value(); break;
      case '--json': args.json = true; break;
      case '--format': {
        const f = value();
        oneOf('--format', f, ['polygon', 'rle', 'yolo']);
        args.format = f;
        break;
      }
      case '--status': {
        const st = value();
        oneOf('--status', st, ['accepted', 'all']);
        args.status = st;
        break;
      }
      case '--categories': args.categories = value().split(',').map((c) => c.trim()).filter(Boolean); break;
      case '--split-instances': args.splitInstances = true; break;
      case '--root': args.root = value(); break;
      case '--prompt': args.prompts.push(value()); break;
      case '--describe': args.describe = true; break;
      case '--resume': args.resume = value(); break;
      case '--policy': {
        const v = value();
        oneOf('--policy', v, ['skip', 'add', 'replace']);
        args.policy = v;
        break;
      }
      case '--shard': {
        const m = /^(\d+)\/(\d+)$/.exec(value());
        if (!m || Number(m[2]) < 1 || Number(m[1]) >= Number(m[2])) throw new UsageError('--shard must be K/N with 0 ≤ K < N, e.g. 0/3');
        args.shard = { k: Number(m[1]), n: Number(m[2]) };
        break;
      }
      case '--model': args.model = value(); break;
      case '--device': {
        const d = value();
        oneOf('--device', d, ['auto', 'cpu', 'cuda']);
        args.device = d as DeviceSetting;
        break;
      }
      case '--weights': {
        const w = value();
        oneOf('--weights', w, ['auto', 'float32', 'int8']);
        args.weights = w as WeightsSetting;
        break;
      }
      case '--limit': {
        const n = Number(value());
        if (!Number.isInteger(n) || n < 1) throw new UsageError('--limit must be a positive integer');
        args.limit = n;
        break;
      }
      case '--max-tokens': {
        const n = Number(value());
        if (!Number.isInteger(n) || n < 1 || n > MAX_NEW_TOKENS) throw new UsageError(`--max-tokens must be an integer from 1 to ${MAX_NEW_TOKENS}`);
        args.maxTokens = n;
        break;
      }
      default:
        if (a.startsWith('--')) throw new UsageError(`unknown option ${a}`);
        if (command === 'merge') { args.inputs.push(a); args.image ||= a; break; }
        if (args.image) throw new UsageError(`unexpected argument ${JSON.stringify(a)}`);
        args.image = a;
    }
  }
  if (!args.image) throw new UsageError(command === 'merge' ? 'name the shard exports to merge' : command === 'annotate' ? 'ROOT is required' : command === 'import' ? 'FILE.json is required' : command === 'export' ? 'ROOT is required' : command === 'eval' || command === 'check-model' ? 'DIR is required' : 'IMAGE is required');
  if ((command === 'export' || command === 'merge') && !args.out) throw new UsageError(`${command} needs --out FILE.json`);
  if (command === 'annotate' && !args.prompts.length && !args.resume) throw new UsageError('annotate needs --prompt LABEL=EXPRESSION (one or more), or --resume JOB');
  if (command === 'annotate' && args.resume && (args.prompts.length || args.policy || args.shard || args.describe)) throw new UsageError('--resume takes the prompts, policy, shard and --describe from the job; give none of them');
  if (command !== 'annotate' && (args.prompts.length || args.policy || args.resume || args.shard || args.describe)) throw new UsageError('--prompt, --describe, --policy, --resume and --shard are options of annotate');
  if (command === 'import' && !args.root) throw new UsageError('import needs --root ROOT (the dataset folder whose store receives the objects)');
  if (command !== 'import' && args.root) throw new UsageError('--root is an option of import');
  if (command !== 'export' && (args.format || args.status || args.categories || args.splitInstances)) throw new UsageError('--format, --status, --categories and --split-instances are options of export');
  if ((command === 'segment' || command === 'ask') && !args.text) throw new UsageError(`${command} needs --text`);
  if (command === 'describe' && args.regions.length !== 1) throw new UsageError('describe needs exactly one --region');
  if (command === 'segment' && args.regions.length) throw new UsageError('segment takes no --region (use ask)');
  if (['segment', 'describe', 'ask'].includes(command) && args.out) maskFormat(args.out);
  return args;
}

/**
 * The file format a mask `--out` path names. Masks are single-channel 0/255 images, so only lossless formats
 * with a grey channel qualify: JPEG would blur the edges into grey values, and WebP has no single-channel
 * form. Anything else is refused before the model runs, rather than writing PNG bytes under another name.
 */
function maskFormat(file: string): 'png' | 'tiff' {
  if (fs.existsSync(file) && fs.statSync(file).isDirectory()) throw new UsageError(`cannot write --out ${file}: it is a folder; name a .png (or .tif) file in it`);
  const ext = path.extname(file).toLowerCase();
  if (ext === '.png') return 'png';
  if (ext === '.tif' || ext === '.tiff') return 'tiff';
  const why = ext === '.jpg' || ext === '.jpeg' ? 'JPEG is lossy and would blur the mask\'s edges'
    : ext === '.webp' ? 'WebP has no single-channel (grey) format'
      : ext ? `${ext} is not a mask format this tool writes` : 'it has no extension to name the format';
  throw new UsageError(`--out ${file}: ${why}; name a .png (or .tif) file`);
}

/**
 * Writes the answer's first mask as a single-channel black/white image in the format the extension names
 * (PNG or TIFF), atomically: the file is complete or untouched. An answer without a mask ("No target")
 * writes an all-black mask of the image's size, so an older file at the same path can never pass for this
 * answer.
 */
async function writeMask(answer: EngineAnswer, file: string, image: string): Promise<void> {
  const first = answer.masks[0];
  const [h, w] = first ? first.rle.size : await imageSize(readInputFile(image, 'image')).then((s) => [s.height, s.width]);
  const px = Buffer.alloc(w * h);
  if (first) {
    const m = decodeRle(first.rle);
    for (let i = 0; i < m.length; i++) px[i] = m[i] ? 255 : 0;
  }
  const dir = path.dirname(file);
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new OutputError(`cannot write --out ${file}: its folder does not exist`);
  const tmp = path.join(dir, `.${path.basename(file)}.tmp-${process.pid}`);
  try {
    // b-w keeps one channel (sharp would otherwise widen grey to sRGB); TIFF's default JPEG compression is lossy.
    const grey = sharp(px, { raw: { width: w, height: h, channels: 1 } }).toColourspace('b-w');
    await (maskFormat(file) === 'png' ? grey.png() : grey.tiff({ compression: 'deflate' })).toFile(tmp);
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'its folder does not exist' : code === 'EACCES' ? 'permission denied' : code === 'ENOSPC' ? 'the disk is full'
      : code === 'EISDIR' ? 'it is a folder' : (e as Error).message.split('\n')[0].replaceAll(tmp, file);
    throw new OutputError(`cannot write --out ${file}: ${why}`);
  }
}

/**
 * One short line for the device the CLI runs on. A CPU run because onnxruntime-node's CUDA provider is not
 * installed (the default install) is the expected case under --device auto and gets no warning; CUDA that is
 * installed but fails to load is a surprise, and is said once on stderr with its first reason.
 */
function deviceNote(device: Engine['device']): { stderr?: string; label: string } {
  if (!device.fallbackReason) return { label: device.provider };
  if (missingCudaProvider()) return { label: 'cpu (CUDA provider not installed)' };
  const reason = device.fallbackReason.replace(/^CUDA execution provider unavailable: /, '');
  const short = reason.length > 120 ? `${reason.slice(0, 117)}...` : reason;
  return { label: 'cpu (CUDA did not load)', stderr: `pixel-sail: CUDA did not load, running on the CPU: ${short}` };
}

class OutputError extends Error {}

function progress(label: string): { stop(): void } {
  if (!process.stderr.isTTY) return { stop() {} };
  const t0 = Date.now();
  const frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
  let i = 0;
  let shown = false;
  const timer = setInterval(() => {
    if (Date.now() - t0 < 1000) return; // only for work that takes over a second
    shown = true;
    process.stderr.write(`\r${frames[i++ % frames.length]} ${label} ${((Date.now() - t0) / 1000).toFixed(1)}s`);
  }, 100);
  return { stop() { clearInterval(timer); if (shown) process.stderr.write('\r\x1b[K'); } };
}

function progressBar(label: string): { update(done: number, total: number): void; stop(): void } {
  const t0 = Date.now();
  let shown = false;
  return {
    update(done, total) {
      if (!process.stderr.isTTY || Date.now() - t0 < 1000) return;
      shown = true;
      const width = 30;
      const filled = Math.round((done / total) * width);
      const eta = done ? ((Date.now() - t0) / done) * (total - done) / 1000 : 0;
      process.stderr.write(`\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ~${eta.toFixed(0)}s left `);
    },
    stop() {
      if (shown) process.stderr.write('\r\x1b[K');
    },
  };
}

async function exportCommand(args: Args): Promise<number> {
  const out = path.resolve(args.out!);
  try {
    if (args.format === 'yolo') {
      if (args.splitInstances) throw new UsageError('--split-instances is implied by --format yolo (one polygon per line)');
      const report = await exportYolo(args.image, out, { status: args.status, categories: args.categories });
      for (const s of report.skipped) process.stderr.write(`pixel-sail: left out ${s}\n`);
      process.stdout.write(`${args.out}: ${count(report.images, 'image')}, ${count(report.lines, 'polygon')}, ${count(report.classes.length, 'class', 'classes')} (data.yaml, labels/, images/ linked)\n`);
      return 0;
    }
    const { coco, skipped } = await exportCoco(args.image, { format: args.format, status: args.status, categories: args.categories, splitInstances: args.splitInstances });
    for (const s of skipped) process.stderr.write(`pixel-sail: left out ${s}\n`);
    await writeExport(out, coco);
    process.stdout.write(`${args.out}: ${count(coco.images.length, 'image')}, ${count(coco.annotations.length, 'annotation')}, ${count(coco.categories.length, 'category', 'categories')}\n`);
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`pixel-sail: ${e.message}\n`);
      return 2;
    }
    const known = e instanceof ExportError || e instanceof StoreFormatError || e instanceof OutputError;
    process.stderr.write(`pixel-sail: ${(e as Error).message}\n`);
    return known ? 1 : 3;
  }
}

async function annotateCommand(args: Args, engine: Engine, modelDir: string): Promise<number> {
  const root = path.resolve(args.image);
  if (!fs.existsSync(root) || !fs.statSync(root).isDirectory()) throw new BatchError(`ROOT ${args.image} is not a folder`);
  let manifest: JobManifest;
  if (args.resume) {
    manifest = readManifest(root, args.resume);
    const hash = modelHash(modelDir);
    if (manifest.model.hash !== hash) process.stderr.write(`pixel-sail: warning: job ${manifest.id} was started with model ${manifest.model.name} (${manifest.model.hash}); resuming with ${engine.model.config.name} (${hash})\n`);
  } else {
    const prompts = args.prompts.map(parsePromptSpec);
    manifest = await createJob(root, { prompts, describe: args.describe, policy: args.policy ?? 'skip', shard: args.shard, model: { name: engine.model.config.name, hash: modelHash(modelDir) } });
  }
  let stop = false;
  const onSignal = () => { stop = true; process.stderr.write('\npixel-sail: stopping after the current image…\n'); };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const total = Object.keys(manifest.images).length;
  const t0 = Date.now();
  let first = -1;
  const summary = await runJob(root, manifest, engine, {
    shouldStop: () => stop,
    onProgress: ({ done, file }) => {
      if (first < 0) first = done - 1;
      const rate = (done - first) / Math.max(1e-3, (Date.now() - t0) / 1000);
      process.stderr.write(`[${done}/${total}] ${file}  ${rate.toFixed(1)} images/s, ~${Math.round((total - done) / Math.max(rate, 1e-3))} s left\n`);
    },
  });
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  for (const f of summary.failed) process.stderr.write(`pixel-sail: failed ${f.file}: ${f.error}\n`);
  if (args.out) {
    const images = Object.keys(manifest.images).filter((f) => manifest.images[f].state === 'done');
    const { coco } = await exportCoco(root, { format: 'rle', status: 'all', job: { id: manifest.id, images } });
    await writeExport(path.resolve(args.out), coco);
  }
  process.stdout.write(`job ${manifest.id}: ${count(summary.images, 'image')}, ${count(summary.objects, 'object')}, ${summary.skipped} skipped, ${summary.failed.length} failed, ${summary.seconds} s${summary.cancelled ? ` — cancelled; resume with --resume ${manifest.id}` : ''}\n`);
  return summary.cancelled ? 130 : 0;
}

async function mergeCommand(args: Args): Promise<number> {
  try {
    const merged = mergeCoco(args.inputs);
    await writeExport(path.resolve(args.out!), merged);
    process.stdout.write(`${args.out}: ${count(merged.images.length, 'image')}, ${count(merged.annotations.length, 'annotation')} from ${count(args.inputs.length, 'file')}\n`);
    return 0;
  } catch (e) {
    process.stderr.write(`pixel-sail: ${(e as Error).message}\n`);
    return e instanceof MergeError || e instanceof OutputError ? 1 : 3;
  }
}

async function importCommand(args: Args): Promise<number> {
  try {
    const report = await importCoco(args.image, args.root!);
    for (const w of report.warnings) process.stderr.write(`pixel-sail: warning: ${w}\n`);
    process.stdout.write(`${count(report.images, 'image')}, ${count(report.added, 'object')} added, ${report.duplicates} already in the store\n`);
    return 0;
  } catch (e) {
    const known = e instanceof CocoImportError || e instanceof StoreFormatError;
    process.stderr.write(`pixel-sail: ${(e as Error).message}\n`);
    return known ? 1 : 3;
  }
}

/** Atomic, so a crash leaves the previous export or the whole new one; the dataset's bytes are stable. */
async function writeExport(file: string, coco: CocoFile): Promise<void> {
  const dir = path.dirname(file);
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new OutputError(`cannot write --out ${file}: its folder does not exist`);
  try {
    await writeFileAtomic(file, JSON.stringify(coco) + '\n');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new OutputError(`cannot write --out ${file}: ${code === 'ENOSPC' ? 'the disk is full' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'it is a folder' : (e as Error).message.split('\n')[0]}`);
  }
}

async function checkModelCommand(args: Args): Promise<number> {
  // DIR that is not a folder is a bad argument, said as one line like every other command's, not a report.
  const dir = path.resolve(args.image);
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    try {
      loadModelDir(dir);
    } catch (e) {
      process.stderr.write(`pixel-sail: ${(e as Error).message}\n`);
    }
    return 1;
  }
  const report = await checkModel(args.image);
  if (args.json) {
    process.stdout.write(JSON.stringify(report) + '\n');
  } else {
    process.stdout.write(`${report.model}\n`);
    for (const item of report.items) process.stdout.write(`  ${item.ok ? 'ok     ' : 'PROBLEM'}  ${item.file}${item.problem ? `: ${item.problem}` : ''}\n`);
    process.stdout.write(report.ok ? 'every graph loads and matches its fixtures\n' : `${count(report.items.filter((i) => !i.ok).length, 'problem')}\n`);
  }
  return report.ok ? 0 : 1;
}

export async function main(argv: string[], packageRoot: string): Promise<number> {
  let args: Args;
  try {
    args = parseArgs(argv);
  } catch (e) {
    const msg = (e as Error).message;
    process.stderr.write(msg ? `pixel-sail: ${msg}\n${USAGE}\n` : `${USAGE}\n`);
    return msg ? 2 : 0;
  }
  if (args.command === 'check-model') return checkModelCommand(args);
  if (args.command === 'export') return exportCommand(args);
  if (args.command === 'import') return importCommand(args);
  if (args.command === 'merge') return mergeCommand(args);
  const spinner = progress(args.command === 'segment' ? 'segmenting' : 'thinking');
  let engine: Engine | undefined;
  try {
    const regions = args.regions.map(parseRegionSpec);
    engine = await Engine.open(args.model ?? defaultModelPath(packageRoot), { device: args.device, weights: args.weights });
    const device = deviceNote(engine.device);
    if (device.stderr && !args.json) process.stderr.write(`${device.stderr}\n`);
    if (args.command === 'annotate') {
      spinner.stop();
      return await annotateCommand(args, engine, args.model ?? defaultModelPath(packageRoot));
    }
    if (args.command === 'eval') {
      spinner.stop();
      const bar = progressBar('evaluating');
      const report = await evaluate(engine, args.image, {
        limit: args.limit,
        onProgress: bar.update,
        realPhotos: { masks: path.join(packageRoot, 'test/data/real_photos'), photos: path.join(packageRoot, 'media/samples/photos') },
        photoTargets: { file: path.join(packageRoot, 'test/data/real_photo_targets.json'), photos: defaultPhotosRoot() },
      });
      bar.stop();
      const prompts = report.realPhotoPrompts;
      if (prompts && 'skipped' in prompts) process.stderr.write(`pixel-sail: held-out photo figures skipped: ${prompts.skipped}\n`);
      // Per-image tallies are for programs (paired comparisons); a person reading the report needs the totals.
      const shown = args.json ? report : {
        ...report, perImage: `${report.perImage.length} images (see --json)`,
        ...(prompts && !('skipped' in prompts) ? { realPhotoPrompts: { ...prompts, perTarget: `${prompts.perTarget.length} targets (see --json)` } } : {}),
      };
      process.stdout.write(JSON.stringify(shown, null, args.json ? undefined : 2) + '\n');
      return 0;
    }
    const base = { image: args.image, maxNewTokens: args.maxTokens };
    const task: EngineTask =
      args.command === 'segment' ? { ...base, kind: 'segment', text: args.text! }
        : args.command === 'describe' ? { ...base, kind: 'describe', region: regions[0] }
          : { ...base, kind: 'ask', text: args.text!, regions };
    const answer = await engine.run(task);
    spinner.stop();
    if (args.out) {
      await writeMask(answer, path.resolve(args.out), args.image);
      if (!answer.masks.length) process.stderr.write(`pixel-sail: the answer has no mask; wrote an empty (all-black) mask to ${args.out}\n`);
    }
    if (args.json) {
      process.stdout.write(JSON.stringify({ answer: answer.answer, answerParts: answer.answerParts, masks: answer.masks, device: answer.device, ...(engine.device.fallbackReason ? { deviceFallback: engine.device.fallbackReason } : {}), timingsMs: answer.timingsMs }) + '\n');
    } else {
      // Read from the token ids: regions the model names as "region N" (the --region order), masks as
      // "[mask N]"; the raw <PromptK> / [SEG] stay in --json's `answer` for scripts that parse them.
      process.stdout.write(`${answer.answerParts ? answerText(answer.answerParts) : answer.answer}\n`);
      answer.masks.forEach((m, i) => process.stdout.write(`mask ${i + 1}: area ${m.area} px, bbox [${m.bbox.join(', ')}]\n`));
      process.stdout.write(`device: ${engine.device.fallbackReason ? device.label : answer.device}, ${answer.timingsMs.total} ms\n`);
    }
    return 0;
  } catch (e) {
    spinner.stop();
    const known = e instanceof EvalError || e instanceof EngineError || e instanceof OutputError || e instanceof BatchError || e instanceof StoreFormatError || e instanceof ModelDirError || e instanceof RegionSpecError || (e as Error).name === 'EngineRequestError';
    process.stderr.write(`pixel-sail: ${(e as Error).message}\n`);
    return known ? 1 : 3;
  } finally {
    await engine?.close();
  }
}

if (require.main === module) {
  main(process.argv.slice(2), path.resolve(__dirname, '..')).then((code) => process.exit(code));
}
