// The engine's image-state cache: bounded by bytes, least recently used out first, traced here by hand.
import * as assert from 'node:assert/strict';
import { LruCache } from '../../src/engine/lruCache';

describe('LruCache (a byte budget, least recently used evicted first)', () => {
  it('keeps entries up to the budget and evicts the least recently used beyond it, telling the owner', () => {
    const evicted: string[] = [];
    const c = new LruCache<string>(10, (k, v) => evicted.push(`${k}=${v}`));
    assert.equal(c.set('a', 'A', 4), true);
    assert.equal(c.set('b', 'B', 4), true);
    assert.deepEqual([c.size, c.bytes], [2, 8]);
    assert.equal(c.get('a'), 'A'); // a is now the most recent: b goes first
    assert.equal(c.set('c', 'C', 2), true); // exactly the budget: nothing evicted
    assert.deepEqual([c.size, c.bytes, evicted], [3, 10, []]);
    assert.equal(c.set('d', 'D', 3), true); // 13 bytes: b (4) goes → 9
    assert.deepEqual(evicted, ['b=B']);
    assert.deepEqual([c.size, c.bytes], [3, 9]);
    assert.equal(c.get('b'), undefined);
    assert.deepEqual(['a', 'c', 'd'].map((k) => c.get(k)), ['A', 'C', 'D']);
    assert.equal(c.set('e', 'E', 9), true); // a, c, d (4 + 2 + 3) all go, oldest first
    assert.deepEqual(evicted, ['b=B', 'a=A', 'c=C', 'd=D']);
    assert.deepEqual([c.size, c.bytes, c.get('e')], [1, 9, 'E']);
  });

  it('makes room for a coming entry: evicts the least recently used until it would fit, and no more', () => {
    const evicted: string[] = [];
    const c = new LruCache<string>(10, (k) => evicted.push(k));
    c.set('a', 'A', 3);
    c.set('b', 'B', 3);
    c.set('c', 'C', 3);
    c.get('a'); // b is now the least recent
    assert.equal(c.makeRoom(1), 0, '9 + 1 fits the budget');
    assert.equal(c.makeRoom(4), 3, 'the bytes evicted');
    assert.deepEqual([evicted, c.size, c.bytes], [['b'], 2, 6]);
    assert.equal(c.makeRoom(11), 6, 'more than the budget: everything goes');
    assert.deepEqual([evicted, c.size, c.bytes], [['b', 'c', 'a'], 0, 0]);
  });

  it('refuses a value larger than the whole budget, keeping what it holds', () => {
    const c = new LruCache<number>(10);
    assert.equal(new LruCache<number>(10).set('exact', 0, 10), true, 'a value of exactly the budget fits');
    c.set('a', 1, 5);
    assert.equal(c.set('big', 2, 11), false);
    assert.deepEqual([c.get('big'), c.get('a'), c.size, c.bytes], [undefined, 1, 1, 5]);
  });

  it('replaces a key in place: its old bytes are released, and the replaced value is not reported evicted', () => {
    const evicted: string[] = [];
    const c = new LruCache<string>(10, (k) => evicted.push(k));
    c.set('a', 'A1', 6);
    c.set('b', 'B', 4);
    c.set('a', 'A2', 3);
    assert.deepEqual([c.size, c.bytes, c.get('a'), evicted], [2, 7, 'A2', []]);
    // Replacing with a value over budget drops the old one too: the key no longer holds a stale value.
    assert.equal(c.set('a', 'A3', 50), false);
    assert.deepEqual([c.get('a'), c.size, c.bytes], [undefined, 1, 4]);
  });

  it('evicts without an owner to tell', () => {
    const c = new LruCache<string>(4);
    c.set('a', 'A', 3);
    c.set('b', 'B', 3);
    assert.deepEqual([c.get('a'), c.get('b'), c.size, c.bytes], [undefined, 'B', 1, 3]);
  });

  it('deletes by key, and ignores unknown keys', () => {
    const c = new LruCache<string>(10);
    c.set('a', 'A', 3);
    c.delete('nope');
    assert.deepEqual([c.size, c.bytes], [1, 3]);
    c.delete('a');
    assert.deepEqual([c.size, c.bytes, c.get('a')], [0, 0, undefined]);
  });

  it('a get refreshes recency; a miss changes nothing', () => {
    const evicted: string[] = [];
    const c = new LruCache<string>(6, (k) => evicted.push(k));
    c.set('a', 'A', 3);
    c.set('b', 'B', 3);
    assert.equal(c.get('x'), undefined);
    c.get('a');
    c.set('c', 'C', 3);
    assert.deepEqual(evicted, ['b']);
  });
});
