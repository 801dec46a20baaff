"""Reading what the official Pixel-SAIL training (Sa2VA repository, sa2va_eval/projects/ST, xtuner + mmengine +
DeepSpeed) leaves behind, without DeepSpeed or transformers installed:

* the checkpoint: one ``iter_*.pth`` file (mmengine with ``save_optimizer=False``: ``{"state_dict": …, "meta": …}``)
  or an ``iter_*.pth/`` folder (DeepSpeed ``save_checkpoint``: ``mp_rank_00_model_states.pt`` or, with ZeRO-3,
  ``zero_pp_rank_0_mp_rank_00_model_states.pt``, plus one ``*_optim_states.pt`` per data-parallel rank holding
  the fp32 master weights in flat partitions), consolidated here the way DeepSpeed's zero_to_fp32 documents it;
* parameter names: a ``module.`` prefix (DDP/DeepSpeed wrappers) is stripped, teacher models and distillation
  adapters (``_sam2.*``, ``sam2_model.*``, ``*_distill_linear.*`` …) are dropped;
* the special tokens: the official model adds ``[SEG]``, ``<p>``, ``</p>``, ``<Prompt0>`` … ``<Prompt14>``,
  ``<NO_Prompt>`` to its base tokenizer at run time, in that order, so their ids are made here from the base
  vocabulary, never taken on trust from a supplied file.
"""
from __future__ import annotations

import contextlib
import glob
import importlib.abc
import importlib.machinery
import os
import pickle
import re
import sys
import types
from collections import OrderedDict
from typing import Dict, List, Tuple

from .config import BASE_SPECIAL_TOKENS, PIXEL_SAIL_TOKENS


class ConversionError(Exception):
    pass


# -- loading without DeepSpeed -------------------------------------------------------------------------

class _StandIn:
    """Replaces a class of a package that is not installed (DeepSpeed's loss scaler, config objects …) so
    such pickles load; only tensors and plain containers are read from them."""

    def __init__(self, *args, **kwargs) -> None:
        pass

    def __setstate__(self, state) -> None:
        self.__dict__["_state"] = state


# Training frameworks whose objects ride along in checkpoints; none of them is needed to read the weights.
_FRAMEWORKS = ("deepspeed", "mmengine", "xtuner", "apex")


class _StubModule(types.ModuleType):
    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        cls = type(name, (_StandIn,), {"__module__": self.__name__})
        setattr(self, name, cls)
        return cls


