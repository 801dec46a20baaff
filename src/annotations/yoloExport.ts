// YOLO segmentation export (ultralytics' format) from the same objects a COCO polygon export holds:
//   OUT/data.yaml                      path, train/val image folders, class names (0-based)
//   OUT/images/<file_name>             a symbolic link to the image in the dataset root (nothing copied)
//   OUT/labels/<file_name minus ext>.txt   one line per polygon: class x1 y1 x2 y2 … (normalised to 0–1)
// ultralytics finds a label by replacing the last /images/ of the image path with /labels/, which is why the
// images are linked under OUT/images rather than left where they are. Class indices follow the store's
// category order; an object of several parts gives one line per part (YOLO has one polygon per instance).
import * as fs from 'node:fs';
import * as path from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { exportCoco, ExportError, ExportOptions } from './cocoExport';

export interface YoloReport {
  images: number;
  lines: number;
  classes: string[];
  skipped: string[];
}

const yamlString = (s: string) => JSON.stringify(s); // a JSON string is a valid YAML double-quoted scalar

export async function exportYolo(root: string, outDir: string, options: Omit<ExportOptions, 'format' | 'splitInstances'> = {}): Promise<YoloReport> {
  const { coco, skipped } = await exportCoco(root, { ...options, format: 'polygon' });
  const classOf = new Map(coco.categories.map((c, i) => [c.id, i]));
  const absRoot = path.resolve(root);
  const out = path.resolve(outDir);
  if (out === absRoot || !path.relative(out, absRoot).startsWith('..')) throw new ExportError(`export the YOLO dataset into its own folder, not into the dataset folder ${absRoot} or a folder above it`);
  let lines = 0;
  for (const img of coco.images) {
    const rows: string[] = [];
    for (const a of coco.annotations.filter((x) => x.image_id === img.id)) {
      for (const ring of a.segmentation as number[][]) {
        const xy = ring.map((v, k) => (v / (k % 2 ? img.height : img.width)).toFixed(6));
        rows.push(`${classOf.get(a.category_id)} ${xy.join(' ')}`);
      }
    }
    lines += rows.length;
    const label = path.join(out, 'labels', img.file_name.replace(/\.[^./]+$/, '') + '.txt');
    fs.mkdirSync(path.dirname(label), { recursive: true });
    await writeFileAtomic(label, rows.length ? rows.join('\n') + '\n' : '');
    const link = path.join(out, 'images', img.file_name);
    fs.mkdirSync(path.dirname(link), { recursive: true });
    const target = path.relative(path.dirname(link), path.join(absRoot, img.file_name));
    const existing = lstat(link);
    if (existing && !existing.isSymbolicLink()) throw new ExportError(`${link} exists and is not a link this export made: export into an empty folder`);
    if (existing) fs.rmSync(link);
    fs.symlinkSync(target, link);
  }
  const names = coco.categories.map((c) => c.name);
  const yaml = [
    `# YOLO segmentation dataset exported by Pixel-SAIL for VS Code from ${yamlString(absRoot)}`,
    `path: ${yamlString(out)}`,
    'train: images',
    'val: images',
    'names:',
    ...names.map((n, i) => `  ${i}: ${yamlString(n)}`),
    '',
  ].join('\n');
  await writeFileAtomic(path.join(out, 'data.yaml'), yaml);
  return { images: coco.images.length, lines, classes: names, skipped };
}

function lstat(p: string): fs.Stats | undefined {
  try {
    return fs.lstatSync(p);
  } catch {
    return undefined;
  }
}
