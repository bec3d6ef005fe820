"""Speed-up of the wg_convnet training step from 1 to 2 threads, interleaved in one process.

Two copies of the bench suite's training step (conv16-3 > pool > conv32-3 > pool > dense10,
batch 64) run call by call: ``Sequential(threads=1)`` and ``Sequential(threads=2)`` (batch split
into two shards on two threads, see ``wg_convnet.parallel``), BLAS pinned to one thread in both.
Alternating spreads load from other work on a shared machine over both settings alike. Prints the
median wall time of each, the speed-up, and the process CPU time per step: CPU time / wall time
near 2 means both threads ran; near 1 means the machine had no second core to give.

Usage (from the repository root):
    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 \\
        python packages/convnet/tools/thread_scaling.py [rounds]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from torch_timing import load_suite


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    suite = load_suite()
    benches = {}
    for threads in (1, 2):
        bench = suite.TrainingStep()
        bench.setup("cpu", 64)
        bench.setup_wg()
        bench.net.threads = threads
        bench.impl_wg()
        benches[threads] = bench
    wall: dict[int, list[float]] = {1: [], 2: []}
    cpu: dict[int, list[float]] = {1: [], 2: []}
    for _ in range(rounds):
        for threads, bench in benches.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            bench.impl_wg()
            wall[threads].append(time.perf_counter() - start)
            cpu[threads].append(time.process_time() - start_cpu)
    w1, w2 = (float(np.median(wall[t])) for t in (1, 2))
    c1, c2 = (float(np.median(cpu[t])) for t in (1, 2))
    print(
        f"training step: 1 thread {w1 * 1e3:.2f} ms (cpu {c1 * 1e3:.2f} ms), "
        f"2 threads {w2 * 1e3:.2f} ms (cpu {c2 * 1e3:.2f} ms, cpu/wall {c2 / w2:.2f}), "
        f"speed-up {w1 / w2:.2f}x"
    )


if __name__ == "__main__":
    main()