class _StubFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Last on sys.meta_path while a checkpoint loads: a framework that is not installed imports as stubs."""

    def find_spec(self, fullname, path, target=None):
        if fullname.split(".")[0] in _FRAMEWORKS:
            return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
        return None

    def create_module(self, spec):
        return _StubModule(spec.name)

    def exec_module(self, module) -> None:
        module.__path__ = []


@contextlib.contextmanager
def _framework_stubs():
    finder = _StubFinder()
    before = set(sys.modules)
    sys.meta_path.append(finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)
        for name in set(sys.modules) - before:
            if isinstance(sys.modules.get(name), _StubModule):
                del sys.modules[name]


def torch_load(path: str):
    """torch.load on the CPU that tolerates pickled objects of training frameworks that are not installed.
    (This PyTorch ignores a custom pickle_module, so missing modules are stubbed at import instead.)"""
    import inspect

    import torch

    kwargs = {"map_location": "cpu"}
    if "weights_only" in inspect.signature(torch.load).parameters:
        kwargs["weights_only"] = False  # PyTorch ≥ 2.6 defaults to True, which refuses mmengine's meta dicts
    try:
        with _framework_stubs():
            return torch.load(path, **kwargs)
    except (pickle.UnpicklingError, RuntimeError, EOFError) as exc:
        raise ConversionError(f"cannot read {path}: {exc}") from exc


def _natural(text: str):
    return [int(c) if c.isdigit() else c for c in re.split(r"(\d+)", text)]


def _deepspeed_model_states(folder: str) -> str:
    for name in ("mp_rank_00_model_states.pt", "zero_pp_rank_0_mp_rank_00_model_states.pt"):
        if os.path.isfile(os.path.join(folder, name)):
            return os.path.join(folder, name)
    raise ConversionError(f"{folder} is a folder but not a DeepSpeed checkpoint: it has neither mp_rank_00_model_states.pt "
                          "nor zero_pp_rank_0_mp_rank_00_model_states.pt")


def _shared_names(module: Dict, present: List[str]) -> List[Tuple[str, str]]:
    """(missing name, name it shares storage with): tied weights are saved once by the optimizer."""
    pairs = []
    for name, t in module.items():
        if name in present or not hasattr(t, "data_ptr") or t.numel() == 0:
            continue
        for other in present:
            o = module.get(other)
            if o is not None and hasattr(o, "data_ptr") and o.data_ptr() == t.data_ptr() and o.shape == t.shape:
                pairs.append((name, other))
                break
    return pairs


def consolidate_deepspeed(folder: str) -> Tuple[Dict, str]:
    """fp32 state dict of a DeepSpeed checkpoint folder (ZeRO 1/2 or 3), and a line saying what was read.

    Without optimizer files (or for a ZeRO ≤ 2 folder whose module already holds every weight) the 16-bit
    module weights are used as they are."""
    import torch

    ms_file = _deepspeed_model_states(folder)
    ms = torch_load(ms_file)
    module = ms.get("module") if isinstance(ms, dict) else None
    if not isinstance(module, dict):
        raise ConversionError(f"{ms_file} holds no 'module' state dict")
    optim_files = sorted(glob.glob(os.path.join(folder, "*_optim_states.pt")), key=_natural)
    param_shapes = ms.get("param_shapes")
    if not optim_files or not param_shapes:
        if any(getattr(t, "numel", lambda: 1)() == 0 for t in module.values()):
            raise ConversionError(f"{folder}: the module holds ZeRO-3 placeholders and no *_optim_states.pt files hold "
                                  "the weights (copy every rank's optimizer file into the folder)")
        return {k: v.float() if v.is_floating_point() else v for k, v in module.items()}, \
            f"DeepSpeed module weights ({os.path.basename(ms_file)}, {next(iter(module.values())).dtype})"
    # One rank's file at a time, keeping only its fp32 partitions: the Adam moments beside them are twice the
    # model's size again.
    osd = []
    for f in optim_files:
        loaded = torch_load(f)
        full = loaded.get("optimizer_state_dict", {}) if isinstance(loaded, dict) else {}
        osd.append({k: full[k] for k in ("zero_stage", "partition_count", "single_partition_of_fp32_groups",
                                         "fp32_flat_groups") if k in full})
        del loaded, full
    if "zero_stage" not in osd[0]:
        raise ConversionError(f"{optim_files[0]} is not a ZeRO optimizer checkpoint (no zero_stage)")
    stage = int(osd[0]["zero_stage"])
    world = osd[0].get("partition_count")
    world = max(world) if isinstance(world, (list, tuple)) else int(world)
    if world != len(optim_files):
        raise ConversionError(f"{folder}: the checkpoint was partitioned over {world} ranks but {len(optim_files)} "
                              "*_optim_states.pt files are present (a rank's file is missing or left over)")
    if isinstance(param_shapes, dict):
        param_shapes = [param_shapes]
    buffer_names = set(ms.get("buffer_names", []))
    state: Dict = OrderedDict((k, v.float()) for k, v in module.items() if k in buffer_names)
    if stage <= 2:
        for g, shapes in enumerate(param_shapes):
            flat = torch.cat([o["single_partition_of_fp32_groups"][g] for o in osd], 0)
            offset = 0
            for name, shape in shapes.items():
                n = int(torch.Size(shape).numel())
                state[name] = flat.narrow(0, offset, n).view(shape).clone()
                offset += n
            # ZeRO-2 pads each group to a multiple of 2·world; anything beyond that means a layout mismatch.
            align = 2 * world
            if -(-offset // align) * align != -(-flat.numel() // align) * align:
                raise ConversionError(f"{folder}: parameter group {g} holds {flat.numel()} values but its shapes need {offset}")
    elif stage == 3:
        flats = [torch.cat(o["fp32_flat_groups"], 0) for o in osd]
        offset = 0
        for shapes in param_shapes:
            for name, shape in shapes.items():
                n = int(torch.Size(shape).numel())
                part = -(-n // world)
                state[name] = torch.cat([f.narrow(0, offset, part) for f in flats], 0)[:n].view(shape).clone()
                offset += part
        if offset != flats[0].numel():
            raise ConversionError(f"{folder}: each rank holds {flats[0].numel()} values but the shapes need {offset}")
    else:
        raise ConversionError(f"{folder}: unknown ZeRO stage {stage}")
    for missing, source in _shared_names(module, list(state)):
        state[missing] = state[source]
    return state, f"DeepSpeed ZeRO-{stage} fp32 master weights from {world} rank(s)"


def load_official_state(path: str, lazy: bool = False) -> Tuple[Dict, str]:
    """The wrapper's state dict from a checkpoint file or DeepSpeed folder, and a line saying what was read.

    lazy: a checkpoint file's tensors come as lazy_checkpoint.LazyTensor records, read only when asked for
    (files in torch.save's zip format; others, and DeepSpeed folders, which are consolidated in memory, load
    as usual)."""
    if os.path.isdir(path):
        return consolidate_deepspeed(path)
    raw = None
    if lazy:
        from .lazy_checkpoint import lazy_load

        try:
            raw = lazy_load(path)
        except ConversionError:
            raw = None  # not a zip-format torch.save file: torch.load reads it (or says why not)
    if raw is None:
        raw = torch_load(path)
    if not isinstance(raw, dict):
        raise ConversionError(f"{path} holds no state dict")
    for key in ("state_dict", "module", "model"):
        if isinstance(raw.get(key), dict):
            return raw[key], f"'{key}' of {os.path.basename(path)}"
    if raw and all(hasattr(v, "shape") for v in raw.values()):
        return raw, os.path.basename(path)
    raise ConversionError(f"{path} holds no state dict (looked for 'state_dict', 'module', 'model' or a plain one)")


# -- names -----------------------------------------------------------------------------------------------

# Modules the official wrapper holds only for training (teachers, distillation adapters); its own
# state_dict() drops most of them, but checkpoints written by DeepSpeed can still carry them.
TRAINING_ONLY = re.compile(r"^(_sam2|sam2_model|sam2_distill_linear|mask2former_model|mask2former_distill_linear|"
                           r"radio_model|radio_distill_linear)\.|distill|teacher", re.IGNORECASE)


def official_names(state: Dict) -> Tuple[Dict, List[str]]:
    """Strips wrapper prefixes (``module.``) and drops training-only modules and the ``llm.`` alias of
    ``single_transformer.``; returns (state, dropped names)."""
    out, dropped = OrderedDict(), []
    for key, value in state.items():
        name = key
        while name.startswith("module."):
            name = name[len("module."):]
        if TRAINING_ONLY.search(name):
            dropped.append(key)
            continue
        out[name] = value
    for name in [k for k in out if k.startswith("llm.")]:
        twin = "single_transformer." + name[len("llm."):]
        if twin in out:
            del out[name]
            dropped.append(name)
    return out, dropped


# -- special tokens --------------------------------------------------------------------------------------

def official_tokenizer(tok_doc: dict) -> Tuple[dict, Dict[str, int], List[str]]:
    """The tokenizer as the official model sees it: the base vocabulary (with its vision tokens) plus the
    Pixel-SAIL tokens added in the official order, ids counting on from the base size (what
    ``tokenizer.add_tokens(special_tokens, special_tokens=True)`` gives). Tokens the supplied file already
    holds must sit exactly there; anything else is refused, since a different order swaps embedding rows.

    Returns (tokenizer.json document, token ids of every special token, tokens added here).
    """
    import copy

    model = tok_doc.get("model") or {}
    vocab: Dict[str, int] = dict(model.get("vocab") or {})
    added = list(tok_doc.get("added_tokens") or [])
    ours = set(PIXEL_SAIL_TOKENS)
    base_ids = {t["content"]: int(t["id"]) for t in added if t["content"] not in ours}
    base = {**vocab, **base_ids}
    missing = [t for t in BASE_SPECIAL_TOKENS if t not in base]
    if missing:
        raise ConversionError(f"the tokenizer lacks the base model's tokens {', '.join(missing)} (use the single "
                              "transformer's own tokenizer.json, e.g. Qwen2.5MM-…-ext-psz16)")
    ids = sorted(set(base.values()))
    if ids != list(range(len(ids))):
        raise ConversionError("the tokenizer's base ids are not contiguous from 0, so where the official code would add "
                              "its tokens is not defined")
    size = len(ids)
    want = {tok: size + i for i, tok in enumerate(PIXEL_SAIL_TOKENS)}
    have = {t["content"]: int(t["id"]) for t in added if t["content"] in ours}
    have.update({t: i for t, i in vocab.items() if t in ours})
    wrong = [f"{t} has id {have[t]}, the official order gives {want[t]}" for t in PIXEL_SAIL_TOKENS if t in have and have[t] != want[t]]
    if wrong:
        raise ConversionError("the tokenizer's Pixel-SAIL token ids disagree with the official order "
                              f"({', '.join(PIXEL_SAIL_TOKENS[:4])} … <NO_Prompt> after the base vocabulary of {size}): "
                              + "; ".join(wrong[:4]) + ("; …" if len(wrong) > 4 else "")
                              + ". Pass the base model's tokenizer.json and let the converter add them.")
    doc = copy.deepcopy(tok_doc)
    new = [t for t in PIXEL_SAIL_TOKENS if t not in have]
    doc.setdefault("added_tokens", [])
    for tok in new:
        doc["added_tokens"].append({"id": want[tok], "content": tok, "single_word": False, "lstrip": False,
                                    "rstrip": False, "normalized": False, "special": True})
    doc["added_tokens"].sort(key=lambda t: t["id"])
    token_ids = {t: base[t] for t in BASE_SPECIAL_TOKENS}
    token_ids.update(want)
    return doc, token_ids, new
