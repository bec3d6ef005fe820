#!/usr/bin/env bash
# GPU check of wg_autodiff (issue 3): the ADBench GMM d=64 K=10 (n=1000) gradient computed from
# the same plain-NumPy objective on CuPy arrays and on NumPy arrays; they must agree to
# rho <= 1e-10 in float64. Prints both median times. Needs an NVIDIA GPU; no package index:
# CuPy (and, when missing, NumPy / array-api-compat / fastrlock) install from local wheel files.
#
#   tools/autodiff_gpu_check.sh [WHEEL_DIR]      (default: $WG_WHEELS, else ../shared/wheels)
#
# Exit status: 0 agree, 1 disagree, 2 cannot run (no GPU, missing wheels). The check itself is
# cut off after 240 s (timeout), so a hung GPU cannot hold a lent machine.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
WHEELS="${1:-${WG_WHEELS:-$ROOT/../shared/wheels}}"
if [ -n "${PYTHON:-}" ]; then
    PY="$PYTHON"
elif [ -x "$ROOT/.venv/bin/python" ]; then
    PY="$ROOT/.venv/bin/python"
else
    PY="python3"
fi

fail() { echo "gpu_check: $*" >&2; exit 2; }

command -v nvidia-smi >/dev/null && nvidia-smi -L || fail "no NVIDIA GPU visible (nvidia-smi failed)"

install_from_wheels() {  # $1 import name, $2 wheel-name glob, $3 pip requirement
    if "$PY" -c "import $1" 2>/dev/null; then
        return
    fi
    [ -d "$WHEELS" ] || fail "$1 is not installed and the wheel folder $WHEELS does not exist;
  put the wheels there (cupy_cuda12x-*.whl, fastrlock-*.whl, ...) or pass the folder as argument 1"
    compgen -G "$WHEELS/$2" >/dev/null || fail "no wheel matching $2 in $WHEELS (needed for $1)"
    "$PY" -m pip install --quiet --no-index --find-links "$WHEELS" "$3"
}

install_from_wheels numpy "numpy-*.whl" numpy
install_from_wheels array_api_compat "array_api_compat-*.whl" array-api-compat
if ! "$PY" -c "import cupy" 2>/dev/null; then
    wheel="$(compgen -G "$WHEELS/cupy_cuda*.whl" | sort | tail -n 1 || true)"
    [ -n "$wheel" ] || fail "CuPy is not installed and $WHEELS has no cupy_cuda*.whl"
    "$PY" -m pip install --quiet --no-index --find-links "$WHEELS" "$wheel"
fi

export PYTHONPATH="$ROOT/packages/autodiff/src${PYTHONPATH:+:$PYTHONPATH}"
export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}" OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"

timeout 240 "$PY" - "$ROOT" <<'PYTHON'
import os
import sys
import time
from pathlib import Path

import cupy as cp
import numpy as np

import wg_autodiff as ad
from wg_autodiff import adbench as A
from wg_autodiff import adbench_io as io
from wg_autodiff.gradcheck import rho

root = Path(sys.argv[1])
corpus = Path(os.environ.get("WG_CORPUS", root / ".." / "shared" / "corpus"))
path = corpus / "adbench" / "gmm" / "1k" / "gmm_d64_K10.txt"
if path.exists():
    alphas, means, icf, x, gamma, m = io.read_gmm(path)
    source = str(path)
else:
    alphas, means, icf, x, gamma, m = A.gmm_random(64, 10, 1000, np.random.default_rng(0))
    source = "generated (corpus file not found)"

x_gpu = cp.asarray(x)
grad_np = ad.value_and_grad(lambda *p: A.gmm_objective(*p, x, gamma, m), (0, 1, 2))
grad_gpu = ad.value_and_grad(lambda *p: A.gmm_objective(*p, x_gpu, gamma, m), (0, 1, 2))
params_np = (alphas, means, icf)
params_gpu = tuple(cp.asarray(p) for p in params_np)


def timed(fn, args, sync, repeats=15):
    out = fn(*args)
    sync()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn(*args)
        sync()
        times.append(time.perf_counter() - start)
    return out, sorted(times)[repeats // 2]


(f_np, g_np), t_np = timed(grad_np, params_np, lambda: None)
(f_gpu, g_gpu), t_gpu = timed(grad_gpu, params_gpu, cp.cuda.Device().synchronize)
if not all(isinstance(g, cp.ndarray) for g in g_gpu):
    print("gpu_check: FAIL: the CuPy gradient is not made of CuPy arrays:",
          [type(g).__name__ for g in g_gpu])
    sys.exit(1)
err = max(rho(cp.asnumpy(a), b) for a, b in zip(g_gpu, g_np))
err = max(err, rho(float(f_gpu), float(f_np)))
print(f"GMM d=64 K=10 n=1000 ({source}), float64, gradient w.r.t. alphas, means, icf")
print(f"  device: {cp.cuda.runtime.getDeviceProperties(0)['name'].decode()}")
print(f"  NumPy (CPU, 1 BLAS thread) gradient: {t_np * 1e3:9.2f} ms (median of 15)")
print(f"  CuPy  (GPU)                gradient: {t_gpu * 1e3:9.2f} ms (median of 15)")
print(f"  max rho(CuPy, NumPy) = {err:.3g} (limit 1e-10)")
print("gpu_check: OK" if err <= 1e-10 else "gpu_check: FAIL: gradients disagree")
sys.exit(0 if err <= 1e-10 else 1)
PYTHON
