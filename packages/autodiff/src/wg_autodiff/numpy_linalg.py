"""NumPy's contractions and linear-algebra functions (dot, einsum, tensordot, slogdet, ...)
re-expressed with primitives."""

from __future__ import annotations

from typing import Any

import numpy as np

from wg_autodiff.namespace import namespace, shape_of
from wg_autodiff.numpy_api import _no_out, asum, nondiff_call_p, ravel, reshape
from wg_autodiff.primitives import arith as ar
from wg_autodiff.primitives import array as ra
from wg_autodiff.primitives import linalg as rl


def einsum(
    subscripts: Any, *operands: Any, out: Any = None, optimize: Any = False, **kw: Any
) -> Any:
    """``np.einsum`` in every form: subscripts or (operand, sublist) pairs, ``...`` and repeated
    indices (diagonals) rewritten into plain explicit subscripts for the einsum primitive."""
    _no_out(out, "einsum")
    if not isinstance(subscripts, str):
        subscripts, operands = _from_sublists((subscripts, *operands))
    specs, target = _explicit(subscripts.replace(" ", ""), operands)
    ops = list(operands)
    for i, spec in enumerate(specs):
        ops[i], specs[i] = _take_diagonals(_broadcast_ones(ops[i], spec, specs, ops), spec)
    return ra.einsum_p.bind(*ops, subscripts=",".join(specs) + "->" + target)


_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _from_sublists(args: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
    def letters(sub: Any) -> str:
        return "".join("..." if k is Ellipsis else _LETTERS[int(k)] for k in sub)

    pairs = args[: len(args) // 2 * 2]
    ops = tuple(pairs[0::2])
    spec = ",".join(letters(sub) for sub in pairs[1::2])
    if len(args) % 2:
        spec += "->" + letters(args[-1])
    return spec, ops


def _explicit(subscripts: str, operands: tuple[Any, ...]) -> tuple[list[str], str]:
    """Operand specs and output spec with ``...`` replaced by letters, output made explicit."""
    ins, _, out = subscripts.partition("->")
    specs = ins.split(",")
    free = iter(c for c in _LETTERS[::-1] if c not in subscripts)
    width = max(
        (
            len(shape_of(o)) - len(s.replace("...", ""))
            for s, o in zip(specs, operands, strict=True)
            if "..." in s
        ),
        default=0,
    )
    ell = "".join(next(free) for _ in range(width))[::-1]
    specs = [
        s.replace("...", ell[len(ell) - (len(shape_of(o)) - len(s) + 3) :]) if "..." in s else s
        for s, o in zip(specs, operands, strict=True)
    ]
    if "->" not in subscripts:
        letters = "".join(specs).replace(",", "")
        singles = sorted(c for c in set(letters) if letters.count(c) == 1 and c not in ell)
        out = ell + "".join(singles)
    return specs, out.replace("...", ell)


def _broadcast_ones(op: Any, spec: str, specs: list[str], ops: list[Any]) -> Any:
    """Axes of length 1 that meet a longer axis with the same letter (``...`` broadcasting)."""
    sizes: dict[str, int] = {}
    for s, o in zip(specs, ops, strict=True):
        for c, n in zip(s, shape_of(o), strict=True):
            sizes[c] = max(sizes.get(c, 1), n)
    want = tuple(sizes[c] for c in spec)
    return op if want == shape_of(op) else ar.broadcast_to_p.bind(op, shape=want)


def _take_diagonals(op: Any, spec: str) -> tuple[Any, str]:
    """``'ii...'``: the diagonal over each repeated letter, as a gather."""
    while len(set(spec)) != len(spec):
        c = next(c for c in spec if spec.count(c) > 1)
        at = [i for i, x in enumerate(spec) if x == c]
        rest = [i for i in range(len(spec)) if i not in at]
        op = ra.transpose_p.bind(op, axes=(*at, *rest))
        n = shape_of(op)[0]
        op = ra.getitem_p.bind(op, idx=(np.arange(n),) * len(at))
        spec = c + "".join(spec[i] for i in rest)
    return op, spec


def tensordot(a: Any, b: Any, axes: Any = 2) -> Any:
    na, nb = len(shape_of(a)), len(shape_of(b))
    if isinstance(axes, int):
        axes_a, axes_b = list(range(na - axes, na)), list(range(axes))
    else:
        axes_a = [axes[0]] if isinstance(axes[0], int) else list(axes[0])
        axes_b = [axes[1]] if isinstance(axes[1], int) else list(axes[1])
    letters = iter("abcdefghijklmnopqrstuvwxyz")
    sa = [next(letters) for _ in range(na)]
    sb = [next(letters) for _ in range(nb)]
    for i, j in zip(axes_a, axes_b, strict=True):
        sb[j % nb] = sa[i % na]
    out = [c for c in sa if c not in sb] + [c for c in sb if c not in sa]
    return ra.einsum_p.bind(a, b, subscripts="".join(sa) + "," + "".join(sb) + "->" + "".join(out))


def dot(a: Any, b: Any, out: Any = None) -> Any:
    _no_out(out, "dot")
    na, nb = len(shape_of(a)), len(shape_of(b))
    if na == 0 or nb == 0:
        return ar.mul(a, b)
    if na <= 2 and nb <= 2:
        return ra.matmul_p.bind(a, b)
    return tensordot(a, b, axes=([-1], [-2 if nb > 1 else -1]))


def matmul(a: Any, b: Any, **kw: Any) -> Any:
    return ra.matmul_p.bind(a, b)


def outer(a: Any, b: Any, out: Any = None) -> Any:
    return ar.mul(reshape(a, (-1, 1)), reshape(b, (1, -1)))


def inner(a: Any, b: Any) -> Any:
    na, nb = len(shape_of(a)), len(shape_of(b))
    if na == 0 or nb == 0:
        return ar.mul(a, b)
    return asum(ar.mul(a, b), axis=-1) if na == nb == 1 else tensordot(a, b, ([-1], [-1]))


def vdot(a: Any, b: Any) -> Any:
    return asum(ar.mul(ravel(a), ravel(b)))


def _slogdet_sign(a: Any) -> Any:
    xp = namespace(a)
    return (np.linalg if xp is np else xp.linalg).slogdet(a)[0]


def slogdet(a: Any) -> tuple[Any, Any]:
    return nondiff_call_p.bind(a, fn=_slogdet_sign, kwargs=()), rl.logabsdet_p.bind(a)
