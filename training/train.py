#!/usr/bin/env python3
"""Train a small Pixel-SAIL on generated scenes (co-training of every task the product serves).

  python3 training/train.py --out training/runs/default --minutes 110            # CPU, resumable
  python3 training/train.py --out training/runs/default --minutes 30 --resume    # continue where it stopped

The paper's three techniques are switches, so their effect can be measured:
  --upsampler {learned,bilinear}   learnable upsampler vs bilinearly upsampled patch features
  --no-prompt-injection            drop the visual-prompt embedding (regions invisible to the model)
  --distill DIR                    vision-expert distillation from cached teacher maps (training/distill_cache.py)

Not from the paper, off by default: --attribute-aux W asks patch tokens (a middle layer and the last) to
predict each pixel's shape and pattern class from the generator's labels (losses.AttributeHead).

Training scenes come from the generator's *train* stream (the same seeds as generate.py --split train), so
no evaluation scene (val/test streams) is ever seen. Progress goes to OUT/log.jsonl; checkpoints to
OUT/checkpoint.pt (atomic), with the data position and RNG state, so a resumed run continues exactly.
Uses a CUDA GPU when one is present.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
import signal
import sys
import time
from typing import Iterator, List

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from pixel_sail.config import PixelSailConfig  # noqa: E402
from pixel_sail.data import ATTRIBUTE_CLASSES, SequenceBuilder, collate, scene_samples  # noqa: E402
from pixel_sail.easy_scenes import easy_samples  # noqa: E402
from pixel_sail.photo_samples import load_photo_pool, photo_prompt_sample  # noqa: E402
from pixel_sail.losses import AttributeHead, DistillationHead, lm_loss, mask_loss  # noqa: E402
from pixel_sail.model import PixelSail  # noqa: E402
from pixel_sail.tokenizer import Tokenizer, special_token_ids, tokenizer_json, train_bpe  # noqa: E402

from pixel_sail.streams import EASY_OFFSET, TOKENIZER_OFFSET  # noqa: E402
from pixel_sail.streams import scene_rng as _stream_rng  # noqa: E402


PHOTO_TARGETS = os.path.join(HERE, "cache", "photo_targets", "train.json")
PHOTO_RNG_TAG = 190003  # the real-photo prompts' own generator: never a scene stream


def scene_rng(seed: int, index: int) -> np.random.Generator:
    """Scene ``index`` of the *train* stream (pixel_sail.streams), the only stream training reads."""
    return _stream_rng("train", seed, index)


class _RecordingTokenizer:
    """Stands in for the tokenizer while collecting the text the sequences are made of."""

    def __init__(self):
        self.texts: List[str] = []

    def encode(self, text: str) -> List[int]:
        self.texts.append(text)
        return [0]


def build_tokenizer(seed: int, vocab_size: int, scenes: int = 1500) -> dict:
    from pixel_sail.prompts import base_corpus

    rec = _RecordingTokenizer()
    cfg = PixelSailConfig(token_ids={f"<Prompt{k}>": k for k in range(15)}, max_long_side=96)
    builder = SequenceBuilder(rec, cfg)  # type: ignore[arg-type]
    for i in range(scenes):
        # A stream of its own (index offset) so tokenizer scenes are not the first training scenes.
        scene_samples(scene_rng(seed, TOKENIZER_OFFSET + i), builder, 96)
    vocab, merges = train_bpe(base_corpus() + rec.texts, vocab_size)
    return tokenizer_json(vocab, merges)


def scene_groups(tok_doc: dict, cfg: PixelSailConfig, seed: int, start: int, size: int, prompt_injection: bool,
                 scenes_per_group: int, easy_per_group: int = 0, photo_per_group: int = 0,
                 photo_targets: str = PHOTO_TARGETS) -> Iterator:
    """Consecutive groups of scenes, each turned into one batch per sequence kind (kinds differ a lot in
    length, so one kind per batch keeps padding low). A group is the unit of resumption: training
    checkpoints between groups, so a resumed run sees exactly the batches an uninterrupted run would."""
    builder = SequenceBuilder(Tokenizer(tok_doc), cfg)
    photo_pool = load_photo_targets(photo_targets) if photo_per_group else []
    i = start
    while True:
        kinds: dict = {}
        for j in range(i, i + scenes_per_group):
            for s in scene_samples(scene_rng(seed, j), builder, size, prompt_injection, image_index=j):
                kinds.setdefault(s.kind, []).append(s)
        # Easy scenes come from the train stream at EASY_OFFSET, a block of easy_per_group per group: the group
        # (and so the resumption point) stays one range of generator scenes.
        for t in range(easy_per_group):
            j = EASY_OFFSET + (i // scenes_per_group) * easy_per_group + t
            for s in easy_samples(scene_rng(seed, j), builder, size, image_index=j):
                kinds.setdefault(s.kind, []).append(s)
        # Real-photo prompts (--photo-prompts): targets and prompts drawn from a generator of their own, fixed by
        # the group, so resumption stays exact and the generated scenes are the same as without them.
        photo_rng = np.random.default_rng([seed, PHOTO_RNG_TAG, i // scenes_per_group])
        for _ in range(photo_per_group):
            rgb, m = photo_pool[int(photo_rng.integers(len(photo_pool)))]
            kinds.setdefault("photo_prompt", []).append(photo_prompt_sample(rgb, m, builder, size, photo_rng))
        i += scenes_per_group
        yield i, [kinds[k] for k in ("res", "region_text", "region_seg", "shape_text", "shape_res", "photo_prompt") if k in kinds]


def load_photo_targets(train_file: str) -> list:
    """The real-photo train targets (training/photo_targets.py make --split train), checked against the split."""
    if not os.path.exists(train_file):
        raise SystemExit(f"--photo-prompts: {train_file} is missing; run python3 training/real_photos.py fetch, then "
                         "python3 training/photo_targets.py make --split train")
    with open(os.path.join(HERE, "data", "real_photo_scenes.json"), encoding="utf-8") as fh:
        split_doc = json.load(fh)
    root = os.path.join(os.environ.get("PIXEL_SAIL_PHOTOS") or os.path.join(os.path.expanduser("~"), ".cache", "pixel-sail", "photos"), "tree")
    pool = load_photo_pool(train_file, split_doc, root)
    if not pool:
        raise SystemExit(f"--photo-prompts: {train_file} holds no targets")
    return pool


class GroupStream(torch.utils.data.IterableDataset):
    def __init__(self, *args):
        self.args = args

    def __iter__(self) -> Iterator:
        return scene_groups(*self.args)


def distill_loss(model: PixelSail, head: DistillationHead, patches: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    """Image-only forward of pool images (the image block, bidirectional) → upsampled pixel features →
    linear adapter → MSE against the cached teacher maps, weighted 0.5 (the paper's recipe)."""
    from pixel_sail.model import attention_mask_for, position_ids_for

    cfg = model.config
    b, n = patches.shape[0], patches.shape[1]
    g = int(round(n ** 0.5))
    block = n + 2
    ids = torch.tensor([cfg.token_id("<vision>")] + [cfg.token_id("<vpatch>")] * n + [cfg.token_id("</vision>")], device=patches.device)
    vpi = torch.tensor([-1] + list(range(n)) + [-1], device=patches.device)
    vti = torch.tensor([-1] + [-2] * n + [-1], device=patches.device)
    embeds = model.embed(ids.expand(b, -1), patches, vpi.expand(b, -1), vti.expand(b, -1))
    hidden, _, _ = model.decode(embeds, attention_mask_for(block, 0, block).to(patches.device),
                                position_ids_for(block, g, g).expand(3, b, block).to(patches.device))
    pixel = model.upsample(hidden[:, 1:n + 1].reshape(b, g, g, -1))
    return head(pixel, teacher)


def attribute_layer(cfg: PixelSailConfig) -> int:
    """The middle layer whose output the attribute loss also reads: two thirds of the way up."""
    return max(0, (2 * cfg.num_hidden_layers) // 3 - 1)


def forward_losses(model: PixelSail, batch: dict, num_points: int, attribute_heads=None) -> dict:
    cfg = model.config
    captured = {}
    hook = None
    if attribute_heads is not None:
        layer = model.single_transformer.model.layers[attribute_layer(cfg)]
        hook = layer.register_forward_hook(lambda _m, _i, out: captured.__setitem__("mid", out[0]))
    embeds = model.embed(batch["input_ids"], batch["vision_patches"], batch["vision_patch_indices"], batch["vp_token_indices"])
    try:
        hidden, logits, _ = model.decode(embeds, batch["attention_mask"], batch["position_ids"])
    finally:
        if hook is not None:
            hook.remove()
    losses = {"lm": lm_loss(logits, batch["labels"], batch["has_masks"])}
    gh, gw = batch["grid"]
    n = gh * gw
    if attribute_heads is not None and batch["attributes"] is not None:  # easy scenes and photos have no attribute maps
        targets = batch["attributes"]
        losses["attr"] = (attribute_heads["mid"](captured["mid"][:, 1:n + 1], targets)
                          + attribute_heads["last"](hidden[:, 1:n + 1], targets))
    vision = hidden[:, 1:n + 1].reshape(hidden.shape[0], gh, gw, -1)
    with_masks = [b for b, m in enumerate(batch["masks"]) if m is not None]
    seg_id = cfg.token_id("[SEG]")
    mask_terms, dice_terms, count = [], [], 0
    if with_masks:
        pixel = model.upsample(vision[with_masks])
        for j, b in enumerate(with_masks):
            rows = (batch["input_ids"][b] == seg_id).nonzero().flatten()
            gt = batch["masks"][b]
            if len(rows) != len(gt):
                continue  # as the reference: a sample whose [SEG] count differs contributes no mask loss
            pred = model.mask_logits(model.project_seg(hidden[b, rows]), pixel[j])
            out = mask_loss(pred, gt, num_points=num_points)
            mask_terms.append(out["loss_mask"] * len(gt))
            dice_terms.append(out["loss_dice"] * len(gt))
            count += len(gt)
    zero = hidden.sum() * 0.0
    losses["mask"] = torch.stack(mask_terms).sum() / count if count else zero
    losses["dice"] = torch.stack(dice_terms).sum() / count if count else zero
    return losses


def lr_at(step: int, total: int, base: float, warmup_frac: float = 0.05, floor: float = 0.05, warmup_steps: int = None) -> float:
    warm = max(1, int(total * warmup_frac) if warmup_steps is None else warmup_steps)
    if step < warm:
        return base * (1e-3 + (1 - 1e-3) * step / warm)
    t = min(1.0, (step - warm) / max(1, total - warm))
    return base * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * t)))


