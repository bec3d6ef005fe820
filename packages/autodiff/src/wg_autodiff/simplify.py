"""Simplification passes over staged programs: algebraic rewrites (``log(exp(x)) -> x``,
``1 / (1 + exp(-x)) -> sigmoid``, ``x * x -> square``, negation folding, fused logsumexp),
common-subexpression elimination, constant folding and dead-code elimination."""

from __future__ import annotations

from typing import Any

import numpy as np

from wg_autodiff.core import Primitive
from wg_autodiff.primitives.arith import add_p, divide_p, multiply_p, negative_p, subtract_p, sum_p
from wg_autodiff.primitives.array import amax_p, concatenate_p, logsumexp_p, scatter_add_p
from wg_autodiff.primitives.unary import exp_p, log_p, sigmoid_p, square_p
from wg_autodiff.staging import Const, Eqn, Program, Var, guard_p

# ----------------------------------------------------------------- simplification passes


def _freeze(v: Any) -> Any:
    """A hashable stand-in for a parameter value (slices and arrays included)."""
    if isinstance(v, slice):
        return ("slice", v.start, v.stop, v.step)
    if isinstance(v, tuple | list):
        return (type(v).__name__, *(_freeze(x) for x in v))
    if isinstance(v, np.ndarray):
        return ("array", v.shape, str(v.dtype), v.tobytes()) if v.size <= 64 else ("id", id(v))
    try:
        hash(v)
    except TypeError:
        return ("id", id(v))
    return v


def _params_key(params: dict[str, Any]) -> Any:
    if not params:
        return ()
    return tuple((k, _freeze(v)) for k, v in sorted(params.items()))


def _in_key(i: Any) -> Any:
    if type(i) is Var:
        return ("v", i.id)
    v = i.value
    if isinstance(v, float | int | bool):
        return ("c", type(v), v)
    return ("cid", id(v))


class _Rewriter:
    """One forward pass over the equations with a substitution map."""

    def __init__(self, prog: Program) -> None:
        self.prog = prog
        self.subst: dict[int, Any] = {}
        self.producer: dict[int, Eqn] = {}

    def resolve(self, i: Any) -> Any:
        while type(i) is Var and i.id in self.subst:
            i = self.subst[i.id]
        return i

    def defining(self, i: Any, prim: Primitive) -> Eqn | None:
        e = self.producer.get(i.id) if type(i) is Var else None
        return e if e is not None and e.prim is prim else None

    def run(self) -> Program:
        seen: dict[Any, Var] = {}
        eqns: list[Eqn] = []
        for e in self.prog.eqns:
            ins = [self.resolve(i) for i in e.ins]
            e = Eqn(e.prim, ins, e.params, e.out)
            repl = self.rewrite(e)
            if type(repl) is Eqn:
                e, ins = repl, repl.ins
            elif repl is not None:
                self.subst[e.out.id] = repl
                continue
            if e.prim is not guard_p:
                key = (e.prim, tuple(_in_key(i) for i in ins), _params_key(e.params))
                if key in seen:
                    self.subst[e.out.id] = seen[key]
                    continue
                seen[key] = e.out
                if all(type(i) is Const for i in ins):
                    const = e.prim.impl(*(i.value for i in ins), **e.params)
                    self.subst[e.out.id] = Const(const)
                    continue
            self.producer[e.out.id] = e
            eqns.append(e)
        outputs = [self.resolve(o) for o in self.prog.outputs]
        return _dce(Program(self.prog.inputs, eqns, outputs, self.prog.out_def))

    def rewrite(self, e: Eqn) -> Any:
        if e.prim is log_p and (inner := self.defining(e.ins[0], exp_p)):
            return inner.ins[0]
        if e.prim is negative_p and (inner := self.defining(e.ins[0], negative_p)):
            return inner.ins[0]
        if e.prim in (add_p, subtract_p) and (neg := self.defining(e.ins[1], negative_p)):
            flipped = subtract_p if e.prim is add_p else add_p
            return Eqn(flipped, [e.ins[0], neg.ins[0]], {}, e.out)
        if e.prim is add_p and (neg := self.defining(e.ins[0], negative_p)):
            return Eqn(subtract_p, [e.ins[1], neg.ins[0]], {}, e.out)
        if e.prim is divide_p:
            return self._sigmoid(e)
        if e.prim is multiply_p and type(e.ins[0]) is Var and e.ins[0] is e.ins[1]:
            return Eqn(square_p, [e.ins[0]], {}, e.out)
        if e.prim in (multiply_p, add_p, subtract_p):
            return self._identity(e)
        return None

    def _sigmoid(self, e: Eqn) -> Eqn | None:
        """``1 / (1 + exp(-x))`` -> ``sigmoid(x)`` (one rule instead of four)."""
        if not _is_const(e.ins[0], 1.0):
            return None
        plus = self.defining(e.ins[1], add_p)
        if plus is None:
            return None
        one, ex = plus.ins if _is_const(plus.ins[0], 1.0) else plus.ins[::-1]
        exp_e = self.defining(ex, exp_p) if _is_const(one, 1.0) else None
        neg = self.defining(exp_e.ins[0], negative_p) if exp_e is not None else None
        if neg is None:
            return None
        return Eqn(sigmoid_p, [neg.ins[0]], {}, e.out)

    def _identity(self, e: Eqn) -> Any:
        neutral = 1.0 if e.prim is multiply_p else 0.0
        x, y = e.ins
        for a, b in ((x, y), (y, x)) if e.prim is not subtract_p else ((x, y),):
            if (
                type(b) is Const
                and isinstance(b.value, float | int)
                and b.value == neutral
                and type(a) is Var
                and a.shape == e.out.shape
                and a.dtype == e.out.dtype
            ):
                return a
        return None


