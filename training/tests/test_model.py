import numpy as np
import torch

from pixel_sail.config import PixelSailConfig
from pixel_sail.model import PixelSail, attention_mask_for, position_ids_for
from pixel_sail.preprocess import NO_PROMPT, prompt_slots, resized_size


def test_attention_mask_is_bidirectional_in_the_image_block_and_causal_after():
    block, text = 5, 3
    m = attention_mask_for(block + text, 0, block)
    assert m.shape == (1, 1, 8, 8)
    allowed = (m[0, 0] == 0)
    assert allowed[:block, :block].all(), "image tokens see each other both ways"
    assert not allowed[:block, block:].any(), "image tokens never see text"
    for q in range(block, block + text):
        assert allowed[q, : q + 1].all() and not allowed[q, q + 1:].any(), "text is causal"


def test_attention_mask_with_cache_lets_new_tokens_see_everything_before():
    m = attention_mask_for(2, 6)
    assert m.shape == (1, 1, 2, 8)
    assert (m[0, 0, 0, :7] == 0).all() and m[0, 0, 0, 7] == float("-inf")
    assert (m[0, 0, 1] == 0).all()


def test_rope_positions_for_image_and_text():
    gh, gw = 2, 3
    pos = position_ids_for(gh * gw + 2 + 2, gh, gw)[:, 0]
    assert pos.shape == (3, 10)
    assert pos[:, 0].tolist() == [0, 0, 0]
    assert pos[:, 1].tolist() == [1, 1, 1]          # patch (0, 0)
    assert pos[:, 6].tolist() == [1, 2, 3]          # patch (1, 2)
    assert pos[:, 7].tolist() == [4, 4, 4]          # </vision>: max(gh, gw) + 1
    assert pos[:, 9].tolist() == [6, 6, 6]
    text_only = position_ids_for(4, 0, 0, has_image=False)[:, 0]
    assert text_only.tolist() == [[0, 1, 2, 3]] * 3


def test_rope_rows_drive_the_first_quarter_and_columns_the_second():
    cfg = PixelSailConfig(token_ids={}, hidden_size=64, num_attention_heads=4)  # head_dim 16 → 4 + 4 pairs
    from pixel_sail.model import MultimodalRotaryEmbedding

    rope = MultimodalRotaryEmbedding(cfg)
    a = torch.tensor([[[1]], [[5]], [[2]]])  # t, h, w
    b = torch.tensor([[[1]], [[5]], [[9]]])  # same row, other column
    cos_a, _ = rope(a)
    cos_b, _ = rope(b)
    d = (cos_a - cos_b).abs()[0, 0]
    assert torch.all(d[:4] == 0) and torch.any(d[4:8] > 0), "first head_dim/4 pairs follow the row only"


def test_prompt_injection_touches_only_covered_patches_and_smallest_wins(tiny):
    model, _ = tiny
    cfg = model.config
    w, h = 64, 32  # 4 × 2 patches, no resize
    assert resized_size(w, h, 16, cfg.max_long_side) == (w, h)
    big = np.zeros((h, w), bool)
    big[:, :40] = True                     # patches in columns 0..2
    small = np.zeros((h, w), bool)
    small[20:22, 33:35] = True             # inside patch (1, 2)
    slots = prompt_slots([small, big], [4, 7], w, h)
    assert slots.reshape(2, 4).tolist() == [[7, 7, 7, NO_PROMPT], [7, 7, 4, NO_PROMPT]]

    n = 8
    ids = torch.tensor([[cfg.token_id("<vision>")] + [cfg.token_id("<vpatch>")] * n + [cfg.token_id("</vision>")]])
    patches = torch.randn(1, n, 768)
    vpi = torch.tensor([[-1] + list(range(n)) + [-1]])
    none = torch.tensor([[-1] + [NO_PROMPT] * n + [-1]])
    with_prompts = torch.tensor([[-1] + slots.tolist() + [-1]])
    with torch.no_grad():
        base = model.embed(ids, patches, vpi, none)[0]
        prompted = model.embed(ids, patches, vpi, with_prompts)[0]
        delta = (prompted - base).abs().sum(-1)
        slot_vec = model.single_transformer.model.vp_embed(model.single_transformer.model.embed_tokens.weight[cfg.prompt_token_ids])
    changed = (delta > 0).tolist()
    expected = [False] + [s != NO_PROMPT for s in slots.tolist()] + [False]
    assert changed == expected
    assert torch.allclose(prompted[1 + 6] - base[1 + 6], slot_vec[4], atol=1e-6), "patch (1,2) got slot 4, the smaller prompt"
    assert torch.allclose(prompted[1 + 0] - base[1 + 0], slot_vec[7], atol=1e-6)


