// The annotation document of one image: its objects, and edits as plain values that apply to a state and
// invert exactly. The editor hands each edit to VS Code (onDidChangeCustomDocument) with undo = apply the
// inverse and redo = apply the edit again, so VS Code owns the one undo stack. States are immutable, so an
// edit that does not fit (a stale undo after a reload from disk) fails loudly instead of corrupting objects.
import type { RegionSpec } from '../engine/regions';
import { rasterizeRegion } from '../engine/regions';
import { fillPolygons, polygonsBbox, polygonsPixelCount } from '../masks/polygons';
import { decodeRle, encodeMask, maskBbox } from '../masks/rle';
import type { Annotation, AnnotationFile, ImageEntry, PixelSailFields, Rle } from './schema';
import { STORE_VERSION } from './schema';
import type { Conversation } from './conversationSchema';
import { upgradeConversation } from '../chat/conversation';

export interface AnnotationState {
  readonly image: ImageEntry;
  readonly annotations: readonly Annotation[];
  /** The chat about the image (src/chat/conversation.ts), at most one per image today. */
  readonly conversations?: readonly Conversation[];
  /** Top-level keys of the store file this version does not know; written back untouched. */
  readonly extra?: Readonly<Record<string, unknown>>;
}

export type AnnotationEdit =
  | { readonly kind: 'add'; readonly annotation: Annotation; readonly index: number }
  | { readonly kind: 'remove'; readonly annotation: Annotation; readonly index: number }
  | { readonly kind: 'setCategory'; readonly id: number; readonly from: number; readonly to: number }
  /** Several edits as one step of the undo stack (a batch job's result for an image); label names it in Undo. */
  | { readonly kind: 'compound'; readonly edits: readonly AnnotationEdit[]; readonly label: string }
  | { readonly kind: 'setConversations'; readonly from: readonly Conversation[]; readonly to: readonly Conversation[]; readonly label: string }
  /** One object replaced by a new version of itself (a brush stroke, a caption); label names it in Undo. */
  | { readonly kind: 'replace'; readonly from: Annotation; readonly to: Annotation; readonly label: string };

export class EditConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EditConflictError';
  }
}

const sameAnnotation = (a: Annotation, b: Annotation) => JSON.stringify(a) === JSON.stringify(b);

export function applyEdit(state: AnnotationState, edit: AnnotationEdit): AnnotationState {
  const list = state.annotations;
  switch (edit.kind) {
    case 'add': {
      if (list.some((a) => a.id === edit.annotation.id)) throw new EditConflictError(`object ${edit.annotation.id} already exists`);
      const index = Math.min(edit.index, list.length);
      return { ...state, annotations: [...list.slice(0, index), edit.annotation, ...list.slice(index)] };
    }
    case 'remove': {
      const index = list.findIndex((a) => a.id === edit.annotation.id);
      if (index < 0) throw new EditConflictError(`object ${edit.annotation.id} is not in the document`);
      if (!sameAnnotation(list[index], edit.annotation)) throw new EditConflictError(`object ${edit.annotation.id} has changed since this edit was made`);
      return { ...state, annotations: list.filter((_, i) => i !== index) };
    }
    case 'setCategory': {
      const index = list.findIndex((a) => a.id === edit.id);
      if (index < 0) throw new EditConflictError(`object ${edit.id} is not in the document`);
      if (list[index].category_id !== edit.from) throw new EditConflictError(`object ${edit.id} has category ${list[index].category_id}, not ${edit.from}`);
      return { ...state, annotations: list.map((a, i) => (i === index ? { ...a, category_id: edit.to } : a)) };
    }
    case 'compound':
      return edit.edits.reduce(applyEdit, state);
    case 'setConversations': {
      if (JSON.stringify(state.conversations ?? []) !== JSON.stringify(edit.from)) throw new EditConflictError('the conversation has changed since this edit was made');
      return { ...state, conversations: edit.to };
    }
    case 'replace': {
      if (edit.from.id !== edit.to.id) throw new EditConflictError(`a replace edit keeps the object's id (${edit.from.id} → ${edit.to.id})`);
      const index = list.findIndex((a) => a.id === edit.from.id);
      if (index < 0) throw new EditConflictError(`object ${edit.from.id} is not in the document`);
      if (!sameAnnotation(list[index], edit.from)) throw new EditConflictError(`object ${edit.from.id} has changed since this edit was made`);
      return { ...state, annotations: list.map((a, i) => (i === index ? edit.to : a)) };
    }
  }
}

