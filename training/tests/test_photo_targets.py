"""Real-photo targets (training/photo_targets.py, pixel_sail/photo_targets.py): the confidence filter drops what
it should on constructed saliency maps, and no test-scene photo ever becomes a train target."""
import json
import os

import numpy as np
import pytest

from conftest import REPO, TRAINING
import photo_targets as script
from pixel_sail import coco_rle
from pixel_sail import photo_targets as pt


def disk(h, w, cx, cy, r, value=1.0, soft=0.0):
    """A saliency map with one disk of ``value``; ``soft`` > 0 adds a linear ramp of that width outside it."""
    yy, xx = np.mgrid[0:h, 0:w]
    d = np.hypot(xx - cx, yy - cy)
    out = np.where(d <= r, value, 0.0)
    if soft:
        ramp = np.clip(1 - (d - r) / soft, 0, 1) * value
        out = np.maximum(out, np.where(d > r, ramp, 0))
    return out.astype(np.float32)


def test_a_clean_object_is_kept_with_its_mask():
    sal = disk(200, 300, 150, 100, 30)
    kept, dropped = pt.photo_targets((sal * 255).astype(np.uint8), "clean")
    assert len(kept) == 1 and dropped == []
    t = kept[0]
    x, y, w, h = t["box"]
    assert x <= 120 and y <= 70 and x + w >= 181 and y + h >= 131, "the crop holds the whole object"
    assert w <= 2.0 * 61 + 2 and h <= 2.0 * 61 + 2, "and is at most MARGIN[1] times its box"
    assert tuple(t["size"]) == (w, h), "a small crop keeps its size"
    want = sal[y:y + h, x:x + w] >= 0.5
    assert np.array_equal(t["mask"], want)
    # Deterministic: the same photo gives the same crop.
    again, _ = pt.photo_targets((sal * 255).astype(np.uint8), "clean")
    assert again[0]["box"] == t["box"]


def test_unsure_maps_are_dropped_with_the_rule_they_break():
    h, w = 200, 300
    # An object in a separate salient ring 3 px away: the crop holds both, so a prompt there is ambiguous.
    ring = disk(h, w, 150, 100, 26) - disk(h, w, 150, 100, 22)
    two = np.maximum(disk(h, w, 150, 100, 19), ring)
    cases = {
        "mean saliency": disk(h, w, 150, 100, 30, value=0.7),  # foreground, but ISNet is only 70 % sure
        # A sure core in a wide haze ISNet half-believes (0.4, below the threshold): a matte, not a cut.
        "hesitant pixels": np.maximum(disk(h, w, 150, 100, 25), disk(h, w, 150, 100, 32, value=0.4)),
        "no one main component": two,
    }
    for name, sal in cases.items():
        kept, dropped = pt.photo_targets(sal, name)
        first = dropped[0]
        assert not any(k["box"] == first["box"] for k in kept)
        assert name in first["reason"], (name, first)
    # A speck is no object; a map with nothing salient gives no crop and says why.
    kept, dropped = pt.photo_targets(disk(h, w, 150, 100, 2), "speck")
    assert kept == [] and "no salient component" in dropped[0]["reason"]
    # Everything salient: the object fills the (clipped) crop, so a box prompt would already be the answer.
    kept, dropped = pt.photo_targets(np.ones((h, w), np.float32), "all")
    assert kept == [] and "> 80%" in dropped[0]["reason"]


def test_verdict_rules_one_by_one():
    good = {"area": 0.3, "other": 0.0, "fgConf": 0.98, "band": 0.05, "bimodal": 0.97}
    assert pt.verdict(good, 40) is None
    for key, bad, words in (("area", 0.01, "< 3%"), ("area", 0.9, "> 80%"), ("other", 0.2, "no one main component"),
                            ("fgConf", 0.8, "mean saliency"), ("band", 0.5, "hesitant"), ("bimodal", 0.7, "|2s-1|")):
        assert words in pt.verdict({**good, key: bad}, 40)
    assert "px a side" in pt.verdict(good, 10)


def test_large_crops_are_stored_at_most_512_wide():
    sal = disk(1600, 2400, 1200, 800, 400)
    kept, _ = pt.photo_targets(sal, "big")
    assert len(kept) == 1 and max(kept[0]["size"]) == pt.OUT_LONG_SIDE
    assert kept[0]["mask"].shape == (kept[0]["size"][1], kept[0]["size"][0])


def fake_split():
    return {"scenes": [
        {"scene": "a", "split": "train", "photos": [{"path": "p/a.jpg", "sha256": "a" * 64}]},
        {"scene": "b", "split": "test", "photos": [{"path": "p/b1.jpg", "sha256": "b" * 64}, {"path": "p/b2.jpg", "sha256": "c" * 64}]},
        # The same file shipped again under another scene on the train side: its content is a test photo's.
        {"scene": "c", "split": "train", "photos": [{"path": "q/copy-of-b1.jpg", "sha256": "b" * 64}, {"path": "q/c.jpg", "sha256": "d" * 64}]},
    ]}