def _is_const(i: Any, value: float) -> bool:
    return type(i) is Const and isinstance(i.value, float | int) and i.value == value


def _dce(prog: Program) -> Program:
    live = {o.id for o in prog.outputs if type(o) is Var}
    kept: list[Eqn] = []
    for e in reversed(prog.eqns):
        if e.prim is guard_p or e.out.id in live:
            kept.append(e)
            live.update(i.id for i in e.ins if type(i) is Var)
    kept.reverse()
    return Program(prog.inputs, kept, prog.outputs, prog.out_def)


def simplify(prog: Program) -> Program:
    """Rewrite, fuse, CSE, constant-fold and DCE ``prog`` (returns a new program)."""
    return _fuse_scatters(_fuse_logsumexp(_Rewriter(prog).run()))


def _slab(idx: Any, shape: tuple[int, ...]) -> tuple[int, int, int] | None:
    """``(axis, start, stop)`` when ``idx`` selects a contiguous slab along one axis (the
    pullback of a slice such as ``gates[b : 2 * b]``), else None."""
    items = idx if isinstance(idx, tuple) else (idx,)
    if len(items) > len(shape) or not all(type(i) is slice for i in items):
        return None
    slab = None
    for axis, i in enumerate(items):
        start, stop, step = i.indices(shape[axis])
        if step != 1 or stop <= start:
            return None
        if (start, stop) != (0, shape[axis]):
            if slab is not None:
                return None
            slab = (axis, start, stop)
    return slab


def use_counts(prog: Program) -> dict[int, int]:
    """How many times each variable of ``prog`` is read; a program output counts twice, so a
    value that leaves the program is never taken for a single-use temporary."""
    uses: dict[int, int] = {}
    for e in prog.eqns:
        for i in e.ins:
            if type(i) is Var:
                uses[i.id] = uses.get(i.id, 0) + 1
    for o in prog.outputs:
        if type(o) is Var:
            uses[o.id] = uses.get(o.id, 0) + 2
    return uses


def _fuse_scatters(prog: Program) -> Program:
    """A sum of single-use scatter-adds of slabs that tile an array along one axis (the
    cotangent of ``gates`` sliced into pieces) -> one ``concatenate`` of the pieces."""
    uses = use_counts(prog)
    pieces: dict[int, tuple[int, list[tuple[int, int, Any]]]] = {}
    for e in prog.eqns:
        if e.prim is scatter_add_p and type(e.ins[0]) is Var:
            slab = _slab(e.params["idx"], e.out.shape)
            piece = e.ins[0]
            if (
                slab is not None
                and piece.dtype == e.out.dtype
                and piece.shape
                == tuple(
                    slab[2] - slab[1] if d == slab[0] else n for d, n in enumerate(e.out.shape)
                )
            ):
                pieces[e.out.id] = (slab[0], [(slab[1], slab[2], e.ins[0])])
        elif e.prim is add_p and all(
            type(i) is Var and i.id in pieces and uses[i.id] == 1 for i in e.ins
        ):
            (ax0, p0), (ax1, p1) = (pieces[i.id] for i in e.ins)
            if ax0 == ax1 and e.ins[0].shape == e.ins[1].shape == e.out.shape:
                pieces[e.out.id] = (ax0, p0 + p1)
    eqns = []
    for e in prog.eqns:
        group = pieces.get(e.out.id) if e.prim is add_p else None
        if group is not None:
            axis, parts = group[0], sorted(group[1], key=lambda p: p[0])
            bounds = [b for p in parts for b in p[:2]]
            tiled = bounds[0] == 0 and bounds[-1] == e.out.shape[axis]
            if tiled and all(bounds[k] == bounds[k + 1] for k in range(1, len(bounds) - 1, 2)):
                e = Eqn(concatenate_p, [p[2] for p in parts], {"axis": axis}, e.out)
        eqns.append(e)
    return _dce(Program(prog.inputs, eqns, prog.outputs, prog.out_def))


def _fuse_logsumexp(prog: Program) -> Program:
    producer = {e.out.id: e for e in prog.eqns}
    eqns = []

    def defining(i: Any, prim: Primitive) -> Eqn | None:
        e = producer.get(i.id) if type(i) is Var else None
        return e if e is not None and e.prim is prim else None

    for e in prog.eqns:
        fused = None
        if e.prim is add_p:
            for lg, m in ((e.ins[0], e.ins[1]), (e.ins[1], e.ins[0])):
                log_e = defining(lg, log_p)
                sum_e = defining(log_e.ins[0], sum_p) if log_e else None
                exp_e = defining(sum_e.ins[0], exp_p) if sum_e else None
                sub_e = defining(exp_e.ins[0], subtract_p) if exp_e else None
                max_e = defining(m, amax_p)
                if (
                    sub_e is not None
                    and max_e is not None
                    and sum_e is not None
                    and sub_e.ins[1] is m
                    and max_e.ins[0] is sub_e.ins[0]
                    and max_e.params == sum_e.params
                    and sum_e.params.get("keepdims")
                ):
                    fused = Eqn(logsumexp_p, [sub_e.ins[0]], dict(sum_e.params), e.out)
                    break
        eqns.append(fused or e)
    return _dce(Program(prog.inputs, eqns, prog.outputs, prog.out_def))
