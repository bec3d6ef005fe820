"""Measure issue 3's speed targets as ratios to the objective, BLAS pinned to one thread.

    OPENBLAS_NUM_THREADS=1 python packages/autodiff/benchmarks/targets.py [--quick]

Each figure is the median over rounds of (implementation time / objective time), where every
round times the objective and the implementation back to back (process CPU time, so that other
jobs on a shared machine do not count): a per-round ratio also cancels slow drifts.
``wg bench run autodiff`` reports the same ratios (wall time) through the benchmark harness.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import wg_autodiff as ad  # noqa: E402
from wg_autodiff import adbench as adb  # noqa: E402
from wg_autodiff import adbench_io as io  # noqa: E402

CORPUS = Path(
    os.environ.get("WG_CORPUS", Path(__file__).resolve().parents[3] / ".." / "shared" / "corpus")
)


def clock() -> float:
    """CPU time of this process: on a machine shared with other jobs, wall time mostly measures
    their load (BLAS is pinned to one thread, so CPU time is the work done)."""
    return time.process_time()


def ratio(f: Callable[[], Any], g: Callable[[], Any], rounds: int) -> tuple[float, float]:
    """(median objective seconds, median of per-round g/f ratios)."""
    g()
    fs, rs = [], []
    for _ in range(rounds):
        t = clock()
        f()
        tf = clock() - t
        t = clock()
        g()
        rs.append((clock() - t) / tf)
        fs.append(tf)
    return float(np.median(fs)), float(np.median(rs))


def gmm(name: str, rounds: int) -> None:
    alphas, means, icf, x, gamma, m = io.read_gmm(CORPUS / "adbench/gmm/1k" / f"gmm_{name}.txt")
    p = (alphas, means, icf)

    def f(*q: Any) -> Any:
        return adb.gmm_objective(*q, x, gamma, m)

    eager = ad.value_and_grad(f, (0, 1, 2))
    opt = ad.value_and_grad(f, (0, 1, 2), optimize=True)
    means_only = ad.grad(f, 1)
    tf, r_eager = ratio(lambda: f(*p), lambda: eager(*p), rounds)
    _, r_opt = ratio(lambda: f(*p), lambda: opt(*p), rounds)
    _, r_means = ratio(lambda: eager(*p), lambda: means_only(*p), rounds)
    line = f"GMM {name}: f {tf * 1e3:.2f} ms; grad/f eager {r_eager:.2f}, optimized {r_opt:.2f}"
    print(f"{line}; means-only/full gradient {r_means:.2f}")
    try:
        import autograd
    except ImportError:
        return
    fns = adb.with_numpy(__import__("autograd.numpy").numpy)
    ag = autograd.value_and_grad(lambda *q: fns["gmm_objective"](*q, x, gamma, m), (0, 1, 2))
    _, r_ag = ratio(lambda: f(*p), lambda: ag(*p), rounds)
    print(f"  autograd grad/f {r_ag:.2f}; wg eager / autograd {r_eager / r_ag:.2f}")
    if name == "d10_K5":
        rng = np.random.default_rng(1)
        v = tuple(rng.standard_normal(a.shape) for a in p)
        fast = ad.compile(lambda q, w: ad.hvp(f, q, w))
        _, r_h = ratio(lambda: f(*p), lambda: ad.hvp(f, p, v), rounds)
        _, r_hc = ratio(lambda: f(*p), lambda: fast(p, v), rounds)
        print(f"  hvp/f eager {r_h:.2f}, compiled {r_hc:.2f}")


def ba(name: str, rounds: int) -> None:
    cams, X, w, obs, feats = io.read_ba(CORPUS / "adbench/ba" / f"{name}.txt")
    p = w.shape[0]

    def jacobian() -> Any:
        _, pull = ad.vjp(
            lambda c, x, v: adb.ba_residuals(c, x, v, feats), cams[obs[:, 0]], X[obs[:, 1]], w
        )
        rows = []
        for axis in range(2):
            ct = np.zeros((p, 2))
            ct[:, axis] = 1.0
            dc, dx, dw = pull((ct, np.zeros(p)))
            rows.append(np.concatenate([dc, dx, dw[:, None]], axis=1))
        return np.stack(rows, axis=1), pull((np.zeros((p, 2)), np.ones(p)))[2]

    tf, r = ratio(lambda: adb.ba_objective(cams, X, w, obs, feats), jacobian, rounds)
    print(f"BA {name}: f {tf * 1e3:.2f} ms; Jacobian (2x15 blocks + weights)/f {r:.2f}")


def lstm(name: str, rounds: int) -> None:
    main, extra, state, seq = io.read_lstm(CORPUS / "adbench/lstm" / f"lstm_{name}.txt")

    def f(a: Any, b: Any) -> Any:
        return adb.lstm_objective(a, b, state, seq)

    eager = ad.value_and_grad(f, (0, 1))
    opt = ad.value_and_grad(f, (0, 1), optimize=True)
    remat = ad.value_and_grad(lambda a, b: adb.lstm_objective(a, b, state, seq, segment=32), (0, 1))
    tf, r_eager = ratio(lambda: f(main, extra), lambda: eager(main, extra), rounds)
    _, r_opt = ratio(lambda: f(main, extra), lambda: opt(main, extra), rounds)
    peaks = []
    for fn in (eager, remat):
        tracemalloc.start()
        fn(main, extra)
        peaks.append(tracemalloc.get_traced_memory()[1] / 2**20)
        tracemalloc.stop()
    print(
        f"LSTM {name}: f {tf * 1e3:.1f} ms; grad/f eager {r_eager:.2f}, optimized {r_opt:.2f}; "
        f"peak traced memory {peaks[0]:.1f} MiB, with checkpoint(32 steps) {peaks[1]:.1f} MiB"
    )


def chain(rounds: int) -> None:
    def fn(x: Any) -> Any:
        for _ in range(50):
            x = np.tanh(np.sin(x) * 1.01 + x)
        return np.sum(x)

    x = np.linspace(0.0, 1.0, 10)
    eager, opt = ad.grad(fn), ad.grad(fn, optimize=True)
    opt(x)
    for name, g in (("eager", eager), ("optimized", opt)):
        times = []
        for _ in range(rounds):
            t = clock()
            g(x)
            times.append(clock() - t)
        print(
            f"chain of 200 ops, gradient ({name}): {np.median(times) / 200 * 1e6:.2f} us/primitive"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small instances, fewer rounds")
    args = parser.parse_args()
    rounds = 7 if args.quick else 21
    chain(rounds * 5)
    for name in ["d10_K5"] if args.quick else ["d10_K5", "d64_K10", "d32_K50"]:
        gmm(name, rounds)
    for name in (
        ["ba1_n49_m7776_p31843"]
        if args.quick
        else ["ba1_n49_m7776_p31843", "ba2_n21_m11315_p36455", "ba3_n161_m48126_p182072"]
    ):
        ba(name, max(3, rounds // 3))
    lstm("l2_c1024", 3 if args.quick else 5)


if __name__ == "__main__":
    main()
