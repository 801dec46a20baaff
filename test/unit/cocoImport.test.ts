// COCO import: what other tools write is accepted with a warning per quirk; a malformed file is refused
// with its JSON path and the store is left untouched; importing twice adds nothing; and an export imported
// into an empty store exports again to the same file.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { hostileJson } from '../support/fuzz';
import { exportCoco } from '../../src/annotations/cocoExport';
import { CocoImportError, importCocoData } from '../../src/annotations/cocoImport';
import { fillPolygons } from '../../src/masks/polygons';
import { decodeRle, encodeMask } from '../../src/masks/rle';

const repo = path.resolve(__dirname, '../../..');
const bin = path.join(repo, 'bin/pixel-sail.js');
const python = process.env.PYTHON || '/usr/bin/python3';
const fresh = () => fs.mkdtempSync(path.join(os.tmpdir(), 'ps-import-'));
const readStore = (root: string, image: string) => JSON.parse(fs.readFileSync(path.join(root, '.pixel-sail/annotations', `${image}.json`), 'utf8'));
const categoriesOf = (root: string) => JSON.parse(fs.readFileSync(path.join(root, '.pixel-sail/categories.json'), 'utf8'));
const withoutProvenance = <T extends { annotations: { pixel_sail: unknown }[] }>(coco: T) => ({ ...coco, annotations: coco.annotations.map(({ pixel_sail: _, ...a }) => a) });

