// The image editor's part 2 as pure functions: the replace edit (brush, eraser, caption) and its exact
// inverse, hand-drawn polygons, visual-prompt geometry → engine regions, the zoom/pan mapping, tool helpers
// and the one function that strips the model's special tokens.
import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  acceptCandidate, AnnotationState, applyEdit, Candidate, describeEdit, EditConflictError, emptyState, invertEdit, objectMask,
  paintStroke, polygonObject, reshapePolygons, setCaption, strokeMask, strokeObject,
} from '../../src/annotations/document';
import { withRenamedCategory } from '../../src/annotations/categories';
import { clampBox, regionsOf, RegionPromptError } from '../../src/editor/regionPrompt';
import { fromWebviewSchema } from '../../src/editor/protocol';
import { readableAnswer, readableAnswerParts } from '../../src/editor/readableText';
import { answerPartsFromText } from '../../src/chat/conversation';
import { fillPolygons } from '../../src/masks/polygons';
import { decodeRle, encodeMask, maskBbox } from '../../src/masks/rle';
import { closesPolygon, nextSize, pressBesideImageDraws, thinPath, TOOL_KEYS } from '../../webview-ui/tools';
import { fitView, panBy, pixelAt, toImage, toScreen, zoomAt, zoomStep, zoomTo } from '../../webview-ui/viewport';

const H = 20;
const W = 30;
const image = { file_name: 'scene.png', width: W, height: H };

function candidate(x0: number, y0: number, w: number, h: number): Candidate {
  const mask = new Uint8Array(H * W);
  for (let y = y0; y < y0 + h; y++) for (let x = x0; x < x0 + w; x++) mask[y * W + x] = 1;
  return { rle: encodeMask(mask, H, W), area: w * h, bbox: maskBbox(mask, H, W), prompt: 'the box', model: 'default' };
}

function withBox(): AnnotationState {
  const s = emptyState(image);
  return applyEdit(s, acceptCandidate(s, candidate(2, 2, 6, 4), 1));
}

const count = (m: Uint8Array) => m.reduce((s, v) => s + v, 0);

