"""The generator's scene streams, defined once.

Every generated scene is drawn from ``numpy.random.SeedSequence([stream, seed, index])``. The three
streams — train, val, test — differ in their first entropy word, so no choice of seed or index makes a
scene of one stream the scene of another: training never sees an evaluation scene, and validation (used to
choose models) never sees a test scene. Inside the train stream, the tokenizer's scenes and the
distillation pool sit at index offsets no task sample reaches.

Every script (generate.py, train.py, distill_cache.py, diagnose_seg.py, probes) draws scenes through
``scene_rng`` here; training/tests/test_streams.py checks that the streams never share a scene.
"""
from __future__ import annotations

import numpy as np

SPLITS = {"train": 1, "val": 2, "test": 3}

# Index ranges inside the *train* stream that are not training task scenes.
TOKENIZER_OFFSET = 10_000_000  # scenes whose text trains the BPE merges
EASY_OFFSET = 30_000_000  # easy shape scenes mixed into training (train.py --easy-shape), index = group's scene
PROBE_OFFSET = 20_000_000  # scenes that fit diagnostic read-outs (probe_*.py), never training samples
POOL_OFFSET = 50_000_000  # the distillation pool (distill_cache.py)
MAX_TASK_SCENES = TOKENIZER_OFFSET  # a training run never reaches this many scenes

# The one fixed validation split every probe and every long-run segment is scored on (models are chosen on
# it, so it is never the test split): val stream, this seed, the first VAL_COUNT scenes.
VAL_SEED = 1
VAL_COUNT = 200

# The test split issue 19's goals are measured on, committed before it is ever scored: test stream, this seed,
# TEST_COUNT scenes (`generate.py --split test --seed 19 --count 200`). It is never used to choose a model or
# a recipe; score it once per model that ships.
TEST_SEED = 19
TEST_COUNT = 200


def scene_rng(split: str, seed: int, index: int) -> np.random.Generator:
    """The random generator of scene ``index`` of stream ``split`` under ``seed``."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; one of {sorted(SPLITS)}")
    if seed < 0 or index < 0:
        raise ValueError("seed and index must be non-negative")
    return np.random.default_rng(np.random.SeedSequence([SPLITS[split], seed, index]))
