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
import { evaluate } from '../../src/eval/evaluate';
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
});
