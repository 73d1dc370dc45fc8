#!/bin/bash
# The largest point of the learning curves, sized to a wall-clock budget on whatever device is
# present (issue 13, item 7: one prepared run on a lent GPU, where the trainer takes bf16
# autocast). Each size trains the main job's generator recipe (`arvideo bench learning`) for
# as many steps as fit its share of the budget, scored at 6 points on held-out windows. The
# step count comes from a 100-step calibration run of the largest size (seconds per step,
# plus start-up and one evaluation), so the cosine schedule ends where the run does; a size
# that still overruns is cut by `timeout` and reported as stopped short with its points.
#   bash benchmarks/learning_point.sh TOKENS OUT BUDGET_S SIZE... [ARVIDEO=arvideo]
# e.g. bash benchmarks/learning_point.sh outputs/demo/data/pong-tokens /tmp/lp 420 128x4 256x8
set -uo pipefail
TOKENS=$1; OUT=$2; BUDGET=$3; shift 3
SIZES=("$@")
BIN=${ARVIDEO:-arvideo}
RUNS=${RUNS:-$OUT/runs}
WINDOWS=${WINDOWS:-64}
mkdir -p "$OUT" "$RUNS"
json_list() { python3 -c 'import json, sys; print(json.dumps(sys.argv[1:]))' "$@"; }

largest=${SIZES[-1]}
start=$(date +%s.%N)
$BIN bench learning --tokens "$TOKENS" --sizes "$(json_list "$largest")" --steps 100 \
  --every_steps 100 --windows "$WINDOWS" --runs "$RUNS/calibration" --out "$RUNS/calibration" \
  > "$RUNS/calibration.log" 2>&1 || { tail -30 "$RUNS/calibration.log"; exit 1; }
wall=$(python3 -c "import time; print(time.time() - $start)")
read -r steps every <<<"$(python3 - "$RUNS/calibration" "$largest" "$wall" "$BUDGET" "${#SIZES[@]}" <<'EOF'
import json, sys
from pathlib import Path
runs, size, wall, budget, sizes = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
tag = "w{}_d{}".format(*size.lower().split("x"))
point = json.loads(Path(runs, tag, "curve.jsonl").read_text().splitlines()[-1])
per_step = point["train_s"] / point["step"]
overhead = wall - point["train_s"]  # start-up + one evaluation (an over-estimate of either)
share = budget / sizes
steps = int(0.85 * (share - 7 * overhead) / per_step) // 60 * 60
steps = max(60, min(steps, 30000))
print(f"calibration: {per_step * 1000:.1f} ms/step, {overhead:.1f} s start-up + evaluation, "
      f"{share:.0f} s per size -> {steps} steps", file=sys.stderr)
print(steps, steps // 6)
EOF
)"
share=$(( ${BUDGET%.*} / ${#SIZES[@]} ))
for size in "${SIZES[@]}"; do
  timeout $(( share + 60 )) $BIN bench learning --tokens "$TOKENS" --sizes "$(json_list "$size")" \
    --steps "$steps" --every_steps "$every" --windows "$WINDOWS" --runs "$RUNS" --out "$RUNS" \
    > "$RUNS/$size.log" 2>&1
  echo "size $size: exit $?; the end of its log:"; tail -5 "$RUNS/$size.log"
done
$BIN bench learning --tokens "$TOKENS" --sizes "$(json_list "${SIZES[@]}")" --steps "$steps" \
  --every_steps "$every" --windows "$WINDOWS" --runs "$RUNS" --out "$OUT" --report_only true
