"""Staging: record a function's primitive applications as a program (an intermediate
representation) that can be printed, simplified and replayed.

Tracing runs on concrete values, so Python control flow works while tracing; every place where a
traced value decides the control flow (``if x > 0``, ``float(x)``, an index computed from data)
becomes a *guard* in the program. Replaying checks each guard and reports a mismatch instead of
silently following the recorded branch.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import numpy as np

from wg_autodiff.construct import settle_tree, tracing
from wg_autodiff.core import Primitive, Tracer, _levels
from wg_autodiff.primitives.registry import Rule, register
from wg_autodiff.pytree import tree_flatten, tree_unflatten


class GuardError(Exception):
    """A replayed program met a value that takes a different branch than when it was traced."""


class Var:
    """A value of the program, with the shape and dtype it had when traced."""

    __slots__ = ("dtype", "id", "numpy", "shape")

    def __init__(self, vid: int, value: Any) -> None:
        self.id = vid
        self.numpy = isinstance(value, np.ndarray | np.generic)
        self.shape = tuple(getattr(value, "shape", ()))
        dtype = getattr(value, "dtype", None)
        self.dtype = dtype if dtype is not None else np.result_type(value)

    def __repr__(self) -> str:
        return _name(self.id)


class Const:
    """A literal input of an equation (a value that does not depend on the inputs)."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __repr__(self) -> str:
        v = self.value
        if isinstance(v, float | int | np.generic) or np.ndim(v) == 0:
            return repr(float(v)) if not isinstance(v, bool) else repr(v)
        return f"const{tuple(np.shape(v))}"


class Eqn:
    """``out = prim(*ins, **params)``."""

    __slots__ = ("ins", "out", "params", "prim")

    def __init__(self, prim: Primitive, ins: list[Any], params: dict[str, Any], out: Var) -> None:
        self.prim = prim
        self.ins = ins
        self.params = params
        self.out = out

    def __repr__(self) -> str:
        params = " ".join(f"{k}={_short(v)}" for k, v in self.params.items())
        args = " ".join(repr(i) for i in self.ins)
        head = f"{self.prim.name}[{params}]" if params else self.prim.name
        return f"{self.out!r}:{_type(self.out)} = {head} {args}"


def _short(v: Any) -> str:
    if isinstance(v, np.ndarray):
        return f"array{v.shape}"
    if callable(v):
        return getattr(v, "__name__", type(v).__name__)
    text = repr(v)
    return text if len(text) < 40 else text[:37] + "..."


def _type(v: Var) -> str:
    dtype = str(v.dtype).replace("float", "f").replace("int", "i")
    return f"{dtype}[{','.join(str(n) for n in v.shape)}]"


def _name(i: int) -> str:
    letters = "abcdefghijklmnopqrstuvwxyz"
    name = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        name = letters[r] + name
    return name


class Program:
    """A straight-line program: inputs, equations, outputs (printable, replayable)."""

    def __init__(
        self, inputs: list[Var], eqns: list[Eqn], outputs: list[Any], out_def: Any
    ) -> None:
        self.inputs = inputs
        self.eqns = eqns
        self.outputs = outputs
        self.out_def = out_def

    def __repr__(self) -> str:
        ins = ", ".join(f"{v!r}:{_type(v)}" for v in self.inputs)
        body = "\n".join(f"    {e!r}" for e in self.eqns)
        outs = ", ".join(repr(o) for o in self.outputs)
        return f"{{ lambda {ins} .\n{body}\n  in ({outs}) }}"

    def __call__(self, *leaves: Any) -> Any:
        """Evaluate on flat input leaves (binding primitives, so it can itself be traced)."""
        env: dict[int, Any] = {v.id: x for v, x in zip(self.inputs, leaves, strict=True)}
        for e in self.eqns:
            args = [env[i.id] if type(i) is Var else i.value for i in e.ins]
            env[e.out.id] = e.prim.bind(*args, **e.params)
        outs = [env[o.id] if type(o) is Var else o.value for o in self.outputs]
        return tree_unflatten(self.out_def, outs)


def _guard_impl(x: Any, expected: Any) -> Any:
    if not np.array_equal(np.asarray(x), expected):
        raise GuardError("a value that decided control flow while tracing has changed")
    return expected


guard_p = register(Rule(Primitive("guard", _guard_impl, nondiff=True)))


class StagingTrace:
    """Records every primitive application on its tracers into a list of equations."""

    def __init__(self) -> None:
        self.level = next(_levels)
        self.eqns: list[Eqn] = []
        self.ids = itertools.count()

    def new_var(self, value: Any) -> Var:
        return Var(next(self.ids), value)

    def new_input(self, value: Any) -> Tracer:
        t = Tracer(self, value)
        t._var = self.new_var(value)
        return t

    def process(self, prim: Primitive, args: Any, params: dict[str, Any]) -> Any:
        vals = []
        ins: list[Any] = []
        for a in args:
            if type(a) is Tracer and a._trace is self:
                vals.append(a._value)
                ins.append(a._var)
            else:
                vals.append(a)
                ins.append(Const(a))
        out = prim.bind(*vals, **params)
        t = Tracer(self, out)
        t._var = self.new_var(out)
        self.eqns.append(Eqn(prim, ins, params, t._var))
        return t

    def concrete(self, t: Tracer) -> Any:
        value = t._value
        while type(value) is Tracer:
            value = value._trace.concrete(value)
        snapshot = np.array(value, copy=True)
        self.eqns.append(Eqn(guard_p, [t._var], {"expected": snapshot}, self.new_var(snapshot)))
        return t._value

    def to_bool(self, t: Tracer) -> bool:
        return bool(self.concrete(t))


def stage(f: Callable[..., Any], args: tuple[Any, ...], dynamic: Callable[[Any], bool]) -> Program:
    """Trace ``f(*args)``; leaves for which ``dynamic(leaf)`` holds become program inputs."""
    trace = StagingTrace()
    leaves, tdef = tree_flatten(args)
    boxed = [trace.new_input(x) if dynamic(x) else x for x in leaves]
    with tracing(trace):
        out_leaves, out_def = tree_flatten(settle_tree(f(*tree_unflatten(tdef, boxed))))
    inputs = [b._var for b in boxed if type(b) is Tracer]
    outputs = [o._var if type(o) is Tracer and o._trace is trace else Const(o) for o in out_leaves]
    return Program(inputs, trace.eqns, outputs, out_def)


def make_trace(f: Callable[..., Any]) -> Callable[..., Program]:
    """``make_trace(f)(*args)`` records ``f`` on ``args`` as a printable :class:`Program`.

    Examples
    --------
    >>> import numpy as np
    >>> prog = make_trace(lambda x: np.sum(np.exp(x) * 2.0))(np.ones(3))
    >>> print(prog)
    { lambda a:f64[3] .
        b:f64[3] = exp a
        c:f64[3] = multiply b 2.0
        d:f64[] = sum[axis=None keepdims=False] c
      in (d) }
    """

    def traced(*args: Any) -> Program:
        return stage(f, args, lambda x: hasattr(x, "shape") or isinstance(x, float))

    return traced
