#!/usr/bin/env python3
"""Held-out learning curve: evaluates checkpoint snapshots of a run on a *validation* split through the
engine (export → `pixel-sail eval`), and joins them with the training log.

  python3 training/learning_curve.py --run training/runs/default --val-dir data/val [--limit 20]

Snapshots are the files RUN/snapshots/*.pt (copies of RUN/checkpoint.pt taken while training) plus the
final checkpoint. Writes RUN/learning_curve.json and prints a Markdown table.
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", required=True)
    ap.add_argument("--val-dir", required=True)
    ap.add_argument("--val-count", type=int, default=20)
    ap.add_argument("--limit", type=int, default=20)
    args = ap.parse_args()
    if not os.path.exists(os.path.join(args.val_dir, "ground_truth.json")):
        subprocess.run([sys.executable, os.path.join(HERE, "generate.py"), "--split", "val", "--seed", "7", "--count",
                        str(args.val_count), "--out", args.val_dir, "--quiet"], check=True)
    paths = sorted(glob.glob(os.path.join(args.run, "snapshots", "*.pt"))) + [os.path.join(args.run, "checkpoint.pt")]
    rows = []
    seen_steps = set()
    for path in paths:
        ckpt = torch.load(path, map_location="cpu")
        step, samples = ckpt["step"], ckpt["samples"]
        if step in seen_steps:
            continue
        seen_steps.add(step)
        with tempfile.TemporaryDirectory() as tmp:
            model_dir = os.path.join(tmp, "model")
            subprocess.run([sys.executable, os.path.join(HERE, "export.py"), "--out", model_dir, "--checkpoint", path, "--no-fixtures"],
                           check=True, capture_output=True)
            out = subprocess.run(["node", os.path.join(REPO, "bin", "pixel-sail.js"), "eval", args.val_dir, "--model", model_dir,
                                  "--device", "cpu", "--json", "--limit", str(args.limit)], check=True, capture_output=True, text=True).stdout
        e = json.loads(out)
        rows.append({"step": step, "samples": samples, "minutes": round(ckpt.get("elapsed_s", 0) / 60, 1), "eval": e})
        print(f"step {step}: RES cIoU {e['res']['cIoU']:.3f}", file=sys.stderr, flush=True)
    rows.sort(key=lambda r: r["step"])
    with open(os.path.join(args.run, "learning_curve.json"), "w") as fh:
        json.dump(rows, fh, indent=2)
    print("| step | sequences | train min | RES cIoU | RES gIoU | no-target | METEOR | MCQ | V-T cIoU | V-T gIoU |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        e = r["eval"]
        print(f"| {r['step']} | {r['samples']} | {r['minutes']} | {e['res']['cIoU']:.3f} | {e['res']['gIoU']:.3f} | "
              f"{e['res']['noTargetAccuracy']:.2f} | {e['caption']['meteor']:.3f} | {e['mcq']['accuracy']:.2f} | "
              f"{e['vtres']['cIoU']:.3f} | {e['vtres']['gIoU']:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
