// An annotation as the editor's webview draws and lists it (ObjectView, protocol.ts). Pure, so the unit tests
// check what the host really sends against the protocol's schema.
import type { Annotation } from '../annotations/schema';
import type { ObjectView } from './protocol';

export function objectView(a: Annotation): ObjectView {
  const seg = a.segmentation;
  return {
    id: a.id,
    categoryId: a.category_id,
    rle: Array.isArray(seg) ? null : seg,
    polygons: Array.isArray(seg) ? seg : null,
    bbox: a.bbox,
    area: a.area,
    origin: a.pixel_sail.origin,
    status: a.pixel_sail.status,
    prompt: a.pixel_sail.prompt,
    caption: a.pixel_sail.caption,
  };
}
