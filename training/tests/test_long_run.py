"""The long run's pieces: easy shape scenes, train.py --easy-shape/--warmup-steps/SIGTERM, and the weights
file bookkeeping of long_run.py (init, finish)."""
import argparse
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import torch

from conftest import TRAINING
from pixel_sail.easy_scenes import easy_samples, easy_scene
from pixel_sail.scenes import SHAPES
from pixel_sail.streams import scene_rng

TRAIN = os.path.join(TRAINING, "train.py")
TINY = ["--hidden", "32", "--layers", "1", "--heads", "2", "--kv-heads", "1", "--intermediate", "64", "--upsampler-channels", "8",
        "--seg-dim", "8", "--size", "64", "--batch", "3", "--vocab", "320", "--tokenizer-scenes", "20", "--points", "64"]


def run(*args, timeout=600):
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=timeout)


def test_easy_scene_is_one_plain_object_with_its_mask():
    a = easy_scene(scene_rng("train", 0, 5), 64)
    b = easy_scene(scene_rng("train", 0, 5), 64)
    assert np.array_equal(a[1], b[1]) and np.array_equal(a[2], b[2])
    scene, img, mask = a
    assert len(scene.objects) == 1 and scene.objects[0].pattern == "plain" and scene.objects[0].shape in SHAPES
    assert img.shape == (64, 64, 3) and mask.shape == (64, 64) and 0 < mask.sum() < 64 * 64


def test_easy_samples_ask_only_about_shape(tiny):
    from pixel_sail.data import SequenceBuilder

    model, tok = tiny
    builder = SequenceBuilder(tok, model.config)
    kinds, nonempty, empty = set(), 0, 0
    for i in range(20):
        scene, _, _ = easy_scene(scene_rng("train", 3, i), 64)
        samples = easy_samples(scene_rng("train", 3, i), builder, 64)
        kinds |= {s.kind for s in samples}
        text = tok.decode([t for t in samples[0].labels if t >= 0])
        assert scene.objects[0].shape in text
        res = samples[1]
        assert len(res.masks) == 1
        if res.masks[0].any():
            nonempty += 1
        else:
            empty += 1
            assert "No target" in tok.decode([t for t in res.labels if t >= 0])
    assert kinds == {"shape_text", "shape_res"} and nonempty and empty


def test_easy_shape_training_resumes_exactly_and_a_segment_starts_from_the_weights_file(tmp_path):
    r = run(TRAIN, "--out", str(tmp_path / "a"), *TINY, "--total-steps", "6", "--easy-shape", "2")
    assert r.returncode == 0, r.stderr
    full = torch.load(tmp_path / "a" / "checkpoint.pt")
    assert full["step"] == 6
    r = run(TRAIN, "--out", str(tmp_path / "b"), *TINY, "--total-steps", "6", "--easy-shape", "2", "--minutes", "0")
    assert r.returncode == 0, r.stderr
    assert torch.load(tmp_path / "b" / "checkpoint.pt")["step"] < 6
    r = run(TRAIN, "--out", str(tmp_path / "b"), "--resume")
    assert r.returncode == 0, r.stderr
    resumed = torch.load(tmp_path / "b" / "checkpoint.pt")
    for k, v in full["model"].items():
        assert torch.allclose(v, resumed["model"][k], atol=1e-6), k

    # The weights file: float16, the run's totals, where the stream continues.
    w = tmp_path / "w.pt"
    r = run(os.path.join(TRAINING, "long_run.py"), "init", "--from", str(tmp_path / "a" / "checkpoint.pt"), "--weights", str(w))
    assert r.returncode == 0, r.stderr
    doc = torch.load(w)
    assert all(v.dtype == torch.float16 for v in doc["model"].values() if v.is_floating_point())
    assert doc["totals"]["steps"] == 6 and doc["scene_index"] == full["scene_index"]
    r = run(os.path.join(TRAINING, "long_run.py"), "init", "--from", str(tmp_path / "a" / "checkpoint.pt"), "--weights", str(w))
    assert r.returncode != 0  # never overwritten by accident

    # A segment starts from it with a short warm-up; its data continue after the scenes already used.
    # (--minutes 0: one group of 3 scenes, then a stop at its boundary.)
    r = run(TRAIN, "--out", str(tmp_path / "seg"), "--init", str(w), "--size", "64", "--total-steps", "1000", "--warmup-steps", "20",
            "--easy-shape", "2", "--batch", "3", "--points", "64", "--minutes", "0")
    assert r.returncode == 0, r.stderr
    seg = torch.load(tmp_path / "seg" / "checkpoint.pt")
    assert seg["step"] == 5 and seg["scene_index"] == full["scene_index"] + 3  # res, region text/seg, shape text/res
    log = [json.loads(line) for line in open(tmp_path / "seg" / "log.jsonl")]
    assert log[0]["lr"] < 1e-3  # warming up


