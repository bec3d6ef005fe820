"""Toy suite for testing the harness: right, slow, wrong, crashing, hanging and missing peers."""

from __future__ import annotations

import os
import signal
import time
from typing import ClassVar

import numpy as np


class Sum:
    """Sum of a vector: NumPy against a Python loop and a deliberately wrong version."""

    params = ((1000, 4000),)  # tuples or lists, as in asv
    param_names = ("n",)
    quick_params = ((1000,),)
    reference = "numpy"
    tolerance = 1e-9
    requires: ClassVar = {"missing": ("wg_bench_no_such_module", "pip install no-such-module")}

    def setup(self, device, n):
        self.x = np.arange(n, dtype=np.float64) / n

    def impl_numpy(self):
        return self.x.sum()

    def impl_python(self):
        total = 0.0
        for v in self.x.tolist():
            total += v
        return total

    def impl_wrong(self):
        return self.x.sum() + 1.0

    def impl_missing(self):
        import wg_bench_no_such_module  # noqa: F401

    def metrics(self, output):
        return {"value": float(output)}


class Failing:
    """Implementations that raise, abort the interpreter, or hang past the timeout."""

    reference = "numpy"
    oracle = "numpy"
    tolerance = 0.0
    timeout = 3

    def setup(self, device):
        self.x = np.ones(10)

    def impl_numpy(self):
        return {"s": self.x.sum(), "v": self.x}

    def impl_raises(self):
        raise RuntimeError("deliberate failure")

    def impl_aborts(self):
        os.abort()

    def impl_hangs(self):
        time.sleep(3600)

    def impl_killed(self):
        os.kill(os.getpid(), signal.SIGKILL)  # what the kernel's OOM killer does

    def impl_exhausted(self):
        raise MemoryError("cannot allocate 1 TiB")

    def impl_shape(self):
        return {"s": self.x.sum(), "v": self.x[:5]}


class Gpu:
    """A benchmark that declares CUDA support, with a CPU implementation as its reference."""

    params = (2, 3)  # asv's flat form of a single parameter
    param_names = ("n",)
    reference = "numpy"
    tolerance = 1e-12
    devices = ("cpu", "cuda")

    def setup(self, device, n):
        self.device = device
        self.x = np.eye(n)

    def setup_double(self):
        self.y = 2 * self.x

    def impl_numpy(self):
        return [self.x @ self.x, {"trace": np.trace(self.x)}]

    def impl_double(self):
        return [self.y @ self.y / 4, {"trace": np.trace(self.y) / 2}]

    def error(self, output, expected):
        return float(np.max(np.abs(output[0] - expected[0])))


class GhostOracle:
    """The oracle's library is missing: cells are gated against the reference instead."""

    reference = "numpy"
    oracle = "ghost"
    tolerance = 1e-12
    requires: ClassVar = {"ghost": ("wg_bench_no_such_module", "pip install ghost")}

    def setup(self, device):
        self.x = np.linspace(0.0, 1.0, 50)

    def impl_numpy(self):
        return np.cumsum(self.x)

    def impl_ghost(self):
        import wg_bench_no_such_module  # noqa: F401

    def impl_loop(self):
        out, total = [], 0.0
        for v in self.x.tolist():
            total += v
            out.append(total)
        return np.array(out)