describe('COCO import', function () {
  this.timeout(180000);

  it('round trip: an RLE export imported into an empty store exports to the same file', async () => {
    const src = fresh();
    const r = spawnSync(python, ['training/generate.py', '--split', 'test', '--seed', '41', '--count', '4', '--size', '96', '--out', path.join(src, 'scenes'), '--quiet'], { cwd: repo, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    // The generator's own ground truth is a COCO file from "another tool" (ids from 1, RLE, supercategories).
    const gtFile = path.join(src, 'scenes/ground_truth.json');
    const gt = JSON.parse(fs.readFileSync(gtFile, 'utf8'));
    // its file_names are relative to the images folder, which sits at scenes/images in this root
    const first = await importCocoData(gt, gtFile, src, 'scenes/images');
    assert.equal(first.added, gt.annotations.length);
    const x = (await exportCoco(src, { format: 'rle' })).coco;
    const withImages = () => { const d = fresh(); fs.cpSync(path.join(src, 'scenes'), path.join(d, 'scenes'), { recursive: true }); return d; };
    const dest = withImages();
    await importCocoData(JSON.parse(JSON.stringify(x)), 'x.json', dest);
    const y = (await exportCoco(dest, { format: 'rle' })).coco;
    assert.deepEqual(withoutProvenance(y), withoutProvenance({ ...x, info: y.info }));
    assert.deepEqual(y.categories.map((c) => c.id), x.categories.map((c) => c.id), 'category ids kept');

    // polygons: within the stated tolerance of the masks
    const poly = (await exportCoco(src)).coco;
    const dest2 = withImages();
    await importCocoData(JSON.parse(JSON.stringify(poly)), 'poly.json', dest2);
    const back = (await exportCoco(dest2)).coco;
    back.annotations.forEach((a, k) => {
      const img = back.images.find((i) => i.id === a.image_id)!;
      const mask = decodeRle(x.annotations[k].segmentation as { size: [number, number]; counts: string });
      const fill = fillPolygons(a.segmentation as number[][], img.height, img.width);
      let i = 0, u = 0;
      for (let p = 0; p < mask.length; p++) { i += mask[p] & fill[p]; u += mask[p] | fill[p]; }
      assert.ok(i / u >= 0.98, `annotation ${a.id}: IoU ${(i / u).toFixed(3)}`);
    });
  });

  it('accepts each quirk of other tools with a warning that says what changed', async () => {
    const h = 10, w = 12;
    const m = new Uint8Array(h * w);
    for (let y = 2; y < 6; y++) for (let x = 3; x < 9; x++) m[y * w + x] = 1;
    // column-major runs, as COCO's uncompressed RLE lists them
    const listCounts: number[] = [];
    let run = 0, value = 0;
    for (let x = 0; x < w; x++) for (let y = 0; y < h; y++) {
      if (m[y * w + x] !== value) { listCounts.push(run); run = 0; value ^= 1; }
      run++;
    }
    listCounts.push(run);
    const quirky = {
      // no "info"; ids from 0; labelme's _background_; non-contiguous ids; a folder in file_name
      images: [{ id: 0, file_name: 'sub/dir/a.png', width: w, height: h }, { id: 5, file_name: 'b.png', width: w, height: h }],
      categories: [{ id: 0, name: '_background_' }, { id: 3, name: 'cat' }, { id: 9, name: 'dog', supercategory: 'animal' }],
      annotations: [
        { id: 0, image_id: 0, category_id: 0, segmentation: [[0, 0, 12, 0, 12, 10, 0, 10]], iscrowd: 0 },
        { id: 1, image_id: 0, category_id: 3, segmentation: { size: [h, w], counts: listCounts }, iscrowd: 1 }, // CVAT
        { id: 2, image_id: 5, category_id: 9, bbox: [1, 1, 4, 3], iscrowd: 0 }, // boxes only
        { id: 4, image_id: 5, category_id: 9, bbox: [-2, 6, 5, 10], iscrowd: 0 }, // a box reaching outside
        { id: 3, image_id: 5, category_id: 9, segmentation: [[-2, 1, 5, 1, 5, 4]], iscrowd: 0 }, // reaches outside
      ],
    };
    const root = fresh();
    for (const f of ['sub/dir/a.png', 'b.png']) { fs.mkdirSync(path.dirname(path.join(root, f)), { recursive: true }); fs.writeFileSync(path.join(root, f), ''); }
    (quirky.images as { id: number; file_name: string; width: number; height: number }[]).push({ id: 7, file_name: 'not-here.png', width: w, height: h });
    const report = await importCocoData(quirky, 'quirky.json', root);
    const said = report.warnings.join('\n');
    assert.match(said, /no "info" block/);
    assert.match(said, /ids start at 0/);
    assert.match(said, /"_background_" \(id 0\) is not an object class: left out, with its 1 annotations/);
    assert.match(said, /1 annotation\(s\) marked iscrowd 1 .*imported as ordinary objects/);
    assert.match(said, /2 annotation\(s\) with a bbox only: imported as rectangle polygons/);
    assert.match(said, /1 image\(s\) of the file are not in .* \(not-here\.png\): left out/);
    assert.ok(!fs.existsSync(path.join(root, '.pixel-sail/annotations/not-here.png.json')));
    assert.match(said, /1 uncompressed RLE mask\(s\)/);
    assert.match(said, /2 polygon or box annotation\(s\) reach outside their image: clipped/);
    assert.deepEqual(categoriesOf(root).categories.map((c: { id: number; name: string }) => [c.id, c.name]), [[3, 'cat'], [9, 'dog']], 'file ids kept, no background');
    const a = readStore(root, 'sub/dir/a.png');
    assert.equal(a.image.file_name, 'sub/dir/a.png');
    assert.equal(a.annotations.length, 1);
    assert.deepEqual(a.annotations[0].segmentation, encodeMask(m, h, w), 'list counts stored as the same mask, compressed');
    assert.deepEqual(a.annotations[0].pixel_sail, { origin: 'human', status: 'accepted' });
    assert.equal(a.annotations[0].iscrowd, 0);
    const b = readStore(root, 'b.png');
    assert.deepEqual(b.annotations[0].segmentation, [[1, 1, 5, 1, 5, 4, 1, 4]]);
    assert.equal(b.annotations[0].area, 12, 'a 4×3 box covers 12 pixels');
    assert.deepEqual(b.annotations[1].segmentation, [[0, 6, 3, 6, 3, 10, 0, 10]], 'the box is clipped to the image');
    assert.deepEqual(b.annotations[2].segmentation, [[0, 1, 5, 1, 5, 4]]);

    const again = await importCocoData(quirky, 'quirky.json', root);
    assert.equal(again.added, 0, 'importing twice adds nothing');
    assert.equal(again.duplicates, 4);
    assert.equal(readStore(root, 'b.png').annotations.length, 3);
  });

  it('keeps the provenance of Pixel-SAIL\'s own exports: a proposal stays a model proposal', async () => {
    const root = fresh();
    fs.writeFileSync(path.join(root, 'a.png'), '');
    const own = { images: [{ id: 1, file_name: 'a.png', width: 4, height: 4 }], categories: [{ id: 1, name: 'x' }],
      annotations: [{ id: 1, image_id: 1, category_id: 1, segmentation: [[0, 0, 2, 0, 2, 2]], iscrowd: 0, pixel_sail: { origin: 'model', status: 'proposed', prompt: 'every x', job: 'job-1' } }] };
    await importCocoData(own, 'own.json', root);
    assert.deepEqual(readStore(root, 'a.png').annotations[0].pixel_sail, { origin: 'model', status: 'proposed', prompt: 'every x', job: 'job-1' });
  });

  it('keeps the objects already in the store, and refuses an image whose size differs from the store\'s', async () => {
    const root = fresh();
    fs.writeFileSync(path.join(root, 'a.png'), '');
    const one = { images: [{ id: 1, file_name: 'a.png', width: 4, height: 4 }], categories: [{ id: 1, name: 'x' }], annotations: [{ id: 1, image_id: 1, category_id: 1, segmentation: [[0, 0, 2, 0, 2, 2]] }] };
    await importCocoData(one, 'one.json', root);
    const two = { ...one, annotations: [{ id: 1, image_id: 1, category_id: 1, segmentation: [[1, 1, 3, 1, 3, 3]] }] };
    assert.equal((await importCocoData(two, 'two.json', root)).added, 1);
    assert.equal(readStore(root, 'a.png').annotations.length, 2);
    const before = fs.readFileSync(path.join(root, '.pixel-sail/annotations/a.png.json'), 'utf8');
    await assert.rejects(importCocoData({ ...two, images: [{ id: 1, file_name: 'a.png', width: 5, height: 4 }] }, 'big.json', root), /is 5×4 in the file but 4×4 in the store/);
    assert.equal(fs.readFileSync(path.join(root, '.pixel-sail/annotations/a.png.json'), 'utf8'), before);
  });

  it('refuses malformed files with the JSON path at fault and leaves the store untouched', () => {
    const root = fresh();
    const cases: [unknown, RegExp][] = [
      [{ images: [], categories: [], annotations: [{ image_id: 1, category_id: 1, segmentation: [['a', 1]] }] }, /annotations\[0\]\.segmentation/],
      [{ images: [{ id: 1, file_name: 'a.png', width: 4, height: 4 }], categories: [{ id: 1, name: 'x' }], annotations: [{ image_id: 1, category_id: 1, segmentation: [[1, 2, 3]] }] }, /\$\.annotations\[0\]\.segmentation\[0\]: a polygon needs at least 3 x,y pairs/],
      [{ images: [{ id: 1, file_name: 'a.png', width: 4, height: 4 }], categories: [], annotations: [{ image_id: 1, category_id: 7, segmentation: [[1, 2, 3, 4, 5, 6]] }] }, /annotations\[0\]\.category_id: category 7 is not in "categories"/],
      [{ images: [{ id: 1, file_name: '../x.png', width: 4, height: 4 }], categories: [], annotations: [] }, /images\[0\]\.file_name: "\.\.\/x\.png" is not a path inside the dataset root/],
      [{ images: [{ id: 1, file_name: 'a.png', width: 4, height: 4 }], categories: [{ id: 1, name: 'x' }], annotations: [{ image_id: 1, category_id: 1, segmentation: { size: [4, 4], counts: [3, 2] } }] }, /counts: the runs cover 5 pixels, the image has 16/],
      [{ images: 'none' }, /\$\.images: /],
    ];
    for (const [raw, message] of cases) {
      const file = path.join(root, 'in.json');
      fs.writeFileSync(file, JSON.stringify(raw));
      const r = spawnSync('node', [bin, 'import', file, '--root', root], { encoding: 'utf8' });
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, message);
      assert.ok(!fs.existsSync(path.join(root, '.pixel-sail')), 'nothing written');
    }
  });

  it('any JSON value imports or throws CocoImportError (fast-check, 10,000 cases)', async () => {
    const root = fresh();
    const valid = { images: [{ id: 1, file_name: 'a.png', width: 4, height: 4 }], categories: [{ id: 1, name: 'x' }], annotations: [{ id: 1, image_id: 1, category_id: 1, segmentation: [[0, 0, 2, 0, 2, 2]] }] };
    const paths = ['images', 'images.0', 'images.0.id', 'images.0.file_name', 'images.0.width', 'categories.0', 'categories.0.id', 'categories.0.name',
      'annotations.0', 'annotations.0.image_id', 'annotations.0.category_id', 'annotations.0.segmentation', 'annotations.0.segmentation.0', 'annotations.0.bbox', 'annotations.0.iscrowd'];
    await fc.assert(fc.asyncProperty(hostileJson(valid, paths), async (raw) => {
      try {
        await importCocoData(raw, 'fuzz.json', root);
      } catch (e) {
        if (!(e instanceof CocoImportError)) throw new Error(`threw ${(e as Error).constructor.name}: ${(e as Error).message}`);
      }
    }), { numRuns: Number(process.env.FC_RUNS || 10_000) });
  });
});
