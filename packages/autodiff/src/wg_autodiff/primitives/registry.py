"""The registry of derivative rules: one :class:`Rule` per primitive, registered by one call.

:func:`register` is the only writer of the tables the traces read (``core.vjp_rules``,
``core.jvp_rules``, ``core.vjp_per_arg``, ``core.numpy_vjp``); :data:`RULES` keeps the records
themselves, so coverage and the conformance tests enumerate exactly what the traces use.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from wg_autodiff.core import (
    Primitive,
    jvp_rules,
    numpy_vjp,
    unsupported,
    vjp_per_arg,
    vjp_rules,
)

Fn = Callable[..., Any]


@dataclass(frozen=True, eq=False)
class Rule:
    """Everything the transforms know about one primitive.

    ``vjp`` is either one ``rule(g, ans, *args, **params)`` per argument (``None`` where the
    argument has no derivative) or, for variadic primitives, one ``rule(argnum, g, ans, *args,
    **params)``. ``jvp(primals, tangents, params) -> (out, tangent_out)`` is the forward rule;
    without one, ``linear`` (linear in its first argument) or ``multilinear`` (linear in each
    argument) derive it, and otherwise forward mode transposes ``vjp``. ``numpy_vjp`` is the
    first-order fast path: one ``rule(g, ans, *args)`` per argument with NumPy's operators,
    used when the cotangent and the argument are NumPy arrays of one shape. A ``nondiff``
    primitive has no rules: its results are constants.
    """

    prim: Primitive
    vjp: tuple[Fn | None, ...] | Fn | None = None
    jvp: Fn | None = None
    numpy_vjp: tuple[Fn, ...] | None = None
    linear: bool = False
    multilinear: bool = False
    family: str = field(default="", compare=False)

    @property
    def name(self) -> str:
        return self.prim.name


RULES: dict[Primitive, Rule] = {}
"""Every registered primitive, in registration (dependency) order."""


def register(rule: Rule) -> Primitive:
    """Record ``rule`` and fill the tables the traces read; returns the primitive.

    The family is the last part of the registering module's name (``arith``, ``linalg``, ...).
    Registering a primitive twice, or a differentiable one without rules, raises ``ValueError``.
    """
    prim = rule.prim
    if prim in RULES:
        raise ValueError(f"primitive {prim.name} is registered twice")
    if prim.nondiff != (rule.vjp is None and rule.jvp is None):
        raise ValueError(f"primitive {prim.name}: give rules exactly when it is differentiable")
    family = rule.family or sys._getframe(1).f_globals["__name__"].rsplit(".", 1)[-1]
    RULES[prim] = replace(rule, family=family)
    if isinstance(rule.vjp, tuple):
        vjp_rules[prim] = _per_arg(prim, rule.vjp)
        if all(r is not None for r in rule.vjp):
            vjp_per_arg[prim] = rule.vjp
    elif rule.vjp is not None:
        vjp_rules[prim] = _argnum(rule.vjp)
    if rule.numpy_vjp is not None:
        numpy_vjp[prim] = rule.numpy_vjp
    jvp = rule.jvp
    if jvp is None and rule.linear:
        jvp = _linear_jvp(prim)
    elif jvp is None and rule.multilinear:
        jvp = _multilinear_jvp(prim)
    if jvp is not None:
        jvp_rules[prim] = jvp
    return prim


def _per_arg(prim: Primitive, rules: tuple[Fn | None, ...]) -> Fn:
    def rule(argnum: int, g: Any, ans: Any, vals: Any, params: dict[str, Any]) -> Any:
        r = rules[argnum]
        if r is None:
            raise unsupported(f"derivative of {prim.name} with respect to argument {argnum}")
        return r(g, ans, *vals, **params)

    return rule


def _argnum(rule: Fn) -> Fn:
    def wrapped(argnum: int, g: Any, ans: Any, vals: Any, params: dict[str, Any]) -> Any:
        return rule(argnum, g, ans, *vals, **params)

    return wrapped


def _linear_jvp(prim: Primitive) -> Fn:
    """Forward rule of a primitive linear in its first argument: the tangent goes through it."""

    def jvp(primals: list[Any], tangents: list[Any], params: dict[str, Any]) -> Any:
        out = prim.bind(*primals, **params)
        if tangents[0] is None:
            return out, None
        return out, prim.bind(tangents[0], *primals[1:], **params)

    return jvp


def _multilinear_jvp(prim: Primitive) -> Fn:
    """Forward rule of a primitive linear in each argument separately (multiply, matmul)."""

    def jvp(primals: list[Any], tangents: list[Any], params: dict[str, Any]) -> Any:
        from wg_autodiff.primitives.arith import add_all

        out = prim.bind(*primals, **params)
        terms = (
            None if t is None else prim.bind(*primals[:i], t, *primals[i + 1 :], **params)
            for i, t in enumerate(tangents)
        )
        return out, add_all(terms)

    return jvp
