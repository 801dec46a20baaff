import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { addCategory, colorForId, parseCategoriesFile, readCategoriesFile } from '../../src/annotations/categories';
import {
  acceptCandidate, AnnotationEdit, AnnotationState, applyEdit, Candidate, changeCategory, EditConflictError, emptyState,
  describeEdit, invertEdit, jobResultEdit, NewObject, removeObject, stateFromFile, stateToFile,
} from '../../src/annotations/document';
import fc from 'fast-check';
import type { Annotation } from '../../src/annotations/schema';
import {
  datasetRoot, parseAnnotationFile, readAnnotationFile, StoreFormatError, storePaths, writeAnnotationFile,
} from '../../src/annotations/store';
import { decodeRle, encodeMask, maskBbox } from '../../src/masks/rle';

const H = 6;
const W = 8;

function candidate(x0: number, y0: number, w: number, h: number, prompt = 'the box'): Candidate {
  const mask = new Uint8Array(H * W);
  for (let y = y0; y < y0 + h; y++) for (let x = x0; x < x0 + w; x++) mask[y * W + x] = 1;
  return { rle: encodeMask(mask, H, W), area: w * h, bbox: maskBbox(mask, H, W), prompt, model: 'default' };
}

const image = { file_name: 'sub/scene.png', width: W, height: H };

function stateWithTwo(): AnnotationState {
  let s = emptyState(image);
  s = applyEdit(s, acceptCandidate(s, candidate(0, 0, 2, 2), 1));
  s = applyEdit(s, acceptCandidate(s, candidate(4, 3, 3, 2, 'the other box'), 2));
  return s;
}

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'pixel-sail-store-'));
}

