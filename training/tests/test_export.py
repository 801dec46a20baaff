import json
import os
import subprocess
import sys

import pytest

from conftest import REPO, TRAINING

EXPORT = os.path.join(TRAINING, "export.py")
PARITY = os.path.join(REPO, "dist", "parity.js")


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    out = tmp_path_factory.mktemp("export") / "tiny"
    subprocess.run([sys.executable, EXPORT, "--out", str(out), "--random", "--seed", "5"], check=True, capture_output=True)
    return out


def test_export_writes_the_contract(exported):
    cfg = json.load(open(exported / "config.json"))
    assert cfg["format"] == "pixel-sail-onnx"
    for g in ("embed", "decoder", "upsampler", "mask_head"):
        assert (exported / cfg["graphs"][g]["file"]).is_file()
    n = cfg["model"]["num_hidden_layers"]
    assert len(cfg["graphs"]["decoder"]["inputs"]) == 3 + 2 * n
    tok = json.load(open(exported / "tokenizer.json"))
    specials = {t["content"]: t["id"] for t in tok["added_tokens"]}
    for name in ["[SEG]", "<vision>", "<vpatch>", "</vision>", "<|im_start|>", "<|im_end|>", "<|endoftext|>"] + [f"<Prompt{k}>" for k in range(15)]:
        assert specials[name] == cfg["model"]["token_ids"][name]
    assert (exported / "parity" / "fixtures.json").is_file()


@pytest.mark.skipif(not os.path.exists(PARITY), reason="run `npm run build` first (npm test does)")
def test_onnx_in_onnxruntime_node_matches_pytorch(exported):
    r = subprocess.run(["node", PARITY, str(exported), "--tol", "1e-4"], capture_output=True, text=True)
    report = json.loads(r.stdout)
    assert r.returncode == 0 and report["ok"], r.stdout + r.stderr
    assert max(report["diffs"].values()) <= 1e-4
    assert all(report["exact"].values())


def test_parity_check_detects_a_wrong_graph(exported, tmp_path):
    import shutil

    if not os.path.exists(PARITY):
        pytest.skip("run `npm run build` first")
    broken = tmp_path / "broken"
    shutil.copytree(exported, broken)
    other = tmp_path / "other"
    subprocess.run([sys.executable, EXPORT, "--out", str(other), "--random", "--seed", "6", "--no-fixtures"], check=True, capture_output=True)
    shutil.copy(other / "upsampler.onnx", broken / "upsampler.onnx")
    r = subprocess.run(["node", PARITY, str(broken)], capture_output=True, text=True)
    assert r.returncode == 1 and json.loads(r.stdout)["ok"] is False


def test_exporter_refuses_bad_arguments(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    r = subprocess.run([sys.executable, EXPORT, "--out", str(blocker / "m"), "--random"], capture_output=True, text=True)
    assert r.returncode != 0 and "export.py: error" in r.stderr and "Traceback" not in r.stderr
    r = subprocess.run([sys.executable, EXPORT, "--out", str(tmp_path / "m"), "--checkpoint", str(tmp_path / "none.pt")], capture_output=True, text=True)
    assert r.returncode != 0 and "checkpoint not found" in r.stderr
    r = subprocess.run([sys.executable, EXPORT, "--out", str(tmp_path / "m"), "--random", "--seed", "-2"], capture_output=True, text=True)
    assert r.returncode != 0 and "--seed must be non-negative" in r.stderr
    assert not (tmp_path / "m").exists()
    assert not [p for p in tmp_path.iterdir() if ".partial-" in p.name]
