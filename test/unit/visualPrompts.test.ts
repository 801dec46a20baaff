// Prompt slots on tiny grids worked out by hand: the rescue of a region the nearest resize misses (the patch
// holding most of its pixels, the first on a tie), ties of equal areas, empty regions, and size refusals.
import * as assert from 'node:assert/strict';
import { NO_PROMPT } from '../../src/engine/sequence';
import { emptyRegions, pilNearestSources, promptSlots } from '../../src/engine/visualPrompts';

const row = (s: string) => Uint8Array.from([...s].map((c) => (c === '#' ? 1 : 0)));

describe('prompt slots worked out by hand', () => {
  it('refuses empty sizes', () => {
    assert.throws(() => pilNearestSources(0, 4), (e: Error) => e instanceof RangeError && e.message === 'sizes must be positive, got 0 → 4');
    assert.throws(() => pilNearestSources(4, 0), (e: Error) => e instanceof RangeError && e.message === 'sizes must be positive, got 4 → 0');
  });

  it('gives a region no sample lands on the patch that holds most of its pixels, the first on a tie', () => {
    // 8 px wide to a 2×1 grid of 1-px patches: the nearest resize samples pixels 2 and 6 only.
    assert.deepEqual([...pilNearestSources(8, 2)], [2, 6]);
    const slots = (data: string) => [...promptSlots([{ width: 8, height: 1, data: row(data), slot: 4 }], 2, 1, 1)];
    assert.deepEqual(slots('##..#...'), [4, NO_PROMPT]); // 2 px in patch 0, 1 in patch 1
    assert.deepEqual(slots('#...##.#'), [NO_PROMPT, 4]); // 1 against 3
    assert.deepEqual(slots('#...#...'), [4, NO_PROMPT]); // 1 against 1: the first
    assert.deepEqual(slots('........'), [NO_PROMPT, NO_PROMPT]); // empty: nothing to rescue
    assert.deepEqual(slots('..#.....'), [4, NO_PROMPT]); // sampled: the usual way
  });

  it('of two regions of equal area over the same patches, the later one wins (largest first, then as given)', () => {
    const full = () => row('########');
    assert.deepEqual([...promptSlots([{ width: 8, height: 1, data: full(), slot: 1 }, { width: 8, height: 1, data: full(), slot: 2 }], 2, 1, 1)], [2, 2]);
  });

  it('names the regions that cover no pixel, numbered from 1', () => {
    assert.deepEqual(emptyRegions([
      { width: 2, height: 1, data: row('..'), slot: 2 }, { width: 2, height: 1, data: row('.#'), slot: 0 }, { width: 2, height: 1, data: row('..'), slot: 4 },
    ]), [3, 5]);
  });
});
