"""Reading official checkpoints: single files and DeepSpeed folders (ZeRO-2 and ZeRO-3 shards consolidated),
``module.`` prefixes, training-only modules, shapes read from the weights, special-token ids made in the official
order. Checkpoints are random, in the official module layout (official_layout.py)."""
import json
import os

import pytest
import torch

from official_layout import llm_config, official_state, write_deepspeed_folder
from pixel_sail.config import BASE_SPECIAL_TOKENS, PIXEL_SAIL_TOKENS, SPECIAL_TOKENS
from pixel_sail.model import PixelSail
from pixel_sail.official_checkpoint import ConversionError, load_official_state, official_names, official_tokenizer
from pixel_sail.prompts import base_corpus
from pixel_sail.tokenizer import tokenizer_json, train_bpe

import convert_official


@pytest.fixture(scope="module")
def base_tokenizer():
    """A base-model tokenizer: vocabulary plus the base's own special tokens, no Pixel-SAIL tokens yet."""
    vocab, merges = train_bpe(base_corpus()[:200], 300 + len(SPECIAL_TOKENS))
    return tokenizer_json(vocab, merges, special_tokens=BASE_SPECIAL_TOKENS)


def test_our_module_tree_has_exactly_the_official_names_and_shapes():
    from pixel_sail.config import PixelSailConfig

    state = official_state(hidden=64, up_channels=None, vocab=330)
    cfg = PixelSailConfig(vocab_size=330, hidden_size=64, intermediate_size=160, num_hidden_layers=2, num_attention_heads=4,
                          num_key_value_heads=2, upsampler_channels=64, seg_hidden_states=32, max_long_side=256,
                          token_ids={t: i for i, t in enumerate(SPECIAL_TOKENS)})
    ours = {k: tuple(v.shape) for k, v in PixelSail(cfg).state_dict().items()}
    assert ours == {k: tuple(v.shape) for k, v in state.items()}
    # The 3B shape has the pre-projector (hidden > 1024 → upsampler width 1024); checked at a small width.
    state = official_state(hidden=64, up_channels=32, vocab=330)
    cfg.upsampler_channels = 32
    ours = {k: tuple(v.shape) for k, v in PixelSail(cfg).state_dict().items()}
    assert ours == {k: tuple(v.shape) for k, v in state.items()}


def test_module_prefix_stripped_and_training_only_modules_dropped():
    state = official_state()
    wrapped = {"module." + k: v for k, v in state.items()}
    wrapped.update({"module._sam2.sam2_model.image_encoder.trunk.weight": torch.zeros(2),
                    "module.sam2_distill_linear.weight": torch.zeros(2, 2),
                    "module.mask2former_distill_linear.bias": torch.zeros(2),
                    "module.radio_model.model.weight": torch.zeros(1),
                    "module.llm.model.norm.weight": state["single_transformer.model.norm.weight"]})
    out, dropped = official_names(wrapped)
    assert list(out) == list(state)
    assert sorted(dropped) == sorted(["module._sam2.sam2_model.image_encoder.trunk.weight", "module.sam2_distill_linear.weight",
                                      "module.mask2former_distill_linear.bias", "module.radio_model.model.weight", "llm.model.norm.weight"])


@pytest.mark.parametrize("stage,world", [(2, 2), (2, 3), (3, 3), (1, 1)])
def test_deepspeed_folders_are_consolidated_to_the_fp32_weights(tmp_path, stage, world):
    state = official_state(tied=True, vocab=101)  # odd sizes so partitions need padding
    folder = tmp_path / "iter_10.pth"
    write_deepspeed_folder(state, str(folder), stage=stage, world=world)
    got, how = load_official_state(str(folder))
    assert f"ZeRO-{stage}" in how and f"{world} rank" in how
    got, _ = official_names(got)
    # ZeRO ≤ 2: the tied lm_head comes back from the module's shared storage; ZeRO-3 keeps no storage in the
    # module, so it stays absent and the converter ties it (tie_word_embeddings), as the official model does.
    tied = {"single_transformer.lm_head.weight"}
    assert set(got) == (set(state) - tied if stage == 3 else set(state))
    for k, v in ((k, v) for k, v in state.items() if k in got):
        assert torch.equal(got[k], v.float()), k  # fp32 masters, not the bf16 module copy


