// The editor's tools and their keys, and small pure helpers of drawing (kept off the DOM for unit tests).
import { toScreen, Viewport } from './viewport';

export type Tool = 'select' | 'positive' | 'negative' | 'box' | 'scribble' | 'polygon' | 'brush' | 'eraser';

/** One key per tool (lower case), as the buttons' tooltips and the README list them. */
export const TOOL_KEYS: Readonly<Record<string, Tool>> = {
  v: 'select',
  q: 'positive',
  e: 'negative',
  r: 'box',
  s: 'scribble',
  p: 'polygon',
  b: 'brush',
  x: 'eraser',
};

/** Tools whose marks together form the visual prompt sent to the model. */
export const PROMPT_TOOLS: readonly Tool[] = ['positive', 'negative', 'box', 'scribble'];

export const MIN_SIZE = 1;
export const MAX_SIZE = 500;

/** [ and ] change the brush size by about a quarter, at least one pixel. */
export function nextSize(size: number, direction: 1 | -1): number {
  const step = Math.max(1, Math.round(size * 0.25));
  return Math.min(MAX_SIZE, Math.max(MIN_SIZE, size + direction * step));
}

/** Image coordinates as stored: two decimals are far below a pixel and keep the JSON readable. */
export function roundCoord(v: number): number {
  return Math.round(v * 100) / 100;
}

/** A click within `radius` screen pixels of the first vertex closes a polygon of three or more vertices. */
export function closesPolygon(vertices: readonly { x: number; y: number }[], screen: { x: number; y: number }, v: Viewport, radius = 8): boolean {
  if (vertices.length < 3) return false;
  const first = toScreen(v, vertices[0].x, vertices[0].y);
  return Math.hypot(first.x - screen.x, first.y - screen.y) <= radius;
}

/**
 * Whether a press beside the image (in the canvas's margin) starts what the tool draws. Drawing starts on the
 * image, so a press beside it (to focus the editor, say) draws nothing; but a polygon already begun takes
 * vertices there (clamped to the edge), and a box may start there: dragging from outside in is how one frames
 * an object at the image's border, the part inside the image is what the model gets (regionPrompt.ts clamps
 * it), and a press without a drag is still no box. Select handles a press beside the image itself.
 */
export function pressBesideImageDraws(tool: Tool, polygonVertices: number): boolean {
  return tool === 'select' || tool === 'box' || (tool === 'polygon' && polygonVertices > 0);
}

/** Drops points closer than `minGap` image pixels to the previous one: a stroke keeps its shape, not every mouse event. */
export function thinPath(points: readonly { x: number; y: number }[], minGap: number): { x: number; y: number }[] {
  const out: { x: number; y: number }[] = [];
  for (const p of points) {
    const last = out[out.length - 1];
    if (!last || Math.hypot(p.x - last.x, p.y - last.y) >= minGap) out.push(p);
  }
  const end = points[points.length - 1];
  if (end && out[out.length - 1] !== end) out.push(end);
  return out;
}