def test_sigterm_stops_training_cleanly_with_a_checkpoint(tmp_path):
    p = subprocess.Popen([sys.executable, TRAIN, "--out", str(tmp_path / "t"), *TINY, "--total-steps", "100000"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    log = tmp_path / "t" / "log.jsonl"
    deadline = time.time() + 300
    while not log.exists() and time.time() < deadline:
        time.sleep(0.5)
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=300)
    assert p.returncode == 0, err
    assert "SIGTERM" in err and torch.load(tmp_path / "t" / "checkpoint.pt")["step"] >= 1


def test_finish_scores_appends_once_and_replaces_the_weights(tmp_path, monkeypatch):
    import long_run

    r = run(TRAIN, "--out", str(tmp_path / "a"), *TINY, "--total-steps", "2")
    assert r.returncode == 0, r.stderr
    w = tmp_path / "w.pt"
    assert run(os.path.join(TRAINING, "long_run.py"), "init", "--from", str(tmp_path / "a" / "checkpoint.pt"),
               "--weights", str(w)).returncode == 0
    r = run(TRAIN, "--out", str(tmp_path / "seg"), "--init", str(w), "--size", "64", "--batch", "3", "--points", "64",
            "--total-steps", "2", "--warmup-steps", "1")
    assert r.returncode == 0, r.stderr
    seg_ckpt = torch.load(tmp_path / "seg" / "checkpoint.pt")
    # A real report of the validation split (segment 0's), as the previous segment's and as this one's score.
    report = os.path.join(TRAINING, "notes", "long_run", "eval-seg000.json")
    fake = json.load(open(report))
    os.makedirs(tmp_path / "evals")
    with open(tmp_path / "evals" / "eval-seg000.json", "w") as fh:
        json.dump(fake, fh)
    scored = []
    monkeypatch.setattr(long_run, "evaluate", lambda weights, val: scored.append(weights) or fake)
    monkeypatch.setattr(long_run, "EVALS", str(tmp_path / "evals"))
    args = argparse.Namespace(segment=str(tmp_path / "seg"), weights=str(w), val="unused", curve=str(tmp_path / "curve.json"))
    assert long_run.cmd_finish(args) == 0
    curve = json.load(open(tmp_path / "curve.json"))
    assert len(curve) == 1 and curve[0]["segment"] == 1 and curve[0]["steps"] == 4 and curve[0]["res_cIoU"] == fake["res"]["cIoU"]
    assert curve[0]["mcq_by_kind"]["shape"] == fake["mcq"]["byKind"]["shape"]["accuracy"]
    assert set(curve[0]["ci95"]) == {"resCIoU", "mcqAccuracy", "overall"}
    assert curve[0]["vs_previous"]["overall"] == {"delta": 0.0, "ci95": [0.0, 0.0]}  # paired against segment 0
    assert (tmp_path / "evals" / "eval-seg001.json").exists()
    doc = torch.load(w)
    assert doc["totals"]["segments"] == 1 and doc["scene_index"] == seg_ckpt["scene_index"]
    for k, v in seg_ckpt["model"].items():
        assert torch.equal(doc["model"][k], v.half()), k
    assert not (tmp_path / "seg").exists() and len(scored) == 1

    # The curve block of a Markdown file is rewritten in place, nothing else.
    md = tmp_path / "card.md"
    md.write_text(f"before\n{long_run.BEGIN}\nold\n{long_run.END}\nafter\n")
    assert long_run.cmd_show(argparse.Namespace(curve=str(tmp_path / "curve.json"), update=[str(md)])) == 0
    text = md.read_text()
    assert text.startswith("before\n") and text.endswith("after\n") and "old" not in text and "| 1 | 4 |" in text


def test_plateau_rule_reads_the_paired_gain_of_the_last_segments():
    """Issue 19's stopping rule on the committed curve's first six points (segments 0–5) and their per-image
    reports: segment 2 → 5 gained RES cIoU (+0.065, the whole interval above 0.03), segment 4 → 5 did not."""
    sys.path.insert(0, TRAINING)
    from long_run import CURVE, EVALS, plateau

    curve = [p for p in json.load(open(CURVE)) if p["segment"] <= 5]
    r = plateau(curve, EVALS)
    assert (r["from"], r["to"], r["reached"]) == (2, 5, False)
    assert abs(r["resCIoU_gain"] - (curve[5]["res_cIoU"] - curve[2]["res_cIoU"])) < 1e-3
    assert 0.03 < r["ci95"][0] < r["resCIoU_gain"] < r["ci95"][1]
    one = plateau(curve, EVALS, window=1)
    assert (one["from"], one["reached"]) == (4, True) and one["ci95"][1] < 0.03
    assert not plateau(curve[:5], EVALS, window=1)["reached"]  # four segments of training are too few
    assert plateau(curve[:2], EVALS)["reached"] is False


def test_plateau_refuses_a_bad_window_and_a_missing_report(tmp_path):
    r = run(os.path.join(TRAINING, "long_run.py"), "plateau", "--window", "0")
    assert r.returncode != 0 and "--window must be at least 1" in r.stderr and "Traceback" not in r.stderr
    r = run(os.path.join(TRAINING, "long_run.py"), "plateau", "--evals", str(tmp_path))
    assert r.returncode != 0 and "no per-image report for segment" in r.stderr and "Traceback" not in r.stderr
