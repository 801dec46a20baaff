"""Parameter names and shapes of the official Pixel-SAIL wrapper, for random checkpoints in its layout.

The names and shapes are spelled out here from the official code (Sa2VA repository,
sa2va_eval/projects/ST/models/sa2va_ST.py and models_modeling_qwen2mm_mmrope.py: Sa2VASTModel with its
Qwen2MMmropeForCausalLM ``single_transformer``), not taken from our PixelSail class, so a test or a scale
measurement built on them checks that our names really are the official ones. The tests use it at tiny
sizes (training/tests/official_layout.py); training/scale_model.py at the paper's sizes (PAPER_SHAPES).
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Dict, Tuple

# The single transformers of the paper's models: Qwen2.5-0.5B and Qwen2.5-3B (their Hugging Face config.json
# values). Both tie the LM head to the embedding; the upsampler keeps the hidden width up to 1024 channels, and
# the [SEG] and pixel embeddings have the final configs' seg_hidden_states = 512 (the pixel features of a 1024-px
# image are then [512, 512, 512]).
PAPER_SHAPES: Dict[str, dict] = {
    "0.5b": dict(hidden=896, layers=24, heads=14, kv_heads=2, mlp=4864, vocab=151936, tied=True, seg_dim=512),
    "3b": dict(hidden=2048, layers=36, heads=16, kv_heads=2, mlp=11008, vocab=151936, tied=True, seg_dim=512),
}


def official_shapes(hidden=64, layers=2, heads=4, kv_heads=2, mlp=160, vocab=300, patch=16, seg_dim=32,
                    up_channels=None, up_blocks=3, tied=False) -> "OrderedDict[str, Tuple[int, ...]]":
    """Sa2VASTModel.state_dict()'s keys in the official order, with their shapes. A tied LM head is left
    out (what a checkpoint saved without duplicating shared storage holds; the converter ties it back)."""
    head_dim = hidden // heads
    c = min(hidden, 1024) if up_channels is None else up_channels
    shapes: "OrderedDict[str, Tuple[int, ...]]" = OrderedDict()
    st = "single_transformer."
    shapes[st + "model.embed_tokens.weight"] = (vocab, hidden)
    for i in range(layers):
        p = f"{st}model.layers.{i}."
        shapes[p + "self_attn.q_proj.weight"] = (heads * head_dim, hidden)
        shapes[p + "self_attn.q_proj.bias"] = (heads * head_dim,)
        shapes[p + "self_attn.k_proj.weight"] = (kv_heads * head_dim, hidden)
        shapes[p + "self_attn.k_proj.bias"] = (kv_heads * head_dim,)
        shapes[p + "self_attn.v_proj.weight"] = (kv_heads * head_dim, hidden)
        shapes[p + "self_attn.v_proj.bias"] = (kv_heads * head_dim,)
        shapes[p + "self_attn.o_proj.weight"] = (hidden, heads * head_dim)
        shapes[p + "mlp.gate_proj.weight"] = (mlp, hidden)
        shapes[p + "mlp.up_proj.weight"] = (mlp, hidden)
        shapes[p + "mlp.down_proj.weight"] = (hidden, mlp)
        shapes[p + "input_layernorm.weight"] = (hidden,)
        shapes[p + "post_attention_layernorm.weight"] = (hidden,)
    shapes[st + "model.norm.weight"] = (hidden,)
    shapes[st + "model.vis_embed.weight"] = (hidden, 3 * patch * patch)
    shapes[st + "model.vp_embed.weight"] = (hidden, hidden)
    if not tied:
        shapes[st + "lm_head.weight"] = (vocab, hidden)
    if c != hidden:
        shapes["image_feature_pre_projector.0.weight"] = (hidden, hidden)
        shapes["image_feature_pre_projector.0.bias"] = (hidden,)
        shapes["image_feature_pre_projector.2.weight"] = (c, hidden)
        shapes["image_feature_pre_projector.2.bias"] = (c,)
    shapes["seg_token_projector.0.weight"] = (c, hidden)
    shapes["seg_token_projector.0.bias"] = (c,)
    shapes["seg_token_projector.2.weight"] = (seg_dim, c)
    shapes["seg_token_projector.2.bias"] = (seg_dim,)
    for b in range(up_blocks):
        p = f"upsample_blocks.{b}."
        shapes[p + "0.weight"] = (c, c, 2, 2)          # ConvTranspose2d(c, c, 2, stride 2)
        shapes[p + "0.bias"] = (c,)
        shapes[p + "2.depthwise.weight"] = (c, 1, 3, 3)  # DWconv
        shapes[p + "2.depthwise.bias"] = (c,)
        shapes[p + "2.pointwise.weight"] = (c, c, 1, 1)
        shapes[p + "2.pointwise.bias"] = (c,)
        shapes[p + "3.ln.weight"] = (c,)                 # Norm2d
        shapes[p + "3.ln.bias"] = (c,)
    shapes["image_feature_projector.0.weight"] = (c, c)
    shapes["image_feature_projector.0.bias"] = (c,)
    shapes["image_feature_projector.2.weight"] = (seg_dim, c)
    shapes["image_feature_projector.2.bias"] = (seg_dim,)
    return shapes


def parameter_count(shapes: Dict[str, Tuple[int, ...]]) -> int:
    total = 0
    for shape in shapes.values():
        n = 1
        for d in shape:
            n *= d
        total += n
    return total


def _is_norm(name: str) -> bool:
    return name.endswith("layernorm.weight") or name.endswith("norm.weight") or name.endswith("ln.weight")


def official_state(hidden=64, layers=2, heads=4, kv_heads=2, mlp=160, vocab=300, patch=16, seg_dim=32,
                   up_channels=None, up_blocks=3, tied=False, seed=0, scale=0.08, dtype=None,
                   tied_key: bool = True) -> "OrderedDict":
    """Sa2VASTModel.state_dict() of a random model: keys in the official order and shapes. Norm weights are
    1 ± 0.1, everything else N(0, scale²). A tied LM head shares the embedding's storage under its own key,
    as a Hugging Face state_dict() has it (``tied_key=False`` leaves the key out). ``dtype`` (e.g.
    torch.bfloat16, as the official training saves) is applied per tensor, so a large model never exists
    in float32 as a whole."""
    import torch

    g = torch.Generator().manual_seed(seed)
    st = "single_transformer."
    # Every shape is drawn, a tied LM head too (then replaced), so a seed gives the same weights tied or not.
    shapes = official_shapes(hidden, layers, heads, kv_heads, mlp, vocab, patch, seg_dim, up_channels, up_blocks, tied=False)
    state: "OrderedDict" = OrderedDict()
    for name, shape in shapes.items():
        t = torch.randn(shape, generator=g)
        if tied and name == st + "lm_head.weight":
            del t
            if tied_key:
                state[name] = state[st + "model.embed_tokens.weight"]
            continue
        t = 1.0 + 0.1 * t if _is_norm(name) else t.mul_(scale)
        state[name] = t if dtype is None else t.to(dtype)
    return state


def llm_config(hidden=64, layers=2, heads=4, kv_heads=2, mlp=160, vocab=300, patch=16, tied=False, rope_theta=1000000.0,
               max_position_embeddings=32768, seg_dim=None) -> dict:
    """The single transformer's config.json as the official base checkpoints have it (Qwen2 fields; the
    Qwen2.5 values for the rest). ``seg_dim`` is the wrapper's, not the transformer's: accepted and ignored so a
    PAPER_SHAPES entry can be passed whole."""
    return {"architectures": ["Qwen2MMmropeForCausalLM"], "model_type": "qwen2", "hidden_act": "silu", "hidden_size": hidden,
            "intermediate_size": mlp, "num_hidden_layers": layers, "num_attention_heads": heads,
            "num_key_value_heads": kv_heads, "rms_norm_eps": 1e-6, "rope_theta": rope_theta,
            "max_position_embeddings": max_position_embeddings,
            "tie_word_embeddings": tied, "vocab_size": vocab, "vision_patch_size": patch, "torch_dtype": "bfloat16"}


# Qwen2.5's own added tokens end at <|file_sep|>; Qwen3's tokenizer (same BPE vocabulary) has four more.
QWEN25_ADDED_END = 151665


def base_model_tokenizer(tok_doc: dict, keep_below: int = None) -> Tuple[dict, list]:
    """A Qwen tokenizer.json as the single transformer's base model has it: Qwen's vocabulary with the vision
    tokens (<vision>, <vpatch>, <vrow_sep>, <vframe_sep>, </vision>, <|vis_cls|>) appended after the last id.
    ``keep_below`` drops added tokens from that id on first (QWEN25_ADDED_END turns Qwen3's list into
    Qwen2.5's). The Pixel-SAIL tokens ([SEG], <p> …) are not added: the converter adds them, in the official
    order, as the official code does at run time. Returns (document, tokens added)."""
    import copy

    from .config import BASE_SPECIAL_TOKENS

    doc = copy.deepcopy(tok_doc)
    added = [t for t in doc.get("added_tokens", []) if keep_below is None or int(t["id"]) < keep_below]
    vocab = doc["model"]["vocab"]
    if keep_below is not None and any(i >= keep_below for i in vocab.values()):
        raise ValueError(f"the BPE vocabulary itself has ids from {keep_below} on; only added tokens can be dropped")
    have = set(vocab) | {t["content"] for t in added}
    next_id = max([*vocab.values(), *(int(t["id"]) for t in added)]) + 1
    new = []
    for tok in BASE_SPECIAL_TOKENS:
        if tok in have:
            continue
        added.append({"id": next_id, "content": tok, "single_word": False, "lstrip": False, "rstrip": False,
                      "normalized": False, "special": True})
        new.append(tok)
        next_id += 1
    doc["added_tokens"] = added
    return doc, new
