#!/usr/bin/env bash
# GPU check of wg_convnet (issue 4): the training step on CuPy or torch-CUDA against NumPy.
# Needs a machine with an NVIDIA GPU and `cupy-cuda12x` (or a CUDA build of torch) installed
# next to the workspace. Prints both step times and fails when the first-step gradients differ
# by more than 1e-4. Bounded to 5 minutes. The backend is picked as in the bench suite's cuda
# cells (bench/suites/convnet.py: CuPy, else torch-CUDA); for the timed cuda matrix with torch
# (Conv2D, training step, pooling) run `wg bench run convnet --device cuda` or tools/device_check.sh.
#   tools/convnet_gpu_check.sh                     # auto: CuPy if installed, else torch-CUDA
#   tools/convnet_gpu_check.sh --backend torch     # force torch-CUDA
#   tools/convnet_gpu_check.sh --backend torch --device cpu   # dry run without a GPU
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
python="${PYTHON:-$here/../.venv/bin/python}"
[ -x "$python" ] || python=python3
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}" OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
exec timeout 300 "$python" "$here/convnet_gpu_check.py" "$@"
