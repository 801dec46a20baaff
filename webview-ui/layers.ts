// The masks as canvases the view draws through its zoom: each a tile of its own box (overlay.ts paints
// the pixels). Objects keep their tiles between paints, so a new candidate paints only itself, and hover,
// selection, opacity and visibility only change how the kept tiles are composited, never their pixels.
import type { Rle } from '../src/masks/rle';
import { candidateStyle, colourStyle, DecodedMask, decodedOf, fillOpacity, objectStyles, paintTile, parseHex, Tile, TileStyle } from './overlay';

/** A tile as a canvas, transposed as overlay.ts paints it (the canvas's rows are the image's columns). */
export interface Layer {
  canvas: HTMLCanvasElement;
  x: number;
  y: number;
}

function toCanvas(tile: Tile, reuse?: HTMLCanvasElement): Layer {
  const canvas = reuse ?? document.createElement('canvas');
  canvas.width = tile.height;
  canvas.height = tile.width;
  canvas.getContext('2d')!.putImageData(new ImageData(tile.data, tile.height, tile.width), 0, 0);
  return { canvas, x: tile.x, y: tile.y };
}

/**
 * Draws a layer at its place in the image through the context's transform: the swap of x and y puts the
 * canvas's pixel (u, v) on image pixel (x + v, y + u), exactly, at any zoom (a reflection keeps pixels
 * square and aligned).
 */
export function drawLayer(ctx: CanvasRenderingContext2D, l: Layer) {
  const m = ctx.getTransform();
  ctx.transform(0, 1, 1, 0, l.x, l.y);
  ctx.drawImage(l.canvas, 0, 0);
  ctx.setTransform(m);
}

/** A mask's tile in a style, as a canvas (`reuse`: the canvas to paint it into). */
export function maskLayer(rle: Rle, style: TileStyle, reuse?: HTMLCanvasElement): Layer {
  return toCanvas(paintTile(decodedOf(rle), style), reuse);
}

export function candidateLayer(rle: Rle, reuse?: HTMLCanvasElement): Layer {
  return maskLayer(rle, candidateStyle(), reuse);
}

export function colourLayer(rle: Rle, colour: string, fillAlpha: number): Layer {
  return maskLayer(rle, colourStyle(parseHex(colour), fillAlpha), undefined);
}

interface ObjectLayers {
  mask: DecodedMask;
  outline: Layer;
  fill: Layer;
  /** Painted the first time the object is selected or hovered. */
  strongEdge?: Layer;
  styles: ReturnType<typeof objectStyles>;
  used: number;
}

const objectCache = new Map<string, ObjectLayers>();
let generation = 0;

function objectLayers(rle: Rle, colour: string, proposed: boolean): ObjectLayers {
  const key = `${colour}:${proposed ? 'p' : ''}:${rle.size[0]}x${rle.size[1]}:${rle.counts}`;
  let e = objectCache.get(key);
  if (!e) {
    const mask = decodedOf(rle);
    const styles = objectStyles(parseHex(colour), proposed);
    e = { mask, styles, outline: toCanvas(paintTile(mask, styles.outline)), fill: toCanvas(paintTile(mask, styles.fill)), used: generation };
    objectCache.set(key, e);
  }
  e.used = generation;
  return e;
}

export interface DrawnObject {
  rle: Rle;
  colour: string;
  proposed: boolean;
  /** Selected or hovered: a white edge and a stronger fill. */
  strong: boolean;
}

/**
 * Draws the objects in order through the context's current transform: each one's fill at the opacity
 * (outlines stay solid so a faint mask is still found), its outline, and the white edge when strong.
 */
export function drawObjects(ctx: CanvasRenderingContext2D, objects: DrawnObject[], opacity: number) {
  generation++;
  for (const o of objects) {
    const l = objectLayers(o.rle, o.colour, o.proposed);
    const alpha = fillOpacity(opacity, o.strong);
    if (alpha > 0) {
      ctx.globalAlpha = alpha;
      drawLayer(ctx, l.fill);
      ctx.globalAlpha = 1;
    }
    drawLayer(ctx, l.outline);
    if (o.strong) {
      l.strongEdge ??= toCanvas(paintTile(l.mask, l.styles.strongEdge));
      drawLayer(ctx, l.strongEdge);
    }
  }
  // Objects deleted, recoloured or reshaped leave tiles nobody draws: drop those once they pile up.
  if (objectCache.size > objects.length + 8) {
    for (const [key, e] of objectCache) if (e.used !== generation) objectCache.delete(key);
  }
}
