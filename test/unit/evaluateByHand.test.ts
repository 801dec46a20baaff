// evaluate() on a dataset built by hand, against scores worked out by hand (in the comments), not against
// the metrics code itself. The engine is a stand-in that answers each task with a mask chosen here, so
// every intersection and union is known; a swapped metric argument, a union turned into an overwrite or
// a lost no-target case changes a number below.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import type { Engine } from '../../src/engine/engine';
import type { EngineAnswer, EngineTask } from '../../src/engine/types';
import { EvalError, evaluate, realPhotoCheck } from '../../src/eval/evaluate';
import { encodeMask } from '../../src/masks/rle';

/** A w×h mask from rows of '#' (set) and '.' (unset). */
function mask(...rows: string[]): { data: Uint8Array; w: number; h: number } {
  const h = rows.length, w = rows[0].length;
  const data = new Uint8Array(w * h);
  rows.forEach((r, y) => [...r].forEach((c, x) => { data[y * w + x] = c === '#' ? 1 : 0; }));
  return { data, w, h };
}
const rle = (m: ReturnType<typeof mask>) => encodeMask(m.data, m.h, m.w);
const close = (actual: number, expected: number, what: string) => assert.ok(Math.abs(actual - expected) < 1e-12, `${what}: ${actual}, worked out ${expected}`);

