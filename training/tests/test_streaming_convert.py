"""The streaming conversion (checkpoint read tensor by tensor, graph weights written as they come) writes the
same model directory as the in-memory one, byte for byte, at a tiny size: inline graphs and, with the
external-data threshold forced down, graphs with external data (same file, order and offsets)."""
import filecmp
import json
import os

import pytest
import torch

import convert_official
from pixel_sail import exporting
from pixel_sail.lazy_checkpoint import LazyTensor, lazy_load
from pixel_sail.official_checkpoint import ConversionError
from pixel_sail.official_layout import llm_config, official_state

PARITY = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "dist", "parity.js")
SHAPES = dict(hidden=64, layers=2, heads=4, kv_heads=2, mlp=160, patch=16, seg_dim=32)


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """Two official-layout checkpoints: bfloat16 with a tied head saved under both names (as the paper-size
    random models are), and float32 with an untied head; both with the base tokenizer."""
    import export

    d = tmp_path_factory.mktemp("streaming")
    _, tok, tok_doc = export.build_random_model(seed=0)
    (d / "tokenizer.json").write_text(json.dumps(tok_doc))
    vocab = len(tok)  # this tokenizer already holds the Pixel-SAIL tokens, at the official ids
    out = {}
    for name, tied, dtype in (("tied_bf16", True, torch.bfloat16), ("untied_f32", False, None)):
        state = official_state(**SHAPES, vocab=vocab, tied=tied, seed=3, dtype=dtype)
        state["module.sam2_model.image_encoder.weight"] = torch.zeros(2, 2)  # training-only: dropped
        torch.save({"state_dict": state, "meta": {"iter": 7}}, d / f"{name}.pth")
        (d / f"{name}.json").write_text(json.dumps(llm_config(**{k: v for k, v in SHAPES.items() if k != "seg_dim"},
                                                              vocab=vocab, tied=tied)))
        out[name] = (d / f"{name}.pth", d / f"{name}.json", d / "tokenizer.json")
    return out


def files_of(folder):
    return sorted(os.path.relpath(os.path.join(r, f), folder) for r, _, fs in os.walk(folder) for f in fs)


def convert_both(paths, tmp_path, **kw):
    ckpt, llm, tok = (str(p) for p in paths)
    a = convert_official.convert(ckpt, llm, tok, str(tmp_path / "in_memory" / "m"), 256, fixtures=False, int8=True,
                                 streaming=False, **kw)
    b = convert_official.convert(ckpt, llm, tok, str(tmp_path / "streamed" / "m"), 256, fixtures=False, int8=True,
                                 streaming=True, **kw)
    return tmp_path / "in_memory" / "m", tmp_path / "streamed" / "m", a, b


def assert_same_files(x, y):
    assert files_of(x) == files_of(y)
    for f in files_of(x):
        assert filecmp.cmp(x / f, y / f, shallow=False), f"{f} differs"


@pytest.mark.parametrize("which", ["tied_bf16", "untied_f32"])
def test_streaming_conversion_writes_the_same_files_as_the_in_memory_one(checkpoints, tmp_path, which):
    x, y, a, b = convert_both(checkpoints[which], tmp_path)
    assert not a["streaming"] and b["streaming"]
    assert {k: v for k, v in a.items() if k not in ("out", "streaming")} == {k: v for k, v in b.items() if k not in ("out", "streaming")}
    assert files_of(y) == ["config.json", "decoder.int8.onnx", "decoder.onnx", "embed.onnx", "mask_head.onnx",
                           "tokenizer.json", "tokenizer_config.json", "upsampler.onnx"]
    assert_same_files(x, y)
    assert b["dropped"] == ["module.sam2_model.image_encoder.weight"]
    # The converter's default image attention is the fused one, and config.json says so (the engine's arena choice).
    assert json.loads((y / "config.json").read_text())["graphs"]["decoder"]["image_attention"] == "fused"


def test_external_data_layout_is_the_same_too(checkpoints, tmp_path, monkeypatch):
    monkeypatch.setattr(exporting, "EXTERNAL_DATA_BYTES", 0)
    monkeypatch.setattr(exporting, "EMBED_EXTERNAL_BYTES", 0)
    x, y, _, _ = convert_both(checkpoints["tied_bf16"], tmp_path)
    assert "decoder.onnx.data" in files_of(y) and "decoder.int8.onnx.data" in files_of(y) and "embed.onnx.data" in files_of(y)
    assert_same_files(x, y)
    import onnx

    g = onnx.load(str(y / "decoder.int8.onnx"), load_external_data=False)
    external = [t for t in g.graph.initializer if t.data_location == onnx.TensorProto.EXTERNAL]
    inline = [t for t in g.graph.initializer if t.data_location != onnx.TensorProto.EXTERNAL]
    # int8 weights and their scales go out; shape constants stay in the graph.
    assert any(t.data_type == onnx.TensorProto.INT8 for t in external) and inline
    assert all(len(t.raw_data) < 1024 for t in inline)
    # The converter's default int8 form: down projections (per-token scales) and the LM head int8 too.
    assert {p.key: p.value for p in g.metadata_props} == {"int8_down": "per_token", "int8_lm_head": "true"}
    assert {t.name: t.data_type for t in g.graph.initializer}["w_lm_head"] == onnx.TensorProto.INT8


