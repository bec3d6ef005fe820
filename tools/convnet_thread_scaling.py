"""Speed-up of the wg_convnet training step from 1 to 2 threads, interleaved in one process.

Two copies of the bench suite's training step (conv16-3 > pool > conv32-3 > pool > dense10,
batch 64) run call by call: ``Sequential(threads=1)`` and ``Sequential(threads=2)`` (batch split
into two shards on two threads, see ``wg_convnet.parallel``), BLAS pinned to one thread in both.
Alternating spreads load from other work on a shared machine over both settings alike. Prints the
median wall time of each, the speed-up, and the process CPU time per step: CPU time / wall time
near 2 means both threads ran; near 1 means the machine had no second core to give.

A control runs in the same rounds: two independent GEMM loops (BLAS on one thread each, no GIL
held) one after the other and on two threads. Its speed-up is what the machine gave a perfectly
parallel workload at the same moments: near 2 on an idle 2-core machine, near 1 on a busy one.

On a machine too busy to lend a second core, the last line bounds what an idle one could give:
the two shards run one after the other (same work, same reductions), their CPU times are
measured, and the bound is 1-thread CPU / (serial CPU + the longer shard of each parallel
region). It ignores the GIL and memory bandwidth, so it is an upper bound, not a measurement.

Usage (from the repository root):
    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 \\
        python tools/convnet_thread_scaling.py [rounds]
    python tools/convnet_thread_scaling.py control [rounds]   # the control alone: which
        # two CPUs of a machine (taskset -c A,B) behave as two whole cores
"""

from __future__ import annotations

import sys
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import wg_convnet.parallel as parallel
from wg_bench.discovery import suite_module


class Control:
    """Two independent GEMM loops (BLAS on one thread each, no GIL held), one after the other and
    on two threads: what the machine gives a perfectly parallel workload at that moment."""

    def __init__(self) -> None:
        self.pool = ThreadPoolExecutor(2)
        self.matrix = np.random.default_rng(0).random((256, 256), dtype=np.float32)
        self.times: dict[int, list[float]] = {1: [], 2: []}

    def gemms(self, _: int) -> None:
        for _ in range(20):
            self.matrix @ self.matrix

    def round(self) -> None:
        for threads, run in ((1, lambda: [self.gemms(k) for k in range(2)]),
                             (2, lambda: list(self.pool.map(self.gemms, range(2))))):  # fmt: skip
            start = time.perf_counter()
            run()
            self.times[threads].append(time.perf_counter() - start)

    def speedup(self) -> float:
        return float(np.median(self.times[1]) / np.median(self.times[2]))


def control_only(rounds: int) -> None:
    """The control alone (no wg_convnet work)."""
    control = Control()
    for _ in range(rounds):
        control.round()
    print(f"control, two GEMM loops on 2 threads: speed-up {control.speedup():.2f}x")


def main() -> None:
    if sys.argv[1:2] == ["control"]:
        control_only(int(sys.argv[2]) if len(sys.argv) > 2 else 40)
        return
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    suite = suite_module("convnet")
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
    critical: list[float] = []
    control = Control()
    for _ in range(rounds):
        for threads, bench in benches.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            bench.impl_wg()
            wall[threads].append(time.perf_counter() - start)
            cpu[threads].append(time.process_time() - start_cpu)
        critical.append(critical_path(benches[2]))
        control.round()
    w1, w2 = (float(np.median(wall[t])) for t in (1, 2))
    c1, c2 = (float(np.median(cpu[t])) for t in (1, 2))
    print(
        f"training step: 1 thread {w1 * 1e3:.2f} ms (cpu {c1 * 1e3:.2f} ms), "
        f"2 threads {w2 * 1e3:.2f} ms (cpu {c2 * 1e3:.2f} ms, cpu/wall {c2 / w2:.2f}), "
        f"speed-up {w1 / w2:.2f}x"
    )
    speedup = control.speedup()
    print(f"control, two GEMM loops on 2 threads in the same rounds: speed-up {speedup:.2f}x")
    bound = c1 / float(np.median(critical))
    print(f"idle-machine upper bound from shard CPU times (not a measurement): {bound:.2f}x")


def critical_path(bench) -> float:
    """CPU seconds of one 2-shard step if each parallel region took only its longer shard.

    The shards run one after the other (same work, same reductions) and are timed one by one.
    """
    saved: list[float] = []  # CPU time that a second core would take off, per region

    def in_turn(fn, count):
        times, results = [], []
        for k in range(count):
            start = time.process_time()
            results.append(fn(k))
            times.append(time.process_time() - start)
        saved.append(sum(times) - max(times))
        return results

    original = parallel.run_sharded
    parallel.run_sharded = in_turn
    try:
        start = time.process_time()
        bench.impl_wg()
        total = time.process_time() - start
    finally:
        parallel.run_sharded = original
    return total - sum(saved)


if __name__ == "__main__":
    main()