def save_atomic(obj, path: str) -> None:
    tmp = f"{path}.tmp-{os.getpid()}"
    torch.save(obj, tmp)
    os.replace(tmp, path)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    ap.add_argument("--add-steps", type=int, default=0,
                    help="with --resume after a finished schedule: a further warm-up + cosine phase of this many steps at half the peak lr")
    ap.add_argument("--minutes", type=float, default=None, help="stop after this much wall time (resumable)")
    ap.add_argument("--total-steps", type=int, default=6000, help="length of the schedule (warm-up + cosine)")
    ap.add_argument("--batch", type=int, default=12, help="sequences per step")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--warmup-steps", type=int, default=None,
                    help="linear warm-up length in steps (default 5 %% of --total-steps); long-run segments use a short one")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--size", type=int, default=192, help="model input side (max_long_side)")
    ap.add_argument("--hidden", type=int, default=192)
    ap.add_argument("--layers", type=int, default=6)
    ap.add_argument("--heads", type=int, default=6)
    ap.add_argument("--kv-heads", type=int, default=2)
    ap.add_argument("--intermediate", type=int, default=512)
    ap.add_argument("--upsampler-channels", type=int, default=48)
    ap.add_argument("--seg-dim", type=int, default=64)
    ap.add_argument("--vocab", type=int, default=1024)
    ap.add_argument("--tokenizer-scenes", type=int, default=1500, help="scenes whose text trains the BPE merges")
    ap.add_argument("--points", type=int, default=4096, help="sampled points per mask for the mask losses")
    ap.add_argument("--dense-masks", action="store_true",
                    help="mask losses on every pixel of the prediction grid instead of uncertainty-sampled points")
    ap.add_argument("--init", help="start from this checkpoint's weights and tokenizer with a new schedule and recipe "
                                   "(a second training phase); data continues after the scenes it has seen")
    ap.add_argument("--mask-repeats", type=int, default=1,
                    help="optimizer steps per group on each mask-carrying batch (res, region_seg); >1 weights masks up")
    ap.add_argument("--upsampler", choices=["learned", "bilinear"], default="learned")
    ap.add_argument("--no-prompt-injection", action="store_true")
    ap.add_argument("--distill", help="teacher cache directory written by training/distill_cache.py")
    ap.add_argument("--distill-batch", type=int, default=4, help="pool images per step for the distillation loss")
    ap.add_argument("--easy-shape", type=int, default=0,
                    help="easy shape scenes (pixel_sail.easy_scenes: one plain object, shape-only questions and "
                         "expressions) added to every group of --batch generator scenes (0 = off)")
    ap.add_argument("--photo-prompts", type=int, default=0,
                    help="real-photo box/click/scribble → mask sequences (pixel_sail.photo_samples, on the train targets "
                         "of training/photo_targets.py) added to every group (0 = off)")
    ap.add_argument("--photo-targets", default=PHOTO_TARGETS, help="the train targets file --photo-prompts reads")
    ap.add_argument("--attribute-aux", type=float, default=0.0,
                    help="weight of the dense shape/pattern supervision of patch tokens (0 = off; not in the paper)")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--checkpoint-minutes", type=float, default=5.0)
    args = ap.parse_args(argv)
    if args.init and not os.path.isfile(args.init):
        ap.error(f"--init: no checkpoint at {args.init}")
    for name in ("total_steps", "batch", "size", "hidden", "layers", "vocab", "points", "tokenizer_scenes", "mask_repeats"):
        if getattr(args, name) <= 0:
            ap.error(f"--{name.replace('_', '-')} must be positive")
    if args.attribute_aux < 0:
        ap.error("--attribute-aux must be 0 (off) or positive")
    if args.size % 16:
        ap.error("--size must be a multiple of 16")
    if args.photo_prompts < 0:
        ap.error("--photo-prompts must be 0 (off) or positive")
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    os.makedirs(args.out, exist_ok=True)
    ckpt_path = os.path.join(args.out, "checkpoint.pt")
    log_path = os.path.join(args.out, "log.jsonl")

    if args.resume:
        if not os.path.exists(ckpt_path):
            ap.error(f"--resume: no checkpoint at {ckpt_path}")
        ckpt = torch.load(ckpt_path, map_location="cpu")
        saved = {"tokenizer_scenes": 1500, "distill_batch": 4, "phase_start": 0, "dense_masks": False, "init": None,
                 "mask_repeats": 1, "attribute_aux": 0.0, "warmup_steps": None, "easy_shape": 0, "photo_prompts": 0, "photo_targets": PHOTO_TARGETS,
                 **ckpt["args"]}
        # The run's recipe is fixed by its first start; only time/threads may change on resume.
        for k in ("minutes", "threads", "resume", "checkpoint_minutes"):
            saved[k] = getattr(args, k)
        add = args.add_steps
        args = argparse.Namespace(**saved)
        if add > 0:
            args.phase_start, args.total_steps, args.lr = ckpt["step"], ckpt["step"] + add, args.lr * 0.5
        args.add_steps = 0
        tok_doc = ckpt["tokenizer"]
        cfg = PixelSailConfig.from_dict(ckpt["config"])
    elif args.init:
        if os.path.exists(ckpt_path):
            ap.error(f"{ckpt_path} exists; pass --resume to continue it or choose another --out")
        init = torch.load(args.init, map_location="cpu")
        tok_doc = init["tokenizer"]
        cfg = PixelSailConfig.from_dict(init["config"])
        if (cfg.upsampler, cfg.prompt_injection) != (args.upsampler, not args.no_prompt_injection):
            ap.error("--init: --upsampler/--no-prompt-injection must match the checkpoint's model")
        ckpt = None
    else:
        if os.path.exists(ckpt_path):
            ap.error(f"{ckpt_path} exists; pass --resume to continue it or choose another --out")
        print("training the tokenizer on generated text…", file=sys.stderr, flush=True)
        tok_doc = build_tokenizer(args.seed, args.vocab, args.tokenizer_scenes)
        tok = Tokenizer(tok_doc)
        cfg = PixelSailConfig(vocab_size=len(tok), token_ids=special_token_ids(tok), hidden_size=args.hidden,
                              intermediate_size=args.intermediate, num_hidden_layers=args.layers,
                              num_attention_heads=args.heads, num_key_value_heads=args.kv_heads,
                              max_long_side=args.size, upsampler_channels=args.upsampler_channels,
                              seg_hidden_states=args.seg_dim, upsampler=args.upsampler,
                              prompt_injection=not args.no_prompt_injection)
        ckpt = None

    torch.manual_seed(args.seed)
    random.seed(args.seed)
    model = PixelSail(cfg).to(device)
    distill = None
    teacher_cache = None
    if args.distill:
        from pixel_sail.teacher_cache import TeacherCache

        teacher_cache = TeacherCache(args.distill)
        if teacher_cache.size != args.size:
            ap.error(f"the distillation pool is {teacher_cache.size} px, the model {args.size} px")
        distill = DistillationHead(cfg.seg_hidden_states, teacher_cache.channels).to(device)
    attribute_heads = None
    if args.attribute_aux > 0:
        counts = {name: len(classes) for name, classes in ATTRIBUTE_CLASSES.items()}
        attribute_heads = torch.nn.ModuleDict({k: AttributeHead(cfg.hidden_size, counts, args.attribute_aux) for k in ("mid", "last")}).to(device)
    params = (list(model.parameters()) + (list(distill.parameters()) if distill else [])
              + (list(attribute_heads.parameters()) if attribute_heads is not None else []))
    decay = [p for p in params if p.dim() >= 2]
    no_decay = [p for p in params if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.999))
    step, scene_index, samples_seen, elapsed_before = 0, 0, 0, 0.0
    if getattr(args, "init", None) and ckpt is None:
        # Weights only: the optimizer, schedule and RNG start afresh; the data stream continues after the scenes
        # the first phase used, so no scene is seen twice.
        model.load_state_dict(init["model"])
        if distill is not None and "distill" in init:
            distill.load_state_dict(init["distill"])
        scene_index = init["scene_index"]
        print(f"initialised from {args.init} (step {init['step']}, next scene {scene_index})", file=sys.stderr, flush=True)
    if ckpt is not None:
        model.load_state_dict(ckpt["model"])
        if distill is not None and "distill" in ckpt:
            distill.load_state_dict(ckpt["distill"])
        if attribute_heads is not None:
            attribute_heads.load_state_dict(ckpt["attribute_heads"])
        opt.load_state_dict(ckpt["optimizer"])
        step, scene_index, samples_seen = ckpt["step"], ckpt["scene_index"], ckpt["samples"]
        elapsed_before = ckpt.get("elapsed_s", 0.0)
        torch.set_rng_state(ckpt["torch_rng"])
        print(f"resumed at step {step} (scene {scene_index}, {elapsed_before / 60:.1f} min so far)", file=sys.stderr, flush=True)

    tok = Tokenizer(tok_doc)
    pad_id = tok.token_to_id("<|endoftext|>")
    stream = GroupStream(tok_doc, cfg, args.seed, scene_index, args.size, not args.no_prompt_injection, args.batch,
                         getattr(args, "easy_shape", 0), getattr(args, "photo_prompts", 0), getattr(args, "photo_targets", PHOTO_TARGETS))
    # Its own generator: creating the loader must not draw from the global RNG (resumed runs stay exact).
    loader = torch.utils.data.DataLoader(stream, batch_size=None, num_workers=1, prefetch_factor=4, generator=torch.Generator().manual_seed(args.seed))
    t_start = time.time()
    last_ckpt = time.time()
    model.train()

    def checkpoint(next_scene: int) -> None:
        save_atomic({"model": model.state_dict(), "optimizer": opt.state_dict(), "config": cfg.to_dict(), "tokenizer": tok_doc,
                     "args": vars(args), "step": step, "scene_index": next_scene, "samples": samples_seen,
                     "elapsed_s": elapsed_before + time.time() - t_start, "torch_rng": torch.get_rng_state(),
                     **({"distill": distill.state_dict()} if distill else {}),
                     **({"attribute_heads": attribute_heads.state_dict()} if attribute_heads is not None else {})}, ckpt_path)

    window = {"lm": 0.0, "mask": 0.0, "dice": 0.0, "distill": 0.0, "attr": 0.0, "n": 0}
    next_scene = scene_index
    stop = False
    # SIGTERM asks for a clean stop: the run finishes its group, saves its checkpoint and exits 0.
    stop_requested = []
    signal.signal(signal.SIGTERM, lambda *_: stop_requested.append(True))
    for group_end, group in loader:
        work = []
        for samples in group:
            work += [samples] * (args.mask_repeats if samples[0].kind not in ("region_text", "shape_text") else 1)
        for samples in work:
            if step >= args.total_steps:
                stop = True
                break
            batch = collate(samples, cfg, pad_id)
            for k in ("input_ids", "labels", "vision_patch_indices", "vp_token_indices", "vision_patches", "position_ids",
                      "attention_mask", "has_masks"):
                batch[k] = batch[k].to(device)
            batch["masks"] = [m.to(device) if m is not None else None for m in batch["masks"]]
            if batch["attributes"] is not None:
                batch["attributes"] = {k: v.to(device) for k, v in batch["attributes"].items()}
            start = getattr(args, "phase_start", 0)
            lr = lr_at(step - start, args.total_steps - start, args.lr, warmup_steps=getattr(args, "warmup_steps", None))
            for g in opt.param_groups:
                g["lr"] = lr
            losses = forward_losses(model, batch, None if args.dense_masks else args.points, attribute_heads)
            if teacher_cache is not None:
                pool_patches, teacher = teacher_cache.sample(args.distill_batch, np.random.default_rng([args.seed, step]))
                losses["distill"] = distill_loss(model, distill, pool_patches.to(device), teacher.to(device))
            total = losses["lm"] + losses["mask"] + losses["dice"] + losses.get("distill", 0.0) + losses.get("attr", 0.0)
            opt.zero_grad(set_to_none=True)
            total.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            step += 1
            samples_seen += len(samples)
            for k in ("lm", "mask", "dice", "distill", "attr"):
                if k in losses:
                    window[k] += float(losses[k])
            window["n"] += 1
            now = time.time()
            if step % 20 == 0 or step == 1:
                n = window["n"]
                rec = {"step": step, "samples": samples_seen, "scenes": group_end, "lr": round(lr, 7),
                       "elapsed_min": round((elapsed_before + now - t_start) / 60, 2),
                       "samples_per_s": round(samples_seen / max(1e-9, elapsed_before + now - t_start), 2),
                       **{k: round(window[k] / n, 4) for k in ("lm", "mask", "dice", "distill", "attr") if window[k]}}
                with open(log_path, "a", encoding="utf-8") as fh:
                    fh.write(json.dumps(rec) + "\n")
                print(json.dumps(rec), file=sys.stderr, flush=True)
                window = {"lm": 0.0, "mask": 0.0, "dice": 0.0, "distill": 0.0, "attr": 0.0, "n": 0}
        if stop:
            break
        # Group boundary: the only place a run checkpoints or stops, so resuming is exact.
        next_scene = group_end
        now = time.time()
        if now - last_ckpt > args.checkpoint_minutes * 60:
            checkpoint(next_scene)
            last_ckpt = now
        if args.minutes is not None and now - t_start > args.minutes * 60:
            break
        if stop_requested:
            print("SIGTERM: stopping at the group boundary", file=sys.stderr, flush=True)
            break
    checkpoint(next_scene)
    print(f"saved {ckpt_path} at step {step}", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