export function invertEdit(edit: AnnotationEdit): AnnotationEdit {
  switch (edit.kind) {
    case 'add':
      return { kind: 'remove', annotation: edit.annotation, index: edit.index };
    case 'remove':
      return { kind: 'add', annotation: edit.annotation, index: edit.index };
    case 'setCategory':
      return { kind: 'setCategory', id: edit.id, from: edit.to, to: edit.from };
    case 'compound':
      return { kind: 'compound', edits: [...edit.edits].reverse().map(invertEdit), label: edit.label };
    case 'setConversations':
      return { kind: 'setConversations', from: edit.to, to: edit.from, label: edit.label };
    case 'replace':
      return { kind: 'replace', from: edit.to, to: edit.from, label: edit.label };
  }
}

/** What VS Code shows in Edit → Undo/Redo. */
export function describeEdit(edit: AnnotationEdit): string {
  switch (edit.kind) {
    case 'add':
      return 'Accept object';
    case 'remove':
      return 'Delete object';
    case 'setCategory':
      return 'Change category';
    case 'compound':
    case 'setConversations':
    case 'replace':
      return edit.label;
  }
}

/** The mask the model proposed for a prompt, before the user accepts or rejects it. */
export interface Candidate {
  rle: Rle;
  area: number;
  bbox: [number, number, number, number];
  /** The text prompt, or for a visual prompt a short description of it ("2 points, 1 box"). */
  prompt: string;
  model: string;
  /** The engine regions of a visual prompt, kept with the object so one can see what was clicked. */
  regions?: RegionSpec[];
}

/** Ids are one more than the largest in the document, so an object's id stays its own across saves. */
export function nextAnnotationId(state: AnnotationState): number {
  return state.annotations.reduce((m, a) => Math.max(m, a.id), 0) + 1;
}

export function acceptCandidate(state: AnnotationState, candidate: Candidate, categoryId: number): AnnotationEdit {
  const pixelSail: PixelSailFields = { origin: 'model', status: 'accepted', prompt: candidate.prompt, model: candidate.model, ...(candidate.regions ? { regions: candidate.regions } : {}) };
  const annotation: Annotation = {
    id: nextAnnotationId(state),
    category_id: categoryId,
    segmentation: { size: [candidate.rle.size[0], candidate.rle.size[1]], counts: candidate.rle.counts },
    area: candidate.area,
    bbox: [...candidate.bbox],
    iscrowd: 0,
    pixel_sail: pixelSail,
  };
  return { kind: 'add', annotation, index: state.annotations.length };
}

export function removeObject(state: AnnotationState, id: number): AnnotationEdit {
  const index = state.annotations.findIndex((a) => a.id === id);
  if (index < 0) throw new EditConflictError(`object ${id} is not in the document`);
  return { kind: 'remove', annotation: state.annotations[index], index };
}

export function changeCategory(state: AnnotationState, id: number, categoryId: number): AnnotationEdit | undefined {
  const annotation = state.annotations.find((a) => a.id === id);
  if (!annotation) throw new EditConflictError(`object ${id} is not in the document`);
  return annotation.category_id === categoryId ? undefined : { kind: 'setCategory', id, from: annotation.category_id, to: categoryId };
}

function findObject(state: AnnotationState, id: number): Annotation {
  const annotation = state.annotations.find((a) => a.id === id);
  if (!annotation) throw new EditConflictError(`object ${id} is not in the document`);
  return annotation;
}

/** An object's pixels at the image's size, whether it is stored as RLE or as (hand-drawn) polygons. */
export function objectMask(annotation: Annotation, width: number, height: number): Uint8Array {
  const seg = annotation.segmentation;
  if (Array.isArray(seg)) return fillPolygons(seg, height, width);
  if (seg.size[0] !== height || seg.size[1] !== width) throw new EditConflictError(`object ${annotation.id}'s mask is ${seg.size[1]}×${seg.size[0]}, the image is ${width}×${height}`);
  return decodeRle(seg);
}