def test_deepspeed_folder_without_optimizer_files_uses_the_module_weights(tmp_path):
    state = official_state()
    write_deepspeed_folder(state, str(tmp_path / "a"), stage=2, with_optimizer=False)
    got, how = load_official_state(str(tmp_path / "a"))
    assert "module weights" in how and "bfloat16" in how
    got, _ = official_names(got)
    assert all(torch.equal(got[k], v.to(torch.bfloat16).float()) for k, v in state.items())
    write_deepspeed_folder(state, str(tmp_path / "b"), stage=3, with_optimizer=False)
    with pytest.raises(ConversionError, match="ZeRO-3 placeholders"):
        load_official_state(str(tmp_path / "b"))


def test_deepspeed_folder_with_a_missing_rank_is_refused(tmp_path):
    write_deepspeed_folder(official_state(), str(tmp_path), stage=2, world=3)
    os.remove(tmp_path / "bf16_zero_pp_rank_1_mp_rank_00_optim_states.pt")
    with pytest.raises(ConversionError, match="3 ranks but 2"):
        load_official_state(str(tmp_path))
    with pytest.raises(ConversionError, match="not a DeepSpeed checkpoint"):
        load_official_state(str(tmp_path.parent))


def test_single_files_in_every_wrapping(tmp_path):
    state = official_state()
    for i, doc in enumerate([{"state_dict": state, "meta": {"iter": 5}}, {"module": state}, dict(state)]):
        torch.save(doc, tmp_path / f"{i}.pth")
        got, _ = load_official_state(str(tmp_path / f"{i}.pth"))
        assert list(got) == list(state)
    torch.save([1, 2], tmp_path / "list.pth")
    with pytest.raises(ConversionError, match="no state dict"):
        load_official_state(str(tmp_path / "list.pth"))


def test_pixel_sail_tokens_are_added_after_the_base_vocabulary_in_the_official_order(base_tokenizer):
    size = len(base_tokenizer["model"]["vocab"]) + len(BASE_SPECIAL_TOKENS)
    doc, ids, added = official_tokenizer(base_tokenizer)
    assert added == PIXEL_SAIL_TOKENS
    assert [ids[t] for t in PIXEL_SAIL_TOKENS] == list(range(size, size + 19))
    assert ids["[SEG]"] == size and ids["<p>"] == size + 1 and ids["<Prompt0>"] == size + 3 and ids["<NO_Prompt>"] == size + 18
    assert {t["content"]: t["id"] for t in doc["added_tokens"]}["<Prompt14>"] == size + 17
    # A file that already holds them at those ids is accepted as it is.
    again, ids2, added2 = official_tokenizer(doc)
    assert added2 == [] and ids2 == ids and again == doc


def test_a_tokenizer_with_another_order_is_refused(base_tokenizer):
    doc, ids, _ = official_tokenizer(base_tokenizer)
    for t in doc["added_tokens"]:
        if t["content"] == "[SEG]":
            t["id"] = ids["<NO_Prompt>"]
        elif t["content"] == "<NO_Prompt>":
            t["id"] = ids["[SEG]"]
    with pytest.raises(ConversionError, match=r"\[SEG\] has id .* the official order gives"):
        official_tokenizer(doc)


def test_patch_size_from_the_weights_and_rope_theta_from_the_config(base_tokenizer):
    _, ids, _ = official_tokenizer(base_tokenizer)
    rows = max(ids.values()) + 1
    state, _ = convert_official.map_state_dict(official_state(patch=8, vocab=rows))
    llm = llm_config(patch=8, vocab=rows, rope_theta=5e5)
    cfg = convert_official.config_from(llm, state, ids, 256)
    assert cfg.patch_size == 8 and cfg.rope_theta == 5e5 and cfg.prompt_overlap == "given_order"
    with pytest.raises(ConversionError, match="vision_patch_size 16 .* for 8"):
        convert_official.config_from({**llm, "vision_patch_size": 16}, state, ids, 256)
    no_theta = {k: v for k, v in llm.items() if k != "rope_theta"}
    with pytest.raises(ConversionError, match="rope_theta"):
        convert_official.config_from(no_theta, state, ids, 256)
    assert convert_official.config_from(no_theta, state, ids, 256, rope_theta=1e4).rope_theta == 1e4
    small, _ = convert_official.map_state_dict(official_state(patch=8, vocab=rows - 5))
    with pytest.raises(ConversionError, match="too few"):
        convert_official.config_from(llm, small, ids, 256)
