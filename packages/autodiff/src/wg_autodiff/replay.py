"""Lowering of staged programs to generated Python source for low-overhead replay."""

from __future__ import annotations

import functools
import math
import operator
from collections.abc import Sequence
from typing import Any

import numpy as np

from wg_autodiff.core import Primitive
from wg_autodiff.primitives.arith import (
    DOT_SUM_MIN,
    add_p,
    divide_p,
    dot_sum,
    multiply_p,
    negative_p,
    subtract_p,
    sum_p,
)
from wg_autodiff.primitives.unary import sigmoid_p
from wg_autodiff.pytree import tree_unflatten
from wg_autodiff.staging import Const, Eqn, Program, Var


def _numpy_impls() -> dict[Primitive, Any]:
    from wg_autodiff.primitives import unary as ru
    from wg_autodiff.primitives.array import matmul_p

    impls: dict[Primitive, Any] = {
        add_p: operator.add,
        subtract_p: operator.sub,
        multiply_p: operator.mul,
        divide_p: operator.truediv,
        negative_p: operator.neg,
        matmul_p: operator.matmul,
        sigmoid_p: ru._sigmoid_np,
    }
    for name in ("exp", "log", "log1p", "expm1", "sqrt", "square", "sin", "cos", "tan", "tanh"):
        impls[getattr(ru, f"{name}_p")] = getattr(np, name)
    return impls


_NUMPY_IMPLS = _numpy_impls()


def _numpy_only(e: Eqn) -> bool:
    return all(
        i.numpy if type(i) is Var else isinstance(i.value, np.ndarray | np.generic | float | int)
        for i in e.ins
    )


def lowered(e: Eqn) -> Any:
    """The callable a replay uses for ``e``: NumPy's own function (or a C-level getter) when
    every input was a NumPy array at trace time, else the primitive's generic implementation."""
    if _numpy_only(e):
        if e.prim in _NUMPY_IMPLS:
            return _NUMPY_IMPLS[e.prim]
        if all(type(i) is Var for i in e.ins):
            fast = _lowered_structural(e)
            if fast is not None:
                return fast
    return functools.partial(e.prim.impl, **e.params) if e.params else e.prim.impl


def _lowered_structural(e: Eqn) -> Any:
    from wg_autodiff.primitives import array as ra
    from wg_autodiff.primitives.arith import broadcast_to_p, reshape_p

    p = e.params
    if e.prim is ra.getitem_p:
        return operator.itemgetter(p["idx"])
    if e.prim is sum_p:
        plain = operator.methodcaller("sum", axis=p["axis"], keepdims=p["keepdims"])
        x = e.ins[0]
        fast = dot_sum(x.shape, x.dtype, p["axis"], p["keepdims"])
        if fast is None or math.prod(x.shape) < DOT_SUM_MIN:
            return plain
        return lambda x: fast(x) if x.flags.c_contiguous else plain(x)
    if e.prim is reshape_p:
        return operator.methodcaller("reshape", p["shape"])
    if e.prim is ra.transpose_p:
        return operator.methodcaller("transpose", p["axes"])
    if e.prim is broadcast_to_p:
        return functools.partial(np.broadcast_to, shape=p["shape"])
    if e.prim is ra.concatenate_p:
        axis = p["axis"]
        return lambda *xs: np.concatenate(xs, axis=axis)
    if e.prim is ra.scatter_add_p and ra.is_basic_index(p["idx"]):
        idx, shape, dtype = p["idx"], p["shape"], e.out.dtype

        def scatter(g: Any) -> Any:
            z = np.zeros(shape, dtype=dtype)
            z[idx] = g
            return z

        return scatter
    return None


CHUNK = 2048
"""Equations per generated function: very long functions replay measurably slower."""


