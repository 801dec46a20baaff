// The annotation store's file formats, as zod schemas: one file per image
// (<root>/.pixel-sail/annotations/<image path>.json) and one category list per dataset root
// (<root>/.pixel-sail/categories.json). Field names follow COCO's so exports are a copy, not a translation.
// Objects are "loose": keys this version does not know are kept and written back, so a file touched by a
// newer tool or by hand loses nothing when this one saves it.
import { z } from 'zod';
import { storedConversationSchema } from './conversationSchema';
import { annotationOriginSchema, annotationStatusSchema, bboxSchema, categorySchema, polygonsSchema, rleSchema } from './sharedSchemas';

/** The version this code writes. Older versions are migrated on load (see store.ts). */
export const STORE_VERSION = 1;

const nonNegative = z.number().finite().nonnegative();
const positiveInt = z.number().int().positive();

// The shapes the webview protocols share (rle, bbox, polygons, origin, status, category) are in sharedSchemas.ts.
export { rleSchema, polygonsSchema, categorySchema };

export const pixelSailFieldsSchema = z.looseObject({
  origin: annotationOriginSchema,
  status: annotationStatusSchema,
  prompt: z.string().optional(),
  model: z.string().optional(),
  caption: z.string().optional(),
  job: z.string().optional(),
});

export const annotationSchema = z.looseObject({
  id: positiveInt,
  category_id: positiveInt,
  segmentation: z.union([rleSchema, polygonsSchema]),
  area: nonNegative,
  bbox: bboxSchema,
  iscrowd: z.union([z.literal(0), z.literal(1)]),
  pixel_sail: pixelSailFieldsSchema,
});

export const imageEntrySchema = z.looseObject({
  file_name: z.string().min(1),
  width: positiveInt,
  height: positiveInt,
});

export const annotationFileSchema = z.looseObject({
  version: z.literal(STORE_VERSION),
  image: imageEntrySchema,
  annotations: z.array(annotationSchema),
  /** The chat about this image (conversationSchema.ts); absent in files without one. */
  conversations: z.array(storedConversationSchema).optional(),
});

export const categoriesFileSchema = z.looseObject({
  version: z.literal(STORE_VERSION),
  /** The id the next new category gets: ids are never reused, even after a category is removed by hand. */
  next_id: positiveInt,
  categories: z.array(categorySchema),
});

export type Rle = z.infer<typeof rleSchema>;
export type Segmentation = z.infer<typeof annotationSchema>['segmentation'];
export type PixelSailFields = z.infer<typeof pixelSailFieldsSchema>;
export type Annotation = z.infer<typeof annotationSchema>;
export type ImageEntry = z.infer<typeof imageEntrySchema>;
export type AnnotationFile = z.infer<typeof annotationFileSchema>;
export type Category = z.infer<typeof categorySchema>;
export type CategoriesFile = z.infer<typeof categoriesFileSchema>;
