"""Targets for click, box and scribble prompts on real photos (issue 19, section 3).

Nobody labelled these photos. A target is the salient object ISNet (the project's vision expert, run by
training/teacher_features.mjs) finds in a crop around it, kept only where ISNet is sure of it:

1. ISNet runs once on each whole photo; its saliency map (0–255) is cached by the photo's sha256.
2. Proposals: the connected components of the map thresholded at 0.5, largest first, at most MAX_CROPS a
   photo, each at least MIN_COMPONENT of the photo. A crop is the component's box widened by a factor drawn
   from MARGIN (per axis) and shifted by up to a quarter of the slack, both from a hash of the photo and the
   component's rank, so the same photo always gives the same crops. The crop is clipped to the photo.
3. The filter (``verdict``) keeps a crop only if, inside the crop, at the photo's resolution:
   - the component covers between MIN_AREA and MAX_AREA of the crop, and its box is at least MIN_SIDE
     pixels a side at the stored size (a box prompt must say something; a speck is no object);
   - other salient pixels (thresholded map outside the component) are at most MAX_OTHER of its area: one
     connected main component, so the click, box or scribble names one object. Specks (other components
     with less than SPECK of its area inside the crop) are not counted: they are texture noise, not objects,
     and the bimodality rule below still sees them;
   - mean saliency over the component is at least MIN_FG_CONF (ISNet is confident it is foreground);
   - pixels ISNet hesitates on (0.1 < s < 0.9) are at most MAX_BAND of the component's area (a soft
     matte, haze or texture the teacher cannot cut, not a thin edge band);
   - mean |2s − 1| over the whole crop is at least MIN_BIMODAL (the map is nearly binary there).
   Every dropped crop keeps its reason and its numbers.
4. The target is the component inside the crop, resized (with the crop) so the long side is at most
   OUT_LONG_SIDE: the model sees 192 pixels, so this loses nothing it could use.

These targets come from a salient-object model, not from human labels: they measure agreement with ISNet.
"""
from __future__ import annotations

import hashlib
import os
from typing import Dict, List, Optional, Tuple

import numpy as np

THRESHOLD = 0.5
MAX_CROPS = 3
MIN_COMPONENT = 0.005  # of the photo's area
MARGIN = (1.3, 2.0)
OUT_LONG_SIDE = 512
MIN_AREA, MAX_AREA = 0.03, 0.8
MIN_SIDE = 16
MAX_OTHER = 0.1
SPECK = 0.02
MIN_FG_CONF = 0.85
MAX_BAND = 0.3
MIN_BIMODAL = 0.85

RULE = (f"ISNet saliency thresholded at {THRESHOLD}; crops around its largest connected components (≤ {MAX_CROPS} a "
        f"photo, each ≥ {MIN_COMPONENT:.1%} of the photo), widened ×{MARGIN[0]}–{MARGIN[1]}; kept when the component "
        f"covers {MIN_AREA:.0%}–{MAX_AREA:.0%} of the crop with a box ≥ {MIN_SIDE} px a side, other salient pixels "
        f"(specks under {SPECK:.0%} of it aside) ≤ {MAX_OTHER:.0%} of its area, mean saliency over it ≥ {MIN_FG_CONF}, hesitant pixels (0.1–0.9) ≤ "
        f"{MAX_BAND:.0%} of its area, and mean |2s−1| over the crop ≥ {MIN_BIMODAL}")


def components(fg: np.ndarray) -> Tuple[np.ndarray, List[Tuple[int, int]]]:
    """8-connected components of a binary mask: the label image and (label, area), largest first."""
    from scipy import ndimage
    labels, n = ndimage.label(fg, structure=np.ones((3, 3), dtype=bool))
    areas = np.bincount(labels.ravel(), minlength=n + 1)
    order = sorted(range(1, n + 1), key=lambda k: (-int(areas[k]), k))
    return labels, [(k, int(areas[k])) for k in order]


