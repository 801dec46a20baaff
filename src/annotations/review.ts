// Reviewing what batch jobs proposed, across a dataset root. The images to review are those a job of the
// root has done (its manifests say so); an image is reviewed when none of its objects is still `proposed`.
// The open editor's document counts as it is now, saved or not. Store files are re-read only when their
// size or time changes, so asking again after each review step costs a stat per image.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Annotation } from './schema';
import { byteOrder } from './cocoExport';
import { parseAnnotationFile, STORE_DIR } from './store';

export interface ReviewStatus {
  /** Images some job of the root has done, relative to the root, in byte order. */
  images: string[];
  /** Those with a proposed object still. */
  unreviewed: string[];
}

const proposedIn = new Map<string, { stamp: string; proposed: boolean }>();
const doneIn = new Map<string, { stamp: string; images: string[] }>();

/** Size, time and inode: an atomic rewrite (a rename) changes the inode even within one clock tick. */
function stampOf(file: string): string {
  const st = fs.statSync(file);
  return `${st.size}:${st.mtimeMs}:${st.ino}`;
}

function hasProposal(annotations: readonly Annotation[]): boolean {
  return annotations.some((a) => a.pixel_sail.status === 'proposed');
}

/** Whether the store file of an image holds a proposal; a missing or broken file counts as none. */
function storeHasProposal(root: string, image: string): boolean {
  const file = path.join(root, STORE_DIR, 'annotations', ...`${image}.json`.split('/'));
  let stamp: string;
  try {
    stamp = stampOf(file);
  } catch {
    return false;
  }
  const known = proposedIn.get(file);
  if (known?.stamp === stamp) return known.proposed;
  let proposed = false;
  try {
    proposed = hasProposal(parseAnnotationFile(fs.readFileSync(file, 'utf8'), file).annotations);
  } catch {
    // A broken store file is the editor's to report when it is opened; here it has nothing to review.
  }
  proposedIn.set(file, { stamp, proposed });
  return proposed;
}

/** The images one job manifest marks done; re-read only when the file changed (a broken one counts none). */
function doneImages(file: string): string[] {
  let stamp: string;
  try {
    stamp = stampOf(file);
  } catch {
    return [];
  }
  const known = doneIn.get(file);
  if (known?.stamp === stamp) return known.images;
  const images: string[] = [];
  try {
    const manifest = JSON.parse(fs.readFileSync(file, 'utf8')) as { images?: Record<string, { state?: string }> };
    for (const [image, entry] of Object.entries(manifest.images ?? {})) if (entry?.state === 'done') images.push(image);
  } catch {
    // the batch command reports a broken manifest when it is resumed
  }
  doneIn.set(file, { stamp, images });
  return images;
}

/** The images the root's jobs have done, from their manifests (a broken manifest is left out). */
function jobImages(root: string): string[] {
  const dir = path.join(root, STORE_DIR, 'jobs');
  const images = new Set<string>();
  let names: string[] = [];
  try {
    names = fs.readdirSync(dir).filter((f) => f.endsWith('.json'));
  } catch {
    return [];
  }
  for (const name of names) for (const image of doneImages(path.join(dir, name))) images.add(image);
  return [...images].sort(byteOrder);
}

export function reviewStatus(root: string, current?: { fileName: string; annotations: readonly Annotation[] }): ReviewStatus {
  const images = jobImages(root);
  const unreviewed = images.filter((image) => (image === current?.fileName ? hasProposal(current.annotations) : storeHasProposal(root, image)));
  return { images, unreviewed };
}

/** The next image with proposals after `fileName`, wrapping around; undefined when there is no other. */
export function nextUnreviewed(status: ReviewStatus, fileName: string): string | undefined {
  const others = status.unreviewed.filter((f) => f !== fileName);
  return others.find((f) => byteOrder(f, fileName) > 0) ?? others[0];
}

/** The image before `fileName` among the reviewed folder's images, in byte order; undefined at the first. */
export function previousImage(status: ReviewStatus, fileName: string): string | undefined {
  return status.images.filter((f) => byteOrder(f, fileName) < 0).pop();
}
