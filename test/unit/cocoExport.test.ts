// COCO export, checked field by field against the rules the loaders enforce, with the masks decoded and
// the polygons rasterised by this file's own code (from the COCO definition), not by the exporter's.
import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { defaultExportFile, exportCoco } from '../../src/annotations/cocoExport';
import { exportYolo } from '../../src/annotations/yoloExport';

const repo = path.resolve(__dirname, '../../..');
const bin = path.join(repo, 'bin/pixel-sail.js');
const python = process.env.PYTHON || '/usr/bin/python3';

/** pycocotools' rleFrString, transcribed: 6-bit groups, continuation bit 0x20, sign bit 0x10, deltas from the run two back. */
function cocoCounts(s: string): number[] {
  const counts: number[] = [];
  let p = 0;
  while (p < s.length) {
    let x = 0, k = 0, more = 1;
    while (more) {
      const c = s.charCodeAt(p) - 48;
      x |= (c & 0x1f) << (5 * k);
      more = c & 0x20;
      p++;
      k++;
      if (!more && c & 0x10) x |= -1 << (5 * k);
    }
    if (counts.length > 2) x += counts[counts.length - 2];
    counts.push(x);
  }
  return counts;
}

/** Column-major runs, starting with zeros, into a row-major 0/1 mask. */
function cocoDecode(rle: { size: [number, number]; counts: string }): Uint8Array {
  const [h, w] = rle.size;
  const out = new Uint8Array(h * w);
  let pos = 0;
  cocoCounts(rle.counts).forEach((n, i) => {
    if (i % 2) for (let j = pos; j < pos + n; j++) out[(j % h) * w + Math.floor(j / h)] = 1;
    pos += n;
  });
  assert.equal(pos, h * w, 'the runs cover the image');
  return out;
}

/** Pixel centres inside the rings (even-odd), the way a polygon is filled. */
function rasterize(rings: number[][], h: number, w: number): Uint8Array {
  const out = new Uint8Array(h * w);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const px = x + 0.5, py = y + 0.5;
    let inside = false;
    for (const r of rings) {
      for (let i = 0, j = r.length - 2; i < r.length; j = i, i += 2) {
        const [xi, yi, xj, yj] = [r[i], r[i + 1], r[j], r[j + 1]];
        if (yi > py !== yj > py && px < ((xj - xi) * (py - yi)) / (yj - yi) + xi) inside = !inside;
      }
    }
    out[y * w + x] = inside ? 1 : 0;
  }
  return out;
}

const iou = (a: Uint8Array, b: Uint8Array) => {
  let i = 0, u = 0;
  for (let k = 0; k < a.length; k++) { i += a[k] & b[k]; u += a[k] | b[k]; }
  return u ? i / u : 1;
};

function tightBox(m: Uint8Array, h: number, w: number): number[] {
  let x0 = w, y0 = h, x1 = -1, y1 = -1;
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) if (m[y * w + x]) { x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y); }
  return [x0, y0, x1 - x0 + 1, y1 - y0 + 1];
}

interface Gt {
  images: { id: number; file_name: string; width: number; height: number }[];
  annotations: { id: number; image_id: number; category_id: number; segmentation: { size: [number, number]; counts: string } }[];
  categories: { id: number; name: string; supercategory: string }[];
}

