"""train.py --photo-prompts: real-photo box/click/scribble → mask sequences on the train targets, off by default."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import TRAINING
from pixel_sail import coco_rle
from pixel_sail import photo_samples as ps

TRAIN = os.path.join(TRAINING, "train.py")
TINY = ["--hidden", "32", "--layers", "1", "--heads", "2", "--kv-heads", "1", "--intermediate", "64", "--upsampler-channels", "8",
        "--seg-dim", "8", "--size", "64", "--batch", "3", "--vocab", "320", "--tokenizer-scenes", "20", "--points", "64"]


def ellipse(h, w, cx, cy, a, b):
    yy, xx = np.mgrid[0:h, 0:w]
    return ((xx - cx) / a) ** 2 + ((yy - cy) / b) ** 2 <= 1


def test_prompts_fall_on_the_target():
    m = ellipse(64, 64, 30, 34, 20, 9)
    rng = np.random.default_rng(0)
    assert ps.visual_prompt_for(m, "box", rng) == {"kind": "box", "bbox": [10, 25, 41, 19]}
    for _ in range(20):
        (x, y, positive), = ps.visual_prompt_for(m, "points", rng)["points"]
        assert positive == 1 and m[y, x]
        s = ps.visual_prompt_for(m, "scribble", rng)
        assert 1 <= len(s["points"]) <= 16 and all(m[y, x] for x, y in s["points"]) and s["width"] >= 2
        xs = [p[0] for p in s["points"]]
        assert max(xs) - min(xs) >= max(p[1] for p in s["points"]) - min(p[1] for p in s["points"]), "along the long axis"


def test_a_sample_is_the_letterboxed_crop_its_prompt_and_its_mask():
    from pixel_sail.config import PixelSailConfig
    from pixel_sail.data import SequenceBuilder

    class Tok:
        def encode(self, text):
            return [len(text)]

    cfg = PixelSailConfig(token_ids={f"<Prompt{k}>": k for k in range(15)}, max_long_side=64)
    rgb = np.full((40, 80, 3), 200, np.uint8)
    mask = np.zeros((40, 80), bool)
    mask[10:30, 20:60] = True
    s = ps.photo_prompt_sample(rgb, mask, SequenceBuilder(Tok(), cfg), 64, np.random.default_rng(1))
    assert s.kind == "photo_prompt" and len(s.masks) == 1
    want = np.zeros((64, 64), bool)
    want[8:24, 16:48] = True  # scaled by 64 / 80 into the top of the square
    assert np.array_equal(s.masks[0], want)
    assert s.patches.shape == (16, 3 * 16 * 16)
    prompted = s.slots >= 0
    assert prompted.any() and len(set(s.slots[prompted].tolist())) == 1
    # Patches below the letterboxed crop (rows 32–63) are padding: never prompted.
    assert not prompted.reshape(4, 4)[2:].any()


def fake_train_targets(tmp_path, scene=None):
    """One target on a train photo of the committed split, with a made-up image at its path under tmp_path/tree."""
    split = json.load(open(os.path.join(TRAINING, "data", "real_photo_scenes.json")))
    s = next(s for s in split["scenes"] if s["split"] == (scene or "train"))
    p = s["photos"][0]
    full = tmp_path / "tree" / p["path"]
    full.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (90, 120, 3), dtype=np.uint8)).save(full, format="PNG")
    m = ellipse(60, 80, 40, 30, 25, 15)
    doc = {"split": "train", "targets": [{"id": f"{s['scene']}/x/0", "scene": s["scene"], "photo": p["path"], "sha256": p["sha256"],
                                          "box": [10, 10, 100, 75], "size": [80, 60], "rle": coco_rle.encode(m), "area": int(m.sum())}]}
    out = tmp_path / "train.json"
    out.write_text(json.dumps(doc), encoding="utf-8")
    return out


def run(out, *extra, env=None):
    return subprocess.run([sys.executable, TRAIN, "--out", str(out), *TINY, *extra], capture_output=True, text=True, timeout=600, env=env)


def test_train_with_photo_prompts_runs_and_resumes_exactly_and_is_off_by_default(tmp_path):
    targets = fake_train_targets(tmp_path)
    env = dict(os.environ, PIXEL_SAIL_PHOTOS=str(tmp_path))
    flags = ["--photo-prompts", "2", "--photo-targets", str(targets)]
    r = run(tmp_path / "a", "--total-steps", "6", *flags, env=env)
    assert r.returncode == 0, r.stderr
    full = torch.load(tmp_path / "a" / "checkpoint.pt")
    assert full["args"]["photo_prompts"] == 2
    r = run(tmp_path / "b", "--total-steps", "6", "--minutes", "0", *flags, env=env)
    assert r.returncode == 0, r.stderr
    assert torch.load(tmp_path / "b" / "checkpoint.pt")["step"] < 6
    r = subprocess.run([sys.executable, TRAIN, "--out", str(tmp_path / "b"), "--resume"], capture_output=True, text=True, timeout=600, env=env)
    assert r.returncode == 0, r.stderr
    resumed = torch.load(tmp_path / "b" / "checkpoint.pt")
    for k, v in full["model"].items():
        assert torch.allclose(v, resumed["model"][k], atol=1e-6), k
    # Off by default; a negative count is refused; a missing targets file says how to make it.
    assert run(tmp_path / "c", "--total-steps", "1").returncode == 0
    assert torch.load(tmp_path / "c" / "checkpoint.pt")["args"]["photo_prompts"] == 0
    r = run(tmp_path / "d", "--total-steps", "1", "--photo-prompts", "-1")
    assert r.returncode != 0 and "--photo-prompts must be 0" in r.stderr
    r = run(tmp_path / "e", "--total-steps", "1", "--photo-prompts", "1", "--photo-targets", str(tmp_path / "none.json"), env=env)
    assert r.returncode != 0 and "photo_targets.py make --split train" in r.stderr


def test_scene_groups_add_photo_batches_without_changing_the_scenes(tmp_path, monkeypatch):
    sys.path.insert(0, TRAINING)
    import train
    from pixel_sail.config import PixelSailConfig

    monkeypatch.setenv("PIXEL_SAIL_PHOTOS", str(tmp_path))
    targets = fake_train_targets(tmp_path)
    from pixel_sail.tokenizer import Tokenizer, special_token_ids

    tok_doc = train.build_tokenizer(0, 320, scenes=10)
    tok = Tokenizer(tok_doc)
    cfg = PixelSailConfig(vocab_size=len(tok), token_ids=special_token_ids(tok), max_long_side=64)
    plain = next(train.scene_groups(tok_doc, cfg, 0, 0, 64, True, 2))
    with_photos = next(train.scene_groups(tok_doc, cfg, 0, 0, 64, True, 2, 0, 3, str(targets)))
    assert plain[0] == with_photos[0]
    assert [b[0].kind for b in with_photos[1]] == [b[0].kind for b in plain[1]] + ["photo_prompt"]
    for a, b in zip(plain[1], with_photos[1]):
        assert [s.input_ids for s in a] == [s.input_ids for s in b]
    assert len(with_photos[1][-1]) == 3


def test_a_test_scene_target_is_refused(tmp_path):
    targets = fake_train_targets(tmp_path, scene="test")
    env = dict(os.environ, PIXEL_SAIL_PHOTOS=str(tmp_path))
    r = run(tmp_path / "a", "--total-steps", "1", "--photo-prompts", "1", "--photo-targets", str(targets), env=env)
    assert r.returncode != 0 and "held-out photo" in r.stderr
