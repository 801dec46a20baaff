// Zoom and pan as plain numbers, apart from the DOM so they are unit-tested on Node. The image is drawn
// at `scale` screen pixels per image pixel with its top-left corner at (tx, ty) in the canvas's CSS
// pixels; every pointer position goes through toImage, so a click lands on the pixel under the cursor at
// any zoom.

export interface Viewport {
  scale: number;
  tx: number;
  ty: number;
}

export const MIN_SCALE = 1 / 64;
export const MAX_SCALE = 64;

const clampScale = (s: number) => Math.min(MAX_SCALE, Math.max(MIN_SCALE, s));

/** Screen (canvas CSS pixels) → image pixel coordinates (continuous: pixel i covers [i, i+1)). */
export function toImage(v: Viewport, sx: number, sy: number): { x: number; y: number } {
  return { x: (sx - v.tx) / v.scale, y: (sy - v.ty) / v.scale };
}

export function toScreen(v: Viewport, ix: number, iy: number): { x: number; y: number } {
  return { x: ix * v.scale + v.tx, y: iy * v.scale + v.ty };
}

/** The integer pixel under a screen point, or undefined outside the image. */
export function pixelAt(v: Viewport, sx: number, sy: number, width: number, height: number): { x: number; y: number } | undefined {
  const p = toImage(v, sx, sy);
  const x = Math.floor(p.x);
  const y = Math.floor(p.y);
  return x >= 0 && y >= 0 && x < width && y < height ? { x, y } : undefined;
}

/** The whole image, centred, as large as fits (never above 100 %: small images stay sharp 1:1). */
export function fitView(width: number, height: number, viewW: number, viewH: number, margin = 8): Viewport {
  const scale = clampScale(Math.min(1, (viewW - 2 * margin) / width, (viewH - 2 * margin) / height));
  return { scale, tx: (viewW - width * scale) / 2, ty: (viewH - height * scale) / 2 };
}

/** Zoom by factor keeping the image point under (sx, sy) where it is. */
export function zoomAt(v: Viewport, factor: number, sx: number, sy: number): Viewport {
  const scale = clampScale(v.scale * factor);
  const p = toImage(v, sx, sy);
  return { scale, tx: sx - p.x * scale, ty: sy - p.y * scale };
}

/** Set an absolute scale (100 % = 1) keeping the image point under (sx, sy). */
export function zoomTo(v: Viewport, scale: number, sx: number, sy: number): Viewport {
  return zoomAt(v, clampScale(scale) / v.scale, sx, sy);
}

export function panBy(v: Viewport, dx: number, dy: number): Viewport {
  return { ...v, tx: v.tx + dx, ty: v.ty + dy };
}

/**
 * The zoom steps of + and −: the scales 2^(k/4), so four presses double or halve and eight from 100 % give
 * exactly 400 %. A scale between steps (after the wheel) goes to the next step in that direction.
 */
export function zoomStep(v: Viewport, direction: 1 | -1, sx: number, sy: number): Viewport {
  const k = Math.log2(v.scale) * 4;
  const nearest = Math.round(k);
  const current = Math.abs(k - nearest) < 1e-6 ? nearest : direction > 0 ? Math.floor(k) : Math.ceil(k);
  return zoomTo(v, Math.pow(2, (current + direction) / 4), sx, sy);
}
