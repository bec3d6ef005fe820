"""Which equations of a program fuse: groups of elementwise equations over one shape, and the
reductions that consume them, in an order that keeps every value defined before its use."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from wg_autodiff.lowering.codegen import COMPARISONS, POWER, REDUCTIONS, TEMPLATES, slot_key
from wg_autodiff.staging import Const, Eqn, Program, Var

FLOATS = (np.dtype(np.float64), np.dtype(np.float32))
_VALUES = (*FLOATS, np.dtype(np.bool_))


class Group:
    """Equations that become one kernel: elementwise ones over ``shape``, then reductions."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.shape = shape
        self.members: list[Eqn] = []
        self.values: set[int] = set()
        self.reduced: set[int] = set()
        self.closed_at = 0.0
        """Where the group may run: just before the equation (by index) that first needs one
        of its values outside it."""

    def add(self, e: Eqn) -> None:
        self.members.append(e)
        (self.reduced if e.prim.name in REDUCTIONS else self.values).add(e.out.id)


def _broadcasts(shape: tuple[int, ...], to: tuple[int, ...]) -> bool:
    if len(shape) > len(to):
        return False
    return all(n in (1, m) for n, m in zip(shape[::-1], to[::-1], strict=False))


def _operand_ok(i: Any, shape: tuple[int, ...]) -> bool:
    if type(i) is Var:
        return i.numpy and np.dtype(i.dtype) in _VALUES and _broadcasts(i.shape, shape)
    v = i.value
    if isinstance(v, np.ndarray):
        return v.dtype in _VALUES and _broadcasts(v.shape, shape)
    return isinstance(v, bool | int | float | np.bool_ | np.integer | np.floating)


def _same_shape(params: dict[str, Any], shape: tuple[int, ...]) -> bool:
    return set(params) == {"shape"} and tuple(params["shape"]) == shape


def elementwise(e: Eqn, failed: set[str]) -> bool:
    """Whether ``e`` may join a fused group (its primitive lowers, its values are arrays of a
    float dtype, or booleans from comparisons, that broadcast to its shape)."""
    name = e.prim.name
    if (name not in TEMPLATES and name != POWER) or name in failed:
        return False
    out = e.out
    if e.params and not (name == "broadcast_to" and _same_shape(e.params, out.shape)):
        return False
    kinds = FLOATS if name not in COMPARISONS else (np.dtype(np.bool_),)
    if not out.shape or 0 in out.shape or np.dtype(out.dtype) not in kinds:
        return False
    if name == POWER and not (type(e.ins[1]) is Const and _operand_ok(e.ins[1], ())):
        return False
    floats_in = e.ins[1:] if name == "where" else e.ins
    if any(type(i) is Var and np.dtype(i.dtype) not in FLOATS for i in floats_in):
        return False
    return all(_operand_ok(i, out.shape) for i in e.ins)


def reduction(e: Eqn, failed: set[str]) -> bool:
    """Whether ``e`` is a sum or maximum that may close a fused group."""
    if e.prim.name not in REDUCTIONS or e.prim.name in failed or type(e.ins[0]) is not Var:
        return False
    extra = set(e.params) - {"axis", "keepdims"}
    return not extra and np.dtype(e.ins[0].dtype) in FLOATS


def partition(prog: Program, failed: set[str]) -> list[Eqn | Group]:
    """The program's equations in an order where each :class:`Group` stands where its first
    value is needed outside it (or at the end), and every other equation as it was. Groups of
    every size are formed; the caller decides which of them are worth a kernel.

    Examples
    --------
    >>> from wg_autodiff.staging import make_trace
    >>> prog = make_trace(lambda x: np.sum(np.exp(x @ x) * 2.0, axis=0))(np.ones((2, 2)))
    >>> [[e.prim.name for e in i.members] if type(i) is Group else i.prim.name
    ...  for i in partition(prog, set())]
    ['matmul', ['exp', 'multiply', 'sum']]
    """
    items: list[Eqn | Group] = []
    open_groups: dict[tuple[int, ...], Group] = {}
    owner: dict[int, Group] = {}

    def close(g: Group, at: float) -> None:
        g.closed_at = at
        if open_groups.get(g.shape) is g:
            del open_groups[g.shape]
        for vid in g.values | g.reduced:
            owner.pop(vid, None)
        items.append(g)

    for n, e in enumerate(prog.eqns):
        target = _target(e, failed, open_groups, owner)
        for i in e.ins:
            g = owner.get(i.id) if type(i) is Var else None
            if g is not None and (g is not target or i.id in g.reduced):
                close(g, n - 0.5)
                if g is target:
                    target = _target(e, failed, open_groups, owner)
        if target is None:
            items.append(e)
            continue
        open_groups.setdefault(target.shape, target)
        target.add(e)
        owner[e.out.id] = target
    for g in list(open_groups.values()):
        close(g, len(prog.eqns))
    return items


def _target(
    e: Eqn,
    failed: set[str],
    open_groups: dict[tuple[int, ...], Group],
    owner: dict[int, Group],
) -> Group | None:
    if elementwise(e, failed):
        return open_groups.get(e.out.shape) or Group(e.out.shape)
    if reduction(e, failed):
        g = owner.get(e.ins[0].id)
        if g is not None and e.ins[0].id in g.values:
            return g
    return None


def group_inputs(g: Group) -> list[Any]:
    """The group's external operands that the kernel reads (Vars and array constants, in the
    order of first use)."""
    seen: set[Any] = set()
    inputs = []
    for e in g.members:
        for i in e.ins:
            if type(i) is Var and i.id in g.values:
                continue
            if type(i) is Const and not (isinstance(i.value, np.ndarray) and i.value.ndim):
                continue
            if slot_key(i) not in seen:
                seen.add(slot_key(i))
                inputs.append(i)
    return inputs


def group_stores(g: Group, used_outside: Callable[[int, Group], bool]) -> list[int]:
    """Ids of the group's elementwise values that are needed outside it (stored as arrays)."""
    return [e.out.id for e in g.members if e.out.id in g.values and used_outside(e.out.id, g)]
