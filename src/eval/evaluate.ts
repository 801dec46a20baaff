// `pixel-sail eval DIR`: runs a model through the engine on every task of a dataset written by
// training/generate.py and scores it the way the paper does (RES cIoU/gIoU and no-target accuracy,
// caption METEOR, MCQ accuracy, V-T RES cIoU/gIoU, PerBench overall).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Engine } from '../engine/engine';
import type { RegionSpec } from '../engine/regions';
import { decodeRle, Rle } from '../masks/rle';
import { packageRoot } from '../packageRoot';
import { bootstrapIntervals, ImageTally, Intervals, metricsOf, newTally } from './bootstrap';
import { Annotation, ImageEntry, readGroundTruth, VisualPrompt } from './groundTruth';
import { addIou, cIoU, cleanCaption, gIoU, mcqCorrectExact, mcqCorrectReference, newIou } from './metrics';
import { photoPromptCheck, PhotoPromptResult } from './photoTargets';

export interface RealPhotoReport {
  meanIoU: number;
  /** The same IoU for the box itself used as the mask: what a model must beat to add anything. */
  boxBaselineMeanIoU: number;
  photos: { photo: string; iou: number; boxBaselineIoU: number }[];
  reference: string;
}

/** Box-prompted segmentation of real photos against the ISNet mask of the boxed object (test/data/real_photos). */
export async function realPhotoCheck(engine: Engine, masksDir: string, photosDir: string): Promise<RealPhotoReport> {
  const index = JSON.parse(fs.readFileSync(path.join(masksDir, 'photos.json'), 'utf8')) as {
    teacher: string; photos: { photo: string; mask: string; width: number; height: number; box: [number, number, number, number] }[];
  };
  const { loadMask } = await import('../engine/imageLoader');
  const photos: { photo: string; iou: number; boxBaselineIoU: number }[] = [];
  for (const p of index.photos) {
    const gt = await loadMask(fs.readFileSync(path.join(masksDir, p.mask)));
    const [x, y, w, h] = p.box;
    const a = await engine.run({ kind: 'segmentRegions', image: path.join(photosDir, p.photo), regions: [{ kind: 'box', x, y, w, h }] });
    const acc = newIou();
    addIou(acc, a.masks.length ? decodeRle(a.masks[0].rle) : null, gt.data);
    const boxMask = new Uint8Array(gt.width * gt.height);
    for (let yy = y; yy < y + h; yy++) boxMask.fill(1, yy * gt.width + x, yy * gt.width + x + w);
    addIou(acc, boxMask, gt.data);
    photos.push({ photo: p.photo, iou: acc.ious[0], boxBaselineIoU: acc.ious[1] });
  }
  const mean = (f: (p: { iou: number; boxBaselineIoU: number }) => number) => photos.reduce((s, p) => s + f(p), 0) / Math.max(1, photos.length);
  return { meanIoU: mean((p) => p.iou), boxBaselineMeanIoU: mean((p) => p.boxBaselineIoU), photos, reference: `${index.teacher} salient-object masks; box = the mask's bounding box` };
}

export interface EvalReport {
  /** byKind: by the generator's expression kind (attribute, relation, multi, none), to see what fails. */
  res: { cIoU: number; gIoU: number; noTargetAccuracy: number; byKind: Record<string, { cIoU: number; gIoU: number; n: number }> };
  caption: { meteor: number; matching: string; order: string };
  /** byKind: reference-scored accuracy by question kind (colour, shape, size, pattern, position). */
  mcq: { accuracy: number; accuracyExact: number; scoring: string; byKind: Record<string, { accuracy: number; n: number }> };
  vtres: { cIoU: number; gIoU: number };
  overall: number;
  /** How far each figure could move on another split of this size: see bootstrap.ts. */
  ci95: Intervals;
  /** Each image's contribution to each metric, for paired comparisons of two models on one split. */
  perImage: ImageTally[];
  realPhotos?: RealPhotoReport;
  /** Box, click and scribble prompts on the held-out photo targets (photoTargets.ts), or why they were skipped. */
  realPhotoPrompts?: PhotoPromptResult;
  n: { images: number; res: number; noTarget: number; caption: number; mcq: number; vtres: number };
  model: string;
  dataset: string;
  device: string;
  weights: string;
  seconds: number;
}

export class EvalError extends Error {}

