// Pure helpers of the editor webview, kept apart from the DOM code so they are unit-tested on Node.
import type { Category } from '../src/annotations/schema';
import type { CategoryChoice } from '../src/editor/protocol';

/** The Category box's text as a choice: a listed name (any case), a 1–9 shortcut, or a new name. */
export function categoryChoice(text: string, categories: readonly Category[]): CategoryChoice | undefined {
  const t = text.trim();
  if (!t) return undefined;
  const byName = categories.find((c) => c.name.toLocaleLowerCase() === t.toLocaleLowerCase());
  if (byName) return { id: byName.id };
  if (/^[1-9]$/.test(t) && categories[Number(t) - 1]) return { id: categories[Number(t) - 1].id };
  return { name: t };
}

/** What the answer line says when 1–9 is pressed for a category the list does not have (yet). */
export function noCategoryForKey(digit: number, categories: number): string {
  const listed = categories === 0 ? 'there are no categories yet' : categories === 1 ? 'only 1 is listed' : `1–${categories} are listed`;
  return `No category ${digit}: ${listed}. Type a new name in Category and press Enter.`;
}

export { readableAnswer } from '../src/editor/readableText';