describe('editor edits: brush, eraser, polygon, caption', () => {
  it('a brush stroke adds exactly the stroke\'s pixels to the object, as one edit whose inverse restores it', () => {
    const s0 = withBox();
    const stroke = { points: [{ x: 10, y: 10 }, { x: 20, y: 10 }], width: 3 };
    const edit = paintStroke(s0, 1, stroke, 'brush')!;
    assert.equal(edit.kind, 'replace');
    assert.equal(describeEdit(edit), 'Brush stroke');
    const s1 = applyEdit(s0, edit);
    const before = objectMask(s0.annotations[0], W, H);
    const after = objectMask(s1.annotations[0], W, H);
    const paint = strokeMask(stroke, W, H);
    for (let i = 0; i < W * H; i++) assert.equal(after[i], before[i] | paint[i], `pixel ${i}`);
    assert.equal(s1.annotations[0].area, count(after));
    assert.deepEqual(s1.annotations[0].bbox, maskBbox(after, H, W));
    assert.deepEqual(applyEdit(s1, invertEdit(edit)), s0, 'undo restores the state exactly');
    assert.deepEqual(applyEdit(applyEdit(s1, invertEdit(edit)), edit), s1, 'redo gives the same state again');
  });

  it('an eraser stroke cuts the stroke out; one that changes nothing is no edit; erasing everything is refused', () => {
    const s0 = withBox();
    const cut = paintStroke(s0, 1, { points: [{ x: 2, y: 2 }, { x: 8, y: 2 }], width: 2 }, 'eraser')!;
    assert.equal(describeEdit(cut), 'Eraser stroke');
    const after = decodeRle((applyEdit(s0, cut).annotations[0].segmentation as { size: [number, number]; counts: string }));
    assert.ok(count(after) < 24 && count(after) > 0);
    assert.equal(paintStroke(s0, 1, { points: [{ x: 25, y: 18 }], width: 1 }, 'eraser'), undefined);
    assert.throws(() => paintStroke(s0, 1, { points: [{ x: 0, y: 4 }, { x: 29, y: 4 }], width: 40 }, 'eraser'), EditConflictError);
  });

  it('a replace edit refuses to apply over an object that changed since', () => {
    const s0 = withBox();
    const edit = paintStroke(s0, 1, { points: [{ x: 15, y: 15 }], width: 4 }, 'brush')!;
    const s1 = applyEdit(s0, edit);
    assert.throws(() => applyEdit(s1, edit), EditConflictError);
    assert.throws(() => applyEdit(emptyState(image), edit), EditConflictError);
  });

  it('property: for any stroke, brush then undo (and eraser then undo) give back the exact state', () => {
    fc.assert(fc.property(
      fc.array(fc.record({ x: fc.double({ min: -5, max: 35, noNaN: true }), y: fc.double({ min: -5, max: 25, noNaN: true }) }), { minLength: 1, maxLength: 6 }),
      fc.double({ min: 0.5, max: 8, noNaN: true }),
      fc.constantFrom<'brush' | 'eraser'>('brush', 'eraser'),
      (points, width, mode) => {
        const s0 = withBox();
        let edit;
        try {
          edit = paintStroke(s0, 1, { points, width }, mode);
        } catch {
          return; // a stroke wholly outside the image, or one that erases everything: refused, nothing changed
        }
        if (!edit) return;
        assert.deepEqual(applyEdit(applyEdit(s0, edit), invertEdit(edit)), s0);
      },
    ), { numRuns: 60 });
  });

  it('a brush stroke with nothing selected makes a new human object of exactly the stroke', () => {
    const s0 = withBox();
    const stroke = { points: [{ x: 12, y: 3 }, { x: 12, y: 15 }], width: 4 };
    const s1 = applyEdit(s0, strokeObject(s0, stroke, 2));
    const a = s1.annotations[1];
    assert.equal(a.id, 2);
    assert.deepEqual(a.pixel_sail, { origin: 'human', status: 'accepted' });
    assert.deepEqual(decodeRle(a.segmentation as { size: [number, number]; counts: string }), strokeMask(stroke, W, H));
  });

  it('a hand-drawn polygon is stored exactly as drawn, with the area of its pixels and its box', () => {
    const s0 = emptyState(image);
    const poly = [3.5, 2.25, 20, 2.25, 11.75, 15];
    const s1 = applyEdit(s0, polygonObject(s0, poly, 4));
    const a = s1.annotations[0];
    assert.deepEqual(a.segmentation, [poly]);
    assert.equal(a.area, count(fillPolygons([poly], H, W)));
    assert.deepEqual(a.bbox, [3.5, 2.25, 16.5, 12.75]);
    assert.equal(a.category_id, 4);
    assert.throws(() => polygonObject(s0, [1, 1, 2, 2], 1), EditConflictError);
  });

  it('a brush stroke on a polygon object turns it into RLE of polygon ∪ stroke', () => {
    const s0 = emptyState(image);
    const poly = [2, 2, 10, 2, 10, 10, 2, 10];
    const s1 = applyEdit(s0, polygonObject(s0, poly, 1));
    const stroke = { points: [{ x: 15, y: 5 }], width: 4 };
    const s2 = applyEdit(s1, paintStroke(s1, 1, stroke, 'brush')!);
    const m = decodeRle(s2.annotations[0].segmentation as { size: [number, number]; counts: string });
    const paint = strokeMask(stroke, W, H);
    const expected = fillPolygons([poly], H, W).map((v, i) => v | paint[i]);
    assert.deepEqual(m, expected);
  });

  it('moving a vertex of a hand-drawn polygon is one edit: the new shape, its area and box; undo restores it', () => {
    const s0 = emptyState(image);
    const s1 = applyEdit(s0, polygonObject(s0, [2, 2, 10, 2, 10, 10, 2, 10], 1));
    const moved = [[2, 2, 18, 4.5, 10, 10, 2, 10]];
    const edit = reshapePolygons(s1, 1, moved)!;
    assert.equal(describeEdit(edit), 'Move vertex');
    const s2 = applyEdit(s1, edit);
    assert.deepEqual(s2.annotations[0].segmentation, moved);
    assert.equal(s2.annotations[0].area, count(fillPolygons(moved, H, W)));
    assert.deepEqual(s2.annotations[0].bbox, [2, 2, 16, 8]);
    assert.deepEqual(applyEdit(s2, invertEdit(edit)), s1);
    assert.equal(reshapePolygons(s1, 1, [[2, 2, 10, 2, 10, 10, 2, 10]]), undefined, 'unchanged: no edit');
    assert.throws(() => reshapePolygons(withBox(), 1, moved), /is a mask, not a polygon/);
  });

  it('a caption is stored in pixel_sail through an undoable edit; the same caption again is no edit', () => {
    const s0 = withBox();
    const edit = setCaption(s0, 1, 'A red box.')!;
    assert.equal(describeEdit(edit), 'Describe object');
    const s1 = applyEdit(s0, edit);
    assert.equal(s1.annotations[0].pixel_sail.caption, 'A red box.');
    assert.equal(setCaption(s1, 1, 'A red box.'), undefined);
    assert.deepEqual(applyEdit(s1, invertEdit(edit)), s0);
  });

  it('a visual prompt\'s regions are stored with the accepted object', () => {
    const s0 = emptyState(image);
    const regions = regionsOf({ points: [{ x: 3, y: 4, positive: true }], scribbles: [] }, image);
    const s1 = applyEdit(s0, acceptCandidate(s0, { ...candidate(1, 1, 2, 2), prompt: '1 point', regions }, 1));
    assert.deepEqual(s1.annotations[0].pixel_sail.regions, [{ kind: 'points', points: [{ x: 3, y: 4, positive: true }] }]);
  });
});

