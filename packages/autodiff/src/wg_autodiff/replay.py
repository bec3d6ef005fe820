"""Lowering of staged programs to generated Python source for low-overhead replay."""

from __future__ import annotations

import functools
import operator
from collections.abc import Sequence
from typing import Any

import numpy as np

from wg_autodiff.core import Primitive
from wg_autodiff.pytree import tree_unflatten
from wg_autodiff.rules_arith import add_p, divide_p, multiply_p, negative_p, subtract_p, sum_p
from wg_autodiff.rules_unary import sigmoid_p
from wg_autodiff.staging import Const, Eqn, Program, Var


def _numpy_impls() -> dict[Primitive, Any]:
    from wg_autodiff import rules_unary as ru
    from wg_autodiff.rules_array import matmul_p

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
    from wg_autodiff import rules_array as ra
    from wg_autodiff.rules_arith import broadcast_to_p, reshape_p

    p = e.params
    if e.prim is ra.getitem_p:
        return operator.itemgetter(p["idx"])
    if e.prim is sum_p:
        return operator.methodcaller("sum", axis=p["axis"], keepdims=p["keepdims"])
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


class Compiled:
    """A program lowered to generated Python source: one local variable per value, one line per
    equation, so a replay pays a function call per primitive and nothing else."""

    def __init__(self, prog: Program) -> None:
        self.prog = prog
        names: dict[int, str] = {}
        env: dict[str, Any] = {}

        def name_of(i: Any) -> str:
            if type(i) is Const:
                key = f"c{len(env)}"
                env[key] = i.value
                return key
            if i.id not in names:
                names[i.id] = f"v{i.id}"
            return names[i.id]

        args = [name_of(v) for v in prog.inputs]
        lines = [f"def replay({', '.join(args)}{',' if len(args) == 1 else ''}):"]
        # Free each value after its last use: holding every intermediate until the end would
        # defeat the allocator's reuse of large blocks (fresh pages, page faults, on every call).
        last_use: dict[int, int] = {}
        for n, e in enumerate(prog.eqns):
            for i in e.ins:
                if type(i) is Var:
                    last_use[i.id] = n
        keep = {o.id for o in prog.outputs if type(o) is Var}
        dying: dict[int, list[str]] = {}
        for vid, n in last_use.items():
            if vid not in keep:
                dying.setdefault(n, []).append(f"v{vid}")
        for n, e in enumerate(prog.eqns):
            fn = f"f{n}"
            env[fn] = lowered(e)
            ins = ", ".join(name_of(i) for i in e.ins)
            lines.append(f"    {name_of(e.out)} = {fn}({ins})")
            if n in dying:
                lines.append(f"    del {', '.join(sorted(set(dying[n])))}")
        outs = [name_of(o) for o in prog.outputs]
        lines.append(f"    return [{', '.join(outs)}]")
        code = compile("\n".join(lines), f"<wg_autodiff program {id(self):x}>", "exec")
        exec(code, env)
        self.replay = env["replay"]

    def __call__(self, leaves: Sequence[Any]) -> Any:
        return tree_unflatten(self.prog.out_def, self.replay(*leaves))