describe('evaluate() on a hand-built dataset, scores worked out by hand', function () {
  this.timeout(60000);
  // Image A is 4×4, image B 5×2 (width × height).
  const a1 = mask('##..', '##..', '##..', '##..'); // annotation 10: the left half, 8 px
  const a2 = mask('..##', '..##', '....', '....'); // annotation 11: top right, 4 px
  const b1 = mask('#####', '.....'); // annotation 20: the top row, 5 px
  const prompts = {
    segment: 'Please segment {expression} in this image.', segmentAnswerPrefix: 'It is [SEG].', noTargetMarker: 'No target',
    caption: 'Describe {region}.', mcq: 'Please answer the question according to the {region}. {question}Select a correct choice.',
    mcqOptions: '{question} Options: {options}. ',
  };
  const answer = (text: string, m?: ReturnType<typeof mask>): EngineAnswer => ({
    answer: text, masks: m ? [{ rle: rle(m), area: m.data.reduce((s, v) => s + v, 0), bbox: [0, 0, 0, 0] }] : [], device: 'cpu', timingsMs: {},
  });
  const calls: EngineTask[] = [];
  // The stand-in engine: each task's answer, chosen by hand.
  const engine = {
    model: { config: { name: 'by-hand', prompts } },
    device: { provider: 'cpu', weights: 'float32' },
    async run(task: EngineTask): Promise<EngineAnswer> {
      calls.push(task);
      if (task.kind === 'segment') {
        switch (task.text) {
          case 'the left one': return answer('It is [SEG].', mask('###.', '###.', '###.', '###.')); // 12 px ⊇ a1: I 8, U 12
          case 'both': return answer('It is [SEG].', a1); // target a1 ∪ a2 (12 px): I 8, U 12
          case 'the purple one': return answer('No target.'); // no target, no mask: U 0 → IoU 1, no-target right
          case 'the top row': return answer('It is [SEG].', mask('.....', '#####')); // the wrong row: I 0, U 10
        }
      }
      if (task.kind === 'ask') {
        if ((task.text ?? '').includes('What colour is it?')) return answer('B. blue'); // reference ✓, exact ✓
        if ((task.text ?? '').includes('What colour is this?')) return answer('It is red or blue'); // reference ✓ ("red" occurs), exact ✗
        if ((task.text ?? '').includes('What shape is it?')) return answer('A. red'); // ✗, ✗
        if ((task.text ?? '').includes('What is left of <region1>?')) return answer('It is [SEG].', mask('##..', '##..', '....', '....')); // target a1: I 4, U 8
        if ((task.text ?? '').includes('What is <region1>?')) return answer('Nothing.'); // no mask, target b1: I 0, U 5
      }
      throw new Error(`unexpected task ${JSON.stringify(task)}`);
    },
  } as unknown as Engine;

  let dir: string;
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ps-eval-hand-'));
    fs.mkdirSync(path.join(dir, 'images'));
    await sharp({ create: { width: 4, height: 4, channels: 3, background: '#000' } }).png().toFile(path.join(dir, 'images/a.png'));
    await sharp({ create: { width: 5, height: 2, channels: 3, background: '#000' } }).png().toFile(path.join(dir, 'images/b.png'));
    const box = (x: number, y: number, w: number, h: number) => ({ kind: 'box', bbox: [x, y, w, h] });
    fs.writeFileSync(path.join(dir, 'ground_truth.json'), JSON.stringify({
      images: [{ id: 1, file_name: 'a.png', width: 4, height: 4 }, { id: 2, file_name: 'b.png', width: 5, height: 2 }],
      annotations: [{ id: 10, image_id: 1, segmentation: rle(a1) }, { id: 11, image_id: 1, segmentation: rle(a2) }, { id: 20, image_id: 2, segmentation: rle(b1) }],
      tasks: [
        { id: 1, type: 'res', image_id: 1, expression: 'the left one', target_ids: [10], kind: 'attribute' },
        { id: 2, type: 'res', image_id: 1, expression: 'both', target_ids: [10, 11], kind: 'multi' },
        { id: 3, type: 'res', image_id: 2, expression: 'the purple one', target_ids: [], kind: 'none' },
        { id: 4, type: 'res', image_id: 2, expression: 'the top row', target_ids: [20], kind: 'attribute' },
        { id: 5, type: 'mcq', image_id: 1, region_id: 10, question: 'What colour is it?', choices: ['red', 'blue', 'green'], answer: 'blue', visual_prompt: box(0, 0, 2, 4), kind: 'colour' },
        { id: 6, type: 'mcq', image_id: 1, region_id: 11, question: 'What colour is this?', choices: ['red', 'blue'], answer: 'red', visual_prompt: { kind: 'mask' }, kind: 'colour' },
        { id: 7, type: 'mcq', image_id: 2, region_id: 20, question: 'What shape is it?', choices: ['red', 'green'], answer: 'green', visual_prompt: box(0, 0, 5, 1), kind: 'shape' },
        { id: 8, type: 'vtres', image_id: 1, prompt_region_ids: [11], question: 'What is left of <region1>?', target_ids: [10], visual_prompts: [box(2, 0, 2, 2)] },
        { id: 9, type: 'vtres', image_id: 2, prompt_region_ids: [20], question: 'What is <region1>?', target_ids: [20], visual_prompts: [{ kind: 'mask' }] },
      ],
    }));
  });

  it('gives a V-T RES task each region as its own visual prompt says (a box, then a mask)', async () => {
    const two = fs.mkdtempSync(path.join(os.tmpdir(), 'ps-eval-vtres2-'));
    fs.mkdirSync(path.join(two, 'images'));
    await sharp({ create: { width: 4, height: 4, channels: 3, background: '#000' } }).png().toFile(path.join(two, 'images/a.png'));
    fs.writeFileSync(path.join(two, 'ground_truth.json'), JSON.stringify({
      images: [{ id: 1, file_name: 'a.png', width: 4, height: 4 }],
      annotations: [{ id: 10, image_id: 1, segmentation: rle(a1) }, { id: 11, image_id: 1, segmentation: rle(a2) }],
      tasks: [{ id: 1, type: 'vtres', image_id: 1, prompt_region_ids: [10, 11], question: 'Which of <region1> and <region2> is larger?', target_ids: [10],
        visual_prompts: [{ kind: 'box', bbox: [0, 0, 2, 4] }, { kind: 'mask' }] }],
    }));
    const asked: EngineTask[] = [];
    const stub = { ...engine, run: async (t: EngineTask) => { asked.push(t); return answer('It is [SEG].', a1); } } as unknown as Engine;
    const r = await evaluate(stub, two);
    assert.equal(asked.length, 1);
    assert.deepEqual((asked[0] as Extract<EngineTask, { kind: 'ask' }>).regions, [{ kind: 'box', x: 0, y: 0, w: 2, h: 4 }, { kind: 'rle', rle: rle(a2) }]);
    close(r.vtres.cIoU, 1, 'V-T RES cIoU: the answer is the target');
  });

  it('scores RES, no-target, MCQ, V-T RES and the overall as worked out', async () => {
    const r = await evaluate(engine, dir);
    // RES: I = 8 + 8 + 0 + 0 = 16, U = 12 + 12 + 0 + 10 = 34 → cIoU 8/17; IoUs 2/3, 2/3, 1, 0 → gIoU 7/12.
    close(r.res.cIoU, 16 / 34, 'RES cIoU');
    close(r.res.gIoU, 7 / 12, 'RES gIoU');
    close(r.res.noTargetAccuracy, 1, 'no-target accuracy');
    // By kind: attribute (tasks 1, 4) I 8 / U 22, IoUs 2/3 and 0; multi 2/3; none: nothing to miss → 1.
    close(r.res.byKind.attribute.cIoU, 8 / 22, 'attribute cIoU');
    close(r.res.byKind.attribute.gIoU, 1 / 3, 'attribute gIoU');
    close(r.res.byKind.multi.cIoU, 2 / 3, 'multi cIoU');
    close(r.res.byKind.none.gIoU, 1, 'none gIoU');
    assert.deepEqual(Object.fromEntries(Object.entries(r.res.byKind).map(([k, v]) => [k, v.n])), { attribute: 2, multi: 1, none: 1 });
    // MCQ: the reference's rule (answer string in the prediction) 2 of 3; the exact choice 1 of 3.
    close(r.mcq.accuracy, 2 / 3, 'MCQ accuracy');
    close(r.mcq.accuracyExact, 1 / 3, 'MCQ exact accuracy');
    assert.deepEqual(r.mcq.byKind, { colour: { accuracy: 1, n: 2 }, shape: { accuracy: 0, n: 1 } });
    // V-T RES: I 4 + 0, U 8 + 5 → cIoU 4/13; IoUs 1/2 and 0 → gIoU 1/4.
    close(r.vtres.cIoU, 4 / 13, 'V-T RES cIoU');
    close(r.vtres.gIoU, 1 / 4, 'V-T RES gIoU');
    // No captions: METEOR 0. Overall = (0 + 100·2/3 + 100·(4/13 + 1/4)/2) / 3 = 7375/234.
    close(r.caption.meteor, 0, 'METEOR');
    close(r.overall, 7375 / 234, 'PerBench overall');
    assert.deepEqual(r.n, { images: 2, res: 4, noTarget: 1, caption: 0, mcq: 3, vtres: 2 });
  });

  it('keeps each image\'s own tallies (for paired comparisons)', async () => {
    const r = await evaluate(engine, dir);
    const [a, b] = r.perImage;
    assert.deepEqual([a.res.intersection, a.res.union, b.res.intersection, b.res.union], [16, 24, 0, 10]);
    assert.deepEqual([a.vtres.intersection, a.vtres.union, b.vtres.intersection, b.vtres.union], [4, 8, 0, 5]);
    assert.deepEqual([a.mcq, b.mcq, a.noTarget, b.noTarget], [{ right: 2, n: 2 }, { right: 0, n: 1 }, { right: 0, n: 0 }, { right: 1, n: 1 }]);
  });

  it('asks the engine with the dataset\'s prompts: boxes as boxes, masks as the annotation, the MCQ options lettered', async () => {
    calls.length = 0;
    await evaluate(engine, dir);
    const mcq = calls.filter((c): c is Extract<EngineTask, { kind: 'ask' }> => c.kind === 'ask');
    assert.equal(mcq[0].text, 'Please answer the question according to the <region1>. What colour is it? Options: A. red B. blue C. green. Select a correct choice.');
    assert.deepEqual(mcq[0].regions, [{ kind: 'box', x: 0, y: 0, w: 2, h: 4 }]);
    assert.deepEqual(mcq[1].regions, [{ kind: 'rle', rle: rle(a2) }]);
    const vt = mcq.find((c) => c.text === 'What is left of <region1>?')!;
    assert.deepEqual(vt.regions, [{ kind: 'box', x: 2, y: 0, w: 2, h: 2 }]);
    assert.deepEqual(calls.filter((c) => c.kind === 'segment').map((c) => (c as { text: string }).text), ['the left one', 'both', 'the purple one', 'the top row']);
  });

  it('scores a caption with METEOR, the ground truth as the reference (worked out: 30/37 · (1 − 1/54))', async function () {
    // It starts Python (nltk, WordNet: ~10 s), once per mutant covering evaluate(); mutation runs leave it out.
    if (process.env.PIXEL_SAIL_MUTATION) this.skip();
    const capDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ps-eval-caption-'));
    fs.mkdirSync(path.join(capDir, 'images'));
    fs.copyFileSync(path.join(dir, 'images/a.png'), path.join(capDir, 'images/a.png'));
    fs.writeFileSync(path.join(capDir, 'ground_truth.json'), JSON.stringify({
      images: [{ id: 1, file_name: 'a.png', width: 4, height: 4 }],
      annotations: [{ id: 10, image_id: 1, segmentation: rle(a1) }],
      tasks: [{ id: 1, type: 'caption', image_id: 1, region_id: 10, caption: 'a red square', visual_prompt: { kind: 'mask' } }],
    }));
    const captioner = { ...engine, run: async () => answer('<Prompt0>: a red square on the left side of the image<|endoftext|>') } as unknown as Engine;
    const r = await evaluate(captioner, capDir);
    // 3 of the prediction's 10 words match the 3-word truth, in one chunk: P 3/10, R 1, Fmean 0.3/(0.9·0.3 + 0.1·1),
    // penalty 0.5·(1/3)³. With the arguments swapped it would be 10/31 · (1 − 1/54) = 0.3166.
    assert.ok(Math.abs(r.caption.meteor - (30 / 37) * (1 - 1 / 54)) < 1e-9, String(r.caption.meteor));
    // No MCQ and no V-T RES tasks: both score 0 (an empty V-T RES set once scored cIoU 1, adding 50/3 points).
    close(r.vtres.cIoU, 0, 'V-T RES cIoU of no tasks');
    close(r.overall, (r.caption.meteor * 100) / 3, 'overall from METEOR alone');
  });

  it('evaluates only the first images under `limit`, and reports progress task by task', async () => {
    const progress: [number, number][] = [];
    const r = await evaluate(engine, dir, { limit: 1, onProgress: (done, total) => progress.push([done, total]) });
    // Image A alone: tasks 1, 2 (RES), 5, 6 (MCQ), 8 (V-T RES). RES I 16 / U 24; MCQ 2 of 2; V-T RES I 4 / U 8.
    assert.deepEqual(r.n, { images: 1, res: 2, noTarget: 0, caption: 0, mcq: 2, vtres: 1 });
    close(r.res.cIoU, 2 / 3, 'RES cIoU of image A');
    close(r.mcq.accuracy, 1, 'MCQ accuracy of image A');
    close(r.vtres.cIoU, 1 / 2, 'V-T RES cIoU of image A');
    assert.deepEqual(r.perImage.map((t) => t.image), [1]);
    assert.deepEqual(progress, [[1, 5], [2, 5], [3, 5], [4, 5], [5, 5]]);
  });

  it('says which model, data, device and weights it scored, and how METEOR matched (none without captions)', async () => {
    const t0 = Date.now();
    const r = await evaluate(engine, dir);
    const wall = (Date.now() - t0) / 1000;
    assert.deepEqual([r.model, r.dataset, r.device, r.weights], ['by-hand', path.resolve(dir), 'cpu', 'float32']);
    // The reported duration, in tenths of a second, is the call's own: not more than the time measured around it.
    assert.ok(r.seconds >= 0 && r.seconds <= wall + 0.05 && Math.abs(r.seconds * 10 - Math.round(r.seconds * 10)) < 1e-9, `${r.seconds} s reported, ${wall} s measured`);
    assert.deepEqual(r.caption, { meteor: 0, matching: 'none', order: '' });
    assert.match(r.mcq.scoring, /^accuracy: .*reference.*; accuracyExact: /);
    assert.equal(r.realPhotos, undefined);
    // The intervals bracket each figure they describe.
    const [lo, hi] = r.ci95.intervals.resCIoU;
    assert.ok(lo <= r.res.cIoU && r.res.cIoU <= hi, `${lo} ≤ ${r.res.cIoU} ≤ ${hi}`);
  });

  it('refuses bad ground truth with an EvalError carrying the reader\'s message', async () => {
    const bad = fs.mkdtempSync(path.join(os.tmpdir(), 'ps-eval-bad-'));
    fs.writeFileSync(path.join(bad, 'ground_truth.json'), JSON.stringify({ images: [], annotations: [], tasks: [] }));
    await assert.rejects(evaluate(engine, bad), (e: Error) => e instanceof EvalError && e.message === `${path.join(bad, 'ground_truth.json')}: tasks: the dataset has no tasks, so there is nothing to score`);
  });

  describe('a second hand-built dataset: tasks without kinds, no-target answers with masks, captions', () => {
    let dir2: string;
    const seen: EngineTask[] = [];
    // No mcqOptions in these prompts: the default '{question} Options: {options}. ' applies.
    const { mcqOptions: _, ...plainPrompts } = prompts;
    const engine2 = {
      model: { config: { name: 'by-hand-2', prompts: plainPrompts } },
      device: { provider: 'cuda', weights: 'int8' },
      async run(task: EngineTask): Promise<EngineAnswer> {
        seen.push(task);
        if (task.kind === 'segment' && task.text === 'nothing here') return answer('It is [SEG].', mask('....', '....', '....', '....')); // an empty mask: still "no target"
        if (task.kind === 'segment' && task.text === 'nothing there') return answer('It is [SEG].', mask('#...', '....', '....', '....')); // 1 px where nothing is: wrong, I 0 U 1
        if (task.kind === 'segment') return answer('It is [SEG].', a1); // the left half: exact
        if (task.kind === 'describe') return answer(task.region.kind === 'box' ? '<Prompt0>: a red square<|endoftext|>' : 'a blue thing [SEG]');
        if (task.kind === 'ask') return answer('red');
        throw new Error(`unexpected task ${JSON.stringify(task)}`);
      },
    } as unknown as Engine;
    let fake: string;
    const oldPython = process.env.PYTHON;
    before(() => {
      dir2 = fs.mkdtempSync(path.join(os.tmpdir(), 'ps-eval-hand2-'));
      fs.mkdirSync(path.join(dir2, 'images'));
      fs.copyFileSync(path.join(dir, 'images/a.png'), path.join(dir2, 'images/a.png'));
      fs.copyFileSync(path.join(dir, 'images/a.png'), path.join(dir2, 'images/a2.png'));
      fs.writeFileSync(path.join(dir2, 'ground_truth.json'), JSON.stringify({
        images: [{ id: 5, file_name: 'a.png', width: 4, height: 4 }, { id: 6, file_name: 'a2.png', width: 4, height: 4 }],
        annotations: [{ id: 50, image_id: 5, segmentation: rle(a1) }, { id: 60, image_id: 6, segmentation: rle(a2) }],
        tasks: [
          { id: 1, type: 'res', image_id: 5, expression: 'nothing here', target_ids: [] },
          { id: 2, type: 'res', image_id: 6, expression: 'nothing there', target_ids: [] },
          { id: 7, type: 'res', image_id: 6, expression: 'nothing here', target_ids: [] },
          { id: 3, type: 'res', image_id: 5, expression: 'the left half', target_ids: [50] },
          { id: 4, type: 'mcq', image_id: 6, region_id: 60, question: 'Which?', choices: ['red', 'blue'], answer: 'red', visual_prompt: { kind: 'points', points: [[3, 0, 1], [0, 3, 0]] } },
          { id: 8, type: 'mcq', image_id: 5, region_id: 50, question: 'Which one?', choices: ['blue', 'red'], answer: 'blue', visual_prompt: { kind: 'mask' } },
          { id: 5, type: 'caption', image_id: 5, region_id: 50, caption: 'a red square', visual_prompt: { kind: 'box', bbox: [0, 0, 2, 4] } },
          { id: 6, type: 'caption', image_id: 6, region_id: 60, caption: 'a blue square', visual_prompt: { kind: 'scribble', points: [[2, 0], [3, 1]], width: 1.5 } },
        ],
      }));
      // A stand-in for training/meteor.py (the real one runs in the caption test above, outside mutation runs):
      // 1 for an exact match, 0.25 otherwise; it echoes the script it was given and refuses on request.
      fake = path.join(dir2, 'fake-python.js');
      fs.writeFileSync(fake, `#!${process.execPath}
const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));
if (process.env.FAKE_METEOR === 'fail') { process.stderr.write('No module named nltk'); process.exit(1); }
let scores = input.pairs.map((p) => (p.prediction === p.reference ? 1 : 0.25));
if (process.env.FAKE_METEOR === 'short') scores = scores.slice(1);
if (process.env.FAKE_METEOR === 'none') scores = undefined;
process.stdout.write(JSON.stringify({ meteor: 99, matching: 'fake: ' + require('path').relative(${JSON.stringify(path.resolve(__dirname, '../../..'))}, process.argv[2]), order: 'none', scores }));
`, { mode: 0o755 });
      process.env.PYTHON = fake;
    });
    after(() => {
      if (oldPython === undefined) delete process.env.PYTHON; else process.env.PYTHON = oldPython;
      delete process.env.FAKE_METEOR;
    });

    it('scores as worked out by hand', async () => {
      seen.length = 0;
      const r = await evaluate(engine2, dir2);
      // No target: two empty masks right, a 1-pixel mask wrong → 2/3. RES: I 0 + 0 + 0 + 8, U 0 + 1 + 0 + 8 →
      // cIoU 8/9; IoUs 1, 0, 1, 1 → gIoU 3/4; all four tasks have no kind → 'unknown'.
      close(r.res.noTargetAccuracy, 2 / 3, 'no-target accuracy');
      close(r.res.cIoU, 8 / 9, 'RES cIoU');
      close(r.res.gIoU, 3 / 4, 'RES gIoU');
      assert.deepEqual(Object.keys(r.res.byKind), ['unknown']);
      assert.equal(r.res.byKind.unknown.n, 4);
      // MCQ: 'red' answers both; right for the first (answer red), wrong for the second (answer blue).
      assert.deepEqual(r.mcq.byKind, { unknown: { accuracy: 1 / 2, n: 2 } });
      close(r.mcq.accuracyExact, 1 / 2, 'MCQ exact');
      // Captions cleaned of prompt and end tokens: "a red square" = its truth (1), "a blue thing" ≠ "a blue square" (0.25).
      close(r.caption.meteor, (1 + 0.25) / 2, 'METEOR');
      assert.deepEqual(r.caption, { meteor: 0.625, matching: 'fake: training/meteor.py', order: 'none' });
      assert.deepEqual(r.perImage.map((t) => t.meteor), [[1], [0.25]]);
      assert.deepEqual(r.n, { images: 2, res: 4, noTarget: 3, caption: 2, mcq: 2, vtres: 0 });
      // Overall: (100 · 0.625 + 100 · 1/2 + 0) / 3.
      close(r.overall, 112.5 / 3, 'overall');
      assert.deepEqual([r.model, r.device, r.weights], ['by-hand-2', 'cuda', 'int8']);
      const ask = seen.find((t) => t.kind === 'ask') as Extract<EngineTask, { kind: 'ask' }>;
      assert.equal(ask.text, 'Please answer the question according to the <region1>. Which? Options: A. red B. blue. Select a correct choice.');
      assert.deepEqual(ask.regions, [{ kind: 'points', points: [{ x: 3, y: 0, positive: true }, { x: 0, y: 3, positive: false }] }]);
      assert.equal(ask.maxNewTokens, 16);
      const described = seen.filter((t) => t.kind === 'describe').map((t) => (t as Extract<EngineTask, { kind: 'describe' }>).region);
      assert.deepEqual(described, [{ kind: 'box', x: 0, y: 0, w: 2, h: 4 }, { kind: 'scribble', points: [{ x: 2, y: 0 }, { x: 3, y: 1 }], width: 1.5 }]);
      assert.deepEqual(seen.filter((t) => t.kind === 'segment').map((t) => (t as { image: string }).image), ['a.png', 'a2.png', 'a2.png', 'a.png'].map((f) => path.join(dir2, 'images', f)));
    });

    it('fails with the reason when METEOR cannot run or answers for the wrong number of captions', async () => {
      process.env.FAKE_METEOR = 'fail';
      await assert.rejects(evaluate(engine2, dir2), (e: Error) => e instanceof EvalError && e.message === `METEOR needs ${fake} with nltk (apt-get install python3-nltk wordnet-base): No module named nltk`);
      process.env.FAKE_METEOR = 'short';
      const script = path.resolve(__dirname, '../../../training/meteor.py');
      await assert.rejects(evaluate(engine2, dir2), (e: Error) => e instanceof EvalError && e.message === `${script} returned 1 scores for 2 captions`);
      process.env.FAKE_METEOR = 'none';
      await assert.rejects(evaluate(engine2, dir2), (e: Error) => e instanceof EvalError && e.message === `${script} returned undefined scores for 2 captions`);
      delete process.env.FAKE_METEOR;
    });
  });

  describe('the real-photo check, on masks and boxes drawn here', () => {
    // Two 5×4 (width × height) ground-truth masks, the same object: rows 1–2, columns 1–3 (6 px).
    const gtRows = ['.....', '.###.', '.###.', '.....'];
    let masks: string;
    const photoEngine = {
      async run(task: EngineTask): Promise<EngineAnswer> {
        assert.equal(task.kind, 'segmentRegions');
        const t = task as Extract<EngineTask, { kind: 'segmentRegions' }>;
        if (t.image === '/photos/one.jpg') {
          assert.deepEqual(t.regions, [{ kind: 'box', x: 1, y: 0, w: 3, h: 3 }]);
          return answer('', mask('.....', '..###', '..###', '.....')); // I 4 (columns 2–3), U 8 → 1/2
        }
        assert.equal(t.image, '/photos/two.jpg');
        return answer(''); // no mask: I 0, U 6 → 0
      },
    } as unknown as Engine;
    before(async () => {
      masks = fs.mkdtempSync(path.join(os.tmpdir(), 'ps-eval-photos-'));
      const grey = Buffer.from(gtRows.flatMap((r) => [...r].map((c) => (c === '#' ? 200 : 40))));
      await sharp(grey, { raw: { width: 5, height: 4, channels: 1 } }).png().toFile(path.join(masks, 'one.png'));
      fs.copyFileSync(path.join(masks, 'one.png'), path.join(masks, 'two.png'));
      fs.writeFileSync(path.join(masks, 'photos.json'), JSON.stringify({
        teacher: 'ISNet', photos: [
          { photo: 'one.jpg', mask: 'one.png', width: 5, height: 4, box: [1, 0, 3, 3] }, // box 9 px ⊇ the 6: 2/3
          { photo: 'two.jpg', mask: 'two.png', width: 5, height: 4, box: [0, 2, 5, 2] }, // box rows 2–3, 10 px; I 3, U 13 → 3/13
        ],
      }));
    });

    it('scores the model\'s mask and the box itself against each photo\'s mask', async () => {
      const r = await realPhotoCheck(photoEngine, masks, '/photos');
      assert.deepEqual(r.photos.map((p) => p.photo), ['one.jpg', 'two.jpg']);
      close(r.photos[0].iou, 1 / 2, 'photo one IoU');
      close(r.photos[1].iou, 0, 'photo two IoU');
      close(r.photos[0].boxBaselineIoU, 2 / 3, 'photo one box IoU');
      close(r.photos[1].boxBaselineIoU, 3 / 13, 'photo two box IoU');
      close(r.meanIoU, 1 / 4, 'mean IoU');
      close(r.boxBaselineMeanIoU, (2 / 3 + 3 / 13) / 2, 'mean box IoU');
      assert.equal(r.reference, 'ISNet salient-object masks; box = the mask\'s bounding box');
    });

    it('gives means of 0 for no photos, and runs from evaluate() only when photos.json exists', async () => {
      const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'ps-eval-nophotos-'));
      fs.writeFileSync(path.join(empty, 'photos.json'), JSON.stringify({ teacher: 'T', photos: [] }));
      const r = await realPhotoCheck(photoEngine, empty, '/photos');
      assert.deepEqual([r.meanIoU, r.boxBaselineMeanIoU, r.photos], [0, 0, []]);
      const both = { ...engine, run: (t: EngineTask) => (t.kind === 'segmentRegions' ? photoEngine.run(t) : engine.run(t)) } as unknown as Engine;
      const withPhotos = await evaluate(both, dir, { realPhotos: { masks, photos: '/photos' } });
      close(withPhotos.realPhotos!.meanIoU, 1 / 4, 'mean IoU through evaluate()');
      // A folder without photos.json (like a checkout without test data): no real-photo figures, no error.
      const noIndex = fs.mkdtempSync(path.join(os.tmpdir(), 'ps-eval-noindex-'));
      const without = await evaluate(both, dir, { realPhotos: { masks: noIndex, photos: '/photos' } });
      assert.equal(without.realPhotos, undefined);
    });

    it('reports a duration that includes the real-photo check', async () => {
      // Each photo's answer is held back 400 ms, and the span from the first photo request to the last answer is
      // measured here: the reported seconds (rounded to tenths) cannot be less, however slow the machine.
      let first = 0, last = 0;
      const slow = {
        ...engine,
        run: async (t: EngineTask) => {
          if (t.kind !== 'segmentRegions') return engine.run(t);
          first ||= Date.now();
          await new Promise((resolve) => setTimeout(resolve, 400));
          const a = await photoEngine.run(t);
          last = Date.now();
          return a;
        },
      } as unknown as Engine;
      const r = await evaluate(slow, dir, { realPhotos: { masks, photos: '/photos' } });
      assert.equal(r.realPhotos!.photos.length, 2);
      const span = (last - first) / 1000;
      assert.ok(span >= 0.7 && r.seconds >= span - 0.05, `${r.seconds} s reported, the real-photo check alone took ${span} s`);
    });
  });
});
