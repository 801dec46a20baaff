"""Host-side preprocessing of the reference: resize rule, ImageNet normalisation, patchify, prompt slots.

The TypeScript engine reimplements exactly these steps; the parity fixtures written by export.py pin them.
"""
from __future__ import annotations

import math
from typing import List, Sequence, Tuple

import numpy as np

from .config import IMAGENET_MEAN, IMAGENET_STD

NON_VISION = -1
NO_PROMPT = -2


def resized_size(width: int, height: int, patch: int = 16, max_long_side: int = 1024) -> Tuple[int, int]:
    """(new_w, new_h): long side rounded up to a multiple of ``patch`` and capped; short side scaled,
    truncated to int, then rounded up to a multiple of ``patch``. No padding, no upscaling beyond rounding."""
    if width <= 0 or height <= 0:
        raise ValueError(f"image size must be positive, got {width}x{height}")
    long_side, short_side = max(width, height), min(width, height)
    new_long = min(math.ceil(long_side / patch) * patch, max_long_side)
    new_short = max(patch, math.ceil(int(new_long * short_side / long_side) / patch) * patch)
    return (new_long, new_short) if width >= height else (new_short, new_long)


def normalize(rgb: np.ndarray) -> np.ndarray:
    """uint8 [h, w, 3] → float32 [3, h, w], /255 then ImageNet mean/std."""
    x = rgb.astype(np.float32) / np.float32(255.0)
    x = (x - np.asarray(IMAGENET_MEAN, np.float32)) / np.asarray(IMAGENET_STD, np.float32)
    return np.ascontiguousarray(x.transpose(2, 0, 1))


def patchify(chw: np.ndarray, patch: int = 16) -> np.ndarray:
    """float [3, h, w] → [gh·gw, 3·p·p]; patches row-major, each flattened channel-major (ch·p² + y·p + x)."""
    c, h, w = chw.shape
    gh, gw = h // patch, w // patch
    x = chw.reshape(c, gh, patch, gw, patch).transpose(1, 3, 0, 2, 4)
    return np.ascontiguousarray(x.reshape(gh * gw, c * patch * patch))


def pil_nearest_sources(size_in: int, size_out: int) -> np.ndarray:
    """Source index of each destination index in Pillow's NEAREST resize (what the official code's
    torchvision ``Resize(NEAREST)`` on a PIL image runs).

    Pillow samples pixel centres, floor((dst + 0.5) · in / out), but computes them by accumulation in
    double precision (``ImagingScaleAffine``: start at scale/2, add scale per step), so where the exact
    value is an integer the running sum can land just below it (8 → 6 picks source 5 for destination 4,
    not 6). Reproduced step for step here and in src/engine/visualPrompts.ts; a test checks both against
    Pillow itself.
    """
    if size_in <= 0 or size_out <= 0:
        raise ValueError(f"sizes must be positive, got {size_in} → {size_out}")
    scale = size_in / size_out
    pos = scale * 0.5
    out = np.empty(size_out, dtype=np.int64)
    for d in range(size_out):
        out[d] = min(int(pos), size_in - 1)
        pos += scale
    return out


def nearest_resize_mask(mask: np.ndarray, new_w: int, new_h: int) -> np.ndarray:
    """Nearest-neighbour resize of a [h, w] mask to [new_h, new_w] with Pillow's rule (see pil_nearest_sources)."""
    h, w = mask.shape
    return mask[pil_nearest_sources(h, new_h)][:, pil_nearest_sources(w, new_w)]


PROMPT_OVERLAP_ORDERS = ("largest_first", "given_order")


def prompt_slots(masks: Sequence[np.ndarray], slots: Sequence[int], new_w: int, new_h: int,
                 patch: int = 16, overlap: str = "largest_first") -> np.ndarray:
    """Per-patch slot id (−2 = no prompt) for prompt masks at original resolution.

    A patch is covered when any pixel of the nearest-resized mask is set. Where prompts overlap the mask
    written last wins: ``overlap="largest_first"`` writes them largest area first, so the smallest wins
    (as training listed them); ``"given_order"`` writes them in the order given, as the official
    ``predict_forward`` does (for parity with it).
    """
    if overlap not in PROMPT_OVERLAP_ORDERS:
        raise ValueError(f"overlap must be one of {PROMPT_OVERLAP_ORDERS}, got {overlap!r}")
    gh, gw = new_h // patch, new_w // patch
    out = np.full(gh * gw, NO_PROMPT, dtype=np.int64)
    order = list(range(len(masks)))
    if overlap == "largest_first":
        order.sort(key=lambda i: -int(np.count_nonzero(masks[i])))  # stable: equal areas keep their order
    for i in order:
        m = nearest_resize_mask(masks[i].astype(bool), new_w, new_h)
        covered = m.reshape(gh, patch, gw, patch).any(axis=(1, 3)).reshape(-1)
        out[covered] = slots[i]
    return out


def resize_rgb(rgb: np.ndarray, new_w: int, new_h: int) -> np.ndarray:
    """Bilinear resize (PIL) of an RGB uint8 image, skipped when the size already matches."""
    if rgb.shape[1] == new_w and rgb.shape[0] == new_h:
        return rgb
    from PIL import Image
    return np.asarray(Image.fromarray(rgb).resize((new_w, new_h), Image.BILINEAR))


def image_to_patches(rgb: np.ndarray, patch: int = 16, max_long_side: int = 1024) -> Tuple[np.ndarray, int, int]:
    """uint8 RGB [h, w, 3] → (patches [N, 3p²], gh, gw) with the reference resize rule."""
    new_w, new_h = resized_size(rgb.shape[1], rgb.shape[0], patch, max_long_side)
    chw = normalize(resize_rgb(rgb, new_w, new_h))
    return patchify(chw, patch), new_h // patch, new_w // patch


def sequence_indices(num_text: int, gh: int, gw: int, slots: np.ndarray = None) -> Tuple[List[int], List[int]]:
    """vision_patch_indices and vp_token_indices for <vision> <vpatch>×N </vision> followed by ``num_text`` tokens."""
    n = gh * gw
    vpi = [NON_VISION] + list(range(n)) + [NON_VISION] * (1 + num_text)
    patch_slots = [NO_PROMPT] * n if slots is None else [int(s) for s in slots]
    vti = [NON_VISION] + patch_slots + [NON_VISION] * (1 + num_text)
    return vpi, vti
