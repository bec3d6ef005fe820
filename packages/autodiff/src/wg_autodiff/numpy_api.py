"""NumPy's public functions, re-expressed with primitives so traced values follow them.

Each function takes NumPy's own signature; :mod:`wg_autodiff.numpy_tables` maps ``np.*``
functions and ufuncs to them for ``Tracer.__array_function__`` / ``__array_ufunc__``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from wg_autodiff.core import Primitive, Tracer, is_complex, unsupported
from wg_autodiff.namespace import shape_of
from wg_autodiff.primitives import arith as ar
from wg_autodiff.primitives import array as ra
from wg_autodiff.primitives import complex as rc
from wg_autodiff.primitives import unary as ru
from wg_autodiff.primitives.registry import Rule, register


def bottom(x: Any) -> Any:
    """The plain value under any number of tracers."""
    while type(x) is Tracer:
        x = x._trace.concrete(x)
    return x


def _norm_axis(axis: Any, ndim: int) -> tuple[int, ...] | None:
    if axis is None:
        return None
    if isinstance(axis, int | np.integer):
        axis = (axis,)
    return tuple(sorted(int(a) % ndim if ndim else 0 for a in axis))


def _no_out(out: Any, name: str, extra: dict[str, Any] | None = None) -> None:
    if out is not None:
        raise unsupported(f"np.{name}(..., out=...) (an in-place write)")
    # options that change the value (initial=, where=) must not be dropped silently
    changed = sorted(
        k
        for k, v in (extra or {}).items()
        if v is not None and v is not True and v is not np._NoValue
    )
    if changed:
        raise unsupported(f"np.{name} with {', '.join(f'{k}=' for k in changed)}")


def asum(
    a: Any, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: bool = False, **kw: Any
) -> Any:
    _no_out(out, "sum", kw)
    return ar.sum_p.bind(a, axis=_norm_axis(axis, len(shape_of(a))), keepdims=bool(keepdims))


def _count(a: Any, axis: tuple[int, ...] | None) -> int:
    shape = shape_of(a)
    return int(np.prod(shape if axis is None else [shape[i] for i in axis]))


def mean(
    a: Any, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: bool = False, **kw: Any
) -> Any:
    ax = _norm_axis(axis, len(shape_of(a)))
    return ar.mul(asum(a, ax, out=out, keepdims=keepdims, **kw), 1.0 / _count(a, ax))


def variance_args(
    axis: Any = None,
    dtype: Any = None,
    out: Any = None,
    ddof: int = 0,
    keepdims: bool = False,
    **kw: Any,
) -> tuple[Any, Any, int, bool, dict[str, Any]]:
    """NumPy's parameters of ``var``, ``std``, ``nanvar`` and ``nanstd`` after the array, bound
    in one place: ``(axis, out, ddof, keepdims, other keywords)``."""
    return axis, out, ddof, keepdims, kw


def var(a: Any, *args: Any, **kwargs: Any) -> Any:
    axis, out, ddof, keepdims, kw = variance_args(*args, **kwargs)
    ax = _norm_axis(axis, len(shape_of(a)))
    _no_out(out, "var", kw)
    centred = ar.subtract_p.bind(a, mean(a, ax, keepdims=True))
    square = ar.mul(centred, rc.conj(centred))
    if is_complex(a):
        square = rc.real(square)
    return ar.mul(asum(square, ax, out=out, keepdims=keepdims), 1.0 / (_count(a, ax) - ddof))


def std(a: Any, *args: Any, **kwargs: Any) -> Any:
    return safe_sqrt(var(a, *args, **kwargs))


def safe_sqrt(v: Any) -> Any:
    """``sqrt`` of a variance: where it is 0 every centred value is 0 and so is the derivative
    (autograd's answer), not sqrt's 1 / 0 times 0."""
    positive = ar.greater_p.bind(v, 0.0)
    return ar.where_p.bind(positive, ru.sqrt_p.bind(ar.where_p.bind(positive, v, 1.0)), 0.0)


def _reduction(prim: Any, name: str) -> Any:
    def reduce(a: Any, axis: Any = None, out: Any = None, keepdims: bool = False, **kw: Any) -> Any:
        _no_out(out, name, kw)
        return prim.bind(a, axis=_norm_axis(axis, len(shape_of(a))), keepdims=bool(keepdims))

    return reduce


amax = _reduction(ra.amax_p, "max")
amin = _reduction(ra.amin_p, "min")
prod = _reduction(ra.prod_p, "prod")


def reshape(a: Any, *shape: Any, order: str = "C", newshape: Any = None, **kw: Any) -> Any:
    if newshape is not None:
        shape = (newshape,)
    if kw.get("shape") is not None:
        shape = (kw["shape"],)
    if len(shape) == 1 and isinstance(shape[0], tuple | list):
        shape = tuple(shape[0])
    if order != "C":
        raise unsupported(f"reshape with order={order!r}")
    target = tuple(int(s) for s in shape)
    if -1 in target:
        known = int(np.prod([s for s in target if s != -1]))
        total = int(np.prod(shape_of(a)))
        target = tuple(total // known if s == -1 else s for s in target)
    return ar.reshape_p.bind(a, shape=target)


def transpose(a: Any, *axes: Any, **kw: Any) -> Any:
    if "axes" in kw:
        axes = (kw.pop("axes"),)
    if kw:
        raise TypeError(f"transpose() got unexpected keyword arguments {sorted(kw)}")
    order: Any = axes
    if len(axes) == 1 and (axes[0] is None or isinstance(axes[0], tuple | list)):
        order = axes[0]
    ndim = len(shape_of(a))
    perm = tuple(range(ndim))[::-1] if not order else tuple(int(x) % ndim for x in order)
    return ra.transpose_p.bind(a, axes=perm)


def swapaxes(a: Any, axis1: int, axis2: int) -> Any:
    perm = list(range(len(shape_of(a))))
    perm[axis1], perm[axis2] = perm[axis2], perm[axis1]
    return ra.transpose_p.bind(a, axes=tuple(perm))


def moveaxis(a: Any, source: Any, destination: Any) -> Any:
    ndim = len(shape_of(a))
    src = [int(s) % ndim for s in np.atleast_1d(source)]
    dst = [int(d) % ndim for d in np.atleast_1d(destination)]
    perm = [i for i in range(ndim) if i not in src]
    for d, s in sorted(zip(dst, src, strict=True)):
        perm.insert(d, s)
    return ra.transpose_p.bind(a, axes=tuple(perm))


def ravel(a: Any, order: str = "C") -> Any:
    return reshape(a, (-1,), order=order)


def squeeze(a: Any, axis: Any = None) -> Any:
    shape = shape_of(a)
    ax = _norm_axis(axis, len(shape))
    drop = [i for i, n in enumerate(shape) if n == 1] if ax is None else list(ax)
    return ar.reshape_p.bind(a, shape=tuple(n for i, n in enumerate(shape) if i not in drop))


def expand_dims(a: Any, axis: Any) -> Any:
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    shape = list(shape_of(a))
    ndim = len(shape) + len(axes)
    for ax in sorted(x % ndim for x in axes):
        shape.insert(ax, 1)
    return ar.reshape_p.bind(a, shape=tuple(shape))


def broadcast_to(a: Any, shape: Any, subok: bool = False) -> Any:
    shape = (int(shape),) if isinstance(shape, int) else tuple(int(s) for s in shape)
    return ar.broadcast_to_p.bind(a, shape=shape)


def concatenate(arrays: Any, axis: int | None = 0, out: Any = None, **kw: Any) -> Any:
    _no_out(out, "concatenate")
    arrays = list(arrays)
    if axis is None:
        arrays, axis = [ravel(x) for x in arrays], 0
    return ra.concatenate_p.bind(*arrays, axis=int(axis))


def stack(arrays: Any, axis: int = 0, out: Any = None, **kw: Any) -> Any:
    return concatenate([expand_dims(x, axis) for x in arrays], axis=axis, out=out)


def atleast_1d(a: Any) -> Any:
    return a if len(shape_of(a)) else reshape(a, (1,))


def hstack(tup: Any, **kw: Any) -> Any:
    arrays = [atleast_1d(x) for x in tup]
    return concatenate(arrays, axis=0 if len(shape_of(arrays[0])) == 1 else 1)


def vstack(tup: Any, **kw: Any) -> Any:
    return concatenate([x if len(shape_of(x)) > 1 else reshape(x, (1, -1)) for x in tup], axis=0)


def getitem(a: Any, idx: Any) -> Any:
    if isinstance(idx, list):
        idx = np.asarray(idx)
    if isinstance(idx, tuple):
        idx = tuple(np.asarray(i) if isinstance(i, list) else bottom(i) for i in idx)
    else:
        idx = bottom(idx)
    return ra.getitem_p.bind(a, idx=idx)


def take(
    a: Any, indices: Any, axis: int | None = None, out: Any = None, mode: str = "raise"
) -> Any:
    _no_out(out, "take")
    if mode != "raise":
        raise unsupported(f"np.take with mode={mode!r}")
    if axis is None:
        return getitem(ravel(a), np.asarray(indices))
    axis = axis % len(shape_of(a))
    return getitem(a, (slice(None),) * axis + (np.asarray(indices),))


def _tri_mask(a: Any, k: int, lower: bool) -> np.ndarray:
    n, m = shape_of(a)[-2:]
    mask = np.tri(n, m, k, dtype=bool)
    return mask if lower else ~np.tri(n, m, k - 1, dtype=bool)


def tril(m: Any, k: int = 0) -> Any:
    return ar.where_p.bind(_tri_mask(m, k, True), m, 0.0)


def triu(m: Any, k: int = 0) -> Any:
    return ar.where_p.bind(_tri_mask(m, k, False), m, 0.0)


def diagonal(a: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Any:
    ndim = len(shape_of(a))
    axis1, axis2 = axis1 % ndim, axis2 % ndim
    a = moveaxis(moveaxis(a, axis1, -1), axis2 - 1 if axis2 > axis1 else axis2, -1)
    n, m = shape_of(a)[-2:]
    rows = np.arange(max(0, -offset), min(n, m - offset))
    return getitem(a, (Ellipsis, rows, rows + offset))


def diag(v: Any, k: int = 0) -> Any:
    if len(shape_of(v)) == 2:
        return diagonal(v, k)
    m = shape_of(v)[0]
    n = m + abs(k)
    # column j of the result holds v[j - max(k, 0)] on the k-th diagonal, zeros elsewhere
    cols = np.clip(np.arange(n) - max(k, 0), 0, m - 1)
    padded = v if k == 0 else getitem(v, cols)
    return ar.mul(reshape(padded, (1, -1)), np.eye(n, k=k))


def trace(a: Any, offset: int = 0, axis1: int = 0, axis2: int = 1, **kw: Any) -> Any:
    return asum(diagonal(a, offset, axis1, axis2), axis=-1)


def cumsum(a: Any, axis: int | None = None, dtype: Any = None, out: Any = None) -> Any:
    _no_out(out, "cumsum")
    if axis is None:
        a, axis = ravel(a), 0
    return ra.cumsum_p.bind(a, axis=int(axis) % len(shape_of(a)))


def where(condition: Any, x: Any = None, y: Any = None) -> Any:
    if x is None or y is None:
        return np.where(bottom(condition))
    return ar.where_p.bind(condition, x, y)


def clip(a: Any, a_min: Any = None, a_max: Any = None, out: Any = None, **kw: Any) -> Any:
    _no_out(out, "clip")
    a_min = kw.get("min", a_min)
    a_max = kw.get("max", a_max)
    if a_min is not None:
        a = ar.maximum_p.bind(a, a_min)
    if a_max is not None:
        a = ar.minimum_p.bind(a, a_max)
    return a


def _call_impl(*args: Any, fn: Any, kwargs: tuple[tuple[str, Any], ...]) -> Any:
    return fn(*args, **dict(kwargs))


nondiff_call_p = register(Rule(Primitive("nondiff_call", _call_impl, nondiff=True)))


def _nondiff(fn: Any) -> Any:
    """A function whose result is a constant (integer, boolean or piecewise constant values):
    it runs on the plain values under the tracers."""

    def apply(*args: Any, **kwargs: Any) -> Any:
        kw = tuple(sorted((k, bottom(v)) for k, v in kwargs.items()))
        return nondiff_call_p.bind(*args, fn=fn, kwargs=kw)

    apply.constant = True  # type: ignore[attr-defined]
    return apply
