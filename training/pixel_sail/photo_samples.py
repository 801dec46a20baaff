"""Training samples from the real-photo train targets (pixel_sail.photo_targets, issue 19 section 3): a crop
of a train-scene photo, one visual prompt on its target (a box, one click or a scribble, as the engine takes
them) and "segment <PromptK>" answered with the target's mask. Off unless train.py's --photo-prompts asks.

The crop is letterboxed into the square training image (long side = size, black below or right of it), since
a batch's images share one size; the engine sees the crop at its own aspect, so the padding only adds
patches the prompt never covers. Prompts vary where the eval's are fixed: the box is the target's bounding
box, the click a random pixel at least half the distance-transform maximum from the border, the scribble a
stroke through such a pixel along the target's long axis (as `pixel-sail eval` draws it, photoPrompts.ts).
"""
from __future__ import annotations

from typing import List, Tuple

import numpy as np

from .preprocess import normalize, patchify, prompt_slots
from .prompts import SEGMENT_ANSWERS, SEGMENT_TEMPLATES

PROMPT_KINDS = ("box", "points", "scribble")


def letterbox(rgb: np.ndarray, mask: np.ndarray, size: int) -> Tuple[np.ndarray, np.ndarray]:
    """The crop and its mask scaled so the long side is ``size``, in the top-left of a size × size square."""
    from PIL import Image

    h, w = mask.shape
    s = size / max(h, w)
    nw, nh = max(1, int(round(w * s))), max(1, int(round(h * s)))
    img = np.zeros((size, size, 3), np.uint8)
    img[:nh, :nw] = np.asarray(Image.fromarray(rgb).resize((nw, nh), Image.BILINEAR))
    m = np.zeros((size, size), bool)
    m[:nh, :nw] = np.asarray(Image.fromarray(mask.astype(np.uint8) * 255).resize((nw, nh), Image.BILINEAR)) >= 128
    return img, m


def visual_prompt_for(mask: np.ndarray, kind: str, rng: np.random.Generator) -> dict:
    """A prompt in the generator's format (pixel_sail.data.rasterize_prompt) for the target ``mask``."""
    from scipy import ndimage

    ys, xs = np.nonzero(mask)
    if kind == "box":
        return {"kind": "box", "bbox": [int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)]}
    dt = ndimage.distance_transform_edt(np.pad(mask, 1))[1:-1, 1:-1]
    iy, ix = np.nonzero(dt >= dt.max() / 2)
    k = int(rng.integers(len(ix)))
    cx, cy = int(ix[k]), int(iy[k])
    if kind == "points":
        return {"kind": "points", "points": [[cx, cy, 1]]}
    pts = np.stack([xs, ys], 1).astype(float)
    axis = np.linalg.svd(pts - pts.mean(0), full_matrices=False)[2][0] if len(pts) > 1 else np.array([1.0, 0.0])
    floor = dt.max() / 2

    def inside(t: int) -> bool:
        x, y = int(round(cx + t * axis[0])), int(round(cy + t * axis[1]))
        return 0 <= x < mask.shape[1] and 0 <= y < mask.shape[0] and dt[y, x] >= floor

    lo = hi = 0
    while inside(hi + 1):
        hi += 1
    while inside(lo - 1):
        lo -= 1
    n = min(16, max(2, (hi - lo) // 4 + 1))
    line = [[int(round(cx + t * axis[0])), int(round(cy + t * axis[1]))] for t in np.linspace(lo, hi, n)]
    return {"kind": "scribble", "points": line, "width": int(max(2, round(0.12 * dt.max())))}


def photo_prompt_sample(rgb: np.ndarray, mask: np.ndarray, builder, size: int, rng: np.random.Generator,
                        image_index: int = -1):
    """One region-segmentation sequence (kind "photo_prompt") on a real-photo train target."""
    from .data import Sample, rasterize_prompt

    cfg = builder.cfg
    img, m = letterbox(rgb, mask, size)
    if not m.any():
        raise ValueError("the target vanished when the crop was scaled to the training size")
    kind = PROMPT_KINDS[int(rng.integers(len(PROMPT_KINDS)))]
    vp = visual_prompt_for(m, kind, rng)
    slot = int(rng.integers(cfg.num_prompt_slots))
    slots = prompt_slots([rasterize_prompt(vp, m, 1.0, cfg.patch_size)], [slot], size, size, cfg.patch_size)
    prompt = SEGMENT_TEMPLATES[int(rng.integers(len(SEGMENT_TEMPLATES)))].format(expression=f"<Prompt{slot}>")
    ids, labels = builder.turns([(prompt, SEGMENT_ANSWERS[0])])
    return Sample(ids, labels, patchify(normalize(img), cfg.patch_size), slots, [m], "photo_prompt", image_index)


def load_photo_pool(train_file: str, split_doc: dict, photos_root: str) -> List[Tuple[np.ndarray, np.ndarray]]:
    """Every cached train target as (RGB crop, mask), checked against the split (photo_targets.load_train_targets)."""
    from .photo_targets import load_train_targets

    return [(rgb, m) for _, rgb, m in load_train_targets(train_file, split_doc, photos_root)]
