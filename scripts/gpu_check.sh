#!/usr/bin/env bash
# The checks that need an NVIDIA GPU, in one run (CI has none; docs/gpu.md has the last figures):
#   1. the CUDA tests (tests/models/test_cuda.py: tracking CPU vs CUDA, adaptation + hot swap,
#      the out-of-memory fallback, the paper profile adapting);
#   2. bench.adapt_speed and bench.model_speed on CUDA and, for ratios, on this machine's CPU;
#   3. the headless app on CUDA: synthetic actor, a 10 s calibration while tracking goes on
#      (then the same on the CPU of this machine);
#   4. the renderer on the GPU's own EGL driver (render.benchmark, tests/render).
# Usage: bash scripts/gpu_check.sh OUT_DIR   (PYTHON=python3 by default; every step has a time limit,
# a failing step is reported and the next one runs; OUT_DIR/status.txt lists each step's exit code and
# OUT_DIR/results.tar.gz holds every step's log and JSON)
set -u
OUT=${1:?usage: bash scripts/gpu_check.sh OUT_DIR}
PY=${PYTHON:-python3}
mkdir -p "$OUT"
: > "$OUT/status.txt"
export PYTHONUNBUFFERED=1
TMP=$(mktemp -d)
R=$TMP/results  # logs and JSON, packed into OUT/results.tar.gz at the end
mkdir -p "$R"

step() {  # step NAME SECONDS CMD...: run with a limit, log to results/NAME.log, record the exit code
    local name=$1 limit=$2
    shift 2
    local t0=$SECONDS
    echo "== $name: $*"
    timeout "$limit" "$@" > "$R/$name.log" 2>&1
    local rc=$?
    echo "$name rc=$rc $((SECONDS - t0))s" | tee -a "$OUT/status.txt"
    grep -v -i "warn" "$R/$name.log" | tail -n 14
    tar -czf "$OUT/results.tar.gz" -C "$TMP" results  # after every step: a killed run still returns them
}

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
"$PY" -c "import torch, numpy, cv2, moderngl; print('torch', torch.__version__, 'cuda', torch.version.cuda, \
torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'NO CUDA', 'numpy', numpy.__version__, \
'cv2', cv2.__version__, 'moderngl', moderngl.__version__)"

step cuda_tests 150 "$PY" -m pytest -q -p no:cacheprovider tests/models/test_cuda.py -rs
step adapt_speed_cuda 90 "$PY" -m bench.adapt_speed --device cuda --profiles tiny lite paper --steps 12 --frames 15 --out "$R/as_cuda"
step model_speed_cuda 75 "$PY" -m bench.model_speed --device cuda --profiles tiny lite paper --out "$R/ms_cuda"
step headless_cuda 75 "$PY" launcher.py --headless --device cuda --model-profile lite --source synthetic:tungsten \
    --frames 600 --calibrate 10 --json "$R/headless_cuda.json"
step render_bench 30 "$PY" -m render.benchmark --seconds 0.5
step adapt_speed_cpu 90 "$PY" -m bench.adapt_speed --device cpu --profiles lite paper --steps 4 --frames 15 --out "$R/as_cpu"
step model_speed_cpu 60 "$PY" -m bench.model_speed --device cpu --profiles lite paper --repeat 8 --out "$R/ms_cpu"
step headless_cpu 75 "$PY" launcher.py --headless --device cpu --model-profile lite --source synthetic:tungsten \
    --frames 600 --calibrate 10 --json "$R/headless_cpu.json"
step render_tests 60 "$PY" -m pytest -q -p no:cacheprovider tests/render -x

tar -czf "$OUT/results.tar.gz" -C "$TMP" results
cat "$OUT/status.txt"
