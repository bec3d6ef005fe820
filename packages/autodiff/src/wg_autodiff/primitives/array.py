"""Structural primitives (transpose, indexing, concatenation), reductions and contractions."""

from __future__ import annotations

from typing import Any

import numpy as np

from wg_autodiff.core import Primitive
from wg_autodiff.namespace import (
    device_namespace,
    harmonize,
    mixing,
    namespace,
    namespace_of,
    shape_of,
)
from wg_autodiff.primitives.arith import (
    broadcast_to_p,
    divide_p,
    equal_p,
    mask_as,
    mul,
    namespace_impl,
    reshape_p,
    subtract_p,
    sum_p,
    unbroadcast,
    zeros_like,
)
from wg_autodiff.primitives.registry import Rule, register
from wg_autodiff.primitives.unary import exp_p

# ----------------------------------------------------------------- transpose


transpose_p = Primitive("transpose", namespace_impl(np.transpose, "permute_dims"))
register(
    Rule(
        transpose_p,
        (lambda g, ans, x, axes: transpose_p.bind(g, axes=tuple(np.argsort(axes))),),
        linear=True,
    )
)


def matrix_transpose(x: Any) -> Any:
    n = len(shape_of(x))
    return transpose_p.bind(x, axes=(*range(n - 2), n - 1, n - 2))


# ----------------------------------------------------------------- indexing


def is_basic_index(idx: Any) -> bool:
    items = idx if isinstance(idx, tuple) else (idx,)
    return all(
        isinstance(i, int | slice | type(None)) or i is Ellipsis or isinstance(i, np.integer)
        for i in items
    )


def _getitem_impl(x: Any, idx: Any) -> Any:
    if type(x) is np.ndarray or is_basic_index(idx):
        return x[idx]
    xp = namespace(x)
    axis = _take_axis(idx)
    if axis is not None:
        arr = idx if isinstance(idx, np.ndarray) else idx[axis]
        return xp.take(x, xp.asarray(arr), axis=axis)
    return x[_index_to(xp, idx)]


def _take_axis(idx: Any) -> int | None:
    """Axis k when ``idx`` is ``(:, ..., :, int_array)`` (1-D), the array API's ``take``."""
    items = idx if isinstance(idx, tuple) else (idx,)
    last = items[-1]
    full = all(isinstance(i, slice) and i == slice(None) for i in items[:-1])
    if full and isinstance(last, np.ndarray) and last.ndim == 1 and last.dtype.kind in "iu":
        return len(items) - 1
    return None


def _drop_newaxes(xp: Any, idx: Any, g: Any) -> tuple[Any, Any]:
    """Remove ``None`` from a basic index (and the unit axes it made in ``g``): the array API
    allows ``None`` in reads only."""
    items = idx if isinstance(idx, tuple) else (idx,)
    if xp is np or None not in items or Ellipsis in items:
        return idx, g
    drop, pos = [], 0
    for i in items:
        if i is None:
            drop.append(pos)
        if i is None or isinstance(i, slice):
            pos += 1
    shape = [n for k, n in enumerate(g.shape) if k not in drop]
    return tuple(i for i in items if i is not None), xp.reshape(g, tuple(shape))


def _scatter_one_hot(xp: Any, g: Any, axis: int, arr: np.ndarray, n: int) -> Any:
    """Scatter-add along ``axis`` as a product with a one-hot matrix (portable, no ``add.at``)."""
    onehot = xp.asarray((arr[:, None] == np.arange(n)[None, :]), dtype=g.dtype)
    moved = xp.moveaxis(g, axis, -1)
    return xp.moveaxis(xp.matmul(moved, onehot), -1, axis)


def _index_to(xp: Any, idx: Any) -> Any:
    """Integer-array indices built with NumPy, moved to the array's namespace."""
    if isinstance(idx, tuple):
        return tuple(xp.asarray(i) if isinstance(i, np.ndarray) else i for i in idx)
    return xp.asarray(idx) if isinstance(idx, np.ndarray) else idx


