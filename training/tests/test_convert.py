import base64
import copy
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from conftest import REPO, TRAINING

CONVERT = os.path.join(TRAINING, "convert_official.py")
PARITY = os.path.join(REPO, "dist", "parity.js")


@pytest.fixture(scope="module")
def official(tmp_path_factory, tiny):
    """A randomly initialised checkpoint laid out as the official training saves it."""
    model, tok = tiny
    d = tmp_path_factory.mktemp("official")
    cfg = model.config
    state = {k: v.clone() for k, v in model.state_dict().items()}
    state["distill_m2f_adapter.weight"] = torch.zeros(3, 3)  # training-only, dropped by the converter
    torch.save({"state_dict": state, "meta": {"iter": 1}}, d / "iter_1.pth")
    llm = {"architectures": ["Qwen2ForCausalLM"], "hidden_size": cfg.hidden_size, "intermediate_size": cfg.intermediate_size,
           "num_hidden_layers": cfg.num_hidden_layers, "num_attention_heads": cfg.num_attention_heads,
           "num_key_value_heads": cfg.num_key_value_heads, "rms_norm_eps": cfg.rms_norm_eps, "rope_theta": cfg.rope_theta,
           "tie_word_embeddings": False, "vocab_size": cfg.vocab_size, "vision_patch_size": 16}
    (d / "config.json").write_text(json.dumps(llm))
    import export
    _, _, tok_doc = export.build_random_model(seed=0)
    (d / "tokenizer.json").write_text(json.dumps(tok_doc))
    return d, model


def run_convert(d, out, *extra):
    return subprocess.run([sys.executable, CONVERT, "--checkpoint", str(d / "iter_1.pth"), "--llm-config", str(d / "config.json"),
                           "--tokenizer", str(d / "tokenizer.json"), "--out", str(out), "--max-long-side", "256", *extra],
                          capture_output=True, text=True)


def test_converted_checkpoint_reproduces_the_original_model(official, tmp_path):
    d, original = official
    out = tmp_path / "converted"
    r = run_convert(d, out)
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout.strip().splitlines()[-1])
    assert info["dropped"] == ["distill_m2f_adapter.weight"]
    fx = json.load(open(out / "parity" / "fixtures.json"))
    from PIL import Image
    from pixel_sail.predictor import Predictor
    from pixel_sail.tokenizer import Tokenizer

    img = np.asarray(Image.open(out / "parity" / "image.png").convert("RGB"))
    small = np.asarray(Image.open(out / "parity" / "prompt_small.png")) > 0
    large = np.asarray(Image.open(out / "parity" / "prompt_large.png")) > 0
    tok = Tokenizer(json.load(open(d / "tokenizer.json")))
    # A converted model writes overlapping prompts in the given order (the official inference's rule) unless told
    # otherwise; the original must run with the same rule for the features to be comparable.
    assert json.load(open(out / "config.json"))["image"]["prompt_overlap"] == "given_order"
    import dataclasses
    original = copy.copy(original)
    original.config = dataclasses.replace(original.config, prompt_overlap="given_order")
    state = Predictor(original, tok).set_image(img, [small, large], [m["slot"] for m in fx["prompt_masks"]])
    want = np.frombuffer(base64.b64decode(fx["pixel_features"]["data"]), dtype=np.float32)
    assert np.abs(state.pixel_features.numpy().ravel() - want).max() < 1e-5


@pytest.mark.skipif(not os.path.exists(PARITY), reason="run `npm run build` first (npm test does)")
def test_converted_model_runs_in_the_engine(official, tmp_path):
    d, _ = official
    out = tmp_path / "converted"
    assert run_convert(d, out).returncode == 0
    r = subprocess.run(["node", PARITY, str(out)], capture_output=True, text=True)
    assert r.returncode == 0 and json.loads(r.stdout)["ok"], r.stdout + r.stderr


def test_converter_rejects_foreign_checkpoints_and_tokenizers_that_disagree_with_the_official_order(official, tmp_path):
    d, model = official
    bad = tmp_path / "bad"
    bad.mkdir()
    torch.save({"state_dict": {"encoder.weight": torch.zeros(2)}}, bad / "iter_1.pth")
    (bad / "config.json").write_text((d / "config.json").read_text())
    (bad / "tokenizer.json").write_text((d / "tokenizer.json").read_text())
    r = run_convert(bad, tmp_path / "x")
    assert r.returncode == 2 and "unexpected parameter 'encoder.weight'" in r.stderr
    torch.save({"state_dict": model.state_dict()}, bad / "iter_1.pth")
    # Two prompt tokens swapped: the ids are made from the official order, so the file is refused, not trusted.
    tok = json.loads((d / "tokenizer.json").read_text())
    ids = {t["content"]: t["id"] for t in tok["added_tokens"]}
    for t in tok["added_tokens"]:
        if t["content"] in ("<Prompt0>", "<Prompt1>"):
            t["id"] = ids["<Prompt1>" if t["content"] == "<Prompt0>" else "<Prompt0>"]
    (bad / "tokenizer.json").write_text(json.dumps(tok))
    r = run_convert(bad, tmp_path / "y")
    assert r.returncode == 2 and "<Prompt0> has id" in r.stderr and "official order" in r.stderr, r.stderr
    # A tokenizer without the base model's vision tokens is not the model's own.
    tok = json.loads((d / "tokenizer.json").read_text())
    tok["added_tokens"] = [t for t in tok["added_tokens"] if t["content"] != "<vpatch>"]
    (bad / "tokenizer.json").write_text(json.dumps(tok))
    r = run_convert(bad, tmp_path / "z")
    assert r.returncode == 2 and "<vpatch>" in r.stderr, r.stderr
    assert not any((tmp_path / n).exists() for n in ("x", "y", "z"))
