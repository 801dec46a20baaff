"""The promise that no evaluation scene is ever trained on rests on the scene streams (pixel_sail.streams):
they must never share a scene, and every script must draw scenes through them."""
import ast
import glob
import hashlib
import os

import numpy as np
import pytest

from conftest import TRAINING
from pixel_sail.scenes import sample_scene
from pixel_sail.streams import POOL_OFFSET, PROBE_OFFSET, SPLITS, TOKENIZER_OFFSET, scene_rng


def test_streams_never_share_a_scene():
    # Rendered scenes (small, so the test stays fast) from every stream, several seeds and indices,
    # including the reserved train-stream ranges (tokenizer, distillation pool).
    seen = {}
    for split in SPLITS:
        for seed in (0, 1, 2, 7, 2024):
            idx = list(range(12))
            if split == "train":
                idx += [TOKENIZER_OFFSET, TOKENIZER_OFFSET + 1, PROBE_OFFSET, PROBE_OFFSET + 1, POOL_OFFSET, POOL_OFFSET + 1]
            for i in idx:
                img = sample_scene(scene_rng(split, seed, i), 48, 48).image
                h = hashlib.sha1(img.tobytes()).hexdigest()
                assert h not in seen or seen[h][0] == split, f"{split}/{seed}/{i} repeats {seen[h]}"
                seen[h] = (split, seed, i)


def test_stream_states_are_disjoint_on_a_wide_grid():
    # The first draws of each scene's generator: 3 streams x 40 seeds x 250 indices, no collision across streams.
    owner = {}
    for split in SPLITS:
        for seed in range(40):
            for i in range(250):
                key = tuple(scene_rng(split, seed, i).integers(0, 2 ** 62, size=2).tolist())
                assert owner.setdefault(key, split) == split, (split, seed, i)


def test_scene_rng_is_deterministic_and_checked():
    a = scene_rng("val", 3, 5).random(4)
    assert np.array_equal(a, scene_rng("val", 3, 5).random(4))
    with pytest.raises(ValueError):
        scene_rng("holdout", 0, 0)
    with pytest.raises(ValueError):
        scene_rng("train", -1, 0)


SCRIPTS = sorted(p for p in glob.glob(os.path.join(TRAINING, "*.py")))
SCRIPT_NAMES = {os.path.splitext(os.path.basename(p))[0] for p in SCRIPTS}


@pytest.mark.parametrize("path", SCRIPTS, ids=os.path.basename)
def test_scripts_import_only_the_package(path):
    tree = ast.parse(open(path, encoding="utf-8").read())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            imported.add(node.module.split(".")[0])
    assert not imported & SCRIPT_NAMES, f"{os.path.basename(path)} imports sibling scripts {sorted(imported & SCRIPT_NAMES)}"


@pytest.mark.parametrize("path", SCRIPTS + glob.glob(os.path.join(TRAINING, "pixel_sail", "*.py")), ids=os.path.basename)
def test_streams_are_defined_once(path):
    # Only pixel_sail/streams.py turns (stream, seed, index) into a generator.
    if os.path.basename(path) == "streams.py":
        return
    assert "SeedSequence" not in open(path, encoding="utf-8").read()
