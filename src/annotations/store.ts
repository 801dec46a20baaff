// Where annotation files live and how they are read and written. The dataset root of an image is the
// workspace folder that contains it (its own folder when none does); each image owns one file,
// <root>/.pixel-sail/annotations/<image path relative to root>.json. Reading never repairs: a file that
// does not parse or validate raises StoreFormatError naming the file and the JSON path, and nothing here
// writes over it. Writes are atomic (write-file-atomic: temp file + rename), so a crash leaves the old file.
import * as fs from 'node:fs';
import * as path from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import type { z } from 'zod';
import { jsonSyntaxProblem } from '../jsonText';
import { stringToCounts } from '../masks/rle';
import { AnnotationFile, annotationFileSchema, STORE_VERSION } from './schema';

export const STORE_DIR = '.pixel-sail';

export class StoreFormatError extends Error {
  constructor(readonly file: string, readonly jsonPath: string, readonly problem: string) {
    super(`${file}: ${jsonPath}: ${problem}`);
    this.name = 'StoreFormatError';
  }
}

const isInside = (dir: string, file: string) => {
  const rel = path.relative(dir, file);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
};

/** The innermost workspace folder holding the image, else the image's own folder. */
export function datasetRoot(imagePath: string, workspaceFolders: readonly string[]): string {
  const holding = workspaceFolders.filter((f) => isInside(f, imagePath)).sort((a, b) => b.length - a.length);
  return holding[0] ?? path.dirname(imagePath);
}

/**
 * The dataset root of a folder (the innermost workspace folder holding it or equal to it, else the folder
 * itself) and the folder relative to that root ('' for the root), for commands that act on a folder.
 */
export function folderInStore(folder: string, workspaceFolders: readonly string[]): { root: string; under: string } {
  const holding = workspaceFolders.filter((f) => f === folder || isInside(f, folder)).sort((a, b) => b.length - a.length);
  const root = holding[0] ?? folder;
  return { root, under: path.relative(root, folder).split(path.sep).join('/') };
}

export interface StorePaths {
  root: string;
  /** The image path relative to the root, with forward slashes (COCO's file_name). */
  fileName: string;
  annotationFile: string;
  categoriesFile: string;
}

export function storePaths(imagePath: string, workspaceFolders: readonly string[]): StorePaths {
  const root = datasetRoot(imagePath, workspaceFolders);
  const rel = path.relative(root, imagePath);
  return {
    root,
    fileName: rel.split(path.sep).join('/'),
    annotationFile: path.join(root, STORE_DIR, 'annotations', `${rel}.json`),
    categoriesFile: path.join(root, STORE_DIR, 'categories.json'),
  };
}

/** `$.annotations[2].bbox` from zod's path array. */
export function jsonPath(parts: readonly PropertyKey[]): string {
  return '$' + parts.map((p) => (typeof p === 'number' ? `[${p}]` : /^[A-Za-z_$][\w$]*$/.test(String(p)) ? `.${String(p)}` : `[${JSON.stringify(String(p))}]`)).join('');
}

export function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new StoreFormatError(file, '$', jsonSyntaxProblem(text, e));
  }
}

/** The first schema problem, as a StoreFormatError with its JSON path. */
export function validate<T>(schema: z.ZodType<T>, value: unknown, file: string): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  throw new StoreFormatError(file, jsonPath(issue.path), issue.message);
}

/** Reads the version field; files without one are version 0. */
export function storeVersion(value: unknown, file: string): number {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new StoreFormatError(file, '$', 'expected a JSON object');
  const version = (value as { version?: unknown }).version;
  if (version === undefined) return 0;
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 0) throw new StoreFormatError(file, '$.version', `expected a whole number, got ${JSON.stringify(version)}`);
  if (version > STORE_VERSION) throw new StoreFormatError(file, '$.version', `version ${version} was written by a newer Pixel-SAIL; this one reads versions up to ${STORE_VERSION}`);
  return version;
}

/**
 * Version 0 is a file without a `version` field: the plain COCO subset (`image` + `annotations`, no
 * `pixel_sail` block, `iscrowd` optional) that scripts and other tools write. Its objects were not made
 * here, so they load as accepted human annotations.
 */
function migrateAnnotationsV0(value: Record<string, unknown>): Record<string, unknown> {
  const annotations = Array.isArray(value.annotations)
    ? value.annotations.map((a) =>
        typeof a === 'object' && a !== null && !Array.isArray(a)
          ? { iscrowd: 0, pixel_sail: { origin: 'human', status: 'accepted' }, ...(a as Record<string, unknown>) }
          : a,
      )
    : value.annotations;
  return { ...value, version: 1, annotations };
}

const annotationMigrations: Record<number, (v: Record<string, unknown>) => Record<string, unknown>> = { 0: migrateAnnotationsV0 };

/** Upgrades an older file's content step by step to the current version (the file itself is not touched). */
function migrate(value: unknown, file: string, migrations: typeof annotationMigrations): unknown {
  let version = storeVersion(value, file);
  let current = value as Record<string, unknown>;
  while (version < STORE_VERSION) {
    const step = migrations[version];
    if (!step) throw new StoreFormatError(file, '$.version', `no loader for version ${version}`);
    current = step(current);
    version++;
  }
  return current;
}

/** Checks what the schema cannot: every RLE covers the image exactly and ids are unique. */
function checkConsistency(data: AnnotationFile, file: string): AnnotationFile {
  const seen = new Set<number>();
  data.annotations.forEach((a, i) => {
    if (seen.has(a.id)) throw new StoreFormatError(file, `$.annotations[${i}].id`, `id ${a.id} is used twice`);
    seen.add(a.id);
    const seg = a.segmentation;
    if (!Array.isArray(seg)) {
      const [h, w] = seg.size;
      if (h !== data.image.height || w !== data.image.width) {
        throw new StoreFormatError(file, `$.annotations[${i}].segmentation.size`, `[${h}, ${w}] does not match the image's [height, width] [${data.image.height}, ${data.image.width}]`);
      }
      let total: number;
      try {
        total = stringToCounts(seg.counts).reduce((s, c) => s + c, 0);
      } catch (e) {
        throw new StoreFormatError(file, `$.annotations[${i}].segmentation.counts`, (e as Error).message);
      }
      if (total !== h * w) throw new StoreFormatError(file, `$.annotations[${i}].segmentation.counts`, `the runs cover ${total} pixels, the size says ${h * w}`);
    }
  });
  return data;
}

export function parseAnnotationFile(text: string, file: string): AnnotationFile {
  const value = migrate(parseJson(text, file), file, annotationMigrations);
  return checkConsistency(validate(annotationFileSchema, value, file), file);
}

/** The image's annotation file, or undefined when it has none yet. */
export async function readAnnotationFile(file: string): Promise<AnnotationFile | undefined> {
  let text: string;
  try {
    text = await fs.promises.readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  return parseAnnotationFile(text, file);
}

export function serialize(value: unknown): string {
  return JSON.stringify(value, null, 2) + '\n';
}

export async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  await fs.promises.mkdir(path.dirname(file), { recursive: true });
  await writeFileAtomic(file, serialize(value));
}

export async function writeAnnotationFile(file: string, data: AnnotationFile): Promise<void> {
  // Validate before writing: a bug upstream must not put a file on disk that the next load rejects.
  checkConsistency(validate(annotationFileSchema, data, file), file);
  await writeJsonAtomic(file, data);
}
