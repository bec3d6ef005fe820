"""Toy suite for the headline: two of ours against two peers, with declared targets."""

from __future__ import annotations

from typing import ClassVar

import numpy as np


class Dot:
    """Dot product: NumPy, a Python loop, and two of ours (one fast, one slow)."""

    params = ((200, 2000),)
    param_names = ("n",)
    reference = "numpy"
    tolerance = 1e-9
    targets: ClassVar = [
        {"params": None, "ours": "wg_fast", "peer": "numpy", "max_ratio": 1e3},
        {"params": {"n": 2000}, "ours": "wg_slow", "peer": "python", "max_ratio": 1e-3},
    ]

    def setup(self, device, n):
        self.x = np.linspace(0.0, 1.0, n)

    def impl_numpy(self):
        return float(self.x @ self.x)

    def impl_python(self):
        return sum(v * v for v in self.x.tolist())

    def impl_wg_fast(self):
        return float(np.dot(self.x, self.x))

    def impl_wg_slow(self):
        total = 0.0
        for v in self.x.tolist():
            total += v * v
        return total
