import hashlib
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import REPO, TRAINING
from pixel_sail import coco_rle

GEN = os.path.join(TRAINING, "generate.py")


def run_gen(*args, check=True):
    return subprocess.run([sys.executable, GEN, *args, "--quiet"], capture_output=True, text=True, check=check)


def digest(folder):
    h = hashlib.sha256()
    for root, _, files in sorted(os.walk(folder)):
        for f in sorted(files):
            h.update(f.encode())
            with open(os.path.join(root, f), "rb") as fh:
                h.update(fh.read())
    return h.hexdigest()


@pytest.fixture(scope="module")
def val_set(tmp_path_factory):
    out = tmp_path_factory.mktemp("gen") / "val"
    run_gen("--split", "val", "--seed", "3", "--count", "12", "--size", "256", "--out", str(out))
    return out


def test_same_seed_gives_identical_bytes(val_set, tmp_path):
    again = tmp_path / "again"
    run_gen("--split", "val", "--seed", "3", "--count", "12", "--size", "256", "--out", str(again))
    assert digest(val_set) == digest(again)
    other = tmp_path / "other"
    run_gen("--split", "val", "--seed", "4", "--count", "12", "--size", "256", "--out", str(other))
    assert digest(val_set) != digest(other)


def test_splits_never_share_scenes(val_set, tmp_path):
    test = tmp_path / "test"
    run_gen("--split", "test", "--seed", "3", "--count", "12", "--size", "256", "--out", str(test))
    a = {i["scene_hash"] for i in json.load(open(val_set / "ground_truth.json"))["images"]}
    b = {i["scene_hash"] for i in json.load(open(test / "ground_truth.json"))["images"]}
    assert a and b and not (a & b)


def test_output_is_valid_coco_with_exact_masks(val_set):
    from PIL import Image

    gt = json.load(open(val_set / "ground_truth.json"))
    for key in ("info", "licenses", "images", "annotations", "categories", "tasks"):
        assert key in gt
    cat_ids = [c["id"] for c in gt["categories"]]
    assert cat_ids == list(range(1, len(cat_ids) + 1)) and all(c["supercategory"] for c in gt["categories"])
    img_ids = {i["id"] for i in gt["images"]}
    assert min(img_ids) == 1 and len(img_ids) == len(gt["images"])
    ann_ids = [a["id"] for a in gt["annotations"]]
    assert min(ann_ids) >= 1 and len(set(ann_ids)) == len(ann_ids)
    for img in gt["images"]:
        with Image.open(val_set / "images" / img["file_name"]) as im:
            assert im.size == (img["width"], img["height"]) and im.mode == "RGB"
    per_image = {}
    for a in gt["annotations"]:
        assert a["image_id"] in img_ids and a["category_id"] in cat_ids and a["iscrowd"] == 0
        assert isinstance(a["segmentation"]["counts"], str)
        m = coco_rle.decode(a["segmentation"])
        assert m.shape == (256, 256)
        assert a["area"] == int(m.sum()) > 0
        assert a["bbox"] == coco_rle.bbox(m)
        per_image.setdefault(a["image_id"], []).append(m)
    for masks in per_image.values():
        stack = np.stack(masks).astype(int)
        assert stack.sum(0).max() <= 1, "visible instance masks never overlap"


def test_tasks_cover_every_kind_and_reference_real_annotations(val_set):
    gt = json.load(open(val_set / "ground_truth.json"))
    anns = {a["id"]: a for a in gt["annotations"]}
    kinds = {t["type"] for t in gt["tasks"]}
    assert kinds == {"res", "caption", "mcq", "vtres"}
    res_kinds = {t["kind"] for t in gt["tasks"] if t["type"] == "res"}
    assert {"attribute", "multi", "none"} <= res_kinds
    assert any(t["target_ids"] == [] for t in gt["tasks"] if t["type"] == "res")
    prompt_kinds = set()
    for t in gt["tasks"]:
        ids = t.get("target_ids", []) + t.get("prompt_region_ids", []) + ([t["region_id"]] if "region_id" in t else [])
        for i in ids:
            assert anns[i]["image_id"] == t["image_id"]
        if t["type"] == "mcq":
            assert t["answer"] in t["choices"] and len(set(t["choices"])) == len(t["choices"])
        if t["type"] == "vtres":
            assert "<region1>" in t["question"] and len(t["visual_prompts"]) == len(t["prompt_region_ids"])
            assert not set(t["target_ids"]) & set(t["prompt_region_ids"])
        for vp in [t.get("visual_prompt")] + t.get("visual_prompts", []):
            if vp:
                prompt_kinds.add(vp["kind"])
    assert prompt_kinds == {"mask", "box", "points", "scribble"}


