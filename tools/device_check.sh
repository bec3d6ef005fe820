#!/usr/bin/env bash
# The GPU checks of the workspace, in one call on a lent GPU machine with no package index:
# `wg bench` on the cuda device (autodiff and convnet suites, quick parameter sets, every cell
# gated against its oracle before it is timed), with the machine's description beside it.
#
#   tools/device_check.sh OUTDIR [SECONDS]       (default OUTDIR $OUT, SECONDS 330)
#
# Wheels of packages the machine's image lacks may sit in .whl/ (installed into /tmp/site).
# Writes OUTDIR/bench-cuda.json (wg-bench/2), OUTDIR/machine.txt and OUTDIR/run.log; the
# results page is made from the JSON afterwards with `wg bench report`.
set -uo pipefail
out=${1:-${OUT:?usage: tools/device_check.sh OUTDIR [SECONDS]}}
limit=${2:-330}
root=$(cd "$(dirname "$0")/.." && pwd)
py=${PYTHON:-python3}
mkdir -p "$out"
export PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
if [ -d "$root/.whl" ]; then
    "$py" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site "$root"/.whl/*.whl || { echo "device_check: wheel install failed"; exit 3; }
    export PYTHONPATH=/tmp/site
fi
members=""
for src in "$root"/src "$root"/packages/*/src "$root"/bench/src "$root"/license/src "$root"/meetings/src; do
    members="$members${members:+:}$src"
done
export PYTHONPATH="$members${PYTHONPATH:+:$PYTHONPATH}"
{
    date -u +"date: %Y-%m-%d %H:%M UTC"
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
    lscpu | grep -E "Model name|^CPU\(s\)"
    "$py" -c "import sys, numpy, numba; print('python', sys.version.split()[0], 'numpy', numpy.__version__, 'numba', numba.__version__)"
    "$py" -c "import jax; print('jax', jax.__version__, jax.devices())" 2>&1 | tail -1
    "$py" -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name())" 2>&1 | tail -1
    "$py" -c "import cupy; print('cupy', cupy.__version__)" 2>&1 | tail -1
} >"$out/machine.txt" 2>&1
cat "$out/machine.txt"
timeout "$limit" "$py" -m wg_bench run autodiff convnet --device cuda --quick --no-history \
    --suites "$root/bench/suites" --json "$out/bench-cuda.json" 2>&1 | tee "$out/run.log"
status=${PIPESTATUS[0]}
((status == 124)) && echo "device_check: stopped after $limit s; finished cells are in bench-cuda.json"
exit "$status"
