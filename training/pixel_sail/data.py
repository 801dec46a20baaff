"""Training samples from generated scenes: multi-turn sequences for every task the product serves.

Each scene gives up to three sequences (the image block is shared by the turns of one sequence, as the
reference packs several RefCOCO expressions into one sample):
  A. referring segmentation turns (single, multi-target as one union mask, no-target), no visual prompt;
  B. region captions and multiple-choice questions about prompted regions (no masks, full LM weight);
  C. visual-text RES and "segment this region" turns on prompted regions (masks, LM weight 0.1).
Visual prompts are given as masks, boxes, clicks or scribbles and rasterised the way the engine does
(clicks as disks of half a patch, scribbles as thick polylines), then turned into per-patch slots with
random slot ids per sequence, largest region first.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch
from PIL import Image, ImageDraw

from .config import CHAT_LAYOUT, PixelSailConfig
from .preprocess import NO_PROMPT, normalize, patchify, prompt_slots
from .prompts import (ABSENT_REGION_ANSWER, CAPTION_ANSWER, CAPTION_PROMPT, NO_TARGET_ANSWER, SEGMENT_ANSWERS,
                      SEGMENT_TEMPLATES, mcq_answer, mcq_question)
from .scenes import PATTERNS, SHAPES, Scene, sample_scene, visual_prompt
from .tasks import caption_task, mcq_task, res_tasks, vtres_task
from .tokenizer import Tokenizer

IGNORE = -100
# Per-pixel attribute classes for the optional dense supervision (losses.AttributeHead); 0 is background.
ATTRIBUTE_CLASSES = {"shape": ["background"] + SHAPES, "pattern": ["background"] + PATTERNS}


@dataclass
class Sample:
    input_ids: List[int]
    labels: List[int]
    patches: np.ndarray            # [N, 3p²]
    slots: np.ndarray              # [N] prompt slot per patch (−2 none)
    masks: List[np.ndarray]        # one target per [SEG], at model input resolution
    kind: str                      # "res" | "region_text" | "region_seg"
    image_index: int = 0           # which scene (for distillation lookups)
    attributes: Optional[dict] = None  # name → [N, C] class fractions per patch (shared by a scene's samples)

    @property
    def has_masks(self) -> bool:
        return len(self.masks) > 0


def render_scene(rng: np.random.Generator, size: int, supersample: int = 2) -> Tuple[Scene, np.ndarray, List[np.ndarray]]:
    """A scene drawn at ``supersample``× and reduced to ``size`` (antialiased like a resized photo).
    Returns the scene (objects carry full-resolution masks), the RGB image and masks at ``size``."""
    big = size * supersample
    scene = sample_scene(rng, big, big)
    img = np.asarray(Image.fromarray(scene.image).resize((size, size), Image.BILINEAR))
    masks = []
    for obj in scene.objects:
        m = obj.mask.reshape(size, supersample, size, supersample).mean(axis=(1, 3)) >= 0.5
        masks.append(m)
    return scene, img, masks


def patch_attributes(scene: Scene, masks: List[np.ndarray], patch: int) -> dict:
    """For each attribute, the fraction of every patch each class covers ([N, C], rows sum to 1), from the
    visible masks at model resolution. Draws nothing from the scene's RNG, so the data stream is unchanged."""
    h, w = masks[0].shape if masks else (0, 0)
    out = {}
    for name, classes in ATTRIBUTE_CLASSES.items():
        label = np.zeros((h, w), dtype=np.int64)
        for obj, m in zip(scene.objects, masks):
            label[m] = classes.index(getattr(obj, name))
        onehot = np.eye(len(classes), dtype=np.float32)[label]  # [h, w, C]
        gh, gw = h // patch, w // patch
        out[name] = onehot.reshape(gh, patch, gw, patch, -1).mean(axis=(1, 3)).reshape(gh * gw, -1)
    return out


