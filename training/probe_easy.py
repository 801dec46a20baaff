#!/usr/bin/env python3
"""Probe: does this architecture, at this size, learn shape in an easy world, and after how many steps?

  python3 training/probe_easy.py --out training/runs/probe-easy --minutes 20 [--init CKPT] [--eval-every 50]
  python3 training/probe_easy.py --out … --objective shape --size 384 --gflops 4000   # capacity / input size

Variants (issue 19's capacity and training-signal probes; fresh init only for a changed size):
  --size PX            input side (default: the checkpoint's max_long_side); the patch stays 16 px.
  --hidden/--layers/--intermediate/--heads   the transformer's width and depth.
  --objective lm       the language-model loss only (probe b);
              lm+shape that plus a direct shape loss: a linear 8-way head on the mean of the last layer's
                       patch tokens (--shape-weight), on every sequence;
              shape    the image block alone (no text) with that head only: the most direct signal there
                       is, and the cheapest step, so it isolates what the image side can learn.
  --arch cnn           a control for the image side: a small CNN (conv_control) on the same pixels with the
                       same head objective (--objective shape only): is shape learnable from these images in
                       this many samples at all, by a learner with a convolutional prior?
  --gflops G           stop after G GFLOP of training compute (estimated by train_gflops: matmuls and
                       attention, forward ×3), so runs of different sizes are compared at equal compute
                       rather than equal wall clock on a shared machine.

At scale (a GPU; training/probe_gpu.sh runs the set):
  --pool DIR --pool-images N [--workers W --pool-seconds S]   render train scenes 0…N−1 (and --val val scenes)
                       once into DIR with W processes (pixel_sail.easy_pool), then train one pass over them in
                       order; read-outs at 1k, 2k, 4k, … images and at the end. Objectives shape, lm (the
                       shape_text sequences only) and lm+shape; --arch cnn as above.
  --device cuda        where the model trains (TF32 matmuls on a GPU).

The world is pixel_sail.easy_scenes: one plain object of random colour on a flat background, asked only
about its shape (an open question, and a referring expression naming its shape or another one). Training
scenes come from the train stream (seed 1, so none is a scene of the main runs' data stream); the read-outs
are scored on easy scenes drawn from the validation stream (VAL_SEED, first --val indices), teacher-forced:
  shape      the shape word of "What shape is the object in this image?" → "It is a <shape>.", argmax over
             the 8 shape tokens (teacher-forced up to it);
  no-target  the first answer token of "Please segment the <shape> …", "No" against the target answers.
  shape_head the linear shape head's argmax on the same scenes (objectives with a head).
The model has the shipped model's size and tokenizer (or --init's weights); by default the language-model
loss only (masks are not needed to know a shape), AdamW, a short warm-up then constant lr. Logs
OUT/log.jsonl, each row with the sequences and the estimated GFLOP spent so far.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402

from pixel_sail.config import PixelSailConfig  # noqa: E402
from pixel_sail import easy_pool  # noqa: E402
from pixel_sail.data import SequenceBuilder, collate  # noqa: E402
from pixel_sail.easy_scenes import easy_samples  # noqa: E402
from pixel_sail.losses import lm_loss  # noqa: E402
from pixel_sail.model import PixelSail, position_ids_for  # noqa: E402
from pixel_sail.prompts import NO_TARGET_ANSWER, SEGMENT_ANSWERS  # noqa: E402
from pixel_sail.scenes import SHAPES  # noqa: E402
from pixel_sail.streams import VAL_SEED, scene_rng  # noqa: E402
from pixel_sail.tokenizer import Tokenizer  # noqa: E402


def first_tokens(tok: Tokenizer, texts) -> list:
    return [tok.encode(t)[0] for t in texts]


def probe_config(base: PixelSailConfig, size=None, hidden=None, layers=None, intermediate=None, heads=None) -> PixelSailConfig:
    """The base config with the probe's input size, width and depth (patch size unchanged)."""
    changes = {k: v for k, v in dict(max_long_side=size, hidden_size=hidden, num_hidden_layers=layers,
                                     intermediate_size=intermediate, num_attention_heads=heads).items() if v}
    return dataclasses.replace(base, **changes)


