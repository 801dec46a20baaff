"""Procedural scenes with exact instance masks, and the tasks the product serves on them.

A scene is a background (flat, gradient, noise, or a crop of a real photo texture) with 2–6 objects of
a shape, colour, size and surface pattern, placed with overlap and occlusion. Every object's mask is its
*visible* part. From a scene come referring expressions (attributes, relations, ordinals, multi-target,
no-target), detailed region captions, multiple-choice questions about a region, visual-text RES, and
visual prompts of every kind (mask, points, box, scribble).
"""
from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from PIL import Image, ImageDraw

GENERATOR_VERSION = "1.0"

SHAPES = ["circle", "square", "triangle", "star", "hexagon", "diamond", "cross", "ellipse"]
COLOURS: Dict[str, Tuple[int, int, int]] = {
    "red": (214, 39, 40), "green": (44, 160, 44), "blue": (31, 90, 220), "yellow": (240, 200, 30),
    "purple": (148, 70, 189), "orange": (250, 127, 14), "pink": (240, 120, 190), "brown": (140, 86, 55),
    "white": (245, 245, 245), "black": (25, 25, 25), "gray": (128, 128, 128), "cyan": (23, 190, 207),
}
SIZES = {"small": (0.07, 0.10), "medium": (0.12, 0.16), "large": (0.19, 0.25)}
PATTERNS = ["plain", "striped", "dotted", "checkered"]
TEXTURE_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "assets", "textures")


@dataclass
class SceneObject:
    shape: str
    colour: str
    size: str
    pattern: str
    cx: float
    cy: float
    radius: float
    angle: float
    mask: Optional[np.ndarray] = field(default=None, repr=False)  # visible part, bool [H, W]
    full_area: int = 0

    @property
    def area(self) -> int:
        return int(self.mask.sum())

    def bbox(self) -> Tuple[int, int, int, int]:
        ys, xs = np.nonzero(self.mask)
        return int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)

    def centroid(self) -> Tuple[float, float]:
        ys, xs = np.nonzero(self.mask)
        return float(xs.mean()), float(ys.mean())


@dataclass
class Scene:
    width: int
    height: int
    image: np.ndarray  # uint8 [H, W, 3]
    objects: List[SceneObject]


# -- geometry ----------------------------------------------------------------------------------------

def _polygon(shape: str, cx: float, cy: float, r: float, angle: float) -> List[Tuple[float, float]]:
    def rot(points):
        c, s = np.cos(angle), np.sin(angle)
        return [(cx + x * c - y * s, cy + x * s + y * c) for x, y in points]

    if shape == "circle":
        t = np.linspace(0, 2 * np.pi, 64, endpoint=False)
        return [(cx + r * np.cos(a), cy + r * np.sin(a)) for a in t]
    if shape == "ellipse":
        t = np.linspace(0, 2 * np.pi, 64, endpoint=False)
        return rot([(r * np.cos(a), 0.55 * r * np.sin(a)) for a in t])
    if shape == "square":
        h = r * 0.85
        return rot([(-h, -h), (h, -h), (h, h), (-h, h)])
    if shape == "triangle":
        return rot([(r * np.cos(a), r * np.sin(a)) for a in (-np.pi / 2, np.pi / 6, 5 * np.pi / 6)])
    if shape == "hexagon":
        return rot([(r * np.cos(a), r * np.sin(a)) for a in np.arange(6) * np.pi / 3])
    if shape == "diamond":
        return rot([(0, -r), (0.65 * r, 0), (0, r), (-0.65 * r, 0)])
    if shape == "star":
        pts = []
        for k in range(10):
            rr = r if k % 2 == 0 else 0.45 * r
            a = -np.pi / 2 + k * np.pi / 5
            pts.append((rr * np.cos(a), rr * np.sin(a)))
        return rot(pts)
    if shape == "cross":
        a, b = r, 0.33 * r
        return rot([(-b, -a), (b, -a), (b, -b), (a, -b), (a, b), (b, b), (b, a), (-b, a), (-b, b), (-a, b), (-a, -b), (-b, -b)])
    raise ValueError(shape)


def _raster(points, width: int, height: int) -> np.ndarray:
    img = Image.new("L", (width, height), 0)
    ImageDraw.Draw(img).polygon([(float(x), float(y)) for x, y in points], fill=255)
    return np.asarray(img) > 0


# -- appearance ---------------------------------------------------------------------------------------

def _load_textures() -> List[np.ndarray]:
    out = []
    for path in sorted(glob.glob(os.path.join(TEXTURE_DIR, "*.png")) + glob.glob(os.path.join(TEXTURE_DIR, "*.jpg"))):
        out.append(np.asarray(Image.open(path).convert("RGB")))
    return out


_TEXTURES: Optional[List[np.ndarray]] = None


def textures() -> List[np.ndarray]:
    global _TEXTURES
    if _TEXTURES is None:
        _TEXTURES = _load_textures()
    return _TEXTURES