def _scatter_add_impl(g: Any, idx: Any, shape: tuple[int, ...]) -> Any:
    if type(g) is np.ndarray and (
        type(idx) is slice
        or type(idx) is int
        or (type(idx) is tuple and all(type(i) is slice or type(i) is int for i in idx))
    ):
        z = np.zeros(shape, dtype=g.dtype)
        z[idx] = g
        return z
    xp = namespace_of(g)
    if isinstance(g, float | int):
        g = np.asarray(g)
    z = xp.zeros(shape, dtype=g.dtype)
    if is_basic_index(idx):
        idx, g = _drop_newaxes(xp, idx, g)
        z[idx] = g
    elif xp is np:
        np.add.at(z, idx, g)
    elif (axis := _take_axis(idx)) is not None:
        arr = idx if isinstance(idx, np.ndarray) else idx[axis]
        return _scatter_one_hot(xp, g, axis, arr, shape[axis])
    elif hasattr(xp, "add") and hasattr(xp.add, "at"):
        xp.add.at(z, _index_to(xp, idx), g)
    else:
        raise NotImplementedError(
            f"the derivative of integer-array indexing needs a scatter-add, which {xp.__name__} "
            "lacks; index with slices, or use NumPy/CuPy arrays"
        )
    return z


getitem_p = Primitive("getitem", _getitem_impl)
scatter_add_p = Primitive("scatter_add", _scatter_add_impl)
register(
    Rule(
        getitem_p,
        (lambda g, ans, x, idx: scatter_add_p.bind(g, idx=idx, shape=shape_of(x)),),
        linear=True,
    )
)
register(
    Rule(scatter_add_p, (lambda g, ans, x, idx, shape: getitem_p.bind(g, idx=idx),), linear=True)
)


# ----------------------------------------------------------------- concatenate


def _concatenate_impl(*xs: Any, axis: int) -> Any:
    xp = device_namespace(*xs)
    if xp is np:
        return np.concatenate(xs, axis=axis)
    return xp.concat(harmonize(*xs), axis=axis)


concatenate_p = Primitive("concatenate", _concatenate_impl)


def _concatenate_vjp(argnum: int, g: Any, ans: Any, *xs: Any, axis: int) -> Any:
    start = sum(shape_of(x)[axis] for x in xs[:argnum])
    stop = start + shape_of(xs[argnum])[axis]
    ndim = len(shape_of(ans))
    idx = tuple(slice(start, stop) if d == axis % ndim else slice(None) for d in range(ndim))
    return getitem_p.bind(g, idx=idx)


def _concatenate_jvp(primals: list[Any], tangents: list[Any], params: dict[str, Any]) -> Any:
    out = concatenate_p.bind(*primals, **params)
    ts = [zeros_like(p) if t is None else t for p, t in zip(primals, tangents, strict=True)]
    return out, concatenate_p.bind(*ts, **params)


register(Rule(concatenate_p, _concatenate_vjp, _concatenate_jvp))

# ----------------------------------------------------------------- reductions


amax_p = Primitive("max", namespace_impl(np.max, "max"))
amin_p = Primitive("min", namespace_impl(np.min, "min"))
prod_p = Primitive("prod", namespace_impl(np.prod, "prod"))


def keep_dims(y: Any, x: Any, axis: tuple[int, ...] | None, keepdims: bool) -> Any:
    """Reshape a reduction result ``y`` of ``x`` to the keepdims shape (for broadcasting)."""
    if keepdims:
        return y
    shape = list(shape_of(x))
    for a in range(len(shape)) if axis is None else axis:
        shape[a] = 1
    return reshape_p.bind(y, shape=tuple(shape))


def _extremum_vjp(g: Any, ans: Any, x: Any, axis: Any, keepdims: bool) -> Any:
    a = keep_dims(ans, x, axis, keepdims)
    mask = mask_as(equal_p.bind(x, a), x)
    count = sum_p.bind(mask, axis=axis, keepdims=True)
    share = mask / count
    return mul(broadcast_to_p.bind(keep_dims(g, x, axis, keepdims), shape=shape_of(x)), share)


