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

  it('rescues a one-pixel region on a wide image to the patch holding it, rows and columns scaled by their own side', () => {
    // 1000×333 image at model size 512×176, what preprocess.ts's rule gives it (a 32×11 grid of 16-px patches). Pixel (501, 304) is never sampled:
    // column 501 lies between the samples 500 and 502 (floor((d + 0.5)·1000/512), d = 256, 257), row 304
    // between 303 and 305 (floor((d + 0.5)·333/176), d = 160, 161). Its centre in model pixels is
    // (501.5·512/1000, 304.5·176/333) = (256.8, 160.9): patch column 16, row 10, index 10·32 + 16 = 336.
    // Scaling the row by the width's ratio instead (304·32/1000 = 9.7) would give row 9.
    assert.deepEqual([...pilNearestSources(1000, 512)].slice(256, 258), [500, 502]);
    assert.deepEqual([...pilNearestSources(333, 176)].slice(160, 162), [303, 305]);
    const data = new Uint8Array(1000 * 333);
    data[304 * 1000 + 501] = 1;
    const slots = promptSlots([{ width: 1000, height: 333, data, slot: 3 }], 512, 176, 16);
    const set = [...slots.entries()].filter(([, s]) => s !== NO_PROMPT);
    assert.deepEqual(set, [[336, 3]]);
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
