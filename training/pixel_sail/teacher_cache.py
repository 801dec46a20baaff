"""The distillation pool's images and cached teacher maps (written by training/distill_cache.py and
training/teacher_features.mjs), sampled for the distillation loss."""
from __future__ import annotations

import json
import os

import numpy as np


class TeacherCache:
    """Pool images and standardised teacher maps, sampled at random for the distillation loss."""

    def __init__(self, directory: str) -> None:
        meta = json.load(open(os.path.join(directory, "meta.json")))
        tmeta_path = os.path.join(directory, "teacher.json")
        if not os.path.exists(tmeta_path):
            raise SystemExit(f"{directory} has no teacher maps yet: run node training/teacher_features.mjs pool {directory}")
        tmeta = json.load(open(tmeta_path))
        n, s = meta["count"], meta["size"]
        self.size = s
        self.images = np.fromfile(os.path.join(directory, "images.u8"), dtype=np.uint8).reshape(n, s, s, 3)
        c, hw = tmeta["channels"], tmeta["size"]
        t = np.fromfile(os.path.join(directory, "teacher.f32"), dtype=np.float32).reshape(n, c, hw, hw)
        # Standardised per channel, so the saliency map and the 64 feature channels weigh alike in the MSE.
        mean = t.mean(axis=(0, 2, 3), keepdims=True)
        std = t.std(axis=(0, 2, 3), keepdims=True) + 1e-6
        self.teacher = ((t - mean) / std).astype(np.float32)
        self.channels = c

    def sample(self, batch: int, rng: np.random.Generator, patch: int = 16):
        import torch
        from pixel_sail.preprocess import normalize, patchify

        idx = rng.integers(0, len(self.images), size=batch)
        patches = np.stack([patchify(normalize(self.images[i]), patch) for i in idx])
        return torch.from_numpy(patches), torch.from_numpy(self.teacher[idx])
