// Batch annotation of a dataset folder as a resumable job. The job's manifest
// (<root>/.pixel-sail/jobs/<id>.json) holds its prompts, policy, model and hash, and each image's state;
// results go into each image's store file as model proposals tagged with the job id. Every write is atomic
// and the manifest is written after the store file, so a job killed at any point resumes without loss, and
// without duplicates: an image whose store file already holds this job's objects (killed between the two
// writes) is counted as done, and one killed before its store write is run again. An engine that cannot start
// stops the job at once (JobStoppedError), its images left pending for a resume.
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { EngineStartError } from '../engine/engineClient';
import type { EngineAnswer, EngineTask } from '../engine/types';

/** What a job needs of an engine: the in-process Engine (CLI) and the worker client (extension) both fit. */
export interface TaskRunner {
  run(task: EngineTask): Promise<EngineAnswer>;
}
import { addCategory } from './categories';
import { byteOrder } from './cocoExport';
import { readableAnswer } from '../editor/readableText';
import { applyEdit, emptyState, jobResultEdit, NewObject, stateFromFile, stateToFile } from './document';
import type { Annotation, AnnotationFile } from './schema';
import { parseJson, readAnnotationFile, serialize, StorePaths, storePaths, STORE_DIR, validate, writeAnnotationFile, writeJsonAtomic } from './store';

export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.webp', '.tif', '.tiff', '.gif'];

export class BatchError extends Error {}

/**
 * A job stopped because its engine could not start (the model did not load): every image would fail with the
 * same words, so the job ends at the first instead, with this one error. What it had written stays; the images
 * it had not done stay pending in the manifest, so the job resumes once the cause is fixed.
 */
export class JobStoppedError extends BatchError {
  /** Images the job has done (or skipped or failed) of all its images, as its manifest now says. */
  readonly done: number;
  readonly total: number;
  constructor(manifest: JobManifest, readonly reason: string, readonly summary: RunSummary = { images: 0, objects: 0, skipped: 0, failed: [], cancelled: false, seconds: 0 }) {
    const states = Object.values(manifest.images);
    const done = states.filter((i) => i.state !== 'pending').length;
    super(`job ${manifest.id} stopped with ${done} of ${states.length} images done: the engine could not start: ${reason}`);
    this.name = 'JobStoppedError';
    this.done = done;
    this.total = states.length;
  }
}

const manifestSchema = z.looseObject({
  version: z.literal(1),
  id: z.string().regex(/^[A-Za-z0-9._-]+$/),
  created: z.string(),
  prompts: z.array(z.object({ label: z.string().min(1), expression: z.string().min(1) })).min(1),
  /** Also ask the model for a detailed caption of every object it finds. */
  describe: z.boolean().optional(),
  policy: z.enum(['skip', 'add', 'replace']),
  model: z.object({ name: z.string(), hash: z.string() }),
  shard: z.object({ k: z.number().int().nonnegative(), n: z.number().int().positive() }).nullable(),
  images: z.record(z.string(), z.object({ state: z.enum(['pending', 'done', 'skipped', 'failed']), objects: z.number().int().nonnegative().optional(), error: z.string().optional() })),
});
export type JobManifest = z.infer<typeof manifestSchema>;

/** FNV-1a (32 bit) of the path's UTF-8 bytes: the same shard for an image on every machine, in any listing order. */
export function shardOf(fileName: string, n: number): number {
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(fileName, 'utf8')) h = Math.imul(h ^ byte, 0x01000193) >>> 0;
  return h % n;
}

/** What a user is told for a folder with no image to annotate: which files count, and where they are looked for. */
export function noImagesMessage(folder: string): string {
  const kinds = IMAGE_EXTENSIONS.map((e) => e.slice(1)).join(', ');
  // What to do comes first: a notification shows its first line until it is expanded.
  return `Pixel-SAIL: ${folder} has no images to annotate; choose the folder that holds them (${kinds}, in it or its subfolders; folders whose name starts with "." are skipped).`;
}

/** Images under root (relative, `/`-separated, sorted by bytes), skipping dot-folders such as .pixel-sail. */
export function listImages(root: string): string[] {
  return [...imageFiles(root)].sort(byteOrder);
}

/** Whether root holds any image listImages would list; stops at the first, as a big dataset's walk is long. */
export function hasImages(root: string): boolean {
  return !imageFiles(root).next().done;
}

