"""``np.linalg`` beyond the basics: decompositions, norms of every order, pinv, lstsq, ..."""

from __future__ import annotations

from typing import Any

import numpy as np

from wg_autodiff import numpy_api as api
from wg_autodiff.core import mark_complex, unsupported
from wg_autodiff.namespace import shape_of
from wg_autodiff.numpy_api import bottom
from wg_autodiff.primitives import arith as ar
from wg_autodiff.primitives import decomp as rd
from wg_autodiff.primitives import linalg as rl
from wg_autodiff.primitives import unary as ru
from wg_autodiff.primitives.array import matmul_p, matrix_transpose
from wg_autodiff.primitives.complex import conj, real


class EighResult(tuple):
    """``(eigenvalues, eigenvectors)`` with NumPy's attribute names."""

    eigenvalues = property(lambda self: self[0])
    eigenvectors = property(lambda self: self[1])


class SVDResult(tuple):
    U = property(lambda self: self[0])
    S = property(lambda self: self[1])
    Vh = property(lambda self: self[2])


class QRResult(tuple):
    Q = property(lambda self: self[0])
    R = property(lambda self: self[1])


def eigh(a: Any, UPLO: str = "L") -> Any:
    """Eigenvectors get JAX's rule; within a repeated eigenvalue's eigenspace their derivative
    is 0 (right for any function that does not depend on the basis chosen there)."""
    return EighResult(rd.eigh_outputs(a, lower=UPLO.upper() == "L"))


def eigvalsh(a: Any, UPLO: str = "L") -> Any:
    return eigh(a, UPLO)[0]


def svd(
    a: Any, full_matrices: bool = True, compute_uv: bool = True, hermitian: bool = False
) -> Any:
    m, n = shape_of(a)[-2:]
    if compute_uv and full_matrices and m != n:
        raise unsupported(
            "np.linalg.svd(full_matrices=True) of a non-square matrix (the extra singular "
            "vectors are not unique; pass full_matrices=False, as JAX requires)"
        )
    u, s, vh = rd.svd_outputs(a)
    return SVDResult((u, s, vh)) if compute_uv else s


def svdvals(x: Any) -> Any:
    return rd.svd_outputs(x)[1]


def qr(a: Any, mode: str = "reduced") -> Any:
    m, n = shape_of(a)[-2:]
    if mode not in ("reduced", "r", "complete") or (mode == "complete" and m != n):
        raise unsupported(f"the derivative of np.linalg.qr(mode={mode!r}) of a {m}x{n} matrix")
    q, r = rd.qr_outputs(a)
    return r if mode == "r" else QRResult((q, r))


def eigvals(a: Any) -> Any:
    mark_complex(a)
    return rd.eigvals_p.bind(a)


def pinv(a: Any, rcond: Any = None, hermitian: bool = False, *, rtol: Any = np._NoValue) -> Any:
    if rtol is not np._NoValue:
        rcond = rtol
    return rd.pinv_p.bind(a, rcond=1e-15 if rcond is None else rcond, hermitian=hermitian)


def _abs(x: Any) -> Any:
    return ru.abs_p.bind(x)


def _vector_norm(x: Any, ord: Any, axis: Any, keepdims: bool) -> Any:
    if ord is None or ord == 2:
        sq = real(ar.mul(x, conj(x)))
        return ru.sqrt_p.bind(api.asum(sq, axis=axis, keepdims=keepdims))
    if ord == np.inf:
        return api.amax(_abs(x), axis=axis, keepdims=keepdims)
    if ord == -np.inf:
        return api.amin(_abs(x), axis=axis, keepdims=keepdims)
    if ord == 0:
        return np.sum(bottom(x) != 0, axis=axis, keepdims=keepdims).astype(float)
    if ord == 1:
        return api.asum(_abs(x), axis=axis, keepdims=keepdims)
    total = api.asum(ar.power_p.bind(_abs(x), float(ord)), axis=axis, keepdims=keepdims)
    return ar.power_p.bind(total, 1.0 / float(ord))


def _matrix_norm(x: Any, ord: Any, axis: tuple[int, int], keepdims: bool) -> Any:
    r, c = (a % len(shape_of(x)) for a in axis)
    if ord in (None, "fro"):
        return _vector_norm(x, None, (r, c), keepdims)
    if ord in (1, -1, np.inf, -np.inf):
        inner, outer = (r, c) if ord in (1, -1) else (c, r)
        sums = api.asum(_abs(x), axis=inner, keepdims=True)
        pick = api.amax if ord in (1, np.inf) else api.amin
        out = pick(sums, axis=outer, keepdims=True)
    elif ord in (2, -2, "nuc"):
        s = svdvals(api.moveaxis(x, (r, c), (-2, -1)))
        out = (
            api.asum(s, axis=-1)
            if ord == "nuc"
            else (api.amax if ord == 2 else api.amin)(s, axis=-1)
        )
        out = api.expand_dims(api.expand_dims(out, r if r < c else c), max(r, c))
    else:
        raise ValueError(f"Invalid norm order {ord!r} for matrices.")
    return out if keepdims else api.squeeze(out, axis=(r, c))