def rasterize_prompt(vp: dict, mask: np.ndarray, scale: float, patch: int) -> np.ndarray:
    """A visual prompt (generator format, in scene pixels) → binary mask at model resolution."""
    h, w = mask.shape
    if vp["kind"] == "mask":
        return mask
    out = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(out)
    if vp["kind"] == "box":
        x, y, bw, bh = [v * scale for v in vp["bbox"]]
        draw.rectangle([x, y, x + bw - 1, y + bh - 1], fill=255)
    elif vp["kind"] == "points":
        r = patch / 2
        for x, y, positive in vp["points"]:
            if positive:
                draw.ellipse([x * scale - r, y * scale - r, x * scale + r, y * scale + r], fill=255)
    elif vp["kind"] == "scribble":
        width = max(1.0, vp["width"] * scale)
        pts = [(x * scale, y * scale) for x, y in vp["points"]]
        if len(pts) == 1:
            pts = pts * 2
        draw.line(pts, fill=255, width=int(round(width)))
        r = width / 2
        for x, y in pts:
            draw.ellipse([x - r, y - r, x + r, y + r], fill=255)
    m = np.asarray(out) > 0
    return m if m.any() else mask


class SequenceBuilder:
    def __init__(self, tok: Tokenizer, cfg: PixelSailConfig) -> None:
        self.tok = tok
        self.cfg = cfg
        self.endoftext = tok.encode(CHAT_LAYOUT["answer_suffix"])

    def turns(self, pairs: Sequence[Tuple[str, str]]) -> Tuple[List[int], List[int]]:
        ids: List[int] = []
        labels: List[int] = []
        for prompt, answer in pairs:
            q = self.tok.encode(CHAT_LAYOUT["user_prefix"] + prompt + CHAT_LAYOUT["user_suffix"])
            a = self.tok.encode(answer) + self.endoftext
            ids += q + a
            labels += [IGNORE] * len(q) + a
        return ids, labels


def scene_samples(rng: np.random.Generator, builder: SequenceBuilder, size: int, prompt_injection: bool = True,
                  image_index: int = 0) -> List[Sample]:
    cfg = builder.cfg
    scene, img, masks = render_scene(rng, size)
    scale = size / scene.width
    patches = patchify(normalize(img), cfg.patch_size)
    n = patches.shape[0]
    ann_ids = list(range(len(scene.objects)))
    out: List[Sample] = []
    no_prompt = np.full(n, NO_PROMPT, dtype=np.int64)
    attributes = patch_attributes(scene, masks, cfg.patch_size)

    # A. referring segmentation
    pairs, targets = [], []
    tasks = res_tasks(scene, ann_ids, rng) + res_tasks(scene, ann_ids, rng)
    rng.shuffle(tasks)
    for t in tasks[:4]:
        prompt = SEGMENT_TEMPLATES[int(rng.integers(len(SEGMENT_TEMPLATES)))].format(expression=t["expression"])
        if t["target_ids"]:
            answer = SEGMENT_ANSWERS[int(rng.integers(len(SEGMENT_ANSWERS)))]
            target = np.any([masks[i] for i in t["target_ids"]], axis=0)
        else:
            answer, target = NO_TARGET_ANSWER, np.zeros((size, size), dtype=bool)
        pairs.append((prompt, answer))
        targets.append(target)
    if pairs:
        ids, labels = builder.turns(pairs)
        out.append(Sample(ids, labels, patches, no_prompt, targets, "res", image_index, attributes))

    # Prompted regions shared by B and C: up to 3 objects, random slots, random prompt kinds.
    k = min(len(scene.objects), int(rng.integers(1, 4)))
    regions = rng.choice(len(scene.objects), size=k, replace=False).tolist()
    slots = rng.permutation(cfg.num_prompt_slots)[:k].tolist()
    kinds = rng.choice(["mask", "box", "points", "scribble"], size=k, p=[0.3, 0.3, 0.2, 0.2]).tolist()
    prompt_masks = [rasterize_prompt(visual_prompt(scene.objects[r], rng, kind), masks[r], scale, cfg.patch_size)
                    for r, kind in zip(regions, kinds)]
    region_slots = prompt_slots(prompt_masks, slots, size, size, cfg.patch_size) if prompt_injection else no_prompt
    token = {r: f"<Prompt{s}>" for r, s in zip(regions, slots)}

    # B. captions and multiple choice about the prompted regions
    pairs = []
    for r in regions[:2]:
        cap = caption_task(scene, ann_ids, rng, idx=r)["caption"]
        pairs.append((CAPTION_PROMPT.format(region=token[r]), CAPTION_ANSWER.format(region=token[r], caption=cap)))
    for r in regions[:2]:
        q = mcq_task(scene, ann_ids, rng, idx=r)
        pairs.append((mcq_question(token[r], q["question"], q["choices"]), mcq_answer(q["choices"], q["answer"])))
    if rng.random() < 0.05:
        absent = [s for s in range(cfg.num_prompt_slots) if s not in slots]
        name = f"<Prompt{absent[int(rng.integers(len(absent)))]}>"
        pairs.append((CAPTION_PROMPT.format(region=name), ABSENT_REGION_ANSWER.format(region=name)))
    order = rng.permutation(len(pairs)).tolist()
    ids, labels = builder.turns([pairs[i] for i in order])
    out.append(Sample(ids, labels, patches, region_slots, [], "region_text", image_index, attributes))

    # C. visual-text RES and segmenting the prompted region itself
    pairs, targets = [], []
    vt = vtres_task(scene, ann_ids, rng, prompt_idx=regions[0])
    if vt is not None:
        pairs.append((vt["question"].replace("<region1>", token[regions[0]]), SEGMENT_ANSWERS[0]))
        targets.append(masks[vt["target_ids"][0]])
    for r in regions[:2]:
        expression = token[r]
        pairs.append((SEGMENT_TEMPLATES[int(rng.integers(len(SEGMENT_TEMPLATES)))].format(expression=expression), SEGMENT_ANSWERS[0]))
        targets.append(masks[r])
    ids, labels = builder.turns(pairs)
    out.append(Sample(ids, labels, patches, region_slots, targets, "region_seg", image_index, attributes))
    return out