function* imageFiles(root: string, dir = root): Generator<string> {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (e.name.startsWith('.') || e.name === 'node_modules') continue;
    const full = path.join(dir, e.name);
    if (e.isDirectory()) yield* imageFiles(root, full);
    else if (e.isFile() && IMAGE_EXTENSIONS.includes(path.extname(e.name).toLowerCase())) yield path.relative(root, full).split(path.sep).join('/');
  }
}

export function parsePromptSpec(spec: string): { label: string; expression: string } {
  const eq = spec.indexOf('=');
  const label = eq > 0 ? spec.slice(0, eq).trim() : '';
  const expression = eq > 0 ? spec.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1') : '';
  if (!label || !expression) throw new BatchError(`--prompt needs LABEL=EXPRESSION (e.g. circle="every circle"), got ${JSON.stringify(spec)}`);
  return { label, expression };
}

/**
 * The model's identity for job manifests: every graph (and its external weights file, `<graph>.onnx.data`, which
 * paper-size models have), config.json and tokenizer.json. Read in chunks: a paper-size model's files are
 * gigabytes, and fs.readFileSync refuses a file over 2 GiB.
 */
export function modelHash(modelDir: string): string {
  const h = createHash('sha256');
  const chunk = Buffer.allocUnsafe(16 * 1024 * 1024);
  for (const f of fs.readdirSync(modelDir).filter((f) => f.endsWith('.onnx') || f.endsWith('.onnx.data') || f === 'config.json' || f === 'tokenizer.json').sort()) {
    h.update(f);
    const fd = fs.openSync(path.join(modelDir, f), 'r');
    try {
      for (let n; (n = fs.readSync(fd, chunk, 0, chunk.length, null)) > 0; ) h.update(chunk.subarray(0, n));
    } finally {
      fs.closeSync(fd);
    }
  }
  return h.digest('hex').slice(0, 16);
}

const jobsDir = (root: string) => path.join(root, STORE_DIR, 'jobs');
export const manifestPath = (root: string, id: string) => path.join(jobsDir(root), `${id}.json`);

export function readManifest(root: string, id: string): JobManifest {
  const file = manifestPath(root, id);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw new BatchError(`no job ${JSON.stringify(id)} in ${jobsDir(root)}`);
  }
  return validate(manifestSchema, parseJson(text, file), file);
}

/** Jobs of this root that still have images to do, newest first. */
export function unfinishedJobs(root: string): JobManifest[] {
  if (!fs.existsSync(jobsDir(root))) return [];
  return fs.readdirSync(jobsDir(root)).filter((f) => f.endsWith('.json'))
    .map((f) => readManifest(root, f.slice(0, -5)))
    .filter((m) => Object.values(m.images).some((i) => i.state === 'pending'))
    .sort((a, b) => (a.created < b.created ? 1 : -1));
}

export interface NewJob {
  prompts: { label: string; expression: string }[];
  describe?: boolean;
  /** Only the images under this folder (relative to the root, `/`-separated). */
  under?: string;
  policy: 'skip' | 'add' | 'replace';
  shard?: { k: number; n: number };
  model: { name: string; hash: string };
}

export async function createJob(root: string, job: NewJob, now = new Date()): Promise<JobManifest> {
  const prefix = job.under ? job.under.replace(/\/+$/, '') + '/' : '';
  const images = listImages(root).filter((f) => f.startsWith(prefix) && (!job.shard || shardOf(f, job.shard.n) === job.shard.k));
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
  const manifest: JobManifest = {
    version: 1, id: `job-${stamp}-${randomBytes(3).toString('hex')}`, created: now.toISOString(),
    prompts: job.prompts, ...(job.describe ? { describe: true } : {}), policy: job.policy, model: job.model, shard: job.shard ?? null,
    images: Object.fromEntries(images.map((f) => [f, { state: 'pending' as const }])),
  };
  await writeJsonAtomic(manifestPath(root, manifest.id), manifest);
  return manifest;
}

/** One image's result, to be put into whatever holds the image's objects. */
export interface ImageResult {
  /** What goes: this job's earlier attempt, and under the replace policy the model's unreviewed proposals. */
  replaced: (a: Annotation) => boolean;
  /** What the model found; the holder gives them ids. */
  found: NewObject[];
  /** The image entry for a store file that does not exist yet. */
  image: AnnotationFile['image'];
  job: string;
}