describe('visual prompt geometry', () => {
  it('points, a box and scribbles become one points region, the box, then each scribble', () => {
    const regions = regionsOf({
      points: [{ x: 1, y: 2, positive: true }, { x: 5, y: 5, positive: false }],
      box: { x: 2, y: 3, w: 10, h: 5 },
      scribbles: [{ points: [{ x: 1, y: 1 }, { x: 8, y: 9 }], width: 4 }],
    }, image);
    assert.deepEqual(regions, [
      { kind: 'points', points: [{ x: 1, y: 2, positive: true }, { x: 5, y: 5, positive: false }] },
      { kind: 'box', x: 2, y: 3, w: 10, h: 5 },
      { kind: 'scribble', points: [{ x: 1, y: 1 }, { x: 8, y: 9 }], width: 4 },
    ]);
  });

  it('says why a prompt cannot run: only negative points, a point outside, nothing placed, a box outside', () => {
    assert.throws(() => regionsOf({ points: [{ x: 1, y: 1, positive: false }], scribbles: [] }, image), /positive point first/);
    assert.throws(() => regionsOf({ points: [{ x: 30, y: 1, positive: true }], scribbles: [] }, image), /outside the 30×20 image/);
    assert.throws(() => regionsOf({ points: [], scribbles: [] }, image), RegionPromptError);
    assert.throws(() => regionsOf({ points: [], box: { x: 40, y: 0, w: 5, h: 5 }, scribbles: [] }, image), /outside the image/);
  });

  it('a box is clipped to the image', () => {
    assert.deepEqual(clampBox({ x: -5, y: 10, w: 10, h: 20 }, image), { x: 0, y: 10, w: 5, h: 10 });
    assert.equal(clampBox({ x: 30, y: 0, w: 3, h: 3 }, image), undefined);
  });

  it('the host refuses malformed prompt messages (non-numbers, extra keys, zero-size boxes)', () => {
    const ok = { type: 'regionPrompt', prompt: { points: [{ x: 1, y: 2, positive: true }], scribbles: [] } };
    assert.equal(fromWebviewSchema.safeParse(ok).success, true);
    assert.equal(fromWebviewSchema.safeParse({ ...ok, prompt: { points: [{ x: '1', y: 2, positive: true }], scribbles: [] } }).success, false);
    assert.equal(fromWebviewSchema.safeParse({ ...ok, prompt: { points: [], scribbles: [], box: { x: 0, y: 0, w: 0, h: 3 } } }).success, false);
    assert.equal(fromWebviewSchema.safeParse({ ...ok, prompt: { points: [], scribbles: [], extra: 1 } }).success, false);
    assert.equal(fromWebviewSchema.safeParse({ type: 'polygon', points: [1, 2, 3, 4], category: { id: 1 } }).success, false);
    assert.equal(fromWebviewSchema.safeParse({ type: 'stroke', mode: 'paint', stroke: { points: [{ x: 1, y: 1 }], width: 2 } }).success, false);
  });

  it('Add to chat and the canvas hover travel as checked messages (a region number or null, nothing else)', () => {
    const prompt = { points: [], scribbles: [], box: { x: 1, y: 2, w: 3, h: 4 } };
    assert.equal(fromWebviewSchema.safeParse({ type: 'addToChat', prompt }).success, true);
    assert.equal(fromWebviewSchema.safeParse({ type: 'addToChat', prompt: { ...prompt, box: { x: 1, y: 2, w: -3, h: 4 } } }).success, false);
    assert.equal(fromWebviewSchema.safeParse({ type: 'addToChat' }).success, false);
    assert.equal(fromWebviewSchema.safeParse({ type: 'chatHoverRegion', n: 2 }).success, true);
    assert.equal(fromWebviewSchema.safeParse({ type: 'chatHoverRegion', n: null }).success, true);
    for (const n of [0, 1.5, '2', undefined]) assert.equal(fromWebviewSchema.safeParse({ type: 'chatHoverRegion', n }).success, false, String(n));
  });

  it("bench:ui's echo is a checked message too (a text and whether to carry the candidate's mask, nothing else)", () => {
    assert.equal(fromWebviewSchema.safeParse({ type: 'benchEcho', text: 'the red cube', withMask: true }).success, true);
    assert.equal(fromWebviewSchema.safeParse({ type: 'benchEcho', text: 'the red cube', withMask: 'yes' }).success, false);
    assert.equal(fromWebviewSchema.safeParse({ type: 'benchEcho', text: 'x'.repeat(2001), withMask: false }).success, false);
    assert.equal(fromWebviewSchema.safeParse({ type: 'benchEcho', text: '', withMask: false, mask: { rle: { size: [1, 1], counts: '1' } } }).success, false);
  });

  it('a box marked for the chat becomes one box region, clamped to the image; a box beside the image is refused', () => {
    assert.deepEqual(regionsOf({ points: [], scribbles: [], box: { x: 20, y: 10, w: 20, h: 20 } }, { width: W, height: H }), [{ kind: 'box', x: 20, y: 10, w: 10, h: 10 }]);
    assert.throws(() => regionsOf({ points: [], scribbles: [], box: { x: W + 1, y: 0, w: 5, h: 5 } }, { width: W, height: H }), RegionPromptError);
  });
});

