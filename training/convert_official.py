#!/usr/bin/env python3
"""Convert an official Pixel-SAIL checkpoint (single-transformer code, Sa2VA repository) into a model
directory the engine runs, and verify it with parity fixtures.

  python3 training/convert_official.py --checkpoint iter_XXXX.pth --llm-config config.json \
      --tokenizer tokenizer.json --out models/pixel-sail-0.5b [--max-long-side 1024]

Inputs, as the official training leaves them:
  --checkpoint   the wrapper's state dict (xtuner/mmengine .pth: the dict itself, or under "state_dict" or
                 "module"); keys such as single_transformer.model.layers.0.self_attn.q_proj.weight,
                 upsample_blocks.0.0.weight, seg_token_projector.0.weight
  --llm-config   the single transformer's Hugging Face config.json (Qwen2 fields)
  --tokenizer    the tokenizer.json with the Pixel-SAIL tokens ([SEG], <Prompt0..14>, <vision>, <vpatch> …)

The official weights are not public; this path is tested on a randomly initialised checkpoint with the
official names at a tiny size (training/tests/test_convert.py). Teacher models and distillation adapters
(absent from released checkpoints) are dropped if present; anything else unexpected is an error.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Dict, Tuple

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

# Official key prefix → ours. Our module tree follows the official layout, so the map is the identity on
# every parameter; it is spelled out so a difference found in a real checkpoint is a one-line change.
NAME_MAP: Tuple[Tuple[str, str], ...] = (
    ("single_transformer.model.embed_tokens.", "single_transformer.model.embed_tokens."),
    ("single_transformer.model.vis_embed.", "single_transformer.model.vis_embed."),
    ("single_transformer.model.vp_embed.", "single_transformer.model.vp_embed."),
    ("single_transformer.model.layers.", "single_transformer.model.layers."),
    ("single_transformer.model.norm.", "single_transformer.model.norm."),
    ("single_transformer.lm_head.", "single_transformer.lm_head."),
    ("image_feature_pre_projector.", "image_feature_pre_projector."),
    ("upsample_blocks.", "upsample_blocks."),
    ("image_feature_projector.", "image_feature_projector."),
    ("seg_token_projector.", "seg_token_projector."),
)
DROPPED_PREFIXES = ("distill", "sam2", "mask2former", "teacher", "m2f", "radio")


class ConversionError(Exception):
    pass


def map_state_dict(state: Dict) -> Tuple[Dict, list]:
    out, dropped = {}, []
    for key, value in state.items():
        for src, dst in NAME_MAP:
            if key.startswith(src):
                out[dst + key[len(src):]] = value
                break
        else:
            if key.lower().startswith(DROPPED_PREFIXES) or any(p in key.lower() for p in ("distill", "teacher")):
                dropped.append(key)
            else:
                raise ConversionError(f"unexpected parameter {key!r} in the checkpoint (not in the official layout)")
    return out, dropped


def config_from(llm: dict, state: Dict, token_ids: Dict[str, int], max_long_side: int):
    from pixel_sail.config import PixelSailConfig

    def need(k):
        if k not in llm:
            raise ConversionError(f"--llm-config lacks {k!r}")
        return llm[k]

    hidden = need("hidden_size")
    up_w = state.get("upsample_blocks.0.0.weight")
    seg_out = state.get("seg_token_projector.2.weight")
    if up_w is None or seg_out is None:
        raise ConversionError("the checkpoint has no upsample_blocks / seg_token_projector weights: is it a Pixel-SAIL checkpoint?")
    blocks = len({k.split(".")[1] for k in state if k.startswith("upsample_blocks.")})
    return PixelSailConfig(
        vocab_size=state["single_transformer.model.embed_tokens.weight"].shape[0],
        hidden_size=hidden, intermediate_size=need("intermediate_size"), num_hidden_layers=need("num_hidden_layers"),
        num_attention_heads=need("num_attention_heads"), num_key_value_heads=llm.get("num_key_value_heads", need("num_attention_heads")),
        rms_norm_eps=llm.get("rms_norm_eps", 1e-6), rope_theta=llm.get("rope_theta", 1000000.0),
        tie_word_embeddings=bool(llm.get("tie_word_embeddings", False)) and "single_transformer.lm_head.weight" not in state,
        patch_size=llm.get("vision_patch_size", 16), max_long_side=max_long_side,
        upsampler_channels=int(up_w.shape[0]), num_upsample_blocks=blocks, seg_hidden_states=int(seg_out.shape[0]),
        token_ids=token_ids)


def convert(checkpoint: str, llm_config: str, tokenizer_path: str, out: str, max_long_side: int = 1024, fixtures: bool = True,
            int8: bool = False) -> dict:
    import torch
    from pixel_sail import exporting as export
    from pixel_sail.config import SPECIAL_TOKENS
    from pixel_sail.model import PixelSail

    raw = torch.load(checkpoint, map_location="cpu")
    state = raw.get("state_dict", raw.get("module", raw)) if isinstance(raw, dict) else None
    if not isinstance(state, dict) or not state:
        raise ConversionError(f"{checkpoint} holds no state dict")
    with open(llm_config, encoding="utf-8") as fh:
        llm = json.load(fh)
    with open(tokenizer_path, encoding="utf-8") as fh:
        tok_doc = json.load(fh)
    added = {t["content"]: t["id"] for t in tok_doc.get("added_tokens", [])}
    missing = [t for t in SPECIAL_TOKENS if t not in added and t not in tok_doc.get("model", {}).get("vocab", {})]
    if missing:
        raise ConversionError(f"the tokenizer lacks Pixel-SAIL tokens: {', '.join(missing[:5])}{'…' if len(missing) > 5 else ''}")
    token_ids = {t: added.get(t, tok_doc.get("model", {}).get("vocab", {}).get(t)) for t in SPECIAL_TOKENS}
    mapped, dropped = map_state_dict(state)
    cfg = config_from(llm, mapped, token_ids, max_long_side)
    model = PixelSail(cfg)
    result = model.load_state_dict(mapped, strict=False)
    allowed_missing = {"single_transformer.lm_head.weight"} if cfg.tie_word_embeddings else set()
    missing_keys = [k for k in result.missing_keys if k not in allowed_missing]
    if missing_keys or result.unexpected_keys:
        raise ConversionError(f"checkpoint does not fit the architecture: missing {missing_keys[:4]}, unexpected {result.unexpected_keys[:4]}")
    from pixel_sail.tokenizer import Tokenizer

    tokenizer = Tokenizer(tok_doc) if tok_doc.get("model", {}).get("type") == "BPE" else None
    if tokenizer is None:
        raise ConversionError("only BPE tokenizer.json files are supported")
    export.export_model_dir(model.eval(), tokenizer, tok_doc, out, os.path.basename(os.path.abspath(out)), fixtures=fixtures,
                            extra={"source": {"converted_from": os.path.abspath(checkpoint)}}, int8=int8)
    return {"out": out, "dropped": dropped, "parameters": sum(p.numel() for p in model.parameters())}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--llm-config", required=True)
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--max-long-side", type=int, default=1024)
    ap.add_argument("--no-fixtures", action="store_true")
    ap.add_argument("--int8", action="store_true",
                    help="also write an int8 decoder (faster on CPU); `node dist/parity.js OUT` checks its answers and masks")
    args = ap.parse_args(argv)
    for p in (args.checkpoint, args.llm_config, args.tokenizer):
        if not os.path.isfile(p):
            print(f"convert_official.py: error: file not found: {p}", file=sys.stderr)
            return 2
    try:
        info = convert(args.checkpoint, args.llm_config, args.tokenizer, args.out, args.max_long_side, not args.no_fixtures, args.int8)
    except ConversionError as exc:
        print(f"convert_official.py: error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(info))
    return 0


if __name__ == "__main__":
    sys.exit(main())