/**
 * Where a job reads and puts each image's objects. By default the store files; the extension routes images
 * open in an editor through their document instead, so an open editor's unsaved objects are never written over.
 */
export interface JobStore {
  objects(image: string, paths: StorePaths): Promise<AnnotationFile | undefined>;
  apply(image: string, paths: StorePaths, result: ImageResult): Promise<void>;
}

export const jobEditLabel = (job: string) => `Batch job ${job}`;

/** The result applied to the store file as it is on disk. */
export async function applyToStoreFile(paths: StorePaths, result: ImageResult, beforeWrite?: (text: string) => void): Promise<void> {
  const existing = await readAnnotationFile(paths.annotationFile);
  const state = existing ? stateFromFile(existing) : emptyState(result.image);
  const edit = jobResultEdit(state, result.replaced, result.found, jobEditLabel(result.job));
  // Written even when nothing changed, so an image the job has done always has its store file.
  const data = stateToFile(edit ? applyEdit(state, edit) : state);
  beforeWrite?.(serialize(data));
  await writeAnnotationFile(paths.annotationFile, data);
}

export const storeFiles: JobStore = {
  objects: (_image, paths) => readAnnotationFile(paths.annotationFile),
  apply: (_image, paths, result) => applyToStoreFile(paths, result),
};

export interface RunProgress { done: number; total: number; file: string }
export interface RunSummary { images: number; objects: number; skipped: number; failed: { file: string; error: string }[]; cancelled: boolean; seconds: number }

/**
 * Runs the images of a job that are not done yet. `shouldStop` is asked between images (a cancel stops within
 * one image); the manifest always says where the job stands.
 *
 * Given several runners (lanes: e.g. two single-threaded engine processes, which together do about 1.55× the
 * images of one process with two threads, because an image's kernels are too small to share two cores well),
 * lane k runs pending images k, k + n, k + 2n, … in order. Results are written one at a time in the order they
 * finish, so the manifest and the store files stay as consistent as with one lane.
 *
 * An engine that cannot start (EngineStartError: its model did not load) stops the job at the first such error
 * with JobStoppedError, after the results already computed are written; an image fails alone for any other error.
 */
