#!/usr/bin/env python3
"""Probe: does this architecture, at this size, learn shape in an easy world, and after how many steps?

  python3 training/probe_easy.py --out training/runs/probe-easy --minutes 20 [--init CKPT] [--eval-every 50]

The world is pixel_sail.easy_scenes: one plain object of random colour on a flat background, asked only
about its shape (an open question, and a referring expression naming its shape or another one). Training
scenes come from the train stream (seed 1, so none is a scene of the main runs' data stream); the read-outs
are scored on easy scenes drawn from the validation stream (VAL_SEED, first --val indices), teacher-forced:
  shape      the shape word of "What shape is the object in this image?" → "It is a <shape>.", argmax over
             the 8 shape tokens (teacher-forced up to it);
  no-target  the first answer token of "Please segment the <shape> …", "No" against the target answers.
The model has the shipped model's size and tokenizer (or --init's weights); the language-model loss only
(masks are not needed to know a shape), AdamW, a short warm-up then constant lr. Logs OUT/log.jsonl.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402

from pixel_sail.config import PixelSailConfig  # noqa: E402
from pixel_sail.data import SequenceBuilder, collate  # noqa: E402
from pixel_sail.easy_scenes import easy_samples  # noqa: E402
from pixel_sail.losses import lm_loss  # noqa: E402
from pixel_sail.model import PixelSail  # noqa: E402
from pixel_sail.prompts import NO_TARGET_ANSWER, SEGMENT_ANSWERS  # noqa: E402
from pixel_sail.scenes import SHAPES  # noqa: E402
from pixel_sail.streams import VAL_SEED, scene_rng  # noqa: E402
from pixel_sail.tokenizer import Tokenizer  # noqa: E402


def first_tokens(tok: Tokenizer, texts) -> list:
    return [tok.encode(t)[0] for t in texts]


def readouts(model, batches, shape_ids, pos_ids, no_id) -> dict:
    """Teacher-forced accuracies over the prepared validation batches."""
    model.eval()
    hits = {"shape": [], "no_target": []}
    with torch.no_grad():
        for kind, batch, truth in batches:
            emb = model.embed(batch["input_ids"], batch["vision_patches"], batch["vision_patch_indices"], batch["vp_token_indices"])
            _, logits, _ = model.decode(emb, batch["attention_mask"], batch["position_ids"])
            if kind == "shape_text":  # the shape word
                at = torch.isin(batch["labels"], shape_ids).float().argmax(1)
            else:  # the first answer token
                at = (batch["labels"] != -100).float().argmax(1)
            rows = logits[torch.arange(len(at)), at - 1]
            if kind == "shape_text":
                pred = rows[:, shape_ids].argmax(1)
                hits["shape"] += (pred == truth).tolist()
            else:
                pos = torch.logsumexp(rows[:, pos_ids], 1)
                pred = (rows[:, no_id] > pos).long()  # 1 = says no target
                hits["no_target"] += (pred == truth).tolist()
    model.train()
    return {k: round(float(np.mean(v)), 4) for k, v in hits.items()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--tokenizer-from", default="training/checkpoints/default.pt",
                    help="checkpoint whose tokenizer and model size to use (weights too with --init)")
    ap.add_argument("--init", action="store_true", help="start from that checkpoint's weights instead of a fresh init")
    ap.add_argument("--minutes", type=float, default=20)
    ap.add_argument("--max-steps", type=int, default=100000)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--warmup", type=int, default=50)
    ap.add_argument("--val", type=int, default=200)
    ap.add_argument("--eval-every", type=int, default=50)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    torch.manual_seed(args.seed)
    ck = torch.load(args.tokenizer_from, map_location="cpu")
    cfg = PixelSailConfig.from_dict(ck["config"])
    tok = Tokenizer(ck["tokenizer"])
    model = PixelSail(cfg)
    if args.init:
        model.load_state_dict({k: v.float() for k, v in ck["model"].items() if not k.startswith("distill")})
    model.train()
    builder = SequenceBuilder(tok, cfg)
    pad = tok.token_to_id("<|endoftext|>")
    shape_ids = first_tokens(tok, [" " + s for s in SHAPES])
    pos_ids = sorted(set(first_tokens(tok, SEGMENT_ANSWERS)))
    no_id = first_tokens(tok, [NO_TARGET_ANSWER])[0]
    if len(set(shape_ids)) != len(SHAPES) or no_id in pos_ids:
        raise SystemExit(f"the tokenizer does not tell the answers apart by their first token: {shape_ids} {pos_ids} {no_id}")
    shape_ids_t = torch.tensor(shape_ids)

    # Validation batches, prepared once.
    val = {"shape_text": [], "shape_res": []}
    for i in range(args.val):
        for s in easy_samples(scene_rng("val", VAL_SEED, i), builder, cfg.max_long_side):
            if s.kind == "shape_text":
                truth = shape_ids.index(next(l for l in s.labels if l in shape_ids))
            else:
                truth = int(s.labels[next(j for j, l in enumerate(s.labels) if l != -100)] == no_id)
            val[s.kind].append((s, truth))
    batches = []
    for kind, items in val.items():
        for k in range(0, len(items), 25):
            chunk = items[k:k + 25]
            batches.append((kind, collate([s for s, _ in chunk], cfg, pad), torch.tensor([t for _, t in chunk])))

    params = list(model.parameters())
    decay = [p for p in params if p.dim() >= 2]
    no_decay = [p for p in params if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05}, {"params": no_decay, "weight_decay": 0.0}], lr=args.lr)
    os.makedirs(args.out, exist_ok=True)
    log = open(os.path.join(args.out, "log.jsonl"), "a")

    def record(rec):
        log.write(json.dumps(rec) + "\n")
        log.flush()
        print(json.dumps(rec), flush=True)

    t0 = time.time()
    record({"step": 0, "samples": 0, "minutes": 0.0, **readouts(model, batches, shape_ids_t, pos_ids, no_id),
            "init": args.tokenizer_from if args.init else "fresh"})
    step, samples, scene, window = 0, 0, 0, []
    pending = {"shape_text": [], "shape_res": []}
    while step < args.max_steps and time.time() - t0 < args.minutes * 60:
        while min(len(v) for v in pending.values()) < args.batch:
            for s in easy_samples(scene_rng("train", args.seed, scene), builder, cfg.max_long_side):
                pending[s.kind].append(s)
            scene += 1
        kind = "shape_text" if step % 2 == 0 else "shape_res"
        chunk, pending[kind] = pending[kind][:args.batch], pending[kind][args.batch:]
        batch = collate(chunk, cfg, pad)
        lr = args.lr * min(1.0, (step + 1) / args.warmup)
        for g in opt.param_groups:
            g["lr"] = lr
        emb = model.embed(batch["input_ids"], batch["vision_patches"], batch["vision_patch_indices"], batch["vp_token_indices"])
        _, logits, _ = model.decode(emb, batch["attention_mask"], batch["position_ids"])
        # Full LM weight on both kinds: the question here is only whether shape is learnt.
        loss = lm_loss(logits, batch["labels"], torch.zeros_like(batch["has_masks"]))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        step += 1
        samples += len(chunk)
        window.append(float(loss))
        if step % args.eval_every == 0:
            record({"step": step, "samples": samples, "minutes": round((time.time() - t0) / 60, 2),
                    "loss": round(float(np.mean(window)), 4), **readouts(model, batches, shape_ids_t, pos_ids, no_id)})
            window = []
    if step % args.eval_every:
        record({"step": step, "samples": samples, "minutes": round((time.time() - t0) / 60, 2),
                "loss": round(float(np.mean(window)), 4) if window else None, **readouts(model, batches, shape_ids_t, pos_ids, no_id)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