def train_gflops(cfg: PixelSailConfig, seq_len: int, batch: int = 1, image_only: bool = False) -> float:
    """Estimated training GFLOP of one batch: 2·(weights touched per token) + attention (QKᵀ and AV over the
    full padded length, as the dense mask is computed), forward ×3 for forward + backward."""
    h, kv = cfg.hidden_size, cfg.num_key_value_heads * cfg.head_dim
    per_layer = h * h * 2 + h * kv * 2 + 3 * h * cfg.intermediate_size
    per_token = 2 * per_layer * cfg.num_hidden_layers + 4 * seq_len * h * cfg.num_hidden_layers
    if not image_only:
        per_token += 2 * h * cfg.vocab_size
    n = (cfg.max_long_side // cfg.patch_size) ** 2
    patches = 2 * n * 3 * cfg.patch_size ** 2 * h
    return 3 * batch * (per_token * seq_len + patches) / 1e9


def image_batch(cfg: PixelSailConfig, patches: torch.Tensor) -> dict:
    """The image block alone ([B, N, 3p²] patches → <vision> patches </vision>), bidirectional, no prompts."""
    b, n = patches.shape[0], patches.shape[1]
    g = int(round(n ** 0.5))
    ids = torch.tensor([cfg.token_id("<vision>")] + [cfg.token_id("<vpatch>")] * n + [cfg.token_id("</vision>")])
    vpi = torch.tensor([-1] + list(range(n)) + [-1])
    vti = torch.tensor([-1] + [-2] * n + [-1])
    return {"input_ids": ids.expand(b, -1), "vision_patch_indices": vpi.expand(b, -1),
            "vp_token_indices": vti.expand(b, -1), "vision_patches": patches,
            "position_ids": position_ids_for(n + 2, g, g).expand(3, b, n + 2),
            "attention_mask": torch.zeros(b, 1, n + 2, n + 2)}


def pooled_patches(hidden: torch.Tensor, n: int) -> torch.Tensor:
    """Mean of the patch tokens (positions 1..n; the image block comes first in every sequence)."""
    return hidden[:, 1:n + 1].mean(1)


def unpatchify(patches: torch.Tensor, patch: int) -> torch.Tensor:
    """[B, N, 3p²] (pixel_sail.preprocess.patchify's layout) → [B, 3, H, W]."""
    b, n, _ = patches.shape
    g = int(round(n ** 0.5))
    return patches.view(b, g, g, 3, patch, patch).permute(0, 3, 1, 4, 2, 5).reshape(b, 3, g * patch, g * patch)


CNN_CHANNELS = (3, 32, 64, 64, 128, 128)


class ConvControl(torch.nn.Module):
    """Five stride-2 3×3 convolutions with batch norm and ReLU, a global mean and a linear 8-way shape head.
    (Without the batch norm it collapsed to the uniform answer: loss ln 8 for 150 steps.)"""

    def __init__(self, classes: int = 8) -> None:
        super().__init__()
        layers = []
        for cin, cout in zip(CNN_CHANNELS, CNN_CHANNELS[1:]):
            layers += [torch.nn.Conv2d(cin, cout, 3, stride=2, padding=1, bias=False), torch.nn.BatchNorm2d(cout),
                       torch.nn.ReLU()]
        self.body = torch.nn.Sequential(*layers)
        self.head = torch.nn.Linear(CNN_CHANNELS[-1], classes)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(image).mean((2, 3)))


def cnn_gflops(size: int, batch: int = 1) -> float:
    """Training GFLOP of ConvControl (its convolutions' multiply-adds ×2, forward ×3)."""
    total, side = 0, size
    for cin, cout in zip(CNN_CHANNELS, CNN_CHANNELS[1:]):
        side = (side + 1) // 2
        total += 2 * cin * cout * 9 * side * side
    return 3 * batch * total / 1e9


def forward(model, batch):
    emb = model.embed(batch["input_ids"], batch["vision_patches"], batch["vision_patch_indices"], batch["vp_token_indices"])
    hidden, logits, _ = model.decode(emb, batch["attention_mask"], batch["position_ids"])
    return hidden, logits


def shape_logits(model, head, batch) -> torch.Tensor:
    """The shape head's logits for an image batch (or a full-sequence batch: the image block comes first)."""
    if isinstance(model, ConvControl):
        return model(unpatchify(batch["vision_patches"], 16))
    hidden, _ = forward(model, batch)
    return head(pooled_patches(hidden, batch["vision_patches"].shape[1]))


