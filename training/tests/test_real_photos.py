"""The committed real-photo split (training/data/real_photo_scenes.json) is what the rules make, and keeps its
promises: test ≥ 40 scenes, the scored photos on the test side, the distillation pool's photos on the train side."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import real_photos  # noqa: E402
from distill_cache import PHOTOS as POOL_PHOTOS  # noqa: E402


def test_committed_split_is_the_rule():
    doc = real_photos.load_split()
    split = real_photos.assign_splits()
    assert {s["scene"]: s["split"] for s in doc["scenes"]} == split
    assert {s["scene"] for s in doc["scenes"]} == set(real_photos.SCENES)
    for s in doc["scenes"]:
        assert [p["path"] for p in s["photos"]] == real_photos.SCENES[s["scene"]][1]
        assert all(len(p["sha256"]) == 64 for p in s["photos"])


def test_test_side_is_large_enough_and_holds_the_scored_photos():
    doc = real_photos.load_split()
    test = {s["scene"] for s in doc["scenes"] if s["split"] == "test"}
    assert len(test) >= 40 and doc["test_scenes"] == len(test)
    scored = {os.path.splitext(f)[0] for f in os.listdir(os.path.join(real_photos.HERE, "..", "media", "samples", "photos"))
              if f.endswith(".jpg")}
    assert scored <= test


def test_photos_already_trained_on_never_reach_the_test_side():
    doc = real_photos.load_split()
    for s in doc["scenes"]:
        names = {os.path.basename(p["path"]) for p in s["photos"]}
        if names & set(POOL_PHOTOS):
            assert s["split"] == "train", s["scene"]


def test_a_photo_belongs_to_one_scene():
    paths = [p for _, files in real_photos.SCENES.values() for p in files]
    assert len(paths) == len(set(paths))