export function regionFromPrompt(vp: VisualPrompt, ann: Annotation): RegionSpec {
  switch (vp.kind) {
    case 'mask': return { kind: 'rle', rle: ann.segmentation };
    case 'box': return { kind: 'box', x: vp.bbox[0], y: vp.bbox[1], w: vp.bbox[2], h: vp.bbox[3] };
    case 'points': return { kind: 'points', points: vp.points.map(([x, y, pos]) => ({ x, y, positive: pos === 1 })) };
    case 'scribble': return { kind: 'scribble', points: vp.points.map(([x, y]) => ({ x, y })), width: vp.width };
  }
}

function meteor(pairs: { prediction: string; reference: string }[]): { meteor: number; matching: string; order: string; scores: number[] } {
  const python = process.env.PYTHON || '/usr/bin/python3';
  const script = path.join(packageRoot(), 'training', 'meteor.py');
  const r = spawnSync(python, [script], { input: JSON.stringify({ pairs }), encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new EvalError(`METEOR needs ${python} with nltk (apt-get install python3-nltk wordnet-base): ${r.stderr || r.error}`);
  const out = JSON.parse(r.stdout);
  if (!Array.isArray(out.scores) || out.scores.length !== pairs.length) throw new EvalError(`${script} returned ${out.scores?.length} scores for ${pairs.length} captions`);
  return { meteor: out.meteor, matching: out.matching, order: out.order, scores: out.scores };
}

export interface EvalOptions {
  limit?: number;
  onProgress?: (done: number, total: number) => void;
  realPhotos?: { masks: string; photos: string };
  /** test/data/real_photo_targets.json and the folder the photos were fetched to. */
  photoTargets?: { file: string; photos: string };
}

export async function evaluate(engine: Engine, dir: string, options: EvalOptions = {}): Promise<EvalReport> {
  const t0 = Date.now();
  const gt = await readGroundTruth(dir).catch((e: Error) => { throw new EvalError(e.message); });
  const images = new Map(gt.images.map((i) => [i.id, i]));
  const anns = new Map(gt.annotations.map((a) => [a.id, a]));
  const imageIds = [...images.keys()].slice(0, options.limit ?? Infinity);
  const keep = new Set(imageIds);
  const tasks = gt.tasks.filter((t) => keep.has(t.image_id));
  const union = (ids: number[], img: ImageEntry) => {
    const out = new Uint8Array(img.width * img.height);
    for (const id of ids) {
      const m = decodeRle(anns.get(id)!.segmentation);
      for (let i = 0; i < m.length; i++) out[i] |= m[i];
    }
    return out;
  };
  const firstMask = (masks: { rle: Rle }[]) => (masks.length ? decodeRle(masks[0].rle) : null);
  const resByKind = new Map<string, ReturnType<typeof newIou>>();
  const mcqByKind = new Map<string, { right: number; n: number }>();
  let mcqExact = 0;
  const captions: { prediction: string; reference: string }[] = [];
  const mcqTemplate = engine.model.config.prompts;
  let done = 0;
  const tallies = new Map(imageIds.map((id) => [id, newTally(id)]));
  const captionImages: number[] = [];
  for (const task of tasks) {
    const img = images.get(task.image_id);
    if (!img) throw new EvalError(`task ${task.id} names image ${task.image_id}, which the dataset lacks`);
    const tally = tallies.get(task.image_id)!;
    const image = path.join(dir, 'images', img.file_name);
    if (task.type === 'res') {
      const a = await engine.run({ kind: 'segment', image, text: task.expression });
      const pred = firstMask(a.masks);
      const gtMask = union(task.target_ids, img);
      addIou(tally.res, pred, gtMask);
      const kind = task.kind ?? 'unknown';
      if (!resByKind.has(kind)) resByKind.set(kind, newIou());
      addIou(resByKind.get(kind)!, pred, gtMask);
      if (task.target_ids.length === 0) {
        tally.noTarget.n++;
        if (!pred || !pred.some((v) => v)) tally.noTarget.right++;
      }
    } else if (task.type === 'caption') {
      const a = await engine.run({ kind: 'describe', image, region: regionFromPrompt(task.visual_prompt, anns.get(task.region_id)!) });
      captions.push({ prediction: cleanCaption(a.answer), reference: task.caption });
      captionImages.push(task.image_id);
    } else if (task.type === 'mcq') {
      const options = task.choices.map((c, i) => `${String.fromCharCode(65 + i)}. ${c}`).join(' ');
      const question = (mcqTemplate.mcqOptions ?? '{question} Options: {options}. ').replace('{question}', task.question).replace('{options}', options);
      const text = mcqTemplate.mcq.replace('{region}', '<region1>').replace('{question}', question);
      const a = await engine.run({ kind: 'ask', image, text, regions: [regionFromPrompt(task.visual_prompt, anns.get(task.region_id)!)], maxNewTokens: 16 });
      const right = mcqCorrectReference(a.answer, task.answer);
      tally.mcq.n++;
      if (right) tally.mcq.right++;
      const k = mcqByKind.get(task.kind ?? 'unknown') ?? { right: 0, n: 0 };
      mcqByKind.set(task.kind ?? 'unknown', { right: k.right + (right ? 1 : 0), n: k.n + 1 });
      if (mcqCorrectExact(a.answer, task.choices, task.answer)) mcqExact++;
    } else if (task.type === 'vtres') {
      const regions = task.prompt_region_ids.map((id, k) => regionFromPrompt(task.visual_prompts[k], anns.get(id)!));
      const a = await engine.run({ kind: 'ask', image, text: task.question, regions, maxNewTokens: 16 });
      // The reference's V-T RES fallback is the engine's: no [SEG] answered → no mask here.
      const pred = firstMask(a.masks), gtMask = union(task.target_ids, img);
      addIou(tally.vtres, pred, gtMask);
    }
    options.onProgress?.(++done, tasks.length);
  }
  const cap = captions.length ? meteor(captions) : { meteor: 0, matching: 'none', order: '', scores: [] };
  cap.scores.forEach((score, k) => tallies.get(captionImages[k])!.meteor.push(score));
  // Every pooled figure is computed from the per-image tallies, so the intervals describe exactly these figures.
  const perImage = [...tallies.values()];
  const m = metricsOf(perImage);
  const count = (f: (t: ImageTally) => number) => perImage.reduce((sum, t) => sum + f(t), 0);
  const mcqN = count((t) => t.mcq.n);
  const realPhotos = options.realPhotos && fs.existsSync(path.join(options.realPhotos.masks, 'photos.json'))
    ? await realPhotoCheck(engine, options.realPhotos.masks, options.realPhotos.photos)
    : undefined;
  const realPhotoPrompts = options.photoTargets && fs.existsSync(options.photoTargets.file)
    ? await photoPromptCheck(engine, options.photoTargets.file, options.photoTargets.photos).catch((e: Error) => { throw new EvalError(e.message); })
    : undefined;
  // Written once, last: the duration covers the whole evaluation, the real-photo check included.
  return {
    res: {
      cIoU: m.resCIoU, gIoU: m.resGIoU, noTargetAccuracy: m.noTargetAccuracy,
      byKind: Object.fromEntries([...resByKind].map(([k, acc]) => [k, { cIoU: cIoU(acc), gIoU: gIoU(acc), n: acc.ious.length }])),
    },
    caption: { meteor: m.meteor, matching: cap.matching, order: cap.order },
    mcq: {
      accuracy: m.mcqAccuracy, accuracyExact: mcqN ? mcqExact / mcqN : 0,
      scoring: 'accuracy: answer string in the prediction (reference); accuracyExact: the chosen option is the answer',
      byKind: Object.fromEntries([...mcqByKind].map(([k, v]) => [k, { accuracy: v.right / v.n, n: v.n }])),
    },
    vtres: { cIoU: m.vtresCIoU, gIoU: m.vtresGIoU },
    overall: m.overall,
    ci95: bootstrapIntervals(perImage),
    perImage,
    n: {
      images: imageIds.length, res: count((t) => t.res.ious.length), noTarget: count((t) => t.noTarget.n),
      caption: captions.length, mcq: mcqN, vtres: count((t) => t.vtres.ious.length),
    },
    model: engine.model.config.name,
    dataset: path.resolve(dir),
    device: engine.device.provider,
    weights: engine.device.weights,
    seconds: Math.round((Date.now() - t0) / 100) / 10,
    ...(realPhotos ? { realPhotos } : {}),
    ...(realPhotoPrompts ? { realPhotoPrompts } : {}),
  };
}
