"""Which array namespace and device an array belongs to.

Thin wrappers of array-api-compat's helpers with one addition: objects that are not arrays of a
known library but implement NumPy's ``__array_function__`` protocol (the tracers of NumPy-level
automatic differentiation, such as wg_autodiff's) get NumPy itself, whose main namespace follows
the array API since NumPy 2. That lets such tools differentiate the layers' forward code as is.
"""

from __future__ import annotations

from typing import Any

import array_api_compat
import numpy as np


def array_namespace(*arrays: Any) -> Any:
    """The array-API namespace of ``arrays`` (see the module docstring for tracers).

    Examples
    --------
    >>> array_namespace(np.zeros(2)).__name__
    'array_api_compat.numpy'
    """
    try:
        return array_api_compat.array_namespace(*arrays)
    except TypeError:
        if hasattr(np, "permute_dims") and any(hasattr(a, "__array_function__") for a in arrays):
            return np
        raise


def device(x: Any) -> Any:
    """The device of ``x``, or None (the default device) when it has none that we know of."""
    try:
        return array_api_compat.device(x)
    except (TypeError, AttributeError, ValueError):
        return None
