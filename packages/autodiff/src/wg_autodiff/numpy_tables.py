"""Which primitive-based function answers each NumPy function and ufunc called on a tracer."""

from __future__ import annotations

from typing import Any

import numpy as np

from wg_autodiff import numpy_api as api
from wg_autodiff import numpy_math as nm
from wg_autodiff import views
from wg_autodiff.core import Tracer, alias
from wg_autodiff.namespace import shape_of
from wg_autodiff.numpy_decomp import LINALG
from wg_autodiff.numpy_extra import EXTRA_FUNCTIONS, EXTRA_UFUNCS
from wg_autodiff.numpy_fft import FFT
from wg_autodiff.numpy_linalg import (
    dot,
    einsum,
    inner,
    matmul,
    outer,
    slogdet,
    tensordot,
    vdot,
)
from wg_autodiff.numpy_shapes import GATHERS
from wg_autodiff.primitives import arith as ar
from wg_autodiff.primitives import complex as rc
from wg_autodiff.primitives import linalg as rl
from wg_autodiff.primitives import unary as ru


def _multiply(a: Any, b: Any) -> Any:
    return ru.square_p.bind(a) if a is b else ar.multiply_p.bind(a, b)


def _identity(a: Any, *args: Any, **kwargs: Any) -> Any:
    return a


def _full_like(a: Any, fill_value: Any, *args: Any, **kwargs: Any) -> Any:
    base = np.zeros(shape_of(a)) if "shape" not in kwargs else np.zeros(kwargs["shape"])
    if type(fill_value) is Tracer:
        # a traced fill value is differentiable: broadcast it
        return ar.add_p.bind(base, fill_value)
    return writable_like(a, np.full_like(api.bottom(a), fill_value, *args, **kwargs))


def writable_like(a: Any, plain: Any) -> Any:
    """``np.zeros_like(x)`` and friends of a traced ``x``: a constant of ``x``'s trace (its
    derivative is 0), so that ``y[i] = x[i] ** 2`` afterwards is a traced write into ``y``
    instead of an error. Integer and boolean results stay plain arrays."""
    if type(a) is not Tracer or plain.shape != shape_of(a) or plain.dtype.kind not in "fc":
        return plain
    return ar.where_p.bind(np.ones(plain.shape, dtype=bool), plain, a)


def _like(fn: Any) -> Any:
    def like(a: Any, *args: Any, **kwargs: Any) -> Any:
        plain = fn(api.bottom(a), *args, **kwargs)
        return writable_like(a, np.zeros_like(plain) if fn is np.empty_like else plain)

    return like


def _sort(a: Any, axis: int | None = -1, kind: Any = None, order: Any = None) -> Any:
    """Sorting is a permutation: gather with the (non-differentiable) argsort."""
    if axis is None:
        a, axis = api.ravel(a), 0
    perm = api.nondiff_call_p.bind(a, fn=np.argsort, kwargs=(("axis", axis), ("kind", kind)))
    ndim = len(shape_of(a))
    grids: list[Any] = list(np.indices(shape_of(a), sparse=True))
    grids[axis % ndim] = perm
    return api.getitem(a, tuple(grids))


FUNCTIONS: dict[Any, Any] = {
    np.full_like: _full_like,
    np.sort: _sort,
    np.sum: api.asum,
    np.mean: api.mean,
    np.var: api.var,
    np.std: api.std,
    np.max: api.amax,
    np.amax: api.amax,
    np.min: api.amin,
    np.amin: api.amin,
    np.prod: api.prod,
    np.reshape: views.whole(api.reshape),
    np.transpose: views.whole(api.transpose),
    np.swapaxes: views.whole(api.swapaxes),
    np.moveaxis: views.whole(api.moveaxis),
    np.ravel: views.whole(api.ravel),
    np.squeeze: views.whole(api.squeeze),
    np.expand_dims: views.whole(api.expand_dims),
    np.broadcast_to: api.broadcast_to,
    np.concatenate: api.concatenate,
    np.stack: api.stack,
    np.hstack: api.hstack,
    np.vstack: api.vstack,
    np.take: api.take,
    np.tril: api.tril,
    np.triu: api.triu,
    np.diag: api.diag,
    np.diagonal: api.diagonal,
    np.trace: api.trace,
    np.cumsum: api.cumsum,
    np.where: api.where,
    np.clip: api.clip,
    np.einsum: einsum,
    np.tensordot: tensordot,
    np.dot: dot,
    np.outer: outer,
    np.inner: inner,
    np.vdot: vdot,
    np.linalg.slogdet: slogdet,
    np.linalg.det: rl.det_p.bind,
    np.linalg.inv: rl.inv_p.bind,
    np.linalg.solve: rl.solve_p.bind,
    np.linalg.cholesky: rl.cholesky_p.bind,
    np.copy: lambda a, *args, **kw: alias(a) if type(a) is Tracer else a,
    np.real: rc.real,
    np.imag: rc.imag,
    np.atleast_1d: api.atleast_1d,
}
FUNCTIONS.update({f: _like(f) for f in (np.zeros_like, np.ones_like, np.empty_like)})
for _f in (
    np.shape,
    np.ndim,
    np.size,
    np.argmax,
    np.argmin,
    np.argsort,
    np.nonzero,
    np.all,
    np.any,
    np.isclose,
    np.allclose,
    np.round,
    np.around,
    np.array_equal,
    np.count_nonzero,
    np.result_type,
    np.argpartition,
    np.argwhere,
    np.flatnonzero,
    np.lexsort,
    np.nanargmax,
    np.nanargmin,
    np.digitize,
    np.ravel_multi_index,
    np.unravel_index,
    np.tril_indices_from,
    np.triu_indices_from,
    np.diag_indices_from,
    np.ix_,
    np.iscomplex,
    np.isreal,
    np.isneginf,
    np.isposinf,
    np.array_equiv,
    np.can_cast,
    np.common_type,
    np.min_scalar_type,
    np.packbits,
    np.unpackbits,
    np.isin,
    np.is_busday,
    np.busday_count,
    np.busday_offset,
    np.datetime_as_string,
    np.einsum_path,
    np.array2string,
    np.array_repr,
    np.array_str,
    np.linalg.matrix_rank,
    np.fix,
    np.searchsorted,
    np.iscomplexobj,
    np.isrealobj,
    np.may_share_memory,
    np.shares_memory,
):
    FUNCTIONS[_f] = api._nondiff(_f)