def _reduce_weighted_jvp(prim: Primitive, weights: Any) -> Any:
    """Forward rule ``sum(t * w(x, ans), axis)`` of a reduction whose pullback is ``g * w``."""

    def jvp(primals: list[Any], tangents: list[Any], params: dict[str, Any]) -> Any:
        (x,), (t,) = primals, tangents
        ans = prim.bind(x, **params)
        w = weights(x, keep_dims(ans, x, params["axis"], params["keepdims"]), params)
        return ans, sum_p.bind(mul(t, w), axis=params["axis"], keepdims=params["keepdims"])

    return jvp


def _extremum_weights(x: Any, a: Any, params: dict[str, Any]) -> Any:
    mask = mask_as(equal_p.bind(x, a), x)
    return mask / sum_p.bind(mask, axis=params["axis"], keepdims=True)


register(Rule(amax_p, (_extremum_vjp,), _reduce_weighted_jvp(amax_p, _extremum_weights)))
register(Rule(amin_p, (_extremum_vjp,), _reduce_weighted_jvp(amin_p, _extremum_weights)))


def _prod_of_others(x: Any, ans: Any, axis: Any, keepdims: bool) -> Any:
    """``prod(x) / x`` without the division where some ``x`` is 0: the product over an extra
    axis that holds ``x`` with a 1 in place of the element itself (O(n^2) values). The test for
    zeros is a branch on the values, so it becomes a guard under optimize=True."""
    from wg_autodiff.primitives.arith import not_equal_p, where_p

    if bool(_all(not_equal_p.bind(x, 0.0))):
        return divide_p.bind(keep_dims(ans, x, axis, keepdims), x)
    ndim = len(shape_of(x))
    axes = tuple(range(ndim)) if axis is None else axis
    rest = [d for d in range(ndim) if d not in axes]
    moved = transpose_p.bind(x, axes=(*rest, *axes))
    lead = tuple(shape_of(moved)[: len(rest)])
    n = int(np.prod(shape_of(moved)[len(rest) :]))
    flat = reshape_p.bind(moved, shape=(*lead, 1, n))
    others = prod_p.bind(
        where_p.bind(np.eye(n, dtype=bool), 1.0, flat), axis=(len(lead) + 1,), keepdims=False
    )
    back = reshape_p.bind(others, shape=tuple(shape_of(moved)))
    return transpose_p.bind(back, axes=tuple(np.argsort((*rest, *axes))))


def _all(mask: Any) -> Any:
    from wg_autodiff.core import Tracer

    if type(mask) is Tracer:
        return mask._trace.to_bool(_all_p.bind(mask))
    return np.all(mask)


_all_p = register(Rule(Primitive("all", lambda m: np.all(m), nondiff=True)))
register(
    Rule(
        prod_p,
        (
            lambda g, ans, x, axis, keepdims: mul(
                keep_dims(g, x, axis, keepdims), _prod_of_others(x, ans, axis, keepdims)
            ),
        ),
    )
)


cumsum_p = Primitive("cumsum", namespace_impl(np.cumsum, "cumulative_sum"))


def _flip(x: Any, axis: int) -> Any:
    ndim = len(shape_of(x))
    idx = tuple(slice(None, None, -1) if d == axis % ndim else slice(None) for d in range(ndim))
    return getitem_p.bind(x, idx=idx)


register(
    Rule(
        cumsum_p,
        (lambda g, ans, x, axis: _flip(cumsum_p.bind(_flip(g, axis), axis=axis), axis),),
        linear=True,
    )
)


def _logsumexp_impl(x: Any, axis: tuple[int, ...] | None, keepdims: bool) -> Any:
    xp = namespace(x)
    m = xp.max(x, axis=axis, keepdims=True)
    m = xp.where(xp.isfinite(m), m, xp.zeros_like(m))
    out = xp.log(xp.sum(xp.exp(x - m), axis=axis, keepdims=True)) + m
    if not keepdims:
        out = xp.reshape(out, shape_of(xp.sum(x, axis=axis)))
    return out


