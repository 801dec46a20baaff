// Messages between the image editor's webview (webview-ui/) and the extension host. Both sides import
// this file. The host trusts nothing that comes from the webview: every message is parsed with
// fromWebviewSchema first. The webview imports only the types, so zod is not bundled into it.
import { z } from 'zod';
import type { Category, Rle } from '../annotations/schema';

/** A category named by id (picked from the list) or by a name, which is created when new. */
export const categoryChoiceSchema = z.union([
  z.object({ id: z.number().int().positive() }).strict(),
  z.object({ name: z.string().trim().min(1).max(200) }).strict(),
]);
export type CategoryChoice = z.infer<typeof categoryChoiceSchema>;

export const fromWebviewSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ready') }).strict(),
  z.object({ type: z.literal('imageShown'), width: z.number().int().nonnegative(), height: z.number().int().nonnegative() }).strict(),
  z.object({ type: z.literal('prompt'), text: z.string().trim().min(1).max(2000) }).strict(),
  z.object({ type: z.literal('accept'), category: categoryChoiceSchema }).strict(),
  z.object({ type: z.literal('reject') }).strict(),
  z.object({ type: z.literal('delete'), id: z.number().int().positive() }).strict(),
  z.object({ type: z.literal('setCategory'), id: z.number().int().positive(), category: categoryChoiceSchema }).strict(),
  z.object({ type: z.literal('retryEngine') }).strict(),
  z.object({ type: z.literal('error'), message: z.string().max(10000) }).strict(),
]);
export type FromWebview = z.infer<typeof fromWebviewSchema>;

/** What the webview needs to draw and describe one object. */
export interface ObjectView {
  id: number;
  categoryId: number;
  rle: Rle | null;
  /** COCO polygons when the object was drawn by hand (rle is null then). */
  polygons: number[][] | null;
  bbox: [number, number, number, number];
  area: number;
  origin: 'model' | 'human';
  status: 'proposed' | 'accepted' | 'rejected';
  prompt?: string;
}

export type EngineView =
  | { state: 'starting' }
  | { state: 'ready'; summary: string }
  | { state: 'failed'; message: string };

export type ToWebview =
  | { type: 'init'; image: { src: string; name: string; width: number; height: number }; objects: ObjectView[]; categories: Category[]; problem?: string }
  | { type: 'objects'; objects: ObjectView[] }
  | { type: 'categories'; categories: Category[] }
  | { type: 'engine'; engine: EngineView }
  | { type: 'busy'; prompt: string }
  /** mask null: the model found no target for the prompt. */
  | { type: 'candidate'; prompt: string; answer: string; mask: { rle: Rle; area: number; bbox: [number, number, number, number] } | null; ms: number }
  | { type: 'candidateCleared' }
  | { type: 'promptFailed'; prompt: string; message: string }
  /** A problem with the store (malformed file, failed save) to show in the editor's banner. */
  | { type: 'problem'; message: string | null };
