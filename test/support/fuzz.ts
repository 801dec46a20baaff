// Shared fast-check arbitraries for the parsers' "nothing thrown but our own error" properties.
import fc from 'fast-check';

/** `valid` with the value at one dotted path (e.g. "annotations.0.bbox") replaced by arbitrary JSON. */
export function mutatedAt(valid: object, paths: string[]): fc.Arbitrary<unknown> {
  return fc.tuple(fc.constantFrom(...paths), fc.jsonValue()).map(([p, v]) => {
    const copy = structuredClone(valid) as Record<string, unknown>;
    const keys = p.split('.');
    let o = copy;
    for (const k of keys.slice(0, -1)) o = o[k] as Record<string, unknown>;
    o[keys[keys.length - 1]] = v;
    return copy;
  });
}

/** Arbitrary JSON, or a valid document with one value somewhere replaced by arbitrary JSON. */
export const hostileJson = (valid: object, paths: string[]) => fc.oneof(fc.jsonValue(), mutatedAt(valid, paths));
