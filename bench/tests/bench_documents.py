"""Hand-made results documents for tests of compare and report (no processes needed)."""

from __future__ import annotations

from typing import Any

import numpy as np
from wg_bench.stats import summary


def cell(impl: str, samples: list[float] | None, *, status: str = "ok", reference: bool = False,
         n: int = 10, reason: str = "") -> dict[str, Any]:  # fmt: skip
    return {
        "suite": "toy", "benchmark": "Sum", "description": "Sum.", "params": {"n": n},
        "implementation": impl, "reference": reference, "oracle": "numpy", "device": "cpu",
        "status": status, "reason": reason,
        "seconds": summary(samples) if samples is not None else None,
        "first_call_seconds": 0.1, "ratio": None, "peak_memory_bytes": 2**20,
        "metrics": {}, "threads": [], "rounds": 1, "machine": "m-1",
    }  # fmt: skip


def document(cells: list[dict[str, Any]], created: str = "2026-01-01T00:00:00+00:00",
             commit: str = "a" * 40) -> dict[str, Any]:  # fmt: skip
    return {
        "schema": "wg-bench/1", "created": created, "finished": created, "complete": True,
        "command": "wg bench run", "settings": {},
        "machine": {"id": "m-1", "cpu": "CPU", "cores_logical": 2, "python": "3.11",
                    "git": {"commit": commit, "dirty": False}},
        "errors": [], "results": cells,
    }  # fmt: skip


def noisy(center: float, count: int, seed: int) -> list[float]:
    return [float(v) for v in np.random.default_rng(seed).normal(center, center * 0.01, count)]
