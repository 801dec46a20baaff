#!/usr/bin/env python3
"""Probe: is an object's shape linearly decodable from the patch tokens after each layer of a model?

  python3 training/probe_linear.py --checkpoint training/checkpoints/default.pt --out training/notes/probe-linear.json

Runs the image block alone (bidirectional, as in the product: text never changes the patch tokens) and reads
the patch tokens after the embedding and after every transformer layer; the raw 16x16 patches (pixels
normalised as the model sees them) are the baseline. Two read-outs per layer, each a multinomial logistic
regression on standardised features:
  object  the tokens of the patches an object covers, averaged with its coverage as weights → its shape
          (8 classes) and, for reference, its colour (12 classes);
  patch   single patches at least 75 % covered by one object → that object's shape.
The read-outs are fitted on train-stream scenes at pixel_sail.streams.PROBE_OFFSET (never training samples;
the L2 strength is chosen on a fifth of them) and scored on the fixed validation split (val stream,
VAL_SEED, the first --val scenes). High accuracy in late layers with low shape MCQ means the answer/[SEG]
path does not use what the image side knows; low accuracy means the image side never learnt shape.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402

from pixel_sail.data import render_scene  # noqa: E402
from pixel_sail.exporting import load_checkpoint  # noqa: E402
from pixel_sail.model import attention_mask_for, position_ids_for  # noqa: E402
from pixel_sail.preprocess import normalize, patchify  # noqa: E402
from pixel_sail.scenes import COLOURS, SHAPES  # noqa: E402
from pixel_sail.streams import PROBE_OFFSET, VAL_SEED, scene_rng  # noqa: E402

COLOUR_NAMES = list(COLOURS)


def image_tokens(model, patches: np.ndarray) -> list:
    """[raw patches, embedding, layer 1 … layer L] for one image, each [N, D] float32."""
    cfg = model.config
    n = patches.shape[0]
    g = int(round(n ** 0.5))
    block = n + 2
    ids = torch.tensor([[cfg.token_id("<vision>")] + [cfg.token_id("<vpatch>")] * n + [cfg.token_id("</vision>")]])
    vpi = torch.tensor([[-1] + list(range(n)) + [-1]])
    vti = torch.tensor([[-1] + [-2] * n + [-1]])
    pt = torch.from_numpy(patches)[None]
    outs = []
    hooks = [layer.register_forward_hook(lambda _m, _i, out: outs.append(out[0][0, 1:n + 1].clone()))
             for layer in model.single_transformer.model.layers]
    try:
        with torch.no_grad():
            emb = model.embed(ids, pt, vpi, vti)
            model.decode(emb, attention_mask_for(block, 0, block), position_ids_for(block, g, g).expand(3, 1, block))
    finally:
        for h in hooks:
            h.remove()
    return [patches.astype(np.float32), emb[0, 1:n + 1].numpy()] + [o.numpy() for o in outs]


def collect(model, split: str, seed: int, start: int, count: int, max_patches_per_scene: int = 12):
    cfg = model.config
    p = cfg.patch_size
    size = cfg.max_long_side
    obj_feats, obj_shape, obj_colour, patch_feats, patch_shape = None, [], [], None, []
    rng_pick = np.random.default_rng(0)
    for i in range(count):
        scene, img, masks = render_scene(scene_rng(split, seed, start + i), size)
        layers = image_tokens(model, patchify(normalize(img), p))
        if obj_feats is None:
            obj_feats = [[] for _ in layers]
            patch_feats = [[] for _ in layers]
        g = size // p
        cov = np.stack([m.reshape(g, p, g, p).mean(axis=(1, 3)).reshape(-1) for m in masks]) if masks else np.zeros((0, g * g))
        for k, obj in enumerate(scene.objects):
            w = cov[k]
            if w.sum() < 0.25:
                continue
            for li, h in enumerate(layers):
                obj_feats[li].append((w[:, None] * h).sum(0) / w.sum())
            obj_shape.append(SHAPES.index(obj.shape))
            obj_colour.append(COLOUR_NAMES.index(obj.colour))
        if len(cov):
            best = cov.argmax(0)
            full = np.nonzero(cov.max(0) >= 0.75)[0]
            if len(full) > max_patches_per_scene:
                full = rng_pick.choice(full, size=max_patches_per_scene, replace=False)
            for j in full:
                for li, h in enumerate(layers):
                    patch_feats[li].append(h[j])
                patch_shape.append(SHAPES.index(scene.objects[best[j]].shape))
    return ([np.stack(f) for f in obj_feats], np.array(obj_shape), np.array(obj_colour),
            [np.stack(f) for f in patch_feats], np.array(patch_shape))


def fit_logistic(x: np.ndarray, y: np.ndarray, classes: int, l2: float, steps: int = 200) -> tuple:
    xt, yt = torch.from_numpy(x).float(), torch.from_numpy(y).long()
    w = torch.zeros(x.shape[1], classes, requires_grad=True)
    b = torch.zeros(classes, requires_grad=True)
    opt = torch.optim.LBFGS([w, b], lr=1.0, max_iter=steps, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(xt @ w + b, yt) + l2 * (w ** 2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return w.detach(), b.detach()


def accuracy(wb, x, y) -> float:
    w, b = wb
    return float(((torch.from_numpy(x).float() @ w + b).argmax(1).numpy() == y).mean())


def probe(x_fit, y_fit, x_val, y_val, classes: int) -> dict:
    mean, std = x_fit.mean(0), x_fit.std(0) + 1e-6
    xf, xv = (x_fit - mean) / std, (x_val - mean) / std
    cut = int(len(xf) * 0.8)
    best = None
    for l2 in (1e-4, 1e-3, 1e-2, 1e-1):
        acc = accuracy(fit_logistic(xf[:cut], y_fit[:cut], classes, l2), xf[cut:], y_fit[cut:])
        if best is None or acc > best[1]:
            best = (l2, acc)
    wb = fit_logistic(xf, y_fit, classes, best[0])
    return {"val_accuracy": round(accuracy(wb, xv, y_val), 4), "fit_accuracy": round(accuracy(wb, xf, y_fit), 4),
            "l2": best[0], "n_fit": int(len(y_fit)), "n_val": int(len(y_val))}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--fit", type=int, default=500, help="train-stream scenes (at PROBE_OFFSET) to fit the read-outs on")
    ap.add_argument("--val", type=int, default=200, help="scenes of the fixed validation split to score on")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    t0 = time.time()
    model, _, _ = load_checkpoint(args.checkpoint)
    fit = collect(model, "train", 0, PROBE_OFFSET, args.fit)
    val = collect(model, "val", VAL_SEED, 0, args.val)
    names = ["raw patches", "embedding"] + [f"layer {i + 1}" for i in range(len(fit[0]) - 2)]
    rows = []
    for li, name in enumerate(names):
        row = {"layer": name,
               "object_shape": probe(fit[0][li], fit[1], val[0][li], val[1], len(SHAPES)),
               "object_colour": probe(fit[0][li], fit[2], val[0][li], val[2], len(COLOUR_NAMES)),
               "patch_shape": probe(fit[3][li], fit[4], val[3][li], val[4], len(SHAPES))}
        rows.append(row)
        print(f"{name:12s} object shape {row['object_shape']['val_accuracy']:.3f}  object colour "
              f"{row['object_colour']['val_accuracy']:.3f}  patch shape {row['patch_shape']['val_accuracy']:.3f}", flush=True)
    majority = float(np.bincount(val[1]).max() / len(val[1]))
    report = {"checkpoint": args.checkpoint, "fit_scenes": f"train stream seed 0, indices {PROBE_OFFSET}..+{args.fit}",
              "val_scenes": f"val stream seed {VAL_SEED}, first {args.val}", "shape_majority_baseline": round(majority, 4),
              "seconds": round(time.time() - t0, 1), "layers": rows}
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as fh:
        json.dump(report, fh, indent=2)
    print(f"majority-class shape baseline {majority:.3f}; {report['seconds']} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