logsumexp_p = Primitive("logsumexp", _logsumexp_impl)
register(
    Rule(
        logsumexp_p,
        (
            lambda g, ans, x, axis, keepdims: mul(
                keep_dims(g, x, axis, keepdims),
                exp_p.bind(subtract_p.bind(x, keep_dims(ans, x, axis, keepdims))),
            ),
        ),
        _reduce_weighted_jvp(logsumexp_p, lambda x, a, params: exp_p.bind(subtract_p.bind(x, a))),
    )
)

# ----------------------------------------------------------------- contractions


@mixing
def _matmul_impl(a: Any, b: Any) -> Any:
    return a @ b


matmul_p = Primitive("matmul", _matmul_impl)


def _as_matrices(a: Any, b: Any) -> tuple[Any, Any]:
    if len(shape_of(a)) == 1:
        a = reshape_p.bind(a, shape=(1, shape_of(a)[0]))
    if len(shape_of(b)) == 1:
        b = reshape_p.bind(b, shape=(shape_of(b)[0], 1))
    return a, b


def _matmul_vjp(argnum: int, g: Any, ans: Any, a: Any, b: Any) -> Any:
    a2, b2 = _as_matrices(a, b)
    g2 = reshape_p.bind(
        g,
        shape=(
            *np.broadcast_shapes(shape_of(a2)[:-2], shape_of(b2)[:-2]),
            shape_of(a2)[-2],
            shape_of(b2)[-1],
        ),
    )
    if argnum == 0:
        r = unbroadcast(matmul_p.bind(g2, matrix_transpose(b2)), shape_of(a2))
        return reshape_p.bind(r, shape=shape_of(a)) if r is not a else r
    r = unbroadcast(matmul_p.bind(matrix_transpose(a2), g2), shape_of(b2))
    return reshape_p.bind(r, shape=shape_of(b))


register(Rule(matmul_p, _matmul_vjp, multilinear=True))


def _einsum_impl(*ops: Any, subscripts: str) -> Any:
    xp = namespace_of(*ops)
    if xp is np:
        big = sum(np.size(o) for o in ops) > 4096 or len(ops) > 2
        return np.einsum(subscripts, *ops, optimize=big)
    return xp.einsum(subscripts, *ops)


einsum_p = Primitive("einsum", _einsum_impl)


def parse_einsum(subscripts: str, nops: int) -> tuple[list[str], str]:
    """Split explicit or implicit einsum subscripts into operand specs and the output spec."""
    s = subscripts.replace(" ", "")
    if "." in s:
        raise NotImplementedError("einsum with '...' is not supported; write the axes out")
    if "->" in s:
        ins, out = s.split("->")
    else:
        ins = s
        letters = ins.replace(",", "")
        out = "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    specs = ins.split(",")
    if len(specs) != nops:
        raise ValueError(f"einsum subscripts {subscripts!r} name {len(specs)} operands, got {nops}")
    for spec in specs:
        if len(set(spec)) != len(spec):
            raise NotImplementedError(
                f"einsum operand spec {spec!r} repeats an index (a diagonal); take the diagonal "
                "with np.diagonal first"
            )
    return specs, out


def _einsum_vjp(argnum: int, g: Any, ans: Any, *ops: Any, subscripts: str) -> Any:
    specs, out = parse_einsum(subscripts, len(ops))
    others = [(s, o) for i, (s, o) in enumerate(zip(specs, ops, strict=True)) if i != argnum]
    target = specs[argnum]
    available = set(out).union(*(set(s) for s, _ in others))
    partial = "".join(c for c in target if c in available)
    sub = ",".join([out, *(s for s, _ in others)]) + "->" + partial
    r = einsum_p.bind(g, *(o for _, o in others), subscripts=sub)
    if partial != target:
        x_shape = shape_of(ops[argnum])
        keep = tuple(n if c in available else 1 for c, n in zip(target, x_shape, strict=True))
        r = broadcast_to_p.bind(reshape_p.bind(r, shape=keep), shape=x_shape)
    return r


register(Rule(einsum_p, _einsum_vjp, multilinear=True))
