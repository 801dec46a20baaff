"""Task entries for a generated scene: res, caption, mcq, vtres (the ``tasks`` list of ground_truth.json).

Region references inside questions are written ``<region1>``, ``<region2>``, … in the order of
``prompt_region_ids``; whoever builds the model prompt maps them to ``<PromptK>`` slots.
"""
from __future__ import annotations

from typing import List, Optional, Sequence

import numpy as np

from .scenes import COLOURS, PATTERNS, SHAPES, SIZES, Scene, SceneObject, caption, phrase, region_name, unique_description, visual_prompt

REGION_NAMES = ["top left corner", "top", "top right corner", "left", "center", "right", "bottom left corner", "bottom",
                "bottom right corner"]


def _plural(shape: str) -> str:
    return shape + ("es" if shape.endswith("s") else "s")


def _ordinal_expression(scene: Scene, idx: int, rng: np.random.Generator) -> Optional[str]:
    """For objects that no attribute phrase singles out: leftmost/rightmost/topmost/second from the left."""
    target = scene.objects[idx]
    attrs = ("colour", "size", "pattern")
    group = [i for i, o in enumerate(scene.objects) if all(getattr(o, a) == getattr(target, a) for a in attrs) and o.shape == target.shape]
    if len(group) < 2:
        return None
    p = phrase(target, attrs)
    xs = {i: scene.objects[i].centroid()[0] for i in group}
    ys = {i: scene.objects[i].centroid()[1] for i in group}
    by_x = sorted(group, key=lambda i: xs[i])
    by_y = sorted(group, key=lambda i: ys[i])
    gap = 0.04 * scene.width
    options = []
    if by_x[0] == idx and xs[by_x[1]] - xs[idx] > gap:
        options.append(f"the leftmost {p}")
    if by_x[-1] == idx and xs[idx] - xs[by_x[-2]] > gap:
        options.append(f"the rightmost {p}")
    if by_y[0] == idx and ys[by_y[1]] - ys[idx] > gap:
        options.append(f"the topmost {p}")
    if by_y[-1] == idx and ys[idx] - ys[by_y[-2]] > gap:
        options.append(f"the bottom {p}")
    if len(group) >= 3 and by_x[1] == idx and min(xs[idx] - xs[by_x[0]], xs[by_x[2]] - xs[idx]) > gap:
        options.append(f"the second {p} from the left")
    return str(rng.choice(options)) if options else None


def _relation_expression(scene: Scene, idx: int, rng: np.random.Generator) -> Optional[str]:
    """"the {shape} left of / right of / above / below {unique reference}", when that picks out idx alone."""
    target = scene.objects[idx]
    tx, ty = target.centroid()
    refs = [j for j in range(len(scene.objects)) if j != idx]
    rng.shuffle(refs)
    margin = 0.08 * scene.width
    for j in refs:
        ref_desc = unique_description(scene, j, rng)
        if ref_desc is None:
            continue
        rx, ry = scene.objects[j].centroid()
        relations = {"left of": lambda x, y: x < rx - margin, "right of": lambda x, y: x > rx + margin,
                     "above": lambda x, y: y < ry - margin, "below": lambda x, y: y > ry + margin}
        names = list(relations)
        rng.shuffle(names)
        for name in names:
            test = relations[name]
            if not test(tx, ty):
                continue
            same_shape = [i for i, o in enumerate(scene.objects) if i != j and o.shape == target.shape and test(*o.centroid())]
            if same_shape == [idx]:
                return f"the {target.shape} {name} {ref_desc}"
    return None


def res_tasks(scene: Scene, ann_ids: Sequence[int], rng: np.random.Generator) -> List[dict]:
    tasks = []
    n = len(scene.objects)
    order = rng.permutation(n).tolist()
    for idx in order[:2]:
        expr = unique_description(scene, idx, rng) or _ordinal_expression(scene, idx, rng)
        if expr:
            tasks.append({"type": "res", "kind": "attribute", "expression": expr, "target_ids": [ann_ids[idx]]})
    if n >= 2:
        idx = order[-1]
        expr = _relation_expression(scene, idx, rng)
        if expr:
            tasks.append({"type": "res", "kind": "relation", "expression": expr, "target_ids": [ann_ids[idx]]})
    # Multi-target: every object of a colour or of a shape, when there are at least two.
    groups = []
    for colour in COLOURS:
        members = [i for i, o in enumerate(scene.objects) if o.colour == colour]
        if len(members) >= 2:
            groups.append((f"all {colour} objects", members))
    for shape in SHAPES:
        members = [i for i, o in enumerate(scene.objects) if o.shape == shape]
        if len(members) >= 2:
            groups.append((f"all the {_plural(shape)}", members))
    if groups and rng.random() < 0.7:
        expr, members = groups[int(rng.integers(len(groups)))]
        tasks.append({"type": "res", "kind": "multi", "expression": expr, "target_ids": [ann_ids[i] for i in members]})
    # No target: a colour + shape that is not in the picture.
    if rng.random() < 0.5:
        present = {(o.colour, o.shape) for o in scene.objects}
        for _ in range(20):
            colour, shape = str(rng.choice(list(COLOURS))), str(rng.choice(SHAPES))
            if (colour, shape) not in present:
                tasks.append({"type": "res", "kind": "none", "expression": f"the {colour} {shape}", "target_ids": []})
                break
    return tasks


