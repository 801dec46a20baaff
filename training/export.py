#!/usr/bin/env python3
"""Export a Pixel-SAIL model to a model directory the engine runs:

  models/<name>/embed.onnx       input_ids, vision_patches, vision_patch_indices, vp_token_indices → inputs_embeds
  models/<name>/decoder.onnx     inputs_embeds, attention_mask, position_ids, past_* → logits (last row), last_hidden, present_*
  models/<name>/decoder.int8.onnx  the same contract with int8 projection/MLP weights (faster on CPU; --no-int8 skips it)
  models/<name>/upsampler.onnx   vision_hidden [gh, gw, H] → pixel_features [8gh, 8gw, D]   (cached per image)
  models/<name>/mask_head.onnx   seg_hidden [Q, H], pixel_features → mask_logits [Q, 8gh, 8gw]
  models/<name>/config.json, tokenizer.json, tokenizer_config.json, parity/fixtures.json

Usage:
  python3 training/export.py --out models/tiny-random --random --seed 0        # a tiny random model (CI)
  python3 training/export.py --out models/NAME --checkpoint CKPT.pt            # a trained checkpoint
"""
from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

# The library lives in the package (scripts import only the package, never each other); its names are
# re-exported here for callers of this module.
from pixel_sail.exporting import (  # noqa: E402,F401
    FORMAT, FORMAT_VERSION, OPSET, TINY, UsageError, build_random_model, config_document, export_graphs,
    export_model_dir, fixture_image, graph_io, load_checkpoint, write_fixtures)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def fail(msg: str) -> None:
    print(f"export.py: error: {msg}", file=sys.stderr)
    sys.exit(2)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="model directory to write (replaced atomically)")
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--random", action="store_true", help="export a tiny randomly initialised model")
    src.add_argument("--checkpoint", help="a checkpoint written by training/train.py")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--name", default=None)
    ap.add_argument("--no-fixtures", action="store_true", help="skip parity fixtures")
    int8 = ap.add_mutually_exclusive_group()
    int8.add_argument("--int8", dest="int8", action="store_true", default=None,
                      help="also write the int8 decoder variant (the default for --checkpoint; node dist/parity.js validates it)")
    int8.add_argument("--no-int8", dest="int8", action="store_false",
                      help="no int8 variant (the default for --random: quantising random weights tells nothing)")
    ap.add_argument("--int8-form", choices=("projections", "full"), default="projections",
                    help="what the int8 variant quantizes (training/pixel_sail/onnx_decoder.py): Q|K|V, output and gate|up "
                         "(default) or also the MLP down projection (one activation scale per token) and the LM head")
    ap.add_argument("--torch-decoder", action="store_true",
                    help="export the decoder with torch.onnx instead of the graph builder (a slower cross-check)")
    ap.add_argument("--attention", choices=("matmul", "fused"), default="matmul",
                    help="the image prefill's attention: two batched MatMuls (default), or onnxruntime's fused "
                         "MultiHeadAttention, which never writes the [heads, S, S] scores (for large images; see onnx_decoder.py)")
    ap.add_argument("--logits-rows", type=int, default=1,
                    help="how many last rows the LM head reads (default 1, what models/default ships; convert_official.py "
                         "writes 8 so the engine checks a drafted segment answer in the prompt's pass)")
    args = ap.parse_args(argv)
    if args.logits_rows < 1:
        fail("--logits-rows must be at least 1")
    if args.seed < 0:
        fail("--seed must be non-negative")
    if args.checkpoint and not os.path.isfile(args.checkpoint):
        fail(f"checkpoint not found: {args.checkpoint}")
    try:
        if args.random:
            model, tok, tok_doc = build_random_model(args.seed)
            source = {"random_seed": args.seed}
        else:
            model, tok, tok_doc = load_checkpoint(args.checkpoint)
            source = {"checkpoint": os.path.relpath(os.path.abspath(args.checkpoint), REPO)}
        name = args.name or os.path.basename(os.path.abspath(args.out))
        # Where the PyTorch weights come from, so the benchmark can run the same model in PyTorch.
        export_model_dir(model, tok, tok_doc, args.out, name, fixtures=not args.no_fixtures, extra={"source": source},
                         decoder_graph="torch" if args.torch_decoder else "built", int8=bool(args.random is False if args.int8 is None else args.int8),
                         attention=args.attention, int8_form=args.int8_form, logits_rows=args.logits_rows)
    except UsageError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"cannot write {args.out}: {exc.strerror or exc}")
    print(f"exported {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
