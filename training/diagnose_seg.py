#!/usr/bin/env python3
"""Where is the referring-segmentation bottleneck: in the pixel features or in the [SEG] embedding?

  python3 training/diagnose_seg.py --checkpoint training/checkpoints/default.pt --scenes 12 [--json]

For each referring expression of generated scenes (validation stream by default, never trained on) it
compares, at the model's mask resolution with teacher-forced answers:
  own     the model's mask: its [SEG] embedding · the upsampled pixel features (the product's path);
  oracle  the best mask any single linear read-out of the same pixel features gives (a seg vector plus a
          bias fitted to that one ground-truth mask by logistic regression).
A high oracle with a low own score means the pixel features separate the objects and the [SEG] embedding
does not find the one the expression names; a low oracle means the pixel features themselves are short.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from pixel_sail.streams import scene_rng  # noqa: E402  (the generator's streams, defined once)


def diagnose(checkpoint: str, scenes: int, split: str = "val", seed: int = 0, fit_steps: int = 150) -> dict:
    import torch
    import torch.nn.functional as F

    from pixel_sail.config import PixelSailConfig
    from pixel_sail.data import SequenceBuilder, collate, scene_samples
    from pixel_sail.model import PixelSail
    from pixel_sail.tokenizer import Tokenizer

    ck = torch.load(checkpoint, map_location="cpu")
    cfg = PixelSailConfig.from_dict(ck["config"])
    model = PixelSail(cfg)
    model.load_state_dict({k: v for k, v in ck["model"].items() if not k.startswith("distill")})
    model.eval()
    tok = Tokenizer(ck["tokenizer"])
    builder = SequenceBuilder(tok, cfg)
    seg_id, pad = cfg.token_id("[SEG]"), tok.token_to_id("<|endoftext|>")
    totals = {"own": [0, 0], "oracle": [0, 0]}
    masks = 0
    for i in range(scenes):
        rng = scene_rng(split, seed, i)
        for s in scene_samples(rng, builder, cfg.max_long_side):
            if s.kind != "res" or not s.masks:
                continue
            batch = collate([s], cfg, pad)
            gh, gw = batch["grid"]
            with torch.no_grad():
                emb = model.embed(batch["input_ids"], batch["vision_patches"], batch["vision_patch_indices"], batch["vp_token_indices"])
                hidden, _, _ = model.decode(emb, batch["attention_mask"], batch["position_ids"])
                pixel = model.upsample(hidden[:, 1:gh * gw + 1].reshape(1, gh, gw, -1))[0]
                rows = (batch["input_ids"][0] == seg_id).nonzero().flatten()
                if len(rows) != len(s.masks):
                    continue
                own = model.mask_logits(model.project_seg(hidden[0, rows]), pixel)
            x = pixel.reshape(-1, pixel.shape[-1])
            for q, gt in enumerate(s.masks):
                g = F.interpolate(torch.tensor(np.asarray(gt), dtype=torch.float32)[None, None], size=pixel.shape[:2],
                                  mode="nearest")[0, 0].flatten()
                if g.sum() == 0:
                    continue
                torch.manual_seed(0)
                w = torch.zeros(x.shape[1], requires_grad=True)
                b = torch.zeros(1, requires_grad=True)
                opt = torch.optim.Adam([w, b], lr=0.05)
                for _ in range(fit_steps):
                    opt.zero_grad()
                    F.binary_cross_entropy_with_logits(x @ w + b, g, pos_weight=torch.tensor(3.0)).backward()
                    opt.step()
                gt_set = g > 0
                for name, pred in (("own", own[q].flatten() > 0), ("oracle", (x @ w + b).detach() > 0)):
                    totals[name][0] += int((pred & gt_set).sum())
                    totals[name][1] += int((pred | gt_set).sum())
                masks += 1
    ciou = {k: (v[0] / v[1] if v[1] else 0.0) for k, v in totals.items()}
    return {"checkpoint": checkpoint, "split": split, "scenes": scenes, "masks": masks,
            "ownCIoU": round(ciou["own"], 4), "oracleCIoU": round(ciou["oracle"], 4),
            "resolution": "model mask grid, teacher-forced answers"}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--scenes", type=int, default=12)
    ap.add_argument("--split", choices=["val", "test", "train"], default="val")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if not os.path.isfile(args.checkpoint):
        ap.error(f"no checkpoint at {args.checkpoint}")
    if args.scenes <= 0:
        ap.error("--scenes must be positive")
    report = diagnose(args.checkpoint, args.scenes, args.split, args.seed)
    if args.json:
        print(json.dumps(report))
    else:
        print(f"{report['masks']} masks on {args.scenes} {args.split} scenes: own cIoU {report['ownCIoU']:.3f}, "
              f"best linear read-out of the same pixel features {report['oracleCIoU']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
