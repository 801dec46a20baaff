// Masks in the reference fixtures (test/data/reference/, written by training/reference_fixtures.py) are
// row-major run lengths starting with zeros; this turns them back into a 0/1 mask.
import * as assert from 'node:assert/strict';

export function fromRowRuns(runs: number[], length: number): Uint8Array {
  const out = new Uint8Array(length);
  let pos = 0;
  runs.forEach((n, i) => { if (i % 2) out.fill(1, pos, pos + n); pos += n; });
  assert.equal(pos, length, 'the runs cover the mask');
  return out;
}
