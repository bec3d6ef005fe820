"""Elementwise transcendental primitives. Each rule is ``g * f'(x)``; forward mode is the same
expression with the tangent in place of ``g`` (elementwise maps are their own transpose)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from wg_autodiff.core import Primitive, is_complex
from wg_autodiff.namespace import namespace
from wg_autodiff.primitives.arith import add, divide_p, mul, multiply_p, negative_p, subtract_p
from wg_autodiff.primitives.registry import Rule, register


def _impl(np_fn: Any, name: str) -> Any:
    def impl(x: Any) -> Any:
        if type(x) is np.ndarray:
            return np_fn(x)
        xp = namespace(x)
        if xp is np:
            return np_fn(x)
        return getattr(xp, name)(x)

    return impl


def defunary(
    name: str, np_fn: Any, xp_name: str, partial: Any, fast: Any = None, impl: Any = None
) -> Primitive:
    """A unary primitive whose reverse and forward rules are both ``partial(g, ans, x)``;
    ``fast(g, ans, x)`` is the same formula with NumPy's operators (first-order fast path)."""
    prim = Primitive(name, _impl(np_fn, xp_name) if impl is None else impl)

    def jvp(primals: list[Any], tangents: list[Any], params: dict[str, Any]) -> Any:
        (x,) = primals
        ans = prim.bind(x)
        return ans, partial(tangents[0], ans, x)

    return register(Rule(prim, (partial,), jvp, None if fast is None else (fast,)))


def _div(x: Any, y: Any) -> Any:
    return divide_p.bind(x, y)


def _sub(x: Any, y: Any) -> Any:
    return subtract_p.bind(x, y)


cos_p: Primitive
cosh_p: Primitive
exp_p = defunary("exp", np.exp, "exp", lambda g, a, x: mul(g, a), fast=lambda g, a, x: g * a)
log_p = defunary("log", np.log, "log", lambda g, a, x: _div(g, x), fast=lambda g, a, x: g / x)
log1p_p = defunary("log1p", np.log1p, "log1p", lambda g, a, x: _div(g, add(x, 1.0)))
expm1_p = defunary("expm1", np.expm1, "expm1", lambda g, a, x: mul(g, add(a, 1.0)))
sqrt_p = defunary(
    "sqrt",
    np.sqrt,
    "sqrt",
    lambda g, a, x: _div(g, mul(a, 2.0)),
    fast=lambda g, a, x: g / (a * 2.0),
)
square_p = defunary(
    "square",
    np.square,
    "square",
    lambda g, a, x: mul(g, mul(x, 2.0)),
    fast=lambda g, a, x: g * (x * 2.0),
)
sin_p = defunary(
    "sin",
    np.sin,
    "sin",
    lambda g, a, x: mul(g, cos_p.bind(x)),
    fast=lambda g, a, x: g * np.cos(x),
)
cos_p = defunary(
    "cos",
    np.cos,
    "cos",
    lambda g, a, x: negative_p.bind(mul(g, sin_p.bind(x))),
    fast=lambda g, a, x: -(g * np.sin(x)),
)
tan_p = defunary("tan", np.tan, "tan", lambda g, a, x: mul(g, add(mul(a, a), 1.0)))
tanh_p = defunary(
    "tanh",
    np.tanh,
    "tanh",
    lambda g, a, x: mul(g, _sub(1.0, mul(a, a))),
    fast=lambda g, a, x: g * (1.0 - a * a),
)
arctan_p = defunary("arctan", np.arctan, "atan", lambda g, a, x: _div(g, add(mul(x, x), 1.0)))
sinh_p = defunary("sinh", np.sinh, "sinh", lambda g, a, x: mul(g, cosh_p.bind(x)))
cosh_p = defunary("cosh", np.cosh, "cosh", lambda g, a, x: mul(g, sinh_p.bind(x)))
arcsin_p = defunary(
    "arcsin", np.arcsin, "asin", lambda g, a, x: _div(g, sqrt_p.bind(_sub(1.0, mul(x, x))))
)
arccos_p = defunary(
    "arccos",
    np.arccos,
    "acos",
    lambda g, a, x: negative_p.bind(_div(g, sqrt_p.bind(_sub(1.0, mul(x, x))))),
)
arctanh_p = defunary("arctanh", np.arctanh, "atanh", lambda g, a, x: _div(g, _sub(1.0, mul(x, x))))
arcsinh_p = defunary(
    "arcsinh", np.arcsinh, "asinh", lambda g, a, x: _div(g, sqrt_p.bind(add(mul(x, x), 1.0)))
)
arccosh_p = defunary(
    "arccosh", np.arccosh, "acosh", lambda g, a, x: _div(g, sqrt_p.bind(_sub(mul(x, x), 1.0)))
)
log2_p = defunary("log2", np.log2, "log2", lambda g, a, x: _div(g, mul(x, math.log(2.0))))
log10_p = defunary("log10", np.log10, "log10", lambda g, a, x: _div(g, mul(x, math.log(10.0))))
exp2_p = defunary("exp2", np.exp2, "exp2", lambda g, a, x: mul(g, mul(a, math.log(2.0))))
reciprocal_p = defunary(
    "reciprocal", np.reciprocal, "reciprocal", lambda g, a, x: negative_p.bind(mul(g, mul(a, a)))
)
cbrt_p = defunary("cbrt", np.cbrt, "cbrt", lambda g, a, x: _div(g, mul(mul(a, a), 3.0)))


