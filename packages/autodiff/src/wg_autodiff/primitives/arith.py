"""Arithmetic, comparison and broadcasting primitives with their derivative rules."""

from __future__ import annotations

import math
import operator
from collections.abc import Iterable
from typing import Any

import numpy as np

from wg_autodiff import core
from wg_autodiff.core import Primitive, Tracer
from wg_autodiff.namespace import (
    asarray_like,
    device_namespace,
    harmonize,
    mixing,
    namespace,
    namespace_of,
    shape_of,
)
from wg_autodiff.primitives.registry import Rule, register

add_p = Primitive("add", mixing(operator.add))
subtract_p = Primitive("subtract", mixing(operator.sub))
multiply_p = Primitive("multiply", mixing(operator.mul))
divide_p = Primitive("divide", mixing(operator.truediv))
negative_p = Primitive("negative", operator.neg)


def _xp_impl(np_fn: Any, name: str) -> Any:
    def impl(*args: Any, **params: Any) -> Any:
        xp = device_namespace(*args)
        if xp is np:
            return np_fn(*args, **params)
        args = harmonize(*args)
        like = next(a for a in args if not isinstance(a, float | int | bool))
        args = tuple(asarray_like(xp, a, like) for a in args)
        return getattr(xp, name)(*args, **params)

    return impl


def _nondiff(name: str, np_fn: Any) -> Primitive:
    return register(Rule(Primitive(name, _xp_impl(np_fn, name), nondiff=True)))


equal_p = _nondiff("equal", np.equal)
not_equal_p = _nondiff("not_equal", np.not_equal)
less_p = _nondiff("less", np.less)
less_equal_p = _nondiff("less_equal", np.less_equal)
greater_p = _nondiff("greater", np.greater)
greater_equal_p = _nondiff("greater_equal", np.greater_equal)
logical_and_p = _nondiff("logical_and", np.logical_and)
logical_or_p = _nondiff("logical_or", np.logical_or)
logical_not_p = _nondiff("logical_not", np.logical_not)
logical_xor_p = _nondiff("logical_xor", np.logical_xor)
isnan_p = _nondiff("isnan", np.isnan)
isinf_p = _nondiff("isinf", np.isinf)
isfinite_p = _nondiff("isfinite", np.isfinite)
sign_p = _nondiff("sign", np.sign)
floor_p = _nondiff("floor", np.floor)
ceil_p = _nondiff("ceil", np.ceil)
trunc_p = _nondiff("trunc", np.trunc)
rint_p = _nondiff("round", np.rint)
floor_divide_p = _nondiff("floor_divide", np.floor_divide)


def _sum_impl(x: Any, axis: tuple[int, ...] | None = None, keepdims: bool = False) -> Any:
    if type(x) is np.ndarray:
        fast = dot_sum(x.shape, x.dtype, axis, keepdims) if x.size >= DOT_SUM_MIN else None
        if fast is not None and x.flags.c_contiguous:
            return fast(x)
        return x.sum(axis=axis, keepdims=keepdims)
    xp = namespace(x)
    return xp.sum(x, axis=axis, keepdims=keepdims)


DOT_SUM_MIN = 2048
"""Arrays at least this large reduce through :func:`dot_sum` when it applies."""


def dot_sum(
    shape: tuple[int, ...], dtype: Any, axis: tuple[int, ...] | None, keepdims: bool
) -> Any:
    """A sum over a contiguous block of axes of a C-contiguous float64 array as a BLAS product
    with a vector of ones, or None when that does not apply. NumPy reduces over a short last
    axis or a middle axis element by element: ``x.sum(axis=2)`` of a (5, 1000, 10) array takes
    ~15x as long as ``x.reshape(5000, 10) @ ones(10)``."""
    if axis is None or dtype != np.float64 or len(shape) < 2:
        return None
    axes = sorted(a % len(shape) for a in axis)
    i, j = axes[0], axes[-1] + 1
    if axes != list(range(i, j)) or j - i == len(shape):
        return None
    pre, mid, post = math.prod(shape[:i]), math.prod(shape[i:j]), math.prod(shape[j:])
    out = tuple(1 if i <= d < j else n for d, n in enumerate(shape) if keepdims or not i <= d < j)
    if mid < 2:
        return None
    if post == 1:
        return lambda x: (x.reshape(pre, mid) @ np.ones(mid)).reshape(out)
    if pre == 1:
        return lambda x: (np.ones(mid) @ x.reshape(mid, post)).reshape(out)
    return lambda x: np.matmul(np.ones((1, mid)), x.reshape(pre, mid, post)).reshape(out)


