// Runs the ISNet teacher (training/fetch_teacher.mjs) with onnxruntime-node, for two jobs:
//
//   node training/teacher_features.mjs pool DIR
//       DIR/images.u8 + DIR/meta.json written by `training/distill_cache.py render`: K RGB images of S×S.
//       Writes DIR/teacher.f32: per image, 65 channels × 32 × 32 — ISNet's 64-channel decoder map plus its
//       saliency output — the distillation targets. Images run 16 at a time as a 4×4 mosaic of 256-px
//       tiles (ISNet's input is fixed at 1024², about 17 s per run on two cores).
//
//   node training/teacher_features.mjs photos OUT_DIR PHOTO...
//       ISNet's salient-object mask of each photo (for the real-photo check of `pixel-sail eval`): writes
//       OUT_DIR/<name>.png and OUT_DIR/photos.json with the mask's box.
//
//   node training/teacher_features.mjs alpha OUT_DIR PHOTO...
//       ISNet's saliency (0–255 grey, at the photo's own size after EXIF orientation) of each photo, as
//       OUT_DIR/<sha256 of the photo file>.png; a photo whose map is already there is skipped, so the
//       real-photo targets (training/photo_targets.py) never run the teacher twice on one photo.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const ort = require('onnxruntime-node');
const sharp = require('sharp');

const here = path.dirname(new URL(import.meta.url).pathname);
const modelPath = execFileSync('node', [path.join(here, 'fetch_teacher.mjs')], { encoding: 'utf8' }).trim();
const SIDE = 1024, TILE = 256, GRID = 4, FEAT = 'input.1088', FEAT_C = 64, OUT_HW = 32;

async function session() {
  return ort.InferenceSession.create(modelPath, { graphOptimizationLevel: 'all' });
}

/** RGB uint8 SIDE×SIDE → NCHW float (x/255 − 0.5), ISNet's preprocessing. */
function toInput(rgb) {
  const plane = SIDE * SIDE;
  const x = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++) for (let c = 0; c < 3; c++) x[c * plane + i] = rgb[i * 3 + c] / 255 - 0.5;
  return new ort.Tensor('float32', x, [1, 3, SIDE, SIDE]);
}

async function pool(dir) {
  const meta = JSON.parse(fs.readFileSync(path.join(dir, 'meta.json'), 'utf8'));
  const { count, size } = meta;
  const images = fs.readFileSync(path.join(dir, 'images.u8'));
  if (images.length !== count * size * size * 3) throw new Error('images.u8 does not match meta.json');
  const s = await session();
  const perImage = (FEAT_C + 1) * OUT_HW * OUT_HW;
  const out = new Float32Array(count * perImage);
  const t0 = Date.now();
  for (let start = 0; start < count; start += GRID * GRID) {
    const mosaic = Buffer.alloc(SIDE * SIDE * 3, 127);
    const n = Math.min(GRID * GRID, count - start);
    for (let k = 0; k < n; k++) {
      const src = images.subarray((start + k) * size * size * 3, (start + k + 1) * size * size * 3);
      const tile = await sharp(src, { raw: { width: size, height: size, channels: 3 } }).resize(TILE, TILE, { kernel: 'linear' }).raw().toBuffer();
      const ox = (k % GRID) * TILE, oy = Math.floor(k / GRID) * TILE;
      for (let y = 0; y < TILE; y++) tile.copy(mosaic, ((oy + y) * SIDE + ox) * 3, y * TILE * 3, (y + 1) * TILE * 3);
    }
    const r = await s.run({ input: toInput(mosaic) });
    const feat = r[FEAT].data, fh = r[FEAT].dims[2]; // 64 × 256 × 256
    const alpha = r.output.data; // 1 × 1024 × 1024
    const ftile = fh / GRID, fpool = ftile / OUT_HW, apool = TILE / OUT_HW;
    for (let k = 0; k < n; k++) {
      const ox = (k % GRID), oy = Math.floor(k / GRID);
      const base = (start + k) * perImage;
      for (let c = 0; c <= FEAT_C; c++) {
        for (let y = 0; y < OUT_HW; y++) for (let x = 0; x < OUT_HW; x++) {
          let sum = 0;
          const p = c < FEAT_C ? fpool : apool;
          for (let dy = 0; dy < p; dy++) for (let dx = 0; dx < p; dx++) {
            if (c < FEAT_C) sum += feat[c * fh * fh + (oy * ftile + y * p + dy) * fh + ox * ftile + x * p + dx];
            else sum += alpha[(oy * TILE + y * p + dy) * SIDE + ox * TILE + x * p + dx];
          }
          out[base + c * OUT_HW * OUT_HW + y * OUT_HW + x] = sum / (p * p);
        }
      }
    }
    const done = start + n;
    process.stderr.write(`teacher: ${done}/${count} images, ${((Date.now() - t0) / 1000 / done).toFixed(2)} s/image\n`);
  }
  const tmp = path.join(dir, 'teacher.f32.tmp');
  fs.writeFileSync(tmp, Buffer.from(out.buffer));
  fs.renameSync(tmp, path.join(dir, 'teacher.f32'));
  fs.writeFileSync(path.join(dir, 'teacher.json'), JSON.stringify({ model: path.basename(modelPath), channels: FEAT_C + 1, size: OUT_HW, feature: FEAT }));
}