describe('zoom and pan mapping', () => {
  it('toImage inverts toScreen at any scale and offset', () => {
    fc.assert(fc.property(
      fc.double({ min: 1 / 64, max: 64, noNaN: true }), fc.double({ min: -5000, max: 5000, noNaN: true }), fc.double({ min: -5000, max: 5000, noNaN: true }),
      fc.double({ min: 0, max: 6000, noNaN: true }), fc.double({ min: 0, max: 4000, noNaN: true }),
      (scale, tx, ty, x, y) => {
        const s = toScreen({ scale, tx, ty }, x, y);
        const back = toImage({ scale, tx, ty }, s.x, s.y);
        assert.ok(Math.abs(back.x - x) < 1e-6 * Math.max(1, x) && Math.abs(back.y - y) < 1e-6 * Math.max(1, y));
      },
    ));
  });

  it('zooming keeps the image point under the pointer where it is', () => {
    fc.assert(fc.property(
      fc.double({ min: 0.05, max: 20, noNaN: true }), fc.double({ min: 0.2, max: 5, noNaN: true }), fc.double({ min: 0, max: 800, noNaN: true }), fc.double({ min: 0, max: 600, noNaN: true }),
      (scale, factor, sx, sy) => {
        const v = { scale, tx: 13, ty: -7 };
        const before = toImage(v, sx, sy);
        const after = toImage(zoomAt(v, factor, sx, sy), sx, sy);
        assert.ok(Math.abs(before.x - after.x) < 1e-6 * Math.max(1, Math.abs(before.x)) && Math.abs(before.y - after.y) < 1e-6 * Math.max(1, Math.abs(before.y)));
      },
    ));
  });

  it('fit centres the image, never above 100 %; a 6000×4000 image is shown downscaled', () => {
    assert.deepEqual(fitView(512, 512, 800, 600), { scale: 1, tx: 144, ty: 44 });
    const big = fitView(6000, 4000, 1016, 616);
    assert.equal(big.scale, 0.15);
    assert.deepEqual(toScreen(big, 3000, 2000), { x: 508, y: 308 });
  });

  it('eight + steps from 100 % are exactly 400 %, and a pixel at 400 % after a pan is found under the pointer', () => {
    let v = fitView(512, 512, 800, 600);
    for (let i = 0; i < 8; i++) v = zoomStep(v, 1, 400, 300);
    assert.equal(v.scale, 4);
    v = panBy(v, -120, 80);
    // The image pixel (300, 200) spans screen x from tx + 1200 to tx + 1204.
    const s = toScreen(v, 300.5, 200.5);
    assert.deepEqual(pixelAt(v, s.x, s.y, 512, 512), { x: 300, y: 200 });
    assert.deepEqual(pixelAt(v, s.x + 1.9, s.y - 1.9, 512, 512), { x: 300, y: 200 });
    assert.deepEqual(pixelAt(v, s.x + 2.1, s.y, 512, 512), { x: 301, y: 200 });
    assert.equal(pixelAt(v, v.tx - 1, v.ty, 512, 512), undefined, 'left of the image');
    assert.equal(zoomTo(v, 1, 0, 0).scale, 1);
    assert.equal(zoomStep(zoomStep(v, -1, 0, 0), 1, 0, 0).scale, 4, 'one step out and in again');
    assert.equal(zoomStep({ scale: 1.1, tx: 0, ty: 0 }, 1, 0, 0).scale, Math.pow(2, 1 / 4), 'off-step scales go to the next step');
  });
});

