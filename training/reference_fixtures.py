"""Fixtures for the TypeScript engine's tests against independent references (issue 18, "Tests that catch bugs").

Writes test/data/reference/prompt_slots.json and mask_resize.json, small enough to commit:

* prompt slots on NON-square images: boxes rasterised with PIL (``data.rasterize_prompt``, the training
  code's rasteriser) and an arbitrary mask, slots from ``preprocess.prompt_slots`` at the size
  ``preprocess.resized_size`` gives; the nearest resize it uses is checked against Pillow's own
  ``Image.resize(NEAREST)`` here (what the official code runs, through torchvision on a PIL image), so the
  fixture does not rest on one implementation alone.
* mask resize: random logits upsampled (and downsampled) to odd sizes with torch ``F.interpolate``
  (bilinear, align_corners=False, the reference's postprocess), thresholded at 0. Pixels whose value is
  within 1e-4 of 0 are listed as ties (float32 rounding may fall either way) and not compared.

Run: /usr/bin/python3 training/reference_fixtures.py   (deterministic; seed 18)
"""
from __future__ import annotations

import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pixel_sail.data import rasterize_prompt  # noqa: E402
from pixel_sail.preprocess import nearest_resize_mask, prompt_slots, resized_size  # noqa: E402

PATCH = 16
MAX_LONG_SIDE = 256  # models/tiny-random, which the engine test runs
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "data", "reference")


def row_runs(mask: np.ndarray) -> list:
    """Row-major run lengths starting with zeros (decoded by the test in three lines)."""
    flat = mask.astype(bool).reshape(-1)
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    runs = np.diff(np.concatenate([[0], change, [flat.size]])).tolist()
    return ([0] + runs) if flat[0] else runs


def pillow_nearest(mask: np.ndarray, new_w: int, new_h: int) -> np.ndarray:
    img = Image.fromarray(mask.astype(np.uint8) * 255)
    return np.asarray(img.resize((new_w, new_h), Image.NEAREST)) > 127


def slot_cases(rng: np.random.Generator) -> list:
    sizes = [(300, 97), (97, 300), (641, 480), (250, 31), (37, 123), (1000, 333), (129, 65)]
    cases = []
    for width, height in sizes:
        new_w, new_h = resized_size(width, height, PATCH, MAX_LONG_SIDE)
        for _attempt in range(100):
            regions, masks = [], []
            for k in range(int(rng.integers(1, 4))):
                w = int(rng.integers(max(2, width // 8), max(3, width * 2 // 3)))
                h = int(rng.integers(max(2, height // 8), max(3, height * 2 // 3)))
                x = int(rng.integers(0, width - w + 1))
                y = int(rng.integers(0, height - h + 1))
                regions.append({"kind": "box", "x": x, "y": y, "w": w, "h": h})
                masks.append(rasterize_prompt({"kind": "box", "bbox": [x, y, w, h]}, np.zeros((height, width), bool), 1.0, PATCH))
            # An arbitrary (non-box) region too: a disc with a hole, as a mask.
            yy, xx = np.mgrid[0:height, 0:width]
            cx, cy, r = rng.uniform(0, width), rng.uniform(0, height), rng.uniform(0.2, 0.5) * min(width, height)
            d2 = (xx - cx) ** 2 + (yy - cy) ** 2
            ring = (d2 < r * r) & (d2 > (r / 3) ** 2)
            regions.append({"kind": "mask", "rowRuns": row_runs(ring)})
            masks.append(ring)
            # Every region must reach the grid under the reference rule (the engine's tiny-region fallback is
            # tested on its own), and the reference's resize must agree with Pillow's.
            if all(nearest_resize_mask(m, new_w, new_h).any() for m in masks):
                break
        for m in masks:
            assert (nearest_resize_mask(m, new_w, new_h) == pillow_nearest(m, new_w, new_h)).all(), "the reference and Pillow's NEAREST differ"
        slots = prompt_slots(masks, list(range(len(masks))), new_w, new_h, PATCH)
        cases.append({"width": width, "height": height, "modelWidth": new_w, "modelHeight": new_h,
                      "regions": regions, "slots": [int(s) for s in slots]})
    return cases


def resize_cases(rng: np.random.Generator) -> list:
    shapes = [(5, 7, 33, 61), (12, 20, 97, 251), (9, 9, 4, 5), (24, 16, 383, 255), (1, 3, 7, 11), (7, 1, 13, 3), (16, 24, 16, 24)]
    cases = []
    for ph, pw, h, w in shapes:
        logits = rng.normal(0, 2, size=(ph, pw)).astype(np.float32)
        up = F.interpolate(torch.from_numpy(logits)[None, None], size=(h, w), mode="bilinear", align_corners=False)[0, 0].numpy()
        ties = np.flatnonzero(np.abs(up.reshape(-1)) < 1e-4).tolist()
        cases.append({"ph": ph, "pw": pw, "height": h, "width": w, "logits": [float(v) for v in logits.reshape(-1)],
                      "rowRuns": row_runs(up > 0), "ties": ties})
    return cases


def main() -> None:
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(18)
    meta = {"generator": "training/reference_fixtures.py", "torch": torch.__version__}
    with open(os.path.join(OUT, "prompt_slots.json"), "w") as f:
        json.dump({**meta, "patch": PATCH, "maxLongSide": MAX_LONG_SIDE, "cases": slot_cases(rng)}, f, separators=(",", ":"))
        f.write("\n")
    with open(os.path.join(OUT, "mask_resize.json"), "w") as f:
        json.dump({**meta, "cases": resize_cases(rng)}, f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
