// Hostile and broken input that used to crash, hang or mislead (issue 18's examples): each must end
// with a clear message and the right exit code, and never leave a misleading file behind.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { InputFileError, readInputFile } from '../../src/engine/inputFile';
import { emptyRegions, promptSlots } from '../../src/engine/visualPrompts';
import { NO_PROMPT } from '../../src/engine/sequence';

const repo = path.resolve(__dirname, '../../..');
const bin = path.join(repo, 'bin/pixel-sail.js');
const tiny = path.join(repo, 'models/tiny-random');
const sample = path.join(tiny, 'parity/image.png');
const env = { ...process.env };
delete env.ORT_DISABLE_TELEMETRY; // the product must switch telemetry off itself
// A hang shows up as a killed child (status null), not as a stuck suite.
const run = (...args: string[]) => spawnSync('node', [bin, ...args], { encoding: 'utf8', timeout: 60000, env });
const scratch = () => fs.mkdtempSync(path.join(os.tmpdir(), 'ps-hostile-'));

describe('hostile input', () => {
  it('refuses special files before reading them: a device, a named pipe, a folder', () => {
    const dir = scratch();
    const fifo = path.join(dir, 'pipe.png');
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0, 'mkfifo');
    for (const [file, kind] of [['/dev/zero', 'a device'], [fifo, 'a named pipe'], [dir, 'a folder']]) {
      const r = run('segment', file, '--text', 'x', '--model', tiny);
      assert.equal(r.status, 1, `${file}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`image ${file.replace(/[/.]/g, '\\$&')} is ${kind}, not a regular file`));
    }
  });

  it('refuses a file above the size limit before reading it', () => {
    const file = path.join(scratch(), 'big.png');
    fs.writeFileSync(file, Buffer.alloc(3 * 2 ** 20));
    assert.throws(() => readInputFile(file, 'image', 2 ** 20), (e: Error) => e instanceof InputFileError && /is 3 MB, above the limit of 1 MB/.test(e.message));
    assert.equal(readInputFile(file, 'image', 4 * 2 ** 20).length, 3 * 2 ** 20);
  });

  it('survives a command line long enough to crash onnxruntime\'s telemetry', () => {
    // onnxruntime matches a backtracking regex against /proc/self/cmdline when telemetry is on: a
    // 29,000-character argument killed the process with SIGSEGV when the first session was created.
    const r = spawnSync('node', [path.join(repo, 'dist/parity.js'), tiny, '--label', 'x'.repeat(29000)], { encoding: 'utf8', timeout: 60000, env });
    assert.equal(r.signal, null, `killed by ${r.signal}`);
    assert.equal(r.status, 0, r.stderr.slice(-500));
  });

  it('refuses a region mask with no pixel set instead of dropping it', async () => {
    const dir = scratch();
    const mask = path.join(dir, 'empty.png');
    await sharp({ create: { width: 80, height: 48, channels: 3, background: '#000' } }).png().toFile(mask);
    const r = run('describe', sample, '--region', `mask:${mask}`, '--model', tiny);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /region 1 covers no pixel of the 80×48 image/);
  });

  it('refuses a prompt above the token limit and a scribble above the point limit, clearly', () => {
    const long = run('segment', sample, '--text', 'red '.repeat(1100), '--model', tiny);
    assert.equal(long.status, 1, long.stderr);
    assert.match(long.stderr, /the prompt is \d+ tokens long, above the limit of 1024: shorten it/);
    const points = Array.from({ length: 10001 }, (_, i) => `${i % 80},${i % 48}`).join(';');
    const scribble = run('describe', sample, '--region', `scribble:${points}`, '--model', tiny);
    assert.equal(scribble.status, 1, scribble.stderr);
    assert.match(scribble.stderr, /a scribble has at most 10000 points, got 10001/);
  });

  it('bounds --max-tokens', () => {
    const r = run('ask', sample, '--text', 'x', '--max-tokens', '100000', '--model', tiny);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--max-tokens must be an integer from 1 to 4096/);
  });

  it('--out: a missing folder is named without the temporary file', () => {
    const out = path.join(scratch(), 'no-such-folder', 'mask.png');
    const r = run('segment', sample, '--text', 'x', '--out', out, '--model', tiny, '--max-tokens', '2');
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /cannot write --out .*mask\.png: its folder does not exist/);
    assert.doesNotMatch(r.stderr, /tmp-\d+/);
  });

  it('--out: an answer without a mask replaces an older file with an all-black mask of the image size', async () => {
    const scene = path.join(repo, 'media/samples/scene.png');
    const out = path.join(scratch(), 'mask.png');
    fs.writeFileSync(out, 'an older answer');
    // The shipped model answers "No target" for an object the scene does not hold.
    const r = run('segment', scene, '--text', 'the purple unicorn', '--out', out, '--json');
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout).masks, [], 'the answer has no mask');
    assert.match(r.stderr, /the answer has no mask; wrote an empty \(all-black\) mask/);
    const { data, info } = await sharp(out).greyscale().raw().toBuffer({ resolveWithObject: true });
    assert.deepEqual([info.width, info.height], [512, 512]);
    assert.ok(data.every((v) => v === 0), 'all black');
    assert.deepEqual(fs.readdirSync(path.dirname(out)), ['mask.png'], 'no temporary file left');
  });
});

describe('visual prompts smaller than a patch', () => {
  const image = (w: number, h: number, box: [number, number, number, number], slot: number) => {
    const data = new Uint8Array(w * h);
    const [x0, y0, bw, bh] = box;
    for (let y = y0; y < y0 + bh; y++) for (let x = x0; x < x0 + bw; x++) data[y * w + x] = 1;
    return { width: w, height: h, data, slot };
  };

  it('a 19×19 box on a 4000×3000 photo still reaches the model, on the patch that holds it', () => {
    // 192×144 model input, 16-px patches: 12×9 grid; the nearest resize samples every ~20.8 source pixels.
    const box = image(4000, 3000, [2010, 1510, 19, 19], 0);
    const slots = promptSlots([box], 192, 144, 16);
    const set = [...slots.keys()].filter((i) => slots[i] !== NO_PROMPT);
    // the box's centre (2019.5, 1519.5) falls in patch column floor(2019.5 / 4000 × 12) = 6, row floor(1519.5 / 3000 × 9) = 4
    assert.deepEqual(set, [4 * 12 + 6]);
    assert.equal(slots[4 * 12 + 6], 0);
  });

  it('keeps the reference rule for regions the nearest resize sees', () => {
    const big = image(192, 144, [0, 0, 32, 32], 1);
    const slots = promptSlots([big], 192, 144, 16);
    assert.deepEqual([...slots.keys()].filter((i) => slots[i] === 1), [0, 1, 12, 13]);
  });

  it('names the regions that cover no pixel at all', () => {
    assert.deepEqual(emptyRegions([image(10, 10, [0, 0, 2, 2], 0), image(10, 10, [0, 0, 0, 0], 1)]), [2]);
  });
});

describe('pixel-sail check-model', function () {
  this.timeout(120000);
  const copyModel = (name: string) => {
    const dir = path.join(scratch(), name);
    fs.cpSync(path.join(repo, 'models', name), dir, { recursive: true });
    return dir;
  };

  it('passes a sound model: every graph loads, and the parity fixtures hold', () => {
    const r = run('check-model', tiny, '--json');
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const report = JSON.parse(r.stdout);
    assert.deepEqual(report.items.map((i: { file: string }) => i.file), ['embed.onnx', 'decoder.onnx', 'upsampler.onnx', 'mask_head.onnx', 'parity']);
  });

  it('finds a corrupt float32 decoder that the CPU engine (running int8) never opens', () => {
    const dir = copyModel('default');
    const file = path.join(dir, 'decoder.onnx');
    fs.truncateSync(file, Math.floor(fs.statSync(file).size / 3));
    const r = run('check-model', dir);
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /PROBLEM {2}decoder\.onnx: onnxruntime cannot load it/);
    assert.match(r.stdout, /ok {7}decoder\.int8\.onnx/);
    assert.match(r.stdout, /PROBLEM {2}parity: not run/);
  });

  it('names a graph whose outputs differ from the fixtures', () => {
    const dir = copyModel('tiny-random');
    // another model's mask head: it loads and has the same inputs and outputs, but not these numbers
    fs.copyFileSync(path.join(repo, 'models/default/mask_head.onnx'), path.join(dir, 'mask_head.onnx'));
    const r = run('check-model', dir);
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /PROBLEM {2}parity: /);
  });

  it('reports a broken config.json by file', () => {
    const dir = copyModel('tiny-random');
    fs.writeFileSync(path.join(dir, 'config.json'), '{"format": ');
    const r = run('check-model', dir);
    assert.equal(r.status, 1);
    assert.match(r.stdout, /PROBLEM {2}config\.json: /);
  });
});

describe('engine requests are validated before they run', function () {
  this.timeout(60000);
  it('refuses a malformed task with the JSON path at fault, through the worker too', async () => {
    const { Engine } = await import('../../src/engine/engine');
    const engine = await Engine.open(tiny, { device: 'cpu' });
    try {
      const bad: [unknown, RegExp][] = [
        [{ kind: 'describe', image: sample, region: { kind: 'box', x: 1, y: 1, w: 'ten', h: 5 } }, /malformed request: task\.region\.w: /],
        [{ kind: 'segmentRegions', image: sample, regions: [{ kind: 'points', points: [] }] }, /task\.regions\[0\]\.points: /],
        [{ kind: 'ask', image: sample, text: 'x', regions: [{ kind: 'scribble', points: [{ x: Infinity, y: 1 }] }] }, /task\.regions\[0\]\.points\[0\]\.x: /],
        [{ kind: 'paint', image: sample }, /task\.kind: /],
      ];
      for (const [task, message] of bad) await assert.rejects(engine.run(task as never), message);
    } finally {
      await engine.close();
    }
    const { EngineClient } = await import('../../src/engine/engineClient');
    const client = new EngineClient({ workerPath: path.join(repo, 'dist/worker.js'), config: { modelPath: tiny, device: 'cpu', cacheBudgetMb: 64, maxImagePixels: 1e8 } });
    try {
      await assert.rejects(client.request({ kind: 'describe', image: sample, region: { kind: 'box', x: 1, y: 1, w: -3, h: 5 } }), /task\.region\.w: /);
      assert.equal((await client.request({ kind: 'segment', image: sample, text: 'the red box' })).masks.length, 1, 'the worker carries on');
    } finally {
      client.dispose();
    }
  });
});