def collate(samples: Sequence[Sample], cfg: PixelSailConfig, pad_id: int) -> dict:
    """Pads to the longest sequence. All images share one size, so patches stack into [B, N, 3p²]."""
    n = samples[0].patches.shape[0]
    gh = gw = int(round(n ** 0.5))
    block = n + 2
    ids_v, ids_p, ids_e = cfg.token_id("<vision>"), cfg.token_id("<vpatch>"), cfg.token_id("</vision>")
    lengths = [block + len(s.input_ids) for s in samples]
    L = max(lengths)
    B = len(samples)
    input_ids = torch.full((B, L), pad_id, dtype=torch.long)
    labels = torch.full((B, L), IGNORE, dtype=torch.long)
    vpi = torch.full((B, L), -1, dtype=torch.long)
    vti = torch.full((B, L), -1, dtype=torch.long)
    for b, s in enumerate(samples):
        seq = [ids_v] + [ids_p] * n + [ids_e] + s.input_ids
        input_ids[b, : len(seq)] = torch.tensor(seq)
        labels[b, block: block + len(s.labels)] = torch.tensor(s.labels)
        vpi[b, 1: n + 1] = torch.arange(n)
        vti[b, 1: n + 1] = torch.from_numpy(s.slots.astype(np.int64))
    from .model import position_ids_for

    pos = position_ids_for(L, gh, gw).expand(3, B, L).clone()
    idx = torch.arange(L)
    causal = idx.view(1, -1) <= idx.view(-1, 1)
    bidir = (idx.view(-1, 1) < block) & (idx.view(1, -1) < block)
    allowed = (causal | bidir).unsqueeze(0).repeat(B, 1, 1)
    for b, length in enumerate(lengths):
        allowed[b, :, length:] = False
        allowed[b, length:, :] = False
        allowed[b, length:, length:] = torch.eye(L - length, dtype=torch.bool)  # padding sees itself only
    mask = torch.zeros(B, 1, L, L)
    mask.masked_fill_(~allowed.unsqueeze(1), float("-inf"))
    return {
        "input_ids": input_ids, "labels": labels, "vision_patch_indices": vpi, "vp_token_indices": vti,
        "vision_patches": torch.from_numpy(np.stack([s.patches for s in samples])),
        "position_ids": pos, "attention_mask": mask,
        "masks": [torch.from_numpy(np.stack(s.masks).astype(np.float32)) if s.masks else None for s in samples],
        "has_masks": torch.tensor([s.has_masks for s in samples]), "grid": (gh, gw),
        "kinds": [s.kind for s in samples], "image_index": [s.image_index for s in samples],
        "attributes": ({name: torch.from_numpy(np.stack([s.attributes[name] for s in samples])) for name in ATTRIBUTE_CLASSES}
                       if all(s.attributes is not None for s in samples) else None),
    }
