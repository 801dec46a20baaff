// Token-sequence bookkeeping of the reference: the image block layout, 3-axis rotary positions and the
// additive attention mask (bidirectional inside <vision> … </vision>, causal elsewhere).

export const NON_VISION = -1;
export const NO_PROMPT = -2;

export interface Grid {
  gh: number;
  gw: number;
}

/** Length of `<vision> <vpatch>×N </vision>`. */
export function imageBlockLength(grid: Grid): number {
  return grid.gh * grid.gw + 2;
}

/**
 * Rotary positions [3, 1, len] (flattened axis-major) for sequence indices start … start+len−1:
 * `<vision>` → (0,0,0); patch (r, c) → (1, 1+r, 1+c); index i ≥ 1+N → i − N + max(gh, gw) on all axes.
 */
export function positionIds(start: number, len: number, grid: Grid): BigInt64Array {
  const n = grid.gh * grid.gw;
  const offset = Math.max(grid.gh, grid.gw) - n;
  const out = new BigInt64Array(3 * len);
  for (let j = 0; j < len; j++) {
    const i = start + j;
    let t: number, h: number, w: number;
    if (i === 0) {
      t = h = w = 0;
    } else if (i <= n) {
      t = 1;
      h = 1 + Math.floor((i - 1) / grid.gw);
      w = 1 + ((i - 1) % grid.gw);
    } else {
      t = h = w = i + offset;
    }
    out[j] = BigInt(t);
    out[len + j] = BigInt(h);
    out[2 * len + j] = BigInt(w);
  }
  return out;
}

/** Additive mask [1, 1, S, P+S]: 0 where attention is allowed, −inf elsewhere. */
export function attentionMask(queryLen: number, pastLen: number, bidirectionalBlock = 0): Float32Array {
  const total = pastLen + queryLen;
  const out = new Float32Array(queryLen * total);
  for (let r = 0; r < queryLen; r++) {
    const q = pastLen + r;
    for (let k = 0; k < total; k++) {
      const allowed = k <= q || (q < bidirectionalBlock && k < bidirectionalBlock);
      out[r * total + k] = allowed ? 0 : Number.NEGATIVE_INFINITY;
    }
  }
  return out;
}
