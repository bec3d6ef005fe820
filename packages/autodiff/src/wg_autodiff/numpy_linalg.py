"""NumPy's contractions and linear-algebra functions (dot, einsum, tensordot, slogdet, ...)
re-expressed with primitives."""

from __future__ import annotations

from typing import Any

import numpy as np

from wg_autodiff import rules_arith as ar
from wg_autodiff import rules_array as ra
from wg_autodiff import rules_linalg as rl
from wg_autodiff.core import unsupported
from wg_autodiff.namespace import namespace, shape_of
from wg_autodiff.numpy_api import _no_out, asum, nondiff_call_p, ravel, reshape


def einsum(
    subscripts: Any, *operands: Any, out: Any = None, optimize: Any = False, **kw: Any
) -> Any:
    _no_out(out, "einsum")
    if not isinstance(subscripts, str):
        raise unsupported("np.einsum in its interleaved (operand, sublist) form")
    return ra.einsum_p.bind(*operands, subscripts=subscripts)


def tensordot(a: Any, b: Any, axes: Any = 2) -> Any:
    na, nb = len(shape_of(a)), len(shape_of(b))
    if isinstance(axes, int):
        axes_a, axes_b = list(range(na - axes, na)), list(range(axes))
    else:
        axes_a = [axes[0]] if isinstance(axes[0], int) else list(axes[0])
        axes_b = [axes[1]] if isinstance(axes[1], int) else list(axes[1])
    letters = iter("abcdefghijklmnopqrstuvwxyz")
    sa = [next(letters) for _ in range(na)]
    sb = [next(letters) for _ in range(nb)]
    for i, j in zip(axes_a, axes_b, strict=True):
        sb[j % nb] = sa[i % na]
    out = [c for c in sa if c not in sb] + [c for c in sb if c not in sa]
    return ra.einsum_p.bind(a, b, subscripts="".join(sa) + "," + "".join(sb) + "->" + "".join(out))


def dot(a: Any, b: Any, out: Any = None) -> Any:
    _no_out(out, "dot")
    na, nb = len(shape_of(a)), len(shape_of(b))
    if na == 0 or nb == 0:
        return ar.mul(a, b)
    if na <= 2 and nb <= 2:
        return ra.matmul_p.bind(a, b)
    return tensordot(a, b, axes=([-1], [-2 if nb > 1 else -1]))


def matmul(a: Any, b: Any, **kw: Any) -> Any:
    return ra.matmul_p.bind(a, b)


def outer(a: Any, b: Any, out: Any = None) -> Any:
    return ar.mul(reshape(a, (-1, 1)), reshape(b, (1, -1)))


def inner(a: Any, b: Any) -> Any:
    na, nb = len(shape_of(a)), len(shape_of(b))
    if na == 0 or nb == 0:
        return ar.mul(a, b)
    return asum(ar.mul(a, b), axis=-1) if na == nb == 1 else tensordot(a, b, ([-1], [-1]))


def vdot(a: Any, b: Any) -> Any:
    return asum(ar.mul(ravel(a), ravel(b)))


def _slogdet_sign(a: Any) -> Any:
    xp = namespace(a)
    return (np.linalg if xp is np else xp.linalg).slogdet(a)[0]


def slogdet(a: Any) -> tuple[Any, Any]:
    return nondiff_call_p.bind(a, fn=_slogdet_sign, kwargs=()), rl.logabsdet_p.bind(a)
