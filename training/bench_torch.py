#!/usr/bin/env python3
"""PyTorch side of `npm run bench`: the project's reference model, eager, same weights and inputs as the
engine, same thread count. Prints one JSON object.

  python3 training/bench_torch.py --model models/NAME --images a.png b.png ... --text "EXPR" --threads 2
  python3 training/bench_torch.py --write-gemm OUT.onnx --n 1024        # the GEMM used to measure peak FLOP/s
  python3 training/bench_torch.py --write-gemm OUT.onnx --n 1024 --int8 # the same through DynamicQuantizeMatMul
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_model(model_dir: str):
    from pixel_sail import exporting as export

    cfg = json.load(open(os.path.join(model_dir, "config.json"), encoding="utf-8"))
    source = cfg.get("source") or {}
    if "random_seed" in source:
        model, tok, _ = export.build_random_model(int(source["random_seed"]))
    elif "checkpoint" in source:
        model, tok, _ = export.load_checkpoint(os.path.join(REPO, source["checkpoint"]))
    else:
        raise SystemExit("bench_torch.py: config.json has no 'source'; re-export the model with training/export.py")
    return model, tok


def write_gemm(path: str, n: int) -> None:
    import torch

    class Gemm(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.randn(n, n) / n ** 0.5)

        def forward(self, x):
            return x @ self.w

    torch.onnx.export(Gemm(), (torch.randn(n, n),), path, input_names=["x"], output_names=["y"], opset_version=17)


def write_gemm_int8(path: str, n: int) -> None:
    """x · w with w int8 (one scale per output column) through com.microsoft.DynamicQuantizeMatMul: the op the
    int8 decoder runs its projections with (pixel_sail/onnx_decoder.py), so its peak is what they can reach."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    w = (rng.standard_normal((n, n)) / n ** 0.5).astype(np.float32)
    scale = (np.abs(w).max(axis=0) / 127.0).astype(np.float32)
    q = np.clip(np.round(w / scale), -127, 127).astype(np.int8)
    inits = [numpy_helper.from_array(q, "w"), numpy_helper.from_array(scale, "s"), numpy_helper.from_array(np.zeros(n, np.int8), "z")]
    node = helper.make_node("DynamicQuantizeMatMul", ["x", "w", "s", "z"], ["y"], domain="com.microsoft")
    graph = helper.make_graph([node], "gemm_int8", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [n, n])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [n, n])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)])
    onnx.save(model, path)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model")
    ap.add_argument("--images", nargs="*", default=[])
    ap.add_argument("--text", default="the red circle")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--max-new-tokens", type=int, default=32)
    ap.add_argument("--write-gemm")
    ap.add_argument("--n", type=int, default=1024)
    ap.add_argument("--int8", action="store_true", help="with --write-gemm: int8 weights through DynamicQuantizeMatMul")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    if args.write_gemm:
        (write_gemm_int8 if args.int8 else write_gemm)(args.write_gemm, args.n)
        print(json.dumps({"gemm": args.write_gemm}))
        return 0
    from PIL import Image
    from pixel_sail.prompts import SEGMENT_ANSWER, SEGMENT_PROMPT
    from pixel_sail.predictor import Predictor

    model, tok = load_model(args.model)
    pred = Predictor(model, tok)
    prompt = SEGMENT_PROMPT.format(expression=args.text)

    def new_image_text(path: str) -> float:
        t0 = time.perf_counter()
        rgb = np.asarray(Image.open(path).convert("RGB"))
        state = pred.set_image(rgb)
        image_cache = (state.past, state.seq_len, state.next_position)
        ans = pred.generate(state, prompt, max_new_tokens=args.max_new_tokens)
        if ans.seg_hidden.shape[0] == 0 and "No target" not in ans.text:
            # Same fallback as the engine: answer "It is [SEG]." on top of the image cache.
            state.past, state.seq_len, state.next_position = image_cache
            pred.generate(state, prompt, max_new_tokens=0, answer_prefix=SEGMENT_ANSWER)
        return (time.perf_counter() - t0) * 1000

    warm = args.images[:3]
    for p in warm:
        new_image_text(p)
    times = [new_image_text(p) for p in args.images[3:]]
    times.sort()
    q = lambda f: times[min(len(times) - 1, int(round(f * (len(times) - 1))))]
    print(json.dumps({"threads": args.threads, "runs": len(times), "newImageTextMs": {"p50": q(0.5), "p90": q(0.9)}}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
