#!/usr/bin/env bash
# The whole check: lint, layer contracts, then the full test suite (GUI tests offscreen,
# the real-window test under Xvfb when it is installed).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
export QT_QPA_PLATFORM=${QT_QPA_PLATFORM:-offscreen}
echo "[test] ruff";          $PY -m ruff check .
echo "[test] import-linter"; lint-imports
echo "[test] pytest";        $PY -m pytest -q "$@"
