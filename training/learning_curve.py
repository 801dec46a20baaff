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
import os
import subprocess
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from pixel_sail.atomic_dir import write_json_atomic  # noqa: E402
from pixel_sail.engine_eval import METRIC_HEADER, export_and_evaluate, metric_cells  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", required=True)
    ap.add_argument("--val-dir", required=True)
    ap.add_argument("--val-count", type=int, default=20)
    ap.add_argument("--limit", type=int, default=20)
    ap.add_argument("--out", help="where to write the curve (default RUN/learning_curve.json, which the model card reads)")
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
        e = export_and_evaluate(path, args.val_dir, limit=args.limit)
        rows.append({"step": step, "samples": samples, "minutes": round(ckpt.get("elapsed_s", 0) / 60, 1), "eval": e})
        print(f"step {step}: RES cIoU {e['res']['cIoU']:.3f}", file=sys.stderr, flush=True)
    rows.sort(key=lambda r: r["step"])
    out = args.out or os.path.join(args.run, "learning_curve.json")
    write_json_atomic(out, rows)
    print(f"| step | sequences | train min | {METRIC_HEADER} |")
    print("|---" * 11 + "|")
    for r in rows:
        print(f"| {r['step']} | {r['samples']} | {r['minutes']} | {metric_cells(r['eval'])} |")
    kinds = sorted({k for r in rows for k in r["eval"]["mcq"].get("byKind", {})})
    if kinds:
        print(f"\n| step | " + " | ".join(f"MCQ {k}" for k in kinds) + " |")
        print("|---" * (len(kinds) + 1) + "|")
        for r in rows:
            by = r["eval"]["mcq"]["byKind"]
            print(f"| {r['step']} | " + " | ".join(f"{by[k]['accuracy']:.2f}" if k in by else "–" for k in kinds) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
