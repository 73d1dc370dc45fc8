#!/usr/bin/env bash
# Set up (idempotent) and run the main job: collect real Atari data, train tiny models,
# generate a video. Extra arguments go to `arvideo demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/arvideo demo "$@"