describe('annotation document', () => {
  it('accepting a candidate adds an accepted model object with the prompt, mask, area and box', () => {
    const s0 = emptyState(image);
    const c = candidate(1, 1, 3, 2);
    const edit = acceptCandidate(s0, c, 3);
    const s1 = applyEdit(s0, edit);
    assert.equal(s1.annotations.length, 1);
    const a = s1.annotations[0];
    assert.equal(a.id, 1);
    assert.equal(a.category_id, 3);
    assert.deepEqual(a.segmentation, c.rle);
    assert.equal(a.area, 6);
    assert.deepEqual(a.bbox, [1, 1, 3, 2]);
    assert.equal(a.iscrowd, 0);
    assert.deepEqual(a.pixel_sail, { origin: 'model', status: 'accepted', prompt: 'the box', model: 'default' });
    assert.equal(s0.annotations.length, 0, 'states are not mutated');
  });

  it('gives each new object the next id above the largest one', () => {
    const s = stateWithTwo();
    assert.deepEqual(s.annotations.map((a) => a.id), [1, 2]);
    const removed = applyEdit(s, removeObject(s, 1));
    const again = applyEdit(removed, acceptCandidate(removed, candidate(0, 0, 1, 1), 1));
    assert.deepEqual(again.annotations.map((a) => a.id), [2, 3]);
  });

  const edits: [string, (s: AnnotationState) => AnnotationEdit][] = [
    ['add', (s) => acceptCandidate(s, candidate(2, 2, 2, 2), 5)],
    ['remove (first)', (s) => removeObject(s, 1)],
    ['remove (last)', (s) => removeObject(s, 2)],
    ['setCategory', (s) => changeCategory(s, 2, 7)!],
  ];
  for (const [name, make] of edits) {
    it(`applies and inverts a ${name} edit exactly (undo, redo, undo)`, () => {
      const before = stateWithTwo();
      const edit = make(before);
      const after = applyEdit(before, edit);
      assert.notDeepEqual(after, before);
      const undone = applyEdit(after, invertEdit(edit));
      assert.deepEqual(undone, before, 'undo restores the state, order included');
      assert.deepEqual(applyEdit(undone, edit), after, 'redo gives the same state again');
      assert.deepEqual(invertEdit(invertEdit(edit)), edit);
    });
  }

  const found = (prompt: string, job = 'job-2'): NewObject => {
    const c = candidate(1, 1, 2, 3, prompt);
    return { category_id: 1, segmentation: c.rle, area: c.area, bbox: c.bbox, iscrowd: 0, pixel_sail: { origin: 'model', status: 'proposed', prompt, job } };
  };

  it('puts a batch job\'s result in as one undoable edit: what it replaces goes, what it found gets the next ids', () => {
    let s = stateWithTwo();
    s = applyEdit(s, { kind: 'add', annotation: { id: 3, ...found('an old proposal', 'job-1') }, index: 2 });
    const replaced = (a: Annotation) => a.pixel_sail.status === 'proposed';
    const edit = jobResultEdit(s, replaced, [found('every circle'), found('the square')], 'Batch job job-2')!;
    assert.equal(describeEdit(edit), 'Batch job job-2');
    const after = applyEdit(s, edit);
    assert.deepEqual(after.annotations.map((a) => [a.id, a.pixel_sail.prompt]), [[1, 'the box'], [2, 'the other box'], [4, 'every circle'], [5, 'the square']]);
    assert.deepEqual(applyEdit(after, invertEdit(edit)), s, 'one undo restores every object, in order');
    assert.equal(jobResultEdit(s, () => false, [], 'x'), undefined, 'a result that changes nothing is no edit');
  });

  it('inverts any batch result exactly, whatever it removes (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.boolean(), { maxLength: 12 }), fc.array(fc.boolean(), { maxLength: 12 }), fc.nat(4), (proposed, drop, adds) => {
        let s = emptyState(image);
        proposed.forEach((p, i) => {
          s = applyEdit(s, { kind: 'add', annotation: { id: i + 1, ...found(`o${i}`), pixel_sail: { origin: 'model', status: p ? 'proposed' : 'accepted', prompt: `o${i}` } }, index: i });
        });
        const remove = (a: Annotation) => drop[a.id - 1] === true;
        const edit = jobResultEdit(s, remove, Array.from({ length: adds }, (_, k) => found(`n${k}`)), 'b');
        if (!edit) return;
        const after = applyEdit(s, edit);
        assert.deepEqual(after.annotations.filter((a) => a.pixel_sail.prompt?.startsWith('o')), s.annotations.filter((a) => !remove(a)));
        assert.deepEqual(applyEdit(after, invertEdit(edit)), s);
        assert.deepEqual(applyEdit(applyEdit(after, invertEdit(edit)), edit), after);
      }),
      { numRuns: Number(process.env.FC_RUNS ?? 500) },
    );
  });

  it('changing an object to its own category is no edit', () => {
    assert.equal(changeCategory(stateWithTwo(), 1, 1), undefined);
  });

  it('refuses edits that do not fit the state instead of corrupting it', () => {
    const s = stateWithTwo();
    const add = acceptCandidate(s, candidate(0, 0, 1, 1), 1);
    assert.throws(() => applyEdit(applyEdit(s, add), add), EditConflictError, 'the same object twice');
    assert.throws(() => applyEdit(s, invertEdit(add)), EditConflictError, 'removing an object that is not there');
    assert.throws(() => applyEdit(s, { kind: 'setCategory', id: 1, from: 9, to: 2 }), EditConflictError, 'a stale category');
    const changed = applyEdit(s, changeCategory(s, 1, 4)!);
    assert.throws(() => applyEdit(changed, removeObject(s, 1)), EditConflictError, 'removing a changed object');
  });

  it('round-trips through the file form, keeping keys it does not know', () => {
    const s = stateWithTwo();
    const file = { ...stateToFile(s), reviewer: 'ada' };
    const back = stateFromFile(file);
    assert.deepEqual(back.annotations, s.annotations);
    assert.deepEqual(stateToFile(back), file);
  });
});

