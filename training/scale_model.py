#!/usr/bin/env python3
"""A random-weight Pixel-SAIL at the paper's shapes, converted as an official checkpoint would be, for
measuring the engine at scale (issue 20, README "Paper-size models").

  /usr/bin/python3 training/scale_model.py [--size 0.5b|3b] [--out DIR]
  npm run bench -- --model DIR --scale

It writes what the official training leaves (an mmengine iter_*.pth in bfloat16 with the official parameter
names from pixel_sail/official_layout.py, the single transformer's Hugging Face config.json with the
Qwen2.5 values, and the base model's tokenizer.json: Qwen's real byte-level BPE vocabulary, fetched by
training/fetch_qwen_tokenizer.mjs, with the vision tokens appended), then runs training/convert_official.py on
it (with --int8) in a child process and records the conversion's wall time, its peak RSS and the size of every
file in DIR/conversion.json. The weights are random: the numbers measure speed and memory, not answers.
Nothing here is committed; the default DIR is ~/.cache/pixel-sail/scale/<size>.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from pixel_sail.official_layout import (PAPER_SHAPES, QWEN25_ADDED_END, base_model_tokenizer, llm_config,  # noqa: E402
                                        official_shapes, official_state, parameter_count)

# Qwen2.5's initializer_range: activations keep the scale of a trained model through 24–36 layers.
INIT_STD = 0.02


def default_out(size: str) -> str:
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(cache, "pixel-sail", "scale", size)


def fetch_tokenizer() -> str:
    out = subprocess.run(["node", os.path.join(HERE, "fetch_qwen_tokenizer.mjs")], check=True, capture_output=True, text=True)
    return out.stdout.strip().splitlines()[-1]


def write_inputs(size: str, work: str, tokenizer: str, seed: int) -> dict:
    """iter_0.pth, config.json and tokenizer.json in ``work``; returns what was written and how long it took."""
    import torch

    shape = PAPER_SHAPES[size]
    os.makedirs(work, exist_ok=True)
    with open(tokenizer, encoding="utf-8") as fh:
        doc, added = base_model_tokenizer(json.load(fh), keep_below=QWEN25_ADDED_END)
    with open(os.path.join(work, "tokenizer.json"), "w", encoding="utf-8") as fh:
        json.dump(doc, fh, ensure_ascii=False)
    with open(os.path.join(work, "config.json"), "w", encoding="utf-8") as fh:
        json.dump(llm_config(**shape), fh, indent=2)
    t0 = time.perf_counter()
    # bfloat16, as the official training saves its module weights: half the memory of float32 here too.
    state = official_state(**shape, seed=seed, scale=INIT_STD, dtype=torch.bfloat16)
    torch.save({"state_dict": state, "meta": {"note": f"random weights at the official {size} shapes (training/scale_model.py)"}},
               os.path.join(work, "iter_0.pth"))
    del state
    return {"checkpoint_s": round(time.perf_counter() - t0, 1), "vision_tokens_added": added,
            "parameters": parameter_count(official_shapes(**shape))}


def file_sizes(folder: str) -> dict:
    sizes = {}
    for root, _, files in os.walk(folder):
        for f in files:
            p = os.path.join(root, f)
            sizes[os.path.relpath(p, folder)] = os.path.getsize(p)
    return dict(sorted(sizes.items()))


def _vm_hwm_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def convert(work: str, out: str, max_long_side: int, int8: bool, fixtures: bool) -> dict:
    """convert_official.py in a child process. Its peak RSS is the kernel's high-water mark of the child's own
    memory (VmHWM), read every 0.2 s while it runs: getrusage(RUSAGE_CHILDREN) would also count this process's
    own peak (Linux carries the parent's high-water mark into a forked child), which at 3B is the 7.3 GB of
    writing the checkpoint, more than the streaming converter itself uses."""
    import tempfile

    cmd = [sys.executable, os.path.join(HERE, "convert_official.py"), "--checkpoint", os.path.join(work, "iter_0.pth"),
           "--llm-config", os.path.join(work, "config.json"), "--tokenizer", os.path.join(work, "tokenizer.json"),
           "--out", out, "--max-long-side", str(max_long_side)]
    if int8:
        cmd.append("--int8")
    if not fixtures:
        cmd.append("--no-fixtures")
    t0 = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out_f, tempfile.TemporaryFile("w+") as err_f:
        proc = subprocess.Popen(cmd, stdout=out_f, stderr=err_f, text=True)
        peak_kb = 0
        while True:
            peak_kb = max(peak_kb, _vm_hwm_kb(proc.pid))
            try:
                proc.wait(timeout=0.2)
                break
            except subprocess.TimeoutExpired:
                pass
        seconds = time.perf_counter() - t0
        out_f.seek(0)
        err_f.seek(0)
        stdout, stderr = out_f.read(), err_f.read()
    if proc.returncode != 0:
        raise SystemExit(f"scale_model.py: convert_official.py failed ({proc.returncode}):\n{stderr[-4000:]}")
    return {"command": " ".join(cmd), "conversion_s": round(seconds, 1), "conversion_peak_rss_mb": round(peak_kb / 1024),
            "converter": json.loads(stdout.strip().splitlines()[-1])}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", choices=sorted(PAPER_SHAPES), default="0.5b")
    ap.add_argument("--out", help="model directory to write (default ~/.cache/pixel-sail/scale/SIZE)")
    ap.add_argument("--tokenizer", help="a Qwen tokenizer.json (default: fetched by training/fetch_qwen_tokenizer.mjs)")
    ap.add_argument("--max-long-side", type=int, default=1024, help="longest image side the model takes (official: 1024)")
    ap.add_argument("--no-int8", action="store_true", help="skip the int8 decoder")
    ap.add_argument("--fixtures", action="store_true", help="also write parity fixtures (runs the PyTorch reference: slow at this size)")
    ap.add_argument("--keep-checkpoint", action="store_true", help="keep the official-layout inputs in OUT.work/")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    out = os.path.abspath(args.out or default_out(args.size))
    work = out.rstrip("/") + ".work"
    tokenizer = args.tokenizer or fetch_tokenizer()
    report = {"size": args.size, "shapes": PAPER_SHAPES[args.size], "max_long_side": args.max_long_side, "init_std": INIT_STD}
    report.update(write_inputs(args.size, work, tokenizer, args.seed))
    report["checkpoint_bytes"] = os.path.getsize(os.path.join(work, "iter_0.pth"))
    report.update(convert(work, out, args.max_long_side, not args.no_int8, args.fixtures))
    report["files"] = file_sizes(out)
    report["external_data"] = sorted(f for f in report["files"] if f.endswith(".onnx.data"))
    with open(os.path.join(out, "conversion.json"), "w", encoding="utf-8") as fh:
        json.dump(report, fh, indent=2)
    if not args.keep_checkpoint:
        for f in ("iter_0.pth", "config.json", "tokenizer.json"):
            os.remove(os.path.join(work, f))
        os.rmdir(work)
    print(json.dumps({k: report[k] for k in ("size", "parameters", "conversion_s", "conversion_peak_rss_mb", "files")}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
