#!/usr/bin/env python3
"""The long run's bookkeeping: one committed weights file, replaced by every segment, and a learning curve
on the fixed validation split. training/long_run.sh calls it; by hand:

  python3 training/long_run.py init --from training/checkpoints/default.pt      # the run's starting point
  python3 training/long_run.py finish --segment training/runs/long_run_segment  # after a segment's training
  python3 training/long_run.py show                                              # the curve as a table
  python3 training/long_run.py plateau                                           # issue 19's stopping rule

The weights file (training/checkpoints/long_run.pt) holds the model in float16 (the distillation adapter too,
when trained), the config and tokenizer, where the train stream continues (scene_index) and the run's
totals (steps, sequences, minutes, segments). train.py --init starts a segment from it: the weights are
cast back to float32 and the optimizer is rebuilt with a short warm-up. `finish` scores the segment's
weights *as committed* (float16) on the validation split through the engine, appends the point to
training/notes/long_run_curve.json (per-image tallies beside it, for paired comparisons between segments),
then replaces the weights file and clears the segment directory. Run twice, it does not add the point twice.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import torch  # noqa: E402

from pixel_sail.atomic_dir import write_json_atomic  # noqa: E402
from pixel_sail.paired_bootstrap import paired_differences  # noqa: E402
from pixel_sail.streams import VAL_COUNT, VAL_SEED  # noqa: E402

WEIGHTS = os.path.join(HERE, "checkpoints", "long_run.pt")
CURVE = os.path.join(HERE, "notes", "long_run_curve.json")
EVALS = os.path.join(HERE, "notes", "long_run")


def half(state: dict) -> dict:
    return {k: (v.half() if v.is_floating_point() else v) for k, v in state.items()}


def weights_from(ckpt: dict, totals: dict, recipe: dict) -> dict:
    out = {"format": "pixel-sail-long-run-weights", "model": half(ckpt["model"]), "config": ckpt["config"],
           "tokenizer": ckpt["tokenizer"], "scene_index": ckpt["scene_index"], "step": totals["steps"],
           "samples": totals["samples"], "totals": totals, "recipe": recipe}
    if "distill" in ckpt:
        out["distill"] = half(ckpt["distill"])
    return out


def save_atomic(obj, path: str) -> None:
    tmp = f"{path}.tmp-{os.getpid()}"
    torch.save(obj, tmp)
    os.replace(tmp, path)


def cmd_init(args) -> int:
    if os.path.exists(args.weights) and not args.force:
        raise SystemExit(f"{args.weights} exists (pass --force to replace it)")
    ck = torch.load(args.source, map_location="cpu")
    totals = {"steps": int(args.steps if args.steps is not None else ck["step"]),
              "samples": int(args.samples if args.samples is not None else ck["samples"]),
              "minutes": float(args.minutes if args.minutes is not None else ck.get("elapsed_s", 0) / 60),
              "segments": int(args.segments)}
    out = weights_from(ck, totals, {"from": os.path.relpath(os.path.abspath(args.source), REPO)})
    if args.base_eval:
        # A restart from an earlier model: the next segment is compared (paired) with that model's evaluation,
        # not with the segment before it on the curve.
        out["base_eval"] = os.path.relpath(os.path.abspath(args.base_eval), REPO)
    save_atomic(out, args.weights)
    print(f"wrote {args.weights} ({os.path.getsize(args.weights) / 1e6:.1f} MB): {totals}")
    return 0


def evaluate(weights: str, val: str) -> dict:
    with tempfile.TemporaryDirectory(dir=os.path.join(HERE, "runs")) as tmp:
        model_dir = os.path.join(tmp, "model")
        subprocess.run([sys.executable, os.path.join(HERE, "export.py"), "--out", model_dir, "--checkpoint", weights,
                        "--no-fixtures"], check=True, capture_output=True)
        cmd = ["node", os.path.join(REPO, "bin", "pixel-sail.js"), "eval", val, "--model", model_dir, "--device", "cpu", "--json"]
        return json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)


def summary(e: dict) -> dict:
    by = e["mcq"].get("byKind", {})
    return {"res_cIoU": e["res"]["cIoU"], "res_gIoU": e["res"]["gIoU"], "no_target": e["res"]["noTargetAccuracy"],
            "meteor": e["caption"]["meteor"], "mcq": e["mcq"]["accuracy"],
            "mcq_by_kind": {k: v["accuracy"] for k, v in by.items()},
            "vtres_cIoU": e["vtres"]["cIoU"], "vtres_gIoU": e["vtres"]["gIoU"], "overall": e["overall"],
            "real_photo_iou": (e.get("realPhotos") or {}).get("meanIoU"), "weights_run": e.get("weights"),
            "ci95": {k: v for k, v in (e.get("ci95") or {}).get("intervals", {}).items() if k in ("resCIoU", "mcqAccuracy", "overall")}}


def cmd_finish(args) -> int:
    seg_ckpt = os.path.join(args.segment, "checkpoint.pt")
    if not os.path.exists(seg_ckpt):
        raise SystemExit(f"no segment checkpoint at {seg_ckpt}")
    seg = torch.load(seg_ckpt, map_location="cpu")
    prev = torch.load(args.weights, map_location="cpu")
    curve = json.load(open(args.curve)) if os.path.exists(args.curve) else []
    t = prev["totals"]
    totals = {"steps": t["steps"] + seg["step"], "samples": t["samples"] + seg["samples"],
              "minutes": round(t["minutes"] + seg.get("elapsed_s", 0) / 60, 1), "segments": t["segments"] + 1}
    recipe = {k: seg["args"].get(k) for k in ("lr", "warmup_steps", "total_steps", "batch", "dense_masks", "easy_shape",
                                              "mask_repeats", "distill", "attribute_aux", "photo_prompts")}
    new = weights_from(seg, totals, recipe)
    if "distill" not in new and "distill" in prev:
        new["distill"] = prev["distill"]  # a segment without distillation keeps the adapter for later ones
    tmp_weights = args.weights + ".next"
    save_atomic(new, tmp_weights)
    if curve and curve[-1].get("scene_index") == new["scene_index"]:
        print("this segment's point is already on the curve; replacing the weights only", file=sys.stderr)
    else:
        t0 = time.time()
        e = evaluate(tmp_weights, args.val)
        point = {"segment": totals["segments"], "date": time.strftime("%Y-%m-%d %H:%M"), "steps": totals["steps"],
                 "samples": totals["samples"], "minutes": totals["minutes"], "segment_steps": seg["step"],
                 "segment_minutes": round(seg.get("elapsed_s", 0) / 60, 1), "scene_index": new["scene_index"],
                 "recipe": recipe, "val": f"generate.py --split val --seed {VAL_SEED} --count {VAL_COUNT}",
                 "weights": "float16 (as committed)", **summary(e)}
        prev_eval = (os.path.join(REPO, prev["base_eval"]) if "base_eval" in prev
                     else os.path.join(EVALS, f"eval-seg{t['segments']:03d}.json"))
        if "from" in prev.get("recipe", {}):
            point["started_from"] = prev["recipe"]["from"]
            point["compared_with"] = os.path.relpath(prev_eval, REPO)
        if os.path.exists(prev_eval) and "perImage" in e:
            # Paired over the same validation images: the segment's gain, with a 95 % bootstrap interval.
            d = paired_differences(json.load(open(prev_eval)), e)
            point["vs_previous"] = {k: {"delta": round(v["delta"], 4), "ci95": [round(x, 4) for x in v["ci95"]]}
                                    for k, v in d.items() if k in ("resCIoU", "resGIoU", "mcqAccuracy", "overall", "realPhotoIoU")}
        os.makedirs(EVALS, exist_ok=True)
        write_json_atomic(os.path.join(EVALS, f"eval-seg{totals['segments']:03d}.json"), e)
        curve.append(point)
        write_json_atomic(args.curve, curve)
        print(json.dumps(point), flush=True)
        print(f"scored in {time.time() - t0:.0f} s", file=sys.stderr)
    os.replace(tmp_weights, args.weights)
    shutil.rmtree(args.segment)
    print(f"replaced {args.weights} ({os.path.getsize(args.weights) / 1e6:.1f} MB); cleared {args.segment}")
    return 0


BEGIN, END = "<!-- long-run curve (long_run.py show --update) -->", "<!-- /long-run curve -->"


def curve_table(curve: list) -> list:
    lines = []
    lines.append("| segment | steps | sequences | minutes | RES cIoU | RES gIoU | no-target | METEOR | MCQ | MCQ shape | V-T cIoU | overall | real-photo IoU |")
    lines.append("|---" * 13 + "|")
    for p in curve:
        rp = p.get("real_photo_iou")
        lines.append(f"| {p['segment']} | {p['steps']} | {p['samples']} | {p['minutes']} | {p['res_cIoU']:.3f} | {p['res_gIoU']:.3f} | "
              f"{p['no_target']:.2f} | {p['meteor']:.3f} | {p['mcq']:.2f} | {p['mcq_by_kind'].get('shape', float('nan')):.2f} | "
              f"{p['vtres_cIoU']:.3f} | {p['overall']:.1f} | {'–' if rp is None else f'{rp:.3f}'} |")
    return lines


def cmd_show(args) -> int:
    curve = json.load(open(args.curve)) if os.path.exists(args.curve) else []
    table = "\n".join(curve_table(curve))
    print(table)
    for path in args.update or []:
        text = open(path, encoding="utf-8").read()
        if BEGIN not in text or END not in text:
            raise SystemExit(f"{path} has no {BEGIN} … {END} block")
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(f"{head}{BEGIN}\n{table}\n{END}{tail}")
    return 0


def plateau(curve: list, evals: str, window: int = 3, bound: float = 0.03, min_segments: int = 5) -> dict:
    """Issue 19's stopping rule, measured: the RES cIoU gain of the last `window` segments (the last point
    against the point `window` segments before it, paired over the validation images, 95 % bootstrap) and
    whether its upper bound is below `bound` after at least `min_segments` segments of training."""
    if not curve:
        raise SystemExit("the curve is empty: no segment has been scored yet")
    last = curve[-1]["segment"]
    first = last - window
    if first < 0:
        return {"segments": last, "window": window, "reached": False, "why": f"only {last} segments; the rule compares with segment {first}"}
    def load(n: int) -> dict:
        path = os.path.join(evals, f"eval-seg{n:03d}.json")
        if not os.path.exists(path):
            raise SystemExit(f"no per-image report for segment {n} ({path}): the rule compares segments {first} and {last}")
        return json.load(open(path))
    d = paired_differences(load(first), load(last))["resCIoU"]
    upper = d["ci95"][1]
    reached = last >= min_segments and upper < bound
    return {"segments": last, "window": window, "from": first, "to": last, "resCIoU_gain": round(d["delta"], 4),
            "ci95": [round(x, 4) for x in d["ci95"]], "bound": bound, "reached": reached,
            "why": (f"segment {first} → {last}: RES cIoU {d['delta']:+.4f} [{d['ci95'][0]:+.4f}, {upper:+.4f}]; upper bound "
                    f"{'<' if upper < bound else '≥'} {bound}" + ("" if last >= min_segments else f"; fewer than {min_segments} segments"))}


def cmd_plateau(args) -> int:
    if args.window < 1:
        raise SystemExit("--window must be at least 1 (segments back from the last)")
    curve = json.load(open(args.curve)) if os.path.exists(args.curve) else []
    r = plateau(curve, args.evals, args.window, args.bound)
    print(json.dumps(r) if args.json else f"plateau {'reached' if r['reached'] else 'not reached'}: {r['why']}")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    i = sub.add_parser("init")
    i.add_argument("--from", dest="source", required=True)
    i.add_argument("--weights", default=WEIGHTS)
    i.add_argument("--steps", type=int)
    i.add_argument("--samples", type=int)
    i.add_argument("--minutes", type=float)
    i.add_argument("--force", action="store_true")
    i.add_argument("--segments", type=int, default=0, help="the last segment number on the curve (segment 0 is the starting point; the next segment is this + 1), so a restart keeps counting")
    i.add_argument("--base-eval", help="evaluation JSON of the starting model, for the next segment's paired comparison")
    f = sub.add_parser("finish")
    f.add_argument("--segment", required=True)
    f.add_argument("--weights", default=WEIGHTS)
    f.add_argument("--val", default=os.path.join(HERE, "cache", "val200"))
    f.add_argument("--curve", default=CURVE)
    s = sub.add_parser("show")
    s.add_argument("--curve", default=CURVE)
    s.add_argument("--update", nargs="*", help="Markdown files whose long-run curve block to rewrite (model card, notes)")
    p = sub.add_parser("plateau", help="issue 19's stopping rule: the paired RES cIoU gain over the last segments")
    p.add_argument("--curve", default=CURVE)
    p.add_argument("--evals", default=EVALS)
    p.add_argument("--window", type=int, default=3)
    p.add_argument("--bound", type=float, default=0.03)
    p.add_argument("--json", action="store_true")
    args = ap.parse_args()
    return {"init": cmd_init, "finish": cmd_finish, "show": cmd_show, "plateau": cmd_plateau}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
