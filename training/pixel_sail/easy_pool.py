"""Pre-rendered easy scenes, for the shape probes at a scale one thread cannot draw (issue 19).

On the 2-core machine a probe saw 1–8 thousand easy images; the card asks for one to two orders of magnitude
more. Drawing a scene costs ~10–20 ms of Python, so at that scale the images are rendered once, by every
core in parallel, into a uint8 array on disk that each probe then reads in order (one pass, never an image
twice). The scenes are exactly ``easy_scene(scene_rng(split, seed, i), size)`` for i = 0, 1, …, so a pool is
a prefix of the same stream the single-threaded probe draws from.

Patchifying and normalising happen on the device (``patches_from_images``), and the language-model probe
builds its sequences from eight per-shape templates (``ShapeTextTemplates``) instead of collating samples:
with the image batch on a GPU those host-side steps, not the model, would otherwise set the pace.
"""
from __future__ import annotations

import json
import multiprocessing
import os
import time
from typing import Optional, Tuple

import numpy as np
import torch

from .config import IMAGENET_MEAN, IMAGENET_STD
from .easy_scenes import SHAPE_ANSWER, SHAPE_QUESTION, easy_scene
from .preprocess import NO_PROMPT
from .scenes import SHAPES
from .streams import scene_rng

CHUNK = 250


def _render(job: Tuple[str, int, int, int, int]) -> Tuple[int, np.ndarray, np.ndarray]:
    split, seed, start, stop, size = job
    images = np.empty((stop - start, size, size, 3), np.uint8)
    labels = np.empty(stop - start, np.int64)
    for k, i in enumerate(range(start, stop)):
        scene, img, _ = easy_scene(scene_rng(split, seed, i), size)
        images[k], labels[k] = img, SHAPES.index(scene.objects[0].shape)
    return start, images, labels


def open_pool(directory: str) -> Optional[Tuple[np.ndarray, np.ndarray, dict]]:
    """A finished pool's images (memory-mapped, [N, S, S, 3] uint8), shape labels (index into SHAPES) and meta."""
    meta_path = os.path.join(directory, "meta.json")
    if not os.path.exists(meta_path):
        return None
    with open(meta_path) as f:
        meta = json.load(f)
    images = np.load(os.path.join(directory, "images.npy"), mmap_mode="r")
    labels = np.load(os.path.join(directory, "labels.npy"))
    return images, labels, meta


def render_pool(directory: str, split: str, seed: int, count: int, size: int, workers: int,
                seconds: float = float("inf")) -> Tuple[np.ndarray, np.ndarray, dict]:
    """Scenes 0 … count−1 of (split, seed) at ``size`` px, rendered by ``workers`` processes, or reused when
    ``directory`` already holds the same split, seed and size with at least ``count`` scenes (a prefix is
    returned). Rendering stops early at ``seconds``; the pool then holds the contiguous prefix drawn by then
    (meta ``count`` says how many). meta.json is written last, so an interrupted pool is never opened."""
    found = open_pool(directory)
    if found is not None:
        images, labels, meta = found
        if (meta["split"], meta["seed"], meta["size"]) == (split, seed, size) and (meta["count"] >= count or meta.get("cut_short")):
            n = min(count, meta["count"])
            return images[:n], labels[:n], {**meta, "count": n}
    os.makedirs(directory, exist_ok=True)
    for name in ("meta.json", "images.npy"):
        if os.path.exists(os.path.join(directory, name)):
            os.remove(os.path.join(directory, name))
    t0 = time.time()
    images = np.lib.format.open_memmap(os.path.join(directory, "images.npy"), "w+", np.uint8, (count, size, size, 3))
    labels = np.full(count, -1, np.int64)
    jobs = [(split, seed, s, min(s + CHUNK, count), size) for s in range(0, count, CHUNK)]
    done = 0
    # fork before any CUDA use (the caller renders first); each worker only runs numpy and PIL.
    with multiprocessing.get_context("fork").Pool(max(1, workers)) as pool:
        for start, imgs, labs in pool.imap(_render, jobs):  # in order, so what is done is a prefix
            images[start:start + len(imgs)], labels[start:start + len(imgs)] = imgs, labs
            done = start + len(imgs)
            if time.time() - t0 > seconds:
                pool.terminate()
                break
    images.flush()
    del images
    np.save(os.path.join(directory, "labels.npy"), labels[:done])
    meta = {"split": split, "seed": seed, "size": size, "count": done, "asked": count, "cut_short": done < count,
            "seconds": round(time.time() - t0, 1), "workers": workers}
    with open(os.path.join(directory, "meta.json.tmp"), "w") as f:
        json.dump(meta, f)
    os.replace(os.path.join(directory, "meta.json.tmp"), os.path.join(directory, "meta.json"))
    images, labels, meta = open_pool(directory)
    return images[:done], labels, meta


def patches_from_images(images: torch.Tensor, patch: int) -> torch.Tensor:
    """uint8 [B, S, S, 3] → float [B, N, 3p²]: ``patchify(normalize(img))`` for a whole batch, on its device."""
    x = images.float() / 255.0
    mean = torch.tensor(IMAGENET_MEAN, dtype=x.dtype, device=x.device)
    std = torch.tensor(IMAGENET_STD, dtype=x.dtype, device=x.device)
    x = ((x - mean) / std).permute(0, 3, 1, 2)  # [B, 3, S, S]
    b, c, h, w = x.shape
    gh, gw = h // patch, w // patch
    x = x.reshape(b, c, gh, patch, gw, patch).permute(0, 2, 4, 1, 3, 5)
    return x.reshape(b, gh * gw, c * patch * patch)


class ShapeTextTemplates:
    """"What shape is the object in this image?" → "It is a <shape>." as one collated row per shape; a batch
    is the rows of its labels with the batch's patches put in. Equal to collating the real samples."""

    def __init__(self, builder, cfg, pad_id: int, n_patches: int, device) -> None:
        from .data import Sample, collate

        samples = []
        for shape in SHAPES:
            ids, labels = builder.turns([(SHAPE_QUESTION, SHAPE_ANSWER.format(shape=shape))])
            samples.append(Sample(ids, labels, np.zeros((n_patches, 3 * cfg.patch_size ** 2), np.float32),
                                  np.full(n_patches, NO_PROMPT, np.int64), [], "shape_text"))
        batch = collate(samples, cfg, pad_id)
        self.rows = {k: batch[k].to(device) for k in ("input_ids", "labels", "vision_patch_indices",
                                                      "vp_token_indices", "attention_mask")}
        self.position_ids = batch["position_ids"].to(device)  # [3, 8, L]

    def batch(self, labels: torch.Tensor, patches: torch.Tensor) -> dict:
        out = {k: v[labels] for k, v in self.rows.items()}
        out["position_ids"] = self.position_ids[:, labels]
        out["vision_patches"] = patches
        return out
