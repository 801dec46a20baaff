// The store's shapes that also cross a webview boundary (src/editor/protocol.ts, src/chat/protocol.ts): an
// RLE mask, a bounding box, hand-drawn polygons, an object's origin and status, a category, a chat turn's id, a
// chat region's geometry and a chat answer's mask. They are written once, here, in zod/mini: the webviews
// bundle their protocol's schemas, and classic zod (whose `z` namespace keeps every locale) would add about
// 800 KB to each bundle where mini adds about 45 KB. The store's classic schemas (schema.ts,
// conversationSchema.ts) compose these as they are; zod 4's classic and mini schemas mix freely.
import * as z from 'zod/mini';

const count = z.int().check(z.gte(0));
const positiveInt = z.int().check(z.gt(0));
const coord = z.number();
const nonNegative = z.number().check(z.gte(0));

/** COCO compressed RLE: size is [height, width]; counts the run lengths' string form (src/masks/rle.ts). */
export const rleSchema = z.object({
  size: z.tuple([count, count]),
  counts: z.string(),
});

/** COCO bbox [x, y, width, height] in pixels: an object's and a chat answer's mask's alike, never negative. */
export const bboxSchema = z.tuple([nonNegative, nonNegative, nonNegative, nonNegative]);

/** COCO polygons: one flat [x1, y1, x2, y2, …] list per part, at least three points each. */
export const polygonsSchema = z.array(z.array(coord).check(z.minLength(6), z.refine((p) => p.length % 2 === 0, 'a polygon needs an even number of coordinates'))).check(z.minLength(1));

/** Who made an object (the model, or a person by hand) and where its review stands. */
export const annotationOriginSchema = z.enum(['model', 'human']);
export const annotationStatusSchema = z.enum(['proposed', 'accepted', 'rejected']);

export const categorySchema = z.looseObject({
  id: positiveInt,
  name: z.string().check(z.trim(), z.minLength(1)),
  color: z.string().check(z.regex(/^#[0-9a-fA-F]{6}$/, 'a colour is #rrggbb')),
});

/**
 * A chat answer's mask as the store keeps it (conversationSchema.ts) and the webviews show it: the views accept
 * exactly what a store file may hold, so a file the store loads never makes a message a webview refuses.
 */
export const storedMaskShape = {
  rle: rleSchema,
  area: nonNegative,
  bbox: bboxSchema,
};

/**
 * A chat turn's id: any non-empty text, as the store has always read it. The chat webview sends it back (Copy,
 * Accept, Use as caption) checked by this same schema, so a button never refuses an id the store loaded.
 */
export const turnIdSchema = z.string().check(z.minLength(1));

const point = z.object({ x: coord, y: coord });

/** A chat region's geometry as the store keeps it (and the editor's canvas draws it): a region as the engine
 * takes it, minus mask files (a store file must not point at other files). */
export const storedRegionSpecSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('box'), x: coord, y: coord, w: coord.check(z.gt(0)), h: coord.check(z.gt(0)) }),
  z.object({ kind: z.literal('points'), points: z.array(z.extend(point, { positive: z.boolean() })).check(z.minLength(1)) }),
  z.object({ kind: z.literal('scribble'), points: z.array(point).check(z.minLength(1)), width: z.optional(coord.check(z.gt(0))) }),
  z.object({ kind: z.literal('rle'), rle: rleSchema }),
]);
