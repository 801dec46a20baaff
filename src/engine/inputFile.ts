// Reading a user's input file whole, safely: only regular files (a device such as /dev/zero would be read
// until memory runs out, and a named pipe would block forever), and only up to a size limit checked
// before anything is read.
import * as fs from 'node:fs';

/** Images (and region masks) above this many bytes are refused before they are read. */
export const MAX_INPUT_FILE_BYTES = 512 * 1024 * 1024;

export class InputFileError extends Error {
  /** The reason alone ("no such file", "it is a device, not a regular file"), for callers that name the file themselves. */
  constructor(message: string, readonly reason: string) {
    super(message);
  }
}

function kindOf(st: fs.Stats): string {
  if (st.isDirectory()) return 'a folder';
  if (st.isFIFO()) return 'a named pipe';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/** `what` names the file in messages ("image", "region mask"). */
export function readInputFile(file: string, what: string, maxBytes = MAX_INPUT_FILE_BYTES): Buffer {
  let fd: number;
  try {
    // O_NONBLOCK: opening a pipe with no writer returns at once instead of waiting for one.
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new InputFileError(`${what} not found: ${file}`, 'no such file');
    if (code === 'EACCES' || code === 'EPERM') throw new InputFileError(`cannot read ${what} ${file}: permission denied`, 'permission denied');
    if (code === 'EISDIR') throw new InputFileError(`${what} ${file} is a folder, not a file`, 'it is a folder, not a file');
    const reason = (e as Error).message.split('\n')[0];
    throw new InputFileError(`cannot read ${what} ${file}: ${reason}`, reason);
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new InputFileError(`${what} ${file} is ${kindOf(st)}, not a regular file`, `it is ${kindOf(st)}, not a regular file`);
    if (st.size > maxBytes) {
      const reason = `it is ${(st.size / 2 ** 20).toFixed(0)} MB, above the limit of ${(maxBytes / 2 ** 20).toFixed(0)} MB`;
      throw new InputFileError(`${what} ${file} is ${reason.slice(6)}`, reason);
    }
    return fs.readFileSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
