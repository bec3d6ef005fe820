"""The rest of NumPy's differentiable API: polynomials, in-place writers (put, copyto, ...),
spaced sequences, piecewise and apply-along helpers, and ufuncs with several outputs."""

from __future__ import annotations

from typing import Any

import numpy as np

from wg_autodiff import numpy_api as api
from wg_autodiff import numpy_math as nm
from wg_autodiff import views
from wg_autodiff.core import Tracer, alias, mark_complex, unsupported
from wg_autodiff.namespace import shape_of
from wg_autodiff.numpy_api import bottom, getitem, ravel, reshape
from wg_autodiff.numpy_shapes import _gather, _lay_out, _positions
from wg_autodiff.primitives import arith as ar
from wg_autodiff.primitives import complex as rc
from wg_autodiff.primitives import unary as ru

add, mul, sub, div = ar.add_p.bind, ar.mul, ar.subtract_p.bind, ar.divide_p.bind


# ----------------------------------------------------------------- in-place writers


def _rebind(dst: Any, new: Any, name: str) -> None:
    """Make the traced ``dst`` hold ``new`` (a functional update, as ``x[i] = v`` is)."""
    if type(dst) is not Tracer:
        raise unsupported(
            f"np.{name} writing traced values into a plain array (allocate it with "
            "np.zeros_like(x) of a traced x)"
        )
    views.before_write(dst, None, f"np.{name}")
    if type(new) is not Tracer:
        new = ar.where_p.bind(np.ones(shape_of(dst), dtype=bool), new, dst)
    src = alias(new)
    for slot in ("_trace", "_value", "_node", "_tangent", "_var"):
        if hasattr(src, slot):
            setattr(dst, slot, getattr(src, slot))


def _writer(fn: Any, name: str) -> Any:
    """``fn(dst, ..., values, ...)`` run on element numbers: positive numbers are ``dst``'s own
    elements, negative ones come from ``values``; then one gather from both."""

    def apply(dst: Any, *args: Any, values_at: int, **kwargs: Any) -> None:
        values = args[values_at]
        flat, (_, pv) = _lay_out([dst, values])
        where = _positions(dst)
        rest = [bottom(a) for a in args]
        rest[values_at] = pv
        fn(where, *rest, **kwargs)
        _rebind(dst, _gather(flat, where), name)

    return apply


def put(a: Any, ind: Any, v: Any, mode: str = "raise") -> None:
    _writer(np.put, "put")(a, ind, v, values_at=1, mode=mode)


def place(arr: Any, mask: Any, vals: Any) -> None:
    _writer(np.place, "place")(arr, mask, vals, values_at=1)


def putmask(a: Any, mask: Any, values: Any) -> None:
    _writer(np.putmask, "putmask")(a, mask, values, values_at=1)


def put_along_axis(arr: Any, indices: Any, values: Any, axis: Any) -> None:
    _writer(np.put_along_axis, "put_along_axis")(arr, indices, values, values_at=1, axis=axis)


def fill_diagonal(a: Any, val: Any, wrap: bool = False) -> None:
    _writer(np.fill_diagonal, "fill_diagonal")(a, val, values_at=0, wrap=wrap)


def copyto(dst: Any, src: Any, casting: str = "same_kind", where: Any = True) -> None:
    new = ar.where_p.bind(bottom(where), src, dst)
    _rebind(dst, ar.broadcast_to_p.bind(new, shape=shape_of(dst)), "copyto")


# ----------------------------------------------------------------- sequences


def logspace(
    start: Any,
    stop: Any,
    num: int = 50,
    endpoint: bool = True,
    base: Any = 10.0,
    dtype: Any = None,
    axis: int = 0,
) -> Any:
    return ar.power_p.bind(base, nm.linspace(start, stop, num, endpoint, axis=axis))