def _background(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    kind = rng.choice(["flat", "gradient", "noise", "photo"], p=[0.25, 0.25, 0.15, 0.35])
    base = rng.integers(70, 200, size=3)
    if kind == "photo" and textures():
        tex = textures()[int(rng.integers(len(textures())))]
        th, tw = tex.shape[:2]
        scale = max(w / tw, h / th)
        if scale > 1:
            tex = np.asarray(Image.fromarray(tex).resize((int(np.ceil(tw * scale)), int(np.ceil(th * scale))), Image.BILINEAR))
            th, tw = tex.shape[:2]
        y0, x0 = int(rng.integers(0, th - h + 1)), int(rng.integers(0, tw - w + 1))
        crop = tex[y0:y0 + h, x0:x0 + w].astype(np.float32)
        # Muted so coloured objects stay the salient thing in the picture.
        return (0.55 * crop + 0.45 * base).clip(0, 255).astype(np.uint8)
    if kind == "gradient" or (kind == "photo"):
        other = rng.integers(70, 200, size=3)
        t = np.linspace(0, 1, w if rng.random() < 0.5 else h, dtype=np.float32)
        ramp = (base[None, :] * (1 - t[:, None]) + other[None, :] * t[:, None])
        img = np.broadcast_to(ramp[None], (h, w, 3)) if len(t) == w else np.broadcast_to(ramp[:, None], (h, w, 3))
        return img.astype(np.uint8)
    if kind == "noise":
        noise = rng.normal(0, 18, size=(h, w, 1))
        return (base[None, None, :] + noise).clip(0, 255).astype(np.uint8)
    return np.broadcast_to(base.astype(np.uint8), (h, w, 3)).copy()


def _fill(obj: SceneObject, rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    colour = np.asarray(COLOURS[obj.colour], dtype=np.float32)
    ys, xs = np.mgrid[0:h, 0:w]
    period = max(4.0, obj.radius / 2.5)
    if obj.pattern == "striped":
        on = (np.floor((xs * np.cos(obj.angle) + ys * np.sin(obj.angle)) / period) % 2) == 0
    elif obj.pattern == "dotted":
        on = ((xs % period - period / 2) ** 2 + (ys % period - period / 2) ** 2) > (period / 3.2) ** 2
    elif obj.pattern == "checkered":
        on = ((np.floor(xs / period) + np.floor(ys / period)) % 2) == 0
    else:
        on = np.ones((h, w), dtype=bool)
    # The pattern's second tone: the colour darkened (or lightened for black) so the colour name holds.
    alt = colour * 0.45 if colour.mean() > 60 else colour + 110
    img = np.where(on[..., None], colour, alt)
    shade = 1.0 + rng.normal(0, 0.03)
    return (img * shade).clip(0, 255)


# -- sampling -------------------------------------------------------------------------------------------

def sample_scene(rng: np.random.Generator, width: int = 512, height: int = 512, min_objects: int = 2,
                 max_objects: int = 6) -> Scene:
    n = int(rng.integers(min_objects, max_objects + 1))
    image = _background(rng, width, height).astype(np.float32)
    objects: List[SceneObject] = []
    occupied = np.zeros((height, width), dtype=bool)
    side = min(width, height)
    attempts = 0
    while len(objects) < n and attempts < 200:
        attempts += 1
        size = str(rng.choice(list(SIZES)))
        lo, hi = SIZES[size]
        r = float(rng.uniform(lo, hi) * side)
        cx, cy = float(rng.uniform(r * 0.6, width - r * 0.6)), float(rng.uniform(r * 0.6, height - r * 0.6))
        obj = SceneObject(shape=str(rng.choice(SHAPES)), colour=str(rng.choice(list(COLOURS))), size=size,
                          pattern=str(rng.choice(PATTERNS, p=[0.55, 0.15, 0.15, 0.15])), cx=cx, cy=cy, radius=r,
                          angle=float(rng.uniform(-0.35, 0.35)))
        full = _raster(_polygon(obj.shape, cx, cy, r, obj.angle), width, height)
        if full.sum() < 30:
            continue
        # Occlusion is allowed, but each earlier object must keep at least 55 % of itself visible.
        ok = True
        for other in objects:
            remaining = other.mask & ~full
            if remaining.sum() < 0.55 * other.full_area:
                ok = False
                break
        if not ok:
            continue
        for other in objects:
            other.mask = other.mask & ~full
        obj.mask, obj.full_area = full, int(full.sum())
        image = np.where(full[..., None], _fill(obj, rng, width, height), image)
        occupied |= full
        objects.append(obj)
    image = (image + rng.normal(0, 3.0, size=image.shape)).clip(0, 255).astype(np.uint8)
    return Scene(width, height, image, objects)


# -- language ------------------------------------------------------------------------------------------

def noun(obj: SceneObject, plural: bool = False) -> str:
    if not plural:
        return obj.shape
    return obj.shape + ("es" if obj.shape.endswith("s") else "s")


def phrase(obj: SceneObject, attrs: Sequence[str]) -> str:
    words = []
    if "size" in attrs:
        words.append(obj.size)
    if "colour" in attrs:
        words.append(obj.colour)
    if "pattern" in attrs:
        words.append(obj.pattern)
    words.append(obj.shape)
    return " ".join(words)


def matches(obj: SceneObject, ref: SceneObject, attrs: Sequence[str]) -> bool:
    return obj.shape == ref.shape and all(getattr(obj, a) == getattr(ref, a) for a in attrs)


ATTR_SETS = [(), ("colour",), ("size",), ("pattern",), ("colour", "size"), ("colour", "pattern"), ("size", "pattern"),
             ("colour", "size", "pattern")]


def unique_description(scene: Scene, idx: int, rng: np.random.Generator) -> Optional[str]:
    """The shortest attribute phrase that picks out object idx alone (random among the shortest)."""
    target = scene.objects[idx]
    for n_attr in range(4):
        # "plain" is said only when it is what tells two objects apart.
        options = [a for a in ATTR_SETS if len(a) == n_attr]
        options.sort(key=lambda a: "pattern" in a and target.pattern == "plain")
        plain_last = [a for a in options if not ("pattern" in a and target.pattern == "plain")]
        rng.shuffle(plain_last)
        options = plain_last + [a for a in options if a not in plain_last]
        for attrs in options:
            if sum(matches(o, target, attrs) for o in scene.objects) == 1:
                return "the " + phrase(target, attrs)
    return None


def region_name(obj: SceneObject, width: int, height: int) -> str:
    cx, cy = obj.centroid()
    col = 0 if cx < width / 3 else (2 if cx > 2 * width / 3 else 1)
    row = 0 if cy < height / 3 else (2 if cy > 2 * height / 3 else 1)
    return [["top left corner", "top", "top right corner"], ["left", "center", "right"],
            ["bottom left corner", "bottom", "bottom right corner"]][row][col]


def location_phrase(obj: SceneObject, width: int, height: int) -> str:
    name = region_name(obj, width, height)
    return {"top": "at the top", "bottom": "at the bottom", "left": "on the left", "right": "on the right",
            "center": "in the center"}.get(name, f"in the {name}")


def caption(scene: Scene, idx: int) -> str:
    obj = scene.objects[idx]
    pattern = "" if obj.pattern == "plain" else obj.pattern + " "
    text = f"a {obj.size} {obj.colour} {pattern}{obj.shape} {location_phrase(obj, scene.width, scene.height)} of the image"
    occluders = [o for o in scene.objects[idx + 1:] if (_dilate(o.mask) & obj_full_mask(obj, scene)).any()]
    if obj.area < 0.97 * obj.full_area and occluders:
        occ = max(occluders, key=lambda o: (_dilate(o.mask) & obj_full_mask(obj, scene)).sum())
        text += f", partly covered by a {occ.colour} {occ.shape}"
    return text + "."


def obj_full_mask(obj: SceneObject, scene: Scene) -> np.ndarray:
    return _raster(_polygon(obj.shape, obj.cx, obj.cy, obj.radius, obj.angle), scene.width, scene.height)


def _dilate(mask: np.ndarray) -> np.ndarray:
    out = mask.copy()
    out[1:] |= mask[:-1]
    out[:-1] |= mask[1:]
    out[:, 1:] |= mask[:, :-1]
    out[:, :-1] |= mask[:, 1:]
    return out


# -- visual prompts ----------------------------------------------------------------------------------------

def visual_prompt(obj: SceneObject, rng: np.random.Generator, kind: Optional[str] = None) -> dict:
    kind = kind or str(rng.choice(["mask", "box", "points", "scribble"]))
    ys, xs = np.nonzero(obj.mask)
    if kind == "mask":
        return {"kind": "mask"}
    if kind == "box":
        x, y, w, h = obj.bbox()
        return {"kind": "box", "bbox": [x, y, w, h]}
    if kind == "points":
        # Points well inside the region: pick among pixels far from the boundary.
        inner = obj.mask.copy()
        for _ in range(max(1, int(obj.radius * 0.15))):
            shrunk = inner & ~_dilate(~inner)
            if shrunk.sum() < 5:
                break
            inner = shrunk
        iy, ix = np.nonzero(inner)
        k = int(rng.integers(1, 4))
        pick = rng.choice(len(ix), size=min(k, len(ix)), replace=False)
        return {"kind": "points", "points": [[int(ix[i]), int(iy[i]), 1] for i in sorted(pick.tolist())]}
    if kind == "scribble":
        # A short stroke through the region: a chain of interior pixels ordered along the principal axis.
        n = int(rng.integers(3, 6))
        pick = rng.choice(len(xs), size=min(n, len(xs)), replace=False)
        pts = np.stack([xs[pick], ys[pick]], axis=1).astype(float)
        axis = np.linalg.svd(pts - pts.mean(0), full_matrices=False)[2][0] if len(pts) > 1 else np.array([1.0, 0.0])
        order = np.argsort((pts - pts.mean(0)) @ axis)
        width = int(max(2, round(obj.radius * 0.12)))
        return {"kind": "scribble", "points": [[int(pts[i, 0]), int(pts[i, 1])] for i in order], "width": width}
    raise ValueError(kind)
