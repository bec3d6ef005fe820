"""Enzyme-style automatic differentiation of unmodified NumPy code.

The user's function keeps ``import numpy as np``; wg_autodiff follows it through NumPy's own
dispatch protocols (``__array_ufunc__``, ``__array_function__``, operators) on a tracer type.

Examples
--------
>>> import numpy as np
>>> import wg_autodiff as ad
>>> def loss(w, x):
...     return np.sum(np.tanh(x @ w) ** 2)
>>> g = ad.grad(loss)(np.ones(3), np.eye(3))
>>> g.round(4)
array([0.6397, 0.6397, 0.6397])
"""

from __future__ import annotations

from wg_autodiff.core import Primitive, jvp_rules, vjp_rules
from wg_autodiff.custom import checkpoint, custom_jvp, custom_vjp, stop_gradient
from wg_autodiff.errors import (
    AutodiffError,
    InputError,
    TracerConversionError,
    UnsupportedOperationError,
)
from wg_autodiff.gradcheck import check_grads
from wg_autodiff.optimize import compile_fn as compile
from wg_autodiff.staging import make_trace
from wg_autodiff.transforms import (
    grad,
    hessian,
    hvp,
    jacfwd,
    jacrev,
    jvp,
    linearize,
    value_and_grad,
    vjp,
)

__all__ = [
    "AutodiffError",
    "InputError",
    "Primitive",
    "TracerConversionError",
    "UnsupportedOperationError",
    "check_grads",
    "checkpoint",
    "compile",
    "custom_jvp",
    "custom_vjp",
    "grad",
    "hessian",
    "hvp",
    "jacfwd",
    "jacrev",
    "jvp",
    "jvp_rules",
    "linearize",
    "make_trace",
    "stop_gradient",
    "value_and_grad",
    "vjp",
    "vjp_rules",
]