export async function runJob(root: string, manifest: JobManifest, engine: TaskRunner | readonly TaskRunner[],
  options: { onProgress?: (p: RunProgress) => void; shouldStop?: () => boolean; store?: JobStore } = {}): Promise<RunSummary> {
  const t0 = Date.now();
  const lanes = Array.isArray(engine) ? engine : [engine as TaskRunner];
  if (!lanes.length) throw new BatchError('a batch job needs at least one engine');
  const store = options.store ?? storeFiles;
  const files = Object.keys(manifest.images).sort(byteOrder);
  const categoryIds = new Map<string, number>();
  const categoriesFile = path.join(root, STORE_DIR, 'categories.json');
  for (const p of manifest.prompts) if (!categoryIds.has(p.label)) categoryIds.set(p.label, (await addCategory(categoriesFile, p.label)).category.id);
  const summary: RunSummary = { images: 0, objects: 0, skipped: 0, failed: [], cancelled: false, seconds: 0 };
  let done = files.filter((f) => manifest.images[f].state !== 'pending').length;
  const pending = files.filter((f) => manifest.images[f].state === 'pending');
  const imagePath = (file: string) => path.join(root, ...file.split('/'));
  // An image's result is written (store file, then manifest) while its lane's engine runs the lane's next image;
  // writes form one queue, and the manifest still says done only once the image's store file is written.
  type Result = { state: 'skipped' } | { state: 'failed'; error: string } | { state: 'done'; paths: StorePaths; result: ImageResult; image: string }
    | { state: 'written'; objects: number };
  type Outcome = Result | { state: 'engineDown'; error: Error };
  let writing: Promise<void> = Promise.resolve();
  let writeFailed: unknown;
  // The first engine start failure of any lane: the image it was on stays pending (nothing is written for it),
  // and no lane begins another image.
  let engineDown: Error | undefined;
  const finish = async (file: string, outcome: Result) => {
    let entry: JobManifest['images'][string];
    if (outcome.state === 'done') {
      try {
        await store.apply(outcome.image, outcome.paths, outcome.result);
        entry = { state: 'done', objects: outcome.result.found.length };
        summary.objects += outcome.result.found.length;
        summary.images++;
      } catch (e) {
        entry = { state: 'failed', error: (e as Error).message };
      }
    } else if (outcome.state === 'written') {
      entry = { state: 'done', objects: outcome.objects };
      summary.objects += outcome.objects;
      summary.images++;
    } else {
      entry = outcome;
      if (outcome.state === 'skipped') {
        summary.skipped++;
        summary.images++;
      }
    }
    if (entry.state === 'failed') summary.failed.push({ file, error: entry.error! });
    manifest.images[file] = entry;
    await writeJsonAtomic(manifestPath(root, manifest.id), manifest);
    options.onProgress?.({ done: ++done, total: files.length, file });
  };
  const runImage = async (file: string, runner: TaskRunner, next: string | undefined): Promise<Outcome> => {
    const image = imagePath(file);
    // The engine decodes the lane's next image while it runs this one's first prompt.
    let batch: { next?: string } = next ? { next: imagePath(next) } : {};
    try {
      const paths = storePaths(image, [root]);
      const existing = await store.objects(image, paths);
      const ours = (a: Annotation) => a.pixel_sail.job === manifest.id;
      const earlier = (existing?.annotations ?? []).filter(ours).length;
      const kept = (existing?.annotations ?? []).length - earlier;
      if (earlier) {
        // The job was stopped (a kill) after this image's store write and before its manifest entry. The write
        // is one atomic file with all of the image's objects, so it is complete: running the image again would
        // only give its objects new ids, and would drop any a person reviewed since.
        return { state: 'written', objects: earlier };
      }
      if (manifest.policy === 'skip' && kept) return { state: 'skipped' };
      const replaced = (a: Annotation) => (manifest.policy === 'replace' && a.pixel_sail.origin === 'model' && a.pixel_sail.status === 'proposed');
      const added: NewObject[] = [];
      let size: { width: number; height: number } | undefined = existing && { width: existing.image.width, height: existing.image.height };
      for (const p of manifest.prompts) {
        const answer = await runner.run({ kind: 'segment', image, text: p.expression, batch });
        batch = {};
        const m = answer.masks[0];
        if (m) size ??= { width: m.rle.size[1], height: m.rle.size[0] };
        if (!m || m.area === 0) continue;
        const caption = manifest.describe ? readableAnswer((await runner.run({ kind: 'describe', image, region: { kind: 'rle', rle: m.rle }, batch: {} })).answer) : undefined;
        added.push({ category_id: categoryIds.get(p.label)!, segmentation: m.rle, area: m.area, bbox: m.bbox, iscrowd: 0,
          pixel_sail: { origin: 'model', status: 'proposed', prompt: p.expression, model: manifest.model.name, job: manifest.id, ...(caption ? { caption } : {}) } });
      }
      if (!size) size = await imageSizeOf(image);
      return { state: 'done', image, paths, result: { replaced, found: added, image: { file_name: paths.fileName, width: size.width, height: size.height }, job: manifest.id } };
    } catch (e) {
      if (e instanceof EngineStartError) return { state: 'engineDown', error: e };
      return { state: 'failed', error: (e as Error).message };
    }
  };
  const lane = async (runner: TaskRunner, first: number) => {
    let mine: Promise<void> = Promise.resolve();
    for (let i = first; i < pending.length; i += lanes.length) {
      if (writeFailed || engineDown) break;
      if (options.shouldStop?.()) { summary.cancelled = true; break; }
      const outcome = await runImage(pending[i], runner, pending[i + lanes.length]);
      if (outcome.state === 'engineDown') { engineDown ??= outcome.error; break; }
      // At most one of this lane's results waits to be written while it runs its next image.
      await mine;
      if (writeFailed) break;
      mine = writing = writing.then(() => (writeFailed ? undefined : finish(pending[i], outcome))).catch((e) => void (writeFailed = e));
    }
    await mine;
  };
  await Promise.all(lanes.map((runner, k) => lane(runner, k)));
  await writing;
  // The manifest could not be written (a full disk): the job cannot say where it stands, so it stops here.
  if (writeFailed) throw writeFailed;
  summary.seconds = Math.round((Date.now() - t0) / 100) / 10;
  if (engineDown) throw new JobStoppedError(manifest, engineDown.message, summary);
  return summary;
}

async function imageSizeOf(file: string): Promise<{ width: number; height: number }> {
  const { imageSize } = await import('../engine/imageLoader');
  const { readInputFile } = await import('../engine/inputFile');
  return imageSize(readInputFile(file, 'image'));
}
