"""The int8 decoder forms (onnx_decoder.INT8_FORMS) against the float32 decoder, run by onnxruntime-node (the
engine's runtime; there is no Python onnxruntime here) through training/run_graph.mjs."""
import base64
import json
import os
import subprocess

import numpy as np
import pytest

from conftest import REPO

RUN_GRAPH = os.path.join(REPO, "training", "run_graph.mjs")
HAVE_ORT = os.path.isdir(os.path.join(REPO, "node_modules", "onnxruntime-node"))
needs_ort = pytest.mark.skipif(not HAVE_ORT, reason="run `npm ci` first (npm test does)")


def _enc(a: np.ndarray) -> dict:
    return {"dims": list(a.shape), "type": str(a.dtype), "data": base64.b64encode(np.ascontiguousarray(a).tobytes()).decode()}


def _run(model, feeds: dict, tmp_path, tag: str) -> dict:
    import onnx

    graph, ins, outs = (str(tmp_path / f"{tag}.{ext}") for ext in ("onnx", "in.json", "out.json"))
    onnx.save(model, graph)
    with open(ins, "w") as fh:
        json.dump({k: _enc(v) for k, v in feeds.items()}, fh)
    r = subprocess.run(["node", RUN_GRAPH, graph, ins, outs], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    with open(outs) as fh:
        doc = json.load(fh)
    types = {"float32": np.float32, "int32": np.int32}
    return {k: np.frombuffer(base64.b64decode(t["data"]), types[t["type"]]).reshape(t["dims"]) for k, t in doc.items()}


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    """Relative error of a against the reference b (Frobenius norms)."""
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


@pytest.fixture(scope="module")
def model_and_io():
    import export
    from pixel_sail.exporting import graph_io

    model, _, _ = export.build_random_model(7)
    return model, graph_io(model.config)["decoder"]


def _decoder_feeds(cfg, io, s: int, past: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    t = s + past
    mask = np.triu(np.full((s, t), -1e9, np.float32), k=past + 1)[None, None]  # causal over past + new tokens
    feeds = {io["inputs"][0]: rng.standard_normal((1, s, cfg.hidden_size)).astype(np.float32),
             io["inputs"][1]: mask,
             io["inputs"][2]: np.broadcast_to(np.arange(past, t, dtype=np.int64), (3, 1, s)).copy()}
    for name in io["inputs"][3:]:
        feeds[name] = rng.standard_normal((1, cfg.num_key_value_heads, past, cfg.head_dim)).astype(np.float32)
    return feeds


@needs_ort
@pytest.mark.parametrize("s,past", [(9, 0), (1, 6)])
def test_full_int8_decoder_agrees_with_float32(model_and_io, tmp_path, s, past):
    """The "full" form (down projection per-token int8, LM head int8) within 3 % (relative, Frobenius) of the
    float32 decoder on logits and last_hidden, for a prefill and for a one-token step with a past; and its
    extra error over the "projections" form (which rounds less) is bounded too, so a broken scale (×127, a
    transposed weight, the wrong row) fails here. Random weights quantize worse than trained ones (no
    structure); the tiny model's measured errors are about 1 % for both forms."""
    import onnx
    from pixel_sail.onnx_decoder import build_decoder

    model, io = model_and_io
    feeds = _decoder_feeds(model.config, io, s, past, seed=s)
    out = {}
    for tag, kw in (("float32", {}), ("projections", {"weights": "int8"}), ("full", {"weights": "int8", "int8_form": "full"})):
        proto = build_decoder(model, io["inputs"], io["outputs"], **kw)
        onnx.checker.check_model(proto)
        out[tag] = _run(proto, feeds, tmp_path, tag)
    for name in io["outputs"][:2]:  # logits, last_hidden
        ref = out["float32"][name]
        full, proj = _rel(out["full"][name], ref), _rel(out["projections"][name], ref)
        print(f"{name} s={s} past={past}: relative error full {full:.4f}, projections {proj:.4f}")
        assert full <= 0.03, (name, full, proj)
        assert full <= 2 * proj + 0.005, (name, full, proj)
    # The KV cache is written before the down projection of its layer: layer 0's keys round exactly as in
    # the projections form (same Q|K|V quantization), a check that the two forms differ only where they should.
    np.testing.assert_array_equal(out["full"][io["outputs"][2]], out["projections"][io["outputs"][2]])


def test_int8_forms_write_the_ops_they_say(model_and_io):
    import onnx
    from pixel_sail.onnx_decoder import build_decoder

    model, io = model_and_io
    layers = model.config.num_hidden_layers
    proj = build_decoder(model, io["inputs"], io["outputs"], weights="int8")
    full = build_decoder(model, io["inputs"], io["outputs"], weights="int8", int8_form="full")
    # full: the down projections and the LM head join the int8 ops; each down projection's rows are divided by
    # their abs-max (ReduceMax, ReduceMin) first.
    for proto, dqmm, row_max in ((proj, 3 * layers, 0), (full, 4 * layers + 1, layers)):
        onnx.checker.check_model(proto)
        ops = [n.op_type for n in proto.graph.node]
        assert ops.count("DynamicQuantizeMatMul") == dqmm and ops.count("ReduceMin") == row_max, ops
    sizes = {}
    for tag, proto in (("projections", proj), ("full", full)):
        inits = {t.name: t for t in proto.graph.initializer}
        sizes[tag] = {k: inits[k].data_type for k in ("w_lm_head", "w_down_0")}
        assert {p.key: p.value for p in proto.metadata_props} == ({"int8_down": "per_token", "int8_lm_head": "true"} if tag == "full" else {})
    f32, i8 = onnx.TensorProto.FLOAT, onnx.TensorProto.INT8
    assert sizes["projections"] == {"w_lm_head": f32, "w_down_0": f32}
    assert sizes["full"] == {"w_lm_head": i8, "w_down_0": i8}
    with pytest.raises(ValueError, match="int8_form"):
        build_decoder(model, io["inputs"], io["outputs"], weights="int8", int8_form="half")


def test_export_cli_writes_the_form_asked_for(tmp_path):
    """export.py --int8-form full writes the full form (its default, projections, is held by test_export)."""
    import sys

    import onnx

    out = tmp_path / "m"
    subprocess.run([sys.executable, os.path.join(REPO, "training", "export.py"), "--out", str(out), "--random", "--seed", "5",
                    "--int8", "--int8-form", "full", "--no-fixtures"], check=True, capture_output=True)
    g = onnx.load(str(out / "decoder.int8.onnx"))
    assert {p.key: p.value for p in g.metadata_props} == {"int8_down": "per_token", "int8_lm_head": "true"}
    r = subprocess.run([sys.executable, os.path.join(REPO, "training", "export.py"), "--out", str(tmp_path / "x"), "--random",
                        "--int8", "--int8-form", "half"], capture_output=True, text=True)
    assert r.returncode == 2 and "--int8-form" in r.stderr


@needs_ort
def test_per_token_scales_keep_an_outlier_row_from_spoiling_the_others(tmp_path):
    """A SwiGLU-like input whose one row carries a 1000× outlier: with one scale per tensor every other row
    rounds to a handful of levels (most values to 0) and loses most of its product; with a scale per row
    the other rows keep int8 precision. The per-tensor form fails the same bound (asserted), so the test
    tells the two apart."""
    import onnx
    from pixel_sail.onnx_decoder import projection_graph

    rng = np.random.default_rng(0)
    k, n, s = 256, 64, 8
    w = (rng.standard_normal((k, n)) / np.sqrt(k)).astype(np.float32)
    x = rng.standard_normal((1, s, k)).astype(np.float32)
    x[0, 3, 17] = 1000.0  # one token, one channel
    ref = x[0] @ w
    others = [r for r in range(s) if r != 3]
    err = {}
    for form in ("per_tensor", "per_token"):
        proto = projection_graph(w, form)
        onnx.checker.check_model(proto)
        y = _run(proto, {"x": x}, tmp_path, form)["y"][0]
        err[form] = max(_rel(y[r], ref[r]) for r in others)
        assert _rel(y[3], ref[3]) <= 0.02, (form, _rel(y[3], ref[3]))  # the outlier row itself is fine either way
    assert err["per_token"] <= 0.02, err
    assert err["per_tensor"] > 0.3, err  # what the per-token scales fix


@needs_ort
def test_per_token_rows_round_alike_whatever_their_magnitude_and_zero_rows_stay_zero(tmp_path):
    """The same row at 1e-3, 1 and 1e3 of its size, in one call: each row is rounded against its own
    abs-max, so the three products are the same up to that factor (float32 rounding aside), each within int8
    precision of the float product; with one scale per tensor the small row would round to nothing. An
    all-zero row (a padding token) gives zeros, not NaN."""
    from pixel_sail.onnx_decoder import projection_graph

    rng = np.random.default_rng(1)
    k, n = 128, 16
    w = (rng.standard_normal((k, n)) / np.sqrt(k)).astype(np.float32)
    v = rng.standard_normal(k).astype(np.float32)
    factors = np.array([1e-3, 1.0, 1e3], np.float32)
    x = np.concatenate([factors[:, None] * v[None], np.zeros((1, k), np.float32)])[None]
    y = _run(projection_graph(w, "per_token"), {"x": x}, tmp_path, "rows")["y"][0]
    for i, f in enumerate(factors):
        np.testing.assert_allclose(y[i] / f, y[1], rtol=1e-4, atol=1e-6 * np.abs(y[1]).max())
        assert _rel(y[i], x[0, i] @ w) <= 0.02
    assert np.all(y[3] == 0)

PARITY = os.path.join(REPO, "dist", "parity.js")
SHIPPED = os.path.join(REPO, "models", "default")
SHIPPED_WEIGHTS = os.path.join(REPO, "training", "checkpoints", "long_run_seg7.pt")  # models/default's source (its card)


@pytest.mark.skipif(not os.path.exists(PARITY), reason="run `npm run build` first (npm test does)")
def test_the_engine_runs_the_full_int8_form_of_the_shipped_weights_through_its_parity_check(tmp_path):
    """The shipped model's directory with its int8 decoder rebuilt in the "full" form from the weights it was
    exported from: the engine loads it and its int8 check (same generated ids as float32, mask IoU and mask
    logits within the check's floors) passes."""
    import shutil

    import export
    import onnx
    from pixel_sail.exporting import graph_io
    from pixel_sail.onnx_decoder import build_decoder

    model, _, _ = export.load_checkpoint(SHIPPED_WEIGHTS)
    io = graph_io(model.config)["decoder"]
    dst = tmp_path / "default"
    shutil.copytree(SHIPPED, dst)
    proto = build_decoder(model, io["inputs"], io["outputs"], weights="int8", int8_form="full")
    assert {p.key: p.value for p in proto.metadata_props}["int8_lm_head"] == "true"
    onnx.save(proto, str(dst / "decoder.int8.onnx"))
    r = subprocess.run(["node", PARITY, str(dst)], capture_output=True, text=True)
    report = json.loads(r.stdout)
    assert r.returncode == 0 and report["ok"] and report["int8"]["ok"] and report["int8"]["generatedIdsEqual"], r.stdout + r.stderr


def test_export_rebuilds_the_shipped_decoders_byte_for_byte(tmp_path):
    """export.py on the checkpoint models/default names as its source writes its decoder files again, byte for
    byte, in the int8 form the shipped file says it is (no metadata: "projections"): the forms added later left
    the shipped one unchanged, and a re-export with the same command reproduces it."""
    import filecmp
    import sys

    import onnx

    with open(os.path.join(SHIPPED, "config.json")) as fh:
        source = json.load(fh)["source"]["checkpoint"]
    props = {p.key: p.value for p in onnx.load(os.path.join(SHIPPED, "decoder.int8.onnx")).metadata_props}
    form = "full" if props.get("int8_down") == "per_token" else "projections"
    fused = any(n.op_type == "If" for n in onnx.load(os.path.join(SHIPPED, "decoder.onnx")).graph.node)
    out = tmp_path / "default"
    subprocess.run([sys.executable, os.path.join(REPO, "training", "export.py"), "--out", str(out), "--checkpoint",
                    os.path.join(REPO, source), "--int8-form", form, "--attention", "fused" if fused else "matmul",
                    "--no-fixtures"], check=True, capture_output=True)
    for f in ("decoder.onnx", "decoder.int8.onnx"):
        assert filecmp.cmp(out / f, os.path.join(SHIPPED, f), shallow=False), f


@needs_ort
@pytest.mark.parametrize("weights,form", [("float32", "projections"), ("int8", "projections"), ("int8", "full")])
def test_logits_rows_are_the_last_rows_predictions(model_and_io, tmp_path, weights, form):
    """logits_rows R: `logits` is [1, R, vocab] and row j is the LM head on last_hidden's row S−R+j — the
    prediction a drafted token is checked against. float32: the last row equals the single-row graph's; the
    int8 forms' head takes one activation scale per row then (its rounding may differ slightly from the
    single-row head's, so it is compared to the float32 head on the same rows). A graph shorter than R rows
    returns all of them."""
    import onnx
    from pixel_sail.onnx_decoder import build_decoder

    model, io = model_and_io
    lm = model.single_transformer.lm_head.weight.detach().numpy().astype(np.float32)
    for s, past in ((9, 0), (3, 6)):
        feeds = _decoder_feeds(model.config, io, s, past, seed=20 + s)
        rows = build_decoder(model, io["inputs"], io["outputs"], weights=weights, int8_form=form, logits_rows=4)
        onnx.checker.check_model(rows)
        one = build_decoder(model, io["inputs"], io["outputs"], weights=weights, int8_form=form)
        got, single = _run(rows, feeds, tmp_path, f"rows{s}"), _run(one, feeds, tmp_path, f"one{s}")
        r = min(4, s)
        assert got["logits"].shape == (1, r, model.config.vocab_size)
        hidden = got["last_hidden"][0, s - r:]  # the final norm's output rows
        want = hidden @ lm.T
        if weights == "float32":
            np.testing.assert_allclose(got["logits"][0], want, rtol=1e-4, atol=1e-4)
            np.testing.assert_array_equal(got["logits"][0, -1], single["logits"][0, 0])
        else:
            assert _rel(got["logits"][0], want) < 0.03
            assert _rel(got["logits"][0, -1:], single["logits"][0]) < 0.03
            assert (got["logits"][0].argmax(-1) == want.argmax(-1)).mean() >= 0.75
    with pytest.raises(ValueError, match="logits_rows"):
        build_decoder(model, io["inputs"], io["outputs"], logits_rows=0)


@needs_ort
@pytest.mark.parametrize("weights,form", [("float32", "projections"), ("int8", "full")])
def test_mlp_in_row_chunks_matches_one_product(model_and_io, tmp_path, weights, form):
    """mlp_chunk_rows C: a call of more than C tokens runs each MLP over ⌈S / C⌉ equal chunks, zero-padded (S = 9,
    C = 4: three chunks of 3 rows; S = 10: three of 4, the last padded by 2); a shorter call runs it whole. float32: the same outputs as the graph
    without chunks (to float32 summation order); int8: each chunk's activations get their own scale, so within the
    int8 forms' error. Both: the weights are stored once (no initializer twice)."""
    import onnx
    from pixel_sail.onnx_decoder import build_decoder

    model, io = model_and_io
    chunked = build_decoder(model, io["inputs"], io["outputs"], weights=weights, int8_form=form, mlp_chunk_rows=4)
    onnx.checker.check_model(chunked)
    names = [t.name for t in chunked.graph.initializer]
    assert len(names) == len(set(names))
    whole = build_decoder(model, io["inputs"], io["outputs"], weights=weights, int8_form=form)
    assert sum(t.ByteSize() for t in chunked.graph.initializer) < 1.01 * sum(t.ByteSize() for t in whole.graph.initializer)
    for s, past in ((9, 0), (3, 6), (8, 0), (10, 2)):
        feeds = _decoder_feeds(model.config, io, s, past, seed=40 + s)
        a, b = _run(chunked, feeds, tmp_path, f"chunked{s}"), _run(whole, feeds, tmp_path, f"whole{s}")
        for name in ("logits", "last_hidden", io["outputs"][-1]):
            if weights == "float32":
                np.testing.assert_allclose(a[name], b[name], rtol=1e-5, atol=1e-5, err_msg=f"{name} at S={s}")
            else:
                assert _rel(a[name], b[name]) < 0.03, (name, s)
    with pytest.raises(ValueError, match="mlp_chunk_rows"):
        build_decoder(model, io["inputs"], io["outputs"], mlp_chunk_rows=-1)
