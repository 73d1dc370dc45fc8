#!/bin/bash
# The largest point of the learning curves, sized to a wall-clock budget on whatever device is
# present (issue 13, item 7: one prepared run on a lent GPU, where the trainer takes bf16
# autocast). Each size trains the main job's generator recipe (`arvideo bench learning`) for
# as many steps as fit its share of the budget, scored at 4 points on held-out windows. The
# step count comes from a 200-step calibration run of the largest size: seconds per step
# from its second 100 steps (the first pay for warm-up: on an H200 they cost 2x), and
# start-up + one evaluation from the rest of its wall time. STEPS=N skips the calibration. A
# size that still overruns is cut by `timeout` and reported as stopped short with its points.
#   bash benchmarks/learning_point.sh TOKENS OUT BUDGET_S SIZE... [ARVIDEO=arvideo]
# e.g. bash benchmarks/learning_point.sh outputs/demo/data/pong-tokens /tmp/lp 420 128x4 256x8
# benchmarks/results/learning_gpu.md says what one H200 run measured.
set -uo pipefail
TOKENS=$1; OUT=$2; BUDGET=$3; shift 3
SIZES=("$@")
BIN=${ARVIDEO:-arvideo}
RUNS=${RUNS:-$OUT/runs}
WINDOWS=${WINDOWS:-64}
mkdir -p "$OUT" "$RUNS"
json_list() { python3 -c 'import json, sys; print(json.dumps(sys.argv[1:]))' "$@"; }

# steps that fit BUDGET_S / len(SIZES) seconds, from the calibration's curve and wall time
size_steps() {
  python3 - "$RUNS/calibration" "$1" "$2" "$BUDGET" "${#SIZES[@]}" <<'EOF'
import json, sys
from pathlib import Path
runs, size, wall, budget, sizes = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
tag = "w{}_d{}".format(*size.lower().split("x"))
lines = Path(runs, tag, "curve.jsonl").read_text().splitlines()
first, last = (json.loads(line) for line in lines[-2:])
per_step = (last["train_s"] - first["train_s"]) / (last["step"] - first["step"])
overhead = (wall - last["train_s"]) / 2  # start-up + one evaluation (start-up halved)
share = budget / sizes
steps = int(0.85 * (share - 5 * overhead) / per_step) // 40 * 40
steps = max(40, min(steps, 30000))
print(f"calibration: {per_step * 1000:.1f} ms/step, {overhead:.1f} s start-up + evaluation, "
      f"{share:.0f} s per size -> {steps} steps", file=sys.stderr)
print(steps)
EOF
}

largest=${SIZES[-1]}
if [ -n "${STEPS:-}" ]; then
  steps=$STEPS
else
  start=$(date +%s.%N)
  $BIN bench learning --tokens "$TOKENS" --sizes "$(json_list "$largest")" --steps 200 \
    --every_steps 100 --windows "$WINDOWS" --runs "$RUNS/calibration" --out "$RUNS/calibration" \
    > "$RUNS/calibration.log" 2>&1 || { tail -30 "$RUNS/calibration.log"; exit 1; }
  wall=$(python3 -c "import time; print(time.time() - $start)")
  steps=$(size_steps "$largest" "$wall")
fi
every=$(( steps / 4 ))
share=$(( ${BUDGET%.*} / ${#SIZES[@]} ))
for size in "${SIZES[@]}"; do
  timeout $(( share + 30 )) $BIN bench learning --tokens "$TOKENS" --sizes "$(json_list "$size")" \
    --steps "$steps" --every_steps "$every" --windows "$WINDOWS" --runs "$RUNS" --out "$RUNS" \
    > "$RUNS/$size.log" 2>&1
  echo "size $size: exit $?; the end of its log:"; tail -5 "$RUNS/$size.log"
done
$BIN bench learning --tokens "$TOKENS" --sizes "$(json_list "${SIZES[@]}")" --steps "$steps" \
  --every_steps "$every" --windows "$WINDOWS" --runs "$RUNS" --out "$OUT" --report_only true
