"""training/meteor.py against METEOR worked out by hand (nltk defaults: alpha 0.9, beta 3, gamma 0.5).

score = Fmean · (1 − gamma · (chunks / matches)^beta), Fmean = P·R / (alpha·P + (1 − alpha)·R), so recall
(matches / reference words) weighs nine times precision: the score depends on which side is the ground
truth, and on the words' order. Both are pinned here, so swapping the arguments (as the reference's
evaluation code does) or a matcher that ignores order fails.
"""
import json
import os
import subprocess
import sys

import pytest

SCRIPT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "meteor.py")

pytest.importorskip("nltk")


def meteor(pairs):
    out = subprocess.run([sys.executable, SCRIPT], input=json.dumps({"pairs": pairs}), capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


SHORT = "a red square"
LONG = "a red square on the left side of the image"


def test_the_ground_truth_is_the_reference():
    r = meteor([{"prediction": LONG, "reference": SHORT}, {"prediction": SHORT, "reference": LONG}])
    assert r["order"] == "reference = ground truth, hypothesis = prediction"
    # 3 matches in one chunk; penalty 0.5 · (1/3)^3 = 1/54.
    # A long prediction of a short truth: P = 3/10, R = 1 → Fmean = 0.3 / (0.27 + 0.1) = 30/37.
    assert r["scores"][0] == pytest.approx(30 / 37 * (1 - 1 / 54), abs=1e-9)
    # The same words the other way round: P = 1, R = 3/10 → Fmean = 0.3 / (0.9 + 0.03) = 10/31.
    assert r["scores"][1] == pytest.approx(10 / 31 * (1 - 1 / 54), abs=1e-9)
    assert r["meteor"] == pytest.approx((r["scores"][0] + r["scores"][1]) / 2)


def test_word_order_costs_fragmentation():
    r = meteor([{"prediction": "a red square", "reference": SHORT}, {"prediction": "square red a", "reference": SHORT}])
    # In order: one chunk → 1 − 0.5 · (1/3)^3. Reversed: three chunks of one word → 1 − 0.5 · 1^3.
    assert r["scores"] == pytest.approx([1 - 1 / 54, 0.5], abs=1e-9)


def test_no_captions_score_zero():
    assert meteor([]) == {**meteor([]), "meteor": 0.0, "n": 0, "scores": []}
