// Reading a user's file whole, safely: each refusal with its exact message and reason.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { InputFileError, MAX_INPUT_FILE_BYTES, readInputFile } from '../../src/engine/inputFile';

const refuses = (file: string, what: string, message: string, reason: string, maxBytes?: number) =>
  assert.throws(() => readInputFile(file, what, maxBytes), (e: Error) => {
    assert.ok(e instanceof InputFileError, `${e.constructor.name}: ${e.message}`);
    assert.equal(e.message, message);
    assert.equal((e as InputFileError).reason, reason);
    return true;
  });

describe('readInputFile', () => {
  let dir: string;
  before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ps-input-')); });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reads a regular file whole, up to and including the limit', () => {
    const f = path.join(dir, 'five.bin');
    fs.writeFileSync(f, 'hello');
    assert.equal(readInputFile(f, 'image').toString(), 'hello');
    assert.equal(readInputFile(f, 'image', 5).toString(), 'hello');
    assert.equal(MAX_INPUT_FILE_BYTES, 512 * 2 ** 20);
  });

  it('refuses a file above the limit before reading it, in MB', () => {
    const f = path.join(dir, 'big.bin');
    fs.writeFileSync(f, Buffer.alloc(3 * 2 ** 20 + 1));
    refuses(f, 'image', `image ${f} is 3 MB, above the limit of 2 MB`, 'it is 3 MB, above the limit of 2 MB', 2 * 2 ** 20);
    refuses(f, 'region mask', `region mask ${f} is 3 MB, above the limit of 3 MB`, 'it is 3 MB, above the limit of 3 MB', 3 * 2 ** 20);
  });

  it('closes every file it opens, also when it refuses one', () => {
    const f = path.join(dir, 'twice.bin');
    fs.writeFileSync(f, 'abc');
    const open = () => fs.readdirSync('/proc/self/fd').length;
    const before = open();
    for (let i = 0; i < 20; i++) {
      readInputFile(f, 'image');
      assert.throws(() => readInputFile(f, 'image', 1), InputFileError);
      assert.throws(() => readInputFile('/dev/null', 'image'), InputFileError);
    }
    assert.equal(open(), before);
  });

  it('refuses missing files, folders, devices, pipes and sockets, naming what it is', async () => {
    const missing = path.join(dir, 'nope.png');
    refuses(missing, 'image', `image not found: ${missing}`, 'no such file');
    // Linux opens a folder read-only without EISDIR, so fstat names it.
    refuses(dir, 'image', `image ${dir} is a folder, not a regular file`, 'it is a folder, not a regular file');
    refuses('/dev/zero', 'region mask', 'region mask /dev/zero is a device, not a regular file', 'it is a device, not a regular file');
    const fifo = path.join(dir, 'pipe');
    execFileSync('mkfifo', [fifo]);
    refuses(fifo, 'image', `image ${fifo} is a named pipe, not a regular file`, 'it is a named pipe, not a regular file');
    const sock = path.join(dir, 'sock');
    const server = net.createServer().listen(sock);
    await new Promise((r) => server.once('listening', r));
    try {
      // A socket cannot be opened at all (ENXIO): the system's reason, first line only.
      assert.throws(() => readInputFile(sock, 'image'), (e: Error) => e instanceof InputFileError && e.message.startsWith(`cannot read image ${sock}: `) && !e.message.includes('\n') && e.message.endsWith((e as InputFileError).reason));
    } finally {
      server.close();
    }
    const notDir = path.join(dir, 'five.bin', 'x');
    assert.throws(() => readInputFile(notDir, 'image'), (e: Error) => e instanceof InputFileError && e.message === `cannot read image ${notDir}: ${(e as InputFileError).reason}` && /ENOTDIR/.test((e as InputFileError).reason));
  });
});