def readouts(model, batches, shape_ids, pos_ids, no_id, head=None, image_batches=None) -> dict:
    """Teacher-forced accuracies over the prepared validation batches (and the shape head's, given one:
    a linear head on pooled patch tokens, or a ConvControl as the model with no head)."""
    model.eval()
    hits = {"shape": [], "no_target": []}
    if head is not None or isinstance(model, ConvControl):
        hits["shape_head"] = []
        with torch.no_grad():
            for batch, truth in image_batches:
                hits["shape_head"] += (shape_logits(model, head, batch).argmax(1) == truth).tolist()
    if batches is None:  # image-only objective: no text was ever trained
        hits.pop("shape"), hits.pop("no_target")
    with torch.no_grad():
        for kind, batch, truth in batches or []:
            _, logits = forward(model, batch)
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


def adamw(params, lr: float) -> torch.optim.Optimizer:
    """AdamW with weight decay on matrices only, as every probe trains."""
    return torch.optim.AdamW([{"params": [p for p in params if p.dim() >= 2], "weight_decay": 0.05},
                              {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}], lr=lr)


def jsonl_recorder(out: str):
    """A function that appends a row to OUT/log.jsonl (flushed at once) and prints it."""
    os.makedirs(out, exist_ok=True)
    log = open(os.path.join(out, "log.jsonl"), "a")

    def record(rec):
        log.write(json.dumps(rec) + "\n")
        log.flush()
        print(json.dumps(rec), flush=True)
    return record


