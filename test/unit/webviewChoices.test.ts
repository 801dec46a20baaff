import * as assert from 'node:assert/strict';
import { categoryChoice, noCategoryForKey, readableAnswer } from '../../webview-ui/choices';
import { statusLineText } from '../../webview-ui/statusLine';

const categories = [
  { id: 3, name: 'Hexagon', color: '#e6194b' },
  { id: 5, name: 'box', color: '#3cb44b' },
];

describe('editor webview helpers', () => {
  it('reads the Category box as a listed name (any case), a 1–9 shortcut, or a new name', () => {
    assert.deepEqual(categoryChoice(' hexagon ', categories), { id: 3 });
    assert.deepEqual(categoryChoice('2', categories), { id: 5 });
    assert.deepEqual(categoryChoice('3', categories), { name: '3' }, 'a digit without a category is a name');
    assert.deepEqual(categoryChoice('circle', categories), { name: 'circle' });
    assert.equal(categoryChoice('   ', categories), undefined);
  });

  it('the status line: size, objects, engine, zoom and the pixel under the pointer; "loading the image…" before it decodes, never 0×0', () => {
    const facts = { name: 'a.png', width: 640, height: 480, objects: 1, engine: 'default on CPU, int8', zoomPercent: 100, pointer: { x: 12.7, y: 479.2 } };
    assert.equal(statusLineText(facts), 'a.png · 640×480 · 1 object · default on CPU, int8 · 100 % · pixel 12, 479');
    assert.equal(statusLineText({ ...facts, objects: 0, pointer: { x: 640, y: 3 } }), 'a.png · 640×480 · 0 objects · default on CPU, int8 · 100 %', 'the pointer beside the image');
    assert.equal(statusLineText({ ...facts, width: 0, height: 0, objects: 0, engine: 'loading the model…' }), 'a.png · loading the image… · 0 objects · loading the model… · 100 %');
  });

  it('a 1–9 key without its category says what is listed and what to do instead', () => {
    assert.equal(noCategoryForKey(1, 0), 'No category 1: there are no categories yet. Type a new name in Category and press Enter.');
    assert.equal(noCategoryForKey(2, 1), 'No category 2: only 1 is listed. Type a new name in Category and press Enter.');
    assert.equal(noCategoryForKey(9, 4), 'No category 9: 1–4 are listed. Type a new name in Category and press Enter.');
  });

  it('shows the model answer without [SEG] placeholders', () => {
    assert.equal(readableAnswer('Sure, [SEG].'), 'Sure.');
    assert.equal(readableAnswer('No target [SEG].'), 'No target.');
    assert.equal(readableAnswer('It is [SEG] and [SEG].'), 'It is and.');
  });
});
