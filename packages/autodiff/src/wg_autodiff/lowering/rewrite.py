"""Rewrites of a program before fusion. A reshape to the shape its operand already has (the
adjoint of a reshape leaves them) is dropped, so that it no longer splits a fused group. A sum
over the rows of a matrix product, ``sum(a @ b, axis=-2)``, becomes ``sum(a, axis=-2) @ b``:
one row of BLAS work instead of ``n`` (the adjoint of the GMM's ``x - mu`` with respect to
``mu`` is such a sum)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import numpy as np

from wg_autodiff.lowering.codegen import reduced_axes
from wg_autodiff.simplify import use_counts
from wg_autodiff.staging import Eqn, Program, Var


def without_identity_reshapes(prog: Program) -> Program:
    """``prog`` without reshapes that keep their operand's shape (their uses read the operand).

    Examples
    --------
    >>> from wg_autodiff.staging import make_trace
    >>> prog = make_trace(lambda x: np.exp(np.reshape(x, (2, 2))) * 2.0)(np.ones((2, 2)))
    >>> [e.prim.name for e in without_identity_reshapes(prog).eqns]
    ['exp', 'multiply']
    """
    outputs = {o.id for o in prog.outputs if type(o) is Var}
    alias: dict[int, Var] = {}
    eqns = []
    for e in prog.eqns:
        ins = [alias.get(i.id, i) if type(i) is Var else i for i in e.ins]
        same = e.prim.name == "reshape" and type(ins[0]) is Var and e.out.shape == ins[0].shape
        if same and e.out.id not in outputs:
            alias[e.out.id] = ins[0]
            continue
        eqns.append(e if ins == e.ins else Eqn(e.prim, ins, e.params, e.out))
    if not alias:
        return prog
    return Program(prog.inputs, eqns, prog.outputs, prog.out_def)


def _float_matrices(e: Eqn) -> bool:
    return all(
        type(i) is Var and i.numpy and len(i.shape) >= 2 and np.dtype(i.dtype).kind == "f"
        for i in e.ins
    )


def _row_sum_of_product(e: Eqn, producer: dict[int, Eqn], uses: dict[int, int]) -> Eqn | None:
    """The matmul whose rows ``e`` sums, when that sum is the product's only use."""
    if e.prim.name != "sum" or type(e.ins[0]) is not Var or set(e.params) - {"axis", "keepdims"}:
        return None
    m = producer.get(e.ins[0].id)
    if m is None or m.prim.name != "matmul" or m.params or uses.get(m.out.id) != 1:
        return None
    if not _float_matrices(m) or reduced_axes(e) != (len(m.out.shape) - 2,):
        return None
    return m


def sum_before_matmul(prog: Program) -> Program:
    """``prog`` with each ``sum(a @ b, axis=-2)`` whose product has no other use computed as
    ``sum(a, axis=-2, keepdims=True) @ b`` (then the kept axis dropped).

    Examples
    --------
    >>> from wg_autodiff.staging import make_trace
    >>> prog = make_trace(lambda a, b: np.sum(a @ b, axis=0))(np.ones((3, 2)), np.ones((2, 2)))
    >>> [(e.prim.name, e.out.shape) for e in sum_before_matmul(prog).eqns]
    [('sum', (1, 2)), ('matmul', (1, 2)), ('sum', (2,))]
    """
    producer = {e.out.id: e for e in prog.eqns}
    uses = use_counts(prog)
    new_id = itertools.count(1 + max((e.out.id for e in prog.eqns), default=0))
    replaced: dict[int, list[Eqn]] = {}
    dropped: set[int] = set()
    for e in prog.eqns:
        m = _row_sum_of_product(e, producer, uses)
        if m is not None:
            replaced[m.out.id] = _rewritten(e, m, new_id)
            dropped.add(e.out.id)
    if not replaced:
        return prog
    eqns: list[Eqn] = []
    for e in prog.eqns:
        if e.out.id not in dropped:
            eqns.extend(replaced.get(e.out.id, [e]))
    return Program(prog.inputs, eqns, prog.outputs, prog.out_def)


def _like(vid: int, shape: tuple[int, ...], dtype: Any) -> Var:
    return Var(vid, np.broadcast_to(np.zeros((), dtype), shape))


def _rewritten(total: Eqn, m: Eqn, new_id: Iterator[int]) -> list[Eqn]:
    a, b = m.ins
    row = len(a.shape) - 2
    a_sum = _like(next(new_id), (*a.shape[:row], 1, a.shape[-1]), a.dtype)
    out_shape = (*m.out.shape[:-2], 1, m.out.shape[-1])
    keep = bool(total.params.get("keepdims"))
    product = total.out if keep else _like(next(new_id), out_shape, m.out.dtype)
    eqns = [
        Eqn(total.prim, [a], {"axis": (row,), "keepdims": True}, a_sum),
        Eqn(m.prim, [a_sum, b], {}, product),
    ]
    if not keep:
        squeeze = {"axis": (len(out_shape) - 2,), "keepdims": False}
        eqns.append(Eqn(total.prim, [product], squeeze, total.out))
    return eqns
