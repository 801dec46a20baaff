#!/usr/bin/env python3
"""PyTorch side of `npm run bench`: the project's reference model, eager, same weights and inputs as the
engine, same thread count. Prints one JSON object.

  python3 training/bench_torch.py --model models/NAME --images a.png b.png ... --text "EXPR" --threads 2
  python3 training/bench_torch.py --write-gemm OUT.onnx --n 1024        # the GEMM used to measure peak FLOP/s
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


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model")
    ap.add_argument("--images", nargs="*", default=[])
    ap.add_argument("--text", default="the red circle")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--max-new-tokens", type=int, default=32)
    ap.add_argument("--write-gemm")
    ap.add_argument("--n", type=int, default=1024)
    args = ap.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    if args.write_gemm:
        write_gemm(args.write_gemm, args.n)
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
