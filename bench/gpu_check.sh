#!/usr/bin/env bash
# GPU check for wg bench, on a machine with an NVIDIA GPU and no package index.
#
#   bench/gpu_check.sh OUTDIR
#
# 1. installs what is missing from local wheel files: the GPU extras (torch, jax, cupy) and the
#    light dependencies, from $WG_WHEELS (default: ./wheels beside the repository root);
# 2. puts the workspace members on PYTHONPATH (no build backend needed offline);
# 3. runs `wg bench run autodiff convnet --device cuda --quick` with an 8-minute limit and writes
#    OUTDIR/gpu-quick.json (schema wg-bench/1), OUTDIR/run.log and OUTDIR/nvidia-smi.txt.
# Exit status: that of `wg bench run` (1 when a cell is mismatch/error), 124 on the time limit,
# 2 when there is no GPU or a needed package is neither installed nor in the wheels folder.
set -uo pipefail

out=${1:?usage: bench/gpu_check.sh OUTDIR}
repo=$(cd "$(dirname "$0")/.." && pwd)
wheels=${WG_WHEELS:-$repo/wheels}
python=${PYTHON:-python3}
limit=${WG_GPU_CHECK_SECONDS:-480}
mkdir -p "$out"

if ! nvidia-smi >"$out/nvidia-smi.txt" 2>&1; then
    echo "gpu_check: nvidia-smi failed: no NVIDIA GPU here (see $out/nvidia-smi.txt)" >&2
    exit 2
fi

# import name -> requirement installed from the wheels folder when the import fails.
# The GPU extras are optional (a missing one shows as "skipped: install with ..." in the results);
# the libraries the harness and the suites import are not.
extras=("torch torch" "jax jax[cuda12]" "cupy cupy-cuda12x")
core=(
    "numpy numpy" "scipy scipy" "rich rich" "click click" "threadpoolctl threadpoolctl"
    "psutil psutil" "matplotlib matplotlib" "autograd autograd" "vowpalwabbit vowpalwabbit"
    "array_api_compat array-api-compat" "numba numba" "mmh3 mmh3"
)
install() {  # install <requirement>: from the local wheels only (no index on this machine)
    "$python" -m pip install -q --no-index --find-links "$wheels" "$1" >>"$out/pip.log" 2>&1
}
for pair in "${extras[@]}"; do
    read -r module requirement <<<"$pair"
    if ! "$python" -c "import $module" 2>/dev/null && ! install "$requirement"; then
        echo "gpu_check: $module is not installed and no wheel for $requirement in $wheels;" \
             "its implementations will be skipped" >&2
    fi
done
for pair in "${core[@]}"; do
    read -r module requirement <<<"$pair"
    if ! "$python" -c "import $module" 2>/dev/null && ! install "$requirement"; then
        echo "gpu_check: $module is needed: put a wheel of $requirement in $wheels (pip download" \
             "--only-binary=:all: -d wheels $requirement) or set WG_WHEELS; see $out/pip.log" >&2
        exit 2
    fi
done

members=("$repo/src" "$repo/bench/src" "$repo/packages/autodiff/src" "$repo/packages/convnet/src"
         "$repo/packages/online/src")
PYTHONPATH=$(IFS=:; echo "${members[*]}")${PYTHONPATH:+:$PYTHONPATH}
export PYTHONPATH PYTHONUNBUFFERED=1

echo "gpu_check: $(head -1 "$out/nvidia-smi.txt")"
timeout "$limit" "$python" -m wg_bench run autodiff convnet --device cuda --quick \
    --suites "$repo/bench/suites" --json "$out/gpu-quick.json" --history "$out/history" \
    2>&1 | tee "$out/run.log"
status=${PIPESTATUS[0]}
if ((status == 124)); then
    echo "gpu_check: stopped after ${limit} s; finished cells are kept in $out/gpu-quick.json" >&2
fi
exit "$status"
