// The mask resize (logits at stride 2 → the image's size, bilinear with align_corners=False, then > 0)
// against torch's F.interpolate at odd sizes, up and down: test/data/reference/mask_resize.json, written by
// training/reference_fixtures.py. The engine's own two paths (the bitmap and the one-pass summary) are
// compared with torch, not with each other. Pixels torch puts within 1e-4 of 0 are ties that float32
// rounding may send either way; the fixture lists them and they are left out.
import * as assert from 'node:assert/strict';
import { fromRowRuns } from '../support/rowRuns';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { logitsToMask, logitsToMaskSummary } from '../../src/engine/postprocess';
import { countsToString, decodeRle } from '../../src/masks/rle';

const repo = path.resolve(__dirname, '../../..');
interface ResizeCase { ph: number; pw: number; height: number; width: number; logits: number[]; rowRuns: number[]; ties: number[] }
const fixture = JSON.parse(fs.readFileSync(path.join(repo, 'test/data/reference/mask_resize.json'), 'utf8')) as { cases: ResizeCase[] };


/** Indices where two masks differ, ties left out. */
function differences(a: Uint8Array, b: Uint8Array, ties: Set<number>): number[] {
  const out: number[] = [];
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i] && !ties.has(i)) out.push(i);
  return out;
}

describe('mask resize against torch F.interpolate (bilinear, align_corners=False)', () => {
  it('the fixture covers odd sizes, up and down, and masks with both values', () => {
    const c = fixture.cases;
    assert.ok(c.some((x) => x.height > x.ph * 4 && x.width % 2 === 1), 'an odd upsample');
    assert.ok(c.some((x) => x.height < x.ph && x.width < x.pw), 'a downsample');
    assert.ok(c.some((x) => x.height !== x.width && x.ph !== x.pw));
    for (const x of c) {
      const torch = fromRowRuns(x.rowRuns, x.height * x.width);
      if (x.height * x.width > 20) assert.ok(torch.some((v) => v) && torch.some((v) => !v), `${x.ph}×${x.pw}: both values`);
      assert.ok(x.ties.length < x.height * x.width / 100, 'ties are rare');
    }
  });

  for (const x of fixture.cases) {
    it(`${x.ph}×${x.pw} → ${x.height}×${x.width}: both engine paths equal torch's mask`, () => {
      const torch = fromRowRuns(x.rowRuns, x.height * x.width);
      const ties = new Set(x.ties);
      // An offset into a larger buffer, as the engine slices one query out of several.
      const logits = new Float32Array([9, 9, 9, ...x.logits]);
      const bitmap = logitsToMask(logits, 3, x.ph, x.pw, x.height, x.width);
      assert.deepEqual(differences(bitmap, torch, ties), [], 'logitsToMask');
      const summary = logitsToMaskSummary(logits, 3, x.ph, x.pw, x.height, x.width);
      const fromSummary = decodeRle({ size: [x.height, x.width], counts: countsToString(summary.counts) });
      assert.deepEqual(differences(fromSummary, torch, ties), [], 'logitsToMaskSummary');
      assert.equal(summary.area, fromSummary.reduce((s, v) => s + v, 0), 'area');
      // bbox [x, y, w, h] of torch's mask (ties permitting: compare only when there are none).
      if (!ties.size) {
        let x0 = x.width, y0 = x.height, x1 = -1, y1 = -1;
        for (let i = 0; i < torch.length; i++) {
          if (!torch[i]) continue;
          const px = i % x.width, py = Math.floor(i / x.width);
          x0 = Math.min(x0, px); x1 = Math.max(x1, px); y0 = Math.min(y0, py); y1 = Math.max(y1, py);
        }
        assert.deepEqual(summary.bbox, x1 < 0 ? [0, 0, 0, 0] : [x0, y0, x1 - x0 + 1, y1 - y0 + 1], 'bbox');
      }
    });
  }
});
