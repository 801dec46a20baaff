"""The official layout's shapes at the paper's sizes and the base-model tokenizer the scale tool builds
(training/scale_model.py). Only shapes and small tensors here: no paper-size model is built in a test."""
import pytest
import torch

from pixel_sail.config import BASE_SPECIAL_TOKENS, PIXEL_SAIL_TOKENS
from pixel_sail.official_checkpoint import official_tokenizer
from pixel_sail.official_layout import (PAPER_SHAPES, QWEN25_ADDED_END, base_model_tokenizer, llm_config, official_shapes,
                                        official_state, parameter_count)
from pixel_sail.prompts import base_corpus
from pixel_sail.tokenizer import Tokenizer, tokenizer_json, train_bpe


def llm_part(shapes):
    """The single transformer as Hugging Face counts it: without Pixel-SAIL's patch and prompt embeddings."""
    return {n: s for n, s in shapes.items()
            if n.startswith("single_transformer.") and ".vis_embed." not in n and ".vp_embed." not in n}


@pytest.mark.parametrize("size,published", [("0.5b", 494_032_768), ("3b", 3_085_938_688)])
def test_paper_shapes_have_the_published_qwen25_parameter_counts(size, published):
    # Qwen2.5-0.5B and Qwen2.5-3B (tied embeddings) have exactly these many parameters; a wrong head count,
    # bias or MLP width would change the sum.
    assert parameter_count(llm_part(official_shapes(**PAPER_SHAPES[size]))) == published


def test_paper_shapes_follow_the_qwen25_configs():
    s = official_shapes(**PAPER_SHAPES["0.5b"])
    assert s["single_transformer.model.layers.23.self_attn.k_proj.weight"] == (128, 896)  # 2 KV heads × 64
    assert s["single_transformer.model.layers.0.mlp.down_proj.weight"] == (896, 4864)
    assert "single_transformer.model.layers.24.mlp.up_proj.weight" not in s
    assert "single_transformer.lm_head.weight" not in s  # tied
    assert s["upsample_blocks.0.0.weight"] == (896, 896, 2, 2)  # upsampler keeps the hidden width (≤ 1024)
    assert "image_feature_pre_projector.0.weight" not in s
    # The final configs' seg_hidden_states: both the [SEG] projection and the per-pixel projection end at 512.
    assert s["seg_token_projector.2.weight"] == (512, 896)
    assert s["image_feature_projector.2.weight"] == (512, 896)
    s3 = official_shapes(**PAPER_SHAPES["3b"])
    assert s3["upsample_blocks.0.0.weight"] == (1024, 1024, 2, 2)
    assert s3["image_feature_pre_projector.2.weight"] == (1024, 2048)
    cfg = llm_config(**PAPER_SHAPES["0.5b"])
    assert (cfg["rope_theta"], cfg["tie_word_embeddings"], cfg["rms_norm_eps"], cfg["vocab_size"]) == (1e6, True, 1e-6, 151936)


def test_tied_state_shares_the_embedding_and_keeps_the_seed_stream():
    untied = official_state(seed=5)
    tied = official_state(seed=5, tied=True)
    assert list(tied) == list(untied)
    assert tied["single_transformer.lm_head.weight"].data_ptr() == tied["single_transformer.model.embed_tokens.weight"].data_ptr()
    for name in untied:
        if name != "single_transformer.lm_head.weight":
            assert torch.equal(tied[name], untied[name]), name
    no_key = official_state(seed=5, tied=True, tied_key=False)
    assert "single_transformer.lm_head.weight" not in no_key
    half = official_state(seed=5, dtype=torch.bfloat16)
    assert {t.dtype for t in half.values()} == {torch.bfloat16}
    assert torch.equal(half["seg_token_projector.0.weight"], untied["seg_token_projector.0.weight"].to(torch.bfloat16))


def qwen_like_tokenizer():
    """A small tokenizer laid out as Qwen's: BPE vocabulary, then Qwen's added tokens (here 3 of Qwen2.5's and
    one of the later ones that Qwen3 adds), no vision tokens."""
    vocab, merges = train_bpe(base_corpus(), 300)
    return tokenizer_json(vocab, merges, special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>"])


def test_base_model_tokenizer_appends_the_vision_tokens_after_the_kept_ids():
    doc = qwen_like_tokenizer()
    n = len(doc["model"]["vocab"])
    out, added = base_model_tokenizer(doc, keep_below=n + 3)
    assert "<think>" not in {t["content"] for t in out["added_tokens"]}
    assert added == [t for t in BASE_SPECIAL_TOKENS if t not in ("<|endoftext|>", "<|im_start|>", "<|im_end|>")]
    ids = {t["content"]: t["id"] for t in out["added_tokens"]}
    assert [ids[t] for t in added] == list(range(n + 3, n + 3 + len(added)))
    assert doc["added_tokens"][-1]["content"] == "<think>"  # the input is not changed
    # The converter takes it as a base tokenizer and puts the Pixel-SAIL tokens right after.
    full, token_ids, new = official_tokenizer(out)
    assert new == PIXEL_SAIL_TOKENS
    assert token_ids["[SEG]"] == n + 3 + len(added)
    tok = Tokenizer(full)
    assert tok.encode("<vision><vpatch></vision>") == [ids["<vision>"], ids["<vpatch>"], ids["</vision>"]]
    assert token_ids["[SEG]"] in tok.encode("It is [SEG].")


def test_base_model_tokenizer_keeps_tokens_already_there_and_refuses_to_cut_the_vocabulary():
    doc = qwen_like_tokenizer()
    once, added = base_model_tokenizer(doc)
    again, added_again = base_model_tokenizer(once)
    assert added and added_again == [] and again["added_tokens"] == once["added_tokens"]
    with pytest.raises(ValueError, match="vocabulary"):
        base_model_tokenizer(doc, keep_below=10)


def test_qwen25_added_tokens_end_where_qwen25s_list_ends():
    # 151,643 BPE entries + <|endoftext|> … <|file_sep|> (22 added tokens) in Qwen2.5's tokenizer.json.
    assert QWEN25_ADDED_END == 151_643 + 22
