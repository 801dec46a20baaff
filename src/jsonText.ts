// Why a file's text is not JSON, said without echoing the file: V8's own messages quote the text around the
// error ("Unexpected token '�', "�PNG…" is not valid JSON"), which for a binary file (an image given where a
// JSON file belongs) prints control bytes into the terminal. Every reader of a JSON file the user names uses
// this, so the messages read the same everywhere.
import { InputFileError, readInputFile } from './engine/inputFile';

/** True when the text came from a binary file: a NUL, or bytes that were not UTF-8 (decoded as U+FFFD). */
export function looksBinary(text: string): boolean {
  const head = text.slice(0, 4096);
  return head.includes('\u0000') || head.includes('\uFFFD');
}

/** `line 3, column 7` of a character offset. */
export function lineColumn(text: string, offset: number): string {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const column = before.length - before.lastIndexOf('\n');
  return `line ${line}, column ${column}`;
}

/**
 * The reason `JSON.parse(text)` failed, for a message: "it is a binary file, not JSON", "it is empty",
 * "it ends early", or "not valid JSON at line L, column C (what V8 expected)" — never the file's bytes.
 */
export function jsonSyntaxProblem(text: string, error: unknown): string {
  if (looksBinary(text)) return 'it is a binary file, not JSON';
  if (!text.trim()) return 'it is empty, not JSON';
  const message = String((error as Error)?.message ?? error);
  if (/Unexpected end of JSON input/.test(message)) return 'not valid JSON: it ends early (the file is cut short?)';
  const at = /at position (\d+)/.exec(message);
  // The part of V8's message before any quotation of the text, without the position it states separately.
  const what = message.replace(/, ".*" is not valid JSON$/s, '').replace(/\s*in JSON at position \d+.*$/s, '').replace(/\s*at position \d+.*$/s, '');
  const shown = what.length > 80 || /[\u0000-\u001f\u007f\uFFFD]/.test(what) ? 'unexpected character' : what;
  return at ? `not valid JSON at ${lineColumn(text, Number(at[1]))} (${shown})` : `not valid JSON (${shown})`;
}

/** JSON files the user names are read through readInputFile: regular files only, and not above this size. */
export const MAX_JSON_FILE_BYTES = 1024 * 1024 * 1024;

export type JsonRead = { ok: true; value: unknown } | { ok: false; problem: string };

/**
 * Reads and parses a JSON file. On failure `problem` says why in words, to follow "cannot read FILE: "
 * ("no such file", "it is a device, not a regular file", "it is a binary file, not JSON", …).
 */
export function readJsonFile(file: string, maxBytes = MAX_JSON_FILE_BYTES): JsonRead {
  let text: string;
  try {
    text = readInputFile(file, 'file', maxBytes).toString('utf8');
  } catch (e) {
    if (e instanceof InputFileError) return { ok: false, problem: e.reason };
    const code = (e as NodeJS.ErrnoException).code;
    return { ok: false, problem: code === 'ERR_STRING_TOO_LONG' ? 'it is too large for a JSON file' : String((e as Error).message).split('\n')[0] };
  }
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (e) {
    return { ok: false, problem: jsonSyntaxProblem(text, e) };
  }
}