def _unit(key: str) -> float:
    """A number in [0, 1) fixed by ``key``: crops depend on nothing but the photo and the component's rank."""
    return int(hashlib.sha256(key.encode()).hexdigest()[:12], 16) / float(1 << 48)


def crop_box(comp_box: Tuple[int, int, int, int], width: int, height: int, key: str) -> Tuple[int, int, int, int]:
    """The crop around a component's box (x, y, w, h): widened per axis by a factor in MARGIN, shifted by up to
    a quarter of the slack, clipped to the photo."""
    x, y, w, h = comp_box
    out = []
    for axis, (start, size, limit) in enumerate(((x, w, width), (y, h, height))):
        m = MARGIN[0] + (MARGIN[1] - MARGIN[0]) * _unit(f"{key}:margin:{axis}")
        side = max(size + 2, int(round(size * m)))
        slack = side - size
        shift = (_unit(f"{key}:shift:{axis}") - 0.5) * 0.5 * slack
        lo = int(round(start - slack / 2 + shift))
        hi = lo + side
        lo, hi = max(0, lo), min(limit, hi)
        out.append((lo, hi - lo))
    return out[0][0], out[1][0], out[0][1], out[1][1]


def out_size(w: int, h: int) -> Tuple[int, int]:
    s = min(1.0, OUT_LONG_SIDE / max(w, h))
    return max(1, int(round(w * s))), max(1, int(round(h * s)))


def box_of(mask: np.ndarray) -> Tuple[int, int, int, int]:
    ys, xs = np.nonzero(mask)
    return int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)


def crop_stats(sal: np.ndarray, labels: np.ndarray, label: int) -> Dict[str, float]:
    """The filter's numbers for one crop: ``sal`` the saliency in [0, 1], ``labels`` the photo's components
    (``components``), both cropped, and ``label`` the crop's own component."""
    main = labels == label
    area = int(main.sum())
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    sizes[label] = 0
    other = int(sizes[sizes >= SPECK * max(1, area)].sum())
    stats = {"area": area / main.size, "other": other / max(1, area),
             "fgConf": float(sal[main].mean()) if area else 0.0,
             "band": float(((sal > 0.1) & (sal < 0.9)).sum()) / max(1, area),
             "bimodal": float(np.abs(2 * sal - 1).mean())}
    return {k: round(v, 4) for k, v in stats.items()}


def verdict(stats: Dict[str, float], min_side: float) -> Optional[str]:
    """None when the crop is kept, else why it is dropped (the first rule it breaks)."""
    if stats["area"] < MIN_AREA:
        return f"object covers {stats['area']:.1%} of the crop (< {MIN_AREA:.0%})"
    if stats["area"] > MAX_AREA:
        return f"object covers {stats['area']:.1%} of the crop (> {MAX_AREA:.0%})"
    if min_side < MIN_SIDE:
        return f"object box {min_side:.0f} px a side at the stored size (< {MIN_SIDE})"
    if stats["other"] > MAX_OTHER:
        return f"other salient pixels {stats['other']:.0%} of the object (> {MAX_OTHER:.0%}): no one main component"
    if stats["fgConf"] < MIN_FG_CONF:
        return f"mean saliency over the object {stats['fgConf']:.2f} (< {MIN_FG_CONF})"
    if stats["band"] > MAX_BAND:
        return f"hesitant pixels {stats['band']:.0%} of the object (> {MAX_BAND:.0%})"
    if stats["bimodal"] < MIN_BIMODAL:
        return f"mean |2s-1| over the crop {stats['bimodal']:.2f} (< {MIN_BIMODAL})"
    return None