describe('COCO export', function () {
  this.timeout(180000);
  let root: string;
  let gt: Gt;
  /** generator annotation id → the mask it should export to */
  const truth = new Map<string, Uint8Array>();

  before(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'ps-coco-'));
    const r = spawnSync(python, ['training/generate.py', '--split', 'test', '--seed', '31', '--count', '6', '--size', '128', '--out', path.join(root, 'scenes'), '--quiet'], { cwd: repo, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    gt = JSON.parse(fs.readFileSync(path.join(root, 'scenes/ground_truth.json'), 'utf8'));
    // The store a user would have after annotating these scenes: one file per image, the generator's
    // shapes as categories (id 3 removed by hand: ids are never renumbered), names in reverse order on disk.
    const store = path.join(root, '.pixel-sail');
    fs.mkdirSync(path.join(store, 'annotations/scenes/images'), { recursive: true });
    const categories = gt.categories.filter((c) => c.id !== 3).map((c, i) => ({ id: c.id, name: c.name, color: '#' + (0x102030 + i * 0x111111).toString(16).slice(-6), supercategory: c.supercategory }));
    fs.writeFileSync(path.join(store, 'categories.json'), JSON.stringify({ version: 1, next_id: 9, categories }));
    for (const img of [...gt.images].reverse()) {
      const anns = gt.annotations.filter((a) => a.image_id === img.id && a.category_id !== 3);
      const objects = anns.map((a, k) => {
        truth.set(`scenes/images/${img.file_name}#${k + 1}`, cocoDecode(a.segmentation));
        return {
          id: k + 1, category_id: a.category_id, segmentation: { size: a.segmentation.size, counts: a.segmentation.counts },
          area: 0, bbox: [0, 0, 0, 0], iscrowd: 0,
          // every third object is still a model proposal; the last of each image was rejected
          pixel_sail: { origin: k % 3 === 2 ? 'model' : 'human', status: k === anns.length - 1 && anns.length > 2 ? 'rejected' : k % 3 === 2 ? 'proposed' : 'accepted', prompt: k % 3 === 2 ? 'every shape' : undefined },
        };
      });
      const file = path.join(store, 'annotations/scenes/images', `${img.file_name}.json`);
      fs.writeFileSync(file, JSON.stringify({ version: 1, image: { file_name: `scenes/images/${img.file_name}`, width: img.width, height: img.height }, annotations: objects }));
    }
    // an image opened and saved with no objects
    fs.writeFileSync(path.join(store, 'annotations/empty.png.json'), JSON.stringify({ version: 1, image: { file_name: 'empty.png', width: 64, height: 32 }, annotations: [] }));
  });

  it('numbers images by sorted file_name and annotations by (image, object), with the store\'s category ids', async () => {
    const { coco } = await exportCoco(root, { format: 'rle' });
    assert.ok(coco.info && Array.isArray(coco.licenses), 'info and licenses present');
    const names = coco.images.map((i) => i.file_name);
    assert.deepEqual(names, [...names].sort(), 'sorted by file_name');
    assert.deepEqual(coco.images.map((i) => i.id), names.map((_, i) => i + 1), 'image ids from 1');
    assert.ok(names.includes('empty.png'), 'an image without objects is kept');
    assert.deepEqual(coco.annotations.map((a) => a.id), coco.annotations.map((_, i) => i + 1), 'annotation ids from 1');
    const imageOrder = coco.annotations.map((a) => a.image_id);
    assert.deepEqual(imageOrder, [...imageOrder].sort((a, b) => a - b), 'grouped by image in image order');
    assert.deepEqual(coco.categories.map((c) => c.id), [1, 2, 4, 5, 6, 7, 8], 'the store\'s ids, 3 still missing, no background');
    assert.ok(coco.categories.every((c) => c.supercategory === 'shape'), 'supercategory kept');
    for (const a of coco.annotations) {
      assert.equal(a.iscrowd, 0);
      assert.ok(coco.categories.some((c) => c.id === a.category_id));
      assert.equal(a.pixel_sail.status, 'accepted', 'only accepted objects by default');
      assert.ok(!('ignore' in a));
    }
  });

  it('is offered to be saved in the dataset root, where every file_name resolves, a subfolder\'s named after it', async () => {
    assert.equal(defaultExportFile(root), path.join(root, 'annotations.coco.json'));
    assert.equal(defaultExportFile(root, 'scenes/images'), path.join(root, 'scenes-images.coco.json'));
    const { coco } = await exportCoco(root, { under: 'scenes' });
    const beside = path.dirname(defaultExportFile(root, 'scenes'));
    assert.ok(coco.images.length >= 6);
    for (const image of coco.images) assert.ok(fs.existsSync(path.join(beside, image.file_name)), `${image.file_name} from the export's folder`);
  });

  it('RLE: column-major string counts that decode (independently) to the object\'s mask, with its pixel count and tight box', async () => {
    const { coco } = await exportCoco(root, { format: 'rle', status: 'all' });
    assert.ok(coco.annotations.length >= 10);
    const statuses = new Set(coco.annotations.map((a) => a.pixel_sail.status));
    assert.deepEqual([...statuses].sort(), ['accepted', 'proposed'], '--status all adds proposals, never rejected objects');
    for (const a of coco.annotations) {
      const img = coco.images.find((i) => i.id === a.image_id)!;
      const seg = a.segmentation as { size: [number, number]; counts: string };
      assert.equal(typeof seg.counts, 'string');
      assert.deepEqual(seg.size, [img.height, img.width]);
      const mask = cocoDecode(seg);
      assert.equal(a.area, mask.reduce((s, v) => s + v, 0), 'area = pixel count');
      assert.deepEqual(a.bbox, tightBox(mask, img.height, img.width), 'tight bbox');
    }
    // and every exported mask is exactly one of the generator's masks for that image
    const exported = coco.annotations.map((a) => cocoDecode(a.segmentation as { size: [number, number]; counts: string }));
    const matched = exported.filter((m) => [...truth.values()].some((t) => t.length === m.length && t.every((v, i) => v === m[i])));
    assert.equal(matched.length, exported.length);
  });

  it('polygons: rings of ≥ 3 points inside the image whose fill matches the mask (IoU ≥ 0.98 at the default tolerance)', async () => {
    const { coco } = await exportCoco(root, { status: 'all' });
    const rle = (await exportCoco(root, { format: 'rle', status: 'all' })).coco;
    assert.equal(coco.annotations.length, rle.annotations.length);
    assert.match(String(coco.info.segmentation), /tolerance 0.5 px/);
    coco.annotations.forEach((a, k) => {
      const img = coco.images.find((i) => i.id === a.image_id)!;
      const rings = a.segmentation as number[][];
      assert.ok(Array.isArray(rings) && rings.length >= 1);
      for (const r of rings) {
        assert.ok(r.length >= 6 && r.length % 2 === 0, `ring of ${r.length} numbers`);
        for (let i = 0; i < r.length; i += 2) assert.ok(r[i] >= 0 && r[i] <= img.width && r[i + 1] >= 0 && r[i + 1] <= img.height, 'inside the image');
      }
      const mask = cocoDecode(rle.annotations[k].segmentation as { size: [number, number]; counts: string });
      const fill = rasterize(rings, img.height, img.width);
      assert.ok(iou(fill, mask) >= 0.98, `annotation ${a.id}: IoU ${iou(fill, mask).toFixed(3)}`);
      assert.equal(a.area, mask.reduce((s, v) => s + v, 0), 'area is the mask\'s pixel count, not the polygon\'s');
    });
  });

  it('exports the same bytes every time, filters categories without renumbering, and splits instances', async () => {
    const a = JSON.stringify((await exportCoco(root)).coco);
    const b = JSON.stringify((await exportCoco(root)).coco);
    assert.equal(a, b);
    const some = (await exportCoco(root, { categories: ['star', 'circle'] })).coco;
    assert.deepEqual(some.categories.map((c) => [c.id, c.name]), [[1, 'circle'], [4, 'star']]);
    assert.ok(some.annotations.every((x) => x.category_id === 1 || x.category_id === 4));
    await assert.rejects(exportCoco(root, { categories: ['unicorn'] }), /no category named "unicorn"/);

    // an object made of two separate blobs ("every circle") becomes two annotations with --split-instances
    const two = fs.mkdtempSync(path.join(os.tmpdir(), 'ps-coco-split-'));
    fs.mkdirSync(path.join(two, '.pixel-sail/annotations'), { recursive: true });
    fs.writeFileSync(path.join(two, '.pixel-sail/categories.json'), JSON.stringify({ version: 1, next_id: 2, categories: [{ id: 1, name: 'circle', color: '#ff0000' }] }));
    const h = 20, w = 30, m = new Uint8Array(h * w);
    for (let y = 2; y < 8; y++) for (let x = 2; x < 8; x++) m[y * w + x] = 1;
    for (let y = 10; y < 18; y++) for (let x = 20; x < 28; x++) m[y * w + x] = 1;
    const { encodeMask } = await import('../../src/masks/rle');
    fs.writeFileSync(path.join(two, '.pixel-sail/annotations/x.png.json'), JSON.stringify({ version: 1, image: { file_name: 'x.png', width: w, height: h },
      annotations: [{ id: 1, category_id: 1, segmentation: encodeMask(m, h, w), area: 100, bbox: [2, 2, 26, 16], iscrowd: 0, pixel_sail: { origin: 'model', status: 'accepted' } }] }));
    assert.equal((await exportCoco(two, { format: 'rle' })).coco.annotations.length, 1);
    const split = (await exportCoco(two, { format: 'rle', splitInstances: true })).coco.annotations;
    assert.deepEqual(split.map((x) => [x.area, x.bbox]), [[64, [20, 10, 8, 8]], [36, [2, 2, 6, 6]]]);
  });

  it('splits a hand-drawn object of two polygons into two annotations, each with its own pixel count and box', async () => {
    // Worked out by hand: pixel centres inside [2,8)×[2,8) are 6×6 = 36, inside [20,28)×[10,18) 8×8 = 64; the
    // boxes are the rings' extents. The stored object's area (100) is the whole object's, right only unsplit.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ps-coco-split-poly-'));
    fs.mkdirSync(path.join(dir, '.pixel-sail/annotations'), { recursive: true });
    fs.writeFileSync(path.join(dir, '.pixel-sail/categories.json'), JSON.stringify({ version: 1, next_id: 2, categories: [{ id: 1, name: 'tile', color: '#ff0000' }] }));
    const rings = [[2, 2, 8, 2, 8, 8, 2, 8], [20, 10, 28, 10, 28, 18, 20, 18]];
    fs.writeFileSync(path.join(dir, '.pixel-sail/annotations/x.png.json'), JSON.stringify({ version: 1, image: { file_name: 'x.png', width: 30, height: 20 },
      annotations: [{ id: 1, category_id: 1, segmentation: rings, area: 100, bbox: [2, 2, 26, 16], iscrowd: 0, pixel_sail: { origin: 'human', status: 'accepted' } }] }));
    const whole = (await exportCoco(dir)).coco.annotations;
    assert.deepEqual(whole.map((x) => [x.area, x.bbox, x.segmentation]), [[100, [2, 2, 26, 16], rings]]);
    const split = (await exportCoco(dir, { splitInstances: true })).coco.annotations;
    assert.deepEqual(split.map((x) => [x.id, x.area, x.bbox, x.segmentation]), [[1, 36, [2, 2, 6, 6], [rings[0]]], [2, 64, [20, 10, 8, 8], [rings[1]]]]);
    split.forEach((x) => assert.equal(x.area, rasterize(x.segmentation as number[][], 20, 30).reduce((t, v) => t + v, 0), 'area = the pixels its polygon fills'));
  });

  it('refuses a malformed store file with its JSON path and writes nothing', () => {
    const bad = fs.mkdtempSync(path.join(os.tmpdir(), 'ps-coco-bad-'));
    fs.cpSync(path.join(root, '.pixel-sail'), path.join(bad, '.pixel-sail'), { recursive: true });
    fs.writeFileSync(path.join(bad, '.pixel-sail/annotations/empty.png.json'), JSON.stringify({ version: 1, image: { file_name: 'empty.png', width: 64, height: 32 }, annotations: [{ id: 1 }] }));
    const out = path.join(bad, 'coco.json');
    const r = spawnSync('node', [bin, 'export', bad, '--out', out], { encoding: 'utf8' });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /empty\.png\.json: \$\.annotations\[0\]\.category_id/);
    assert.ok(!fs.existsSync(out));
  });

  it('a process killed while writing leaves the previous export or the whole new one (50 times)', async () => {
    const out = path.join(root, 'coco.json');
    assert.equal(spawnSync('node', [bin, 'export', root, '--out', out, '--format', 'rle'], { encoding: 'utf8' }).status, 0);
    const previous = fs.readFileSync(out, 'utf8');
    assert.equal(spawnSync('node', [bin, 'export', root, '--out', out], { encoding: 'utf8' }).status, 0);
    const next = fs.readFileSync(out, 'utf8');
    assert.notEqual(previous, next);
    let seed = 7;
    for (let i = 0; i < 50; i++) {
      fs.writeFileSync(out, previous);
      const child = spawn('node', [bin, 'export', root, '--out', out], { stdio: 'ignore' });
      const exited = new Promise((r) => child.on('exit', r)); // listen first: a fast export may finish before the kill
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      await new Promise((r) => setTimeout(r, 50 + (seed % 400)));
      child.kill('SIGKILL');
      await exited;
      const now = fs.readFileSync(out, 'utf8');
      assert.ok(now === previous || now === next, `run ${i}: the file is neither the previous nor the new export`);
    }
  });

  it('YOLO on a wide image: x is divided by the width and y by the height, worked out by hand', async () => {
    // A 40×20 image with a hand-drawn quadrilateral (kept as drawn): x 4, 20 → 0.1, 0.5; y 2, 10 → 0.1, 0.5.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ps-yolo-wide-'));
    fs.mkdirSync(path.join(dir, '.pixel-sail/annotations'), { recursive: true });
    fs.writeFileSync(path.join(dir, '.pixel-sail/categories.json'), JSON.stringify({ version: 1, next_id: 3, categories: [{ id: 1, name: 'a', color: '#ff0000' }, { id: 2, name: 'b', color: '#00ff00' }] }));
    fs.writeFileSync(path.join(dir, '.pixel-sail/annotations/wide.png.json'), JSON.stringify({ version: 1, image: { file_name: 'wide.png', width: 40, height: 20 },
      annotations: [{ id: 1, category_id: 2, segmentation: [[4, 2, 20, 2, 20, 10, 4, 10]], area: 128, bbox: [4, 2, 16, 8], iscrowd: 0, pixel_sail: { origin: 'human', status: 'accepted' } }] }));
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'ps-yolo-wide-out-'));
    const report = await exportYolo(dir, out);
    assert.deepEqual([report.images, report.lines, report.classes], [1, 1, ['a', 'b']]);
    assert.equal(fs.readFileSync(path.join(out, 'labels/wide.txt'), 'utf8'), '1 0.100000 0.100000 0.500000 0.100000 0.500000 0.500000 0.100000 0.500000\n');
  });

  it('YOLO segmentation: data.yaml, one normalised polygon per line with 0-based classes, images linked', async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'ps-yolo-'));
    const r = spawnSync('node', [bin, 'export', root, '--out', out, '--format', 'yolo'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const { coco } = await exportCoco(root);
    const yaml = fs.readFileSync(path.join(out, 'data.yaml'), 'utf8');
    assert.match(yaml, /^train: images$/m);
    coco.categories.forEach((c, i) => assert.match(yaml, new RegExp(`^  ${i}: "${c.name}"$`, 'm')));
    let lines = 0;
    for (const img of coco.images) {
      const label = path.join(out, 'labels', img.file_name.replace(/\.png$/, '.txt'));
      const rows = fs.readFileSync(label, 'utf8').split('\n').filter(Boolean);
      const rings = coco.annotations.filter((a) => a.image_id === img.id).flatMap((a) => (a.segmentation as number[][]).map((ring) => ({ ring, cls: coco.categories.findIndex((c) => c.id === a.category_id) })));
      assert.equal(rows.length, rings.length, img.file_name);
      rows.forEach((row, k) => {
        const [cls, ...xy] = row.split(' ').map(Number);
        assert.equal(cls, rings[k].cls);
        assert.ok(xy.length >= 6 && xy.every((v) => v >= 0 && v <= 1), 'normalised');
        assert.ok(Math.abs(xy[0] * img.width - rings[k].ring[0]) < 1e-3 && Math.abs(xy[1] * img.height - rings[k].ring[1]) < 1e-3);
      });
      lines += rows.length;
      const link = path.join(out, 'images', img.file_name);
      if (img.file_name !== 'empty.png') assert.equal(fs.realpathSync(link), fs.realpathSync(path.join(root, img.file_name)), 'the image is linked, not copied');
    }
    assert.ok(lines > 0);
    const refused = spawnSync('node', [bin, 'export', root, '--out', root, '--format', 'yolo'], { encoding: 'utf8' });
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /into its own folder/);
  });
});