def _broadcast_to_impl(x: Any, shape: tuple[int, ...]) -> Any:
    xp = namespace_of(x)
    if isinstance(x, float | int):
        x = np.asarray(x, dtype=float)
    return xp.broadcast_to(x, shape)


def namespace_impl(np_fn: Any, xp_name: str) -> Any:
    """``impl(x, **params)``: ``np_fn`` on NumPy values, the array namespace's ``xp_name`` on
    others (``np.transpose`` is ``permute_dims`` in the array API)."""

    def impl(x: Any, **params: Any) -> Any:
        xp = namespace(x)
        if xp is np:
            return np_fn(x, **params)
        return getattr(xp, xp_name)(x, **params)

    return impl


sum_p = Primitive("sum", _sum_impl)
broadcast_to_p = Primitive("broadcast_to", _broadcast_to_impl)
reshape_p = Primitive("reshape", namespace_impl(np.reshape, "reshape"))


def _where_impl(c: Any, x: Any, y: Any) -> Any:
    xp = device_namespace(x, y, c)
    if xp is np:
        return np.where(c, x, y)
    c, x, y = harmonize(c, x, y)
    like = x if not isinstance(x, float | int) else y
    return xp.where(c, asarray_like(xp, x, like), asarray_like(xp, y, like))


where_p = Primitive("where", _where_impl)


def _astype_impl(x: Any, dtype: Any) -> Any:
    xp = namespace(x)
    if xp is np:
        return np.asarray(x).astype(dtype)
    return xp.astype(x, dtype)


convert_p = Primitive("convert", _astype_impl)


# ----------------------------------------------------------------- level-aware helpers


add = add_p.bind
mul = multiply_p.bind


def add_all(terms: Iterable[Any]) -> Any:
    """The sum of the terms that are not ``None`` (tangent or cotangent contributions); ``None``
    when there are none.

    Examples
    --------
    >>> add_all([None, 1.0, None, 2.5])
    3.5
    """
    total = None
    for term in terms:
        if term is not None:
            total = term if total is None else add(total, term)
    return total


def unbroadcast(g: Any, shape: tuple[int, ...]) -> Any:
    """Sum ``g`` over the axes along which an argument of ``shape`` was broadcast."""
    gshape = g.shape if type(g) is np.ndarray else shape_of(g)
    if gshape == shape:
        return g
    lead = len(gshape) - len(shape)
    axes = tuple(range(lead)) + tuple(
        i + lead for i, n in enumerate(shape) if n == 1 and gshape[i + lead] != 1
    )
    if axes:
        g = sum_p.bind(g, axis=axes, keepdims=False)
    if shape_of(g) != shape:
        g = reshape_p.bind(g, shape=shape)
    return g


def zeros_like(x: Any) -> Any:
    while type(x) is Tracer:
        x = x._value
    xp = namespace(x)
    if isinstance(x, float | int):
        return 0.0
    return xp.zeros_like(x)


def ones_like_scalar(x: Any) -> Any:
    while type(x) is Tracer:
        x = x._value
    if isinstance(x, float | int):
        return 1.0
    return namespace(x).ones_like(x)


def sum_all(x: Any) -> Any:
    return sum_p.bind(x, axis=None, keepdims=False)


def mask_as(mask: Any, like: Any) -> Any:
    """A boolean mask as a plain array of ``like``'s float dtype."""
    while type(like) is Tracer:
        like = like._value
    if type(mask) is Tracer:
        dtype = getattr(like, "dtype", None)
        return convert_p.bind(mask, dtype=np.result_type(like) if dtype is None else dtype)
    xp = namespace(mask)
    if xp is np:
        return np.asarray(mask).astype(getattr(like, "dtype", np.float64))
    return xp.astype(mask, like.dtype)


# ----------------------------------------------------------------- rules