async function photos(outDir, files) {
  fs.mkdirSync(outDir, { recursive: true });
  const s = await session();
  const entries = [];
  for (const file of files) {
    const img = sharp(file).rotate().removeAlpha();
    const { width, height } = await img.metadata();
    const rgb = await img.clone().resize(SIDE, SIDE, { fit: 'fill', kernel: 'linear' }).raw().toBuffer();
    const r = await s.run({ input: toInput(rgb) });
    const alpha = Buffer.alloc(SIDE * SIDE);
    for (let i = 0; i < alpha.length; i++) alpha[i] = Math.round(Math.min(1, Math.max(0, r.output.data[i])) * 255);
    const mask = await sharp(alpha, { raw: { width: SIDE, height: SIDE, channels: 1 } }).resize(width, height, { fit: 'fill', kernel: 'linear' }).threshold(128).extractChannel(0).raw().toBuffer();
    let x0 = width, y0 = height, x1 = -1, y1 = -1, area = 0;
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) if (mask[y * width + x]) {
      area++; x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y);
    }
    const name = path.basename(file).replace(/\.[^.]+$/, '');
    await sharp(mask, { raw: { width, height, channels: 1 } }).png().toFile(path.join(outDir, `${name}.png`));
    entries.push({ photo: path.basename(file), mask: `${name}.png`, width, height, area, box: [x0, y0, x1 - x0 + 1, y1 - y0 + 1] });
    process.stderr.write(`teacher: ${name} ${width}×${height}, salient area ${area}\n`);
  }
  fs.writeFileSync(path.join(outDir, 'photos.json'), JSON.stringify({ teacher: path.basename(modelPath), photos: entries }, null, 2));
}

async function alphaMaps(outDir, files) {
  fs.mkdirSync(outDir, { recursive: true });
  let s = null;
  const t0 = Date.now();
  let ran = 0;
  for (const file of files) {
    const sha = createHash('sha256').update(fs.readFileSync(file)).digest('hex');
    const out = path.join(outDir, `${sha}.png`);
    if (fs.existsSync(out)) continue;
    s ??= await session();
    const img = sharp(file).rotate().removeAlpha();
    const { info } = await img.clone().raw().toBuffer({ resolveWithObject: true });
    const rgb = await img.clone().resize(SIDE, SIDE, { fit: 'fill', kernel: 'linear' }).raw().toBuffer();
    const r = await s.run({ input: toInput(rgb) });
    const alpha = Buffer.alloc(SIDE * SIDE);
    for (let i = 0; i < alpha.length; i++) alpha[i] = Math.round(Math.min(1, Math.max(0, r.output.data[i])) * 255);
    const tmp = `${out}.tmp.png`;
    await sharp(alpha, { raw: { width: SIDE, height: SIDE, channels: 1 } }).resize(info.width, info.height, { fit: 'fill', kernel: 'linear' }).extractChannel(0).png().toFile(tmp);
    fs.renameSync(tmp, out);
    ran++;
    process.stderr.write(`teacher: ${path.basename(file)} ${info.width}×${info.height} (${((Date.now() - t0) / 1000 / ran).toFixed(1)} s/photo)\n`);
  }
  process.stderr.write(`teacher: ${ran} photos run, ${files.length - ran} already cached in ${outDir}\n`);
}

const [mode, ...rest] = process.argv.slice(2);
const job = mode === 'pool' && rest.length === 1 ? pool(rest[0]) : mode === 'photos' && rest.length >= 2 ? photos(rest[0], rest.slice(1))
  : mode === 'alpha' && rest.length >= 2 ? alphaMaps(rest[0], rest.slice(1)) : null;
if (!job) {
  console.error('usage: node training/teacher_features.mjs pool DIR | photos OUT_DIR PHOTO... | alpha OUT_DIR PHOTO...');
  process.exit(2);
}
job.catch((e) => {
  console.error(`teacher_features: ${e.message}`);
  process.exit(1);
});
