"""An easy world for teaching and probing shape: one plain object of random colour on a flat background,
asked about nothing but its shape.

  shape_text  "What shape is the object in this image?" → "It is a <shape>."  (no mask; full LM weight)
  shape_res   "Please segment the <shape> in this image." naming its shape (→ "It is [SEG]." and its mask) or
              another shape (→ "No target [SEG]." and an empty mask), half and half.

Colour, size and position tell nothing here, so the only way to answer is to see the shape. Scenes are drawn
from the streams of pixel_sail.streams like every other scene.
"""
from __future__ import annotations

from typing import List, Tuple

import numpy as np
from PIL import Image

from .preprocess import NO_PROMPT, normalize, patchify
from .prompts import NO_TARGET_ANSWER, SEGMENT_ANSWERS, SEGMENT_TEMPLATES
from .scenes import COLOURS, SHAPES, SIZES, Scene, SceneObject, _fill, _polygon, _raster

SHAPE_QUESTION = "What shape is the object in this image?"
SHAPE_ANSWER = "It is a {shape}."


def easy_scene(rng: np.random.Generator, size: int, supersample: int = 2) -> Tuple[Scene, np.ndarray, np.ndarray]:
    """One medium or large plain object on a flat background, drawn at ``supersample``× and reduced to
    ``size``. Returns the scene, the RGB image and the object's mask at ``size``."""
    big = size * supersample
    colour = str(rng.choice(list(COLOURS)))
    base = rng.integers(70, 200, size=3).astype(np.float32)
    while np.abs(base - np.asarray(COLOURS[colour], dtype=np.float32)).max() < 40:
        base = rng.integers(70, 200, size=3).astype(np.float32)
    size_name = str(rng.choice(["medium", "large"]))
    r = float(rng.uniform(*SIZES[size_name]) * big)
    cx, cy = float(rng.uniform(r, big - r)), float(rng.uniform(r, big - r))
    obj = SceneObject(shape=str(rng.choice(SHAPES)), colour=colour, size=size_name, pattern="plain", cx=cx, cy=cy,
                      radius=r, angle=float(rng.uniform(-0.35, 0.35)))
    full = _raster(_polygon(obj.shape, cx, cy, r, obj.angle), big, big)
    obj.mask, obj.full_area = full, int(full.sum())
    image = np.broadcast_to(base, (big, big, 3))
    image = np.where(full[..., None], _fill(obj, rng, big, big), image)
    image = (image + rng.normal(0, 3.0, size=image.shape)).clip(0, 255).astype(np.uint8)
    scene = Scene(big, big, image, [obj])
    img = np.asarray(Image.fromarray(image).resize((size, size), Image.BILINEAR))
    mask = full.reshape(size, supersample, size, supersample).mean(axis=(1, 3)) >= 0.5
    return scene, img, mask


def easy_samples(rng: np.random.Generator, builder, size: int, image_index: int = 0) -> List:
    """The two sequences of one easy scene (data.Sample objects, kinds shape_text and shape_res)."""
    from .data import Sample

    cfg = builder.cfg
    scene, img, mask = easy_scene(rng, size)
    shape = scene.objects[0].shape
    patches = patchify(normalize(img), cfg.patch_size)
    no_prompt = np.full(patches.shape[0], NO_PROMPT, dtype=np.int64)
    ids, labels = builder.turns([(SHAPE_QUESTION, SHAPE_ANSWER.format(shape=shape))])
    out = [Sample(ids, labels, patches, no_prompt, [], "shape_text", image_index)]
    named = shape if rng.random() < 0.5 else str(rng.choice([s for s in SHAPES if s != shape]))
    prompt = SEGMENT_TEMPLATES[int(rng.integers(len(SEGMENT_TEMPLATES)))].format(expression=f"the {named}")
    if named == shape:
        answer, target = SEGMENT_ANSWERS[int(rng.integers(len(SEGMENT_ANSWERS)))], mask
    else:
        answer, target = NO_TARGET_ANSWER, np.zeros_like(mask)
    ids, labels = builder.turns([(prompt, answer)])
    out.append(Sample(ids, labels, patches, no_prompt, [target], "shape_res", image_index))
    return out
