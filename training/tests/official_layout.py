"""Random checkpoints in the official module layout, written the ways the official training saves them.

The parameter names and shapes are spelled out here from the official code (Sa2VA repository,
sa2va_eval/projects/ST/models/sa2va_ST.py and models_modeling_qwen2mm_mmrope.py: Sa2VASTModel with its
Qwen2MMmropeForCausalLM ``single_transformer``), not taken from our PixelSail class, so a test built on them
checks that our names really are the official ones.
"""
from __future__ import annotations

import os
import sys
import types
from collections import OrderedDict
from typing import Dict

import torch


def official_state(hidden=64, layers=2, heads=4, kv_heads=2, mlp=160, vocab=300, patch=16, seg_dim=32,
                   up_channels=None, up_blocks=3, tied=False, seed=0, scale=0.08) -> "OrderedDict[str, torch.Tensor]":
    """Sa2VASTModel.state_dict() of a random model: keys in the official order and shapes."""
    g = torch.Generator().manual_seed(seed)
    head_dim = hidden // heads
    c = min(hidden, 1024) if up_channels is None else up_channels
    shapes = OrderedDict()
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
    state = OrderedDict()
    for name, shape in shapes.items():
        if name.endswith("layernorm.weight") or name.endswith("norm.weight") or name.endswith("ln.weight"):
            state[name] = 1.0 + 0.1 * torch.randn(shape, generator=g)
        else:
            state[name] = scale * torch.randn(shape, generator=g)
    if tied:
        state[st + "lm_head.weight"] = state[st + "model.embed_tokens.weight"]
    return state


def llm_config(hidden=64, layers=2, heads=4, kv_heads=2, mlp=160, vocab=300, patch=16, tied=False, rope_theta=1000000.0) -> dict:
    """The single transformer's config.json as the official base checkpoints have it (Qwen2 fields)."""
    return {"architectures": ["Qwen2MMmropeForCausalLM"], "model_type": "qwen2", "hidden_size": hidden,
            "intermediate_size": mlp, "num_hidden_layers": layers, "num_attention_heads": heads,
            "num_key_value_heads": kv_heads, "rms_norm_eps": 1e-6, "rope_theta": rope_theta,
            "tie_word_embeddings": tied, "vocab_size": vocab, "vision_patch_size": patch, "torch_dtype": "bfloat16"}


class _DeepSpeedObject:
    """Stands for a DeepSpeed class inside the pickles (the converter runs without DeepSpeed installed)."""

    def __init__(self, **kw):
        self.__dict__.update(kw)


def _pickled_as_deepspeed():
    """A class whose pickle names a module under ``deepspeed``, which the reading process will not have."""
    mod = types.ModuleType("deepspeed.runtime.fp16.loss_scaler")
    cls = type("DynamicLossScaler", (_DeepSpeedObject,), {"__module__": mod.__name__})
    mod.DynamicLossScaler = cls
    return mod, cls


def write_deepspeed_folder(state: Dict[str, torch.Tensor], folder: str, stage: int = 2, world: int = 2,
                           with_optimizer: bool = True, prefix: str = "module.") -> None:
    """A DeepSpeed ``save_checkpoint`` folder (what mmengine writes for iter_*.pth with save_optimizer=True):
    bf16 module weights (placeholders under ZeRO-3) and one optimizer file per rank with the fp32 masters in
    flat partitions, laid out as DeepSpeed's zero_to_fp32 reads them (one parameter group)."""
    os.makedirs(folder, exist_ok=True)
    names = list(state)
    # Tied weights appear once among the optimizer's parameters.
    seen, params = {}, OrderedDict()
    for n in names:
        ptr = state[n].data_ptr()
        if ptr not in seen:
            seen[ptr] = n
            params[n] = state[n]
    shapes = [OrderedDict((prefix + n, t.shape) for n, t in params.items())]
    if stage == 3:
        module = OrderedDict((prefix + n, torch.empty(0, dtype=torch.bfloat16)) for n in names)
    else:
        module = OrderedDict()
        for n in names:
            first = seen[state[n].data_ptr()]
            module[prefix + n] = module[prefix + first] if first != n else state[n].to(torch.bfloat16)
    mod, scaler_cls = _pickled_as_deepspeed()
    parts = mod.__name__.split(".")
    fake = {".".join(parts[:i]): types.ModuleType(".".join(parts[:i])) for i in range(1, len(parts))}
    fake[mod.__name__] = mod
    assert not any(n in sys.modules for n in fake), "a real DeepSpeed is installed; this helper would shadow it"
    sys.modules.update(fake)
    try:
        model_states = {"module": module, "buffer_names": [], "param_shapes": shapes, "frozen_param_shapes": None,
                        "shared_params": {}, "ds_config": {"zero_optimization": {"stage": stage}}, "ds_version": "0.14.0",
                        "meta": {"iter": 1}}
        name = "zero_pp_rank_0_mp_rank_00_model_states.pt" if stage == 3 else "mp_rank_00_model_states.pt"
        torch.save(model_states, os.path.join(folder, name))
        if not with_optimizer:
            return
        flat_all = torch.cat([t.reshape(-1).float() for t in params.values()])
        if stage <= 2:
            align = 2 * world
            padded = torch.cat([flat_all, torch.zeros((-flat_all.numel()) % align)])
            parts = list(padded.chunk(world))
            per_rank = [{"single_partition_of_fp32_groups": [parts[r].clone()]} for r in range(world)]
        else:
            per_rank = [[] for _ in range(world)]
            for t in params.values():
                flat = t.reshape(-1).float()
                part = -(-flat.numel() // world)
                flat = torch.cat([flat, torch.zeros(part * world - flat.numel())])
                for r in range(world):
                    per_rank[r].append(flat[r * part:(r + 1) * part])
            per_rank = [{"fp32_flat_groups": [torch.cat(p).clone()]} for p in per_rank]
        for r in range(world):
            osd = {"zero_stage": stage, "partition_count": world, "loss_scaler": scaler_cls(cur_scale=1.0),
                   **per_rank[r]}
            prefix_name = "bf16_" if stage <= 2 else ""
            torch.save({"optimizer_state_dict": osd, "ds_version": "0.14.0"},
                       os.path.join(folder, f"{prefix_name}zero_pp_rank_{r}_mp_rank_00_optim_states.pt"))
    finally:
        for n in fake:
            del sys.modules[n]