def _abs_partial(g: Any, a: Any, x: Any) -> Any:
    from wg_autodiff.primitives.arith import sign_p

    return multiply_p.bind(g, sign_p.bind(x))


abs_p = Primitive("abs", _impl(np.abs, "abs"))


def _abs_unit(ans: Any, x: Any) -> Any:
    """``conj(x) / |x|`` with 0 where ``x`` is 0 (JAX's choice)."""
    from wg_autodiff.primitives.arith import equal_p, where_p
    from wg_autodiff.primitives.complex import conj_p

    return divide_p.bind(conj_p.bind(x), where_p.bind(equal_p.bind(ans, 0.0), 1.0, ans))


def _abs_vjp(g: Any, ans: Any, x: Any) -> Any:
    if not is_complex(x):
        return _abs_partial(g, ans, x)
    return mul(g, _abs_unit(ans, x))


def _abs_jvp(primals: list[Any], tangents: list[Any], params: dict[str, Any]) -> Any:
    (x,), (t,) = primals, tangents
    ans = abs_p.bind(x)
    if not is_complex(x):
        return ans, _abs_partial(t, ans, x)
    from wg_autodiff.primitives.complex import real_p

    return ans, real_p.bind(mul(t, _abs_unit(ans, x)))


register(Rule(abs_p, (_abs_vjp,), _abs_jvp))


def _sigmoid_np(x: Any) -> Any:
    if type(x) is np.ndarray and x.ndim:
        # in place after the first temporary: the same roundings as 1 / (1 + exp(-x))
        y = np.exp(-x)
        y += 1.0
        return np.reciprocal(y, out=y)
    return 1.0 / (1.0 + np.exp(-x))


def _sigmoid_impl(x: Any) -> Any:
    if type(x) is np.ndarray or isinstance(x, float | np.floating):
        return _sigmoid_np(x)
    xp = namespace(x)
    return 1.0 / (1.0 + xp.exp(-x))


sigmoid_p = defunary(
    "sigmoid",
    _sigmoid_impl,
    "sigmoid",
    lambda g, a, x: mul(g, mul(a, _sub(1.0, a))),
    fast=lambda g, a, x: g * (a * (1.0 - a)),
    impl=_sigmoid_impl,
)
"""The logistic function; the optimiser fuses ``1 / (1 + exp(-x))`` into it."""
