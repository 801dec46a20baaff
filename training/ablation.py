#!/usr/bin/env python3
"""The ablation of the paper's three techniques, under one equal training budget:

  baseline            bilinearly upsampled patch features, no visual-prompt injection, no distillation
  + upsampler         the learnable upsampler
  + prompt injection  visual prompts added to the patch tokens they cover
  + distillation      ISNet features distilled into the upsampled pixel features

  python3 training/ablation.py --steps 800 --test-dir data/test-ablation [--variants baseline,upsampler,...]

Each variant trains with the same seed, data and step count (resumable: an interrupted run continues),
is exported to ONNX and evaluated by the engine (`pixel-sail eval`) on the same held-out test split.
Results go to training/runs/ablation/results.json and a Markdown table on stdout.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from pixel_sail.atomic_dir import write_json_atomic  # noqa: E402
from pixel_sail.engine_eval import METRIC_HEADER, export_and_evaluate, metric_cells  # noqa: E402
VARIANTS = {
    "baseline": ["--upsampler", "bilinear", "--no-prompt-injection"],
    "upsampler": ["--upsampler", "learned", "--no-prompt-injection"],
    "prompt_injection": ["--upsampler", "learned"],
    "distillation": ["--upsampler", "learned", "--distill", os.path.join(HERE, "cache", "distill-192")],
}
# The shipped recipe's mask supervision (dense BCE + Dice on the prediction grid), the same for every variant.
COMMON = ["--dense-masks"]
LABELS = {"baseline": "baseline", "upsampler": "+ upsampler", "prompt_injection": "+ prompt injection",
          "distillation": "+ distillation"}


def run(cmd, **kw):
    print("+", " ".join(cmd), file=sys.stderr, flush=True)
    subprocess.run(cmd, check=True, **kw)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=800)
    ap.add_argument("--test-dir", required=True, help="a test split made by generate.py (made if missing)")
    ap.add_argument("--test-count", type=int, default=50)
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--out", default=os.path.join(HERE, "runs", "ablation"))
    args = ap.parse_args()
    python = sys.executable
    names = [v for v in args.variants.split(",") if v]
    unknown = [v for v in names if v not in VARIANTS]
    if unknown:
        ap.error(f"unknown variants {unknown}; choose from {list(VARIANTS)}")
    if not os.path.exists(os.path.join(args.test_dir, "ground_truth.json")):
        run([python, os.path.join(HERE, "generate.py"), "--split", "test", "--seed", "2024", "--count", str(args.test_count),
             "--out", args.test_dir, "--quiet"])
    os.makedirs(args.out, exist_ok=True)
    results_path = os.path.join(args.out, "results.json")
    results = json.load(open(results_path)) if os.path.exists(results_path) else {}
    for name in names:
        done = results.get(name, {})
        # Reports from before per-image tallies cannot be compared pairwise: evaluate those again (no training).
        if done.get("steps") == args.steps and "perImage" in done.get("eval", {}):
            continue
        run_dir = os.path.join(args.out, name)
        ckpt = os.path.join(run_dir, "checkpoint.pt")
        cmd = [python, os.path.join(HERE, "train.py"), "--out", run_dir, "--total-steps", str(args.steps)]
        if done.get("steps") != args.steps:
            run(cmd + (["--resume"] if os.path.exists(ckpt) else COMMON + VARIANTS[name]))
        report = export_and_evaluate(ckpt, args.test_dir, model_dir=os.path.join(run_dir, "model"))
        results[name] = {"steps": args.steps, "eval": report}
        write_json_atomic(results_path, results)
    print(f"| variant | {METRIC_HEADER} |")
    print("|---" * 9 + "|")
    for name in VARIANTS:
        if name in results:
            print(f"| {LABELS[name]} | {metric_cells(results[name]['eval'])} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
