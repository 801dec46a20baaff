import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { missingCudaProvider } from '../../src/engine/engine';
import { decodeRle } from '../../src/masks/rle';

const repo = path.resolve(__dirname, '../../..');
const bin = path.join(repo, 'bin/pixel-sail.js');
const sample = path.join(repo, 'models/tiny-random/parity/image.png');
const run = (...args: string[]) => spawnSync('node', [bin, ...args], { encoding: 'utf8' });

describe('pixel-sail CLI', () => {
  it('segments an image and prints one JSON object', () => {
    const r = run('segment', sample, '--text', 'the red box', '--json', '--device', 'cpu');
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(typeof out.answer, 'string');
    assert.equal(out.device, 'cpu');
    assert.deepEqual(out.masks[0].rle.size, [48, 80]);
    assert.ok(out.timingsMs.total > 0);
  });

  it('writes the mask PNG atomically with --out', () => {
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ps-cli-')), 'mask.png');
    const r = run('segment', sample, '--text', 'the red box', '--out', out, '--device', 'cpu');
    assert.equal(r.status, 0, r.stderr);
    assert.ok(fs.statSync(out).size > 0);
    assert.deepEqual(fs.readdirSync(path.dirname(out)), ['mask.png']);
  });

  for (const ext of ['png', 'tif']) {
    it(`writes --out mask.${ext} as a single-channel ${ext.toUpperCase()} holding exactly the answer's mask`, async () => {
      const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ps-cli-')), `mask.${ext}`);
      const r = run('segment', sample, '--text', 'the red box', '--out', out, '--json', '--device', 'cpu');
      assert.equal(r.status, 0, r.stderr);
      const answer = JSON.parse(r.stdout);
      const meta = await sharp(out).metadata();
      assert.equal(meta.format, ext === 'png' ? 'png' : 'tiff', 'the bytes are the format the extension names');
      assert.equal(meta.channels, 1, 'a mask is one grey channel, not RGB');
      const { data, info } = await sharp(out).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
      assert.deepEqual([info.height, info.width], answer.masks[0].rle.size);
      const expected = decodeRle(answer.masks[0].rle);
      assert.ok(expected.some((v) => v) && expected.some((v) => !v), 'the test mask has both values');
      assert.deepEqual([...data], [...expected].map((v) => (v ? 255 : 0)), 'lossless: every pixel 0 or 255 as decoded');
    });
  }

  it('says which device runs in one short line, with no warning when CUDA is simply not installed', function () {
    if (!missingCudaProvider()) this.skip(); // this machine has a CUDA provider: the fallback line does not apply
    const r = run('segment', sample, '--text', 'the red box');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, '', 'no stderr under --device auto when the CUDA provider is not installed');
    assert.match(r.stdout.trim().split('\n').pop()!, /^device: cpu \(CUDA provider not installed\), [\d.]+ ms$/);
    const json = JSON.parse(run('segment', sample, '--text', 'the red box', '--json').stdout);
    assert.match(json.deviceFallback, /libonnxruntime_providers_cuda\.so is not installed/, '--json keeps the full reason');
  });

  it('asks about regions named <region1>…', () => {
    const r = run('ask', sample, '--text', 'What is in <region1> next to <region2>?', '--region', 'box:1,1,20,20', '--region', 'point:60,30', '--json', '--max-tokens', '3');
    assert.equal(r.status, 0, r.stderr);
  });

  it('refuses bad input with an actionable message and a non-zero exit', () => {
    const cases: [string[], RegExp][] = [
      [['segment', '/nope.png', '--text', 'x'], /image not found: \/nope\.png/],
      [['segment', sample], /segment needs --text/],
      [['describe', sample, '--region', 'box:1,2'], /box needs x,y,w,h/],
      [['describe', sample, '--region', 'ellipse:1,2'], /unknown region kind "ellipse"/],
      [['segment', sample, '--text', 'x', '--model', '/nonexistent'], /model directory not found/],
      [['segment', sample, '--text', 'x', '--device', 'tpu'], /--device must be auto, cpu or cuda/],
      [['frobnicate'], /unknown command/],
      [['ask', sample, '--text', 'What is <region3>?', '--region', 'box:0,0,5,5'], /<region3> is used but only 1/],
      [['eval', '/nonexistent-dir'], /cannot read .*ground_truth\.json/],
    ];
    for (const [args, message] of cases) {
      const r = run(...args);
      assert.notEqual(r.status, 0, args.join(' '));
      assert.match(r.stderr, message, args.join(' '));
      assert.doesNotMatch(r.stderr, /at .*\.js:\d+/, 'no stack trace');
    }
    const text = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ps-cli-')), 'photo.jpg');
    fs.writeFileSync(text, 'hello');
    assert.match(run('segment', text, '--text', 'x').stderr, /not an image/);
  });
});
