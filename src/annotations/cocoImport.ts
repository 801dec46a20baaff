// COCO import into the store: files from other tools, quirks included (labelme's and X-AnyLabeling's
// `_background_`, CVAT's iscrowd-1 masks, a missing `info`, 0-based or non-contiguous ids, uncompressed RLE,
// box-only annotations, file_names with folders). Every quirk is accepted with a warning that says what was
// changed; nothing is silently mangled. The whole file is validated before anything is written, so a
// malformed file leaves the store untouched. Imported objects are human-made and accepted; objects already
// in the store are kept, and importing the same file twice adds nothing.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { polygonsBbox, polygonsPixelCount } from '../masks/polygons';
import { countsToString, decodeRle, maskBbox, RleError, rleArea } from '../masks/rle';
import { colorForId, readCategoriesFile, sameName, withCategory } from './categories';
import type { Annotation, AnnotationFile, CategoriesFile } from './schema';
import { STORE_VERSION } from './schema';
import { DEFAULT_MAX_IMAGE_PIXELS as MAX_IMAGE_PIXELS } from '../engine/imageLoader';
import { readJsonFile } from '../jsonText';
import { jsonPath, readAnnotationFile, STORE_DIR, writeAnnotationFile, writeJsonAtomic } from './store';

export class CocoImportError extends Error {}

/** Pixel-SAIL's own exports carry each object's provenance; it survives a round trip. */
const provenance = z.looseObject({
  origin: z.enum(['model', 'human']),
  status: z.enum(['proposed', 'accepted', 'rejected']),
  prompt: z.string().optional(), model: z.string().optional(), caption: z.string().optional(), job: z.string().optional(),
});

const num = z.number().finite();
const id = z.number().int().nonnegative();
const uncompressedRle = z.object({ size: z.tuple([z.number().int().positive(), z.number().int().positive()]), counts: z.array(z.number().int().nonnegative()) });
const compressedRle = z.object({ size: z.tuple([z.number().int().positive(), z.number().int().positive()]), counts: z.string() });
const polygons = z.array(z.array(num));

const cocoSchema = z.looseObject({
  info: z.unknown().optional(),
  images: z.array(z.looseObject({ id, file_name: z.string().min(1), width: z.number().int().positive(), height: z.number().int().positive() })),
  annotations: z.array(z.looseObject({
    id: id.optional(),
    image_id: id,
    category_id: id,
    segmentation: z.union([compressedRle, uncompressedRle, polygons]).optional(),
    bbox: z.tuple([num, num, num, num]).optional(),
    iscrowd: z.union([z.literal(0), z.literal(1)]).optional(),
    pixel_sail: z.unknown().optional(),
  })),
  categories: z.array(z.looseObject({ id, name: z.string(), supercategory: z.string().optional() })),
});

export interface ImportReport {
  images: number;
  added: number;
  /** Objects already in the store (same image, category and mask), not added again. */
  duplicates: number;
  warnings: string[];
}

const BACKGROUND = /^_?background_?$/i;

function normalisePath(fileName: string, where: string): string {
  const p = fileName.replace(/\\/g, '/').replace(/^\.\//, '');
  if (p.startsWith('/') || /^[a-zA-Z]:/.test(p) || p.split('/').includes('..')) {
    throw new CocoImportError(`${where}: ${JSON.stringify(fileName)} is not a path inside the dataset root (absolute, or it climbs out with ..)`);
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f]/.test(p) || p.split('/').some((part) => part === '' || part === '.')) {
    throw new CocoImportError(`${where}: ${JSON.stringify(fileName)} is not a usable file path (empty parts or control characters)`);
  }
  return p;
}

/** Checks every polygon and RLE against its image before anything is written. */
function checkSegmentation(seg: NonNullable<z.infer<typeof cocoSchema>['annotations'][number]['segmentation']>, w: number, h: number, where: string): void {
  if (Array.isArray(seg)) {
    if (seg.length === 0) throw new CocoImportError(`${where}: an empty polygon list`);
    seg.forEach((ring, k) => {
      if (ring.length < 6 || ring.length % 2) throw new CocoImportError(`${where}[${k}]: a polygon needs at least 3 x,y pairs, got ${ring.length} numbers`);
    });
    return;
  }
  if (seg.size[0] !== h || seg.size[1] !== w) throw new CocoImportError(`${where}.size: [${seg.size.join(', ')}] differs from the image's [${h}, ${w}] (height, width)`);
  const total = typeof seg.counts === 'string' ? null : seg.counts.reduce((s, c) => s + c, 0);
  if (total !== null && total !== h * w) throw new CocoImportError(`${where}.counts: the runs cover ${total} pixels, the image has ${h * w}`);
  if (typeof seg.counts === 'string') {
    try {
      decodeRle({ size: [h, w], counts: seg.counts });
    } catch (e) {
      throw new CocoImportError(`${where}.counts: ${(e as RleError).message}`);
    }
  }
}

