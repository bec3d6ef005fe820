"""Speed-up of the wg_convnet training step from 1 to 2 BLAS threads, interleaved in one process.

threadpoolctl switches OpenBLAS between 1 and 2 threads call by call, so load from other work on a
shared machine hits both settings alike. Prints the median of each and the speed-up.

Usage: python packages/convnet/tools/thread_scaling.py [rounds]
"""

from __future__ import annotations

import sys
import time

import numpy as np
from threadpoolctl import threadpool_limits
from torch_timing import load_suite


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    bench = load_suite().TrainingStep()
    bench.setup("cpu", 64)
    bench.setup_wg()
    times: dict[int, list[float]] = {1: [], 2: []}
    for _ in range(rounds):
        for threads in (1, 2):
            with threadpool_limits(limits=threads, user_api="blas"):
                start = time.perf_counter()
                bench.impl_wg()
                times[threads].append(time.perf_counter() - start)
    one, two = (float(np.median(times[t][2:])) for t in (1, 2))
    print(
        f"training step: 1 thread {one * 1e3:.2f} ms, 2 threads {two * 1e3:.2f} ms, "
        f"speed-up {one / two:.2f}x"
    )


if __name__ == "__main__":
    main()
