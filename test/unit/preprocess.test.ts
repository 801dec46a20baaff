import * as assert from 'node:assert/strict';
import { patchify, resizedSize } from '../../src/engine/preprocess';

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
