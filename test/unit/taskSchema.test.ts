// Every engine request is checked by taskSchema before anything runs: good tasks pass unchanged, bad ones
// are refused with the JSON path at fault (`task.region.w: …`). Cases written by hand, one per rule.
import * as assert from 'node:assert/strict';
import { MAX_SCRIBBLE_POINTS } from '../../src/engine/regions';
import { checkTask } from '../../src/engine/taskSchema';

const image = 'photo.png';
const box = { kind: 'box', x: 1, y: 2, w: 3, h: 4 };

describe('task schema (checkTask)', () => {
  it('passes every kind of task and region unchanged', () => {
    const good: unknown[] = [
      { kind: 'segment', image, text: 'the cat' },
      { kind: 'segment', image, text: '', maxNewTokens: 1, batch: { next: 'b.png' } },
      { kind: 'segment', image, text: 'x', batch: {} },
      { kind: 'segmentRegions', image, regions: [] },
      { kind: 'segmentRegions', image, regions: [box, { kind: 'mask', file: 'm.png' }, { kind: 'rle', rle: { size: [0, 2], counts: '' } }] },
      { kind: 'describe', image, region: { kind: 'points', points: [{ x: 0, y: -1, positive: false }] } },
      { kind: 'describe', image, region: { kind: 'scribble', points: [{ x: 1.5, y: 2 }], width: 0.5 } },
      { kind: 'describe', image, region: { kind: 'scribble', points: [{ x: 1.5, y: 2 }] } },
      { kind: 'ask', image, text: 'What is <region1>?', regions: [box], conversationId: 'c1', maxNewTokens: 16 },
      { kind: 'ask', image, question: [{ kind: 'text', text: 'hi ' }, { kind: 'region', region: 15 }], regions: [] },
      { kind: 'ask', image, regions: [{ kind: 'points', points: Array.from({ length: MAX_SCRIBBLE_POINTS }, () => ({ x: 1, y: 1, positive: true })) }] },
    ];
    for (const t of good) assert.deepEqual(checkTask(t), { ok: true, task: t }, JSON.stringify(t).slice(0, 200));
  });

  const bad: [string, unknown, string][] = [
    ['not an object', 'segment', 'task: Invalid input: expected object, received string'],
    ['an unknown kind', { kind: 'paint', image }, "task.kind: Invalid discriminator value. Expected 'segment' | 'segmentRegions' | 'describe' | 'ask'"],
    ['no image', { kind: 'segment', text: 'x' }, 'task.image: Invalid input: expected string, received undefined'],
    ['an empty image path', { kind: 'segment', image: '', text: 'x' }, 'task.image: Too small: expected string to have >=1 characters'],
    ['no text to segment', { kind: 'segment', image }, 'task.text: Invalid input: expected string, received undefined'],
    ['zero new tokens', { kind: 'segment', image, text: 'x', maxNewTokens: 0 }, 'task.maxNewTokens: Too small: expected number to be >0'],
    ['fractional new tokens', { kind: 'segment', image, text: 'x', maxNewTokens: 2.5 }, 'task.maxNewTokens: Invalid input: expected int, received number'],
    ['an unknown batch key', { kind: 'segment', image, text: 'x', batch: { nxt: 'a' } }, 'task.batch: Unrecognized key: "nxt"'],
    ['an empty next image', { kind: 'segment', image, text: 'x', batch: { next: '' } }, 'task.batch.next: Too small: expected string to have >=1 characters'],
    ['a box of width 0', { kind: 'describe', image, region: { ...box, w: 0 } }, 'task.region.w: Too small: expected number to be >0'],
    ['a box of negative height', { kind: 'describe', image, region: { ...box, h: -1 } }, 'task.region.h: Too small: expected number to be >0'],
    ['an infinite coordinate', { kind: 'describe', image, region: { ...box, x: Infinity } }, 'task.region.x: Invalid input: expected number, received Infinity'],
    ['an unknown region kind', { kind: 'describe', image, region: { kind: 'lasso' } }, "task.region.kind: Invalid discriminator value. Expected 'box' | 'points' | 'scribble' | 'mask' | 'rle'"],
    ['no points', { kind: 'describe', image, region: { kind: 'points', points: [] } }, 'task.region.points: Too small: expected array to have >=1 items'],
    ['a point without its sign', { kind: 'describe', image, region: { kind: 'points', points: [{ x: 1, y: 1 }] } }, 'task.region.points[0].positive: Invalid input: expected boolean, received undefined'],
    ['too many points', { kind: 'describe', image, region: { kind: 'points', points: Array.from({ length: MAX_SCRIBBLE_POINTS + 1 }, () => ({ x: 1, y: 1, positive: true })) } }, `task.region.points: Too big: expected array to have <=${MAX_SCRIBBLE_POINTS} items`],
    ['an empty scribble', { kind: 'describe', image, region: { kind: 'scribble', points: [] } }, 'task.region.points: Too small: expected array to have >=1 items'],
    ['too long a scribble', { kind: 'describe', image, region: { kind: 'scribble', points: Array.from({ length: MAX_SCRIBBLE_POINTS + 1 }, () => ({ x: 1, y: 1 })) } }, `task.region.points: Too big: expected array to have <=${MAX_SCRIBBLE_POINTS} items`],
    ['a scribble of width 0', { kind: 'describe', image, region: { kind: 'scribble', points: [{ x: 1, y: 1 }], width: 0 } }, 'task.region.width: Too small: expected number to be >0'],
    ['a mask without a file', { kind: 'describe', image, region: { kind: 'mask', file: '' } }, 'task.region.file: Too small: expected string to have >=1 characters'],
    ['an RLE of negative size', { kind: 'describe', image, region: { kind: 'rle', rle: { size: [-1, 2], counts: '' } } }, 'task.region.rle.size[0]: Too small: expected number to be >=0'],
    ['an RLE of fractional size', { kind: 'describe', image, region: { kind: 'rle', rle: { size: [1, 2.5], counts: '' } } }, 'task.region.rle.size[1]: Invalid input: expected int, received number'],
    ['a bad region in a list', { kind: 'segmentRegions', image, regions: [box, { ...box, y: 'top' }] }, 'task.regions[1].y: Invalid input: expected number, received string'],
    ['ask without regions', { kind: 'ask', image, text: 'x' }, 'task.regions: Invalid input: expected array, received undefined'],
    ['a region number beyond 15', { kind: 'ask', image, regions: [], question: [{ kind: 'region', region: 16 }] }, 'task.question[0].region: Too big: expected number to be <=15'],
    ['region 0', { kind: 'ask', image, regions: [], question: [{ kind: 'region', region: 0 }] }, 'task.question[0].region: Too small: expected number to be >=1'],
    ['an empty question', { kind: 'ask', image, regions: [], question: [] }, 'task.question: Too small: expected array to have >=1 items'],
    ['a numeric conversation id', { kind: 'ask', image, regions: [], text: 'x', conversationId: 7 }, 'task.conversationId: Invalid input: expected string, received number'],
  ];
  for (const [what, task, problem] of bad) {
    it(`refuses ${what}: ${problem}`, () => {
      assert.deepEqual(checkTask(task), { ok: false, problem });
    });
  }
});
