"""Paired comparison of two evaluations of one test split (`pixel-sail eval --json` reports with `perImage`).

An ablation on 50 scenes differs by a few points between arms; whether a difference is the technique or
the draw of scenes is read from a paired bootstrap: the same resample of images scores both models, so the
scenes' own difficulty cancels. The pooling mirrors src/eval/bootstrap.ts (`metricsOf`), which the engine's
own interval uses; tests/test_paired_bootstrap.py checks it against the pooled figures of a real report.
"""
from __future__ import annotations

import random
from typing import Dict, List, Sequence, Tuple

METRICS = ("resCIoU", "resGIoU", "noTargetAccuracy", "meteor", "mcqAccuracy", "vtresCIoU", "vtresGIoU", "overall")


def metrics_of(tallies: Sequence[dict]) -> Dict[str, float]:
    res_i = res_u = vt_i = vt_u = 0.0
    res_ious: List[float] = []
    vt_ious: List[float] = []
    nt_right = nt_n = mcq_right = mcq_n = 0
    meteor: List[float] = []
    for t in tallies:
        res_i += t["res"]["intersection"]; res_u += t["res"]["union"]; res_ious += t["res"]["ious"]
        vt_i += t["vtres"]["intersection"]; vt_u += t["vtres"]["union"]; vt_ious += t["vtres"]["ious"]
        nt_right += t["noTarget"]["right"]; nt_n += t["noTarget"]["n"]
        mcq_right += t["mcq"]["right"]; mcq_n += t["mcq"]["n"]
        meteor += t["meteor"]
    m = {
        "resCIoU": res_i / res_u if res_u else 1.0,
        "resGIoU": sum(res_ious) / len(res_ious) if res_ious else 0.0,
        "noTargetAccuracy": nt_right / nt_n if nt_n else 0.0,
        "meteor": sum(meteor) / len(meteor) if meteor else 0.0,
        "mcqAccuracy": mcq_right / mcq_n if mcq_n else 0.0,
        "vtresCIoU": vt_i / vt_u if vt_u else 1.0,
        "vtresGIoU": sum(vt_ious) / len(vt_ious) if vt_ious else 0.0,
    }
    m["overall"] = (m["meteor"] * 100 + 100 * m["mcqAccuracy"] + 100 * (m["vtresCIoU"] + m["vtresGIoU"]) / 2) / 3
    return m


def _interval(draws: List[float]) -> Tuple[float, float]:
    s = sorted(draws)
    at = lambda q: s[min(len(s) - 1, max(0, round(q * (len(s) - 1))))]  # noqa: E731
    return at(0.025), at(0.975)


def paired_differences(a: dict, b: dict, resamples: int = 2000, seed: int = 1) -> Dict[str, dict]:
    """b − a for every metric, with a 95 % paired-bootstrap interval over images (and over photos for the
    real-photo IoU when both reports have it). Raises ValueError when the reports are not of one split."""
    ta = {t["image"]: t for t in a["perImage"]}
    tb = {t["image"]: t for t in b["perImage"]}
    if set(ta) != set(tb):
        raise ValueError("the two reports are not of the same images; a paired comparison needs one split")
    images = sorted(ta)
    rng = random.Random(seed)
    point_a, point_b = metrics_of([ta[i] for i in images]), metrics_of([tb[i] for i in images])
    draws: Dict[str, List[float]] = {m: [] for m in METRICS}
    for _ in range(resamples):
        pick = [images[rng.randrange(len(images))] for _ in images]
        ma, mb = metrics_of([ta[i] for i in pick]), metrics_of([tb[i] for i in pick])
        for m in METRICS:
            draws[m].append(mb[m] - ma[m])
    out = {m: {"delta": point_b[m] - point_a[m], "ci95": _interval(draws[m])} for m in METRICS}
    pa, pb = (r.get("realPhotos", {}).get("photos") for r in (a, b))
    if pa and pb and [p["photo"] for p in pa] == [p["photo"] for p in pb]:
        diffs = [q["iou"] - p["iou"] for p, q in zip(pa, pb)]
        photo_draws = [sum(diffs[rng.randrange(len(diffs))] for _ in diffs) / len(diffs) for _ in range(resamples)]
        out["realPhotoIoU"] = {"delta": sum(diffs) / len(diffs), "ci95": _interval(photo_draws)}
    return out