describe('editor tool helpers', () => {
  it('every tool has its own key', () => {
    assert.deepEqual(Object.values(TOOL_KEYS).sort(), ['box', 'brush', 'eraser', 'negative', 'polygon', 'positive', 'scribble', 'select']);
  });

  it('[ and ] change the size by steps, within bounds', () => {
    assert.equal(nextSize(12, 1), 15);
    assert.equal(nextSize(12, -1), 9);
    assert.equal(nextSize(1, -1), 1);
    assert.equal(nextSize(2, 1), 3);
    assert.equal(nextSize(500, 1), 500);
  });

  it('a click near the first vertex closes a polygon of three or more vertices', () => {
    const v = { scale: 2, tx: 10, ty: 10 };
    const tri = [{ x: 5, y: 5 }, { x: 50, y: 5 }, { x: 20, y: 40 }];
    assert.equal(closesPolygon(tri, { x: 24, y: 22 }, v), true);
    assert.equal(closesPolygon(tri, { x: 40, y: 40 }, v), false);
    assert.equal(closesPolygon(tri.slice(0, 2), { x: 20, y: 20 }, v), false);
  });

  it('a box may be dragged from beside the image (an object at the border); other marks start on the image', () => {
    assert.equal(pressBesideImageDraws('box', 0), true);
    assert.equal(pressBesideImageDraws('select', 0), true);
    assert.equal(pressBesideImageDraws('polygon', 2), true, 'a polygon already begun takes vertices at the edge');
    for (const tool of ['positive', 'negative', 'scribble', 'brush', 'eraser', 'polygon'] as const) assert.equal(pressBesideImageDraws(tool, 0), false, tool);
    // What the model gets of a box dragged from beside the image is its part inside.
    assert.deepEqual(clampBox({ x: -12.5, y: 3, w: 20, h: 5 }, image), { x: 0, y: 3, w: 7.5, h: 5 });
  });

  it('thinning a path keeps its ends and drops points closer than the gap', () => {
    const pts = [{ x: 0, y: 0 }, { x: 0.2, y: 0 }, { x: 1, y: 0 }, { x: 1.1, y: 0 }];
    assert.deepEqual(thinPath(pts, 0.5), [{ x: 0, y: 0 }, { x: 1, y: 0 }, { x: 1.1, y: 0 }]);
  });
});

