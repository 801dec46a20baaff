#!/usr/bin/env python3
"""Convert an official Pixel-SAIL checkpoint (single-transformer code, Sa2VA repository) into a model
directory the engine runs, and verify it with parity fixtures.

  python3 training/convert_official.py --checkpoint iter_XXXX.pth --llm-config config.json \
      --tokenizer tokenizer.json --out models/pixel-sail-0.5b [--max-long-side 1024]

Inputs, as the official training leaves them:
  --checkpoint   the wrapper's weights: an xtuner/mmengine iter_*.pth file (the dict itself, or under
                 "state_dict", "module" or "model") or an iter_*.pth/ DeepSpeed folder (ZeRO 1/2/3 shards are
                 consolidated, fp32 master weights when the optimizer files are there); keys such as
                 single_transformer.model.layers.0.self_attn.q_proj.weight, upsample_blocks.0.0.weight,
                 seg_token_projector.0.weight, with or without a "module." prefix
  --llm-config   the single transformer's Hugging Face config.json (Qwen2 fields; rope_theta is required, or
                 --rope-theta; the patch size is read from the patch embedding and checked against
                 vision_patch_size when the file has it)
  --tokenizer    the base model's tokenizer.json (with <vision>, <vpatch> …). The converter adds [SEG], <p>,
                 </p>, <Prompt0> … <Prompt14>, <NO_Prompt> after its vocabulary in that order, as the official
                 code does at run time; a file that already holds them must hold them at exactly those ids.

Memory: with --no-fixtures the checkpoint file is read one tensor at a time (zip-format torch.save files) and
each graph's weights are written as they are made (pixel_sail/streaming_export.py): the converter holds about
its largest tensor (the LM head) plus the graph being traced, not the model; the 3B shapes convert this way.
Parity fixtures run the PyTorch reference and need the whole float32 model in memory (--in-memory forces that
path without fixtures; the files are the same byte for byte, tests/test_streaming_convert.py).

The official weights are not public; this path is tested on randomly initialised checkpoints with the
official names at a tiny size (training/tests/test_convert.py, test_fidelity.py). Teacher models and
distillation adapters (_sam2.*, sam2_model.*, *_distill_linear.* …) are dropped if present; anything else
unexpected is an error.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Dict, Tuple

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from pixel_sail.official_checkpoint import ConversionError, load_official_state, official_names, official_tokenizer  # noqa: E402

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


def map_state_dict(state: Dict) -> Tuple[Dict, list]:
    """Official names → ours, after stripping ``module.`` and dropping training-only modules."""
    state, dropped = official_names(state)
    out = {}
    for key, value in state.items():
        for src, dst in NAME_MAP:
            if key.startswith(src):
                out[dst + key[len(src):]] = value
                break
        else:
            raise ConversionError(f"unexpected parameter {key!r} in the checkpoint (not in the official layout)")
    return out, dropped


def config_from(llm: dict, state: Dict, token_ids: Dict[str, int], max_long_side: int, rope_theta: float = None,
                prompt_overlap: str = "given_order"):
    """The model's shape: sizes from --llm-config, checked against the weights; the patch size from the patch
    embedding (its input is 3·p·p); rope_theta from the config (or --rope-theta) — never a default, since the
    official config class would silently use 10000 where Qwen2.5 uses 1e6."""
    from pixel_sail.config import PixelSailConfig

    def need(k):
        if k not in llm:
            raise ConversionError(f"--llm-config lacks {k!r}")
        return llm[k]

    hidden = need("hidden_size")
    up_w = state.get("upsample_blocks.0.0.weight")
    seg_out = state.get("seg_token_projector.2.weight")
    vis = state.get("single_transformer.model.vis_embed.weight")
    if up_w is None or seg_out is None or vis is None:
        raise ConversionError("the checkpoint has no upsample_blocks / seg_token_projector / vis_embed weights: is it a Pixel-SAIL checkpoint?")
    patch = int(round((vis.shape[1] / 3) ** 0.5))
    if 3 * patch * patch != vis.shape[1]:
        raise ConversionError(f"vis_embed takes {vis.shape[1]} inputs, not 3·p·p for any patch size p")
    if "vision_patch_size" in llm and int(llm["vision_patch_size"]) != patch:
        raise ConversionError(f"--llm-config says vision_patch_size {llm['vision_patch_size']} but the checkpoint's patch embedding is for {patch}")
    if rope_theta is None:
        if "rope_theta" not in llm:
            raise ConversionError("--llm-config lacks 'rope_theta' (the rotary base); pass --rope-theta with the value the model was trained with")
        rope_theta = float(llm["rope_theta"])
    if int(vis.shape[0]) != hidden:
        raise ConversionError(f"--llm-config hidden_size {hidden} does not match the checkpoint ({int(vis.shape[0])})")
    blocks = len({k.split(".")[1] for k in state if k.startswith("upsample_blocks.")})
    rows = state["single_transformer.model.embed_tokens.weight"].shape[0]
    if rows <= max(token_ids.values()):
        raise ConversionError(f"the checkpoint's embedding has {rows} rows, too few for the tokenizer's ids up to {max(token_ids.values())} "
                              "(is the tokenizer the model's own?)")
    return PixelSailConfig(
        vocab_size=rows,
        hidden_size=hidden, intermediate_size=need("intermediate_size"), num_hidden_layers=need("num_hidden_layers"),
        num_attention_heads=need("num_attention_heads"), num_key_value_heads=llm.get("num_key_value_heads", need("num_attention_heads")),
        rms_norm_eps=llm.get("rms_norm_eps", 1e-6), rope_theta=rope_theta,
        tie_word_embeddings=bool(llm.get("tie_word_embeddings", False)) and "single_transformer.lm_head.weight" not in state,
        patch_size=patch, max_long_side=max_long_side,
        upsampler_channels=int(up_w.shape[0]), num_upsample_blocks=blocks, seg_hidden_states=int(seg_out.shape[0]),
        prompt_overlap=prompt_overlap, token_ids=token_ids)


def _same_weights(a, b) -> bool:
    """Whether two checkpoint entries hold the same weights (shared storage, or equal values)."""
    if hasattr(a, "same_data"):  # lazy records: same bytes in the file, or read both and compare
        return a.same_data(b) or (tuple(a.shape) == tuple(b.shape) and bool((a.load() == b.load()).all()))
    return a.data_ptr() == b.data_ptr() or (a.shape == b.shape and bool((a == b).all()))


def _checked_tokenizer(tok_doc: dict):
    from pixel_sail.tokenizer import Tokenizer, TokenizerFormatError

    if tok_doc.get("model", {}).get("type") != "BPE":
        raise ConversionError("only BPE tokenizer.json files are supported")
    try:
        return Tokenizer(tok_doc)
    except TokenizerFormatError as exc:
        raise ConversionError(str(exc)) from exc


# The drafted answer a segment prompt gets (`It is [SEG].`, 5 tokens in Qwen's vocabulary) needs its length + 1
# rows; 8 leaves room for a longer draft.
LOGITS_ROWS = 8
# A 1024-px prefill is 4,098 tokens: 5 chunks of 820 rows per MLP. onnxruntime's arena keeps a run's largest
# working set for the session's life; whole, the 0.5B model's MLP alone is ~0.5 GB of it (see onnx_decoder.py).
MLP_CHUNK_ROWS = 1024


def convert(checkpoint: str, llm_config: str, tokenizer_path: str, out: str, max_long_side: int = 1024, fixtures: bool = True,
            int8: bool = False, rope_theta: float = None, prompt_overlap: str = "given_order", streaming: bool = None,
            attention: str = "fused", int8_form: str = "full", logits_rows: int = None, mlp_chunk_rows: int = None) -> dict:
    """streaming (default: whenever no parity fixtures are asked for): read the checkpoint tensor by tensor and
    write each graph's weights as they come (pixel_sail/streaming_export.py), so memory stays near the largest
    tensor instead of the model; the files are the same as the in-memory path's. Fixtures run the PyTorch
    reference, which needs the whole model in memory. logits_rows (default LOGITS_ROWS) and mlp_chunk_rows
    (default MLP_CHUNK_ROWS): see --logits-rows and --mlp-chunk-rows."""
    from pixel_sail import exporting as export

    logits_rows = LOGITS_ROWS if logits_rows is None else logits_rows
    mlp_chunk_rows = MLP_CHUNK_ROWS if mlp_chunk_rows is None else mlp_chunk_rows
    if streaming is None:
        streaming = not fixtures
    if streaming and fixtures:
        raise ConversionError("parity fixtures run the PyTorch reference on the whole model: use the in-memory path for them")
    state, read = load_official_state(checkpoint, lazy=streaming)
    if not state:
        raise ConversionError(f"{checkpoint} holds an empty state dict")
    with open(llm_config, encoding="utf-8") as fh:
        llm = json.load(fh)
    with open(tokenizer_path, encoding="utf-8") as fh:
        tok_doc = json.load(fh)
    tok_doc, token_ids, added = official_tokenizer(tok_doc)
    mapped, dropped = map_state_dict(state)
    lm, emb = mapped.get("single_transformer.lm_head.weight"), mapped.get("single_transformer.model.embed_tokens.weight")
    if llm.get("tie_word_embeddings") and lm is not None and emb is not None and _same_weights(lm, emb):
        # A tied head saved under its own key (Hugging Face's state_dict() lists both names): tie it again,
        # rather than converting a second copy of the embedding as an independent weight.
        del mapped["single_transformer.lm_head.weight"]
    del lm, emb
    cfg = config_from(llm, mapped, token_ids, max_long_side, rope_theta, prompt_overlap)
    name = os.path.basename(os.path.abspath(out))
    extra = {"source": {"converted_from": os.path.abspath(checkpoint), "read": read}}
    info = {"out": out, "read": read, "dropped": dropped, "added_tokens": added, "patch_size": cfg.patch_size,
            "rope_theta": cfg.rope_theta, "prompt_overlap": cfg.prompt_overlap, "streaming": streaming}
    if streaming:
        from pixel_sail.streaming_export import WeightSource, check_fits, export_model_dir_streaming

        _checked_tokenizer(tok_doc)
        source = WeightSource(mapped)
        info["parameters"] = check_fits(cfg, source)
        del state
        export_model_dir_streaming(cfg, source, tok_doc, out, name, extra, int8, attention, int8_form, logits_rows, mlp_chunk_rows)
        return info

    from pixel_sail.model import PixelSail

    model = PixelSail(cfg)
    mapped = {k: v.float() if v.is_floating_point() else v for k, v in mapped.items()}
    result = model.load_state_dict(mapped, strict=False)
    # The model now holds its own copy; at the paper's sizes the read checkpoint is gigabytes more.
    del state, mapped
    allowed_missing = {"single_transformer.lm_head.weight"} if cfg.tie_word_embeddings else set()
    missing_keys = [k for k in result.missing_keys if k not in allowed_missing]
    if missing_keys or result.unexpected_keys:
        raise ConversionError(f"checkpoint does not fit the architecture: missing {missing_keys[:4]}, unexpected {result.unexpected_keys[:4]}")
    tokenizer = _checked_tokenizer(tok_doc)
    export.export_model_dir(model.eval(), tokenizer, tok_doc, out, name, fixtures=fixtures, extra=extra, int8=int8, attention=attention,
                            int8_form=int8_form, logits_rows=logits_rows, mlp_chunk_rows=mlp_chunk_rows)
    info["parameters"] = sum(p.numel() for p in model.parameters())
    return info


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--llm-config", required=True)
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--max-long-side", type=int, default=1024)
    ap.add_argument("--rope-theta", type=float, default=None, help="the rotary base, when --llm-config lacks rope_theta")
    ap.add_argument("--prompt-overlap", choices=("given_order", "largest_first"), default="given_order",
                    help="where prompt masks overlap: later in the list wins (the official inference; default) or the "
                         "smallest wins (largest written first, as training listed them)")
    ap.add_argument("--no-fixtures", action="store_true",
                    help="skip the parity fixtures; the conversion then streams the weights tensor by tensor (memory near the "
                         "largest tensor, not the model: the way to convert the 3B shapes)")
    ap.add_argument("--in-memory", action="store_true",
                    help="with --no-fixtures, build the whole float32 model in memory as the fixtures path does (same files)")
    ap.add_argument("--int8", action="store_true",
                    help="also write an int8 decoder (faster on CPU); `node dist/parity.js OUT` checks its answers and masks")
    ap.add_argument("--int8-form", choices=("full", "projections"), default="full",
                    help="with --int8: what is int8 (see training/pixel_sail/onnx_decoder.py): every projection, the MLP down "
                         "projection with one activation scale per token, and the LM head (default), or only Q|K|V, output "
                         "and gate|up (the small shipped model's form)")
    ap.add_argument("--attention", choices=("fused", "matmul"), default="fused",
                    help="the image prefill's attention: onnxruntime's fused MultiHeadAttention (default: at 1,024 px it "
                         "never writes the 940 MB score tensors) or two batched MatMuls (see training/pixel_sail/onnx_decoder.py)")
    ap.add_argument("--logits-rows", type=int, default=LOGITS_ROWS,
                    help=f"how many last rows the decoder's LM head reads (default {LOGITS_ROWS}): the engine then checks a segment "
                         "answer it drafts (`It is [SEG].`) in the prompt's own pass instead of one pass per token; 1 writes "
                         "the single-row head of models/default")
    ap.add_argument("--mlp-chunk-rows", type=int, default=MLP_CHUNK_ROWS,
                    help=f"the most tokens one MLP product takes in a long call (default {MLP_CHUNK_ROWS}; 0: all): a 1024-px "
                         "prefill then runs each MLP in 5 chunks, and onnxruntime's arena keeps that working set, not the whole one")
    args = ap.parse_args(argv)
    if args.mlp_chunk_rows < 0:
        print("convert_official.py: error: --mlp-chunk-rows must be 0 or more", file=sys.stderr)
        return 2
    if args.logits_rows < 1:
        print("convert_official.py: error: --logits-rows must be at least 1", file=sys.stderr)
        return 2
    for p in (args.llm_config, args.tokenizer):
        if not os.path.isfile(p):
            print(f"convert_official.py: error: file not found: {p}", file=sys.stderr)
            return 2
    if not os.path.exists(args.checkpoint):
        print(f"convert_official.py: error: file or folder not found: {args.checkpoint}", file=sys.stderr)
        return 2
    try:
        info = convert(args.checkpoint, args.llm_config, args.tokenizer, args.out, args.max_long_side, not args.no_fixtures, args.int8,
                       args.rope_theta, args.prompt_overlap, streaming=False if args.in_memory else None, attention=args.attention,
                       int8_form=args.int8_form, logits_rows=args.logits_rows, mlp_chunk_rows=args.mlp_chunk_rows)
    except ConversionError as exc:
        print(f"convert_official.py: error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(info))
    return 0


if __name__ == "__main__":
    sys.exit(main())