def parse_args(argv=None):


    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--tokenizer-from", default=os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "training", "checkpoints", "default.pt"),
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
    ap.add_argument("--size", type=int, help="input side in px (default: the checkpoint's); patch stays 16")
    ap.add_argument("--hidden", type=int)
    ap.add_argument("--layers", type=int)
    ap.add_argument("--intermediate", type=int)
    ap.add_argument("--heads", type=int)
    ap.add_argument("--objective", choices=["lm", "lm+shape", "shape"], default="lm")
    ap.add_argument("--shape-weight", type=float, default=1.0)
    ap.add_argument("--arch", choices=["transformer", "cnn"], default="transformer")
    ap.add_argument("--gflops", type=float, default=float("inf"), help="stop after this much estimated training compute")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--pool", help="directory of pre-rendered scenes (made if missing): one pass over --pool-images")
    ap.add_argument("--pool-images", type=int, default=100000)
    ap.add_argument("--pool-seconds", type=float, default=float("inf"), help="stop rendering after this long (a prefix)")
    ap.add_argument("--workers", type=int, default=max(1, (os.cpu_count() or 2) - 1))
    args = ap.parse_args(argv)
    changed = any(v for v in (args.size, args.hidden, args.layers, args.intermediate, args.heads))
    if args.init and changed:
        ap.error("--init keeps the checkpoint's size: drop --size/--hidden/--layers/--intermediate/--heads")
    if args.arch == "cnn" and (args.objective != "shape" or args.init):
        ap.error("--arch cnn is a control for --objective shape from scratch")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    torch.manual_seed(args.seed)
    ck = torch.load(args.tokenizer_from, map_location="cpu")
    cfg = probe_config(PixelSailConfig.from_dict(ck["config"]), args.size, args.hidden, args.layers, args.intermediate, args.heads)
    tok = Tokenizer(ck["tokenizer"])
    model = PixelSail(cfg) if args.arch == "transformer" else ConvControl(len(SHAPES))
    head = torch.nn.Linear(cfg.hidden_size, len(SHAPES)) if args.objective != "lm" and args.arch == "transformer" else None
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
    if args.pool:
        return run_pool(args, cfg, model, head, builder, pad, shape_ids_t)

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
    items = val["shape_text"]
    image_batches = [(image_batch(cfg, torch.from_numpy(np.stack([s.patches for s, _ in items[k:k + 25]]))),
                      torch.tensor([t for _, t in items[k:k + 25]])) for k in range(0, len(items), 25)]
    if args.objective == "shape":
        batches = None  # the text read-outs mean nothing for a model that never saw text

    params = list(model.parameters()) + (list(head.parameters()) if head is not None else [])
    opt = adamw(params, args.lr)
    record = jsonl_recorder(args.out)

    def read():
        return readouts(model, batches, shape_ids_t, pos_ids, no_id, head, image_batches)

    t0 = time.time()
    record({"step": 0, "samples": 0, "gflops": 0.0, "minutes": 0.0, **read(),
            "init": args.tokenizer_from if args.init else "fresh", "objective": args.objective,
            "config": {k: getattr(cfg, k) for k in ("max_long_side", "hidden_size", "num_hidden_layers",
                                                     "intermediate_size", "num_attention_heads")},
            "arch": args.arch, "params": sum(p.numel() for p in (model.single_transformer if args.arch == "transformer" else model).parameters())})
    step, samples, scene, window, gflops = 0, 0, 0, [], 0.0
    pending = {"shape_text": [], "shape_res": []}
    while step < args.max_steps and time.time() - t0 < args.minutes * 60 and gflops < args.gflops:
        while min(len(v) for v in pending.values()) < args.batch:
            pair = easy_samples(scene_rng("train", args.seed, scene), builder, cfg.max_long_side)
            truth = shape_ids.index(next(l for l in pair[0].labels if l in shape_ids))  # the object's shape
            for s in pair:
                pending[s.kind].append((s, truth))
            scene += 1
        kind = "shape_text" if step % 2 == 0 or args.objective == "shape" else "shape_res"
        chunk, pending[kind] = pending[kind][:args.batch], pending[kind][args.batch:]
        truth = torch.tensor([t for _, t in chunk])
        chunk = [s for s, _ in chunk]
        if args.objective == "shape":
            pending["shape_res"] = pending["shape_res"][args.batch:]  # unused; keeps the queue short
            batch = image_batch(cfg, torch.from_numpy(np.stack([s.patches for s in chunk])))
        else:
            batch = collate(chunk, cfg, pad)
        lr = args.lr * min(1.0, (step + 1) / args.warmup)
        for g in opt.param_groups:
            g["lr"] = lr
        loss = torch.zeros(())
        if args.arch == "cnn":
            loss = torch.nn.functional.cross_entropy(shape_logits(model, None, batch), truth)
        else:
            hidden, logits = forward(model, batch)
            if args.objective != "shape":
                # Full LM weight on both kinds: the question here is only whether shape is learnt.
                loss = lm_loss(logits, batch["labels"], torch.zeros_like(batch["has_masks"]))
            if head is not None:
                pooled = pooled_patches(hidden, batch["vision_patches"].shape[1])
                loss = loss + args.shape_weight * torch.nn.functional.cross_entropy(head(pooled), truth)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        step += 1
        samples += len(chunk)
        gflops += (cnn_gflops(cfg.max_long_side, len(chunk)) if args.arch == "cnn" else
                   train_gflops(cfg, batch["input_ids"].shape[1], len(chunk), image_only=args.objective == "shape"))
        window.append(float(loss))
        if step % args.eval_every == 0:
            record({"step": step, "samples": samples, "gflops": round(gflops, 1), "minutes": round((time.time() - t0) / 60, 2),
                    "loss": round(float(np.mean(window)), 4), **read()})
            window = []
    if step % args.eval_every:
        record({"step": step, "samples": samples, "gflops": round(gflops, 1), "minutes": round((time.time() - t0) / 60, 2),
                "loss": round(float(np.mean(window)), 4) if window else None, **read()})
    return 0