@pytest.mark.skipif(not os.path.exists(PARITY), reason="run `npm run build` first (npm test does)")
def test_the_streamed_model_passes_the_engine_parity_check(checkpoints, tmp_path):
    """Not only the same bytes as a streamed-vs-in-memory pair: the streamed directory, given the parity fixtures
    of an in-memory conversion with fixtures, passes the engine's parity check. (float32 only: the int8 check's
    mask-IoU floor is for trained weights; random ones miss it, in memory or streamed alike, and the int8 files
    are held to the in-memory bytes above.)"""
    import shutil
    import subprocess

    ckpt, llm, tok = (str(p) for p in checkpoints["untied_f32"])
    ref = tmp_path / "with_fixtures" / "m"
    convert_official.convert(ckpt, llm, tok, str(ref), 256, fixtures=True)
    y = tmp_path / "streamed" / "m"
    convert_official.convert(ckpt, llm, tok, str(y), 256, fixtures=False, streaming=True)
    assert [f for f in files_of(ref) if not f.startswith("parity/")] == files_of(y)
    for f in files_of(y):
        assert filecmp.cmp(ref / f, y / f, shallow=False), f"{f} differs"
    shutil.copytree(ref / "parity", y / "parity")
    r = subprocess.run(["node", PARITY, str(y)], capture_output=True, text=True)
    assert r.returncode == 0 and json.loads(r.stdout)["ok"], r.stdout + r.stderr


def test_lazy_reader_matches_torch_load_and_sees_tied_storage(checkpoints):
    path = checkpoints["tied_bf16"][0]
    lazy = lazy_load(str(path))["state_dict"]
    eager = torch.load(path)["state_dict"]
    assert list(lazy) == list(eager)
    for k, v in eager.items():
        assert isinstance(lazy[k], LazyTensor)
        t = lazy[k].load()
        assert t.dtype == v.dtype and t.shape == v.shape and torch.equal(t, v), k
    st = "single_transformer."
    assert lazy[st + "lm_head.weight"].same_data(lazy[st + "model.embed_tokens.weight"])
    assert not lazy[st + "model.norm.weight"].same_data(lazy[st + "model.embed_tokens.weight"])


def test_streaming_refuses_a_checkpoint_of_another_shape(checkpoints, tmp_path):
    ckpt, llm, tok = checkpoints["untied_f32"]
    doc = json.loads(llm.read_text())
    doc["intermediate_size"] = 128  # the weights are 160 wide
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    with pytest.raises(ConversionError, match="does not fit the architecture"):
        convert_official.convert(str(ckpt), str(bad), str(tok), str(tmp_path / "out"), 256, fixtures=False, streaming=True)
    assert not (tmp_path / "out").exists()


def test_fixtures_need_the_in_memory_path(checkpoints, tmp_path):
    ckpt, llm, tok = (str(p) for p in checkpoints["untied_f32"])
    with pytest.raises(ConversionError, match="whole model"):
        convert_official.convert(ckpt, llm, tok, str(tmp_path / "out"), 256, fixtures=True, streaming=True)


def test_a_bfloat16_checkpoints_embedding_table_is_kept_in_float16(checkpoints, tmp_path):
    """Trained in bfloat16 (as the official checkpoints are), the table loses nothing in float16 and is stored so,
    read by a Gather whose rows are cast back to float32; a float32-trained table keeps float32."""
    import numpy as np
    import onnx
    from onnx import numpy_helper

    def table_of(folder):
        vocab = json.loads((folder / "config.json").read_text())["model"]["vocab_size"]
        g = onnx.load(str(folder / "embed.onnx")).graph
        tables = [t for t in g.initializer if list(t.dims) == [vocab, SHAPES["hidden"]]]
        assert len(tables) == 1
        return tables[0], g

    _, y, _, _ = convert_both(checkpoints["tied_bf16"], tmp_path / "bf16")
    table, g = table_of(y)
    assert table.data_type == onnx.TensorProto.FLOAT16
    gathers = [n for n in g.node if n.op_type == "Gather" and n.input[0] == table.name]
    assert gathers and all(any(c.op_type == "Cast" and c.input[0] == n.output[0] for c in g.node) for n in gathers)
    want = torch.load(str(checkpoints["tied_bf16"][0]))["state_dict"]["single_transformer.model.embed_tokens.weight"].float().numpy()
    assert np.max(np.abs(numpy_helper.to_array(table).astype(np.float32) - want)) <= exporting.HALF_TABLE_MAX_ERROR
    table32, _ = table_of(convert_both(checkpoints["untied_f32"], tmp_path / "f32")[1])
    assert table32.data_type == onnx.TensorProto.FLOAT


@pytest.mark.skipif(not os.path.exists(PARITY), reason="run `npm run build` first (npm test does)")
def test_the_float16_embedding_table_passes_the_engine_parity_check(checkpoints, tmp_path, monkeypatch):
    """The engine, reading the float16 table through onnxruntime from an external weights file (as a paper-size
    model's is), gives the PyTorch reference's answers."""
    import subprocess

    import onnx

    monkeypatch.setattr(exporting, "EMBED_EXTERNAL_BYTES", 0)
    ckpt, llm, tok = (str(p) for p in checkpoints["tied_bf16"])
    ref = tmp_path / "with_fixtures" / "m"
    convert_official.convert(ckpt, llm, tok, str(ref), 256, fixtures=True)
    assert (ref / "embed.onnx.data").exists()
    assert any(t.data_type == onnx.TensorProto.FLOAT16 for t in onnx.load(str(ref / "embed.onnx")).graph.initializer)
    r = subprocess.run(["node", PARITY, str(ref)], capture_output=True, text=True)
    assert r.returncode == 0 and json.loads(r.stdout)["ok"], r.stdout + r.stderr