def test_upsampler_output_is_stride_two(tiny):
    model, _ = tiny
    gh, gw = 3, 5
    with torch.no_grad():
        out = model.upsample(torch.randn(1, gh, gw, model.config.hidden_size))
    assert out.shape == (1, 8 * gh, 8 * gw, model.config.seg_hidden_states)
    # 16-pixel patches → 8 feature pixels each → one feature per 2 image pixels.
    assert model.config.patch_size // model.config.upsample_factor == 2


def test_pre_projector_exists_only_when_upsampler_is_narrower():
    ids = {f"<Prompt{k}>": k for k in range(15)}
    ref = PixelSail(PixelSailConfig(token_ids=ids, hidden_size=64, num_attention_heads=4, upsampler_channels=None, seg_hidden_states=16))
    assert ref.image_feature_pre_projector is None and ref.config.upsampler_channels == 64
    narrow = PixelSail(PixelSailConfig(token_ids=ids, hidden_size=64, num_attention_heads=4, upsampler_channels=16, seg_hidden_states=16))
    assert narrow.image_feature_pre_projector is not None
    names = {k for k in narrow.state_dict()}
    for key in ["upsample_blocks.0.0.weight", "upsample_blocks.2.2.depthwise.weight", "upsample_blocks.2.2.pointwise.bias",
                "upsample_blocks.1.3.ln.weight", "image_feature_projector.2.weight", "seg_token_projector.0.weight",
                "single_transformer.model.vis_embed.weight", "single_transformer.model.vp_embed.weight",
                "single_transformer.model.layers.0.self_attn.q_proj.bias", "single_transformer.lm_head.weight"]:
        assert key in names, key


def test_kv_cache_decoding_equals_full_recomputation(tiny):
    model, _ = tiny
    gh, gw = 2, 2
    block = gh * gw + 2
    torch.manual_seed(1)
    embeds = torch.randn(1, block + 4, model.config.hidden_size)
    full_mask = attention_mask_for(block + 4, 0, block)
    with torch.no_grad():
        full_hidden, full_logits, _ = model.decode(embeds, full_mask, position_ids_for(block + 4, gh, gw))
        h1, _, past = model.decode(embeds[:, :block], attention_mask_for(block, 0, block), position_ids_for(block, gh, gw))
        rows = [h1]
        length = block
        for i in range(4):
            h, _, past = model.decode(embeds[:, length:length + 1], attention_mask_for(1, length),
                                      position_ids_for(1, gh, gw, start=length), past)
            rows.append(h)
            length += 1
    assert torch.allclose(torch.cat(rows, 1), full_hidden, atol=1e-5)


def test_paper_shapes_build_with_the_reference_head_layout():
    ids = {f"<Prompt{k}>": k for k in range(15)}
    half = PixelSailConfig.preset("0.5b", vocab_size=64, num_hidden_layers=1, token_ids=ids)
    assert half.head_dim == 64 and half.upsampler_channels == 896 and not half.has_pre_projector
    assert half.mrope_section == [0, 16, 16]
    model = PixelSail(half)
    assert model.image_feature_pre_projector is None
    assert model.upsample_blocks[0][0].weight.shape == (896, 896, 2, 2)
    assert model.seg_token_projector[2].weight.shape == (512, 896)
    three = PixelSailConfig.preset("3b", vocab_size=64, num_hidden_layers=1, token_ids=ids)
    assert three.head_dim == 128 and three.upsampler_channels == 1024 and three.has_pre_projector
