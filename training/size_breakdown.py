#!/usr/bin/env python3
"""Scores by object size: is the model limited by its input resolution, or by what it has learnt?

  python3 training/size_breakdown.py --dataset DIR --report eval.json [--image-side 192] [--patch 16]

DIR is a split from generate.py, eval.json its `pixel-sail eval --json` report (which carries per-image
tallies). Each MCQ question and each single-target RES expression is put in a size tercile by its object's
area, measured in patches at the model's input resolution. If shape questions are answered well for large
objects and badly for small ones, a larger input would help; if they fail at every size, the missing
piece is training, not pixels. Prints a Markdown table (and JSON with --json).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from collections import defaultdict


def load_json(path: str, what: str):
    try:
        with open(path) as fh:
            return json.load(fh)
    except (OSError, ValueError) as e:
        sys.exit(f"cannot read the {what} {path}: {e}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--report", required=True)
    ap.add_argument("--image-side", type=int, default=192, help="the model's input long side")
    ap.add_argument("--patch", type=int, default=16)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    gt = load_json(os.path.join(args.dataset, "ground_truth.json"), "dataset (made by generate.py)")
    report = load_json(args.report, "report (pixel-sail eval --json)")
    if "perImage" not in report:
        sys.exit("the report has no per-image tallies; evaluate again with this version of pixel-sail eval --json")
    tallies = {t["image"]: t for t in report["perImage"]}
    images = {i["id"]: i for i in gt["images"]}
    anns = {a["id"]: a for a in gt["annotations"]}

    def patches(ann_ids, image_id):
        img = images[image_id]
        scale = args.image_side / max(img["width"], img["height"])
        return sum(anns[a]["area"] for a in ann_ids) * scale * scale / (args.patch * args.patch)

    mcq, res = [], []  # (kind, size in patches, score)
    by_image = defaultdict(list)
    for t in gt["tasks"]:
        by_image[t["image_id"]].append(t)
    for image_id, tasks in by_image.items():
        tally = tallies.get(image_id)
        if tally is None:
            continue
        mcq_tasks = [t for t in tasks if t["type"] == "mcq"]
        if len(mcq_tasks) == 1:  # the tally holds one count per image; per-question scores need one question
            mcq.append((mcq_tasks[0].get("kind", "?"), patches([mcq_tasks[0]["region_id"]], image_id), tally["mcq"]["right"]))
        res_tasks = [t for t in tasks if t["type"] == "res"]
        if len(res_tasks) != len(tally["res"]["ious"]):
            sys.exit(f"image {image_id}: {len(res_tasks)} RES tasks but {len(tally['res']['ious'])} scores; report and dataset differ")
        for t, iou in zip(res_tasks, tally["res"]["ious"]):
            if len(t["target_ids"]) == 1:
                res.append((t.get("kind", "?"), patches(t["target_ids"], image_id), iou))

    if not mcq or not res:
        sys.exit("no single-question images or single-target expressions matched between the report and the dataset")

    def terciles(rows):
        sizes = sorted(r[1] for r in rows)
        return sizes[len(sizes) // 3], sizes[2 * len(sizes) // 3]

    def table(rows, title, score_name):
        cuts = terciles(rows)
        bucket = lambda s: 0 if s < cuts[0] else 1 if s < cuts[1] else 2  # noqa: E731
        names = [f"< {cuts[0]:.1f}", f"{cuts[0]:.1f}–{cuts[1]:.1f}", f"≥ {cuts[1]:.1f}"]
        cells = defaultdict(lambda: [0.0, 0])
        for kind, size, score in rows:
            for key in (kind, "all"):
                c = cells[(key, bucket(size))]
                c[0] += score
                c[1] += 1
        kinds = sorted({r[0] for r in rows}) + ["all"]
        out = {k: {names[b]: {score_name: cells[(k, b)][0] / cells[(k, b)][1], "n": cells[(k, b)][1]}
                   for b in range(3) if cells[(k, b)][1]} for k in kinds}
        lines = [f"| {title} | " + " | ".join(f"{n} patches" for n in names) + " |", "|---|---|---|---|"]
        for k in kinds:
            lines.append(f"| {k} | " + " | ".join(
                f"{cells[(k, b)][0] / cells[(k, b)][1]:.2f} (n {cells[(k, b)][1]})" if cells[(k, b)][1] else "–" for b in range(3)) + " |")
        return out, "\n".join(lines)

    mcq_out, mcq_md = table(mcq, "MCQ kind, object area at model input", "accuracy")
    res_out, res_md = table(res, "single-target RES kind, target area", "gIoU")
    if args.json:
        print(json.dumps({"mcq": mcq_out, "res": res_out, "imageSide": args.image_side, "patch": args.patch}, indent=2))
    else:
        print(f"Object sizes at the model's {args.image_side}-px input, in {args.patch}×{args.patch} patches; terciles.\n")
        print(mcq_md + "\n\n" + res_md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