class Compiled:
    """A program lowered to generated Python source: one local variable per value and one line
    per equation, in functions of :data:`CHUNK` equations that hand on the values still needed
    through a list, so a replay pays little more than a call per primitive."""

    def __init__(self, prog: Program) -> None:
        self.prog = prog
        eqns = prog.eqns
        chunk_of = {e.out.id: n // CHUNK for n, e in enumerate(eqns)}
        last_use: dict[int, int] = {}
        used_in: dict[int, set[int]] = {}
        for n, e in enumerate(eqns):
            for i in e.ins:
                if type(i) is Var:
                    last_use[i.id] = n
                    used_in.setdefault(i.id, set()).add(n // CHUNK)
        outputs = {o.id for o in prog.outputs if type(o) is Var}
        shared = {v.id for v in prog.inputs} | outputs
        shared |= {vid for vid, chunks in used_in.items() if chunks - {chunk_of.get(vid, -1)}}
        self.slots = {vid: k for k, vid in enumerate(sorted(shared))}

        self.chunks = [
            self._build_chunk(start, eqns, last_use, used_in, outputs)
            for start in range(0, len(eqns), CHUNK)
        ]
        self.input_slots = [self.slots[v.id] for v in prog.inputs]
        self.outputs = [
            (self.slots[o.id], None) if type(o) is Var else (-1, o.value) for o in prog.outputs
        ]

    def _build_chunk(
        self,
        start: int,
        eqns: list[Eqn],
        last_use: dict[int, int],
        used_in: dict[int, set[int]],
        outputs: set[int],
    ) -> Any:
        """The function replaying ``eqns[start : start + CHUNK]``. Its primitives and constants
        are closure cells, not globals: a global lookup in a namespace of 10^5 names stays slow
        until the interpreter has specialised the instruction, which takes dozens of replays."""
        env: dict[str, Any] = {}

        def ref(i: Any) -> str:
            if type(i) is Const:
                key = f"c{len(env)}"
                env[key] = i.value
                return key
            return f"v{i.id}"

        name = f"chunk{start // CHUNK}"
        lines = self._chunk_source(
            name, start, eqns[start : start + CHUNK], env, ref, last_use, used_in, outputs
        )
        source = [f"def make({', '.join(env)}):", *(f"    {line}" for line in lines)]
        source.append(f"    return {name}")
        namespace: dict[str, Any] = {}
        exec(compile("\n".join(source), f"<wg_autodiff program {name}>", "exec"), namespace)
        return namespace["make"](**env)

    def _chunk_source(
        self,
        name: str,
        start: int,
        eqns: list[Eqn],
        env: dict[str, Any],
        ref: Any,
        last_use: dict[int, int],
        used_in: dict[int, set[int]],
        outputs: set[int],
    ) -> list[str]:
        k = start // CHUNK
        defined = {e.out.id for e in eqns}
        imported = sorted({i.id for e in eqns for i in e.ins if type(i) is Var} - defined)
        lines = [f"def {name}(E):"] + [f"    v{v} = E[{self.slots[v]}]" for v in imported]
        for n, e in enumerate(eqns, start):
            fn = f"f{n}"
            env[fn] = lowered(e)
            lines.append(f"    v{e.out.id} = {fn}({', '.join(ref(i) for i in e.ins)})")
            if e.out.id in self.slots:
                lines.append(f"    E[{self.slots[e.out.id]}] = v{e.out.id}")
            dead = sorted({i.id for i in e.ins if type(i) is Var and last_use[i.id] == n})
            if dead:
                # free after the last use: holding every intermediate to the end would defeat
                # the allocator's reuse of large blocks (fresh pages on every call)
                lines.append(f"    del {', '.join(f'v{v}' for v in dead)}")
                lines.extend(
                    f"    E[{self.slots[v]}] = None"
                    for v in dead
                    if v in self.slots and v not in outputs and max(used_in[v]) == k
                )
        lines.append("    return None")
        return lines

    def replay(self, *leaves: Any) -> list[Any]:
        E: list[Any] = [None] * len(self.slots)
        for s, x in zip(self.input_slots, leaves, strict=True):
            E[s] = x
        for chunk in self.chunks:
            chunk(E)
        return [E[s] if s >= 0 else value for s, value in self.outputs]

    def __call__(self, leaves: Sequence[Any]) -> Any:
        return tree_unflatten(self.prog.out_def, self.replay(*leaves))
