// Counted nouns for messages: "1 object", "3 objects" — never "1 objects".

/** `count(1, 'object')` → "1 object"; `count(2, 'category', 'categories')` → "2 categories". */
export function count(n: number, noun: string, plural = `${noun}s`): string {
  return `${n} ${n === 1 ? noun : plural}`;
}