/** A brush or eraser stroke: a freehand path of the given width in image pixels. */
export interface Stroke {
  points: { x: number; y: number }[];
  width: number;
}

/** The stroke's pixels, rasterised exactly as the engine rasterises a scribble of that width. */
export function strokeMask(stroke: Stroke, width: number, height: number): Uint8Array {
  return rasterizeRegion({ kind: 'scribble', points: stroke.points, width: stroke.width }, width, height, stroke.width / 2);
}

/**
 * Paints a stroke into (brush) or out of (eraser) an object's mask: one edit, stored as RLE from then on.
 * Undefined when the stroke changes no pixel. An eraser that removes every pixel is refused: delete the
 * object instead (an empty object would only confuse exports).
 */
export function paintStroke(state: AnnotationState, id: number, stroke: Stroke, mode: 'brush' | 'eraser'): AnnotationEdit | undefined {
  const from = findObject(state, id);
  const { width, height } = state.image;
  const mask = objectMask(from, width, height);
  const paint = strokeMask(stroke, width, height);
  let changed = false;
  for (let i = 0; i < mask.length; i++) {
    if (!paint[i]) continue;
    const v = mode === 'brush' ? 1 : 0;
    if (mask[i] !== v) {
      mask[i] = v;
      changed = true;
    }
  }
  if (!changed) return undefined;
  const area = mask.reduce((s, v) => s + v, 0);
  if (!area) throw new EditConflictError(`the eraser would remove every pixel of object ${id}: delete the object instead`);
  const to: Annotation = { ...from, segmentation: encodeMask(mask, height, width), area, bbox: maskBbox(mask, height, width) };
  return { kind: 'replace', from, to, label: mode === 'brush' ? 'Brush stroke' : 'Eraser stroke' };
}

/** A new object from a stroke painted where no object is selected. */
export function strokeObject(state: AnnotationState, stroke: Stroke, categoryId: number): AnnotationEdit {
  const { width, height } = state.image;
  const mask = strokeMask(stroke, width, height);
  const annotation: Annotation = {
    id: nextAnnotationId(state),
    category_id: categoryId,
    segmentation: encodeMask(mask, height, width),
    area: mask.reduce((s, v) => s + v, 0),
    bbox: maskBbox(mask, height, width),
    iscrowd: 0,
    pixel_sail: { origin: 'human', status: 'accepted' },
  };
  return { kind: 'add', annotation, index: state.annotations.length };
}

/** A hand-drawn polygon, saved exactly as drawn: COCO polygon [x1, y1, x2, y2, …]. */
export function polygonObject(state: AnnotationState, polygon: number[], categoryId: number): AnnotationEdit {
  if (polygon.length < 6 || polygon.length % 2) throw new EditConflictError('a polygon needs at least three vertices');
  const { width, height } = state.image;
  const area = polygonsPixelCount([polygon], height, width);
  if (!area) throw new EditConflictError('the polygon covers no pixel of the image');
  const annotation: Annotation = {
    id: nextAnnotationId(state),
    category_id: categoryId,
    segmentation: [[...polygon]],
    area,
    bbox: polygonsBbox([polygon]),
    iscrowd: 0,
    pixel_sail: { origin: 'human', status: 'accepted' },
  };
  return { kind: 'add', annotation, index: state.annotations.length };
}

/** A hand-drawn object's polygons replaced (a vertex moved): one edit, area and box follow the new shape. */
export function reshapePolygons(state: AnnotationState, id: number, polygons: number[][]): AnnotationEdit | undefined {
  const from = findObject(state, id);
  if (!Array.isArray(from.segmentation)) throw new EditConflictError(`object ${id} is a mask, not a polygon: use the brush or eraser`);
  if (!polygons.length || polygons.some((p) => p.length < 6 || p.length % 2)) throw new EditConflictError('a polygon needs at least three vertices');
  if (JSON.stringify(from.segmentation) === JSON.stringify(polygons)) return undefined;
  const { width, height } = state.image;
  const area = polygonsPixelCount(polygons, height, width);
  if (!area) throw new EditConflictError('the polygon would cover no pixel of the image');
  const to: Annotation = { ...from, segmentation: polygons.map((p) => [...p]), area, bbox: polygonsBbox(polygons) };
  return { kind: 'replace', from, to, label: 'Move vertex' };
}