def binary_rule(prim: Primitive, dx: Any, dy: Any, **fields: Any) -> Rule:
    """Elementwise binary rules from partials ``d(g, ans, x, y) = g * df/darg`` (unreduced)."""
    return Rule(
        prim,
        (
            lambda g, ans, x, y: unbroadcast(dx(g, ans, x, y), shape_of(x)),
            lambda g, ans, x, y: unbroadcast(dy(g, ans, x, y), shape_of(y)),
        ),
        binary_jvp(prim, dx, dy),
        **fields,
    )


def binary_jvp(prim: Primitive, dx: Any, dy: Any) -> Any:
    """The forward rule of :func:`binary_rule` alone (for a primitive with its own reverse rule)."""

    def jvp(primals: list[Any], tangents: list[Any], params: dict[str, Any]) -> Any:
        x, y = primals
        ans = prim.bind(x, y)
        t_out = add_all(
            None if t is None else d(t, ans, x, y) for t, d in zip(tangents, (dx, dy), strict=True)
        )
        if shape_of(t_out) != shape_of(ans):
            t_out = broadcast_to_p.bind(t_out, shape=shape_of(ans))
        return ans, t_out

    return jvp


def _balanced(a: Any, b: Any) -> Any:
    """Share of the derivative of max(a, b) that goes to ``a`` (half of it at ties)."""
    gt = greater_p.bind(a, b)
    eq = equal_p.bind(a, b)
    return add(mask_as(gt, a), mul(mask_as(eq, a), 0.5))


def _safe_log(x: Any) -> Any:
    """``log(x)`` where it is defined (x > 0, or x != 0 for complex x), 0 elsewhere: the
    derivative of ``x ** y`` in ``y`` at such points, as JAX gives it."""
    from wg_autodiff.primitives.unary import log_p

    ok = not_equal_p.bind(x, 0) if core.is_complex(x) else greater_p.bind(x, 0)
    return where_p.bind(ok, log_p.bind(where_p.bind(ok, x, 1.0)), 0.0)


def _power_dx(g: Any, ans: Any, x: Any, y: Any) -> Any:
    """``g * y * x ** (y - 1)``, and 0 where ``y == 0`` (``x ** 0`` is constant, even at 0)."""
    ty = type(y)
    if ((ty is float or ty is int) and y != 0) or (ty is not Tracer and np.all(np.asarray(y) != 0)):
        return mul(g, mul(y, power_p.bind(x, subtract_p.bind(y, 1))))
    zero = equal_p.bind(y, 0)
    y_safe = where_p.bind(zero, 1.0, y)
    return where_p.bind(zero, 0.0, mul(g, mul(y_safe, power_p.bind(x, subtract_p.bind(y_safe, 1)))))


@mixing
def _power_impl(x: Any, y: Any) -> Any:
    return x**y


power_p = Primitive("power", _power_impl)
maximum_p = Primitive("maximum", _xp_impl(np.maximum, "maximum"))
minimum_p = Primitive("minimum", _xp_impl(np.minimum, "minimum"))
logaddexp_p = Primitive("logaddexp", _xp_impl(np.logaddexp, "logaddexp"))
arctan2_p = Primitive("arctan2", _xp_impl(np.arctan2, "atan2"))


remainder_p = Primitive("remainder", _xp_impl(np.remainder, "remainder"))
fmod_p = Primitive("fmod", _xp_impl(np.fmod, "fmod"))
"""``x - y * floor(x / y)`` and ``x - y * trunc(x / y)``: the quotient is piecewise constant."""


def _exp(x: Any) -> Any:
    from wg_autodiff.primitives.unary import exp_p

    return exp_p.bind(x)


def _div(x: Any, y: Any) -> Any:
    return divide_p.bind(x, y)


def _convert_vjp(g: Any, ans: Any, x: Any, dtype: Any) -> Any:
    if core.is_complex(g) and not core.is_complex(x):
        from wg_autodiff.primitives.complex import real_p

        g = real_p.bind(g)
    return convert_p.bind(g, dtype=x.dtype)


def _keep_shape(x: Any, axis: tuple[int, ...]) -> tuple[int, ...]:
    shape = list(shape_of(x))
    for a in axis:
        shape[a] = 1
    return tuple(shape)


def _sum_vjp(g: Any, ans: Any, x: Any, axis: Any, keepdims: bool) -> Any:
    kept = g if keepdims or axis is None else reshape_p.bind(g, shape=_keep_shape(x, axis))
    return broadcast_to_p.bind(kept, shape=shape_of(x))


