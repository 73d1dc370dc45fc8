#!/usr/bin/env bash
# Set up (idempotent) and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/browser.sh  # the browser tests must run, never skip: chromium from apt
exec .venv/bin/python -m pytest -q "$@"
