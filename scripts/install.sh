#!/usr/bin/env bash
# Install everything the tracker needs (system libraries where we can, then Python packages).
#   bash scripts/install.sh          # the app
#   bash scripts/install.sh --dev    # the app + test tools (pytest, pytest-qt, ruff, import-linter, Xvfb)
set -euo pipefail
cd "$(dirname "$0")/.."
DEV=0
[[ "${1:-}" == "--dev" ]] && DEV=1
PY=${PYTHON:-python3}

# --- system packages: EGL/GL for the headless renderer, xcb libs for Qt, Xvfb for the window test
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  pkgs="libegl1 libgl1 libgl1-mesa-dri libxkbcommon-x11-0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 \
libxcb-render-util0 libxcb-randr0 libxcb-xinerama0 libxcb-shape0 libxcb-cursor0 libdbus-1-3 libfontconfig1"
  [ $DEV = 1 ] && pkgs="$pkgs xvfb"
  missing=""
  for p in $pkgs; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
  if [ -n "$missing" ]; then
    echo "[install] apt-get install:$missing"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
  fi
else
  echo "[install] not root or no apt-get: make sure EGL/GL (libegl1, libgl1) and Qt's xcb libraries are installed"
fi

# --- torch: keep an existing install; else prefer the pinned CPU wheel this environment provides
if ! $PY -c "import torch" >/dev/null 2>&1; then
  $PY -m pip install -q "torch==2.13.0" || $PY -m pip install -q "torch>=2.4"
fi

# --- the project (editable) and its extras; [fast] = ONNX Runtime for the per-frame encoder
# (docs/speed.md); it needs no torch of its own, and the tracker falls back to torch without it
if [ $DEV = 1 ]; then
  $PY -m pip install -q -e ".[dev,fast]" || $PY -m pip install -q -e ".[dev]"
else
  $PY -m pip install -q -e ".[fast]" || $PY -m pip install -q -e .
fi
# face-alignment pins opencv-python (non-headless, clashes with PySide6's Qt): install without deps;
# its own dependencies are listed in pyproject.toml
$PY -m pip install -q --no-deps "face-alignment>=1.4"
echo "[install] done"
