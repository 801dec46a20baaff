"""Fidelity suite: a random model in the official module layout, saved as the official training saves it
(DeepSpeed ZeRO-2 folder, ``module.`` prefix, teacher weights along), with a Qwen2-style base tokenizer, goes
through convert_official.py; then the converted model is checked against the official rules, written out here
from the official code, and the ONNX engine against the PyTorch reference (node dist/parity.js) on a
non-square picture that gets resized, overlapping prompt masks at odd sizes, text with digits and non-ASCII,
and tokens added in the official order."""
import base64
import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import REPO, TRAINING
from official_layout import llm_config, official_state, write_deepspeed_folder
from pixel_sail.config import BASE_SPECIAL_TOKENS, PIXEL_SAIL_TOKENS
from pixel_sail.prompts import base_corpus
from pixel_sail.tokenizer import QWEN2_PATTERN, Tokenizer, tokenizer_json, train_bpe

CONVERT = os.path.join(TRAINING, "convert_official.py")
PARITY = os.path.join(REPO, "dist", "parity.js")
MAX_LONG_SIDE = 128
CORPUS = base_corpus()[:300] + ["id 40512, the 2nd object, café 中文 😀 東京 naïve 2024-11-29"] * 3


def official_resize(width, height, patch=16, max_resolution=MAX_LONG_SIDE):
    """get_resize_output_image_size of the official dataset utils, restated."""
    short, long = (height, width) if height <= width else (width, height)
    new_long = min(math.ceil(long / patch) * patch, max_resolution)
    new_short = math.ceil(int(new_long * short / long) / patch) * patch
    return (new_long, new_short) if height <= width else (new_short, new_long)