def geomspace(
    start: Any, stop: Any, num: int = 50, endpoint: bool = True, dtype: Any = None, axis: int = 0
) -> Any:
    """Positive or negative end points of one sign (NumPy's complex spirals are not supported)."""
    sign = np.sign(bottom(start))
    if np.any(sign != np.sign(bottom(stop))) or np.iscomplexobj(bottom(start)):
        raise unsupported("np.geomspace between end points of different signs or complex ones")
    logs = [ru.log_p.bind(mul(v, sign)) for v in (start, stop)]
    return mul(ru.exp_p.bind(nm.linspace(logs[0], logs[1], num, endpoint, axis=axis)), sign)


def _cumulative(scan: Any, initial: float) -> Any:
    """``np.cumulative_sum`` / ``np.cumulative_prod`` from the scan along one axis and the
    value that ``include_initial`` puts first."""

    def cumulative(
        x: Any,
        /,
        *,
        axis: Any = None,
        dtype: Any = None,
        out: Any = None,
        include_initial: bool = False,
    ) -> Any:
        return _with_initial(
            scan(x, axis if axis is not None else 0), axis, include_initial, initial
        )

    return cumulative


cumulative_sum = _cumulative(api.cumsum, 0.0)
cumulative_prod = _cumulative(nm.cumprod, 1.0)


def _with_initial(c: Any, axis: Any, include: bool, value: float) -> Any:
    if not include:
        return c
    ax = 0 if axis is None else axis
    shape = list(shape_of(c))
    shape[ax] = 1
    return api.concatenate([np.full(shape, value), c], axis=ax)


def nancumsum(a: Any, axis: Any = None, dtype: Any = None, out: Any = None) -> Any:
    return api.cumsum(nm._nan_filled(a, 0.0), axis)


def nancumprod(a: Any, axis: Any = None, dtype: Any = None, out: Any = None) -> Any:
    return nm.cumprod(nm._nan_filled(a, 1.0), axis)


def _no_nan(fn: Any, name: str) -> Any:
    def apply(a: Any, *args: Any, **kwargs: Any) -> Any:
        if np.isnan(bottom(a)).any():
            raise unsupported(f"np.{name} of a traced array holding NaN")
        return fn(a, *args, **kwargs)

    return apply


# ----------------------------------------------------------------- polynomials


def _poly_pad(p: Any, n: int) -> Any:
    have = shape_of(p)[0]
    return p if have == n else api.concatenate([np.zeros(n - have), p])


def polyadd(a1: Any, a2: Any) -> Any:
    n = max(shape_of(a1)[0], shape_of(a2)[0])
    return add(_poly_pad(a1, n), _poly_pad(a2, n))


def polysub(a1: Any, a2: Any) -> Any:
    n = max(shape_of(a1)[0], shape_of(a2)[0])
    return sub(_poly_pad(a1, n), _poly_pad(a2, n))


def polymul(a1: Any, a2: Any) -> Any:
    return nm.convolve(a1, a2)


def polyder(p: Any, m: int = 1) -> Any:
    for _ in range(m):
        n = shape_of(p)[0]
        p = mul(getitem(p, slice(0, n - 1)), np.arange(n - 1, 0, -1.0))
    return p


def polyint(p: Any, m: int = 1, k: Any = None) -> Any:
    ks = np.zeros(m) if k is None else np.broadcast_to(bottom(k), (m,))
    for i in range(m):
        n = shape_of(p)[0]
        p = api.concatenate([div(p, np.arange(n, 0, -1.0)), np.asarray([ks[i]], dtype=float)])
    return p


def poly(seq_of_zeros: Any) -> Any:
    if len(shape_of(seq_of_zeros)) != 1:
        raise unsupported("np.poly of a matrix (pass its eigenvalues)")
    out: Any = np.ones(1)
    for i in range(shape_of(seq_of_zeros)[0]):
        root = reshape(getitem(seq_of_zeros, i), (1,))
        out = nm.convolve(out, api.concatenate([np.ones(1), ar.negative_p.bind(root)]))
    return out