FUNCTIONS.update(GATHERS)
FUNCTIONS.update(EXTRA_FUNCTIONS)
FUNCTIONS.update(LINALG)
FUNCTIONS.update(FFT)
FUNCTIONS.update(
    {
        np.astype: lambda x, dtype, **kw: x.astype(dtype) if type(x) is Tracer else x,
        np.linalg.diagonal: lambda x, offset=0: api.diagonal(x, offset, -2, -1),
        np.linalg.trace: lambda x, offset=0, dtype=None: api.trace(x, offset, -2, -1),
        np.linalg.matmul: matmul,
        np.linalg.outer: outer,
        np.linalg.tensordot: tensordot,
        np.moveaxis: views.whole(api.moveaxis),
        np.select: nm.select,
        np.linspace: nm.linspace,
        np.nan_to_num: nm.nan_to_num,
        np.diff: nm.diff,
        np.ediff1d: nm.ediff1d,
        np.gradient: nm.gradient,
        np.cumprod: nm.cumprod,
        np.kron: nm.kron,
        np.cross: nm.cross,
        np.linalg.cross: nm.cross,
        np.interp: nm.interp,
        np.average: nm.average,
        np.ptp: nm.ptp,
        np.nansum: nm.nansum,
        np.nanmean: nm.nanmean,
        np.nanprod: nm.nanprod,
        np.nanmax: nm.nanmax,
        np.nanmin: nm.nanmin,
        np.nanvar: nm.nanvar,
        np.nanstd: nm.nanstd,
        np.cov: nm.cov,
        np.corrcoef: nm.corrcoef,
        np.median: nm.median,
        np.quantile: nm.quantile,
        np.percentile: nm.percentile,
        np.trapezoid: nm.trapezoid,
        np.polyval: nm.polyval,
        np.convolve: nm.convolve,
        np.correlate: nm.correlate,
        np.sinc: nm.sinc,
        np.angle: nm.angle,
    }
)

UFUNCS: dict[Any, Any] = {
    np.add: ar.add_p.bind,
    np.subtract: ar.subtract_p.bind,
    np.multiply: _multiply,
    np.divide: ar.divide_p.bind,
    np.negative: ar.negative_p.bind,
    np.positive: _identity,
    np.power: ar.power_p.bind,
    np.float_power: ar.power_p.bind,
    np.maximum: ar.maximum_p.bind,
    np.minimum: ar.minimum_p.bind,
    np.fmax: ar.maximum_p.bind,
    np.fmin: ar.minimum_p.bind,
    np.logaddexp: ar.logaddexp_p.bind,
    np.arctan2: ar.arctan2_p.bind,
    np.matmul: matmul,
    np.absolute: ru.abs_p.bind,
    np.fabs: ru.abs_p.bind,
    np.true_divide: ar.divide_p.bind,
    np.conjugate: rc.conj,
    np.remainder: ar.remainder_p.bind,
    np.fmod: ar.fmod_p.bind,
    np.hypot: nm.hypot,
    np.logaddexp2: nm.logaddexp2,
    np.deg2rad: nm.deg2rad,
    np.radians: nm.deg2rad,
    np.rad2deg: nm.rad2deg,
    np.degrees: nm.rad2deg,
    np.arcsinh: ru.arcsinh_p.bind,
    np.arccosh: ru.arccosh_p.bind,
    np.vecdot: lambda a, b, **kw: LINALG[np.linalg.vecdot](a, b, **kw),
}
for _name in (
    "exp",
    "log",
    "log1p",
    "expm1",
    "sqrt",
    "square",
    "sin",
    "cos",
    "tan",
    "tanh",
    "arctan",
    "sinh",
    "cosh",
    "arcsin",
    "arccos",
    "arctanh",
    "log2",
    "log10",
    "exp2",
    "reciprocal",
    "cbrt",
):
    UFUNCS[getattr(np, _name)] = getattr(ru, _name + "_p").bind
for _name in (
    "equal",
    "not_equal",
    "less",
    "less_equal",
    "greater",
    "greater_equal",
    "logical_and",
    "logical_or",
    "logical_not",
    "logical_xor",
    "isnan",
    "isinf",
    "isfinite",
    "sign",
    "floor",
    "ceil",
    "trunc",
    "floor_divide",
):
    UFUNCS[getattr(np, _name)] = getattr(ar, _name + "_p").bind
UFUNCS[np.rint] = ar.rint_p.bind
UFUNCS.update(EXTRA_UFUNCS)
for _u in (
    np.heaviside,
    np.spacing,
    np.signbit,
    np.isnat,
    np.bitwise_and,
    np.bitwise_or,
    np.bitwise_xor,
    np.bitwise_count,
    np.bitwise_invert,
    np.bitwise_left_shift,
    np.bitwise_right_shift,
    np.gcd,
    np.lcm,
):
    UFUNCS[_u] = api._nondiff(_u)
