// COCO export of a dataset root's store: one JSON that pycocotools, detectron2, mmdetection and
// ultralytics' converters load as they are. The rules each of them enforces are followed here on purpose
// (see the README's "COCO export"): image ids from 1 in sorted file_name order and annotation ids from 1 in
// (image, object) order, so the same store always exports the same bytes; the store's category ids, never
// renumbered and with no background class; iscrowd 0 for every object, RLE too; area = the mask's pixel
// count and bbox tight around it; polygons of at least three points inside the image, one ring per
// connected component; RLE column-major with string counts; Pixel-SAIL's own fields under `pixel_sail`.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { connectedComponents } from '../masks/components';
import { maskToPolygons, polygonsBbox, polygonsPixelCount } from '../masks/polygons';
import { decodeRle, encodeMask, maskBbox, rleArea } from '../masks/rle';
import { readCategoriesFile } from './categories';
import type { Annotation, AnnotationFile, Category, PixelSailFields } from './schema';
import { readAnnotationFile, STORE_DIR } from './store';

export interface ExportOptions {
  /** How masks are written: polygons (the default, what most trainers read) or COCO RLE. */
  format?: 'polygon' | 'rle';
  /** accepted (default): only objects a person accepted; all: proposed ones too. Rejected objects never. */
  status?: 'accepted' | 'all';
  /** Category names to keep (ids are not renumbered); all when absent. */
  categories?: string[];
  /** One annotation per connected component of a mask. */
  splitInstances?: boolean;
  /** Douglas–Peucker tolerance in pixels for polygons. */
  tolerance?: number;
  /** Only the images under this folder of the root (`/`-separated). */
  under?: string;
  /** Only the objects a batch job made (and only the images it covered). */
  job?: { id: string; images: string[] };
}

/** Douglas–Peucker tolerance of exported polygons: filled at pixel centres they give the mask back exactly. */
export const DEFAULT_POLYGON_TOLERANCE = 0.5;

export interface CocoAnnotation {
  id: number;
  image_id: number;
  category_id: number;
  segmentation: number[][] | { size: [number, number]; counts: string };
  area: number;
  bbox: [number, number, number, number];
  iscrowd: 0;
  pixel_sail: PixelSailFields;
}

export interface CocoFile {
  info: Record<string, string | number>;
  licenses: { id: number; name: string; url: string }[];
  images: { id: number; file_name: string; width: number; height: number }[];
  annotations: CocoAnnotation[];
  categories: { id: number; name: string; supercategory?: string }[];
}

export class ExportError extends Error {}

export interface ExportReport {
  coco: CocoFile;
  /** Objects left out, with why (an empty mask, a category filtered out, …), for the user to see. */
  skipped: string[];
}

/**
 * Where an export is offered to be saved: in the dataset root, since every `file_name` is relative to it, so a
 * loader given the JSON's own folder as its image root (detectron2's `image_root`, mmdetection's `data_prefix`)
 * finds the images. A subfolder's export is named after it (`train/images` → `train-images.coco.json`).
 */
export function defaultExportFile(root: string, under = ''): string {
  const name = under.split('/').filter(Boolean).join('-');
  return path.join(root, `${name || 'annotations'}.coco.json`);
}

/** Every annotation file under ROOT/.pixel-sail/annotations, as file_name → parsed file. */
async function readStore(root: string): Promise<Map<string, AnnotationFile>> {
  const dir = path.join(root, STORE_DIR, 'annotations');
  if (!fs.existsSync(dir)) throw new ExportError(`${root} has no annotations yet (no ${path.join(STORE_DIR, 'annotations')} folder): annotate an image first`);
  const out = new Map<string, AnnotationFile>();
  for (const entry of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.json')) continue;
    const file = path.join(entry.parentPath, entry.name);
    const data = await readAnnotationFile(file); // a malformed file throws StoreFormatError, naming it
    if (data) out.set(data.image.file_name, data);
  }
  return out;
}

/** Locale-independent order of file names, so ids never depend on the machine. */
export const byteOrder = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The object's mask as pixels, or undefined for a polygon object (kept as drawn). */
function maskOf(a: Annotation, image: AnnotationFile['image']): Uint8Array | undefined {
  return Array.isArray(a.segmentation) ? undefined : decodeRle({ size: [image.height, image.width], counts: a.segmentation.counts });
}