def vander(x: Any, N: Any = None, increasing: bool = False) -> Any:
    n = shape_of(x)[0] if N is None else N
    powers = np.arange(n, dtype=float) if increasing else np.arange(n - 1, -1, -1.0)
    return ar.power_p.bind(reshape(x, (-1, 1)), powers)


def polyfit(
    x: Any, y: Any, deg: int, rcond: Any = None, full: bool = False, w: Any = None, cov: Any = False
) -> Any:
    if full or w is not None or cov:
        raise unsupported("np.polyfit with full=, w= or cov=")
    from wg_autodiff.numpy_decomp import lstsq

    return lstsq(vander(x, deg + 1), y, rcond)[0]


def roots(p: Any) -> Any:
    """Eigenvalues of the companion matrix (first derivatives only)."""
    n = shape_of(p)[0] - 1
    lead = getitem(p, 0)
    top = reshape(ar.negative_p.bind(div(getitem(p, slice(1, None)), lead)), (1, n))
    companion = api.concatenate([top, np.eye(n - 1, n)], axis=0)
    from wg_autodiff.primitives.decomp import eigvals_p

    mark_complex(companion)
    return eigvals_p.bind(companion)


# ----------------------------------------------------------------- selection helpers


def choose(a: Any, choices: Any, out: Any = None, mode: Any = "raise") -> Any:
    flat, where = _lay_out(list(choices))
    return _gather(flat, np.choose(bottom(a), where, mode=mode))


def partition(
    a: Any, kth: Any, axis: int = -1, kind: str = "introselect", order: Any = None
) -> Any:
    idx = np.argpartition(bottom(a), kth, axis=axis)
    return _gather(a, np.take_along_axis(_positions(a), idx, axis=axis))


def sort_complex(a: Any) -> Any:
    v = np.ravel(bottom(a))
    out = getitem(ravel(a), np.lexsort((v.imag, v.real)))
    return out if np.iscomplexobj(v) else mul(out, 1.0 + 0.0j)


def meshgrid(*xi: Any, copy: bool = True, sparse: bool = False, indexing: Any = "xy") -> Any:
    flat, where = _lay_out(list(xi))
    return tuple(_gather(flat, w) for w in np.meshgrid(*where, sparse=sparse, indexing=indexing))


def piecewise(x: Any, condlist: Any, funclist: Any, *args: Any, **kw: Any) -> Any:
    """Each function on the elements its condition selects (later conditions win), as NumPy."""
    conds = [
        np.asarray(bottom(c), dtype=bool)
        for c in (condlist if isinstance(condlist, list) else [condlist])
    ]
    if len(funclist) == len(conds) + 1:
        conds.append(~np.any(conds, axis=0))
    out: Any = np.zeros(shape_of(x))
    for cond, fn in zip(conds, funclist, strict=True):
        if not cond.any():
            continue
        picked = getitem(x, cond)
        vals = fn(picked, *args, **kw) if callable(fn) else np.full(shape_of(picked), fn)
        slot = np.clip(np.cumsum(cond.ravel()) - 1, 0, None).reshape(cond.shape)
        spread = getitem(ar.broadcast_to_p.bind(vals, shape=shape_of(picked)), slot)
        out = ar.where_p.bind(cond, spread, out)
    return out


def apply_along_axis(func1d: Any, axis: int, arr: Any, *args: Any, **kwargs: Any) -> Any:
    moved = api.moveaxis(arr, axis, -1)
    lead = shape_of(moved)[:-1]
    rows = [func1d(getitem(moved, idx), *args, **kwargs) for idx in np.ndindex(*lead)]
    out = api.stack(rows, axis=0)
    out = reshape(out, lead + shape_of(out)[1:])
    return api.moveaxis(out, len(lead), axis) if len(shape_of(out)) > len(lead) else out


