#!/usr/bin/env python3
"""Decoder graphs for `npm run bench -- --attention`: the paper's 0.5B layer shapes (hidden 896, 14 heads, 2 KV
heads, MLP 4864) with a few layers and a small vocabulary, random weights, written by the same builder as every
exported model, once with the batched-MatMul attention and once with the fused one (onnx_decoder.py).

  python3 training/attention_graphs.py --out DIR [--layers 2] [--weights int8,float32]
  → DIR/decoder-{weights}-{matmul,fused}.onnx and DIR/graphs.json (shapes, for the bench)
"""
from __future__ import annotations

import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from pixel_sail.exporting import build_random_model, graph_io, save_graph  # noqa: E402
from pixel_sail.onnx_decoder import ATTENTION, build_decoder  # noqa: E402

SHAPES_05B = dict(hidden_size=896, num_attention_heads=14, num_key_value_heads=2, intermediate_size=4864)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--weights", default="int8,float32")
    args = ap.parse_args(argv)
    weights = [w.strip() for w in args.weights.split(",")]
    if args.layers < 1 or any(w not in ("int8", "float32") for w in weights):
        ap.error("--layers must be ≥ 1 and --weights a list of int8, float32")
    os.makedirs(args.out, exist_ok=True)
    model, _, _ = build_random_model(0, num_hidden_layers=args.layers, upsampler_channels=64, **SHAPES_05B)
    io = graph_io(model.config)
    files = {}
    for w in weights:
        for a in ATTENTION:
            name = f"decoder-{w}-{a}.onnx"
            save_graph(build_decoder(model, io["decoder"]["inputs"], io["decoder"]["outputs"], weights=w, attention=a),
                       os.path.join(args.out, name))
            files[f"{w}-{a}"] = name
    cfg = model.config
    doc = {"layers": args.layers, "hidden": cfg.hidden_size, "heads": cfg.num_attention_heads, "kvHeads": cfg.num_key_value_heads,
           "headDim": cfg.head_dim, "intermediate": cfg.intermediate_size, "files": files}
    with open(os.path.join(args.out, "graphs.json"), "w", encoding="utf-8") as fh:
        json.dump(doc, fh, indent=2)
    print(json.dumps(doc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