def _where_jvp(primals: list[Any], tangents: list[Any], params: dict[str, Any]) -> Any:
    c, x, y = primals
    _, tx, ty = tangents
    out = where_p.bind(c, x, y)
    t_out = where_p.bind(c, 0.0 if tx is None else tx, 0.0 if ty is None else ty)
    if shape_of(t_out) != shape_of(out):
        t_out = broadcast_to_p.bind(t_out, shape=shape_of(out))
    return out, t_out


register(
    binary_rule(
        add_p,
        lambda g, a, x, y: g,
        lambda g, a, x, y: g,
        numpy_vjp=(lambda g, a, x, y: g, lambda g, a, x, y: g),
    )
)
# Negate after reducing over broadcast axes: the negation then runs on the small array.
register(
    Rule(
        subtract_p,
        (
            lambda g, ans, x, y: unbroadcast(g, shape_of(x)),
            lambda g, ans, x, y: negative_p.bind(unbroadcast(g, shape_of(y))),
        ),
        binary_jvp(subtract_p, lambda g, a, x, y: g, lambda g, a, x, y: negative_p.bind(g)),
        numpy_vjp=(lambda g, a, x, y: g, lambda g, a, x, y: -g),
    )
)
register(
    binary_rule(
        multiply_p,
        lambda g, a, x, y: mul(g, y),
        lambda g, a, x, y: mul(g, x),
        numpy_vjp=(lambda g, a, x, y: g * y, lambda g, a, x, y: g * x),
    )
)
register(
    binary_rule(
        divide_p,
        lambda g, a, x, y: _div(g, y),
        lambda g, a, x, y: negative_p.bind(_div(mul(g, a), y)),
        numpy_vjp=(lambda g, a, x, y: g / y, lambda g, a, x, y: -((g * a) / y)),
    )
)
register(binary_rule(power_p, _power_dx, lambda g, a, x, y: mul(g, mul(a, _safe_log(x)))))
register(
    binary_rule(
        maximum_p,
        lambda g, a, x, y: mul(g, _balanced(x, y)),
        lambda g, a, x, y: mul(g, _balanced(y, x)),
    )
)
register(
    binary_rule(
        minimum_p,
        lambda g, a, x, y: mul(g, _balanced(y, x)),
        lambda g, a, x, y: mul(g, _balanced(x, y)),
    )
)
register(
    binary_rule(
        logaddexp_p,
        lambda g, a, x, y: mul(g, _exp(subtract_p.bind(x, a))),
        lambda g, a, x, y: mul(g, _exp(subtract_p.bind(y, a))),
    )
)
register(
    binary_rule(
        arctan2_p,
        lambda g, a, y, x: _div(mul(g, x), add(mul(x, x), mul(y, y))),
        lambda g, a, y, x: negative_p.bind(_div(mul(g, y), add(mul(x, x), mul(y, y)))),
    )
)
register(
    binary_rule(
        remainder_p,
        lambda g, a, x, y: g,
        lambda g, a, x, y: negative_p.bind(mul(g, floor_p.bind(_div(x, y)))),
    )
)
register(
    binary_rule(
        fmod_p,
        lambda g, a, x, y: g,
        lambda g, a, x, y: negative_p.bind(mul(g, trunc_p.bind(_div(x, y)))),
    )
)
register(
    Rule(
        negative_p,
        (lambda g, ans, x: negative_p.bind(g),),
        numpy_vjp=(lambda g, ans, x: -g,),
        linear=True,
    )
)
register(Rule(sum_p, (_sum_vjp,), linear=True))
register(Rule(broadcast_to_p, (lambda g, ans, x, shape: unbroadcast(g, shape_of(x)),), linear=True))
register(
    Rule(reshape_p, (lambda g, ans, x, shape: reshape_p.bind(g, shape=shape_of(x)),), linear=True)
)
register(Rule(convert_p, (_convert_vjp,), linear=True))
register(
    Rule(
        where_p,
        (
            None,
            lambda g, ans, c, x, y: unbroadcast(where_p.bind(c, g, 0.0), shape_of(x)),
            lambda g, ans, c, x, y: unbroadcast(where_p.bind(c, 0.0, g), shape_of(y)),
        ),
        _where_jvp,
    )
)
