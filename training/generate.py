#!/usr/bin/env python3
"""Generate a dataset of procedural scenes with exact instance masks and tasks of every kind.

  python3 training/generate.py --split {train,val,test} --seed S --count N --out DIR [--size 512]

Writes DIR/images/NNNNNN.png and DIR/ground_truth.json: a COCO file (info, licenses, images,
annotations with compressed-RLE segmentation, categories) plus a ``tasks`` list (res, caption, mcq,
vtres). The same arguments give identical bytes. Splits draw from disjoint random streams, and a scene
is never shared between splits. The dataset appears at DIR only once complete (written beside it and
renamed), so an interrupted run never leaves a dataset that looks finished.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from pixel_sail import coco_rle  # noqa: E402
from pixel_sail.atomic_dir import atomic_directory  # noqa: E402
from pixel_sail.scenes import COLOURS, GENERATOR_VERSION, SHAPES, sample_scene  # noqa: E402
from pixel_sail.tasks import scene_tasks  # noqa: E402

from pixel_sail.streams import SPLITS, scene_rng  # noqa: E402,F401  (the streams, defined once)

MAX_COUNT = 1_000_000


def categories() -> list:
    return [{"id": i + 1, "name": s, "supercategory": "shape"} for i, s in enumerate(SHAPES)]


def build_dataset(split: str, seed: int, count: int, size: int, out_dir: str, progress=None) -> dict:
    from PIL import Image

    os.makedirs(os.path.join(out_dir, "images"), exist_ok=True)
    cat_id = {c["name"]: c["id"] for c in categories()}
    images, annotations, tasks = [], [], []
    next_ann = 1
    for i in range(count):
        rng = scene_rng(split, seed, i)
        scene = sample_scene(rng, size, size)
        image_id = i + 1
        file_name = f"{image_id:06d}.png"
        Image.fromarray(scene.image).save(os.path.join(out_dir, "images", file_name), optimize=False)
        images.append({"id": image_id, "file_name": file_name, "width": size, "height": size,
                       "scene_hash": hashlib.sha1(scene.image.tobytes()).hexdigest()})
        ann_ids = []
        for obj in scene.objects:
            rle = coco_rle.encode(obj.mask)
            annotations.append({"id": next_ann, "image_id": image_id, "category_id": cat_id[obj.shape],
                                "segmentation": rle, "area": coco_rle.area(rle), "bbox": coco_rle.bbox(obj.mask),
                                "iscrowd": 0, "attributes": {"colour": obj.colour, "size": obj.size, "pattern": obj.pattern}})
            ann_ids.append(next_ann)
            next_ann += 1
        for t in scene_tasks(scene, ann_ids, rng):
            tasks.append({"id": len(tasks) + 1, "image_id": image_id, **t})
        if progress:
            progress(i + 1, count)
    return {
        "info": {"description": f"Pixel-SAIL generated scenes ({split})", "version": GENERATOR_VERSION,
                 "generator": "training/generate.py", "split": split, "seed": seed, "count": count, "size": size,
                 "colours": list(COLOURS)},
        "licenses": [],
        "images": images,
        "annotations": annotations,
        "categories": categories(),
        "tasks": tasks,
    }


def write_dataset(split: str, seed: int, count: int, size: int, out: str, quiet: bool = False) -> None:
    out = os.path.abspath(out)
    parent = os.path.dirname(out)
    if os.path.exists(out) and (not os.path.isdir(out) or os.listdir(out)):
        raise SystemExit(f"generate.py: error: {out} already exists and is not empty; choose another --out or remove it")
    try:
        os.makedirs(parent, exist_ok=True)
    except OSError as exc:
        raise SystemExit(f"generate.py: error: cannot create {parent}: {exc.strerror}")
    if not os.access(parent, os.W_OK):
        raise SystemExit(f"generate.py: error: output directory {parent} is not writable")
    def progress(done, total):
        if not quiet and (done == total or done % max(1, total // 20) == 0):
            print(f"  {done}/{total} scenes", file=sys.stderr, flush=True)

    with atomic_directory(out) as tmp:
        data = build_dataset(split, seed, count, size, tmp, progress)
        with open(os.path.join(tmp, "ground_truth.json"), "w", encoding="utf-8") as fh:
            json.dump(data, fh, separators=(",", ":"))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--split", required=True, choices=sorted(SPLITS))
    ap.add_argument("--seed", required=True, type=int)
    ap.add_argument("--count", required=True, type=int, help="number of images")
    ap.add_argument("--out", required=True)
    ap.add_argument("--size", type=int, default=512, help="image side in pixels (default 512)")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    if args.count < 1 or args.count > MAX_COUNT:
        ap.error(f"--count must be between 1 and {MAX_COUNT}, got {args.count}")
    if args.seed < 0:
        ap.error(f"--seed must be non-negative, got {args.seed}")
    if not 64 <= args.size <= 4096:
        ap.error(f"--size must be between 64 and 4096, got {args.size}")
    write_dataset(args.split, args.seed, args.count, args.size, args.out, args.quiet)
    if not args.quiet:
        print(f"wrote {args.count} scenes to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