def caption_task(scene: Scene, ann_ids: Sequence[int], rng: np.random.Generator, idx: Optional[int] = None) -> dict:
    idx = int(rng.integers(len(scene.objects))) if idx is None else idx
    return {"type": "caption", "region_id": ann_ids[idx], "caption": caption(scene, idx),
            "visual_prompt": visual_prompt(scene.objects[idx], rng)}


def mcq_task(scene: Scene, ann_ids: Sequence[int], rng: np.random.Generator, idx: Optional[int] = None) -> dict:
    idx = int(rng.integers(len(scene.objects))) if idx is None else idx
    obj = scene.objects[idx]
    kind = str(rng.choice(["colour", "shape", "size", "pattern", "position"]))
    if kind == "colour":
        question, truth, pool = "What colour is the marked object?", obj.colour, list(COLOURS)
    elif kind == "shape":
        question, truth, pool = "What shape is the marked object?", obj.shape, SHAPES
    elif kind == "size":
        question, truth, pool = "How big is the marked object?", obj.size, list(SIZES)
    elif kind == "pattern":
        question, truth, pool = "What is the surface pattern of the marked object?", obj.pattern, PATTERNS
    else:
        question, truth, pool = "Where is the marked object in the image?", region_name(obj, scene.width, scene.height), REGION_NAMES
    distractors = [c for c in pool if c != truth]
    rng.shuffle(distractors)
    choices = [truth] + distractors[: min(3, len(distractors))]
    rng.shuffle(choices)
    return {"type": "mcq", "kind": kind, "region_id": ann_ids[idx], "question": question, "choices": choices,
            "answer": truth, "visual_prompt": visual_prompt(obj, rng)}


def vtres_task(scene: Scene, ann_ids: Sequence[int], rng: np.random.Generator, prompt_idx: Optional[int] = None) -> Optional[dict]:
    n = len(scene.objects)
    candidates = []
    for p in (range(n) if prompt_idx is None else [prompt_idx]):
        prompt = scene.objects[p]
        others = [i for i in range(n) if i != p]
        same_colour = [i for i in others if scene.objects[i].colour == prompt.colour]
        if len(same_colour) == 1:
            candidates.append((p, "Please segment the other object with the same colour as <region1>.", same_colour[0]))
        same_shape = [i for i in others if scene.objects[i].shape == prompt.shape]
        if len(same_shape) == 1:
            candidates.append((p, "Please segment the other object with the same shape as <region1>.", same_shape[0]))
        if len(others) >= 2:
            px, py = prompt.centroid()
            dist = sorted((np.hypot(scene.objects[i].centroid()[0] - px, scene.objects[i].centroid()[1] - py), i) for i in others)
            if dist[1][0] - dist[0][0] > 0.08 * scene.width:
                candidates.append((p, "Please segment the object closest to <region1>.", dist[0][1]))
            if dist[-1][0] - dist[-2][0] > 0.08 * scene.width:
                candidates.append((p, "Please segment the object farthest from <region1>.", dist[-1][1]))
    if not candidates:
        return None
    p, question, target = candidates[int(rng.integers(len(candidates)))]
    return {"type": "vtres", "prompt_region_ids": [ann_ids[p]], "question": question, "target_ids": [ann_ids[target]],
            "visual_prompts": [visual_prompt(scene.objects[p], rng)]}


def scene_tasks(scene: Scene, ann_ids: Sequence[int], rng: np.random.Generator) -> List[dict]:
    tasks = res_tasks(scene, ann_ids, rng)
    tasks.append(caption_task(scene, ann_ids, rng))
    tasks.append(mcq_task(scene, ann_ids, rng))
    vt = vtres_task(scene, ann_ids, rng)
    if vt:
        tasks.append(vt)
    return tasks
