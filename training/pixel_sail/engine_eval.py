"""Scoring a checkpoint the way users run it: export to ONNX, then `pixel-sail eval` through the engine."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from typing import Optional

TRAINING = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO = os.path.dirname(TRAINING)


def export_and_evaluate(checkpoint: str, dataset: str, model_dir: Optional[str] = None, limit: Optional[int] = None) -> dict:
    """Exports ``checkpoint`` (to ``model_dir``, or a temporary folder) and returns the eval report."""
    with tempfile.TemporaryDirectory() as tmp:
        target = model_dir or os.path.join(tmp, "model")
        subprocess.run([sys.executable, os.path.join(TRAINING, "export.py"), "--out", target, "--checkpoint", checkpoint,
                        "--no-fixtures"], check=True, capture_output=True)
        cmd = ["node", os.path.join(REPO, "bin", "pixel-sail.js"), "eval", dataset, "--model", target, "--device", "cpu", "--json"]
        if limit:
            cmd += ["--limit", str(limit)]
        return json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)


METRIC_HEADER = "RES cIoU | RES gIoU | no-target | METEOR | MCQ | V-T cIoU | V-T gIoU | overall"


def metric_cells(e: dict) -> str:
    """One Markdown table row fragment of the eval metrics, in METRIC_HEADER order."""
    return (f"{e['res']['cIoU']:.3f} | {e['res']['gIoU']:.3f} | {e['res']['noTargetAccuracy']:.2f} | {e['caption']['meteor']:.3f} | "
            f"{e['mcq']['accuracy']:.2f} | {e['vtres']['cIoU']:.3f} | {e['vtres']['gIoU']:.3f} | {e['overall']:.1f}")