def _resize_mask(mask: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    from PIL import Image
    if mask.shape[::-1] == size:
        return mask.copy()
    im = Image.fromarray(mask.astype(np.uint8) * 255).resize(size, Image.BILINEAR)
    return np.asarray(im) >= 128


def photo_targets(saliency: np.ndarray, key: str) -> Tuple[List[dict], List[dict]]:
    """Kept and dropped crops of one photo from its saliency map (uint8 0–255 or float 0–1, H × W).
    Kept: {box, size, mask (bool, size[1] × size[0]), stats}; dropped: {box, reason, stats}."""
    sal = saliency.astype(np.float32) / 255.0 if saliency.dtype == np.uint8 else saliency.astype(np.float32)
    height, width = sal.shape
    labels, comps = components(sal >= THRESHOLD)
    kept, dropped = [], []
    for rank, (label, area) in enumerate(comps[:MAX_CROPS]):
        if area < MIN_COMPONENT * width * height:
            break
        comp = labels == label
        box = crop_box(box_of(comp), width, height, f"{key}:{rank}")
        x, y, w, h = box
        main, s = comp[y:y + h, x:x + w], sal[y:y + h, x:x + w]
        stats = crop_stats(s, labels[y:y + h, x:x + w], label)
        size = out_size(w, h)
        scale = size[0] / w
        _, _, bw, bh = box_of(main)
        reason = verdict(stats, min(bw, bh) * scale)
        target = None if reason else _resize_mask(main, size)
        if target is not None and not target.any():
            reason = "empty after resizing"
        if reason:
            dropped.append({"box": list(box), "reason": reason, "stats": stats})
        else:
            kept.append({"box": list(box), "size": list(size), "mask": target, "stats": stats})
    if not comps or comps[0][1] < MIN_COMPONENT * width * height:
        dropped.append({"box": None, "reason": f"no salient component ≥ {MIN_COMPONENT:.1%} of the photo", "stats": {}})
    return kept, dropped


def held_out_shas(split_doc: dict) -> set:
    return {p["sha256"] for s in split_doc["scenes"] if s["split"] == "test" for p in s["photos"]}


def split_photos(split_doc: dict, split: str) -> List[Tuple[str, str, str]]:
    """(scene, path, sha256) of every photo on one side of the split. A train photo whose content equals a
    test photo's (the same file shipped twice) is left out, so no test photo can become a train target."""
    held_out = held_out_shas(split_doc)
    out = []
    for s in split_doc["scenes"]:
        if s["split"] != split:
            continue
        for p in s["photos"]:
            if split == "train" and p["sha256"] in held_out:
                continue
            out.append((s["scene"], p["path"], p["sha256"]))
    return out


def check_train_targets(split_doc: dict, targets: List[dict]) -> None:
    """Raises if any train target comes from a test scene or a test photo's content."""
    test_scenes = {s["scene"] for s in split_doc["scenes"] if s["split"] == "test"}
    held_out = held_out_shas(split_doc)
    for t in targets:
        if t["scene"] in test_scenes or t["sha256"] in held_out:
            raise ValueError(f"train target {t['id']} comes from held-out photo {t['photo']} ({t['scene']})")


def load_train_targets(train_file: str, split_doc: dict, photos_root: str):
    """The cached train targets (training/photo_targets.py make --split train) as (target, RGB crop uint8
    H × W × 3, mask bool H × W), checked against the split first so a test photo can never be trained on.
    The crop is cut as `pixel-sail eval` cuts it (EXIF orientation, then the box, then a bilinear resize)."""
    import json

    from PIL import Image, ImageOps

    from .coco_rle import decode

    with open(train_file, encoding="utf-8") as fh:
        doc = json.load(fh)
    if doc.get("split") != "train":
        raise ValueError(f"{train_file} holds {doc.get('split')!r} targets, not train targets")
    check_train_targets(split_doc, doc["targets"])
    for t in doc["targets"]:
        with Image.open(f"{photos_root}/{t['photo']}") as im:
            photo = ImageOps.exif_transpose(im).convert("RGB")
        x, y, w, h = t["box"]
        crop = photo.crop((x, y, x + w, y + h)).resize(tuple(t["size"]), Image.BILINEAR)
        yield t, np.asarray(crop), decode(t["rle"])


def photos_cache_dir() -> str:
    """Where training/real_photos.py fetches the photo packages to (and photo_targets.py reads them from)."""
    return os.environ.get("PIXEL_SAIL_PHOTOS") or os.path.join(os.path.expanduser("~"), ".cache", "pixel-sail", "photos")


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