def norm(x: Any, ord: Any = None, axis: Any = None, keepdims: bool = False) -> Any:
    ndim = len(shape_of(x))
    if axis is None and ord is None:
        out = _vector_norm(api.ravel(x), None, None, False)
        return api.reshape(out, (1,) * ndim) if keepdims else out
    if axis is None:
        axis = tuple(range(ndim))
    if isinstance(axis, int | np.integer) or len(axis) == 1:
        return _vector_norm(x, ord, int(np.atleast_1d(axis)[0]) % ndim, keepdims)
    return _matrix_norm(x, ord, tuple(axis), keepdims)


def vector_norm(x: Any, /, *, axis: Any = None, keepdims: bool = False, ord: Any = 2) -> Any:
    if axis is None:
        out = _vector_norm(api.ravel(x), ord, 0, False)
        return api.reshape(out, (1,) * len(shape_of(x))) if keepdims else out
    if isinstance(axis, tuple) and len(axis) > 1:
        moved = api.moveaxis(x, axis, tuple(range(-len(axis), 0)))
        flat = api.reshape(moved, (*shape_of(moved)[: -len(axis)], -1))
        out = _vector_norm(flat, ord, -1, False)
        if keepdims:
            for a in sorted(a % len(shape_of(x)) for a in axis):
                out = api.expand_dims(out, a)
        return out
    return _vector_norm(x, ord, axis, keepdims)


def matrix_norm(x: Any, /, *, keepdims: bool = False, ord: Any = "fro") -> Any:
    return _matrix_norm(x, ord, (-2, -1), keepdims)


def matrix_power(a: Any, n: int) -> Any:
    if n < 0:
        a, n = rl.inv_p.bind(a), -n
    if n == 0:
        return np.broadcast_to(np.eye(shape_of(a)[-1]), shape_of(a)).copy()
    out = a
    for _ in range(n - 1):
        out = matmul_p.bind(out, a)
    return out


def multi_dot(arrays: Any, *, out: Any = None) -> Any:
    from wg_autodiff.numpy_linalg import dot

    arrays = list(arrays)
    result = arrays[0]
    for b in arrays[1:]:
        result = dot(result, b)
    return result


def lstsq(a: Any, b: Any, rcond: Any = None) -> Any:
    """``x = pinv(a) @ b``; residuals, rank and singular values as NumPy returns them."""
    vals = np.linalg.lstsq(bottom(a), bottom(b), rcond=rcond)
    x = matmul_p.bind(pinv(a, 1e-15 if rcond is None else rcond), b)
    res = vals[1]
    if np.size(res):
        r = ar.subtract_p.bind(b, matmul_p.bind(a, x))
        res = api.asum(real(ar.mul(r, conj(r))), axis=0)
    return x, res, vals[2], svdvals(a)


def cond(x: Any, p: Any = None) -> Any:
    if p in (None, 2, -2):
        s = svdvals(x)
        big, small = api.amax(s, axis=-1), api.amin(s, axis=-1)
        return ar.divide_p.bind(small, big) if p == -2 else ar.divide_p.bind(big, small)
    return ar.mul(norm(x, p, axis=(-2, -1)), norm(rl.inv_p.bind(x), p, axis=(-2, -1)))


def tensorinv(a: Any, ind: int = 2) -> Any:
    shape = shape_of(a)
    rows, cols = shape[:ind], shape[ind:]
    inv = rl.inv_p.bind(api.reshape(a, (int(np.prod(rows)), -1)))
    return api.reshape(inv, cols + rows)


def tensorsolve(a: Any, b: Any, axes: Any = None) -> Any:
    if axes is not None:
        a = api.moveaxis(a, axes, tuple(range(len(shape_of(a)) - len(axes), len(shape_of(a)))))
    nb = len(shape_of(b))
    rest = shape_of(a)[nb:]
    x = rl.solve_p.bind(api.reshape(a, (int(np.prod(shape_of(b))), -1)), api.ravel(b))
    return api.reshape(x, rest)


def vecdot(x1: Any, x2: Any, /, *, axis: int = -1, **kw: Any) -> Any:
    return api.asum(ar.mul(conj(x1), x2), axis=axis)


LINALG: dict[Any, Any] = {
    np.linalg.eigh: eigh,
    np.linalg.eigvalsh: eigvalsh,
    np.linalg.svd: svd,
    np.linalg.svdvals: svdvals,
    np.linalg.qr: qr,
    np.linalg.eigvals: eigvals,
    np.linalg.pinv: pinv,
    np.linalg.norm: norm,
    np.linalg.vector_norm: vector_norm,
    np.linalg.matrix_norm: matrix_norm,
    np.linalg.matrix_power: matrix_power,
    np.linalg.multi_dot: multi_dot,
    np.linalg.lstsq: lstsq,
    np.linalg.cond: cond,
    np.linalg.tensorinv: tensorinv,
    np.linalg.tensorsolve: tensorsolve,
    np.linalg.vecdot: vecdot,
    np.linalg.matrix_transpose: lambda x: matrix_transpose(x),
    np.matrix_transpose: lambda x: matrix_transpose(x),
}
