// Decoding images for the model and masks from files: pixels drawn here and checked by value, EXIF
// orientation, and every refusal with the words a user reads.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as zlib from 'node:zlib';
import sharp from 'sharp';
import { ImageInputError, imageSize, loadImageForModel, loadMask } from '../../src/engine/imageLoader';

/** A w×h RGB PNG whose pixel (x, y) is colour(x, y). */
async function png(w: number, h: number, colour: (x: number, y: number) => [number, number, number]): Promise<Buffer> {
  const raw = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) raw.set(colour(x, y), (y * w + x) * 3);
  return sharp(raw, { raw: { width: w, height: h, channels: 3 } }).png().toBuffer();
}
const refused = (message: string | RegExp) => (e: Error) => {
  assert.ok(e instanceof ImageInputError, `${e.constructor.name}: ${e.message}`);
  if (typeof message === 'string') assert.equal(e.message, message);
  else assert.match(e.message, message);
  return true;
};

describe('imageLoader', function () {
  this.timeout(60000);
  const RED: [number, number, number] = [255, 0, 0], BLUE: [number, number, number] = [0, 0, 255];

  it('reads the size from the header, swapped for EXIF orientations 5–8 only', async () => {
    const img = await png(40, 20, () => RED);
    assert.deepEqual(await imageSize(img), { width: 40, height: 20 });
    for (const [orientation, size] of [[1, [40, 20]], [4, [40, 20]], [5, [20, 40]], [6, [20, 40]], [8, [20, 40]]] as const) {
      const jpeg = await sharp(img).jpeg().withMetadata({ orientation }).toBuffer();
      assert.deepEqual(await imageSize(jpeg), { width: size[0], height: size[1] }, `orientation ${orientation}`);
    }
  });

  it('refuses empty, non-image and too-large inputs, saying which', async () => {
    await assert.rejects(imageSize(Buffer.alloc(0)), refused('the file is empty (0 bytes)'));
    await assert.rejects(imageSize(Buffer.from('<html>not a picture</html>')), refused('not an image in a format sharp reads (PNG, JPEG, WebP, TIFF, GIF, AVIF, SVG)'));
    const big = await png(2000, 1000, () => RED);
    await assert.rejects(imageSize(big, 1_000_000), refused('the image is 2000×1000 (2 megapixels), above the limit of 1 megapixels'));
    assert.deepEqual(await imageSize(big, 2_000_000), { width: 2000, height: 1000 }, 'exactly at the limit is allowed');
    await assert.rejects(loadImageForModel(big, 16, 64, 1_999_999), refused(/^the image is 2000×1000 /));
  });

  it('refuses a truncated image when decoding it, quoting the decoder\'s first line', async () => {
    const whole = await png(64, 64, (x, y) => [x * 4, y * 4, (x * y) & 255]);
    const cut = whole.subarray(0, Math.floor(whole.length * 0.6));
    const damaged = /^the image data is damaged or truncated \((?!Error)[^\n]{10,}\)$/;
    await assert.rejects(loadImageForModel(cut, 16, 64), refused(damaged));
    await assert.rejects(loadMask(cut), refused(damaged));
  });

  it('refuses a decompression bomb from its header alone (a 30000×30000 PNG of a few bytes)', async () => {
    // A PNG signature, an IHDR claiming 30000×30000 RGB, the first row's data (300 bytes compressed) and IEND.
    const chunk = (type: string, data: Buffer) => {
      const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
      const len = Buffer.alloc(4), crc = Buffer.alloc(4);
      len.writeUInt32BE(data.length);
      crc.writeUInt32BE(zlib.crc32(body));
      return Buffer.concat([len, body, crc]);
    };
    const ihdr = Buffer.alloc(13);
    ihdr.writeUInt32BE(30000, 0);
    ihdr.writeUInt32BE(30000, 4);
    ihdr.set([8, 2, 0, 0, 0], 8);
    const bomb = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(Buffer.alloc(1 + 3 * 30000))), chunk('IEND', Buffer.alloc(0))]);
    assert.ok(bomb.length < 1000, `${bomb.length} bytes`);
    await assert.rejects(imageSize(bomb), refused('the image is 30000×30000 (900 megapixels), above the limit of 100 megapixels'));
    assert.deepEqual(await imageSize(bomb, 1e9), { width: 30000, height: 30000 }, 'read from the header, whatever sharp\'s own limit');
    // The same header with no image data at all: sharp gives no size for it ("corrupt header"), but the size
    // the header claims is still the reason to refuse it, not "damaged or truncated".
    const headerOnly = Buffer.concat([bomb.subarray(0, 8 + 25), chunk('IEND', Buffer.alloc(0))]);
    for (const refuse of [imageSize(headerOnly), loadImageForModel(headerOnly, 16, 64)]) {
      await assert.rejects(refuse, refused('the image is 30000×30000 (900 megapixels), above the limit of 100 megapixels'));
    }
    // Under the limit, the same missing data is reported as damage.
    ihdr.writeUInt32BE(300, 0);
    ihdr.writeUInt32BE(300, 4);
    const smallHeaderOnly = Buffer.concat([bomb.subarray(0, 8), chunk('IHDR', ihdr), chunk('IEND', Buffer.alloc(0))]);
    await assert.rejects(imageSize(smallHeaderOnly), refused(/^the image data is damaged or truncated /));
  });

  it("resizes as Pillow's Image.resize(BILINEAR) does, byte for byte, also when only one side changes", async function () {
    // Gradients in every channel, so any other filter, axis or rounding shows.
    const python = process.env.PYTHON || '/usr/bin/python3';
    const colour = (x: number, y: number): [number, number, number] => [(x * 37 + y * 11) & 255, (y * 53) & 255, (x * y * 7) & 255];
    // [width, height, patch, max long side] → model size by the resize rule: 40×20 → 32×16 (both sides),
    // 32×20 → 32×32 (height only), 20×48 → 32×48 (width only).
    const cases: [number, number, number, number, number, number][] = [[40, 20, 16, 32, 32, 16], [32, 20, 16, 32, 32, 32], [20, 48, 16, 48, 32, 48]];
    const script = `
import sys, json, base64
from PIL import Image
out = []
for w, h, ow, oh in json.loads(sys.argv[1]):
    img = Image.new('RGB', (w, h))
    img.putdata([((x * 37 + y * 11) & 255, (y * 53) & 255, (x * y * 7) & 255) for y in range(h) for x in range(w)])
    out.append(base64.b64encode(img.resize((ow, oh), Image.BILINEAR).tobytes()).decode())
print(json.dumps(out))
`;
    const r = spawnSync(python, ['-c', script, JSON.stringify(cases.map(([w, h, , , ow, oh]) => [w, h, ow, oh]))], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const refs = JSON.parse(r.stdout) as string[];
    for (const [k, [w, h, patch, long, ow, oh]] of cases.entries()) {
      const d = await loadImageForModel(await png(w, h, colour), patch, long);
      assert.deepEqual([d.width, d.height, d.modelWidth, d.modelHeight], [w, h, ow, oh]);
      assert.deepEqual(Buffer.from(d.rgb), Buffer.from(refs[k], 'base64'), `${w}×${h} → ${ow}×${oh}`);
    }
  });

  it('keeps the pixels when the image is already the model size (row-major, interleaved RGB)', async () => {
    // 32×16 at patch 16, long side ≤ 32: no resize. Left half red, right half blue, one green pixel at (3, 2).
    const img = await png(32, 16, (x, y) => (x === 3 && y === 2 ? [0, 255, 0] : x < 16 ? RED : BLUE));
    const d = await loadImageForModel(img, 16, 32);
    assert.deepEqual([d.width, d.height, d.modelWidth, d.modelHeight, d.rgb.length], [32, 16, 32, 16, 32 * 16 * 3]);
    const at = (x: number, y: number) => [...d.rgb.subarray((y * 32 + x) * 3, (y * 32 + x) * 3 + 3)];
    assert.deepEqual([at(0, 0), at(15, 15), at(16, 0), at(31, 15), at(3, 2)], [RED, RED, BLUE, BLUE, [0, 255, 0]]);
  });

  it('resizes to the model size, rotated upright first, alpha and grey made RGB', async () => {
    // 40×20 → long side 40 capped at 32, short 16: a uniform image stays uniform.
    const d = await loadImageForModel(await png(40, 20, () => [10, 200, 30]), 16, 32);
    assert.deepEqual([d.width, d.height, d.modelWidth, d.modelHeight], [40, 20, 32, 16]);
    assert.ok(d.rgb.length === 32 * 16 * 3 && [...d.rgb].every((v, i) => v === [10, 200, 30][i % 3]));
    // Orientation 6 (rotate 90° clockwise to show): the left (red) half of the stored image ends on top.
    const stored = await png(32, 16, (x) => (x < 16 ? RED : BLUE));
    const rotated = await sharp(stored).withMetadata({ orientation: 6 }).png().toBuffer();
    const r = await loadImageForModel(rotated, 16, 32);
    assert.deepEqual([r.width, r.height, r.modelWidth, r.modelHeight], [16, 32, 16, 32]);
    assert.deepEqual([...r.rgb.subarray(0, 3)], RED, 'top-left after rotation');
    assert.deepEqual([...r.rgb.subarray(r.rgb.length - 3)], BLUE, 'bottom-right after rotation');
    // A grey image with alpha: grey copied to each channel, alpha dropped.
    const ga = await sharp(Buffer.alloc(16 * 16 * 2, 77), { raw: { width: 16, height: 16, channels: 2 } }).png().toBuffer();
    const g = await loadImageForModel(ga, 16, 32);
    assert.ok(g.rgb.length === 16 * 16 * 3 && g.rgb.every((v) => v === 77));
  });

  it('decodes 16-bit images to 8 bits a channel', async () => {
    const deep = await sharp(await png(16, 16, () => [255, 128, 0])).toColourspace('rgb16').png().toBuffer();
    assert.equal((await sharp(deep).metadata()).depth, 'ushort', 'the input really is 16-bit');
    const d = await loadImageForModel(deep, 16, 32);
    assert.equal(d.rgb.length, 16 * 16 * 3);
    assert.ok([...d.rgb].every((v, i) => Math.abs(v - [255, 128, 0][i % 3]) <= 1), `${[...d.rgb.subarray(0, 6)]}`);
  });

  it('above 40 megapixels lets sharp shrink while decoding, to the same model size', async () => {
    // 8000×5008 (40.06 MP): the full-size RGB array is never made; a uniform image stays uniform (JPEG: ±2 levels).
    const big = await sharp({ create: { width: 8000, height: 5008, channels: 3, background: { r: 10, g: 200, b: 30 } } }).jpeg({ quality: 95 }).toBuffer();
    const d = await loadImageForModel(big, 16, 192);
    assert.deepEqual([d.width, d.height, d.modelWidth, d.modelHeight], [8000, 5008, 192, 128]);
    assert.equal(d.rgb.length, 192 * 128 * 3);
    assert.ok([...d.rgb].every((v, i) => Math.abs(v - [10, 200, 30][i % 3]) <= 2), `${[...d.rgb.subarray(0, 6)]}`);
  });

  it('reads a mask: grey ≥ 128 is set, transparent is unset', async () => {
    const grey = Buffer.from([0, 127, 128, 255, 200, 5]);
    const m = await loadMask(await sharp(grey, { raw: { width: 3, height: 2, channels: 1 } }).png().toBuffer());
    assert.deepEqual([m.width, m.height, [...m.data]], [3, 2, [0, 0, 1, 1, 1, 0]]);
    // White RGBA: opaque → set, transparent → flattened on black → unset.
    const rgba = Buffer.from([255, 255, 255, 255, 255, 255, 255, 0]);
    const a = await loadMask(await sharp(rgba, { raw: { width: 2, height: 1, channels: 4 } }).png().toBuffer());
    assert.deepEqual([...a.data], [1, 0]);
    await assert.rejects(loadMask(Buffer.alloc(0)), refused('the file is empty'));
    await assert.rejects(loadMask(Buffer.from('plain text, no image')), refused('not an image in a format sharp reads (PNG, JPEG, WebP, TIFF, GIF, AVIF, SVG)'));
  });
});
