// The evaluation's ground truth (ground_truth.json written by training/generate.py), validated before a
// single task runs: shapes by schema, then the cross-references a schema cannot see (ids that exist, masks
// the size of their image, image files the size the file says). A dataset that fails is refused with the
// JSON path at fault, never scored: an empty dataset used to score cIoU 1.0, and wrong image sizes moved
// the overall score.
import * as path from 'node:path';
import { z } from 'zod';
import { imageSize } from '../engine/imageLoader';
import { readInputFile } from '../engine/inputFile';
import { readJsonFile } from '../jsonText';

const id = z.number().int().nonnegative();
const point = z.tuple([z.number(), z.number()]);
const visualPrompt = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('mask') }),
  z.object({ kind: z.literal('box'), bbox: z.tuple([z.number(), z.number(), z.number().positive(), z.number().positive()]) }),
  z.object({ kind: z.literal('points'), points: z.array(z.tuple([z.number(), z.number(), z.union([z.literal(0), z.literal(1)])])).min(1) }),
  z.object({ kind: z.literal('scribble'), points: z.array(point).min(1), width: z.number().positive() }),
]);
const rle = z.object({ size: z.tuple([z.number().int().positive(), z.number().int().positive()]), counts: z.string() });

const schema = z.object({
  images: z.array(z.object({ id, file_name: z.string().min(1), width: z.number().int().positive(), height: z.number().int().positive() })),
  annotations: z.array(z.object({ id, image_id: id, segmentation: rle })),
  tasks: z.array(z.discriminatedUnion('type', [
    z.object({ id, type: z.literal('res'), image_id: id, expression: z.string().min(1), target_ids: z.array(id), kind: z.string().optional() }),
    z.object({ id, type: z.literal('caption'), image_id: id, region_id: id, caption: z.string(), visual_prompt: visualPrompt }),
    z.object({ id, type: z.literal('mcq'), image_id: id, region_id: id, question: z.string(), choices: z.array(z.string()).min(2), answer: z.string(), visual_prompt: visualPrompt, kind: z.string().optional() }),
    z.object({ id, type: z.literal('vtres'), image_id: id, prompt_region_ids: z.array(id).min(1), question: z.string(), target_ids: z.array(id), visual_prompts: z.array(visualPrompt) }),
  ])),
});

export type GroundTruth = z.infer<typeof schema>;
export type Task = GroundTruth['tasks'][number];
export type VisualPrompt = z.infer<typeof visualPrompt>;
export type Annotation = GroundTruth['annotations'][number];
export type ImageEntry = GroundTruth['images'][number];

export class GroundTruthError extends Error {}

/** `tasks[17].target_ids[0]` from a path of keys and indices. */
export function jsonPath(keys: readonly PropertyKey[]): string {
  return keys.map((k, i) => (typeof k === 'number' ? `[${k}]` : `${i ? '.' : ''}${String(k)}`)).join('') || '(top level)';
}

/** Reads, parses and checks DIR/ground_truth.json; the images' own sizes are checked against it too. */
export async function readGroundTruth(dir: string): Promise<GroundTruth> {
  const file = path.join(dir, 'ground_truth.json');
  const read = readJsonFile(file);
  if (!read.ok) throw new GroundTruthError(`cannot read ${file}: ${read.problem} (make one with training/generate.py)`);
  const gt = validateGroundTruth(read.value, file);
  const fail = (where: string, what: string): never => { throw new GroundTruthError(`${file}: ${where}: ${what}`); };
  const used = new Set(gt.tasks.map((t) => t.image_id));
  for (const [i, img] of gt.images.entries()) {
    if (!used.has(img.id)) continue;
    const imageFile = path.join(dir, 'images', img.file_name);
    let size: { width: number; height: number };
    try {
      size = await imageSize(readInputFile(imageFile, 'image'));
    } catch (e) {
      return fail(`images[${i}].file_name`, (e as Error).message);
    }
    if (size.width !== img.width || size.height !== img.height) {
      fail(`images[${i}]`, `${img.file_name} is ${size.width}×${size.height}, but the dataset says ${img.width}×${img.height}`);
    }
  }
  return gt;
}

/** The checks that need no files: the schema, and every id a task or annotation refers to. */
export function validateGroundTruth(raw: unknown, file: string): GroundTruth {
  const top = raw as Record<string, unknown> | null;
  if (typeof top !== 'object' || top === null || !['images', 'annotations', 'tasks'].every((k) => Array.isArray(top[k]))) {
    throw new GroundTruthError(`${file} lacks images, annotations or tasks; is it a dataset from training/generate.py?`);
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new GroundTruthError(`${file}: ${jsonPath(issue.path)}: ${issue.message}`);
  }
  const gt = parsed.data;
  const fail = (where: string, what: string): never => { throw new GroundTruthError(`${file}: ${where}: ${what}`); };
  if (gt.tasks.length === 0) fail('tasks', 'the dataset has no tasks, so there is nothing to score');

  const images = new Map<number, ImageEntry>();
  gt.images.forEach((img, i) => {
    if (images.has(img.id)) fail(`images[${i}].id`, `image id ${img.id} is used twice`);
    images.set(img.id, img);
  });
  const anns = new Map<number, Annotation>();
  gt.annotations.forEach((a, i) => {
    if (anns.has(a.id)) fail(`annotations[${i}].id`, `annotation id ${a.id} is used twice`);
    const img = images.get(a.image_id);
    if (!img) fail(`annotations[${i}].image_id`, `image ${a.image_id} does not exist`);
    const [h, w] = a.segmentation.size;
    if (h !== img!.height || w !== img!.width) fail(`annotations[${i}].segmentation.size`, `[${h}, ${w}] differs from image ${img!.id}'s ${img!.height}×${img!.width} (height×width)`);
    anns.set(a.id, a);
  });
  const annotationOf = (where: string, annId: number, imageId: number) => {
    const a = anns.get(annId);
    if (!a) fail(where, `annotation ${annId} does not exist`);
    if (a!.image_id !== imageId) fail(where, `annotation ${annId} belongs to image ${a!.image_id}, not ${imageId}`);
  };
  gt.tasks.forEach((t, i) => {
    const at = `tasks[${i}]`;
    if (!images.has(t.image_id)) fail(`${at}.image_id`, `image ${t.image_id} does not exist`);
    if (t.type === 'res' || t.type === 'vtres') t.target_ids.forEach((a, k) => annotationOf(`${at}.target_ids[${k}]`, a, t.image_id));
    if (t.type === 'caption' || t.type === 'mcq') annotationOf(`${at}.region_id`, t.region_id, t.image_id);
    if (t.type === 'mcq' && !t.choices.includes(t.answer)) fail(`${at}.answer`, `${JSON.stringify(t.answer)} is not one of the choices`);
    if (t.type === 'vtres') {
      t.prompt_region_ids.forEach((a, k) => annotationOf(`${at}.prompt_region_ids[${k}]`, a, t.image_id));
      if (t.visual_prompts.length !== t.prompt_region_ids.length) fail(`${at}.visual_prompts`, `${t.visual_prompts.length} prompts for ${t.prompt_region_ids.length} regions`);
    }
  });
  return gt;
}
