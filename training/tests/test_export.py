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


def _parity(model_dir):
    r = subprocess.run(["node", PARITY, str(model_dir), "--tol", "1e-4"], capture_output=True, text=True)
    report = json.loads(r.stdout)
    return r.returncode == 0 and report["ok"] and all(report["exact"].values()), r.stdout + r.stderr


@pytest.mark.skipif(not os.path.exists(PARITY), reason="run `npm run build` first (npm test does)")
@pytest.mark.parametrize("heads,kv_heads,tied", [(4, 4, False), (4, 1, True), (6, 2, False)])
def test_built_decoder_matches_pytorch_for_other_head_layouts(tmp_path, heads, kv_heads, tied):
    """The hand-built decoder graph (packed QKV, grouped attention by reshapes, fused rotary) against the PyTorch
    reference for plain multi-head, one shared KV head with tied embeddings, and 3 queries per KV head."""
    sys.path.insert(0, TRAINING)
    import export

    model, tok, tok_doc = export.build_random_model(3, num_attention_heads=heads, num_key_value_heads=kv_heads,
                                                    hidden_size=16 * heads, tie_word_embeddings=tied)
    export.export_model_dir(model, tok, tok_doc, str(tmp_path / "m"), "m")
    ok, report = _parity(tmp_path / "m")
    assert ok, report


@pytest.mark.skipif(not os.path.exists(PARITY), reason="run `npm run build` first (npm test does)")
def test_torch_exported_decoder_still_matches(tmp_path):
    """--torch-decoder keeps the TorchScript export working as an independent cross-check of the builder."""
    out = tmp_path / "torch"
    subprocess.run([sys.executable, EXPORT, "--out", str(out), "--random", "--seed", "5", "--torch-decoder"], check=True,
                   capture_output=True)
    ok, report = _parity(out)
    assert ok, report
    import onnx

    ops = {n.op_type for n in onnx.load(str(out / "decoder.onnx")).graph.node}
    assert "RotaryEmbedding" not in ops and "Shape" in ops  # really the TorchScript graph


def test_random_exports_have_no_int8_unless_asked(exported, tmp_path):
    cfg = json.load(open(exported / "config.json"))
    assert "variants" not in cfg["graphs"]["decoder"] and not (exported / "decoder.int8.onnx").exists()
    out = tmp_path / "q"
    subprocess.run([sys.executable, EXPORT, "--out", str(out), "--random", "--seed", "5", "--int8", "--no-fixtures"],
                   check=True, capture_output=True)
    cfg = json.load(open(out / "config.json"))
    assert cfg["graphs"]["decoder"]["variants"] == {"int8": "decoder.int8.onnx"}
    import onnx

    ops = [n.op_type for n in onnx.load(str(out / "decoder.int8.onnx")).graph.node]
    assert ops.count("DynamicQuantizeMatMul") == 3 * cfg["model"]["num_hidden_layers"]  # down_proj stays float32


SHIPPED = os.path.join(REPO, "models", "default")


@pytest.mark.skipif(not os.path.exists(PARITY), reason="run `npm run build` first (npm test does)")
def test_parity_check_rejects_an_int8_decoder_that_changes_the_answer(tmp_path):
    """The int8 check can fail: the shipped model with an int8 decoder built from perturbed weights."""
    import shutil

    import onnx
    import torch

    sys.path.insert(0, TRAINING)
    import export
    from pixel_sail.config import PixelSailConfig
    from pixel_sail.model import PixelSail
    from pixel_sail.onnx_decoder import build_decoder

    cfg = json.load(open(os.path.join(SHIPPED, "config.json")))
    model = PixelSail(PixelSailConfig.from_dict(cfg["model"])).eval()  # random weights of the shipped shape
    io = export.graph_io(model.config)
    dst = tmp_path / "default"
    shutil.copytree(SHIPPED, dst)
    with torch.no_grad():
        onnx.save(build_decoder(model, io["decoder"]["inputs"], io["decoder"]["outputs"], weights="int8"),
                  str(dst / "decoder.int8.onnx"))
    r = subprocess.run(["node", PARITY, str(dst), "--tol", "1e-3"], capture_output=True, text=True)
    report = json.loads(r.stdout)
    assert r.returncode == 1 and report["int8"]["ok"] is False and report["ok"] is False, r.stdout
    assert max(report["diffs"].values()) <= 1e-3  # the float32 graphs still match: only int8 failed


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


def _poison_if_branch(decoder_path, branch):
    """Scales the output of one branch of every attention If by 0.5, in place: what the engine then computes
    differs from the PyTorch reference wherever that branch runs."""
    import onnx
    from onnx import helper

    m = onnx.load(str(decoder_path))
    ifs = [n for n in m.graph.node if n.op_type == "If"]
    for n in ifs:
        attr = next(a for a in n.attribute if a.name == branch)
        g = attr.g
        out = g.output[0].name
        g.node[-1].output[0] = out + "_raw"
        g.node.append(helper.make_node("Constant", [], [out + "_half"], value=helper.make_tensor(out + "_half", onnx.TensorProto.FLOAT, [], [0.5])))
        g.node.append(helper.make_node("Mul", [out + "_raw", out + "_half"], [out]))
    onnx.save(m, str(decoder_path))
    return len(ifs)


@pytest.mark.skipif(not os.path.exists(PARITY), reason="run `npm run build` first (npm test does)")
@pytest.mark.parametrize("heads,kv_heads", [(4, 2), (6, 2), (4, 4)])
def test_fused_attention_decoder_matches_pytorch_and_runs_each_path(tmp_path, heads, kv_heads):
    """--attention fused: the image prefill runs com.microsoft.MultiHeadAttention (flash attention on the CPU) and
    text steps the batched MatMuls; both agree with the PyTorch reference. Each branch really runs where it
    should: spoiling the fused branch breaks the image block, spoiling the other breaks only the text steps."""
    sys.path.insert(0, TRAINING)
    import export

    model, tok, tok_doc = export.build_random_model(3, num_attention_heads=heads, num_key_value_heads=kv_heads, hidden_size=16 * heads)
    export.export_model_dir(model, tok, tok_doc, str(tmp_path / "m"), "m", attention="fused")
    ok, report = _parity(tmp_path / "m")
    assert ok, report
    import onnx

    ops = {n.op_type for n in onnx.load(str(tmp_path / "m" / "decoder.onnx")).graph.node}
    assert "If" in ops
    for branch, broken in (("then_branch", "imageBlockHidden"), ("else_branch", "segHidden")):
        import shutil

        spoilt = tmp_path / branch
        shutil.copytree(tmp_path / "m", spoilt)
        assert _poison_if_branch(spoilt / "decoder.onnx", branch) == model.config.num_hidden_layers
        r = subprocess.run(["node", PARITY, str(spoilt), "--tol", "1e-4"], capture_output=True, text=True)
        assert r.returncode != 0, f"spoiling {branch} went unnoticed"
        rep = json.loads(r.stdout)
        assert rep["diffs"][broken] > 1e-3, rep["diffs"]
        if branch == "else_branch":  # the image block never takes the batched path
            assert rep["diffs"]["imageBlockHidden"] <= 1e-4, rep["diffs"]


def test_fused_attention_is_refused_with_the_torch_decoder(tmp_path):
    r = subprocess.run([sys.executable, EXPORT, "--out", str(tmp_path / "x"), "--random", "--torch-decoder", "--attention", "fused"],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "fused attention exists only in the built decoder" in r.stderr and "Traceback" not in r.stderr
