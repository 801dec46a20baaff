// The prompts `pixel-sail eval` gives for a target mask on the held-out photos, each a fixed function of
// the mask so every model is asked the same thing: the box (the mask's bounding box), one click (the
// point farthest from the mask's border) and one scribble (a stroke through that point along the mask's
// long axis). Masks are row-major, 1 = object.

/** Exact Euclidean distance from each pixel centre to the nearest background pixel centre (0 on the
 *  background). Pixels outside the image count as background, so an object cut by the frame has a border
 *  there too. Felzenszwalb & Huttenlocher's two-pass squared distance transform on a one-pixel frame. */
export function distanceTransform(mask: Uint8Array, width: number, height: number): Float64Array {
  const W = width + 2, H = height + 2, INF = 1e20;
  const f = new Float64Array(W * H).fill(0);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) f[(y + 1) * W + x + 1] = mask[y * width + x] ? INF : 0;
  const n = Math.max(W, H);
  const line = new Float64Array(n), out = new Float64Array(n), z = new Float64Array(n + 1);
  const v = new Int32Array(n);
  const pass = (len: number) => {
    // Lower envelope of the parabolas rooted at each sample (the 1-D transform of `line` into `out`).
    let k = 0;
    v[0] = 0; z[0] = -Infinity; z[1] = Infinity;
    for (let q = 1; q < len; q++) {
      let s = ((line[q] + q * q) - (line[v[k]] + v[k] * v[k])) / (2 * q - 2 * v[k]);
      while (s <= z[k]) { k--; s = ((line[q] + q * q) - (line[v[k]] + v[k] * v[k])) / (2 * q - 2 * v[k]); }
      k++; v[k] = q; z[k] = s; z[k + 1] = Infinity;
    }
    k = 0;
    for (let q = 0; q < len; q++) {
      while (z[k + 1] < q) k++;
      out[q] = (q - v[k]) * (q - v[k]) + line[v[k]];
    }
  };
  for (let x = 0; x < W; x++) {
    for (let y = 0; y < H; y++) line[y] = f[y * W + x];
    pass(H);
    for (let y = 0; y < H; y++) f[y * W + x] = out[y];
  }
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) line[x] = f[y * W + x];
    pass(W);
    for (let x = 0; x < W; x++) f[y * W + x] = out[x];
  }
  const d = new Float64Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) d[y * width + x] = Math.sqrt(f[(y + 1) * W + x + 1]);
  return d;
}

export interface Click { x: number; y: number; distance: number }

/** The one-click prompt: the pixel farthest from the mask's border (the distance transform's maximum); on a
 *  tie the first in reading order (top row first, then leftmost). */
export function clickPoint(mask: Uint8Array, width: number, height: number, dt = distanceTransform(mask, width, height)): Click {
  let best = -1, at = -1;
  for (let i = 0; i < dt.length; i++) if (dt[i] > best) { best = dt[i]; at = i; }
  if (best <= 0) throw new Error('the mask is empty: no click inside it');
  return { x: at % width, y: Math.floor(at / width), distance: best };
}

export interface Scribble { points: { x: number; y: number }[]; width: number }

/** The scribble prompt: a straight stroke through the click point along the mask's principal axis (the major
 *  eigenvector of its pixels' covariance; horizontal when there is none), as far each way as the pixels stay
 *  at least half the click's distance from the border, sampled at ≤ 16 points. Its width is 0.12 × that
 *  distance (at least 2), the generator's scribble width for an object of that radius. The line's pixels are
 *  at least half the click's distance from the border, more than the stroke's half-width once the click is a
 *  few pixels in, so the stroke stays inside the mask. */
export function scribblePath(mask: Uint8Array, width: number, height: number): Scribble {
  const dt = distanceTransform(mask, width, height);
  const c = clickPoint(mask, width, height, dt);
  let n = 0, mx = 0, my = 0;
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) if (mask[y * width + x]) { n++; mx += x; my += y; }
  mx /= n; my /= n;
  let sxx = 0, syy = 0, sxy = 0;
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) if (mask[y * width + x]) {
    sxx += (x - mx) * (x - mx); syy += (y - my) * (y - my); sxy += (x - mx) * (y - my);
  }
  // Major eigenvector of [[sxx, sxy], [sxy, syy]].
  const angle = 0.5 * Math.atan2(2 * sxy, sxx - syy);
  const ux = Math.cos(angle), uy = Math.sin(angle);
  const floor = c.distance / 2;
  const inside = (t: number) => {
    const x = Math.round(c.x + t * ux), y = Math.round(c.y + t * uy);
    return x >= 0 && y >= 0 && x < width && y < height && dt[y * width + x] >= floor;
  };
  let tMax = 0, tMin = 0;
  while (inside(tMax + 1)) tMax++;
  while (inside(tMin - 1)) tMin--;
  const count = Math.min(16, Math.max(2, Math.floor((tMax - tMin) / 4) + 1));
  const points: { x: number; y: number }[] = [];
  for (let k = 0; k < count; k++) {
    const t = tMin + ((tMax - tMin) * k) / (count - 1);
    const p = { x: Math.round(c.x + t * ux), y: Math.round(c.y + t * uy) };
    if (!points.length || points[points.length - 1].x !== p.x || points[points.length - 1].y !== p.y) points.push(p);
  }
  return { points, width: Math.max(2, Math.round(0.12 * c.distance)) };
}

/** The mask's bounding box as [x, y, w, h]. */
export function boxOfMask(mask: Uint8Array, width: number, height: number): [number, number, number, number] {
  let x0 = width, y0 = height, x1 = -1, y1 = -1;
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) if (mask[y * width + x]) {
    if (x < x0) x0 = x; if (x > x1) x1 = x; if (y < y0) y0 = y; if (y > y1) y1 = y;
  }
  if (x1 < 0) throw new Error('the mask is empty: no box around it');
  return [x0, y0, x1 - x0 + 1, y1 - y0 + 1];
}