def test_no_test_photo_ever_becomes_a_train_target():
    asked = []

    def saliency_of(sha):
        asked.append(sha)
        return disk(120, 160, 80, 60, 20)  # every photo has a clean object, so only the split can keep one out

    doc = script.build(fake_split(), "train", saliency_of)
    assert sorted(asked) == ["a" * 64, "d" * 64], "the teacher's maps of test photos are never even read"
    assert {t["scene"] for t in doc["targets"]} == {"a", "c"}
    assert {t["sha256"] for t in doc["targets"]} == {"a" * 64, "d" * 64}
    test_doc = script.build(fake_split(), "test", saliency_of)
    assert {t["scene"] for t in test_doc["targets"]} == {"b"}
    with pytest.raises(ValueError, match="held-out photo"):
        pt.check_train_targets(fake_split(), doc["targets"] + test_doc["targets"][:1])


def test_targets_round_trip_through_rle():
    doc = script.build(fake_split(), "test", lambda sha: disk(120, 160, 80, 60, 20))
    for t in doc["targets"]:
        m = coco_rle.decode(t["rle"])
        assert list(m.shape) == [t["size"][1], t["size"][0]] and int(m.sum()) == t["area"]


def committed_split():
    with open(os.path.join(TRAINING, "data", "real_photo_scenes.json"), encoding="utf-8") as fh:
        return json.load(fh)


def test_committed_test_targets_come_from_test_scenes_only():
    with open(os.path.join(REPO, "test", "data", "real_photo_targets.json"), encoding="utf-8") as fh:
        doc = json.load(fh)
    split = committed_split()
    photos = {(s["scene"], p["path"], p["sha256"]) for s in split["scenes"] if s["split"] == "test" for p in s["photos"]}
    assert doc["split"] == "test" and doc["targets"]
    for t in doc["targets"]:
        assert (t["scene"], t["photo"], t["sha256"]) in photos, t["id"]
        m = coco_rle.decode(t["rle"])
        assert list(m.shape) == [t["size"][1], t["size"][0]] and int(m.sum()) == t["area"] > 0


def test_cached_train_targets_never_hold_a_test_photo():
    if not os.path.exists(script.TRAIN_FILE):
        pytest.skip(f"{script.TRAIN_FILE} is made by `training/photo_targets.py make` (not committed)")
    with open(script.TRAIN_FILE, encoding="utf-8") as fh:
        doc = json.load(fh)
    pt.check_train_targets(committed_split(), doc["targets"])
    assert doc["split"] == "train"


def test_specks_are_noise_but_a_second_object_is_not():
    h, w = 200, 300
    sal = disk(h, w, 150, 100, 25)  # 1961 px
    specks = sal.copy()
    for k in range(60):  # 60 isolated 2×2 specks around it (240 px, 12 % of the object, each 0.2 %)
        x, y = 112 + (k % 12) * 7, 62 + (k // 12) * 19
        if np.hypot(x - 150, y - 100) > 30:
            specks[y:y + 2, x:x + 2] = 1.0
    kept, dropped = pt.photo_targets(specks, "specks")
    assert len(kept) == 1 and kept[0]["stats"]["other"] == 0.0
    blob = sal.copy()
    blob[67:82, 109:124] = 1.0  # one 15×15 object (225 px, 11 %) 6 px off the disk, inside its crop
    kept, dropped = pt.photo_targets(blob, "blob")
    assert not kept and "no one main component" in dropped[0]["reason"]


def test_loading_train_targets_refuses_a_test_photo(tmp_path):
    from PIL import Image
    root = tmp_path / "tree"
    (root / "p").mkdir(parents=True)
    Image.fromarray(np.full((120, 160, 3), 80, np.uint8)).save(root / "p" / "a.png")
    doc = script.build(fake_split(), "train", lambda sha: disk(120, 160, 80, 60, 20))
    doc["targets"] = [t for t in doc["targets"] if t["scene"] == "a"]
    for t in doc["targets"]:
        t["photo"] = "p/a.png"
    train = tmp_path / "train.json"
    train.write_text(json.dumps(doc), encoding="utf-8")
    loaded = list(pt.load_train_targets(str(train), fake_split(), str(root)))
    assert len(loaded) == 1
    t, rgb, m = loaded[0]
    assert rgb.shape == (t["size"][1], t["size"][0], 3) and m.shape == rgb.shape[:2] and m.sum() == t["area"]
    bad = dict(doc, targets=doc["targets"] + [dict(doc["targets"][0], id="b/x/0", scene="b", sha256="b" * 64)])
    train.write_text(json.dumps(bad), encoding="utf-8")
    with pytest.raises(ValueError, match="held-out photo"):
        list(pt.load_train_targets(str(train), fake_split(), str(root)))
    train.write_text(json.dumps(dict(doc, split="test")), encoding="utf-8")
    with pytest.raises(ValueError, match="not train targets"):
        list(pt.load_train_targets(str(train), fake_split(), str(root)))
