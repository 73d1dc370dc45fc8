#!/usr/bin/env bash
# Chromium for the browser tests (tests/serve/test_browser.py): Debian's package, driven by
# Playwright through executable_path. Playwright's own browser downloads are never used.
# Idempotent: returns at once when chromium is on PATH.
set -euo pipefail
command -v chromium >/dev/null && exit 0
sudo=""
[ "$(id -u)" = 0 ] || sudo=sudo
echo "installing chromium (apt) for the browser tests"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
command -v chromium