describe('annotation store', () => {
  it('puts the store under the workspace folder that holds the image, else beside the image', () => {
    const ws = path.join(path.sep, 'data', 'ws');
    assert.equal(datasetRoot(path.join(ws, 'a', 'b.png'), [path.join(path.sep, 'data'), ws]), ws, 'the innermost folder');
    assert.equal(datasetRoot(path.join(path.sep, 'elsewhere', 'c.png'), [ws]), path.join(path.sep, 'elsewhere'));
    assert.equal(datasetRoot(path.join(path.sep, 'data', 'wsx', 'c.png'), [ws]), path.join(path.sep, 'data', 'wsx'), 'a prefix is not a parent');
    const p = storePaths(path.join(ws, 'sub', 'scene.png'), [ws]);
    assert.equal(p.fileName, 'sub/scene.png');
    assert.equal(p.annotationFile, path.join(ws, '.pixel-sail', 'annotations', 'sub', 'scene.png.json'));
    assert.equal(p.categoriesFile, path.join(ws, '.pixel-sail', 'categories.json'));
  });

  it('writes and reads back a document exactly, atomically and as readable JSON', async () => {
    const dir = tmpDir();
    const file = path.join(dir, '.pixel-sail', 'annotations', 'sub', 'scene.png.json');
    const data = stateToFile(stateWithTwo());
    await writeAnnotationFile(file, data);
    const text = fs.readFileSync(file, 'utf8');
    assert.match(text, /^\{\n {2}"version": 1,/);
    assert.deepEqual(await readAnnotationFile(file), data);
    assert.deepEqual(fs.readdirSync(path.dirname(file)), ['scene.png.json'], 'no temporary file is left behind');
    const mask = decodeRle((data.annotations[1] as Annotation & { segmentation: { size: [number, number]; counts: string } }).segmentation);
    assert.equal(mask.reduce((s, v) => s + v, 0), 6);
  });

  it('reads no file as no annotations yet', async () => {
    assert.equal(await readAnnotationFile(path.join(tmpDir(), 'missing.json')), undefined);
  });

  it('loads a version 0 file (plain COCO subset, no version or pixel_sail) as accepted human objects', () => {
    const rle = candidate(0, 0, 2, 2).rle;
    const old = { image, annotations: [{ id: 4, category_id: 2, segmentation: rle, area: 4, bbox: [0, 0, 2, 2] }] };
    const loaded = parseAnnotationFile(JSON.stringify(old), 'old.json');
    assert.equal(loaded.version, 1);
    assert.deepEqual(loaded.annotations[0], { ...old.annotations[0], iscrowd: 0, pixel_sail: { origin: 'human', status: 'accepted' } });
  });

  it('keeps polygon segmentations (hand-drawn objects)', () => {
    const data = { version: 1, image, annotations: [{ id: 1, category_id: 1, segmentation: [[0, 0, 4, 0, 4, 3]], area: 6, bbox: [0, 0, 4, 3], iscrowd: 0, pixel_sail: { origin: 'human', status: 'accepted' } }] };
    assert.deepEqual(parseAnnotationFile(JSON.stringify(data), 'f.json'), data);
  });

  const broken: [string, (f: Record<string, any>) => unknown, string, RegExp][] = [
    ['a wrong type deep inside', (f) => { f.annotations[1].bbox[2] = 'wide'; return f; }, '$.annotations[1].bbox[2]', /number/],
    ['a missing field', (f) => { delete f.image.width; return f; }, '$.image.width', /number/],
    ['an unknown origin', (f) => { f.annotations[0].pixel_sail.origin = 'robot'; return f; }, '$.annotations[0].pixel_sail.origin', /model|human/],
    ['a mask of the wrong size', (f) => { f.annotations[0].segmentation.size = [5, 8]; return f; }, '$.annotations[0].segmentation.size', /does not match/],
    ['runs that do not cover the image', (f) => { f.annotations[0].segmentation.counts = '0'; return f; }, '$.annotations[0].segmentation.counts', /cover/],
    ['a duplicate id', (f) => { f.annotations[1].id = 1; return f; }, '$.annotations[1].id', /twice/],
    ['a newer version', (f) => { f.version = 2; return f; }, '$.version', /newer/],
    ['a version that is not a number', (f) => { f.version = '1'; return f; }, '$.version', /whole number/],
    ['not an object', () => [1, 2], '$', /object/],
  ];
  for (const [what, damage, where, problem] of broken) {
    it(`reports ${what} with its JSON path (${where})`, () => {
      const good = JSON.parse(JSON.stringify(stateToFile(stateWithTwo())));
      assert.throws(() => parseAnnotationFile(JSON.stringify(damage(good)), 'x.json'), (e: unknown) => {
        assert.ok(e instanceof StoreFormatError);
        assert.equal(e.jsonPath, where);
        assert.match(e.problem, problem);
        assert.ok(e.message.startsWith(`x.json: ${where}: `), e.message);
        return true;
      });
    });
  }

  it('reports broken JSON with its line and column, and leaves the file untouched', async () => {
    const dir = tmpDir();
    const file = path.join(dir, 'scene.png.json');
    const text = '{\n  "version": 1,\n  "image": {,\n}';
    fs.writeFileSync(file, text);
    await assert.rejects(readAnnotationFile(file), (e: unknown) => e instanceof StoreFormatError && e.jsonPath === '$' && /line 3, column 13/.test(e.message));
    assert.equal(fs.readFileSync(file, 'utf8'), text);
  });

  it('refuses to write a document the loader would reject', async () => {
    const file = path.join(tmpDir(), 'bad.json');
    const data = stateToFile(stateWithTwo());
    (data.annotations[0].segmentation as { size: [number, number] }).size = [1, 1];
    await assert.rejects(writeAnnotationFile(file, data), StoreFormatError);
    assert.equal(fs.existsSync(file), false);
  });
});

describe('categories', () => {
  it('creates categories with ids from 1 and stable colours, and finds existing names case-insensitively', async () => {
    const file = path.join(tmpDir(), '.pixel-sail', 'categories.json');
    assert.deepEqual((await readCategoriesFile(file)).categories, []);
    const hex = await addCategory(file, ' hexagon ');
    assert.deepEqual(hex.category, { id: 1, name: 'hexagon', color: colorForId(1) });
    const box = await addCategory(file, 'box');
    assert.equal(box.category.id, 2);
    const again = await addCategory(file, 'HEXAGON');
    assert.equal(again.category.id, 1);
    const onDisk = await readCategoriesFile(file);
    assert.deepEqual(onDisk, { version: 1, next_id: 3, categories: [hex.category, box.category] });
  });

  it('never reuses an id, even after a category was removed from the file by hand', async () => {
    const file = path.join(tmpDir(), 'categories.json');
    await addCategory(file, 'a');
    await addCategory(file, 'b');
    const data = await readCategoriesFile(file);
    fs.writeFileSync(file, JSON.stringify({ ...data, categories: data.categories.slice(0, 1) }));
    assert.equal((await addCategory(file, 'c')).category.id, 3);
  });

  it('reports a malformed categories file with its JSON path and does not write over it', async () => {
    const file = path.join(tmpDir(), 'categories.json');
    const text = JSON.stringify({ version: 1, next_id: 2, categories: [{ id: 1, name: 'a', color: 'red' }] });
    fs.writeFileSync(file, text);
    await assert.rejects(addCategory(file, 'b'), (e: unknown) => e instanceof StoreFormatError && e.jsonPath === '$.categories[0].color');
    assert.equal(fs.readFileSync(file, 'utf8'), text);
    assert.throws(() => parseCategoriesFile(JSON.stringify({ version: 1, next_id: 1, categories: [{ id: 1, name: 'a', color: '#ffffff' }] }), 'c.json'), /not below next_id/);
  });
});
