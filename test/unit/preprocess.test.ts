import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { patchify, resizedSize } from '../../src/engine/preprocess';
import { resizeBilinearRgb } from '../../src/engine/resample';

const rules = { patch_size: 16, max_long_side: 1024, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };

describe('preprocessing', () => {
  it('follows the reference resize rule', () => {
    assert.deepEqual(resizedSize(640, 480, 16, 1024), { width: 640, height: 480 });
    assert.deepEqual(resizedSize(500, 375, 16, 1024), { width: 512, height: 384 });
    assert.deepEqual(resizedSize(1920, 1080, 16, 1024), { width: 1024, height: 576 });
    assert.deepEqual(resizedSize(1080, 1920, 16, 1024), { width: 576, height: 1024 });
    assert.deepEqual(resizedSize(512, 512, 16, 256), { width: 256, height: 256 });
    assert.deepEqual(resizedSize(5000, 3, 16, 1024), { width: 1024, height: 16 });
  });

  it('refuses empty sizes', () => {
    assert.throws(() => resizedSize(0, 10, 16, 1024), /positive/);
    assert.throws(() => resizedSize(10, 0, 16, 1024), (e: Error) => e.message === 'image size must be positive, got 10x0');
    // A square image keeps the long side as its width.
    assert.deepEqual(resizedSize(20, 20, 16, 1024), { width: 32, height: 32 });
    assert.deepEqual(resizedSize(40, 20, 16, 1024), { width: 48, height: 32 });
  });

  it('patchifies every pixel and channel to its place, worked out by hand (2×2 patches, 2 rows × 2 columns)', () => {
    // A 4×4 image, patch 2: patch (r, c) holds pixels y ∈ {2r, 2r+1}, x ∈ {2c, 2c+1}; inside a patch the red
    // values of its 4 pixels (row-major) come first, then the green, then the blue. Mean 0, std 1: value/255.
    const w = 4, h = 4, p = 2;
    const rgb = new Uint8Array(w * h * 3);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let ch = 0; ch < 3; ch++) rgb[(y * w + x) * 3 + ch] = 100 * ch + 10 * y + x;
    const { patches, grid } = patchify(rgb, w, h, { patch_size: p, max_long_side: 1024, mean: [0, 0, 0], std: [1, 1, 1] });
    assert.deepEqual(grid, { gh: 2, gw: 2 });
    const want: number[] = [];
    for (const [r, c] of [[0, 0], [0, 1], [1, 0], [1, 1]]) {
      for (let ch = 0; ch < 3; ch++) for (const [py, px] of [[0, 0], [0, 1], [1, 0], [1, 1]]) want.push(100 * ch + 10 * (2 * r + py) + (2 * c + px));
    }
    assert.deepEqual([...patches].map((v) => Math.round(v * 255)), want);
    // Normalisation per channel: (v/255 − mean)/std in float32.
    const norm = patchify(rgb, w, h, { patch_size: p, max_long_side: 1024, mean: [0.5, 0.25, 0], std: [0.5, 2, 4] }).patches;
    assert.equal(norm[0], Math.fround((Math.fround(0 / 255) - 0.5) / 0.5));
    assert.equal(norm[4], Math.fround((Math.fround(100 / 255) - 0.25) / 2));
    assert.equal(norm[11], Math.fround(Math.fround(Math.fround(211 / 255) - 0) / 4));
  });

  it('refuses sizes that are not whole patches, and wrong buffers', () => {
    const rules2 = { patch_size: 2, max_long_side: 1024, mean: [0, 0, 0], std: [1, 1, 1] };
    assert.throws(() => patchify(new Uint8Array(4 * 3 * 3), 4, 3, rules2), (e: Error) => e.message === 'image 4x3 is not a multiple of the patch size 2');
    assert.throws(() => patchify(new Uint8Array(3 * 4 * 3), 3, 4, rules2), (e: Error) => e.message === 'image 3x4 is not a multiple of the patch size 2');
    assert.throws(() => patchify(new Uint8Array(10), 4, 2, rules2), (e: Error) => e.message === 'expected 24 RGB bytes, got 10');
  });

  it('patchifies row-major with channel-major patches', () => {
    const w = 32, h = 16;
    const rgb = new Uint8Array(w * h * 3);
    rgb[(0 * w + 17) * 3 + 2] = 255; // pixel (x=17, y=0), blue channel → patch 1, element 2·256 + 0·16 + 1
    const { patches, grid } = patchify(rgb, w, h, rules);
    assert.deepEqual(grid, { gh: 1, gw: 2 });
    const at = 768 + 2 * 256 + 1;
    assert.ok(Math.abs(patches[at] - (1 - 0.406) / 0.225) < 1e-6);
    assert.ok(Math.abs(patches[at - 1] - (0 - 0.406) / 0.225) < 1e-6);
  });
});

