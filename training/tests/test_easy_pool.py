"""pixel_sail.easy_pool (issue 19's probes at scale): a pool is exactly the easy scenes of its stream, the
device-side patchify equals the project's, the shape-text templates equal collated samples, and probe_easy
trains one pass over a pool."""
import json
import os

import numpy as np
import pytest
import torch

import probe_easy
from conftest import REPO
from pixel_sail import easy_pool
from pixel_sail.config import PixelSailConfig
from pixel_sail.data import SequenceBuilder, collate
from pixel_sail.easy_scenes import easy_samples, easy_scene
from pixel_sail.preprocess import normalize, patchify
from pixel_sail.scenes import SHAPES
from pixel_sail.streams import scene_rng

DEFAULT = os.path.join(REPO, "training", "checkpoints", "default.pt")


def test_a_pool_is_the_stream_prefix_reused_and_cut_short_by_its_deadline(tmp_path):
    images, labels, meta = easy_pool.render_pool(str(tmp_path / "p"), "train", 3, 7, 64, workers=2)
    assert images.shape == (7, 64, 64, 3) and meta["count"] == 7 and not meta["cut_short"]
    for i in (0, 6):
        scene, img, _ = easy_scene(scene_rng("train", 3, i), 64)
        assert np.array_equal(images[i], img) and SHAPES[labels[i]] == scene.objects[0].shape
    again, _, meta2 = easy_pool.render_pool(str(tmp_path / "p"), "train", 3, 4, 64, workers=2)
    assert again.shape[0] == 4 and meta2["seconds"] == meta["seconds"]  # reused, not redrawn
    other, _, meta3 = easy_pool.render_pool(str(tmp_path / "p"), "train", 4, 4, 64, workers=2)
    assert meta3["seed"] == 4 and not np.array_equal(other[0], images[0])  # another seed is redrawn
    short, short_labels, meta4 = easy_pool.render_pool(str(tmp_path / "q"), "train", 3, 2000, 64, workers=2, seconds=0)
    assert meta4["cut_short"] and 0 < meta4["count"] < 2000 and len(short) == len(short_labels) == meta4["count"]
    assert np.array_equal(short[6], images[6])  # what was drawn is still the stream's prefix


def test_device_patchify_equals_the_projects():
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 256, size=(3, 48, 32, 3), dtype=np.uint8)
    got = easy_pool.patches_from_images(torch.from_numpy(imgs), 16).numpy()
    want = np.stack([patchify(normalize(i), 16) for i in imgs])
    assert got.shape == want.shape == (3, 6, 768)
    np.testing.assert_allclose(got, want, atol=1e-5)


@pytest.mark.skipif(not os.path.exists(DEFAULT), reason="needs training/checkpoints/default.pt (its tokenizer)")
def test_shape_text_templates_equal_collated_samples():
    ck = torch.load(DEFAULT, map_location="cpu")
    cfg = PixelSailConfig.from_dict(ck["config"])
    from pixel_sail.tokenizer import Tokenizer

    tok = Tokenizer(ck["tokenizer"])
    builder = SequenceBuilder(tok, cfg)
    pad = tok.token_to_id("<|endoftext|>")
    samples = [s for i in range(6) for s in easy_samples(scene_rng("val", 1, i), builder, 192) if s.kind == "shape_text"]
    labels = torch.tensor([SHAPES.index(easy_scene(scene_rng("val", 1, i), 192)[0].objects[0].shape) for i in range(6)])
    templates = easy_pool.ShapeTextTemplates(builder, cfg, pad, 144, "cpu")
    patches = torch.from_numpy(np.stack([s.patches for s in samples]))
    got = templates.batch(labels, patches)
    want = collate(samples, cfg, pad)
    length = want["input_ids"].shape[1]  # the templates pad to the longest shape word; the batch to its own
    for key in ("input_ids", "labels", "vision_patch_indices", "vp_token_indices"):
        assert torch.equal(got[key][:, :length], want[key]), key
    assert torch.equal(got["position_ids"][:, :, :length], want["position_ids"])
    assert torch.equal(got["attention_mask"][:, :, :length, :length], want["attention_mask"])
    assert (got["attention_mask"][:, :, :length, length:] == float("-inf")).all()  # extra padding is never seen
    assert torch.equal(got["vision_patches"], want["vision_patches"])


@pytest.mark.skipif(not os.path.exists(DEFAULT), reason="needs training/checkpoints/default.pt (its tokenizer)")
@pytest.mark.parametrize("objective,arch", [("lm", "transformer"), ("shape", "transformer"), ("shape", "cnn")])
def test_probe_trains_one_pass_over_a_pool_with_log_spaced_readouts(tmp_path, objective, arch):
    out = tmp_path / "run"
    tiny = ["--hidden", "32", "--heads", "2", "--layers", "1", "--intermediate", "64", "--size", "64"]
    args = ["--out", str(out), "--objective", objective, "--arch", arch, "--val", "5", "--batch", "100", "--warmup", "1",
            "--pool", str(tmp_path / "pool"), "--pool-images", "2250", "--workers", "2"] + tiny
    assert probe_easy.main(args) == 0
    rows = [json.loads(line) for line in open(out / "log.jsonl")]
    assert rows[0]["train_pool"]["count"] == 2250 and rows[0]["val_pool"]["count"] == 5
    # one pass, never an image twice: 22 full batches; read-outs after 1000 and 2000 images and at the end
    assert [r["samples"] for r in rows] == [0, 1000, 2000, 2200] and rows[-1]["end"]
    key = "shape" if objective == "lm" else "shape_head"
    assert all(0.0 <= r[key] <= 1.0 for r in rows) and all(np.isfinite(r["loss"]) for r in rows[1:])
