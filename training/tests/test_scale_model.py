"""training/scale_model.py end to end at a tiny size (the paper's sizes are for `npm run bench -- --scale`, never
a test): official-layout inputs, conversion in a child process, the report it leaves beside the model."""
import json
import os

import scale_model
from pixel_sail.prompts import base_corpus
from pixel_sail.tokenizer import tokenizer_json, train_bpe


def test_scale_model_writes_converts_and_reports(tmp_path, monkeypatch):
    vocab, merges = train_bpe(base_corpus(), 300)
    tok = tokenizer_json(vocab, merges, special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>"])
    tok_file = tmp_path / "qwen.json"
    tok_file.write_text(json.dumps(tok))
    rows = len(vocab) + 64
    monkeypatch.setitem(scale_model.PAPER_SHAPES, "tiny", dict(hidden=64, layers=2, heads=4, kv_heads=2, mlp=160, vocab=rows, tied=True))
    monkeypatch.setattr(scale_model, "QWEN25_ADDED_END", len(vocab) + 3)  # drops <think>, as for Qwen3's list
    out = tmp_path / "model"
    assert scale_model.main(["--size", "tiny", "--out", str(out), "--tokenizer", str(tok_file), "--max-long-side", "64"]) == 0
    report = json.loads((out / "conversion.json").read_text())
    assert report["size"] == "tiny" and report["conversion_s"] > 0 and report["conversion_peak_rss_mb"] > 0
    assert {"decoder.onnx", "decoder.int8.onnx", "embed.onnx", "upsampler.onnx", "mask_head.onnx"} <= set(report["files"])
    assert report["external_data"] == []  # a tiny graph stays in one file
    assert report["files"]["decoder.onnx"] == os.path.getsize(out / "decoder.onnx")
    assert not (tmp_path / "model.work").exists(), "the official-layout inputs are removed unless --keep-checkpoint"
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["model"]["tie_word_embeddings"] is True  # the tied head saved under its own key is tied again
    assert cfg["model"]["rope_theta"] == 1e6
    ids = cfg["model"]["token_ids"]
    n = len(vocab) + 3
    assert ids["<vision>"] == n and ids["<|vis_cls|>"] == n + 5 and ids["[SEG]"] == n + 6
    assert "<think>" not in {t["content"] for t in json.loads((out / "tokenizer.json").read_text())["added_tokens"]}