describe('readableAnswer: what users read of the model\'s text', () => {
  it('strips the caption prefix, [SEG], region and end tokens, and tidies the punctuation', () => {
    assert.equal(readableAnswer('<Prompt0>: A red circle on the left.'), 'A red circle on the left.');
    assert.equal(readableAnswer('<Prompt0>:A red circle<|im_end|>'), 'A red circle');
    assert.equal(readableAnswer('Sure, [SEG].'), 'Sure.');
    assert.equal(readableAnswer('<Prompt1> is left of <Prompt0>.'), 'is left of.');
    assert.equal(readableAnswer('a car [SEG]<|endoftext|>'), 'a car');
    assert.equal(readableAnswer('   '), '');
  });

  it('property: no special token survives, whatever the text around it', () => {
    const token = fc.constantFrom('<Prompt0>', '<Prompt12>', '[SEG]', '<|endoftext|>', '<|im_end|>', ':', ' ', ',', '.');
    const word = fc.constantFrom('a', 'red', 'car', 'left', 'of', 'the');
    fc.assert(fc.property(fc.array(fc.oneof(token, word), { maxLength: 20 }), (parts) => {
      const out = readableAnswer(parts.join(''));
      assert.doesNotMatch(out, /<Prompt\d+>|\[SEG\]|<\|[a-z_]+\|>/);
    }));
  });

  it('property: an answer as the chat holds it (parts) reads exactly as the same answer in raw text (Use as caption = Describe)', () => {
    assert.equal(readableAnswerParts([{ kind: 'region', region: 1 }, { kind: 'text', text: ': a small purple star.' }]), 'a small purple star.');
    assert.equal(readableAnswerParts([{ kind: 'region', region: 1 }, { kind: 'text', text: ':' }]), '', 'a reference and a colon are no caption');
    // The tokens an answer's parts keep (regions, masks); an end token ends the answer, so it comes last.
    const token = fc.constantFrom('<Prompt0>', '<Prompt12>', '[SEG]', ':', ' ', ',', '.');
    const word = fc.constantFrom('a', 'red', 'car', 'left', 'of', 'the');
    const end = fc.constantFrom('', '<|endoftext|>', '<|im_end|>');
    fc.assert(fc.property(fc.array(fc.oneof(token, word), { maxLength: 20 }), end, (pieces, stop) => {
      const raw = pieces.join('') + stop;
      assert.equal(readableAnswerParts(answerPartsFromText(raw)), readableAnswer(raw));
    }), { numRuns: 5000 });
  });
});

describe('renaming a category', () => {
  const data = { version: 1 as const, next_id: 3, categories: [{ id: 1, name: 'car', color: '#e6194b' }, { id: 2, name: 'tree', color: '#3cb44b' }] };

  it('keeps its id and colour, and the other categories', () => {
    const renamed = withRenamedCategory(data, 1, '  vehicle ');
    assert.deepEqual(renamed.categories, [{ id: 1, name: 'vehicle', color: '#e6194b' }, { id: 2, name: 'tree', color: '#3cb44b' }]);
    assert.equal(renamed.next_id, 3);
    assert.equal(withRenamedCategory(data, 1, 'CAR').categories[0].name, 'CAR', 'a change of case is a rename');
  });

  it('refuses a name another category has, an empty name, and an unknown id', () => {
    assert.throws(() => withRenamedCategory(data, 1, 'Tree'), /already a category "tree"/);
    assert.throws(() => withRenamedCategory(data, 1, '  '), /needs a name/);
    assert.throws(() => withRenamedCategory(data, 9, 'x'), /does not exist/);
  });
});
