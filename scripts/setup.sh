#!/usr/bin/env bash
# Idempotent set-up: a virtual environment in .venv with arvideo installed editable (dev extras).
# torch==2.13.0 is installed first when no torch is importable, so pip never pulls a multi-GB
# CUDA build on a CPU machine; a user with their own torch keeps it (pyproject says torch>=2.4).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
py=.venv/bin/python
stamp=.venv/.arvideo-installed
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && "$py" -c "import arvideo, torch" 2>/dev/null; then
  exit 0  # already set up for this pyproject
fi
"$py" -c "import torch" 2>/dev/null || "$py" -m pip install -q --disable-pip-version-check torch==2.13.0
"$py" -m pip install -q --disable-pip-version-check -e ".[dev]"
echo "$want" > "$stamp"