/**
 * Stores a caption of an object (already free of special tokens: readableText.ts), from the editor's Describe
 * or an answer in the chat; label names the edit in Undo. Undefined when unchanged.
 */
export function setCaption(state: AnnotationState, id: number, caption: string, label = 'Describe object'): AnnotationEdit | undefined {
  const from = findObject(state, id);
  if (from.pixel_sail.caption === caption) return undefined;
  return { kind: 'replace', from, to: { ...from, pixel_sail: { ...from.pixel_sail, caption } }, label };
}

export function emptyState(image: ImageEntry): AnnotationState {
  return { image, annotations: [] };
}

export function stateFromFile(file: AnnotationFile): AnnotationState {
  const { version: _version, image, annotations, conversations, ...extra } = file;
  const chat = conversations?.length ? { conversations: conversations.map(upgradeConversation) } : {};
  return Object.keys(extra).length ? { image, annotations, ...chat, extra } : { image, annotations, ...chat };
}

export function stateToFile(state: AnnotationState): AnnotationFile {
  // A file without a chat stays exactly as before: the key is written only when there is a conversation.
  const chat = state.conversations?.length ? { conversations: [...state.conversations] } : {};
  return { version: STORE_VERSION, ...(state.extra ?? {}), image: state.image, annotations: [...state.annotations], ...chat };
}

/** An object a batch job found, before the document it goes into gives it an id. */
export type NewObject = Pick<Annotation, 'category_id' | 'segmentation' | 'area' | 'bbox' | 'iscrowd' | 'pixel_sail'>;

/**
 * A batch job's result for one image as one edit: the objects `remove` picks go (this job's earlier
 * attempt, or under the replace policy the model's unreviewed proposals), and `found` is added with the
 * next free ids of this state. The same result applies to an open document and to the file on disk, each
 * with its own ids. Undefined when the result changes nothing.
 */
export function jobResultEdit(state: AnnotationState, remove: (a: Annotation) => boolean, found: readonly NewObject[], label: string): AnnotationEdit | undefined {
  const removals: AnnotationEdit[] = [];
  // From the end, so the index each removal records is still right when its inverse puts it back.
  for (let i = state.annotations.length - 1; i >= 0; i--) {
    const a = state.annotations[i];
    if (remove(a)) removals.push({ kind: 'remove', annotation: a, index: i });
  }
  let id = nextAnnotationId(state);
  const kept = state.annotations.length - removals.length;
  const adds: AnnotationEdit[] = found.map((o, k) => ({ kind: 'add', annotation: { id: id++, ...o } as Annotation, index: kept + k }));
  const edits = [...removals, ...adds];
  return edits.length ? { kind: 'compound', edits, label } : undefined;
}

/** A batch job's proposal reviewed: accepted as it is (the object stays, now `accepted`). */
export function acceptProposal(state: AnnotationState, id: number): AnnotationEdit {
  const from = findObject(state, id);
  if (from.pixel_sail.status !== 'proposed') throw new EditConflictError(`object ${id} is ${from.pixel_sail.status}, not a proposal`);
  return { kind: 'replace', from, to: { ...from, pixel_sail: { ...from.pixel_sail, status: 'accepted' } }, label: 'Accept proposal' };
}

/** A batch job's proposal reviewed and turned down: it goes, as one undoable step. */
export function rejectProposal(state: AnnotationState, id: number): AnnotationEdit {
  const from = findObject(state, id);
  if (from.pixel_sail.status !== 'proposed') throw new EditConflictError(`object ${id} is ${from.pixel_sail.status}, not a proposal`);
  return { kind: 'compound', edits: [removeObject(state, id)], label: 'Reject proposal' };
}

/** Every proposal of the image accepted as one undoable step; undefined when there is none. */
export function acceptAllProposals(state: AnnotationState): AnnotationEdit | undefined {
  const edits = state.annotations.filter((a) => a.pixel_sail.status === 'proposed').map((a) => acceptProposal(state, a.id));
  return edits.length ? { kind: 'compound', edits, label: 'Accept all proposals on image' } : undefined;
}