def test_point_prompts_fall_inside_their_region(val_set):
    gt = json.load(open(val_set / "ground_truth.json"))
    anns = {a["id"]: a for a in gt["annotations"]}
    checked = 0
    for t in gt["tasks"]:
        vp = t.get("visual_prompt")
        if vp and vp["kind"] == "points":
            m = coco_rle.decode(anns[t["region_id"]]["segmentation"])
            assert all(m[y, x] for x, y, _ in vp["points"])
            checked += 1
    assert checked > 0


@pytest.mark.parametrize("args,message", [
    (["--split", "val", "--seed", "1", "--count", "-3"], "--count must be between"),
    (["--split", "holdout", "--seed", "1", "--count", "3"], "invalid choice"),
    (["--split", "val", "--seed", "-1", "--count", "3"], "--seed must be non-negative"),
])
def test_impossible_arguments_are_refused(tmp_path, args, message):
    r = run_gen(*args, "--out", str(tmp_path / "x"), check=False)
    assert r.returncode != 0 and message in r.stderr
    assert not (tmp_path / "x").exists()


def test_unwritable_output_is_refused_clearly(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    r = run_gen("--split", "val", "--seed", "1", "--count", "2", "--out", str(blocker / "ds"), check=False)
    assert r.returncode != 0 and "cannot create" in r.stderr and "Traceback" not in r.stderr


def test_existing_dataset_is_not_overwritten(val_set):
    before = digest(val_set)
    r = run_gen("--split", "val", "--seed", "9", "--count", "2", "--out", str(val_set), check=False)
    assert r.returncode != 0 and "already exists" in r.stderr
    assert digest(val_set) == before


def test_interrupted_generation_leaves_no_dataset(tmp_path):
    out = tmp_path / "big"
    proc = subprocess.Popen([sys.executable, GEN, "--split", "train", "--seed", "1", "--count", "5000", "--out", str(out), "--quiet"])
    import time
    deadline = time.time() + 30
    while time.time() < deadline and not any(p.name.startswith(".big.partial-") for p in tmp_path.iterdir()):
        time.sleep(0.05)
    time.sleep(0.5)
    proc.terminate()
    proc.wait(timeout=30)
    assert not out.exists(), "a killed run must not leave DIR behind"
    # SIGTERM may skip Python cleanup; whatever is left is clearly partial and has no ground truth.
    for p in tmp_path.iterdir():
        assert p.name.startswith(".big.partial-") and not (p / "ground_truth.json").exists()


def test_patch_attributes_are_class_fractions_of_the_visible_masks():
    from pixel_sail.data import ATTRIBUTE_CLASSES, patch_attributes, render_scene

    scene, _, masks = render_scene(np.random.default_rng(3), 64)
    att = patch_attributes(scene, masks, 16)
    assert set(att) == {"shape", "pattern"}
    covered = int(np.any(masks, axis=0).sum())
    for name, classes in ATTRIBUTE_CLASSES.items():
        a = att[name]
        assert a.shape == (16, len(classes)) and np.allclose(a.sum(1), 1.0)
        assert round(float(a[:, 0].sum()) * 256) == 64 * 64 - covered
        # Each class covers the area of the objects that have it (visible masks may share an edge pixel
        # after the reduction to 64 px; the later object, the one on top, takes it).
        for c, value in enumerate(classes[1:], start=1):
            area = sum(int(m.sum()) for o, m in zip(scene.objects, masks) if getattr(o, name) == value)
            assert abs(float(a[:, c].sum()) * 256 - area) <= 0.05 * area + 1e-6, (name, value)