def official_mask_patches(mask, new_w, new_h, patch=16):
    """convert_mask_to_patches of the official code: 3-channel uint8 picture, Pillow NEAREST, any pixel set."""
    img = Image.fromarray(np.stack([mask] * 3, axis=2).astype(np.uint8))
    small = np.asarray(img.resize((new_w, new_h), Image.NEAREST))[..., 0]
    return (small.reshape(new_h // patch, patch, new_w // patch, patch).sum(axis=(1, 3)) > 0).reshape(-1)


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    d = tmp_path_factory.mktemp("fidelity")
    vocab, merges = train_bpe(CORPUS, 420, pattern=QWEN2_PATTERN)
    base_doc = tokenizer_json(vocab, merges, pattern=QWEN2_PATTERN, special_tokens=BASE_SPECIAL_TOKENS)
    base_size = len(vocab) + len(BASE_SPECIAL_TOKENS)
    rows = base_size + len(PIXEL_SAIL_TOKENS)  # resize_token_embeddings(len(tokenizer)) after add_tokens
    state = official_state(vocab=rows, tied=True, seed=3)
    extra = {"_sam2.sam2_model.image_encoder.trunk.patch_embed.proj.weight": torch.randn(4, 3, 7, 7),
             "sam2_distill_linear.weight": torch.randn(256, 64), "mask2former_distill_linear.weight": torch.randn(256, 32)}
    write_deepspeed_folder({**state, **extra}, str(d / "iter_139416.pth"), stage=2, world=2)
    (d / "config.json").write_text(json.dumps(llm_config(vocab=rows, tied=True)))
    (d / "tokenizer.json").write_text(json.dumps(base_doc, ensure_ascii=False))
    out = d / "converted"
    r = subprocess.run([sys.executable, CONVERT, "--checkpoint", str(d / "iter_139416.pth"), "--llm-config", str(d / "config.json"),
                        "--tokenizer", str(d / "tokenizer.json"), "--out", str(out), "--max-long-side", str(MAX_LONG_SIDE)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout.strip().splitlines()[-1])
    return {"dir": out, "info": info, "state": state, "base_size": base_size, "base_doc": base_doc}


def _fixtures(c):
    return json.load(open(c["dir"] / "parity" / "fixtures.json", encoding="utf-8"))


def test_checkpoint_read_as_the_official_training_leaves_it(converted):
    info = converted["info"]
    assert "ZeRO-2 fp32 master weights from 2 rank(s)" in info["read"]
    assert sorted(info["dropped"]) == sorted("module." + k for k in ("_sam2.sam2_model.image_encoder.trunk.patch_embed.proj.weight",
                                                                     "sam2_distill_linear.weight", "mask2former_distill_linear.weight"))
    assert info["patch_size"] == 16 and info["rope_theta"] == 1000000.0


def test_tokens_added_in_the_official_order(converted):
    cfg = json.load(open(converted["dir"] / "config.json"))
    ids = cfg["model"]["token_ids"]
    base = converted["base_size"]
    assert [ids[t] for t in PIXEL_SAIL_TOKENS] == list(range(base, base + len(PIXEL_SAIL_TOKENS)))
    base_ids = {t["content"]: t["id"] for t in converted["base_doc"]["added_tokens"]}
    assert all(ids[t] == base_ids[t] for t in BASE_SPECIAL_TOKENS)
    tok = json.load(open(converted["dir"] / "tokenizer.json", encoding="utf-8"))
    assert {t["content"]: t["id"] for t in tok["added_tokens"]}["[SEG]"] == base
    assert cfg["model"]["vocab_size"] == base + len(PIXEL_SAIL_TOKENS)
    # <Prompt5> in the fidelity prompt is encoded as its added id, the embedding row the official model uses.
    fx = _fixtures(converted)["fidelity"]
    assert ids["<Prompt5>"] in fx["generate"]["prompt_ids"]


def test_text_with_digits_and_non_ascii_follows_qwen2s_split(converted):
    fx = _fixtures(converted)["fidelity"]
    tok = Tokenizer(json.load(open(converted["dir"] / "tokenizer.json", encoding="utf-8")))
    pieces = [tok.decode([i]) for i in fx["generate"]["prompt_ids"]]
    start = pieces.index("4")
    assert pieces[start:start + 5] == ["4", "0", "5", "1", "2"]  # digits one by one
    assert tok.decode(fx["generate"]["prompt_ids"]) == "<|im_start|>user\n" + fx["generate"]["prompt"] + "<|im_end|>\n"


def test_resized_picture_and_prompt_patches_follow_the_official_rules(converted):
    fx = _fixtures(converted)["fidelity"]
    pdir = converted["dir"] / "parity"
    w0, h0 = fx["image"]["width"], fx["image"]["height"]
    new_w, new_h = official_resize(w0, h0)
    assert (new_w, new_h) != (w0, h0) and w0 != h0 and w0 % 2 and h0 % 2
    assert (fx["image"]["gw"], fx["image"]["gh"]) == (new_w // 16, new_h // 16)
    # Official inference writes the masks in the order given, later ones winning (the converter's default).
    assert fx["prompt_overlap"] == "given_order"
    want = np.full((new_h // 16) * (new_w // 16), -2)
    covered = []
    for m in fx["prompt_masks"]:
        mask = (np.asarray(Image.open(pdir / m["file"])) > 0).astype(np.uint8)
        assert mask.shape == (h0, w0)
        hit = official_mask_patches(mask, new_w, new_h)
        want[hit] = m["slot"]
        covered.append(hit)
    assert fx["slot_ids"] == want.tolist()
    # The case is not trivial: the masks overlap on the grid, and every slot survives somewhere.
    assert (covered[0] & covered[2]).any() and (covered[1] & covered[2]).any()
    assert set(fx["slot_ids"]) >= {m["slot"] for m in fx["prompt_masks"]}


def test_reference_runs_the_official_weights_unchanged(converted):
    """The converted reference model computes with the consolidated fp32 weights of the official layout."""
    import convert_official
    from pixel_sail.model import PixelSail
    from pixel_sail.config import PixelSailConfig

    cfg = PixelSailConfig.from_json(str(converted["dir"] / "config.json"))
    mapped, _ = convert_official.map_state_dict(converted["state"])
    model = PixelSail(cfg)
    model.load_state_dict(mapped, strict=True)
    from pixel_sail.predictor import Predictor

    fx = _fixtures(converted)["fidelity"]
    pdir = converted["dir"] / "parity"
    pic = np.asarray(Image.open(pdir / fx["image"]["file"]).convert("RGB"))
    masks = [np.asarray(Image.open(pdir / m["file"])) > 0 for m in fx["prompt_masks"]]
    tok = Tokenizer(json.load(open(converted["dir"] / "tokenizer.json", encoding="utf-8")))
    pred = Predictor(model, tok)
    state = pred.set_image(pic, masks, [m["slot"] for m in fx["prompt_masks"]])
    forced = pred.generate(state, fx["generate"]["prompt"], max_new_tokens=0, answer_prefix="It is [SEG].")
    want = np.frombuffer(base64.b64decode(fx["forced_seg"]["mask_logits"]["data"]), dtype=np.float32)
    assert np.abs(forced.mask_logits.numpy().ravel() - want).max() < 1e-5


@pytest.mark.skipif(not os.path.exists(PARITY), reason="run `npm run build` first (npm test does)")
def test_engine_matches_the_reference_on_all_of_it(converted):
    r = subprocess.run(["node", PARITY, str(converted["dir"])], capture_output=True, text=True)
    report = json.loads(r.stdout)
    for key in ("fidelity.grid", "fidelity.promptOverlap", "fidelity.slotIds", "fidelity.promptIds", "fidelity.generatedIds",
                "tokenizer[3]", "promptSlots", "generatedIds"):
        assert report["exact"].get(key) is True, (key, report)
    for key in ("fidelity.maskLogits", "maskLogits"):
        assert report["diffs"][key] <= report["tolerance"], (key, report)
    assert r.returncode == 0 and report["ok"], r.stdout + r.stderr
