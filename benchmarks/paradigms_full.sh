#!/bin/bash
# The paradigm comparison at the full budget (the main job's recipe for every paradigm),
# split over two processes of one thread each on a 2-core machine, then joined into
# benchmarks/results/paradigms.{md,json,png} and samples/. Resumable: a finished stage
# (collection, a tokenizer, a split run's paradigms.json) is reused.
#   bash benchmarks/paradigms_full.sh [WORK=runs/par]
# Roughly: collection 1 min; three tokenizers ~12 min each (3 at once: ~35 min); the
# generators ~20-30 min each on one core (next_scale ~2x); join ~5 min.
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${1:-runs/par}
BIN=.venv/bin/arvideo
export OMP_NUM_THREADS=1
DATA=$WORK/data/pong
[ -f $DATA/dataset.json ] || $BIN collect atari --game Pong --frames 43200 --out $DATA --seed 0

tokenizer() {  # fit and export one of configs/tokenizer/cell_<kind>.yaml
  local kind=$1
  [ -f $WORK/tok/$kind/tokenizer/config.json ] && return
  $BIN fit --config configs/tokenizer/cell_$kind.yaml --data.init_args.path $DATA \
    --trainer.default_root_dir $WORK/tokfit/$kind --trainer.enable_progress_bar false
  $BIN tokenizer export "$(ls -td $WORK/tokfit/$kind/lightning_logs/version_* | head -1)" \
    $WORK/tok/$kind/tokenizer
}
tokenizer vq & tokenizer continuous & tokenizer msvq & wait

split() {  # one process: NAME PARADIGM...
  local name=$1; shift
  [ -f $WORK/out_$name/paradigms.json ] && return
  $BIN bench paradigms --budget full --data $DATA --tokenizers $WORK/tok --threads 1 \
    --out $WORK/out_$name --work_dir $WORK/work_$name \
    --paradigms "$(python3 -c 'import json, sys; print(json.dumps(sys.argv[1:]))' "$@")"
}
( split A next_block_categorical next_token_categorical full_sequence_flow_velocity \
    next_frame_flow_velocity next_scale_categorical ) &
( split B next_block_diffusion next_token_diffusion diffusion_forcing_velocity \
    next_scale_diffusion ) &
wait
reuse=$(ls $WORK/out_*/paradigms.json | python3 -c 'import json, sys; print(json.dumps(sys.stdin.read().split()))')
$BIN bench paradigms --budget full --data $DATA --tokenizers $WORK/tok --threads 1 \
  --out benchmarks/results --work_dir $WORK/work_join --reuse "$reuse"
