import { decodeRle, Rle } from '../masks/rle';
import { anySet } from '../masks/anySet';

// Region specs (CLI and editor) → binary prompt masks at the original image resolution.
//   box:x,y,w,h   point:x,y[,neg]   scribble:x1,y1;x2,y2;…[@width]   mask:FILE.png
// Points become small disks (a single pixel can vanish when the mask is shrunk to the model size);
// negative points cut their disk out of the region built from the others.

export type RegionSpec =
  | { kind: 'box'; x: number; y: number; w: number; h: number }
  | { kind: 'points'; points: { x: number; y: number; positive: boolean }[] }
  | { kind: 'scribble'; points: { x: number; y: number }[]; width?: number }
  | { kind: 'mask'; file: string }
  | { kind: 'rle'; rle: Rle };

export class RegionSpecError extends Error {}

/** A freehand scribble rarely needs more than a few hundred points; beyond this it is a mistake or an attack. */
export const MAX_SCRIBBLE_POINTS = 10_000;

const num = (s: string, what: string): number => {
  const v = Number(s);
  if (s.trim() === '' || !Number.isFinite(v)) throw new RegionSpecError(`${what}: ${JSON.stringify(s)} is not a number`);
  return v;
};

export function parseRegionSpec(spec: string): RegionSpec {
  const colon = spec.indexOf(':');
  const kind = colon < 0 ? spec : spec.slice(0, colon);
  const body = colon < 0 ? '' : spec.slice(colon + 1);
  switch (kind) {
    case 'box': {
      const parts = body.split(',');
      if (parts.length !== 4) throw new RegionSpecError(`box needs x,y,w,h, got ${JSON.stringify(body)}`);
      const [x, y, w, h] = parts.map((p) => num(p, 'box'));
      if (w <= 0 || h <= 0) throw new RegionSpecError('box width and height must be positive');
      return { kind: 'box', x, y, w, h };
    }
    case 'point': {
      const pts = body.split(';').map((p) => {
        const parts = p.split(',');
        if (parts.length < 2 || parts.length > 3 || (parts.length === 3 && !['neg', 'pos'].includes(parts[2]))) {
          throw new RegionSpecError(`point needs x,y or x,y,neg, got ${JSON.stringify(p)}`);
        }
        return { x: num(parts[0], 'point'), y: num(parts[1], 'point'), positive: parts[2] !== 'neg' };
      });
      if (!pts.some((p) => p.positive)) throw new RegionSpecError('a point region needs at least one positive point');
      return { kind: 'points', points: pts };
    }
    case 'scribble': {
      const [path, width] = body.split('@');
      const points = path.split(';').filter(Boolean).map((p) => {
        const parts = p.split(',');
        if (parts.length !== 2) throw new RegionSpecError(`scribble points are x,y separated by ';', got ${JSON.stringify(p)}`);
        return { x: num(parts[0], 'scribble'), y: num(parts[1], 'scribble') };
      });
      if (points.length > MAX_SCRIBBLE_POINTS) throw new RegionSpecError(`a scribble has at most ${MAX_SCRIBBLE_POINTS} points, got ${points.length}: simplify it`);
      if (points.length < 1) throw new RegionSpecError('a scribble needs at least one point');
      return { kind: 'scribble', points, width: width === undefined ? undefined : num(width, 'scribble width') };
    }
    case 'mask':
      if (!body) throw new RegionSpecError('mask needs a file: mask:FILE.png');
      return { kind: 'mask', file: body };
    default:
      throw new RegionSpecError(`unknown region kind ${JSON.stringify(kind)} (use box:, point:, scribble: or mask:)`);
  }
}

function disk(out: Uint8Array, w: number, h: number, cx: number, cy: number, r: number, value: number) {
  for (let y = Math.max(0, Math.floor(cy - r)); y <= Math.min(h - 1, Math.ceil(cy + r)); y++) {
    for (let x = Math.max(0, Math.floor(cx - r)); x <= Math.min(w - 1, Math.ceil(cx + r)); x++) {
      if ((x - cx) ** 2 + (y - cy) ** 2 <= r * r) out[y * w + x] = value;
    }
  }
}

function segment(out: Uint8Array, w: number, h: number, a: { x: number; y: number }, b: { x: number; y: number }, r: number) {
  const x0 = Math.max(0, Math.floor(Math.min(a.x, b.x) - r)), x1 = Math.min(w - 1, Math.ceil(Math.max(a.x, b.x) + r));
  const y0 = Math.max(0, Math.floor(Math.min(a.y, b.y) - r)), y1 = Math.min(h - 1, Math.ceil(Math.max(a.y, b.y) + r));
  const dx = b.x - a.x, dy = b.y - a.y;
  const len2 = dx * dx + dy * dy;
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      const t = len2 ? Math.max(0, Math.min(1, ((x - a.x) * dx + (y - a.y) * dy) / len2)) : 0;
      if ((x - a.x - t * dx) ** 2 + (y - a.y - t * dy) ** 2 <= r * r) out[y * w + x] = 1;
    }
  }
}

/**
 * Rasterises a (non-file) region at width × height. `pointRadius` is in image pixels: callers pass half a
 * model patch scaled to the original image, so a click covers the patch it lands in.
 */
export function rasterizeRegion(spec: Exclude<RegionSpec, { kind: 'mask' }>, width: number, height: number, pointRadius: number): Uint8Array {
  if (spec.kind === 'rle') {
    const [h, w] = spec.rle.size;
    if (h !== height || w !== width) throw new RegionSpecError(`region mask is ${w}×${h}, the image is ${width}×${height}`);
    const m = decodeRle(spec.rle);
    if (!anySet(m)) throw new RegionSpecError('the region mask is empty');
    return m;
  }
  const out = new Uint8Array(width * height);
  const inside = (x: number, y: number) => x >= 0 && y >= 0 && x < width && y < height;
  if (spec.kind === 'box') {
    for (let y = Math.max(0, Math.floor(spec.y)); y < Math.min(height, Math.ceil(spec.y + spec.h)); y++) {
      for (let x = Math.max(0, Math.floor(spec.x)); x < Math.min(width, Math.ceil(spec.x + spec.w)); x++) out[y * width + x] = 1;
    }
  } else if (spec.kind === 'points') {
    for (const p of spec.points) {
      if (!inside(p.x, p.y)) throw new RegionSpecError(`point ${p.x},${p.y} is outside the ${width}×${height} image`);
    }
    for (const p of spec.points.filter((q) => q.positive)) disk(out, width, height, p.x, p.y, pointRadius, 1);
    for (const p of spec.points.filter((q) => !q.positive)) disk(out, width, height, p.x, p.y, pointRadius, 0);
  } else {
    const r = (spec.width ?? pointRadius) / (spec.width ? 2 : 1);
    const pts = spec.points;
    if (pts.length === 1) disk(out, width, height, pts[0].x, pts[0].y, r, 1);
    for (let i = 1; i < pts.length; i++) segment(out, width, height, pts[i - 1], pts[i], r);
  }
  if (!anySet(out)) throw new RegionSpecError(`the ${spec.kind} region covers no pixel of the ${width}×${height} image`);
  return out;
}
