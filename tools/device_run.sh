#!/usr/bin/env bash
# Every GPU check of the workspace, and CPU timings on the idle cores of the same machine, in one call:
# for a lent GPU machine with no package index (see the closing notes of issues 3, 4 and 6).
#
#   tools/device_run.sh GROUP...     e.g.  tools/device_run.sh online,gpu2,convcpu threads
#
# A GROUP is lanes separated by commas; the lanes of a group run at the same time, each pinned
# (taskset) to two physical cores of its own, and the groups run one after the other. Lanes: gpu
# (the convnet and autodiff GPU checks, then tools/device_check.sh), gpu2 (convnet GPU check, the
# cuDNN precision probe, the convnet suite on cuda), threads (training step on 1 and 2 threads),
# online (online suite vs VW), convcpu (convnet suite on the CPU). Results land in $OUT (default
# /tmp/out): JSON per lane and all.log.
# Wheels of missing packages may sit in .whl/ (installed into /tmp/site); PY picks the interpreter.
set -u
export PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
root=$(pwd)
OUT=${OUT:-/tmp/out}
PY=${PY:-python3}
work=/tmp/wgdev
mkdir -p "$OUT" "$work"
export PY root OUT work
if [ -d .whl ] && [ -z "${NOWHEELS:-}" ]; then
    $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .whl/*.whl || { echo "wheel install failed"; exit 3; }
    export PYTHONPATH=/tmp/site
fi
members="$root/src:$root/bench/src:$root/packages/io/src:$root/packages/autodiff/src:$root/packages/convnet/src"
members="$members:$root/packages/online/src:$root/license/src:$root/meetings/src"
export PYTHONPATH="$members${PYTHONPATH:+:$PYTHONPATH}"
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
pin() { if command -v taskset >/dev/null && [ "$(nproc --all)" -ge 16 ]; then taskset -c "$1" "${@:2}"; else "${@:2}"; fi; }
bench() { $PY -m wg_bench run --no-history --suites "$root/bench/suites" "$@"; }

{
    echo "== machine"; nvidia-smi -L 2>&1; nproc --all; uptime; lscpu | grep -E "Model name|Thread|Core|Socket|MHz|L3"
    $PY -c "import sys, numpy, numba; print(sys.version.split()[0], 'numpy', numpy.__version__, 'numba', numba.__version__)"
    $PY -c "import torch, cupy, jax; print('torch', torch.__version__, 'cupy', cupy.__version__, 'jax', jax.__version__)" 2>&1 | tail -1
} >"$work/machine.log" 2>&1

lane_gpu() {
    echo "== convnet gpu_check (cupy)"
    PYTHON=$PY timeout 150 bash tools/convnet_gpu_check.sh --backend cupy; echo "exit $?"
    echo "== convnet gpu_check (torch-cuda)"
    PYTHON=$PY timeout 150 bash tools/convnet_gpu_check.sh --backend torch; echo "exit $?"
    echo "== autodiff gpu_check"
    PYTHON=$PY timeout 150 bash tools/autodiff_gpu_check.sh "$root/.whl"; echo "exit $?"
    echo "== wg bench cuda (tools/device_check.sh)"
    PYTHON=$PY bash tools/device_check.sh "$work/bench" ${GPU_BENCH_SECONDS:-240}
    echo "exit $?"
    cp "$work/bench/bench-cuda.json" "$OUT/bench-cuda.json" 2>/dev/null
}
lane_threads() {
    echo "== convnet training step, 1 and 2 threads (wg bench --threads)"
    bench convnet.TrainingStep --threads 1 --samples 10 --rounds 3 --json "$OUT/step-t1.json"
    bench convnet.TrainingStep --threads 2 --samples 10 --rounds 3 --json "$OUT/step-t2.json"
    echo "== tools/convnet_thread_scaling.py 30"
    timeout 120 $PY tools/convnet_thread_scaling.py 30
}
lane_online() {
    echo "== online TextToModel + FfmTextToModel (the suite's timer: process CPU time)"
    timeout ${ONLINE_SECONDS:-330} $PY -m wg_bench run --no-history --suites "$root/bench/suites" \
        online.TextToModel online.FfmTextToModel --samples 5 --rounds ${ONLINE_ROUNDS:-2} \
        --json "$OUT/online.json"
}
lane_gpu2() {
    echo "== convnet gpu_check (cupy)"
    PYTHON=$PY timeout 150 bash tools/convnet_gpu_check.sh --backend cupy; echo "exit $?"
    echo "== torch cuda conv2d precision"
    timeout 100 $PY tools/cudnn_conv_precision.py
    echo "== wg bench convnet --device cuda --quick"
    timeout 200 $PY -m wg_bench run --no-history --suites "$root/bench/suites" convnet \
        --device cuda --quick --json "$OUT/convnet-cuda.json"
}
lane_convcpu() {
    echo "== convnet cpu (conv2d, training step), 1 thread"
    bench convnet.Conv2DForwardBackward convnet.TrainingStep --samples 10 --rounds 3 \
        --json "$OUT/convnet-cpu.json"
}

# one set of CPUs per lane: two physical cores, one hyperthread of each (lscpu's topology), so
# lanes share no core and two threads of a lane never land on sibling hyperthreads
mapfile -t lanes_cpus < <(lscpu -p=CPU,CORE 2>/dev/null | grep -v '^#' | sort -t, -k2,2n -k1,1n | awk -F, '
    !($2 in first) { first[$2] = $1; order[n++] = $2 }
    END { for (i = 0; i + 1 < n; i += 2) print first[order[i]] "," first[order[i + 1]] }')
echo "lanes: ${lanes_cpus[*]}" >>"$work/machine.log"
for group in "$@"; do
    i=0
    for part in ${group//,/ }; do
        pin "${lanes_cpus[$i]:-0-15}" bash -c "$(declare -f pin bench lane_$part); lane_$part" \
            >"$work/$part.log" 2>&1 &
        i=$((i + 1))
    done
    wait
done
cat "$work"/*.log >"$OUT/all.log"
for f in "$work"/*.log; do echo "########## $f"; tail -n 40 "$f"; done