def apply_over_axes(func: Any, a: Any, axes: Any) -> Any:
    for ax in np.atleast_1d(axes):
        res = func(a, int(ax))
        a = res if len(shape_of(res)) == len(shape_of(a)) else api.expand_dims(res, int(ax))
    return a


def real_if_close(a: Any, tol: float = 100) -> Any:
    v = bottom(a)
    if np.iscomplexobj(v) and np.real_if_close(v, tol).dtype.kind != "c":
        return rc.real(a)
    return a


def unwrap(p: Any, discont: Any = None, axis: int = -1, *, period: float = 2 * np.pi) -> Any:
    """The added multiples of the period are piecewise constant."""
    v = bottom(p)
    return add(p, np.unwrap(v, discont, axis, period=period) - v)


def bincount(x: Any, weights: Any = None, minlength: int = 0) -> Any:
    from wg_autodiff.primitives.array import scatter_add_p

    idx = np.asarray(bottom(x))
    if weights is None:
        return np.bincount(idx, minlength=minlength)
    n = max(int(idx.max()) + 1 if idx.size else 0, minlength)
    return scatter_add_p.bind(weights, idx=idx, shape=(n,))


# ----------------------------------------------------------------- ufuncs with several outputs


def copysign(x: Any, y: Any) -> Any:
    same = np.signbit(bottom(x)) == np.signbit(bottom(y))
    return ar.where_p.bind(same, x, ar.negative_p.bind(x))


def modf(x: Any) -> tuple[Any, Any]:
    whole = np.trunc(bottom(x))
    return sub(x, whole), whole


def divmod_(x: Any, y: Any) -> tuple[Any, Any]:
    return ar.floor_divide_p.bind(x, y), ar.remainder_p.bind(x, y)


def frexp(x: Any) -> tuple[Any, Any]:
    _, e = np.frexp(bottom(x))
    return mul(x, np.ldexp(1.0, -e)), e


def ldexp(x: Any, i: Any) -> Any:
    return mul(x, np.ldexp(1.0, bottom(i)))


def matvec(a: Any, v: Any, /, **kw: Any) -> Any:
    return api.asum(mul(a, api.expand_dims(v, -2)), axis=-1)


def vecmat(v: Any, a: Any, /, **kw: Any) -> Any:
    return api.asum(mul(api.expand_dims(rc.conj(v), -1), a), axis=-2)


EXTRA_FUNCTIONS: dict[Any, Any] = {
    np.put: put,
    np.place: place,
    np.putmask: putmask,
    np.put_along_axis: put_along_axis,
    np.fill_diagonal: fill_diagonal,
    np.copyto: copyto,
    np.logspace: logspace,
    np.geomspace: geomspace,
    np.cumulative_sum: cumulative_sum,
    np.cumulative_prod: cumulative_prod,
    np.nancumsum: nancumsum,
    np.nancumprod: nancumprod,
    np.nanmedian: _no_nan(nm.median, "nanmedian"),
    np.nanquantile: _no_nan(nm.quantile, "nanquantile"),
    np.nanpercentile: _no_nan(nm.percentile, "nanpercentile"),
    np.polyadd: polyadd,
    np.polysub: polysub,
    np.polymul: polymul,
    np.polyder: polyder,
    np.polyint: polyint,
    np.poly: poly,
    np.vander: vander,
    np.polyfit: polyfit,
    np.roots: roots,
    np.choose: choose,
    np.partition: partition,
    np.sort_complex: sort_complex,
    np.meshgrid: meshgrid,
    np.piecewise: piecewise,
    np.apply_along_axis: apply_along_axis,
    np.apply_over_axes: apply_over_axes,
    np.real_if_close: real_if_close,
    np.unwrap: unwrap,
    np.bincount: bincount,
}
EXTRA_UFUNCS: dict[Any, Any] = {
    np.copysign: copysign,
    np.modf: modf,
    np.divmod: divmod_,
    np.frexp: frexp,
    np.ldexp: ldexp,
    np.matvec: matvec,
    np.vecmat: vecmat,
}