def run_pool(args, cfg, model, head, builder, pad, shape_ids_t) -> int:
    """One pass over a pre-rendered pool, on --device; read-outs on the pool's validation scenes at 1k, 2k, 4k …
    images seen. The shape read-out is the head's (shape, cnn), the shape token's (lm), or both (lm+shape)."""
    size = cfg.max_long_side
    # Rendering forks worker processes, so it comes before anything touches the GPU.
    train_img, train_lab, train_meta = easy_pool.render_pool(os.path.join(args.pool, f"train-{args.seed}-{size}"), "train",
                                                             args.seed, args.pool_images, size, args.workers, args.pool_seconds)
    val_img, val_lab, val_meta = easy_pool.render_pool(os.path.join(args.pool, f"val-{VAL_SEED}-{size}"), "val", VAL_SEED,
                                                       args.val, size, args.workers)
    dev = torch.device(args.device)
    if dev.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    model.to(dev)
    if head is not None:
        head.to(dev)
    params = list(model.parameters()) + (list(head.parameters()) if head is not None else [])
    opt = adamw(params, args.lr)
    n_patches = (size // cfg.patch_size) ** 2
    lm = args.objective in ("lm", "lm+shape")
    templates = easy_pool.ShapeTextTemplates(builder, cfg, pad, n_patches, dev) if lm else None
    shape_ids = shape_ids_t.to(dev)

    def batch_of(images, labels):
        patches = easy_pool.patches_from_images(torch.from_numpy(np.array(images)).to(dev), cfg.patch_size)
        labels = torch.from_numpy(np.asarray(labels)).to(dev)
        if lm:
            return templates.batch(labels, patches), labels
        return {k: v.to(dev) for k, v in image_batch(cfg, patches).items()}, labels

    def read():
        model.eval()
        hits = {"shape_head": []} if head is not None or args.arch == "cnn" else {}
        if lm:
            hits["shape"] = []
        with torch.no_grad():
            for k in range(0, len(val_lab), 250):
                batch, truth = batch_of(val_img[k:k + 250], val_lab[k:k + 250])
                if "shape_head" in hits:
                    hits["shape_head"] += (shape_logits(model, head, batch).argmax(1) == truth).tolist()
                if lm:
                    _, logits = forward(model, batch)
                    at = torch.isin(batch["labels"], shape_ids).float().argmax(1)
                    rows = logits[torch.arange(len(at), device=dev), at - 1]
                    hits["shape"] += (rows[:, shape_ids].argmax(1) == truth).tolist()
        model.train()
        return {k: round(float(np.mean(v)), 4) for k, v in hits.items()}

    record = jsonl_recorder(args.out)
    record({"step": 0, "samples": 0, "gflops": 0.0, "minutes": 0.0, **read(), "init": "fresh", "objective": args.objective,
            "arch": args.arch, "batch": args.batch, "lr": args.lr, "device": str(dev),
            "device_name": torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu",
            "config": {k: getattr(cfg, k) for k in ("max_long_side", "hidden_size", "num_hidden_layers",
                                                     "intermediate_size", "num_attention_heads")},
            "params": sum(p.numel() for p in (model.single_transformer if args.arch == "transformer" else model).parameters()),
            "train_pool": train_meta, "val_pool": {**val_meta, "count": int(len(val_lab))}})
    t0 = time.time()
    step, samples, gflops, window, next_read = 0, 0, 0.0, [], 1000
    total = len(train_lab)
    while samples + args.batch <= total and step < args.max_steps and time.time() - t0 < args.minutes * 60 and gflops < args.gflops:
        batch, truth = batch_of(train_img[samples:samples + args.batch], train_lab[samples:samples + args.batch])
        for g in opt.param_groups:
            g["lr"] = args.lr * min(1.0, (step + 1) / args.warmup)
        loss = torch.zeros((), device=dev)
        if args.arch == "cnn":
            loss = torch.nn.functional.cross_entropy(shape_logits(model, None, batch), truth)
        else:
            hidden, logits = forward(model, batch)
            if lm:
                loss = lm_loss(logits, batch["labels"], torch.zeros(len(truth), dtype=torch.bool, device=dev))
            if head is not None:
                loss = loss + args.shape_weight * torch.nn.functional.cross_entropy(head(pooled_patches(hidden, n_patches)), truth)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        step += 1
        samples += args.batch
        gflops += (cnn_gflops(size, args.batch) if args.arch == "cnn" else
                   train_gflops(cfg, batch["input_ids"].shape[1], args.batch, image_only=not lm))
        window.append(loss.detach())
        if samples >= next_read:
            next_read *= 2
            record({"step": step, "samples": samples, "gflops": round(gflops, 1), "minutes": round((time.time() - t0) / 60, 3),
                    "loss": round(float(torch.stack(window).mean()), 4), **read()})
            window = []
    if window:
        record({"step": step, "samples": samples, "gflops": round(gflops, 1), "minutes": round((time.time() - t0) / 60, 3),
                "loss": round(float(torch.stack(window).mean()), 4), **read(), "end": True})
    return 0


if __name__ == "__main__":
    sys.exit(main())
