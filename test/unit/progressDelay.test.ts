// The editor's stage messages: none for a run answered within the delay, the latest one once a run lasts
// longer (if it still runs), every later one as it comes. Driven by a hand-wound clock, so nothing here
// depends on how fast the machine is.
import * as assert from 'node:assert/strict';
import { heldStages, StageRelayClock } from '../../src/editor/progressDelay';

function handClock() {
  let t = 1000;
  const timers: { at: number; f: () => void }[] = [];
  const clock: StageRelayClock = { now: () => t, later: (f, ms) => void timers.push({ at: t + ms, f }) };
  /** Moves the time on, running the timers that come due in order. */
  const advance = (ms: number) => {
    const end = t + ms;
    for (;;) {
      timers.sort((a, b) => a.at - b.at);
      if (!timers.length || timers[0].at > end) break;
      const next = timers.shift()!;
      t = next.at;
      next.f();
    }
    t = end;
  };
  /** Moves the time on without running any timer (an event loop busy elsewhere). */
  const skip = (ms: number) => {
    t += ms;
  };
  return { clock, advance, skip, pending: () => timers.length };
}

describe('stage messages of an editor request (progressDelay.ts)', () => {
  it('a request answered within the delay posts no stage, not even later', () => {
    const { clock, advance } = handClock();
    const posted: string[] = [];
    let running = true;
    const onProgress = heldStages((p: string) => posted.push(p), () => running, 300, clock);
    onProgress('image');
    advance(20);
    onProgress('generate');
    advance(50);
    onProgress('masks');
    advance(5);
    running = false; // answered at 75 ms
    advance(1000);
    assert.deepEqual(posted, []);
  });

  it('a longer request posts the latest held stage when the delay ends, then each stage as it comes', () => {
    const { clock, advance, pending } = handClock();
    const posted: string[] = [];
    const onProgress = heldStages((p: string) => posted.push(p), () => true, 300, clock);
    onProgress('image');
    advance(10);
    onProgress('prefill');
    assert.equal(pending(), 1, 'one timer for all the held stages');
    advance(289);
    assert.deepEqual(posted, []);
    advance(1);
    assert.deepEqual(posted, ['prefill']);
    advance(2000);
    onProgress('generate');
    onProgress('masks');
    assert.deepEqual(posted, ['prefill', 'generate', 'masks']);
  });

  it('a stage that comes after the delay but before the timer ran is posted once, in order', () => {
    const { clock, advance, skip } = handClock();
    const posted: string[] = [];
    const onProgress = heldStages((p: string) => posted.push(p), () => true, 300, clock);
    onProgress('image');
    skip(400); // the timer is due but has not run, and the next stage arrives first
    onProgress('generate');
    advance(1000); // now the timer runs: the held stage was replaced, nothing older is posted after it
    assert.deepEqual(posted, ['generate']);
  });

  it('a request ended or replaced before the delay (Cancel, a newer prompt) posts nothing', () => {
    const { clock, advance } = handClock();
    const posted: string[] = [];
    let running = true;
    const onProgress = heldStages((p: string) => posted.push(p), () => running, 300, clock);
    onProgress('prefill');
    advance(100);
    running = false;
    advance(500);
    assert.deepEqual(posted, []);
  });
});
