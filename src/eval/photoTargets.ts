// The held-out real-photo figures of `pixel-sail eval` (issue 19, section 3): on crops of the test scenes'
// photos (test/data/real_photo_targets.json, made by training/photo_targets.py), the model is given a box,
// one click and one scribble for each target (photoPrompts.ts) and its mask is scored by IoU, next to the
// box itself used as the mask. The targets are ISNet salient-object masks, not human labels.
// The photos are not in the repository (their packages' licences differ); they are read from the cache
// `python3 training/real_photos.py fetch` fills, and the figures are skipped, saying so, when it is empty.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { z } from 'zod';
import type { Engine } from '../engine/engine';
import type { RegionSpec } from '../engine/regions';
import { decodeRle } from '../masks/rle';
import { clusterBootstrapMean } from './bootstrap';
import { addIou, newIou } from './metrics';
import { boxOfMask, clickPoint, scribblePath } from './photoPrompts';

const int = z.number().int();
const targetsSchema = z.object({
  split: z.literal('test'),
  teacher: z.string(),
  filter: z.string(),
  targets: z.array(z.object({
    id: z.string().min(1),
    scene: z.string().min(1),
    photo: z.string().min(1),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    box: z.tuple([int.nonnegative(), int.nonnegative(), int.positive(), int.positive()]),
    size: z.tuple([int.positive(), int.positive()]),
    rle: z.object({ size: z.tuple([int.positive(), int.positive()]), counts: z.string() }),
  })),
});
export type PhotoTargets = z.infer<typeof targetsSchema>;

export const PROMPT_KINDS = ['box', 'click', 'scribble'] as const;
export type PromptKind = (typeof PROMPT_KINDS)[number];
type Figure = { meanIoU: number; ci95: [number, number] };

export interface PhotoPromptReport {
  /** Mean IoU of the model's mask for each prompt kind, and of the box itself used as the mask. */
  box: Figure; click: Figure; scribble: Figure; boxBaseline: Figure;
  n: { targets: number; photos: number; scenes: number };
  method: string;
  reference: string;
  perTarget: { id: string; scene: string; box: number; click: number; scribble: number; boxBaseline: number; clickAt: [number, number] }[];
}
export type PhotoPromptResult = PhotoPromptReport | { skipped: string };

export class PhotoTargetsError extends Error {}

/** Where `training/real_photos.py fetch` unpacks the photos. */
export function defaultPhotosRoot(): string {
  return path.join(process.env.PIXEL_SAIL_PHOTOS || path.join(os.homedir(), '.cache', 'pixel-sail', 'photos'), 'tree');
}

export function readPhotoTargets(file: string): PhotoTargets {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new PhotoTargetsError(`${file}: ${(e as Error).message}`);
  }
  const r = targetsSchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new PhotoTargetsError(`${file}: ${issue.path.join('.') || '(top level)'}: ${issue.message}`);
  }
  for (const t of r.data.targets) {
    if (t.rle.size[0] !== t.size[1] || t.rle.size[1] !== t.size[0]) throw new PhotoTargetsError(`${file}: target ${t.id}: its mask is ${t.rle.size[1]}×${t.rle.size[0]}, its size ${t.size[0]}×${t.size[1]}`);
  }
  return r.data;
}

const sha256 = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

/** Scores box, click and scribble prompts on every target. Photos that are missing or differ from the
 *  committed sha256 skip the whole figure (a partial set would not be comparable between runs). */
export async function photoPromptCheck(engine: Engine, targetsFile: string, photosRoot: string, options: { resamples?: number } = {}): Promise<PhotoPromptResult> {
  const doc = readPhotoTargets(targetsFile);
  const photos = new Map<string, string>();
  for (const t of doc.targets) photos.set(t.photo, t.sha256);
  for (const [rel, sha] of photos) {
    const file = path.join(photosRoot, rel);
    if (!fs.existsSync(file)) return { skipped: `the held-out photos are not in ${photosRoot} (${rel} is missing): run \`python3 training/real_photos.py fetch\` (apt-get download of 10 Debian packages, about 430 MB, unpacked to about 740 MB) to score click, box and scribble prompts on them` };
    if (sha256(file) !== sha) return { skipped: `${file} differs from the photo the targets were made on (sha256 ${sha.slice(0, 12)}…): another package version? The held-out figures need the committed photos` };
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pixel-sail-photo-eval-'));
  const perTarget: PhotoPromptReport['perTarget'] = [];
  try {
    for (const [k, t] of doc.targets.entries()) {
      const [x, y, w, h] = t.box, [ow, oh] = t.size;
      const crop = path.join(tmp, `${k}.png`);
      await sharp(path.join(photosRoot, t.photo)).rotate().removeAlpha().extract({ left: x, top: y, width: w, height: h })
        .resize(ow, oh, { fit: 'fill', kernel: 'linear' }).png().toFile(crop);
      const gt = decodeRle(t.rle);
      const [bx, by, bw, bh] = boxOfMask(gt, ow, oh);
      const click = clickPoint(gt, ow, oh);
      const scribble = scribblePath(gt, ow, oh);
      const prompts: Record<PromptKind, RegionSpec> = {
        box: { kind: 'box', x: bx, y: by, w: bw, h: bh },
        click: { kind: 'points', points: [{ x: click.x, y: click.y, positive: true }] },
        scribble: { kind: 'scribble', points: scribble.points, width: scribble.width },
      };
      const iou: Partial<Record<PromptKind | 'boxBaseline', number>> = {};
      for (const kind of PROMPT_KINDS) {
        const a = await engine.run({ kind: 'segmentRegions', image: crop, regions: [prompts[kind]] });
        const acc = newIou();
        addIou(acc, a.masks.length ? decodeRle(a.masks[0].rle) : null, gt);
        iou[kind] = acc.ious[0];
      }
      const boxMask = new Uint8Array(ow * oh);
      for (let yy = by; yy < by + bh; yy++) boxMask.fill(1, yy * ow + bx, yy * ow + bx + bw);
      const acc = newIou();
      addIou(acc, boxMask, gt);
      perTarget.push({ id: t.id, scene: t.scene, box: iou.box!, click: iou.click!, scribble: iou.scribble!, boxBaseline: acc.ious[0], clickAt: [click.x, click.y] });
      fs.rmSync(crop, { force: true });
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  const scenes = perTarget.map((p) => p.scene);
  const resamples = options.resamples ?? 2000;
  const figure = (key: PromptKind | 'boxBaseline'): Figure => {
    const values = perTarget.map((p) => p[key]);
    return { meanIoU: values.reduce((s, v) => s + v, 0) / Math.max(1, values.length), ci95: clusterBootstrapMean(values, scenes, { resamples, seed: 1 }) };
  };
  const sceneCount = new Set(scenes).size;
  return {
    box: figure('box'), click: figure('click'), scribble: figure('scribble'), boxBaseline: figure('boxBaseline'),
    n: { targets: perTarget.length, photos: new Set(doc.targets.map((t) => t.photo)).size, scenes: sceneCount },
    method: `mean IoU over the targets; 95 % percentile bootstrap over the ${sceneCount} scenes (a scene's crops resampled together), ${resamples} resamples, seed 1`,
    reference: `${doc.teacher} salient-object masks on crops of held-out photos (not human labels); box = the mask's bounding box, click = its distance-transform maximum, scribble = a stroke through it along the mask's long axis. Filter: ${doc.filter}`,
    perTarget,
  };
}
