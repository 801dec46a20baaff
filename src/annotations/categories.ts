// The category list of a dataset root (<root>/.pixel-sail/categories.json). Categories are shared by
// every image under the root, so they are not part of any one image's undo history: a category is
// written as soon as it is created, and its id (from 1, never reused) stays stable for exports.
import * as fs from 'node:fs';
import { CategoriesFile, categoriesFileSchema, Category, STORE_VERSION } from './schema';
import { parseJson, storeVersion, StoreFormatError, validate, writeJsonAtomic } from './store';

/** Distinct on light and dark themes; a category's colour comes from its id, so it is stable too. */
export const CATEGORY_PALETTE = ['#e6194b', '#3cb44b', '#4363d8', '#f58231', '#911eb4', '#42d4f4', '#f032e6', '#bfef45', '#fabed4', '#469990', '#dcbeff', '#9a6324', '#fffac8', '#800000', '#aaffc3', '#808000'];

export function colorForId(id: number): string {
  return CATEGORY_PALETTE[(id - 1) % CATEGORY_PALETTE.length];
}

export function emptyCategories(): CategoriesFile {
  return { version: STORE_VERSION, next_id: 1, categories: [] };
}

export function parseCategoriesFile(text: string, file: string): CategoriesFile {
  const value = parseJson(text, file);
  // Version 1 is the first categories format; there is nothing older to migrate.
  if (storeVersion(value, file) === 0) throw new StoreFormatError(file, '$.version', 'missing; expected 1');
  const data = validate(categoriesFileSchema, value, file);
  const seen = new Set<number>();
  data.categories.forEach((c, i) => {
    if (seen.has(c.id)) throw new StoreFormatError(file, `$.categories[${i}].id`, `id ${c.id} is used twice`);
    seen.add(c.id);
    if (c.id >= data.next_id) throw new StoreFormatError(file, `$.categories[${i}].id`, `id ${c.id} is not below next_id ${data.next_id}`);
  });
  return data;
}

export async function readCategoriesFile(file: string): Promise<CategoriesFile> {
  let text: string;
  try {
    text = await fs.promises.readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return emptyCategories();
    throw e;
  }
  return parseCategoriesFile(text, file);
}

export const sameName = (a: string, b: string) => a.trim().toLocaleLowerCase() === b.trim().toLocaleLowerCase();

/** The categories with `name` added (unless one of that name exists), and the category it names. */
export function withCategory(data: CategoriesFile, name: string): { data: CategoriesFile; category: Category; created: boolean } {
  const trimmed = name.trim();
  if (!trimmed) throw new Error('a category needs a name');
  const existing = data.categories.find((c) => sameName(c.name, trimmed));
  if (existing) return { data, category: existing, created: false };
  const category: Category = { id: data.next_id, name: trimmed, color: colorForId(data.next_id) };
  return { data: { ...data, next_id: data.next_id + 1, categories: [...data.categories, category] }, category, created: true };
}

/**
 * Adds a category to the file on disk: read, add, write atomically, so a category another editor created
 * in the meantime is kept and ids stay unique. A malformed file throws and is not written.
 */
export async function addCategory(file: string, name: string): Promise<{ data: CategoriesFile; category: Category }> {
  const current = await readCategoriesFile(file);
  const { data, category, created } = withCategory(current, name);
  if (created) await writeJsonAtomic(file, data);
  return { data, category };
}

/** The categories with category `id` renamed. Its id and colour stay, so every object keeps its category. */
export function withRenamedCategory(data: CategoriesFile, id: number, name: string): CategoriesFile {
  const trimmed = name.trim();
  if (!trimmed) throw new Error('a category needs a name');
  if (!data.categories.some((c) => c.id === id)) throw new Error(`category ${id} does not exist`);
  const clash = data.categories.find((c) => c.id !== id && sameName(c.name, trimmed));
  if (clash) throw new Error(`there is already a category "${clash.name}" (id ${clash.id})`);
  return { ...data, categories: data.categories.map((c) => (c.id === id ? { ...c, name: trimmed } : c)) };
}

/**
 * Renames a category in the file on disk (read, rename, write atomically). Like adding one, it is not part
 * of an image's undo history: the list is shared by every image under the root.
 */
export async function renameCategory(file: string, id: number, name: string): Promise<CategoriesFile> {
  const data = withRenamedCategory(await readCategoriesFile(file), id, name);
  await writeJsonAtomic(file, data);
  return data;
}
