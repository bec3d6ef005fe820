"""The bench suite's cells measured as the harness does (warm, batches of calls), in one process.

    python packages/autodiff/benchmarks/warm_ratios.py [--lstm]

Each round times a batch of reference calls (the plain NumPy objective), then a batch of the
implementation's calls (>= 50 ms each, process CPU time, BLAS pinned to one thread); a figure is
the median of the per-round ratios. Unlike ``targets.py``, which alternates single calls (so
the objective often runs with caches cooled by the gradient), the objective runs warm, as in
``wg bench run``; unlike the harness, both sides share one process and one stretch of time, so
the load of other jobs on a shared machine cancels in the ratio.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

SUITE = Path(__file__).resolve().parents[3] / "bench" / "suites" / "autodiff.py"


def load_suite() -> Any:
    spec = importlib.util.spec_from_file_location("autodiff_suite", SUITE)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load the bench suite {SUITE}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def batch(fn: Callable[[], Any], min_time: float = 0.05) -> float:
    """Seconds per call over a batch lasting at least ``min_time``."""
    n, start = 0, time.process_time()
    while True:
        fn()
        n += 1
        elapsed = time.process_time() - start
        if elapsed >= min_time:
            return elapsed / n


def ratios(
    ref: Callable[[], Any], impls: dict[str, Callable[[], Any]], rounds: int
) -> dict[str, float]:
    for fn in [ref, *impls.values()]:
        for _ in range(3):
            fn()
    per_round: dict[str, list[float]] = {k: [] for k in impls}
    for _ in range(rounds):
        for name, fn in impls.items():
            t_ref = batch(ref)
            per_round[name].append(batch(fn) / t_ref)
    return {k: round(float(np.median(v)), 2) for k, v in per_round.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lstm", action="store_true", help="also LSTM l=2 c=1024 (slow)")
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    suite, r = load_suite(), args.rounds
    g = suite.GmmGradient()
    g.setup("cpu", "d10_K5")
    print("GMM d10_K5 grad/f", ratios(g.impl_objective, {"wg": g.impl_wg}, r))
    print("GMM d10_K5 grad/f", ratios(g.impl_objective, {"wg_optimized": g.impl_wg_optimized}, r))
    m = suite.GmmMeansOnly()
    m.setup("cpu", "d10_K5")
    print("GMM d10_K5 means-only/full", ratios(m.impl_full, {"means": m.impl_means}, r))
    h = suite.GmmHvp()
    h.setup("cpu", "d10_K5")
    print("GMM d10_K5 hvp/f", ratios(h.impl_objective, {"wg": h.impl_wg}, r))
    print("GMM d10_K5 hvp/f", ratios(h.impl_objective, {"wg_optimized": h.impl_wg_optimized}, r))
    c = suite.Chain200()
    c.setup("cpu", 10)
    for name in ("wg", "wg_optimized"):
        fn = getattr(c, f"impl_{name}")
        for _ in range(60):
            fn()
        per_prim = float(np.median([batch(fn) for _ in range(r)])) / 200 * 1e6
        print(f"chain of 200 ops, {name}: {per_prim:.2f} us/primitive")
    if args.lstm:
        lstm = suite.LstmGradient()
        lstm.setup("cpu", "l2_c1024")
        impls = {"wg": lstm.impl_wg, "wg_optimized": lstm.impl_wg_optimized}
        print("LSTM l2_c1024 grad/f", ratios(lstm.impl_objective, impls, max(3, r // 3)))


if __name__ == "__main__":
    main()
