import * as assert from 'node:assert/strict';
import { metricsOf, newTally } from '../../src/eval/bootstrap';
import { addIou, cIoU, cleanCaption, gIoU, mcqCorrectExact, mcqCorrectReference, newIou, perbenchOverall } from '../../src/eval/metrics';

describe('evaluation metrics', () => {
  it('reproduces the PerBench overall scores of the paper', () => {
    // Table 3: METEOR, MCQ accuracy, V-T RES cIoU, gIoU → overall
    const rows: [string, number, number, number, number, number][] = [
      ['Pixel-SAIL 3B', 24.2, 0.74, 33.4, 23.5, 42.2],
      ['Pixel-SAIL 0.5B', 21.4, 0.69, 29.7, 19.8, 38.4],
      ['Sa2VA 4B', 19.2, 0.71, 31.9, 21.9, 39.0],
    ];
    for (const [name, meteor, acc, c, g, overall] of rows) {
      const score = perbenchOverall(meteor / 100, acc, c / 100, g / 100);
      assert.equal(Math.round(score * 10) / 10, overall, name);
    }
  });

  it('computes cIoU over pixels and gIoU over samples, empty vs empty counting as 1', () => {
    const acc = newIou();
    addIou(acc, Uint8Array.from([1, 1, 0, 0]), Uint8Array.from([1, 0, 0, 0])); // IoU 1/2
    addIou(acc, null, Uint8Array.from([0, 0, 0, 0])); // empty vs empty → 1
    addIou(acc, Uint8Array.from([0, 0, 0, 0]), Uint8Array.from([1, 1, 1, 1])); // 0
    assert.equal(cIoU(acc), 1 / 6);
    assert.equal(gIoU(acc), (0.5 + 1 + 0) / 3);
  });

  it('scores no samples 0 and only-empty samples 1, for cIoU as for gIoU', () => {
    assert.equal(cIoU(newIou()), 0, 'no samples: nothing was measured');
    assert.equal(gIoU(newIou()), 0);
    const empty = newIou();
    addIou(empty, null, Uint8Array.from([0, 0]));
    assert.equal(cIoU(empty), 1, 'an empty target found empty');
    assert.equal(gIoU(empty), 1);
  });

  it('scores MCQ as the reference (substring) and exactly', () => {
    const choices = ['red', 'blue', 'green', 'yellow'];
    assert.ok(mcqCorrectReference('B. red', 'red'));
    assert.ok(!mcqCorrectExact('B. red', choices, 'red'), 'letter and text disagree');
    assert.ok(mcqCorrectExact('A. red', choices, 'red'));
    assert.ok(mcqCorrectExact('A.', choices, 'red'));
    assert.ok(mcqCorrectExact('red', choices, 'red'));
    assert.ok(!mcqCorrectExact('C. green', choices, 'red'));
  });

  it('cleans captions the way the reference evaluation does', () => {
    assert.equal(cleanCaption('<Prompt3>: a small red circle.<|endoftext|>'), 'a small red circle.');
  });

  // Cases the mutation run (npm run test:mutation -- eval) showed no test pinned.
  it('scores exactly: end tokens and a final full stop ignored, the letter and its text must agree', () => {
    const choices = ['red', 'blue', 'green'];
    assert.equal(mcqCorrectExact('B. blue<|endoftext|>', choices, 'blue'), true);
    assert.equal(mcqCorrectExact('B) blue.<|im_end|>', choices, 'blue'), true);
    assert.equal(mcqCorrectExact('B.   blue', choices, 'blue'), true);
    assert.equal(mcqCorrectExact('B. red', choices, 'blue'), false, 'the right letter with the wrong text');
    assert.equal(mcqCorrectExact('blue.', choices, 'blue'), true, 'the text alone');
    assert.equal(mcqCorrectExact('blue!', choices, 'blue'), false);
    assert.equal(mcqCorrectExact('I think B. blue', choices, 'blue'), false, 'a letter only counts at the start');
    assert.equal(mcqCorrectExact('B. blue is it', choices, 'blue'), false, 'nothing after the choice');
  });

  it('cleans a caption as the reference reads it', () => {
    assert.equal(cleanCaption('<Prompt12>: a red square<|endoftext|>'), 'a red square');
    assert.equal(cleanCaption('<Prompt0> : a [SEG] disc<|im_end|>'), 'a  disc');
    assert.equal(cleanCaption('a ratio 1:2 shape'), 'a ratio 1:2 shape', 'only a leading colon goes');
    assert.equal(cleanCaption('  :  a disc'), 'a disc');
  });

  it('pools the no-target accuracy as right / asked', () => {
    const t = newTally(1);
    t.noTarget = { right: 1, n: 4 };
    assert.equal(metricsOf([t, newTally(2)]).noTargetAccuracy, 0.25);
    assert.equal(metricsOf([newTally(3)]).noTargetAccuracy, 0, 'none asked');
  });
});
