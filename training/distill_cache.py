#!/usr/bin/env python3
"""The distillation pool: images the vision expert (ISNet) has seen, with its cached feature maps, so that
training never reruns the teacher.

  python3 training/distill_cache.py render --out DIR [--count 768] [--size 192] [--seed 0]
  node training/teacher_features.mjs pool DIR          # runs ISNet once per image, writes DIR/teacher.f32
  python3 training/train.py ... --distill DIR

The pool holds generated scenes (from the train stream, at indices no task sample uses) and crops of the
real photos Debian ships in python3-skimage (when installed). The photos of the real-photo check
(media/samples/photos) are never part of it.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from pixel_sail.streams import POOL_OFFSET, scene_rng  # noqa: E402
from pixel_sail.teacher_cache import TeacherCache  # noqa: E402,F401  (re-exported for callers)
SKIMAGE = "/usr/lib/python3/dist-packages/skimage/data"
PHOTOS = ["motorcycle_left.png", "motorcycle_right.png", "coins.png", "camera.png", "hubble_deep_field.jpg",
          "brick.png", "grass.png", "gravel.png", "coffee.png", "chelsea.png", "rocket.jpg", "astronaut.png"]


def render(out: str, count: int, size: int, seed: int, photo_crops: int) -> None:
    from PIL import Image
    from pixel_sail.data import render_scene

    os.makedirs(out, exist_ok=True)
    images = []
    for i in range(count):
        _, img, _ = render_scene(scene_rng("train", seed, POOL_OFFSET + i), size)
        images.append(img)
    rng = np.random.default_rng(seed)
    photos = [os.path.join(SKIMAGE, p) for p in PHOTOS if os.path.exists(os.path.join(SKIMAGE, p))]
    for k in range(photo_crops if photos else 0):
        im = Image.open(photos[k % len(photos)]).convert("RGB")
        w, h = im.size
        side = int(min(w, h) * rng.uniform(0.5, 1.0))
        x, y = int(rng.integers(0, w - side + 1)), int(rng.integers(0, h - side + 1))
        images.append(np.asarray(im.crop((x, y, x + side, y + side)).resize((size, size), Image.BILINEAR)))
    arr = np.stack(images).astype(np.uint8)
    arr.tofile(os.path.join(out, "images.u8"))
    with open(os.path.join(out, "meta.json"), "w") as fh:
        json.dump({"count": len(arr), "size": size, "scenes": count, "photo_crops": len(arr) - count, "seed": seed}, fh)
    print(f"wrote {len(arr)} images ({count} scenes, {len(arr) - count} photo crops) to {out}", file=sys.stderr)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("render")
    r.add_argument("--out", required=True)
    r.add_argument("--count", type=int, default=768)
    r.add_argument("--photo-crops", type=int, default=96)
    r.add_argument("--size", type=int, default=192)
    r.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if args.count < 1 or args.size % 16:
        ap.error("--count must be positive and --size a multiple of 16")
    render(args.out, args.count, args.size, args.seed, args.photo_crops)
    return 0


if __name__ == "__main__":
    sys.exit(main())
