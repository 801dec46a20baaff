"""probe_easy.py's capacity and training-signal variants (issue 19): sizes, compute accounting, the image-only
batch and a tiny end-to-end run of each objective."""
import json
import os

import numpy as np
import pytest
import torch

import probe_easy
from conftest import REPO
from pixel_sail.config import PixelSailConfig
from pixel_sail.data import SequenceBuilder, collate
from pixel_sail.easy_scenes import easy_samples

DEFAULT = os.path.join(REPO, "training", "checkpoints", "default.pt")


def _cfg():
    return PixelSailConfig(vocab_size=600, hidden_size=192, intermediate_size=512, num_hidden_layers=6,
                           num_attention_heads=6, num_key_value_heads=2, max_long_side=192, upsampler_channels=48)


def test_probe_config_changes_only_what_is_asked():
    base = _cfg()
    assert probe_easy.probe_config(base) == base
    wide = probe_easy.probe_config(base, hidden=384, heads=12, intermediate=1024)
    assert (wide.hidden_size, wide.num_attention_heads, wide.intermediate_size) == (384, 12, 1024)
    assert (wide.num_hidden_layers, wide.max_long_side, wide.patch_size) == (6, 192, 16)
    big = probe_easy.probe_config(base, size=384, layers=12)
    assert (big.max_long_side, big.num_hidden_layers, big.patch_size, big.hidden_size) == (384, 12, 16, 192)


def test_train_gflops_counts_tokens_depth_width_and_text():
    cfg = _cfg()
    small = probe_easy.train_gflops(cfg, 146, image_only=True)
    big = probe_easy.train_gflops(probe_easy.probe_config(cfg, size=384), 578, image_only=True)
    assert 4.0 < big / small < 6.0  # 4× the tokens, and attention grows with the square
    deep = probe_easy.train_gflops(probe_easy.probe_config(cfg, layers=12), 146, image_only=True)
    assert 1.9 < deep / small < 2.05  # the patch embedding is not doubled
    wide = probe_easy.train_gflops(probe_easy.probe_config(cfg, hidden=384, heads=12, intermediate=1024), 146, image_only=True)
    assert 3.0 < wide / small < 4.1  # weights grow ~4×, attention 2×
    assert probe_easy.train_gflops(cfg, 146) > small  # the LM head costs something
    assert probe_easy.train_gflops(cfg, 146, batch=16, image_only=True) == pytest.approx(16 * small)
    # One layer's forward, by hand: 2·(q,o: h² each; k,v: h·kv each; MLP 3·h·i) per token, plus QKᵀ and AV.
    one = probe_easy.probe_config(cfg, layers=1)
    per_token = 2 * (2 * 192 * 192 + 2 * 192 * 64 + 3 * 192 * 512) + 4 * 146 * 192
    expected = 3 * (per_token * 146 + 2 * 144 * 768 * 192) / 1e9
    assert probe_easy.train_gflops(one, 146, image_only=True) == pytest.approx(expected)


def test_image_batch_gives_the_patch_tokens_of_a_full_sequence(tiny):
    """The image block comes first and is bidirectional, so its patch tokens do not depend on the text after
    it: the shape head sees the same features in the image-only objective as in lm+shape."""
    model, tok = tiny
    cfg = model.config
    builder = SequenceBuilder(tok, cfg)
    samples = []
    for i in range(3):
        samples += easy_samples(np.random.default_rng(i), builder, cfg.max_long_side)
    full = collate(samples, cfg, tok.token_to_id("<|endoftext|>"))
    only = probe_easy.image_batch(cfg, full["vision_patches"])
    n = full["vision_patches"].shape[1]
    assert only["input_ids"].shape == (len(samples), n + 2)
    with torch.no_grad():
        h_full, _ = probe_easy.forward(model, full)
        h_only, _ = probe_easy.forward(model, only)
    a, b = probe_easy.pooled_patches(h_full, n), probe_easy.pooled_patches(h_only, n)
    assert a.shape == (len(samples), cfg.hidden_size)
    assert torch.allclose(a, b, atol=1e-5)
    # and the pooled features differ between images (it is not pooling padding)
    assert not torch.allclose(b[0], b[2], atol=1e-3)


def test_init_refuses_a_changed_size_and_the_cnn_control_needs_the_shape_objective():
    with pytest.raises(SystemExit):
        probe_easy.parse_args(["--out", "x", "--init", "--size", "384"])
    with pytest.raises(SystemExit):
        probe_easy.parse_args(["--out", "x", "--arch", "cnn", "--objective", "lm+shape"])
    assert probe_easy.parse_args(["--out", "x", "--arch", "cnn", "--objective", "shape"]).arch == "cnn"


def test_unpatchify_inverts_patchify_and_the_cnn_control_sees_the_image():
    from pixel_sail.preprocess import patchify

    img = np.random.default_rng(0).normal(size=(3, 64, 48 + 16)).astype(np.float32)
    patches = torch.from_numpy(patchify(img, 16))[None]
    assert torch.equal(probe_easy.unpatchify(patches, 16)[0], torch.from_numpy(img))
    net = probe_easy.ConvControl()
    assert net(probe_easy.unpatchify(patches, 16)).shape == (1, 8)
    # conv FLOPs by hand for a 64 px input: sides 32, 16, 8, 4, 2
    sides, ch = (32, 16, 8, 4, 2), probe_easy.CNN_CHANNELS
    expected = 3 * sum(2 * a * b * 9 * s * s for a, b, s in zip(ch, ch[1:], sides)) / 1e9
    assert probe_easy.cnn_gflops(64) == pytest.approx(expected)


@pytest.mark.skipif(not os.path.exists(DEFAULT), reason="needs training/checkpoints/default.pt (its tokenizer)")
@pytest.mark.parametrize("objective,arch", [("lm", "transformer"), ("lm+shape", "transformer"), ("shape", "transformer"),
                                           ("shape", "cnn")])
def test_each_objective_trains_logs_compute_and_stops_at_its_budget(tmp_path, objective, arch):
    out = tmp_path / objective
    tiny = ["--hidden", "32", "--heads", "2", "--layers", "1", "--intermediate", "64", "--size", "64"]
    args = ["--out", str(out), "--objective", objective, "--arch", arch, "--val", "3", "--batch", "2", "--eval-every", "1",
            "--warmup", "1", "--max-steps", "50", "--gflops", "0.05"] + tiny
    assert probe_easy.main(args) == 0
    rows = [json.loads(line) for line in open(out / "log.jsonl")]
    first, last = rows[0], rows[-1]
    assert first["config"] == {"max_long_side": 64, "hidden_size": 32, "num_hidden_layers": 1,
                               "intermediate_size": 64, "num_attention_heads": 2}
    assert first["objective"] == objective and first["arch"] == arch and first["gflops"] == 0
    # the compute budget, not --max-steps, ended the run: it stops on the first step at or past it
    assert 1 <= last["step"] < 50 and last["gflops"] >= 0.05 and rows[-2]["gflops"] < 0.05
    assert [r["samples"] for r in rows[1:]] == [2 * r["step"] for r in rows[1:]]
    assert all(np.isfinite(r["loss"]) for r in rows[1:])
    assert ("shape_head" in last) == (objective != "lm")
    assert ("shape" in last and "no_target" in last) == (objective != "shape")
    for r in rows:
        for key in ("shape", "no_target", "shape_head"):
            if key in r:
                assert 0.0 <= r[key] <= 1.0
