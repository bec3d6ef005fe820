"""Interleaved wg_convnet vs PyTorch CPU timings of the bench suite's cells (noisy shared machines).

``wg bench run convnet`` is the official measurement; on a machine shared with other work its
cells run minutes apart, so load changes between them. This script alternates the two
implementations in short blocks of calls and reports the median of each and their ratio.

Usage (from the repository root, threads default 1):
    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 python packages/convnet/tools/torch_timing.py [threads]
"""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path

import numpy as np

SUITE = Path(__file__).resolve().parents[3] / "bench" / "suites" / "convnet.py"


def load_suite():
    spec = importlib.util.spec_from_file_location("convnet_suite", SUITE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def interleaved_times(a, b, rounds: int = 40, repeat: int = 3) -> dict[str, list[float]]:
    """Medians of wall time and of process CPU time of ``a`` and of ``b``, timed in turn.

    Each turn is one untimed call, then ``repeat`` timed calls back to back, as the harness times
    a cell (a call timed right after the other implementation pays for its cache footprint).
    On a machine shared with more runnable work than cores, wall time also counts the time
    spent waiting for a core; CPU time does not (it still feels cache and memory contention).
    """
    wall: tuple[list[float], list[float]] = ([], [])
    cpu: tuple[list[float], list[float]] = ([], [])
    for _ in range(rounds):
        for k, f in enumerate((a, b)):
            f()
            start, start_cpu = time.perf_counter(), time.process_time()
            for _ in range(repeat):
                f()
            wall[k].append((time.perf_counter() - start) / repeat)
            cpu[k].append((time.process_time() - start_cpu) / repeat)
    return {
        "wall": [float(np.median(t)) for t in wall],
        "cpu": [float(np.median(t)) for t in cpu],
    }


def main() -> None:
    import torch

    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    torch.set_num_threads(threads)
    suite = load_suite()
    cells = [(suite.Conv2DForwardBackward, shape) for shape in suite.CONV_SIZES]
    cells += [(suite.TrainingStep, 64), (suite.MaxPoolForwardBackward, 64)]
    for cls, param in cells:
        bench = cls()
        bench.setup("cpu", param)
        bench.setup_wg()
        bench.setup_torch()
        times = interleaved_times(bench.impl_wg, bench.impl_torch)
        (wg, th), (wg_cpu, th_cpu) = times["wall"], times["cpu"]
        print(
            f"{cls.__name__}({param}) threads={threads}: wg {wg * 1e3:.2f} ms, "
            f"torch {th * 1e3:.2f} ms, wg/torch {wg / th:.2f} "
            f"(process CPU time: wg {wg_cpu * 1e3:.2f} ms, torch {th_cpu * 1e3:.2f} ms, "
            f"wg/torch {wg_cpu / th_cpu:.2f})"
        )


if __name__ == "__main__":
    main()
