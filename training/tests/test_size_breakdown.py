import json
import os
import subprocess
import sys

SCRIPT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "size_breakdown.py")


def _split(tmp_path, res_scores):
    """Six 192-px images, object i covering i+1 patches; shape questions right only on the three largest."""
    images, anns, tasks, per_image = [], [], [], []
    for i in range(6):
        images.append({"id": i, "file_name": f"{i}.png", "width": 192, "height": 192})
        anns.append({"id": i, "image_id": i, "area": 256 * (i + 1)})
        tasks.append({"id": 2 * i, "image_id": i, "type": "mcq", "kind": "shape", "region_id": i})
        tasks.append({"id": 2 * i + 1, "image_id": i, "type": "res", "kind": "attribute", "target_ids": [i]})
        per_image.append({"image": i, "res": {"intersection": 0, "union": 1, "ious": [res_scores[i]]},
                          "noTarget": {"right": 0, "n": 0}, "vtres": {"intersection": 0, "union": 0, "ious": []},
                          "mcq": {"right": int(i >= 3), "n": 1}, "meteor": []})
    (tmp_path / "ground_truth.json").write_text(json.dumps({"images": images, "annotations": anns, "tasks": tasks}))
    (tmp_path / "eval.json").write_text(json.dumps({"perImage": per_image}))


def _run(tmp_path):
    return subprocess.run([sys.executable, SCRIPT, "--dataset", str(tmp_path), "--report", str(tmp_path / "eval.json"),
                           "--json"], capture_output=True, text=True)


def test_puts_questions_and_expressions_in_size_terciles(tmp_path):
    _split(tmp_path, [0.0, 0.1, 0.2, 0.3, 0.4, 0.5])
    r = _run(tmp_path)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    shape = [v["accuracy"] for v in out["mcq"]["shape"].values()]
    assert shape == [0.0, 0.5, 1.0]  # sizes 1-2 | 3-4 | 5-6 patches
    res = [round(v["gIoU"], 3) for v in out["res"]["attribute"].values()]
    assert res == [0.05, 0.25, 0.45]


def test_refuses_a_report_of_another_split(tmp_path):
    _split(tmp_path, [0.0] * 6)
    report = json.loads((tmp_path / "eval.json").read_text())
    report["perImage"][0]["res"]["ious"].append(1.0)
    (tmp_path / "eval.json").write_text(json.dumps(report))
    r = _run(tmp_path)
    assert r.returncode != 0 and "report and dataset differ" in r.stderr


def test_says_which_file_it_cannot_read(tmp_path):
    _split(tmp_path, [0.0] * 6)
    (tmp_path / "eval.json").write_text("{not json")
    r = _run(tmp_path)
    assert r.returncode != 0 and "cannot read the report" in r.stderr and "Traceback" not in r.stderr
    (tmp_path / "ground_truth.json").unlink()
    r = _run(tmp_path)
    assert r.returncode != 0 and "cannot read the dataset" in r.stderr and "Traceback" not in r.stderr
