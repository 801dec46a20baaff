// A visual prompt as the user places it on an image: positive and negative points, at most one box and
// freehand scribbles, all in image pixel coordinates. The image editor builds one in its webview and the
// chat panel can reuse it; regionsOf turns it into the engine's regions (one segmentRegions request).
// No zod and no DOM here: the webview bundles this file, the host checks it with regionPromptSchema in
// protocol.ts.
import type { RegionSpec } from '../engine/regions';

export interface PromptPoint {
  x: number;
  y: number;
  positive: boolean;
}

export interface PromptBox {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface PromptScribble {
  points: { x: number; y: number }[];
  /** Stroke width in image pixels. */
  width: number;
}

export interface RegionPrompt {
  points: PromptPoint[];
  box?: PromptBox;
  scribbles: PromptScribble[];
}

export const emptyRegionPrompt = (): RegionPrompt => ({ points: [], scribbles: [] });

export function isEmptyRegionPrompt(p: RegionPrompt): boolean {
  return !p.points.length && !p.box && !p.scribbles.length;
}

export class RegionPromptError extends Error {}

/**
 * The engine regions of a prompt, in a fixed order: the points (one region: negative points cut their disk
 * out of the positive points' disks), then the box, then each scribble. Each becomes one of the model's
 * prompt slots. Throws RegionPromptError with a sentence for the user when the prompt cannot run.
 */
export function regionsOf(p: RegionPrompt, image: { width: number; height: number }): RegionSpec[] {
  const regions: RegionSpec[] = [];
  const inside = (x: number, y: number) => x >= 0 && y >= 0 && x < image.width && y < image.height;
  for (const pt of p.points) {
    if (!inside(pt.x, pt.y)) throw new RegionPromptError(`the point ${pt.x},${pt.y} is outside the ${image.width}×${image.height} image`);
  }
  if (p.points.length) {
    if (!p.points.some((q) => q.positive)) throw new RegionPromptError('a negative point cuts from positive points: place a positive point first');
    regions.push({ kind: 'points', points: p.points.map((q) => ({ x: q.x, y: q.y, positive: q.positive })) });
  }
  if (p.box) {
    const b = clampBox(p.box, image);
    if (!b) throw new RegionPromptError('the box lies outside the image');
    regions.push({ kind: 'box', ...b });
  }
  for (const s of p.scribbles) {
    if (!s.points.some((q) => inside(q.x, q.y))) throw new RegionPromptError('a scribble lies outside the image');
    regions.push({ kind: 'scribble', points: s.points.map((q) => ({ x: q.x, y: q.y })), width: s.width });
  }
  if (!regions.length) throw new RegionPromptError('place a point, a box or a scribble first');
  return regions;
}

/** The part of a box inside the image, or undefined when none is. Width and height stay at least 1. */
export function clampBox(b: PromptBox, image: { width: number; height: number }): PromptBox | undefined {
  const x0 = Math.max(0, Math.min(b.x, b.x + b.w));
  const y0 = Math.max(0, Math.min(b.y, b.y + b.h));
  const x1 = Math.min(image.width, Math.max(b.x, b.x + b.w));
  const y1 = Math.min(image.height, Math.max(b.y, b.y + b.h));
  if (x1 <= x0 || y1 <= y0) return undefined;
  return { x: x0, y: y0, w: x1 - x0, h: y1 - y0 };
}
