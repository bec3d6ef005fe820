"""Linear-algebra primitives (inverse, solve, determinants, Cholesky) and their rules."""

from __future__ import annotations

from typing import Any

import numpy as np

from wg_autodiff.core import Primitive
from wg_autodiff.namespace import namespace, shape_of
from wg_autodiff.primitives.arith import mul, negative_p, reshape_p
from wg_autodiff.primitives.array import matmul_p, matrix_transpose
from wg_autodiff.primitives.registry import Rule, register


def _linalg_impl(name: str) -> Any:
    np_fn = getattr(np.linalg, name)

    def impl(*args: Any) -> Any:
        xp = namespace(args[0])
        if xp is np:
            return np_fn(*args)
        return getattr(xp.linalg, name)(*args)

    return impl


def _logabsdet_impl(a: Any) -> Any:
    xp = namespace(a)
    return (np.linalg if xp is np else xp.linalg).slogdet(a)[1]


inv_p = Primitive("inv", _linalg_impl("inv"))
solve_p = Primitive("solve", _linalg_impl("solve"))
det_p = Primitive("det", _linalg_impl("det"))
logabsdet_p = Primitive("logabsdet", _logabsdet_impl)
cholesky_p = Primitive("cholesky", _linalg_impl("cholesky"))


def _mm(a: Any, b: Any) -> Any:
    return matmul_p.bind(a, b)


def _expand_matrix(x: Any) -> Any:
    """Append two unit axes so that a batch of scalars broadcasts against matrices."""
    return reshape_p.bind(x, shape=(*shape_of(x), 1, 1))


register(
    Rule(
        inv_p,
        (
            lambda g, ans, a: negative_p.bind(
                _mm(_mm(matrix_transpose(ans), g), matrix_transpose(ans))
            ),
        ),
    )
)
register(
    Rule(
        det_p,
        (lambda g, ans, a: mul(_expand_matrix(mul(g, ans)), matrix_transpose(inv_p.bind(a))),),
    )
)
register(
    Rule(
        logabsdet_p,
        (lambda g, ans, a: mul(_expand_matrix(g), matrix_transpose(inv_p.bind(a))),),
    )
)


def _solve_vjp(argnum: int, g: Any, ans: Any, a: Any, b: Any) -> Any:
    gb = solve_p.bind(matrix_transpose(a), g)
    if argnum == 1:
        return gb
    if len(shape_of(b)) == 1:
        n = shape_of(b)[0]
        return negative_p.bind(
            mul(reshape_p.bind(gb, shape=(n, 1)), reshape_p.bind(ans, shape=(1, n)))
        )
    return negative_p.bind(_mm(gb, matrix_transpose(ans)))


register(Rule(solve_p, _solve_vjp))


def _phi(x: Any) -> Any:
    """Lower triangle with the diagonal halved (Murray 2016, eq. 10)."""
    n = shape_of(x)[-1]
    weights = np.tril(np.ones((n, n))) - 0.5 * np.eye(n)
    base = _bottom(x)
    xp = namespace(base)
    w = weights.astype(base.dtype) if xp is np else xp.asarray(weights, dtype=base.dtype)
    return mul(x, w)


def _bottom(x: Any) -> Any:
    from wg_autodiff.core import Tracer

    while type(x) is Tracer:
        x = x._value
    return x


def cholesky_real_vjp(g: Any, L: Any, a: Any) -> Any:
    lt = matrix_transpose(L)
    p = _phi(_mm(lt, g))
    s = solve_p.bind(lt, matrix_transpose(solve_p.bind(lt, matrix_transpose(p))))
    return add_sym(s)


def add_sym(s: Any) -> Any:
    from wg_autodiff.primitives.arith import add

    return mul(add(s, matrix_transpose(s)), 0.5)


# cholesky_p is registered with its forward rule in primitives.decomp (this is its real pullback)