describe('bilinear resample', function () {
  this.timeout(60000);
  const python = process.env.PYTHON || '/usr/bin/python3';

  // Pillow itself is the reference: random pictures (smooth and noisy parts) resized by Image.resize(BILINEAR)
  // to sizes that reduce, enlarge, and do one in each axis.
  it("equals Pillow's Image.resize(BILINEAR) byte for byte when reducing, enlarging and mixing", () => {
    const cases: [number, number, number, number][] = [
      [333, 201, 192, 112], [640, 480, 192, 144], [500, 500, 512, 512], [70, 45, 64, 48],
      [37, 500, 300, 20], [1000, 7, 13, 16], [5, 5, 96, 96], [424, 640, 432, 640], [60, 40, 48, 40], [30, 20, 30, 50],
    ];
    // Under mutation testing (instrumented, once per mutant) the cases up to 40,000 pixels in and out: they still
    // reduce, enlarge and mix (37×500 → 300×20).
    if (process.env.PIXEL_SAIL_MUTATION) cases.splice(0, cases.length, ...cases.filter(([w, h, ow, oh]) => w * h + ow * oh <= 40000));
    const script = `
import sys, json, base64, numpy as np
from PIL import Image
rng = np.random.RandomState(3)
out = []
for w, h, ow, oh in json.loads(sys.argv[1]):
    yy, xx = np.mgrid[:h, :w]
    img = np.stack([(xx * 255 // max(1, w - 1)), (yy * 255 // max(1, h - 1)), ((xx + yy) % 256)], -1).astype(np.uint8)
    noise = rng.randint(0, 256, size=(h, w, 3)).astype(np.uint8)
    img[:, : w // 2] = noise[:, : w // 2]
    res = np.asarray(Image.fromarray(img).resize((ow, oh), Image.BILINEAR))
    out.append({"src": base64.b64encode(img.tobytes()).decode(), "ref": base64.b64encode(res.tobytes()).decode()})
print(json.dumps(out))
`;
    const r = spawnSync(python, ['-c', script, JSON.stringify(cases)], { encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
    assert.equal(r.status, 0, r.stderr);
    const pics = JSON.parse(r.stdout) as { src: string; ref: string }[];
    cases.forEach(([w, h, ow, oh], i) => {
      const got = resizeBilinearRgb(new Uint8Array(Buffer.from(pics[i].src, 'base64')), w, h, ow, oh);
      const want = Buffer.from(pics[i].ref, 'base64');
      assert.equal(got.length, want.length);
      let diff = 0;
      for (let j = 0; j < got.length; j++) diff += got[j] !== want[j] ? 1 : 0;
      assert.equal(diff, 0, `${w}×${h} → ${ow}×${oh}: ${diff} bytes differ`);
    });
  });

  it('returns the input for an unchanged size and refuses wrong buffers and empty sizes', () => {
    const px = new Uint8Array(2 * 3 * 3).fill(7);
    assert.equal(resizeBilinearRgb(px, 2, 3, 2, 3), px);
    assert.throws(() => resizeBilinearRgb(px, 3, 3, 2, 2), /expected 3×3×3 bytes/);
    assert.throws(() => resizeBilinearRgb(px, 2, 3, 0, 2), /cannot resize/);
    assert.throws(() => resizeBilinearRgb(px, 2, 3, 2, 0), /cannot resize to 2×0/);
  });
});