export function parseCoco(raw: unknown, file: string): z.infer<typeof cocoSchema> {
  const parsed = cocoSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new CocoImportError(`${file}: ${jsonPath(issue.path)}: ${issue.message}`);
  }
  return parsed.data;
}

/** `under`: the file's image paths are relative to this folder of the root (`/`-separated), not to the root. */
export async function importCoco(file: string, root: string, under = ''): Promise<ImportReport> {
  const read = readJsonFile(file);
  if (!read.ok) throw new CocoImportError(`cannot read ${file}: ${read.problem} (import takes a COCO JSON file)`);
  return importCocoData(read.value, file, root, under);
}

/** The import of already-parsed JSON; `file` names it in messages. */
export async function importCocoData(raw: unknown, file: string, root: string, under = ''): Promise<ImportReport> {
  const coco = parseCoco(raw, file);
  const warnings: string[] = [];
  if (coco.info === undefined) warnings.push('the file has no "info" block (accepted: nothing in it is needed)');

  // Categories: matched to the store's by name; `_background_` is a labelme/X-AnyLabeling artefact, not an object class.
  const catPath = path.join(root, STORE_DIR, 'categories.json');
  let categories: CategoriesFile = await readCategoriesFile(catPath);
  const categoryMap = new Map<number, number>();
  const background = new Set<number>();
  const seenIds = new Set<number>();
  coco.categories.forEach((c, i) => {
    if (seenIds.has(c.id)) throw new CocoImportError(`${file}: $.categories[${i}].id: category id ${c.id} is used twice`);
    seenIds.add(c.id);
    if (BACKGROUND.test(c.name.trim())) { background.add(c.id); return; }
    if (!c.name.trim()) throw new CocoImportError(`${file}: $.categories[${i}].name: a category needs a name`);
    const before = categories.categories.find((x) => sameName(x.name, c.name));
    // A new category keeps the file's id when the store has it free, so exports keep the ids a trainer knows.
    const free = c.id >= 1 && !categories.categories.some((x) => x.id === c.id);
    const added = before ? { data: categories, category: before } : free
      ? { data: { ...categories, next_id: Math.max(categories.next_id, c.id + 1), categories: [...categories.categories, { id: c.id, name: c.name.trim(), color: colorForId(c.id), ...(c.supercategory ? { supercategory: c.supercategory } : {}) }] }, category: { id: c.id } }
      : withCategory(categories, c.name);
    categories = added.data;
    categoryMap.set(c.id, added.category.id);
    if (added.category.id !== c.id) warnings.push(`category "${c.name}" (id ${c.id} in the file) is id ${added.category.id} in the store`);
  });
  if (background.size) warnings.push(`"_background_" (id ${[...background].join(', ')}) is not an object class: left out, with its ${coco.annotations.filter((a) => background.has(a.category_id)).length} annotations`);

  const images = new Map<number, { fileName: string; width: number; height: number }>();
  coco.images.forEach((img, i) => {
    if (img.width * img.height > MAX_IMAGE_PIXELS) {
      throw new CocoImportError(`${file}: $.images[${i}]: ${img.width}×${img.height} is above the ${MAX_IMAGE_PIXELS / 1e6} megapixels this extension works with`);
    }
    if (images.has(img.id)) throw new CocoImportError(`${file}: $.images[${i}].id: image id ${img.id} is used twice`);
    const fileName = normalisePath(img.file_name, `${file}: $.images[${i}].file_name`);
    images.set(img.id, { fileName: under ? `${under.replace(/\/+$/, '')}/${fileName}` : fileName, width: img.width, height: img.height });
  });
  if (coco.images.some((i) => i.id === 0) || coco.annotations.some((a) => a.id === 0) || coco.categories.some((c) => c.id === 0)) {
    warnings.push('ids start at 0 (COCO counts from 1): accepted, the store numbers its objects itself');
  }

  // Validate every annotation before writing anything.
  const byImage = new Map<number, { seg: Annotation['segmentation']; category: number; area: number; bbox: Annotation['bbox']; origin: Annotation['pixel_sail'] }[]>();
  let crowd = 0, boxes = 0, uncompressed = 0, outside = 0;
  coco.annotations.forEach((a, i) => {
    const where = `${file}: $.annotations[${i}]`;
    const img = images.get(a.image_id);
    if (!img) throw new CocoImportError(`${where}.image_id: image ${a.image_id} is not in "images"`);
    if (background.has(a.category_id)) return;
    const category = categoryMap.get(a.category_id);
    if (category === undefined) throw new CocoImportError(`${where}.category_id: category ${a.category_id} is not in "categories"`);
    let seg: Annotation['segmentation'];
    if (a.segmentation === undefined || (Array.isArray(a.segmentation) && a.segmentation.length === 0)) {
      if (!a.bbox) throw new CocoImportError(`${where}: neither a segmentation nor a bbox`);
      const [x, y, w, h] = a.bbox;
      if (!(w > 0 && h > 0)) throw new CocoImportError(`${where}.bbox: width and height must be positive`);
      const box = [x, y, x + w, y, x + w, y + h, x, y + h];
      const inside = box.map((v, k) => Math.min(Math.max(v, 0), k % 2 ? img.height : img.width));
      if (inside.some((v, k) => v !== box[k])) outside++;
      seg = [inside];
      boxes++;
    } else {
      checkSegmentation(a.segmentation, img.width, img.height, `${where}.segmentation`);
      if (!Array.isArray(a.segmentation) && typeof a.segmentation.counts !== 'string') {
        seg = { size: a.segmentation.size, counts: countsToString(a.segmentation.counts) };
        uncompressed++;
      } else if (Array.isArray(a.segmentation)) {
        const inside = a.segmentation.map((ring) => ring.map((v, k) => Math.min(Math.max(v, 0), k % 2 ? img.height : img.width)));
        if (inside.some((ring, r) => ring.some((v, k) => v !== (a.segmentation as number[][])[r][k]))) outside++;
        seg = inside;
      } else {
        seg = a.segmentation as Annotation['segmentation'];
      }
    }
    if (a.iscrowd === 1) crowd++;
    const area = Array.isArray(seg) ? polygonsPixelCount(seg, img.height, img.width) : rleArea(seg);
    const bbox = Array.isArray(seg) ? polygonsBbox(seg) : maskBbox(decodeRle(seg), img.height, img.width);
    const kept = provenance.safeParse(a.pixel_sail);
    const origin: Annotation['pixel_sail'] = kept.success ? kept.data : { origin: 'human', status: 'accepted' };
    const list = byImage.get(a.image_id) ?? [];
    list.push({ seg, category, area, bbox, origin });
    byImage.set(a.image_id, list);
  });
  if (crowd) warnings.push(`${crowd} annotation(s) marked iscrowd 1 (as CVAT writes masks): imported as ordinary objects (iscrowd 0)`);
  if (boxes) warnings.push(`${boxes} annotation(s) with a bbox only: imported as rectangle polygons`);
  if (outside) warnings.push(`${outside} polygon or box annotation(s) reach outside their image: clipped to the image`);
  if (uncompressed) warnings.push(`${uncompressed} uncompressed RLE mask(s) (list counts): stored compressed`);

  // An image that is not in the dataset folder gets no store file (it would be an annotation of nothing).
  const absent = [...images].filter(([, img]) => !fs.existsSync(path.join(root, ...img.fileName.split('/'))));
  for (const [imageId] of absent) images.delete(imageId);
  if (absent.length) {
    const names = absent.slice(0, 3).map(([, img]) => img.fileName).join(', ');
    warnings.push(`${absent.length} image(s) of the file are not in ${root} (${names}${absent.length > 3 ? ', …' : ''}): left out, with their annotations`);
  }

  // Read every store file first: one that does not fit (size, malformed) stops the import before any write.
  const pending: { file: string; data: AnnotationFile; add: Annotation[]; duplicates: number }[] = [];
  for (const [imageId, img] of images) {
    const storeFile = path.join(root, STORE_DIR, 'annotations', `${img.fileName}.json`);
    const existing = await readAnnotationFile(storeFile);
    if (existing && (existing.image.width !== img.width || existing.image.height !== img.height)) {
      throw new CocoImportError(`${file}: image ${JSON.stringify(img.fileName)} is ${img.width}×${img.height} in the file but ${existing.image.width}×${existing.image.height} in the store (${storeFile})`);
    }
    const data: AnnotationFile = existing ?? { version: STORE_VERSION, image: { file_name: img.fileName, width: img.width, height: img.height }, annotations: [] };
    const key = (category: number, seg: Annotation['segmentation']) => `${category}:${JSON.stringify(seg)}`;
    const present = new Set(data.annotations.map((a) => key(a.category_id, a.segmentation)));
    let nextId = data.annotations.reduce((m, a) => Math.max(m, a.id), 0) + 1;
    const add: Annotation[] = [];
    let duplicates = 0;
    for (const o of byImage.get(imageId) ?? []) {
      const k = key(o.category, o.seg);
      if (present.has(k)) { duplicates++; continue; }
      present.add(k);
      add.push({ id: nextId++, category_id: o.category, segmentation: o.seg, area: o.area, bbox: o.bbox, iscrowd: 0, pixel_sail: o.origin });
    }
    pending.push({ file: storeFile, data, add, duplicates });
  }

  await writeJsonAtomic(catPath, categories);
  let added = 0, duplicates = 0;
  for (const p of pending) {
    duplicates += p.duplicates;
    if (p.add.length === 0 && fs.existsSync(p.file)) continue;
    await writeAnnotationFile(p.file, { ...p.data, annotations: [...p.data.annotations, ...p.add] });
    added += p.add.length;
  }
  return { images: images.size, added, duplicates, warnings };
}

