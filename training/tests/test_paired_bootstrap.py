import json
import os

import pytest

from pixel_sail.paired_bootstrap import metrics_of, paired_differences

NOTES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "notes")


def _tally(image, inter, union, mcq_right, meteor):
    return {"image": image, "res": {"intersection": inter, "union": union, "ious": [inter / union]},
            "noTarget": {"right": 0, "n": 0}, "vtres": {"intersection": inter, "union": union, "ious": [inter / union]},
            "mcq": {"right": mcq_right, "n": 1}, "meteor": [meteor]}


def _report(tallies):
    return {"perImage": tallies}


def test_pools_tallies_like_the_engine():
    m = metrics_of([_tally(1, 1, 2, 1, 0.5), _tally(2, 0, 2, 0, 0.1)])
    assert m["resCIoU"] == 0.25 and m["resGIoU"] == 0.25 and m["mcqAccuracy"] == 0.5
    assert abs(m["meteor"] - 0.3) < 1e-12
    assert abs(m["overall"] - (30 + 50 + 25) / 3) < 1e-9


def test_identical_models_differ_by_exactly_zero():
    a = _report([_tally(i, i % 3, 4, i % 2, 0.1 * (i % 5)) for i in range(30)])
    d = paired_differences(a, a)
    assert all(v["delta"] == 0 and tuple(v["ci95"]) == (0, 0) for v in d.values())


def test_a_model_better_on_every_image_is_resolved_and_a_mixed_one_is_not():
    base = [_tally(i, 1, 4, 0, 0.3) for i in range(40)]
    better = [_tally(i, 2, 4, 1, 0.4) for i in range(40)]
    mixed = [_tally(i, 2 if i % 2 else 0, 4, i % 2, 0.3) for i in range(40)]
    d = paired_differences(_report(base), _report(better))
    assert d["resCIoU"]["ci95"][0] > 0 and d["mcqAccuracy"]["ci95"][0] > 0 and d["overall"]["ci95"][0] > 0
    m = paired_differences(_report(base), _report(mixed))
    assert m["resCIoU"]["ci95"][0] < 0 < m["resCIoU"]["ci95"][1] or m["resCIoU"]["delta"] == 0


def test_refuses_reports_of_different_splits():
    with pytest.raises(ValueError, match="same images"):
        paired_differences(_report([_tally(1, 1, 2, 1, 0.5)]), _report([_tally(2, 1, 2, 1, 0.5)]))


@pytest.mark.parametrize("name", ["ablation-300.json", "ablation-2000.json"])
def test_reproduces_the_pooled_figures_of_real_engine_reports(name):
    # Reports written by `pixel-sail eval --json` (src/eval/bootstrap.ts pools them the same way).
    results = json.load(open(os.path.join(NOTES, name)))
    assert results, name
    for arm in results.values():
        ev = arm["eval"]
        m = metrics_of(ev["perImage"])
        assert abs(m["resCIoU"] - ev["res"]["cIoU"]) < 1e-9
        assert abs(m["noTargetAccuracy"] - ev["res"]["noTargetAccuracy"]) < 1e-9
        assert abs(m["meteor"] - ev["caption"]["meteor"]) < 1e-9
        assert abs(m["mcqAccuracy"] - ev["mcq"]["accuracy"]) < 1e-9
        assert abs(m["overall"] - ev["overall"]) < 1e-9
        lo, hi = ev["ci95"]["intervals"]["overall"]
        assert lo <= ev["overall"] <= hi