export async function exportCoco(root: string, options: ExportOptions = {}): Promise<ExportReport> {
  const format = options.format ?? 'polygon';
  const tolerance = options.tolerance ?? DEFAULT_POLYGON_TOLERANCE;
  const statuses = new Set(options.status === 'all' ? ['accepted', 'proposed'] : ['accepted']);
  const categoriesFile = await readCategoriesFile(path.join(root, STORE_DIR, 'categories.json'));
  const known = new Map(categoriesFile.categories.map((c) => [c.id, c]));
  let wanted: Category[] = categoriesFile.categories;
  if (options.categories) {
    const missing = options.categories.filter((n) => !categoriesFile.categories.some((c) => c.name === n));
    if (missing.length) throw new ExportError(`no category named ${missing.map((m) => JSON.stringify(m)).join(', ')} in ${path.join(root, STORE_DIR, 'categories.json')} (it has ${categoriesFile.categories.map((c) => JSON.stringify(c.name)).join(', ') || 'none'})`);
    wanted = categoriesFile.categories.filter((c) => options.categories!.includes(c.name));
  }
  const keep = new Set(wanted.map((c) => c.id));
  const store = await readStore(root);
  const jobImages = options.job && new Set(options.job.images);
  const prefix = options.under ? options.under.replace(/\/+$/, '') + '/' : '';
  const names = [...store.keys()].filter((n) => (!jobImages || jobImages.has(n)) && n.startsWith(prefix)).sort(byteOrder);
  const coco: CocoFile = {
    info: {
      description: `Exported by Pixel-SAIL for VS Code from ${path.basename(path.resolve(root))}`,
      version: '1.0',
      contributor: 'Pixel-SAIL for VS Code',
      url: '',
      segmentation: format === 'rle' ? 'COCO RLE (column-major, string counts)' : `polygons, Douglas–Peucker tolerance ${tolerance} px`,
      polygon_tolerance_px: tolerance,
      objects: options.status === 'all' ? 'accepted and proposed' : 'accepted',
    },
    licenses: [],
    images: [],
    annotations: [],
    categories: wanted.map((c) => ({ id: c.id, name: c.name, ...(typeof c.supercategory === 'string' ? { supercategory: c.supercategory } : {}) })),
  };
  const skipped: string[] = [];
  names.forEach((name, i) => {
    const data = store.get(name)!;
    const imageId = i + 1;
    const { width, height } = data.image;
    coco.images.push({ id: imageId, file_name: name, width, height });
    for (const a of data.annotations) {
      const where = `${name}, object ${a.id}`;
      if (!statuses.has(a.pixel_sail.status)) continue;
      if (options.job && a.pixel_sail.job !== options.job.id) continue;
      if (!known.has(a.category_id)) { skipped.push(`${where}: category ${a.category_id} is not in categories.json`); continue; }
      if (!keep.has(a.category_id)) continue;
      const mask = maskOf(a, data.image);
      const push = (segmentation: CocoAnnotation['segmentation'], area: number, bbox: CocoAnnotation['bbox']) =>
        coco.annotations.push({ id: coco.annotations.length + 1, image_id: imageId, category_id: a.category_id, segmentation, area, bbox, iscrowd: 0, pixel_sail: a.pixel_sail });
      if (!mask) {
        const rings = a.segmentation as number[][];
        const filled = (part: number[][]) => polygonsPixelCount(part, height, width);
        for (const part of options.splitInstances ? rings.map((r) => [r]) : [rings]) push(part, options.splitInstances && rings.length > 1 ? filled(part) : a.area, polygonsBbox(part));
        continue;
      }
      const parts = options.splitInstances ? connectedComponents(mask, height, width) : [mask];
      for (const part of parts) {
        const area = part.reduce((s, v) => s + v, 0);
        if (area === 0) { skipped.push(`${where}: the mask is empty`); continue; }
        const bbox = maskBbox(part, height, width);
        if (format === 'rle') {
          const rle = encodeMask(part, height, width);
          push({ size: [height, width], counts: rle.counts }, rleArea(rle), bbox);
        } else {
          const rings = maskToPolygons(part, height, width, { tolerance });
          if (!rings.length) { skipped.push(`${where}: too small for a polygon of 3 points (${area} px); export with --format rle to keep it`); continue; }
          push(rings, area, bbox);
        }
      }
    }
  });
  return { coco, skipped };
}
