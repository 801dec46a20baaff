"""Random checkpoints in the official module layout, written the ways the official training saves them.

The names and shapes live in pixel_sail/official_layout.py (shared with training/scale_model.py, which
builds the paper-size models); this module adds the DeepSpeed folder writer the checkpoint tests need.
"""
from __future__ import annotations

import os
import sys
import types
from collections import OrderedDict
from typing import Dict

import torch

from pixel_sail.official_layout import llm_config, official_shapes, official_state  # noqa: F401  (re-exported for the tests)


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
