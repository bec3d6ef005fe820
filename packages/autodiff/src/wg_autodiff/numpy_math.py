"""NumPy functions that are compositions of primitives: elementwise extras (hypot, sinc,
logaddexp2, angle, ...), sequences (linspace, diff, gradient, cumprod, interp) and statistics
(average, ptp, median, quantile, cov, nan-aware reductions)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from wg_autodiff import numpy_api as api
from wg_autodiff.core import is_complex, unsupported
from wg_autodiff.namespace import shape_of
from wg_autodiff.numpy_api import bottom, getitem, moveaxis, reshape
from wg_autodiff.primitives import arith as ar
from wg_autodiff.primitives import array as ra
from wg_autodiff.primitives import complex as rc
from wg_autodiff.primitives import unary as ru

add, mul, sub, div = ar.add_p.bind, ar.mul, ar.subtract_p.bind, ar.divide_p.bind


def _guarded(cond: Any, value: Any, safe_input: Any, fn: Any, x: Any) -> Any:
    """``where(cond, value, fn(x))`` computed on ``where(cond, safe_input, x)``, so neither the
    value nor the derivative of ``fn`` is evaluated where it is not defined."""
    return ar.where_p.bind(cond, value, fn(ar.where_p.bind(cond, safe_input, x)))


def hypot(x: Any, y: Any) -> Any:
    """``sqrt(x**2 + y**2)``, with derivative 0 at the origin (JAX's choice)."""
    r2 = add(mul(x, x), mul(y, y))
    return _guarded(ar.equal_p.bind(r2, 0.0), 0.0, 1.0, ru.sqrt_p.bind, r2)


def logaddexp2(x: Any, y: Any) -> Any:
    return mul(ar.logaddexp_p.bind(mul(x, math.log(2.0)), mul(y, math.log(2.0))), 1 / math.log(2))


def sinc(x: Any) -> Any:
    """``sin(pi x) / (pi x)``; near 0 its Taylor polynomial, exact to rounding there and right
    in its first and second derivatives."""
    px = mul(x, math.pi)
    small = ar.less_p.bind(ru.abs_p.bind(px), 1e-4)
    taylor = sub(1.0, div(mul(px, px), 6.0))
    return ar.where_p.bind(
        small, taylor, _guarded(small, 1.0, 1.0, lambda v: div(ru.sin_p.bind(v), v), px)
    )


def deg2rad(x: Any) -> Any:
    return mul(x, math.pi / 180.0)


def rad2deg(x: Any) -> Any:
    return mul(x, 180.0 / math.pi)


def arcsinh(x: Any) -> Any:
    return ru.arcsinh_p.bind(x)


def angle(z: Any, deg: bool = False) -> Any:
    if not is_complex(z):
        return np.angle(bottom(z), deg)
    a = ar.arctan2_p.bind(rc.imag_p.bind(z), rc.real_p.bind(z))
    return rad2deg(a) if deg else a


def select(condlist: Any, choicelist: Any, default: Any = 0) -> Any:
    """The first choice whose condition holds (NumPy's order: later lists are inner)."""
    out = default
    for cond, choice in reversed(list(zip(condlist, choicelist, strict=True))):
        out = ar.where_p.bind(bottom(cond), choice, out)
    return out


def linspace(
    start: Any,
    stop: Any,
    num: int = 50,
    endpoint: bool = True,
    retstep: bool = False,
    dtype: Any = None,
    axis: int = 0,
    **kw: Any,
) -> Any:
    """``start + (stop - start) * t`` with NumPy's own ``t = linspace(0, 1, num)``."""
    shape = np.broadcast_shapes(shape_of(start), shape_of(stop))
    t = np.linspace(0.0, 1.0, num, endpoint=endpoint).reshape((num,) + (1,) * len(shape))
    delta = sub(stop, start)
    out = add(start, mul(delta, t))
    if axis != 0:
        out = moveaxis(out, 0, axis)
    if retstep:
        return out, div(delta, max(num - 1 if endpoint else num, 1))
    return out


def nan_to_num(
    x: Any, copy: bool = True, nan: float = 0.0, posinf: Any = None, neginf: Any = None
) -> Any:
    v = bottom(x)
    if is_complex(x):
        return add(
            nan_to_num(rc.real_p.bind(x), nan=nan, posinf=posinf, neginf=neginf),
            mul(nan_to_num(rc.imag_p.bind(x), nan=nan, posinf=posinf, neginf=neginf), 1j),
        )
    info = np.finfo(np.asarray(v).dtype)
    hi = info.max if posinf is None else posinf
    lo = info.min if neginf is None else neginf
    out = ar.where_p.bind(np.isnan(v), nan, x)
    out = ar.where_p.bind(np.isposinf(v), hi, out)
    return ar.where_p.bind(np.isneginf(v), lo, out)


def _along(a: Any, axis: int, start: Any = None, stop: Any = None, step: Any = None) -> Any:
    ndim = len(shape_of(a))
    idx = [slice(None)] * ndim
    idx[axis % ndim] = slice(start, stop, step)
    return getitem(a, tuple(idx))


def diff(
    a: Any, n: int = 1, axis: int = -1, prepend: Any = np._NoValue, append: Any = np._NoValue
) -> Any:
    if prepend is not np._NoValue or append is not np._NoValue:
        parts = [a]
        for value, at in ((prepend, 0), (append, len(parts) + 1)):
            if value is not np._NoValue:
                shape = list(shape_of(a))
                shape[axis] = 1
                block = (
                    value
                    if len(shape_of(value))
                    else ar.broadcast_to_p.bind(value, shape=tuple(shape))
                )
                parts.insert(0 if at == 0 else len(parts), block)
        a = api.concatenate(parts, axis=axis)
    for _ in range(n):
        a = sub(_along(a, axis, 1, None), _along(a, axis, None, -1))
    return a


def ediff1d(ary: Any, to_end: Any = None, to_begin: Any = None) -> Any:
    d = diff(api.ravel(ary))
    parts = [api.ravel(p) for p in (to_begin,) if p is not None]
    parts += [d] + [api.ravel(p) for p in (to_end,) if p is not None]
    return api.concatenate(parts) if len(parts) > 1 else d


def _gradient_axis(f: Any, h: Any, axis: int, edge_order: int) -> Any:
    n = shape_of(f)[axis]
    if n < edge_order + 1:
        raise ValueError("Shape of array too small to calculate a numerical gradient")
    mid = div(sub(_along(f, axis, 2, None), _along(f, axis, None, -2)), mul(h, 2.0))
    at = lambda i: _along(f, axis, i % n, i % n + 1)  # noqa: E731
    if edge_order == 1:
        first = div(sub(at(1), at(0)), h)
        last = div(sub(at(-1), at(-2)), h)
    else:
        first = div(add(add(mul(at(0), -3.0), mul(at(1), 4.0)), mul(at(2), -1.0)), mul(h, 2.0))
        last = div(add(add(mul(at(-1), 3.0), mul(at(-2), -4.0)), at(-3)), mul(h, 2.0))
    return api.concatenate([first, mid, last], axis=axis)


def gradient(f: Any, *varargs: Any, axis: Any = None, edge_order: int = 1) -> Any:
    """``np.gradient`` with uniform (scalar) spacings."""
    ndim = len(shape_of(f))
    axes = list(range(ndim)) if axis is None else [axis] if isinstance(axis, int) else list(axis)
    axes = [a % ndim for a in axes]
    spacing = list(varargs) if len(varargs) != 1 else list(varargs) * len(axes)
    spacing = spacing or [1.0] * len(axes)
    if any(len(shape_of(h)) for h in spacing):
        raise unsupported("np.gradient with coordinate arrays (pass uniform scalar spacings)")
    out = [_gradient_axis(f, h, a, edge_order) for h, a in zip(spacing, axes, strict=True)]
    return out[0] if len(out) == 1 else tuple(out)


def cumprod(a: Any, axis: Any = None, dtype: Any = None, out: Any = None) -> Any:
    """``out[i] = prod(a[:i + 1])`` as one product over a triangular block (O(n^2))."""
    api._no_out(out, "cumprod")
    if axis is None:
        a, axis = api.ravel(a), 0
    a = moveaxis(a, axis, -1)
    n = shape_of(a)[-1]
    lower = np.tril(np.ones((n, n), dtype=bool))
    block = ar.where_p.bind(lower, api.expand_dims(a, -2), 1.0)
    return moveaxis(api.prod(block, axis=-1), -1, axis)


def kron(a: Any, b: Any) -> Any:
    nd = max(len(shape_of(a)), len(shape_of(b)))
    sa = (1,) * (nd - len(shape_of(a))) + shape_of(a)
    sb = (1,) * (nd - len(shape_of(b))) + shape_of(b)
    left = reshape(a, tuple(x for n in sa for x in (n, 1)))
    right = reshape(b, tuple(x for n in sb for x in (1, n)))
    return reshape(mul(left, right), tuple(p * q for p, q in zip(sa, sb, strict=True)))


def cross(
    a: Any, b: Any, axisa: int = -1, axisb: int = -1, axisc: int = -1, axis: Any = None
) -> Any:
    if axis is not None:
        axisa = axisb = axisc = axis
    a, b = moveaxis(a, axisa, -1), moveaxis(b, axisb, -1)
    na, nb = shape_of(a)[-1], shape_of(b)[-1]
    comp = lambda x, i, n: getitem(x, (Ellipsis, i)) if i < n else 0.0  # noqa: E731
    a0, a1, a2 = (comp(a, i, na) for i in range(3))
    b0, b1, b2 = (comp(b, i, nb) for i in range(3))
    z = sub(mul(a0, b1), mul(a1, b0))
    if na == 2 and nb == 2:
        return z
    parts = [sub(mul(a1, b2), mul(a2, b1)), sub(mul(a2, b0), mul(a0, b2)), z]
    shape = np.broadcast_shapes(*(shape_of(p) for p in parts))
    out = api.stack([ar.broadcast_to_p.bind(p, shape=shape) for p in parts], axis=-1)
    return moveaxis(out, -1, axisc)


def interp(
    x: Any, xp: Any, fp: Any, left: Any = None, right: Any = None, period: Any = None
) -> Any:
    """Piecewise-linear interpolation; differentiable in ``x``, ``xp`` and ``fp``."""
    if period is not None:
        raise unsupported("np.interp with period=")
    n = shape_of(xp)[0]
    i = np.clip(np.searchsorted(bottom(xp), bottom(x), side="right") - 1, 0, n - 2)
    x0, x1, f0, f1 = getitem(xp, i), getitem(xp, i + 1), getitem(fp, i), getitem(fp, i + 1)
    t = div(sub(x, x0), sub(x1, x0))
    out = add(f0, mul(t, sub(f1, f0)))
    lo = getitem(fp, 0) if left is None else left
    hi = getitem(fp, n - 1) if right is None else right
    out = ar.where_p.bind(ar.less_p.bind(x, getitem(xp, 0)), lo, out)
    return ar.where_p.bind(ar.greater_p.bind(x, getitem(xp, n - 1)), hi, out)


def average(
    a: Any, axis: Any = None, weights: Any = None, returned: bool = False, **kw: Any
) -> Any:
    if weights is None:
        avg = api.mean(a, axis)
        total = np.float64(np.prod(shape_of(a)) / np.prod(shape_of(avg)))
    else:
        if len(shape_of(weights)) != len(shape_of(a)) and axis is not None:
            shape = [1] * len(shape_of(a))
            shape[axis] = shape_of(weights)[0]
            weights = reshape(weights, tuple(shape))
        total = api.asum(
            ar.broadcast_to_p.bind(weights, shape=shape_of(a))
            if shape_of(weights) != shape_of(a)
            else weights,
            axis,
        )
        avg = div(api.asum(mul(a, weights), axis), total)
    return (avg, total) if returned else avg


def ptp(a: Any, axis: Any = None, out: Any = None, keepdims: bool = False) -> Any:
    return sub(api.amax(a, axis, out, keepdims), api.amin(a, axis, keepdims=keepdims))


def _nan_filled(a: Any, fill: float) -> Any:
    return ar.where_p.bind(np.isnan(bottom(a)), fill, a)


def nansum(
    a: Any, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: bool = False
) -> Any:
    return api.asum(_nan_filled(a, 0.0), axis, out=out, keepdims=keepdims)


def nanmean(
    a: Any, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: bool = False
) -> Any:
    count = np.sum(~np.isnan(bottom(a)), axis=axis, keepdims=keepdims)
    return div(nansum(a, axis, out=out, keepdims=keepdims), count)


def nanprod(
    a: Any, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: bool = False
) -> Any:
    return api.prod(_nan_filled(a, 1.0), axis, out, keepdims)


def nanmax(a: Any, axis: Any = None, out: Any = None, keepdims: bool = False, **kw: Any) -> Any:
    return api.amax(_nan_filled(a, -np.inf), axis, out, keepdims)


def nanmin(a: Any, axis: Any = None, out: Any = None, keepdims: bool = False, **kw: Any) -> Any:
    return api.amin(_nan_filled(a, np.inf), axis, out, keepdims)


def nanvar(a: Any, *args: Any, **kwargs: Any) -> Any:
    axis, _, ddof, keepdims, _ = api.variance_args(*args, **kwargs)
    m = nanmean(a, axis, keepdims=True)
    c = _nan_filled(sub(a, m), 0.0)
    count = np.sum(~np.isnan(bottom(a)), axis=axis, keepdims=keepdims)
    sq = mul(c, rc.conj(c))
    return div(api.asum(rc.real(sq), axis, keepdims=keepdims), count - ddof)


def nanstd(a: Any, *args: Any, **kwargs: Any) -> Any:
    return api.safe_sqrt(nanvar(a, *args, **kwargs))


def cov(
    m: Any, y: Any = None, rowvar: bool = True, bias: bool = False, ddof: Any = None, **kw: Any
) -> Any:
    if kw.get("fweights") is not None or kw.get("aweights") is not None:
        raise unsupported("np.cov with fweights/aweights")
    x = m if len(shape_of(m)) == 2 else reshape(m, (1, -1))
    if not rowvar:
        x = api.transpose(x)
    if y is not None:
        yy = y if len(shape_of(y)) == 2 else reshape(y, (1, -1))
        x = api.concatenate([x, yy if rowvar else api.transpose(yy)], axis=0)
    n = shape_of(x)[1]
    d = (0 if bias else 1) if ddof is None else ddof
    c = sub(x, api.mean(x, axis=1, keepdims=True))
    out = div(ra.matmul_p.bind(c, api.transpose(rc.conj(c))), n - d)
    return reshape(out, ()) if len(shape_of(m)) < 2 and y is None else out


def corrcoef(x: Any, y: Any = None, rowvar: bool = True, **kw: Any) -> Any:
    c = cov(x, y, rowvar)
    if not shape_of(c):
        return div(c, c)
    d = api.diagonal(c)
    s = ru.sqrt_p.bind(rc.real(d))
    return div(div(c, reshape(s, (-1, 1))), reshape(s, (1, -1)))


def median(
    a: Any, axis: Any = None, out: Any = None, overwrite_input: bool = False, keepdims: bool = False
) -> Any:
    return quantile(a, 0.5, axis=axis, keepdims=keepdims)


def quantile(
    a: Any,
    q: Any,
    axis: Any = None,
    out: Any = None,
    overwrite_input: bool = False,
    method: str = "linear",
    keepdims: bool = False,
    **kw: Any,
) -> Any:
    """Sort (a permutation), then NumPy's linear interpolation between neighbours."""
    if method != "linear" or kw.get("weights") is not None:
        raise unsupported(f"np.quantile with method={method!r} or weights")
    if axis is None:
        src, ax = api.ravel(a), 0
    else:
        src, ax = a, axis % len(shape_of(a))
    s = moveaxis(_sort(src, ax), ax, -1)
    n = shape_of(s)[-1]
    qs = np.asarray(bottom(q), dtype=float)
    pos = qs * (n - 1)
    lo = np.floor(pos).astype(np.intp)
    hi = np.minimum(lo + 1, n - 1)
    w = pos - lo
    v = add(mul(getitem(s, (Ellipsis, lo)), 1.0 - w), mul(getitem(s, (Ellipsis, hi)), w))
    if qs.ndim:
        v = moveaxis(v, -1, 0)
    if keepdims:
        v = api.expand_dims(
            v,
            (qs.ndim + ax)
            if axis is not None
            else tuple(range(qs.ndim, qs.ndim + len(shape_of(a)))),
        )
    return v


def percentile(a: Any, q: Any, axis: Any = None, *args: Any, **kw: Any) -> Any:
    return quantile(a, np.asarray(bottom(q)) / 100.0, axis, *args, **kw)


def _sort(a: Any, axis: int) -> Any:
    from wg_autodiff.numpy_tables import _sort as sort

    return sort(a, axis)


def trapezoid(y: Any, x: Any = None, dx: float = 1.0, axis: int = -1) -> Any:
    mids = mul(add(_along(y, axis, 1, None), _along(y, axis, None, -1)), 0.5)
    if x is None:
        return mul(api.asum(mids, axis=axis), dx)
    return api.asum(mul(mids, diff(x, axis=axis if len(shape_of(x)) > 1 else -1)), axis=axis)


def polyval(p: Any, x: Any) -> Any:
    out: Any = 0.0
    for i in range(shape_of(p)[0]):
        out = add(mul(out, x), getitem(p, i))
    return out


def convolve(a: Any, v: Any, mode: str = "full") -> Any:
    """``sum_j a[k - j] v[j]`` as a gather of shifted copies of ``a`` and one contraction."""
    n, m = shape_of(a)[0], shape_of(v)[0]
    if m > n:
        a, v, n, m = v, a, m, n
    k = np.arange(n + m - 1)[:, None] - np.arange(m)[None, :]
    inside = (k >= 0) & (k < n)
    shifted = ar.where_p.bind(inside, getitem(a, np.clip(k, 0, n - 1)), 0.0)
    full = ra.matmul_p.bind(shifted, v)
    if mode == "full":
        return full
    if mode == "same":
        start = (m - 1) // 2
        return getitem(full, slice(start, start + n))
    return getitem(full, slice(m - 1, n))


def correlate(a: Any, v: Any, mode: str = "valid") -> Any:
    return convolve(a, getitem(rc.conj(v), slice(None, None, -1)), mode)
