import json
import os

import numpy as np

from conftest import REPO
from pixel_sail import coco_rle


def test_round_trips_every_reference_string_from_the_official_toolkit():
    with open(os.path.join(REPO, "test", "data", "coco", "cocoapi_fakesegm100_results.json")) as fh:
        refs = json.load(fh)
    assert len(refs) == 734
    for r in refs:
        mask = coco_rle.decode(r["segmentation"])
        assert coco_rle.encode(mask) == r["segmentation"]


def test_known_small_masks():
    m = np.zeros((3, 4), dtype=bool)
    m[1, 1:3] = True  # column-major: 4 zeros, 1 one, 2 zeros, 1 one, 4 zeros
    assert coco_rle.encode_counts(m) == [4, 1, 2, 1, 4]
    rle = coco_rle.encode(m)
    assert coco_rle.area(rle) == 2 and coco_rle.bbox(m) == [1.0, 1.0, 2.0, 1.0]
    full = np.ones((2, 2), dtype=bool)
    assert coco_rle.encode_counts(full) == [0, 4]
    assert (coco_rle.decode(coco_rle.encode(full)) == full).all()
