"""Spec-table conformance: every primitive's rules against central finite differences.

Each entry names a NumPy expression, the shapes of its arguments (broadcasting included) and a
domain for their values. Hypothesis draws the inputs; forward and reverse mode are compared with
central differences, to first and (where the function is smooth) second order, under ADBench's
error measure rho <= 1e-6 in float64.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
import wg_autodiff as ad
from hypothesis import given, settings
from hypothesis import strategies as st
from wg_autodiff.gradcheck import rho
from wg_autodiff.primitives import RULES
from wg_autodiff.pytree import tree_flatten

EPS = 1e-5
TOL = 1e-6


@dataclass(frozen=True)
class Spec:
    name: str
    fn: Callable[..., Any]
    shapes: tuple[tuple[int, ...], ...]
    lo: float = -2.0
    hi: float = 2.0
    order: int = 2
    grid: bool = False  # draw from a coarse grid: exact ties or clear gaps, never near-ties
    unique: bool = False  # distinct values (the derivative of max/min does not exist at ties)
    prims: tuple[str, ...] = ()
    complex: bool = False  # complex inputs (real and imaginary parts drawn in [lo, hi])
    # a distinct offset per element: no exact repeats (no repeated singular values, no inputs on
    # an interpolation knot), where the function has no derivative
    generic: bool = False


_TALL4 = np.array([[2.0, 0.0], [0.0, 1.0], [0.0, 0.0], [0.0, 0.0]])
_SPREAD = np.diag([0.0, 2.0, 4.0])  # eigenvalues well apart: no near-repeated ones
_TALL = np.array([[2.0, 0.0], [0.0, 1.0], [0.0, 0.0]])  # distinct singular values near 2 and 1


def _writes_like(x: Any) -> Any:
    y = np.zeros_like(x)
    z = np.ones_like(x)
    e = np.empty_like(x)
    e[:] = 0.0
    for i in range(len(x)):
        y[i] = x[i] ** 2 + y[i - 1]
        z[i] = z[i] * x[i]
    return y + z + e


def _in_place_writers(x: Any, v: Any) -> Any:
    a = np.zeros_like(x)
    np.copyto(a, x, where=x > 0.5)
    np.put(a, [0, 4], v[:2])
    np.place(a, np.eye(3, dtype=bool), v)
    np.putmask(a, np.tri(3, k=-1, dtype=bool), x * 2.0)
    np.put_along_axis(a, np.array([[2], [1], [0]]), v[:, None], axis=1)
    np.fill_diagonal(a, v * 3.0)
    return a


def _spd(a: Any) -> Any:
    return a @ np.swapaxes(a, -1, -2) + 3.0 * np.eye(a.shape[-1])


_KINKED: dict[str, Any] = {"lo": 0.5, "hi": 2.0, "order": 1, "unique": True, "generic": True}
"""Functions with kinks at ties (norms, ptp, sorted values): positive, distinct inputs away
from repeats, checked to first order."""

SPECS = [
    Spec("add", lambda x, y: x + y, ((3, 1), (1, 4)), prims=("add",)),
    Spec("subtract", lambda x, y: x - y, ((2, 3), (3,)), prims=("subtract",)),
    Spec("multiply", lambda x, y: x * y, ((2, 3), (2, 1)), prims=("multiply",)),
    Spec("divide", lambda x, y: x / y, ((2, 3), (3,)), 0.5, 2.0, prims=("divide",)),
    Spec("rdivide", lambda x: 2.0 / x, ((4,),), 0.5, 2.0),
    Spec("power", lambda x, y: x**y, ((2, 3), (2, 3)), 0.5, 2.0, prims=("power",)),
    Spec("power_scalar", lambda x: x**3, ((5,),)),
    Spec("negative", lambda x: -x, ((3,),), prims=("negative",)),
    Spec("exp", np.exp, ((2, 3),), prims=("exp",)),
    Spec("log", np.log, ((4,),), 0.3, 3.0, prims=("log",)),
    Spec("log1p", np.log1p, ((4,),), -0.5, 3.0, prims=("log1p",)),
    Spec("expm1", np.expm1, ((4,),), prims=("expm1",)),
    Spec("sqrt", np.sqrt, ((4,),), 0.3, 3.0, prims=("sqrt",)),
    Spec("square", np.square, ((4,),), prims=("square",)),
    Spec("sin", np.sin, ((4,),), prims=("sin",)),
    Spec("cos", np.cos, ((4,),), prims=("cos",)),
    Spec("tan", np.tan, ((4,),), -1.2, 1.2, prims=("tan",)),
    Spec("tanh", np.tanh, ((4,),), prims=("tanh",)),
    Spec("arctan", np.arctan, ((4,),), prims=("arctan",)),
    Spec("sinh", np.sinh, ((3,),), prims=("sinh",)),
    Spec("cosh", np.cosh, ((3,),), prims=("cosh",)),
    Spec("arcsin", np.arcsin, ((3,),), -0.8, 0.8, prims=("arcsin",)),
    Spec("arccos", np.arccos, ((3,),), -0.8, 0.8, prims=("arccos",)),
    Spec("arctanh", np.arctanh, ((3,),), -0.8, 0.8, prims=("arctanh",)),
    Spec("log2", np.log2, ((3,),), 0.3, 3.0, prims=("log2",)),
    Spec("log10", np.log10, ((3,),), 0.3, 3.0, prims=("log10",)),
    Spec("exp2", np.exp2, ((3,),), prims=("exp2",)),
    Spec("reciprocal", np.reciprocal, ((3,),), 0.5, 2.0, prims=("reciprocal",)),
    Spec("cbrt", np.cbrt, ((3,),), 0.5, 2.0, prims=("cbrt",)),
    Spec("abs", np.abs, ((5,),), order=1, grid=True, prims=("abs",)),
    Spec("maximum", np.maximum, ((3, 2), (2,)), order=1, grid=True, prims=("maximum",)),
    Spec("minimum", np.minimum, ((4,), (4,)), order=1, grid=True, prims=("minimum",)),
    Spec("logaddexp", np.logaddexp, ((3,), (2, 3)), prims=("logaddexp",)),
    Spec("arctan2", np.arctan2, ((3,), (3,)), 0.5, 2.0, prims=("arctan2",)),
    Spec("clip", lambda x: np.clip(x, -1.0, 1.0), ((6,),), order=1, grid=True),
    Spec(
        "where",
        lambda x, y: np.where(x > 0, x * y, y),
        ((4,), (4,)),
        -1.875,
        2.125,
        grid=True,
        prims=("where",),
    ),
    Spec("sum_axis", lambda x: np.sum(x, axis=1), ((2, 3, 2),), prims=("sum",)),
    Spec("sum_keepdims", lambda x: x.sum(axis=(0, 2), keepdims=True) * x, ((2, 3, 2),)),
    Spec("mean", lambda x: np.mean(x**2, axis=0), ((3, 2),)),
    Spec("prod", lambda x: np.prod(x, axis=1), ((2, 3),), 0.5, 2.0, prims=("prod",)),
    Spec(
        "max",
        lambda x: np.max(x, axis=0),
        ((4, 3),),
        order=1,
        grid=True,
        unique=True,
        prims=("max",),
    ),
    Spec(
        "min",
        lambda x: x.min(axis=1, keepdims=True),
        ((3, 4),),
        order=1,
        grid=True,
        unique=True,
        prims=("min",),
    ),
    Spec("var", lambda x: np.var(x, axis=1), ((2, 4),)),
    Spec("std", lambda x: np.std(x + 5.0 * np.arange(5)), ((5,),)),
    Spec(
        "logsumexp_pattern",
        lambda x: (
            np.log(np.sum(np.exp(x - x.max(1, keepdims=True)), 1, keepdims=True))
            + x.max(1, keepdims=True)
        ),
        ((2, 3),),
    ),
    Spec("dot", np.dot, ((2, 3), (3, 4))),
    Spec("matmul_batched", lambda a, b: a @ b, ((2, 3, 4), (4, 2)), prims=("matmul",)),
    Spec("matmul_vector", np.matmul, ((3,), (3, 2))),
    Spec("einsum", lambda a, b: np.einsum("ij,jk->ik", a, b), ((2, 3), (3, 2)), prims=("einsum",)),
    Spec("einsum_reduce", lambda a, b: np.einsum("ijk,k->i", a, b), ((2, 3, 4), (4,))),
    Spec("einsum_ellipsis", lambda a, b: np.einsum("...jk,k->...j", a, b), ((2, 3, 4), (4,))),
    Spec("einsum_diagonal", lambda a: np.einsum("ii->", a) + np.einsum("ii->i", a) ** 2, ((3, 3),)),
    Spec(
        "einsum_sublist",
        lambda a, b: np.einsum(a, [0, 1], b, [1, Ellipsis], [Ellipsis, 0]),
        ((2, 3), (3, 2)),
    ),
    Spec("tensordot", lambda a, b: np.tensordot(a, b, axes=2), ((2, 3, 4), (3, 4))),
    Spec("outer", np.outer, ((3,), (2,))),
    Spec(
        "transpose",
        lambda x: np.transpose(x, (2, 0, 1)) * x.T.sum(),
        ((2, 3, 2),),
        prims=("transpose",),
    ),
    Spec("reshape", lambda x: x.reshape(3, -1) ** 2, ((2, 3),), prims=("reshape",)),
    Spec("squeeze", lambda x: np.squeeze(x) ** 2, ((3, 1),)),
    Spec("expand_dims", lambda x: np.expand_dims(x, 1) * x, ((3,),)),
    Spec(
        "concatenate",
        lambda x, y: np.concatenate([x, y, x], axis=1) ** 2,
        ((2, 1), (2, 3)),
        prims=("concatenate",),
    ),
    Spec("stack", lambda x, y: np.stack([x, y]) ** 3, ((3,), (3,))),
    Spec(
        "broadcast_to", lambda x: np.broadcast_to(x, (2, 3)) ** 2, ((3,),), prims=("broadcast_to",)
    ),
    Spec("getitem_basic", lambda x: x[1:, ::2] ** 2, ((3, 4),), prims=("getitem",)),
    Spec(
        "getitem_int",
        lambda x: x[np.array([0, 2, 0])] ** 2,
        ((3, 2),),
        prims=("getitem", "scatter_add"),
    ),
    Spec("take", lambda x: np.take(x, [1, 1, 0], axis=1) ** 2, ((2, 3),)),
    Spec("triu_tril", lambda x: np.triu(x) ** 2 + np.tril(x, -1), ((3, 3),)),
    Spec("diag", lambda x: np.diag(x) ** 2, ((3, 3),)),
    Spec("diag_vector", lambda x: np.diag(x) ** 2, ((3,),)),
    Spec("diag_offsets", lambda x: np.diag(x, 1) ** 2 + np.diag(x, -2)[:4, :4], ((3,),)),
    Spec("sort", lambda x: np.sort(x, axis=1) * np.arange(3.0), ((2, 3),), grid=True, unique=True),
    Spec("full_like", lambda x: np.full_like(x, x[0]) * x, ((3,),)),
    Spec("cumsum", lambda x: np.cumsum(x**2, axis=1), ((2, 3),), prims=("cumsum",)),
    Spec("astype", lambda x: x.astype(np.float64) ** 2, ((3,),), prims=("convert",)),
    Spec("det", lambda a: np.linalg.det(_spd(a)), ((3, 3),), -1.0, 1.0, prims=("det",)),
    Spec(
        "slogdet",
        lambda a: np.linalg.slogdet(_spd(a))[1],
        ((2, 3, 3),),
        -1.0,
        1.0,
        prims=("logabsdet",),
    ),
    Spec("inv", lambda a: np.linalg.inv(_spd(a)), ((3, 3),), -1.0, 1.0, prims=("inv",)),
    Spec(
        "solve",
        lambda a, b: np.linalg.solve(_spd(a), b),
        ((3, 3), (3,)),
        -1.0,
        1.0,
        prims=("solve",),
    ),
    Spec("solve_matrix", lambda a, b: np.linalg.solve(_spd(a), b), ((3, 3), (3, 2)), -1.0, 1.0),
    Spec(
        "cholesky", lambda a: np.linalg.cholesky(_spd(a)), ((3, 3),), -1.0, 1.0, prims=("cholesky",)
    ),
    Spec(
        "cholesky_complex",
        lambda a: np.linalg.cholesky(a @ np.conj(a).T + 3.0 * np.eye(3)),
        ((3, 3),),
        -1.0,
        1.0,
        complex=True,
    ),
    Spec("norm", lambda x: np.linalg.norm(x), ((2, 3),), 0.5, 2.0),
    Spec("norm_1", lambda x: np.linalg.norm(x, ord=1, axis=1), ((2, 3),), 0.5, 2.0),
    Spec("conj", lambda z: np.conj(z) * z, ((3,),), complex=True, prims=("conj",)),
    Spec("real", lambda z: np.real(z) * z, ((3,),), complex=True, prims=("real",)),
    Spec("imag", lambda z: z.imag * np.sin(z), ((3,),), complex=True, prims=("imag",)),
    Spec("abs_complex", np.abs, ((4,),), 0.5, 2.0, complex=True),
    Spec("multiply_complex", lambda z, w: z * w / (w + 3.0), ((3,), (3,)), complex=True),
    Spec("exp_log_complex", lambda z: np.exp(z) + np.log(z + 3.0), ((3,),), complex=True),
    Spec("sqrt_complex", lambda z: np.sqrt(z + 3.0) ** 2.5, ((3,),), complex=True),
    Spec("real_times_complex", lambda x: np.abs(x * (1.0 + 2.0j)) ** 2, ((3,),), 0.5, 2.0),
    Spec("var_complex", lambda z: np.var(z), ((4,),), complex=True),
    Spec("matmul_complex", lambda a, b: a @ b, ((2, 3), (3,)), complex=True),
    Spec("astype_complex", lambda x: np.abs(x.astype(complex) * 1j + 1.0), ((3,),)),
    # elementwise extras
    Spec(
        "remainder",
        lambda x, y: (x + 10.1234) % (y + 2.3456) + np.mod(y, 0.7071),
        ((4,), (4,)),
        0.3,
        2.0,
        prims=("remainder",),
    ),
    Spec("fmod", lambda x, y: np.fmod(x - 10.1234, y + 2.3456), ((4,), (4,)), prims=("fmod",)),
    Spec("arcsinh", np.arcsinh, ((3,),), prims=("arcsinh",)),
    Spec("arccosh", np.arccosh, ((3,),), 1.2, 3.0, prims=("arccosh",)),
    Spec("hypot", np.hypot, ((3,), (3,)), 0.3, 2.0),
    Spec("logaddexp2", np.logaddexp2, ((3,), (3,))),
    Spec("sinc", np.sinc, ((4,),)),
    Spec("sinc_at_zero", lambda x: np.sinc(x * 0.0 + x * 1e-9), ((2,),)),
    Spec("deg_rad", lambda x: np.deg2rad(x) * np.rad2deg(x) + np.radians(x), ((3,),)),
    Spec("angle", lambda z: np.angle(z) + np.angle(z, deg=True), ((3,),), 0.5, 2.0, complex=True),
    Spec("nan_to_num", lambda x: np.nan_to_num(np.log(x)), ((3,),), 0.3, 2.0),
    # element-moving functions (gathers)
    Spec(
        "roll_tile_repeat",
        lambda x: np.roll(x, 1, axis=0) * np.tile(x, (1, 1)) + np.repeat(x, 2, axis=1)[:, ::2],
        ((2, 3),),
    ),
    Spec("flips", lambda x: np.flip(x) + np.fliplr(x) * np.flipud(x) + np.rot90(x, 2), ((3, 3),)),
    Spec(
        "pad",
        lambda x: (
            np.sum(np.pad(x, (1, 2)) ** 2)
            + np.pad(x, 1, mode="reflect").sum()
            + np.pad(x, ((0, 1), (1, 0)), constant_values=((1, 2), (3, 4))) ** 2
        ),
        ((2, 3),),
    ),
    Spec("pad_edge_wrap", lambda x: np.pad(x, 2, mode="edge") * np.pad(x, 2, mode="wrap"), ((3,),)),
    Spec(
        "split",
        lambda x: np.split(x, 2)[1] * np.array_split(x, 3)[0][:1] + np.hsplit(x, [1])[0].sum(),
        ((4,),),
    ),
    Spec("vsplit_dsplit", lambda x: np.vsplit(x, 2)[0] * np.dsplit(x, 2)[1][0], ((2, 2, 2),)),
    Spec(
        "column_stack_append",
        lambda x, y: np.column_stack([x, y]) ** 2 + np.append(x, y)[:3, None],
        ((3,), (3,)),
    ),
    Spec(
        "dstack_block_insert",
        lambda x: (
            np.dstack([x, x * 2])[0] + np.block([[x], [x]])[:1].T + np.insert(x, 1, x[0])[:3, None]
        ),
        ((3,),),
    ),
    Spec(
        "moveaxis_rollaxis",
        lambda x: (
            np.moveaxis(x, (0, 1), (2, 0)).sum() * np.transpose(np.rollaxis(x, 2), axes=(1, 2, 0))
        ),
        ((2, 3, 4),),
    ),
    Spec("atleast_nd", lambda x: np.atleast_2d(x) * np.atleast_3d(x)[..., 0].T, ((3,),)),
    Spec(
        "delete_resize_diagflat",
        lambda x: np.delete(x, 1) * np.resize(x, 2) + np.diagflat(x)[0, :2],
        ((3,),),
    ),
    Spec(
        "take_compress_extract",
        lambda x: (
            np.take_along_axis(x, np.array([[1, 0]]), 1) * np.compress([True, False], x, 1)
            + np.extract([[1, 0], [0, 1]], x).sum()
        ),
        ((2, 2),),
    ),
    Spec(
        "unstack_broadcast",
        lambda x: np.unstack(x)[1] * np.broadcast_arrays(x, x[:1])[1],
        ((2, 3),),
    ),
    # sequences and statistics
    Spec(
        "select",
        lambda x: np.select([x > 0.1, x < -0.1], [x**2, x**3], default=x),
        ((5,),),
        grid=True,
    ),
    Spec("linspace", lambda a, b: np.linspace(a, b, 5) ** 2, ((), ())),
    Spec(
        "linspace_axis",
        lambda a, b: np.linspace(a, b, 4, axis=1, endpoint=False) ** 2,
        ((2,), (2,)),
    ),
    Spec(
        "diff",
        lambda x: (
            np.diff(x, 2) * np.diff(x, prepend=x[0], append=1.0)[1:-2]
            + np.ediff1d(x, to_begin=x[:1])[:2]
        ),
        ((4,),),
    ),
    Spec(
        "gradient",
        lambda x: np.gradient(x, 0.5)[0] * np.gradient(x, axis=1, edge_order=2) ** 2,
        ((3, 4),),
    ),
    Spec("cumprod", lambda x: np.cumprod(x, axis=1), ((2, 3),), generic=True),
    Spec("kron", np.kron, ((2, 2), (3, 1))),
    Spec(
        "cross",
        lambda a, b: np.cross(a, b) * np.cross(a, b, axis=1),
        ((2, 3), (2, 3)),
        generic=True,
    ),
    Spec(
        "interp",
        lambda x, fp: np.interp(x, np.array([-1.0, 0.0, 1.5]), fp),
        ((4,), (3,)),
        grid=False,
        generic=True,
    ),
    Spec(
        "average_ptp",
        lambda x, w: np.average(x, axis=0, weights=w) + np.ptp(x, axis=1).sum(),
        ((3, 2), (3,)),
        **_KINKED,
    ),
    Spec(
        "nan_reductions",
        lambda x: (
            np.nansum(x, 0) * np.nanmean(x, 1).sum() + np.nanvar(x) + np.nanstd(x) + np.nanprod(x)
        ),
        ((2, 3),),
        0.5,
        2.0,
        generic=True,
    ),
    Spec("cov_corrcoef", lambda x: np.cov(x) + np.corrcoef(x), ((2, 4),), generic=True),
    Spec(
        "median_quantile",
        lambda x: np.median(x, axis=1) * np.quantile(x, [0.3, 0.7]).sum() + np.percentile(x, 40),
        ((2, 3),),
        grid=True,
        unique=True,
        generic=True,
    ),
    Spec("trapezoid_polyval", lambda x, y: np.trapezoid(y, x) + np.polyval(y, x), ((3,), (3,))),
    Spec(
        "convolve",
        lambda a, v: (
            np.convolve(a, v) + np.convolve(a, v, "same").sum() + np.correlate(a, v, "full")[::-1]
        ),
        ((4,), (2,)),
    ),
    # linear algebra
    Spec(
        "eigh",
        lambda a: np.linalg.eigh(a + _SPREAD)[0] + np.abs(np.linalg.eigh(a + _SPREAD)[1][0]),
        ((3, 3),),
        -0.3,
        0.3,
        prims=("eigh",),
        generic=True,
    ),
    Spec(
        "eigvalsh_upper",
        lambda a: np.linalg.eigvalsh(a + _SPREAD, UPLO="U"),
        ((3, 3),),
        -0.3,
        0.3,
        generic=True,
    ),
    Spec(
        "svd",
        lambda a: (
            np.linalg.svd(a + _TALL, full_matrices=False)[1]
            + np.abs(np.linalg.svd(a + _TALL, full_matrices=False)[0][0])
        ),
        ((3, 2),),
        -0.3,
        0.3,
        prims=("svd",),
        generic=True,
    ),
    Spec(
        "svd_wide",
        lambda a: np.abs(np.linalg.svd(a + _TALL.T, full_matrices=False)[2][0]),
        ((2, 3),),
        -0.3,
        0.3,
        generic=True,
    ),
    Spec(
        "qr",
        lambda a: np.linalg.qr(a + np.eye(3, 2))[0] + np.linalg.qr(a, mode="r")[0, 0],
        ((3, 2),),
        -1.0,
        1.0,
        prims=("qr",),
        generic=True,
    ),
    Spec(
        "eigvals",
        lambda a: np.sort(np.linalg.eigvals(_spd(a)).real),
        ((3, 3),),
        -1.0,
        1.0,
        order=1,
        prims=("eigvals",),
        generic=True,
    ),
    Spec(
        "pinv",
        lambda a: np.linalg.pinv(a + _TALL),
        ((3, 2),),
        -0.3,
        0.3,
        prims=("pinv",),
        generic=True,
    ),
    Spec(
        "lstsq",
        lambda a, b: np.linalg.lstsq(a + _TALL4, b)[0] + np.linalg.lstsq(a + _TALL4, b)[1],
        ((4, 2), (4,)),
        -0.3,
        0.3,
        generic=True,
    ),
    Spec(
        "norms_vector",
        lambda x: (
            np.array([np.linalg.norm(x, o) for o in (1, 3, np.inf, -np.inf, 0.5)]).sum()
            if False
            else np.linalg.norm(x, 3) + np.linalg.norm(x, -np.inf) + np.linalg.norm(x, 0.5)
        ),
        ((4,),),
        0.5,
        2.0,
        unique=True,
        generic=True,
    ),
    Spec(
        "norms_matrix",
        lambda x: (
            np.linalg.norm(x, 1)
            + np.linalg.norm(x, -np.inf)
            + np.linalg.norm(x, 2)
            + np.linalg.norm(x, "nuc")
            + np.linalg.norm(x, -2)
        ),
        ((3, 3),),
        **_KINKED,
    ),
    Spec(
        "vector_matrix_norm",
        lambda x: np.linalg.vector_norm(x, axis=(0, 1)) + np.linalg.matrix_norm(x),
        ((2, 3),),
        0.5,
        2.0,
        generic=True,
    ),
    Spec(
        "matrix_power_multi_dot",
        lambda a: np.linalg.matrix_power(_spd(a), -2) + np.linalg.multi_dot([a, a, a]),
        ((3, 3),),
        -1.0,
        1.0,
    ),
    Spec(
        "cond_tensorinv",
        # cond's second derivative goes through singular values, which are not smooth where two
        # meet: the diagonal keeps them apart (the eigh and lstsq specs do the same).
        lambda a: (
            np.linalg.cond(_spd(a) + np.diag([0.0, 10.0, 20.0])) + np.linalg.tensorinv(_spd(a), 1)
        ),
        ((3, 3),),
        -1.0,
        1.0,
        generic=True,
    ),
    Spec(
        "tensorsolve_vecdot",
        lambda a, b: np.linalg.tensorsolve(_spd(a), b) * np.vecdot(b, b),
        ((3, 3), (3,)),
        -1.0,
        1.0,
    ),
    # NumPy's names for the same rules, each called once
    Spec(
        "ufunc_names",
        lambda x, y: (
            np.add(x, y) * np.subtract(x, y) / np.divide(y, 2.0)
            + np.multiply(np.negative(x), np.positive(y))
        ),
        ((3,), (3,)),
        0.5,
        2.0,
    ),
    Spec(
        "ufunc_names_2",
        lambda x, y: np.float_power(x, y) + np.pow(x, 2.0) + np.fabs(x) * np.degrees(y),
        ((3,), (3,)),
        0.5,
        2.0,
    ),
    Spec(
        "extrema_names",
        lambda x, y: (
            np.fmax(x, y + 0.0123)
            + np.fmin(x, y - 0.0123) * np.maximum(x, 0.0123)
            + np.minimum(y, -0.0123)
            + np.clip(x, -5.0, 5.0)
        ),
        ((4,), (4,)),
        -1.0,
        1.0,
        order=1,
        generic=True,
    ),
    Spec(
        "reduction_names",
        lambda x: np.max(x, 0) + np.min(x, 0) + np.amax(x, 0) * np.amin(x, 0) + np.ptp(x, 0),
        ((3, 2),),
        generic=True,
    ),
    Spec(
        "shape_names",
        lambda x: (
            np.reshape(x, (3, 2)).T
            + np.ravel(x)[:3]
            + np.atleast_1d(x[0, 0])
            + np.vstack([x, x])[1:3]
        ),
        ((2, 3),),
    ),
    Spec(
        "copy_astype",
        lambda x: np.copy(x) * np.astype(x, np.float64) + np.where(x > 0, x, 2 * x),
        ((3,),),
        generic=True,
    ),
    Spec(
        "diagonal_trace",
        lambda x: np.diagonal(x) * np.trace(x) + np.inner(x[0], x[1]) + np.vdot(x, x),
        ((3, 3),),
    ),
    Spec("like_writes", lambda x: _writes_like(x), ((4,),)),
    Spec(
        "in_place_writers",
        lambda x, v: _in_place_writers(x, v),
        ((3, 3), (3,)),
        generic=True,  # off round values: copyto(where=x > 0.5) jumps at 0.5
    ),
    Spec(
        "imag_select",
        lambda z: np.imag(z) * np.select([np.real(z) > 0], [z], z * 2),
        ((3,),),
        complex=True,
        generic=True,
    ),
    Spec(
        "hstack_choose",
        lambda x, y: (
            np.hstack([x, y])
            * np.choose([0, 1, 0, 1, 0, 1], [np.hstack([x, y]), np.hstack([y, x])])
        ),
        ((3,), (3,)),
    ),
    Spec(
        "copysign_modf",
        lambda x, y: (
            np.copysign(x, y)
            + np.modf(x * 3.0)[0]
            + np.divmod(x + 5.0, 0.7)[1]
            + np.frexp(x)[0]
            + np.ldexp(x, 2)
        ),
        ((4,), (4,)),
        0.1,
        2.0,
        generic=True,
    ),
    Spec(
        "matvec_vecmat",
        lambda a, v: np.matvec(a, v) + np.vecmat(v, a) + np.linalg.vecdot(a, v),
        ((2, 3, 3), (3,)),
    ),
    Spec(
        "spaces",
        lambda a, b: np.logspace(a, b, 4) + np.geomspace(a + 2.5, b + 2.5, 4),
        ((), ()),
        0.1,
        1.0,
    ),
    Spec(
        "cumulative",
        lambda x: (
            np.cumulative_sum(x, axis=1, include_initial=True)[:, 1:]
            * np.cumulative_prod(x, axis=1)
            + np.nancumsum(x, 0)
            + np.nancumprod(x, 1)
        ),
        ((2, 3),),
        0.5,
        2.0,
    ),
    Spec("nan_extrema", lambda x: np.nanmax(x, 0) + np.nanmin(x, 0), ((3, 2),), generic=True),
    Spec(
        "order_statistics",
        lambda x: (
            np.median(x)
            + np.percentile(x, 30)
            + np.quantile(x, 0.6)
            + np.nanmedian(x)
            + np.nanpercentile(x, 70)
            + np.nanquantile(x, 0.2)
            + np.partition(x, 2)[2]
        ),
        ((5,),),
        generic=True,
    ),
    Spec("average_weights", lambda x, w: np.average(x, weights=w), ((4,), (4,)), 0.5, 2.0),
    Spec(
        "polynomials",
        lambda p, q: (
            np.polyadd(p, q[:2]) * np.polysub(q, p)[1:]
            + np.polymul(p, q)[:3]
            + np.polyder(np.polyint(p))
            + np.poly(p)[:3]
            + np.polyval(np.polyder(q, 2), p)
        ),
        ((3,), (4,)),
    ),
    Spec(
        "polyfit_vander",
        lambda x, y: np.polyfit(x, y, 2) + np.vander(x, 3)[0],
        ((5,), (5,)),
        generic=True,
    ),
    Spec("roots", lambda p: np.sort(np.roots(p).real), ((3,),), 0.5, 2.0, order=1, generic=True),
    Spec(
        "meshgrid_bincount",
        lambda x, y: (
            np.meshgrid(x, y)[0] * np.meshgrid(x, y, indexing="ij")[1].T
            + np.bincount([0, 2, 1], weights=x)[None, :]
        ),
        ((3,), (2,)),
    ),
    Spec(
        "piecewise",
        lambda x: np.piecewise(x, [x < 0.0, x >= 0.0], [lambda v: v**2, lambda v: np.sin(v)]),
        ((5,),),
        generic=True,
    ),
    Spec(
        "apply_along",
        lambda x: (
            np.apply_along_axis(lambda r: r**2 * r[0], 1, x) + np.apply_over_axes(np.sum, x, [0])
        ),
        ((2, 3),),
    ),
    Spec(
        "real_if_close_unwrap",
        lambda z, p: np.real_if_close(z * 0 + np.abs(z)) + np.unwrap(p * 4.0),
        ((3,), (3,)),
        complex=False,
        generic=True,
    ),
    Spec("sort_complex", lambda z: np.sort_complex(z), ((3,),), complex=True, generic=True),
    Spec(
        "trim_zeros",
        lambda x: np.trim_zeros(np.concatenate([np.zeros(2), x, np.zeros(1)])),
        ((3,),),
        0.5,
        2.0,
    ),
    Spec(
        "linalg_names",
        lambda a, b: (
            np.linalg.matmul(a, b)
            + np.linalg.outer(a[0], b[0])[:, :1]
            + np.linalg.tensordot(a, b, axes=1)
            + np.linalg.trace(a)
            + np.linalg.diagonal(a)[None, :1]
        ),
        ((2, 2), (2, 2)),
    ),
    Spec(
        "linalg_more",
        lambda a, b: (
            np.linalg.cross(a, b) * np.linalg.matrix_transpose(np.stack([a, b])).sum()
            + np.matrix_transpose(a[None])[0, 0]
        ),
        ((3,), (3,)),
    ),
    Spec(
        "svdvals",
        lambda a: np.linalg.svdvals(a + _TALL),
        ((3, 2),),
        -0.3,
        0.3,
        order=1,
        generic=True,
    ),
    Spec(
        "fft_names", lambda z: np.fft.fft2(z) + np.fft.ifftn(z, axes=(1,)), ((2, 3),), complex=True
    ),
    # the Fourier transform
    Spec(
        "fft",
        lambda x: np.fft.fft(x) + np.fft.ifft(x, 5)[:4] + np.fft.fft(x, 3, norm="ortho")[0],
        ((4,),),
        prims=("fft",),
    ),
    Spec(
        "fft_complex",
        lambda z: np.fft.fftn(z, axes=(0,)) * np.fft.ifft2(z, norm="forward"),
        ((2, 3),),
        complex=True,
    ),
    Spec(
        "rfft_irfft",
        lambda x: np.abs(np.fft.rfft(x)) + np.fft.irfft(np.fft.rfft(x) * 1j, 6)[:3],
        ((5,),),
        0.5,
        2.0,
        generic=True,
    ),
    Spec("irfft_odd", lambda z: np.fft.irfft(z, 5), ((3,),), complex=True),
    Spec(
        "rfftn_irfftn",
        lambda x: (
            np.fft.irfftn(np.fft.rfftn(x) ** 2, x.shape, axes=(0, 1))
            + np.fft.rfft2(x).real.sum()
            + np.fft.irfft2(x.astype(complex))[0, 0]
        ),
        ((2, 4),),
        generic=True,
    ),
    Spec(
        "hfft_ihfft",
        lambda z: np.fft.hfft(z, 4) + np.abs(np.fft.ihfft(np.fft.hfft(z, 4)))[0],
        ((3,),),
        complex=True,
        generic=True,
    ),
    Spec("fftshift", lambda x: np.fft.fftshift(x) * np.fft.ifftshift(x, axes=0), ((2, 3),)),
]


def _arrays(spec: Spec) -> st.SearchStrategy[tuple[np.ndarray, ...]]:
    def one(shape: tuple[int, ...]) -> st.SearchStrategy[np.ndarray]:
        n = int(np.prod(shape))
        if spec.grid:
            steps = int((spec.hi - spec.lo) * 4)
            elem = st.integers(0, steps).map(lambda i: spec.lo + i / 4.0)
        else:
            elem = st.floats(spec.lo, spec.hi, allow_nan=False, allow_infinity=False)
        size = 2 * n if spec.complex else n
        return st.lists(elem, min_size=size, max_size=size, unique=spec.unique).map(
            lambda v: _from_parts(
                _spread(spec, np.array(v, dtype=np.float64)), spec.complex
            ).reshape(shape)
        )

    return st.tuples(*(one(s) for s in spec.shapes))


def _spread(spec: Spec, v: np.ndarray) -> np.ndarray:
    if not spec.generic:
        return v
    offset = 0.1 * (1.0 + np.sin(2.39996 * np.arange(v.size) + 1.0))
    return spec.lo + (spec.hi - spec.lo) * (0.8 * (v - spec.lo) / (spec.hi - spec.lo) + offset)


def _from_parts(v: np.ndarray, cplx: bool) -> np.ndarray:
    return v[: v.size // 2] + 1j * v[v.size // 2 :] if cplx else v


def _random(rng: Any, like: Any) -> Any:
    """Standard normal values shaped like ``like``, complex where it is complex."""
    r = rng.standard_normal(np.shape(like))
    if np.iscomplexobj(like):
        r = r + 1j * rng.standard_normal(np.shape(like))
    return r


def _fd_directional(f: Callable[..., Any], args: tuple[Any, ...], t: tuple[Any, ...]) -> Any:
    plus = f(*(a + EPS * d for a, d in zip(args, t, strict=True)))
    minus = f(*(a - EPS * d for a, d in zip(args, t, strict=True)))
    return (np.asarray(plus) - np.asarray(minus)) / (2 * EPS)


def _flat(tree: Any) -> np.ndarray:
    leaves, _ = tree_flatten(tree)
    return np.concatenate([np.ravel(np.asarray(v)) for v in leaves])


def _concat(leaves: tuple[Any, ...]) -> Any:
    return np.concatenate([np.ravel(v) for v in leaves])


def check_first_order(f: Callable[..., Any], args: tuple[Any, ...], rng: Any) -> None:
    """Forward mode against finite differences; reverse mode through JAX's identity
    ``Re <J^T ct, t> = Re <ct, J t>`` (bilinear products: reverse rules are transposes)."""
    t = tuple(_random(rng, a) for a in args)
    fd = _fd_directional(f, args, t)
    fwd = ad.jvp(f, args, t)[1]
    assert _rho(fwd, fd) <= TOL, f"forward: {fwd} vs finite differences {fd}"
    out, pullback = ad.vjp(f, *args)
    ct = _random(rng, out)
    lhs = np.real(_flat(pullback(ct)) @ _flat(t))
    rhs = float(np.real(np.sum(ct * fd)))
    assert rho(lhs, rhs) <= TOL, f"reverse: <J^T ct, t> = {lhs} vs <ct, J t> = {rhs}"


def _rho(x: Any, y: Any) -> float:
    x, y = np.asarray(x), np.asarray(y)
    assert np.iscomplexobj(x) == np.iscomplexobj(y) or not np.any(np.imag(y)), (x, y)
    return max(rho(np.real(x), np.real(y)), rho(np.imag(x), np.imag(y)))


@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
@settings(max_examples=4, deadline=None)
@given(data=st.data())
def test_rule_matches_finite_differences(spec: Spec, data: st.DataObject) -> None:
    args = data.draw(_arrays(spec))
    rng = np.random.default_rng(0)
    check_first_order(spec.fn, args, rng)
    if spec.order >= 2:
        t = tuple(_random(rng, a) for a in args)
        out = spec.fn(*args)
        ct = _random(rng, out)
        check_first_order(lambda *xs: ad.jvp(spec.fn, xs, t)[1], args, rng)
        check_first_order(lambda *xs: _concat(ad.vjp(spec.fn, *xs)[1](ct)), args, rng)


def test_every_registered_primitive_is_in_the_spec_table() -> None:
    covered = {p for s in SPECS for p in s.prims}
    internal = {"opaque_call", "opaque_output", "custom_jvp", *FUSED}
    missing = sorted(p.name for p in RULES if not p.nondiff and p.name not in covered | internal)
    assert missing == []


FUSED = ("logsumexp", "sigmoid")
"""Primitives only the optimiser emits: no NumPy function reaches them, a test binds them."""


def test_fused_primitives_match_finite_differences() -> None:
    """logsumexp and sigmoid are not NumPy functions: the optimiser fuses patterns into them."""
    from wg_autodiff.primitives.array import logsumexp_p
    from wg_autodiff.primitives.unary import sigmoid_p

    x = np.random.default_rng(1).standard_normal((3, 4))
    check_first_order(
        lambda a: logsumexp_p.bind(a, axis=(1,), keepdims=False), (x,), np.random.default_rng(2)
    )
    check_first_order(sigmoid_p.bind, (x,), np.random.default_rng(3))
    check_first_order(
        lambda a: ad.jvp(sigmoid_p.bind, (a,), (np.ones((3, 4)),))[1],
        (x,),
        np.random.default_rng(4),
    )


@pytest.mark.parametrize(
    "spec",
    [s for s in SPECS if s.name in ("exp", "matmul_batched", "sum_axis", "cholesky")],
    ids=lambda s: s.name,
)
def test_float32_gradients_keep_their_dtype(spec: Spec) -> None:
    args = tuple(np.full(s, 0.5, dtype=np.float32) for s in spec.shapes)
    out, pullback = ad.vjp(spec.fn, *args)
    grads = pullback(np.ones_like(out))
    assert all(g.dtype == np.float32 for g in grads)
