#!/bin/sh
# Issue 19's shape probes at one to two orders of magnitude more images than the 2-core machine gave them
# (models/default/MODEL_CARD.md, "What the probes say limits the model"), for a GPU session:
#   PYTHON=python3 OUT=/some/dir sh training/probe_gpu.sh
# Renders one pool of easy scenes with every core (training/probe_easy.py --pool), then trains each learner one
# pass over it, in the order that matters most, each capped in minutes; a run that would not fit the time left
# (BUDGET seconds from the start) is skipped. Logs: $OUT/<run>.jsonl (probe_easy.py's rows) and $OUT/probe_gpu.log.
# Through the workplace's device tool, whose calls carry at most 64 MiB of working tree: move
# training/checkpoints/default.pt and phase1.pt aside for the call (the tree is 108 MB with them), carry a
# tokenizer-only copy made beforehand with
#   /usr/bin/python3 -c "import torch; ck = torch.load('training/checkpoints/default.pt'); torch.save({'config': ck['config'], 'tokenizer': ck['tokenizer']}, 'training/runs/probe-tok.pt')"
# and run: PYTHONUNBUFFERED=1 PYTHON=python3 TOKENIZER_FROM=training/runs/probe-tok.pt sh training/probe_gpu.sh
# with carry ["training/runs/probe-tok.pt"] and a 580 s limit (about 9 minutes; BUDGET=520 leaves the margin).
set -u
cd "$(dirname "$0")/.."
PY=${PYTHON:-/usr/bin/python3}
OUT=${OUT:-training/runs/probe-gpu}
POOL=${POOL:-/tmp/easy-pool}
RUNS=${RUNS:-/tmp/probe-gpu-runs}
IMAGES=${IMAGES:-160000}
RENDER_S=${RENDER_S:-120}
BUDGET=${BUDGET:-520}
DEVICE=${DEVICE:-cuda}
VAL=${VAL:-1000}
WORKERS=${WORKERS:-$(( $(nproc) - 1 ))}
TOKENIZER_FROM=${TOKENIZER_FROM:-training/checkpoints/default.pt}   # only its config and tokenizer are read
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}   # the pool's workers fork from a process that has imported torch
SCALE=${SCALE:-1}   # multiplies every run's minutes (a CPU rehearsal uses a small one)
mkdir -p "$OUT"
START=$(date +%s)
LOG="$OUT/probe_gpu.log"
{ date -u; nproc; nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1 | tail -1; "$PY" -c 'import torch; print("torch", torch.__version__, torch.cuda.is_available())'; } >> "$LOG" 2>&1

# name, minutes, then probe_easy.py's arguments
run() {
  name=$1; minutes=$2; shift 2
  left=$(( BUDGET - ($(date +%s) - START) ))
  need=$("$PY" -c "print(int($minutes * $SCALE * 60 + 20))")
  if [ "$left" -lt "$need" ]; then echo "skip $name: ${left}s left, needs ${need}s" >> "$LOG"; return; fi
  echo "== $name ($(date -u +%T), ${left}s left)" >> "$LOG"
  timeout $(( left )) "$PY" training/probe_easy.py --out "$RUNS/$name" --device "$DEVICE" --pool "$POOL" \
    --pool-images "$IMAGES" --pool-seconds "$RENDER_S" --workers "$WORKERS" --val "$VAL" --batch 64 --lr 1e-3 \
    --warmup 50 --tokenizer-from "$TOKENIZER_FROM" --minutes "$("$PY" -c "print($minutes * $SCALE)")" "$@" >> "$LOG" 2>&1
  echo "exit $? $name" >> "$LOG"
  cp "$RUNS/$name/log.jsonl" "$OUT/$name.jsonl" 2>/dev/null
}

# (e) at scale: the shipped-size image side with the most direct shape loss. The first run also renders the pool.
run head192 1.0 --objective shape
# (i) at scale: the convolutional control: is shape learnable from this many of these images at all?
run cnn 0.5 --objective shape --arch cnn
# (b) at scale: the shipped-size model answering "What shape is the object?" through the language model only
run lm192 1.25 --objective lm
# capacity, each at its own images-per-second: 2x width (hidden 384, 12 heads, MLP 1024), then 2x depth
run wide 1.0 --objective shape --hidden 384 --heads 12 --intermediate 1024
run deep 1.0 --objective shape --layers 12
echo "done $(( $(date +%s) - START ))s" >> "$LOG"
