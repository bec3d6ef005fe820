"""User-defined derivative rules (custom_vjp, custom_jvp), stop_gradient and checkpoint."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from wg_autodiff.core import (
    ForwardTrace,
    Node,
    Primitive,
    ReverseTrace,
    Tracer,
    is_complex,
)
from wg_autodiff.errors import InputError
from wg_autodiff.primitives.arith import zeros_like
from wg_autodiff.primitives.registry import Rule, register
from wg_autodiff.pytree import tree_flatten, tree_unflatten

stop_gradient_p = register(Rule(Primitive("stop_gradient", lambda x: x, nondiff=True)))


def stop_gradient(x: Any) -> Any:
    """``x`` as a constant: no derivative flows through it.

    Examples
    --------
    >>> import numpy as np
    >>> from wg_autodiff import grad
    >>> grad(lambda x: x * stop_gradient(x))(3.0)
    3.0
    """
    leaves, tdef = tree_flatten(x)
    return tree_unflatten(tdef, [stop_gradient_p.bind(v) for v in leaves])


def _top_trace(leaves: list[Any]) -> Any:
    top = None
    for a in leaves:
        if type(a) is Tracer and (top is None or a._trace.level > top.level):
            top = a._trace
    return top


class _Record:
    """Shared state of one opaque call on the reverse tape (checkpoint or custom_vjp)."""

    __slots__ = ("backward", "in_cts", "out_cts")

    def __init__(self, backward: Callable[[list[Any]], list[Any]], n_out: int) -> None:
        self.backward = backward
        self.out_cts: list[Any] = [None] * n_out
        self.in_cts: list[Any] | None = None


call_in_p = Primitive("opaque_call", lambda *a, **k: None)
call_out_p = Primitive("opaque_output", lambda *a, **k: None)


def _call_in_rule(argnum: int, g: Any, ans: Any, *vals: Any, record: Any) -> Any:
    rec = record
    if rec.in_cts is None:
        rec.in_cts = rec.backward(rec.out_cts)
    ct = rec.in_cts[argnum]
    return zeros_like(vals[argnum]) if ct is None else ct


def _call_out_rule(argnum: int, g: Any, ans: Any, *vals: Any, record: Any, index: int) -> Any:
    rec = record
    rec.out_cts[index] = g
    rec.in_cts = None
    return 0.0


register(Rule(call_in_p, _call_in_rule))
register(Rule(call_out_p, _call_out_rule))


def record_call(
    trace: ReverseTrace,
    leaves: list[Any],
    vals: list[Any],
    outs: list[Any],
    backward: Callable[[list[Any]], list[Any]],
) -> list[Any]:
    """Put an opaque call on ``trace``'s tape: its outputs' cotangents go to ``backward``."""
    rec = _Record(backward, len(outs))
    parents = tuple(
        (i, a._node) for i, a in enumerate(leaves) if type(a) is Tracer and a._trace is trace
    )
    entry = Node(call_in_p, vals, {"record": rec}, None, parents)
    trace.tape.append(entry)
    boxed = []
    for i, o in enumerate(outs):
        node = Node(call_out_p, (), {"record": rec, "index": i}, o, ((0, entry),))
        trace.tape.append(node)
        t = Tracer(trace, o)
        t._node = node
        if is_complex(o):
            trace.complex = True
        boxed.append(t)
    return boxed


def checkpoint(f: Callable[..., Any]) -> Callable[..., Any]:
    """Rematerialise ``f``: reverse mode keeps only its inputs and recomputes it when pulling back.

    Outside reverse mode (forward mode, optimize=True, plain calls) ``f`` runs unchanged.

    Examples
    --------
    >>> import numpy as np
    >>> from wg_autodiff import grad
    >>> layer = checkpoint(lambda x: np.tanh(x) * 2.0)
    >>> float(grad(lambda x: np.sum(layer(x)))(np.zeros(2))[0])
    2.0
    """

    @functools.wraps(f)
    def wrapped(*args: Any) -> Any:
        leaves, tdef = tree_flatten(args)
        trace = _top_trace(leaves)
        if not isinstance(trace, ReverseTrace):
            return f(*args)
        vals = [a._value if type(a) is Tracer and a._trace is trace else a for a in leaves]
        out_leaves, out_def = tree_flatten(f(*tree_unflatten(tdef, vals)))

        def backward(out_cts: list[Any]) -> list[Any]:
            from wg_autodiff.transforms import vjp

            active = [type(a) is Tracer and a._trace is trace for a in leaves]
            res, pullback = vjp(lambda *xs: tree_flatten(f(*tree_unflatten(tdef, xs)))[0], *vals)
            cts = [zeros_like(o) if c is None else c for c, o in zip(out_cts, res, strict=True)]
            grads = pullback(cts)
            return [g if a else None for g, a in zip(grads, active, strict=True)]

        return tree_unflatten(out_def, record_call(trace, leaves, vals, out_leaves, backward))

    return wrapped


class custom_vjp:  # noqa: N801  (JAX's name)
    """A function with a user-supplied reverse rule.

    Examples
    --------
    >>> import numpy as np
    >>> from wg_autodiff import grad
    >>> @custom_vjp
    ... def clipped_identity(x):
    ...     return x
    >>> clipped_identity.defvjp(lambda x: (x, None), lambda res, g: (np.clip(g, -1, 1),))
    >>> grad(lambda x: 5.0 * clipped_identity(x))(2.0)
    np.float64(1.0)
    """

    def __init__(self, fun: Callable[..., Any]) -> None:
        self.fun = fun
        self.fwd: Callable[..., Any] | None = None
        self.bwd: Callable[..., Any] | None = None
        functools.update_wrapper(self, fun)

    def defvjp(self, fwd: Callable[..., Any], bwd: Callable[..., Any]) -> None:
        """``fwd(*args) -> (out, residuals)``; ``bwd(residuals, g) -> tuple of cotangents``."""
        self.fwd, self.bwd = fwd, bwd

    def __call__(self, *args: Any) -> Any:
        leaves, tdef = tree_flatten(args)
        trace = _top_trace(leaves)
        if trace is None or isinstance(trace, ForwardTrace) or not isinstance(trace, ReverseTrace):
            return self.fun(*args)
        if self.fwd is None or self.bwd is None:
            raise InputError(
                f"custom_vjp function {self.fun.__name__} has no rule: call "
                f"{self.fun.__name__}.defvjp(fwd, bwd) before differentiating it"
            )
        vals = [a._value if type(a) is Tracer and a._trace is trace else a for a in leaves]
        out, res = self.fwd(*tree_unflatten(tdef, vals))
        out_leaves, out_def = tree_flatten(out)
        bwd = self.bwd

        def backward(out_cts: list[Any]) -> list[Any]:
            cts = [
                zeros_like(o) if c is None else c for c, o in zip(out_cts, out_leaves, strict=True)
            ]
            in_cts = bwd(res, tree_unflatten(out_def, cts))
            if not isinstance(in_cts, tuple) or len(in_cts) != len(args):
                raise InputError(
                    f"the bwd rule of {self.fun.__name__} must return a tuple with "
                    f"one cotangent per argument ({len(args)})"
                )
            return tree_flatten(tuple(in_cts))[0]

        return tree_unflatten(out_def, record_call(trace, leaves, vals, out_leaves, backward))


custom_jvp_p = Primitive("custom_jvp", lambda *leaves, rule: rule.fun(*leaves))


class custom_jvp:  # noqa: N801  (JAX's name)
    """A function of array arguments with a user-supplied forward rule (reverse mode transposes
    it, so the rule must be linear in the tangents).

    Examples
    --------
    >>> import numpy as np
    >>> from wg_autodiff import grad, jvp
    >>> @custom_jvp
    ... def softplus(x):
    ...     return np.logaddexp(x, 0.0)
    >>> @softplus.defjvp
    ... def _(primals, tangents):
    ...     (x,), (t,) = primals, tangents
    ...     return softplus(x), t / (1.0 + np.exp(-x))
    >>> float(grad(softplus)(0.0))
    0.5
    """

    def __init__(self, fun: Callable[..., Any]) -> None:
        self.fun = fun
        self.jvp: Callable[..., Any] | None = None
        functools.update_wrapper(self, fun)

    def defjvp(self, jvp: Callable[..., Any]) -> Callable[..., Any]:
        """``jvp(primals, tangents) -> (out, tangent_out)``."""
        self.jvp = jvp
        return jvp

    def __call__(self, *args: Any) -> Any:
        if self.jvp is None:
            return self.fun(*args)
        return custom_jvp_p.bind(*args, rule=self)


def _custom_jvp_jvp(primals: list[Any], tangents: list[Any], params: dict[str, Any]) -> Any:
    ts = tuple(zeros_like(p) if t is None else t for p, t in zip(primals, tangents, strict=True))
    return params["rule"].jvp(tuple(primals), ts)


def _custom_jvp_vjp(argnum: int, g: Any, ans: Any, *vals: Any, rule: Any) -> Any:
    trace = ReverseTrace()
    ts = [trace.new_input(zeros_like(p)) for p in vals]
    _, t_out = rule.jvp(tuple(vals), tuple(ts))
    trace.backward([t_out], [g])
    ct = ts[argnum]._node.ct
    return zeros_like(vals[argnum]) if ct is None else ct


register(Rule(custom_jvp_p, _custom_jvp_vjp, _custom_jvp_jvp))
