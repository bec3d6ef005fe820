"""Complex numbers: conj, real and imag, the non-holomorphic primitives, with JAX's convention.

Reverse rules are *transposes* of the forward rules (no conjugation): holomorphic primitives
keep their real formulas (``d(x * y) = y dx``), and the gradient of a real-valued function of a
complex input is the conjugate of what gradient descent needs (``grad(abs(z) ** 2) = 2 conj(z)``),
as in JAX. The cotangent of a real value is real (see ``core._real_if_real``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from wg_autodiff.core import Primitive, is_complex
from wg_autodiff.namespace import namespace
from wg_autodiff.primitives.arith import mul
from wg_autodiff.primitives.registry import Rule, register


def _impl(name: str) -> Any:
    np_fn = getattr(np, name)

    def impl(x: Any) -> Any:
        if type(x) is np.ndarray or isinstance(x, float | complex | int | np.generic):
            return np_fn(x)
        return getattr(namespace(x), name)(x)

    return impl


conj_p = Primitive("conj", _impl("conj"))
real_p = Primitive("real", _impl("real"))
imag_p = Primitive("imag", _impl("imag"))

register(Rule(conj_p, (lambda g, ans, x: conj_p.bind(g),), linear=True))
# the transpose of t -> real(t) puts g on the real axis; of t -> imag(t), on the imaginary axis
register(Rule(real_p, (lambda g, ans, x: mul(g, 1.0 + 0.0j) if is_complex(x) else g,), linear=True))
register(Rule(imag_p, (lambda g, ans, x: mul(g, -1.0j),), linear=True))


def conj(x: Any) -> Any:
    """``np.conj``: the identity on real values."""
    return conj_p.bind(x) if is_complex(x) else x


def real(x: Any) -> Any:
    """``np.real``: the identity on real values."""
    return real_p.bind(x) if is_complex(x) else x


def imag(x: Any) -> Any:
    """``np.imag``: zeros (a constant) for real values."""
    if is_complex(x):
        return imag_p.bind(x)
    from wg_autodiff.numpy_api import bottom

    return np.zeros_like(bottom(x))
