"""Matrix decompositions (eigh, svd, qr, eigvals, pinv).

Each decomposition is one primitive whose outputs are packed into one array (the raveled
outputs end to end on the last axis) and unpacked with slices, so the tape keeps single-output
nodes. Only the forward rule is written, with JAX's formulas; the reverse rule is its transpose
(:func:`transposed_rule`), traced through the same primitives, so both modes share one formula.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from wg_autodiff.core import (
    Primitive,
    ReverseTrace,
    Tracer,
    is_complex,
    unsupported,
)
from wg_autodiff.namespace import shape_of
from wg_autodiff.primitives.arith import (
    add,
    broadcast_to_p,
    divide_p,
    equal_p,
    mul,
    reshape_p,
    subtract_p,
    where_p,
    zeros_like,
)
from wg_autodiff.primitives.array import concatenate_p, getitem_p, matmul_p, matrix_transpose
from wg_autodiff.primitives.complex import conj, real, real_p
from wg_autodiff.primitives.linalg import cholesky_p, cholesky_real_vjp, solve_p
from wg_autodiff.primitives.registry import Rule, register


def transposed_rule(prim: Primitive, jvp: Any, real_vjp: Any = None) -> Rule:
    """The rule of a primitive given by its forward rule ``jvp(primals, tangents, params, ans)
    -> tangent_out`` (linear in the tangents); the reverse rule pulls back through it
    (``real_vjp(g, ans, *args)``: a cheaper reverse rule for real inputs, complex ones
    transpose)."""

    def forward(primals: list[Any], tangents: list[Any], params: dict[str, Any]) -> Any:
        ans = prim.bind(*primals, **params)
        return ans, jvp(primals, tangents, params, ans)

    def reverse(argnum: int, g: Any, ans: Any, *vals: Any, **params: Any) -> Any:
        if real_vjp is not None and not is_complex(vals[argnum]):
            return real_vjp(g, ans, *vals, **params)
        trace = ReverseTrace()
        ts: list[Any] = [None] * len(vals)
        ts[argnum] = trace.new_input(zeros_like(vals[argnum]))
        t_out = jvp(list(vals), ts, params, ans)
        trace.backward([t_out], [g])
        ct = ts[argnum]._node.ct
        return zeros_like(vals[argnum]) if ct is None else ct

    return Rule(prim, reverse, forward)


# ----------------------------------------------------------------- packing


def _pack_np(outs: tuple[Any, ...], nbatch: int) -> np.ndarray:
    dtype = np.result_type(*outs)
    flat = [np.reshape(o, (*o.shape[:nbatch], -1)).astype(dtype, copy=False) for o in outs]
    return np.concatenate(flat, axis=-1)


def pack(outs: list[Any], batch: tuple[int, ...]) -> Any:
    flat = [reshape_p.bind(o, shape=(*batch, -1)) for o in outs]
    return concatenate_p.bind(*flat, axis=len(batch))


def unpack(
    packed: Any, shapes: tuple[tuple[int, ...], ...], real_of: tuple[bool, ...]
) -> list[Any]:
    """Slices of ``packed`` reshaped to ``shapes`` (after the batch axes); ``real_of[i]`` marks
    outputs that are real although the packed array is complex (eigenvalues, singular values)."""
    batch = shape_of(packed)[:-1]
    outs, start = [], 0
    for shape, want_real in zip(shapes, real_of, strict=True):
        size = math.prod(shape)
        idx = (Ellipsis, slice(start, start + size))
        o = reshape_p.bind(getitem_p.bind(packed, idx=idx), shape=batch + shape)
        outs.append(real_p.bind(o) if want_real and is_complex(o) else o)
        start += size
    return outs


def _batch(a: Any) -> tuple[int, ...]:
    return shape_of(a)[:-2]


# ----------------------------------------------------------------- helpers


def _mm(a: Any, b: Any) -> Any:
    return matmul_p.bind(a, b)


def _h(x: Any) -> Any:
    return conj(matrix_transpose(x))


def _safe_reciprocal(d: Any) -> Any:
    """``1 / d`` with 0 where ``d`` is 0 (repeated eigen/singular values, the diagonal)."""
    zero = equal_p.bind(d, 0.0)
    return where_p.bind(zero, 0.0, divide_p.bind(1.0, where_p.bind(zero, 1.0, d)))


def _row(v: Any) -> Any:
    return reshape_p.bind(v, shape=(*shape_of(v)[:-1], 1, shape_of(v)[-1]))


def _col(v: Any) -> Any:
    return reshape_p.bind(v, shape=(*shape_of(v), 1))


def _diag(x: Any) -> Any:
    n = shape_of(x)[-1]
    return getitem_p.bind(x, idx=(Ellipsis, np.arange(n), np.arange(n)))


def _tri(t: Any, k: int, lower: bool) -> Any:
    n = shape_of(t)[-1]
    mask = np.tri(n, n, k, dtype=bool) if lower else ~np.tri(n, n, k - 1, dtype=bool)
    return where_p.bind(mask, t, 0.0)


# ----------------------------------------------------------------- eigh


def _eigh_impl(a: Any, lower: bool) -> np.ndarray:
    w, v = np.linalg.eigh(a, UPLO="L" if lower else "U")
    return _pack_np((w, v), a.ndim - 2)


eigh_p = Primitive("eigh", _eigh_impl)


def eigh_outputs(a: Any, lower: bool = True) -> list[Any]:
    n = shape_of(a)[-1]
    return unpack(eigh_p.bind(a, lower=lower), ((n,), (n, n)), (True, False))


def _eigh_jvp(primals: list[Any], tangents: list[Any], params: dict[str, Any], ans: Any) -> Any:
    (a,), (t,) = primals, tangents
    n = shape_of(a)[-1]
    w, v = unpack(ans, ((n,), (n, n)), (True, False))
    lower = params["lower"]
    # NumPy reads one triangle: the other one mirrors it
    t = add(_tri(t, 0, lower), _h(_tri(t, -1 if lower else 1, lower)))
    vtv = _mm(_mm(_h(v), t), v)
    f = _safe_reciprocal(subtract_p.bind(_row(w), _col(w)))
    dv = _mm(v, mul(f, vtv))
    dw = real(_diag(vtv))
    return pack([dw, dv], _batch(a))


register(transposed_rule(eigh_p, _eigh_jvp))


# ----------------------------------------------------------------- svd


def _svd_impl(a: Any) -> np.ndarray:
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    return _pack_np((u, s, vh), a.ndim - 2)


svd_p = Primitive("svd", _svd_impl)


def _svd_shapes(a: Any) -> tuple[tuple[int, ...], ...]:
    m, n = shape_of(a)[-2:]
    k = min(m, n)
    return ((m, k), (k,), (k, n))


def svd_outputs(a: Any) -> list[Any]:
    return unpack(svd_p.bind(a), _svd_shapes(a), (False, True, False))


def _svd_jvp(primals: list[Any], tangents: list[Any], params: dict[str, Any], ans: Any) -> Any:
    (a,), (da,) = primals, tangents
    u, s, vh = unpack(ans, _svd_shapes(a), (False, True, False))
    ut, v = _h(u), _h(vh)
    s_row = _row(s)
    ds_mat = _mm(_mm(ut, da), v)
    ds = real(_diag(ds_mat))
    f = _safe_reciprocal(
        mul(add(s_row, matrix_transpose(s_row)), subtract_p.bind(s_row, matrix_transpose(s_row)))
    )
    dss = mul(s_row, ds_mat)
    sds = mul(matrix_transpose(s_row), ds_mat)
    k = shape_of(s)[-1]
    s_inv = mul(
        _safe_reciprocal(broadcast_to_p.bind(s_row, shape=(*shape_of(s)[:-1], k, k))), np.eye(k)
    )
    du = _mm(
        u, add(mul(f, add(dss, _h(dss))), mul(mul(subtract_p.bind(ds_mat, _h(ds_mat)), 0.5), s_inv))
    )
    dv = _mm(v, mul(f, add(sds, _h(sds))))
    m, n = shape_of(a)[-2:]
    if m > n:
        dav = _mm(da, v)
        du = add(du, mul(subtract_p.bind(dav, _mm(u, _mm(ut, dav))), _safe_reciprocal(s_row)))
    if n > m:
        dahu = _mm(_h(da), u)
        dv = add(dv, mul(subtract_p.bind(dahu, _mm(v, _mm(vh, dahu))), _safe_reciprocal(s_row)))
    return pack([du, ds, _h(dv)], _batch(a))


register(transposed_rule(svd_p, _svd_jvp))


# ----------------------------------------------------------------- qr


def _qr_impl(a: Any) -> np.ndarray:
    q, r = np.linalg.qr(a, mode="reduced")
    return _pack_np((q, r), a.ndim - 2)


qr_p = Primitive("qr", _qr_impl)


def qr_outputs(a: Any) -> list[Any]:
    m, n = shape_of(a)[-2:]
    if m < n:
        raise unsupported("the derivative of np.linalg.qr of a wide matrix (JAX has none either)")
    return unpack(qr_p.bind(a), ((m, n), (n, n)), (False, False))


def _qr_jvp(primals: list[Any], tangents: list[Any], params: dict[str, Any], ans: Any) -> Any:
    (a,), (dx,) = primals, tangents
    m, n = shape_of(a)[-2:]
    q, r = unpack(ans, ((m, n), (n, n)), (False, False))
    dx_rinv = matrix_transpose(solve_p.bind(matrix_transpose(r), matrix_transpose(dx)))
    qt_dx_rinv = _mm(_h(q), dx_rinv)
    low = _tri(qt_dx_rinv, -1, True)
    do = subtract_p.bind(low, _h(low))
    if is_complex(qt_dx_rinv):
        imag_diag = subtract_p.bind(qt_dx_rinv, real(qt_dx_rinv))
        do = add(do, mul(imag_diag, np.eye(n)))
    dq = add(_mm(q, subtract_p.bind(do, qt_dx_rinv)), dx_rinv)
    dr = _mm(subtract_p.bind(qt_dx_rinv, do), r)
    return pack([dq, dr], _batch(a))


register(transposed_rule(qr_p, _qr_jvp))


# ----------------------------------------------------------------- cholesky of complex matrices


def _cholesky_jvp(primals: list[Any], tangents: list[Any], params: dict[str, Any], ans: Any) -> Any:
    """``L phi(L^-1 S L^-H)`` of the Hermitian part ``S`` of the tangent (Murray 2016; JAX
    symmetrises the input the same way, as the real rule does)."""
    (a,), (t,) = primals, tangents
    s = mul(add(t, _h(t)), 0.5)
    x = solve_p.bind(ans, s)
    y = _h(solve_p.bind(ans, _h(x)))
    n = shape_of(a)[-1]
    weights = np.tril(np.ones((n, n))) - 0.5 * np.eye(n)
    return _mm(ans, mul(y, weights))


register(transposed_rule(cholesky_p, _cholesky_jvp, real_vjp=cholesky_real_vjp))


# ----------------------------------------------------------------- eigvals, pinv


eigvals_p = Primitive("eigvals", lambda a: np.linalg.eigvals(a).astype(np.result_type(a, 1j)))


def _eigvals_jvp(primals: list[Any], tangents: list[Any], params: dict[str, Any], ans: Any) -> Any:
    (a,), (da,) = primals, tangents
    v = _eig_vectors(a)
    return _diag(_mm(solve_p.bind(v, mul(da, 1.0 + 0.0j)), v))


def _eig_vectors(a: Any) -> Any:
    if type(a) is Tracer:
        raise unsupported(
            "np.linalg.eigvals (and np.roots) in a second derivative or under optimize=True "
            "(their rule is first order)"
        )
    return np.linalg.eig(a)[1].astype(np.result_type(a, 1j))


register(transposed_rule(eigvals_p, _eigvals_jvp))


def _pinv_impl(a: Any, rcond: Any, hermitian: bool) -> Any:
    return np.linalg.pinv(a, rcond=rcond, hermitian=hermitian)


pinv_p = Primitive("pinv", _pinv_impl)


def _pinv_jvp(primals: list[Any], tangents: list[Any], params: dict[str, Any], ans: Any) -> Any:
    """JAX's rule (Golub and Pereyra 1973), valid where the rank is locally constant."""
    (a,), (da,) = primals, tangents
    m, n = shape_of(a)[-2:]
    p = ans
    dp = mul(_mm(_mm(p, da), p), -1.0)
    dp = add(dp, _mm(_mm(_mm(p, _h(p)), _h(da)), subtract_p.bind(np.eye(m), _mm(a, p))))
    return add(dp, _mm(_mm(subtract_p.bind(np.eye(n), _mm(p, a)), _h(da)), _mm(_h(p), p)))


register(transposed_rule(pinv_p, _pinv_jvp))
