// Merging the COCO exports of a job's shards into the one file a single machine would have exported: images
// renumbered in sorted file_name order, annotations in (image, object) order. Shards partition the images,
// so each image's objects come whole from one file; an image found in several files must be identical in
// each (so merging is idempotent), and every file must have the same categories.
import { readJsonFile } from '../jsonText';
import { byteOrder } from './cocoExport';
import type { CocoAnnotation, CocoFile } from './cocoExport';

export class MergeError extends Error {}


function read(file: string): CocoFile {
  const read = readJsonFile(file);
  if (!read.ok) throw new MergeError(`cannot read ${file}: ${read.problem} (merge takes the COCO JSON files of \`export\` or \`annotate --out\`)`);
  const coco = read.value as CocoFile;
  if (!Array.isArray(coco?.images) || !Array.isArray(coco.annotations) || !Array.isArray(coco.categories)) {
    throw new MergeError(`${file} is not a COCO export (it needs images, annotations and categories)`);
  }
  return coco;
}

export function mergeCoco(files: string[]): CocoFile {
  if (!files.length) throw new MergeError('nothing to merge: name the shard exports');
  const shards = files.map((f) => ({ file: f, coco: read(f) }));
  const key = (c: CocoFile['categories']) => JSON.stringify([...c].sort((a, b) => a.id - b.id));
  const first = shards[0];
  for (const s of shards.slice(1)) {
    if (key(s.coco.categories) !== key(first.coco.categories)) {
      const names = (c: CocoFile['categories']) => new Set(c.map((x) => `${x.id}:${x.name}`));
      const a = names(first.coco.categories), b = names(s.coco.categories);
      const only = (x: Set<string>, y: Set<string>) => [...x].filter((v) => !y.has(v));
      throw new MergeError(`${s.file} has other categories than ${first.file}: only in ${first.file}: [${only(a, b).join(', ')}]; only in ${s.file}: [${only(b, a).join(', ')}]`);
    }
  }
  const images = new Map<string, { image: CocoFile['images'][number]; annotations: CocoAnnotation[]; from: string }>();
  for (const { file, coco } of shards) {
    for (const image of coco.images) {
      const annotations = coco.annotations.filter((a) => a.image_id === image.id);
      const strip = (list: CocoAnnotation[]) => JSON.stringify(list.map(({ id: _, image_id: __, ...rest }) => rest));
      const seen = images.get(image.file_name);
      if (seen) {
        if (seen.image.width !== image.width || seen.image.height !== image.height || strip(seen.annotations) !== strip(annotations)) {
          throw new MergeError(`${image.file_name} is in both ${seen.from} and ${file} with different content: were they exported from different runs?`);
        }
        continue;
      }
      images.set(image.file_name, { image, annotations, from: file });
    }
  }
  const merged: CocoFile = { info: first.coco.info, licenses: first.coco.licenses ?? [], images: [], annotations: [], categories: first.coco.categories };
  [...images.keys()].sort(byteOrder).forEach((name, i) => {
    const { image, annotations } = images.get(name)!;
    merged.images.push({ ...image, id: i + 1 });
    for (const a of annotations) merged.annotations.push({ ...a, id: merged.annotations.length + 1, image_id: i + 1 });
  });
  return merged;
}
