// `npm run bench -- --payload [--json]`: what the image editor's candidate message carries, in bytes, for the
// clicks bench:ui makes (the same 20 positions on the same photo, scaled to 1024 × 768 and 4000 × 3000), and
// what other encodings of the same masks would weigh: the RLE string cropped to the mask's box, a packed
// bitmap of the box (raw and as base64), the run lengths as a JSON number array. Sizes, not times: they do
// not depend on the machine's load. The message is built as src/host/editor/editorSession.ts posts it.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import type { ToWebview } from '../src/editor/protocol';
import { Engine } from '../src/engine/engine';
import { decodeRle, encodeMask, stringToCounts } from '../src/masks/rle';

const SIZES: [number, number][] = [[1024, 768], [4000, 3000]];
const CLICKS = 20;
const ENCODINGS = ['message', 'rleString', 'rleStringCropped', 'bitmapCropped', 'bitmapCroppedBase64', 'countsJsonArray'] as const;
type Encoding = (typeof ENCODINGS)[number];

const p50 = (v: number[]) => [...v].sort((a, b) => a - b)[Math.round((v.length - 1) / 2)];

/** bench:ui's click positions (bench/ui.ts clickPrompts), as image pixels of a canvas-filling view. */
function click(i: number, w: number, h: number) {
  return { x: Math.round(w * (0.3 + (0.4 * ((i * 37) % 11)) / 10)), y: Math.round(h * (0.3 + (0.4 * ((i * 53) % 7)) / 6)) };
}

export async function payloadBench(repo: string, modelPath: string, asJson: boolean, log: (s: string) => void) {
  const engine = await Engine.open(modelPath, { device: 'cpu' });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pixel-sail-payload-'));
  const result: Record<string, { clicks: number; withMask: number; bytesP50: Record<Encoding, number>; bytesMax: Record<Encoding, number> }> = {};
  try {
    for (const [w, h] of SIZES) {
      log(`${w}×${h}: ${CLICKS} clicks…`);
      const file = path.join(dir, `photo-${w}x${h}.png`);
      await sharp(path.join(repo, 'media/samples/photos/dog.jpg')).resize(w, h, { fit: 'fill' }).png().toFile(file);
      const sizes = Object.fromEntries(ENCODINGS.map((k) => [k, [] as number[]])) as Record<Encoding, number[]>;
      for (let i = 0; i < CLICKS; i++) {
        const answer = await engine.run({ kind: 'segmentRegions', image: file, regions: [{ kind: 'points', points: [{ ...click(i, w, h), positive: true }] }] });
        const m = answer.masks[0];
        if (!m || m.area === 0) continue;
        const now = Date.now();
        const msg: ToWebview = { type: 'candidate', prompt: '1 point', answer: answer.answer, mask: { rle: m.rle, area: m.area, bbox: m.bbox }, ms: 76,
          host: { receivedAt: now + 0.123, postedAt: now + 76.456, engineMs: 75.2 } };
        sizes.message.push(JSON.stringify(msg).length);
        sizes.rleString.push(m.rle.counts.length);
        const full = decodeRle(m.rle);
        const [bx, by, bw, bh] = m.bbox;
        const crop = new Uint8Array(bw * bh);
        for (let y = 0; y < bh; y++) for (let x = 0; x < bw; x++) crop[y * bw + x] = full[(by + y) * w + bx + x];
        sizes.rleStringCropped.push(encodeMask(crop, bh, bw).counts.length);
        const bitmap = Math.ceil((bw * bh) / 8);
        sizes.bitmapCropped.push(bitmap);
        sizes.bitmapCroppedBase64.push(Math.ceil(bitmap / 3) * 4);
        sizes.countsJsonArray.push(JSON.stringify(stringToCounts(m.rle.counts)).length);
      }
      const n = sizes.message.length;
      if (!n) throw new Error(`no click gave a mask at ${w}×${h}`);
      result[`${w}x${h}`] = {
        clicks: CLICKS, withMask: n,
        bytesP50: Object.fromEntries(ENCODINGS.map((k) => [k, p50(sizes[k])])) as Record<Encoding, number>,
        bytesMax: Object.fromEntries(ENCODINGS.map((k) => [k, Math.max(...sizes[k])])) as Record<Encoding, number>,
      };
    }
  } finally {
    await engine.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  if (asJson) {
    process.stdout.write(JSON.stringify({ candidatePayload: result }) + '\n');
    return;
  }
  for (const [size, r] of Object.entries(result)) {
    process.stdout.write(`candidate message, ${size} (${r.withMask} of ${r.clicks} clicks with a mask), bytes p50 (max): ${ENCODINGS.map((k) => `${k} ${r.bytesP50[k]} (${r.bytesMax[k]})`).join(', ')}\n`);
  }
}
