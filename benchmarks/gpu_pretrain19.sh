#!/usr/bin/env bash
# Issue 14, point 8: on a lent GPU (the `device` tool), pretrain the 19x19 `small` preset on the
# shared records for at most 8 minutes and bring the checkpoint back under $OUT; it is then
# measured on the CPU machine like any other (benchmarks/gnugo_match.py, komi eval-moves) and
# shipped (python -m agent.shipped) if it is stronger than the shipped 19x19 network.
#
#   run(command="bash benchmarks/gpu_pretrain19.sh", timeout_s=600)
#
# A dry run on a CPU checks the script end to end in a minute: DRY_RUN=1 bash benchmarks/gpu_pretrain19.sh
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-runs/gpu}
mkdir -p "$OUT"
if [ ! -d .venv ]; then
  python3 -m venv .venv
  .venv/bin/pip install -q torch scikit-build-core nanobind   # the machine's CUDA build of torch
  .venv/bin/pip install -q --no-build-isolation -e .
fi
. .venv/bin/activate
DATA=${DATA:-../shared/data/go/train-19x19.tar.xz}
if [ "${DRY_RUN:-0}" = 1 ]; then
  ARGS=(--device cpu --minutes 0.5 --preset tiny)
else
  ARGS=(--device cuda --minutes 8 --preset small --batch-size 512 --lr 0.1 --val-every 2000)
fi
python -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())" | tee "$OUT/env.txt"
komi pretrain --board-size 19 --sgf "$DATA" --val-fraction 0.02 "${ARGS[@]}" \
  --checkpoint-dir "$OUT/pt19-gpu" --log-dir "$OUT/tb" --checkpoint-minutes 2 --no-progress 2>&1 | tee "$OUT/pretrain.log"
# weights and metadata only (no optimizer state) come back
find "$OUT/pt19-gpu" -name '*.optim.*' -delete
ls -la "$OUT/pt19-gpu"
