import * as assert from 'node:assert/strict';
import { attentionMask, imageBlockLength, positionIds } from '../../src/engine/sequence';

describe('sequence layout', () => {
  const grid = { gh: 2, gw: 3 };

  it('gives the image block N + 2 tokens', () => {
    assert.equal(imageBlockLength(grid), 8);
  });

  it('places <vision>, patches (row, col) and text after max(gh, gw) on the rotary axes', () => {
    const len = 10; // <vision>, 6 patches, </vision>, 2 text tokens
    const p = Array.from(positionIds(0, len, grid), Number);
    const axis = (a: number) => p.slice(a * len, (a + 1) * len);
    assert.deepEqual(axis(0), [0, 1, 1, 1, 1, 1, 1, 4, 5, 6]);
    assert.deepEqual(axis(1), [0, 1, 1, 1, 2, 2, 2, 4, 5, 6]);
    assert.deepEqual(axis(2), [0, 1, 2, 3, 1, 2, 3, 4, 5, 6]);
  });

  it('continues positions from the cache length in decode steps', () => {
    const p = Array.from(positionIds(9, 1, grid), Number);
    assert.deepEqual(p, [6, 6, 6]);
  });

  it('is bidirectional inside the image block and causal after it', () => {
    const s = 4;
    const m = attentionMask(s, 0, 2);
    const allowed = (q: number, k: number) => m[q * s + k] === 0;
    assert.ok(allowed(0, 1), 'image token sees a later image token');
    assert.ok(!allowed(1, 2), 'image token does not see text');
    assert.ok(allowed(2, 0) && allowed(2, 2) && !allowed(2, 3), 'text is causal');
  });

  it('lets new tokens see the whole cache', () => {
    const m = attentionMask(2, 5);
    assert.equal(m.length, 2 * 7);
    assert.ok(Array.from(m.slice(0, 6)).every((v) => v === 0));
    assert.equal(m[6], Number.NEGATIVE_INFINITY);
  });
});
