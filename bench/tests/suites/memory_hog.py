"""A suite whose implementation asks for far more memory than ``--max-memory`` allows."""

from __future__ import annotations

import numpy as np


class Hungry:
    """Reserves 8 GiB (never touched, so harmless without a limit): with --max-memory 2 the cell
    is a clean out-of-memory error instead of a visit from the kernel's OOM killer."""

    reference = "numpy"
    tolerance = 0.0

    def impl_numpy(self):
        return np.zeros(1)

    def impl_hungry(self):
        return np.empty(2**30)[:1]
