// The words the image editor's progress line and the chat's pending answer show for a request's stage, and
// the elapsed time beside them (src/engine/progressText.ts), written out by hand.
import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { elapsedSeconds, elapsedText, progressLine, stageText } from '../../src/engine/progressText';

describe('progress text (the stage of a running request, in words)', () => {
  it('says each stage the worker reports', () => {
    assert.equal(stageText({ stage: 'image' }), 'Reading the image');
    assert.equal(stageText({ stage: 'prefill', patches: 144, side: 192 }), 'Prefilling the image (144 patches, 192 px)');
    assert.equal(stageText({ stage: 'generate' }), 'Writing the answer');
    assert.equal(stageText({ stage: 'masks' }), 'Computing the mask');
  });

  it('counts the parts of a large image\'s upsampling from one, never past the last', () => {
    assert.equal(stageText({ stage: 'masks', done: 0, total: 11 }), 'Computing the mask (upsampling the features, part 1 of 11)');
    assert.equal(stageText({ stage: 'masks', done: 10, total: 11 }), 'Computing the mask (upsampling the features, part 11 of 11)');
    assert.equal(stageText({ stage: 'masks', done: 11, total: 11 }), 'Computing the mask (upsampling the features, part 11 of 11)');
  });

  it('groups the thousands of a large prefill and leaves out what the worker did not say', () => {
    assert.equal(stageText({ stage: 'prefill', patches: 4096, side: 1024 }), 'Prefilling the image (4,096 patches, 1024 px)');
    assert.equal(stageText({ stage: 'prefill', patches: 4096 }), 'Prefilling the image (4,096 patches)');
    assert.equal(stageText({ stage: 'prefill' }), 'Prefilling the image');
  });

  it('before the first stage: loading the model while the engine starts, else waiting in the queue', () => {
    assert.equal(stageText(undefined, true), 'Loading the model');
    assert.equal(stageText(undefined, false), 'Waiting for the engine');
    assert.equal(stageText(undefined), 'Waiting for the engine');
    // A stage once begun is what is said, whatever the engine's state.
    assert.equal(stageText({ stage: 'image' }, true), 'Reading the image');
  });

  it('counts whole seconds, never below zero (a clock that stepped back)', () => {
    assert.equal(elapsedSeconds(1000, 1000), 0);
    assert.equal(elapsedSeconds(1000, 1999), 0);
    assert.equal(elapsedSeconds(1000, 2000), 1);
    assert.equal(elapsedSeconds(1000, 13_500), 12);
    assert.equal(elapsedSeconds(5000, 1000), 0);
  });

  it('elapsed seconds are the floor of the difference, for any times (fast-check)', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 2e12 }), fc.integer({ min: 0, max: 1e9 }), (since, d) => {
      const s = elapsedSeconds(since, since + d);
      return Number.isInteger(s) && s * 1000 <= d && d < (s + 1) * 1000;
    }));
  });

  it('joins the stage and the time into one line', () => {
    assert.equal(elapsedText(12), '· 12 s');
    assert.equal(progressLine('Prefilling the image (4,096 patches, 1024 px)', 12), 'Prefilling the image (4,096 patches, 1024 px) · 12 s');
    assert.equal(progressLine(stageText({ stage: 'generate' }), 0), 'Writing the answer · 0 s');
  });
});
