import json
import os
import subprocess
import sys

import pytest
import torch

from conftest import TRAINING

TRAIN = os.path.join(TRAINING, "train.py")
TINY = ["--hidden", "32", "--layers", "1", "--heads", "2", "--kv-heads", "1", "--intermediate", "64", "--upsampler-channels", "8",
        "--seg-dim", "8", "--size", "64", "--batch", "3", "--vocab", "320", "--tokenizer-scenes", "20", "--points", "64"]


def train(out, *extra):
    return subprocess.run([sys.executable, TRAIN, "--out", str(out), *TINY, *extra], capture_output=True, text=True, timeout=600)


def test_training_runs_logs_and_resumes_exactly(tmp_path):
    r = train(tmp_path / "a", "--total-steps", "4")
    assert r.returncode == 0, r.stderr
    log = [json.loads(line) for line in open(tmp_path / "a" / "log.jsonl")]
    assert log[0]["step"] == 1 and all(k in log[0] for k in ("lm", "samples_per_s"))
    full = torch.load(tmp_path / "a" / "checkpoint.pt")
    assert full["step"] == 4

    # The same run in two parts: 2 steps, then resumed to 4, ends with identical weights.
    r = train(tmp_path / "b", "--total-steps", "4", "--minutes", "0")
    assert r.returncode == 0, r.stderr
    first = torch.load(tmp_path / "b" / "checkpoint.pt")
    assert first["step"] < 4
    r = subprocess.run([sys.executable, TRAIN, "--out", str(tmp_path / "b"), "--resume"], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    resumed = torch.load(tmp_path / "b" / "checkpoint.pt")
    assert resumed["step"] == 4
    for k, v in full["model"].items():
        assert torch.allclose(v, resumed["model"][k], atol=1e-6), k

    # A finished schedule can be extended by a further phase.
    r = subprocess.run([sys.executable, TRAIN, "--out", str(tmp_path / "b"), "--resume", "--add-steps", "2"], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert torch.load(tmp_path / "b" / "checkpoint.pt")["step"] == 6


def test_trained_checkpoint_exports_to_a_model_directory(tmp_path):
    assert train(tmp_path / "run", "--total-steps", "2").returncode == 0
    r = subprocess.run([sys.executable, os.path.join(TRAINING, "export.py"), "--out", str(tmp_path / "model"), "--checkpoint",
                        str(tmp_path / "run" / "checkpoint.pt")], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    cfg = json.load(open(tmp_path / "model" / "config.json"))
    assert cfg["model"]["max_long_side"] == 64 and "checkpoint" in cfg["source"]


def test_bad_arguments_are_refused(tmp_path):
    r = train(tmp_path / "x", "--total-steps", "0")
    assert r.returncode != 0 and "--total-steps must be positive" in r.stderr
    r = subprocess.run([sys.executable, TRAIN, "--out", str(tmp_path / "none"), "--resume"], capture_output=True, text=True)
    assert r.returncode != 0 and "no checkpoint" in r.stderr
    assert train(tmp_path / "y", "--total-steps", "1").returncode == 0
    r = train(tmp_path / "y", "--total-steps", "1")
    assert r.returncode != 0 and "pass --resume" in r.stderr


def test_second_phase_starts_from_a_checkpoint_with_a_new_recipe(tmp_path):
    assert train(tmp_path / "one", "--total-steps", "4").returncode == 0  # past one whole group of scenes
    first = torch.load(tmp_path / "one" / "checkpoint.pt")
    # A negligible lr: the phase-two weights must be the phase-one weights, not a fresh initialisation.
    r = train(tmp_path / "two", "--init", str(tmp_path / "one" / "checkpoint.pt"), "--dense-masks", "--mask-repeats", "2",
              "--total-steps", "6", "--lr", "1e-12")  # a group is 5 steps here: res ×2, region_text, region_seg ×2
    assert r.returncode == 0, r.stderr
    second = torch.load(tmp_path / "two" / "checkpoint.pt")
    assert second["tokenizer"] == first["tokenizer"] and second["config"] == first["config"]
    assert second["scene_index"] > first["scene_index"]  # the data stream goes on, no scene seen twice
    assert second["args"]["dense_masks"] and second["args"]["mask_repeats"] == 2
    for k, v in first["model"].items():
        assert torch.allclose(v, second["model"][k], atol=1e-6), k
    r = train(tmp_path / "bad", "--init", str(tmp_path / "one" / "checkpoint.pt"), "--upsampler", "bilinear", "--total-steps", "1")
    assert r.returncode != 0 and "must match" in r.stderr
    r = train(tmp_path / "bad2", "--init", str(tmp_path / "none.pt"), "--total-steps", "1")
    assert r.returncode != 0 and "no checkpoint at" in r.stderr and "Traceback" not in r.stderr
    r = train(tmp_path / "bad3", "--mask-repeats", "0", "--total-steps", "1")
    assert r.returncode != 0 and "--mask-repeats must be positive" in r.stderr


@pytest.mark.skipif(not os.path.exists(os.path.join(TRAINING, "..", "dist", "parity.js")), reason="run `npm run build` first (npm test does)")
def test_ablation_variants_export_to_the_engine_contract(tmp_path):
    # The ablation's baseline (bilinear upsampler, no prompt injection) must run in the same engine: its embed
    # graph keeps the vp_token_indices input although the model ignores it.
    # --size 80: the 80×48 fixture image then needs no resize, so the parity check is about the graphs.
    assert train(tmp_path / "run", "--total-steps", "1", "--size", "80", "--upsampler", "bilinear", "--no-prompt-injection").returncode == 0
    r = subprocess.run([sys.executable, os.path.join(TRAINING, "export.py"), "--out", str(tmp_path / "model"), "--checkpoint",
                        str(tmp_path / "run" / "checkpoint.pt")], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    r = subprocess.run(["node", os.path.join(TRAINING, "..", "dist", "parity.js"), str(tmp_path / "model"), "--tol", "1e-4"],
                       capture_output=True, text=True)
    assert r.returncode == 0 and json.loads(r.stdout)["ok"], r.stdout + r.stderr


def test_seg_diagnosis_compares_the_model_with_a_linear_oracle(tmp_path):
    assert train(tmp_path / "run", "--total-steps", "2").returncode == 0
    r = subprocess.run([sys.executable, os.path.join(TRAINING, "diagnose_seg.py"), "--checkpoint", str(tmp_path / "run" / "checkpoint.pt"),
                        "--scenes", "2", "--json"], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["masks"] > 0 and 0 <= report["ownCIoU"] <= 1 and 0 <= report["oracleCIoU"] <= 1
    r = subprocess.run([sys.executable, os.path.join(TRAINING, "diagnose_seg.py"), "--checkpoint", str(tmp_path / "none.pt")],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "no checkpoint" in r.stderr


def test_attribute_supervision_is_a_switch_that_logs_and_resumes_exactly(tmp_path):
    r = train(tmp_path / "a", "--total-steps", "5", "--attribute-aux", "0.5")
    assert r.returncode == 0, r.stderr
    log = [json.loads(line) for line in open(tmp_path / "a" / "log.jsonl")]
    assert log[0]["attr"] > 0
    full = torch.load(tmp_path / "a" / "checkpoint.pt")
    assert set(full["attribute_heads"]) >= {"mid.heads.shape.weight", "last.heads.pattern.bias"}
    r = train(tmp_path / "b", "--total-steps", "5", "--attribute-aux", "0.5", "--minutes", "0")  # stops after one group
    assert r.returncode == 0, r.stderr
    assert torch.load(tmp_path / "b" / "checkpoint.pt")["step"] < 5
    r = subprocess.run([sys.executable, TRAIN, "--out", str(tmp_path / "b"), "--resume"], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    resumed = torch.load(tmp_path / "b" / "checkpoint.pt")
    for k, v in full["attribute_heads"].items():
        assert torch.allclose(v, resumed["attribute_heads"][k], atol=1e-6), k
    for k, v in full["model"].items():
        assert torch.allclose(v, resumed["model"][k], atol=1e-6), k
    # Off by default: no heads, no "attr" in the log; a negative weight is refused.
    assert train(tmp_path / "c", "--total-steps", "1").returncode == 0
    assert "attribute_heads" not in torch.load(tmp_path / "c" / "checkpoint.pt")
    r = train(tmp_path / "d", "--total-steps", "1", "--attribute-aux", "-1")
    assert r.returncode != 0 and "--attribute-aux must be 0" in r.stderr
