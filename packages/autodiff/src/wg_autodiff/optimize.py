"""Optimise, then differentiate: ``grad(f, optimize=True)``.

Per input signature (tree structure, shapes and dtypes of the float leaves, values of the
integer ones) the function is traced once into a :class:`~wg_autodiff.staging.Program`, the
program is simplified (algebraic rewrites such as ``log(exp(x)) -> x``, a fused logsumexp,
common-subexpression and dead-code elimination, constant folding), differentiated, the joint
forward-and-backward program is simplified again, and later calls replay it with a flat loop.

Branches that depend on traced values are recorded as guards. A replay whose inputs take another
branch raises internally and the function is traced again for them (up to
``MAX_PROGRAMS`` variants per signature, then eager mode is used), so a baked-in branch is never
silently reused.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from wg_autodiff.core import Primitive
from wg_autodiff.namespace import is_float_dtype
from wg_autodiff.pytree import tree_flatten, tree_unflatten
from wg_autodiff.rules_arith import add_p, divide_p, multiply_p, negative_p, subtract_p, sum_p
from wg_autodiff.rules_array import amax_p, logsumexp_p
from wg_autodiff.rules_unary import exp_p, log_p, sigmoid_p, square_p
from wg_autodiff.staging import Const, Eqn, GuardError, Program, Var, guard_p, stage

MAX_PROGRAMS = 8


def _is_dynamic(x: Any) -> bool:
    return isinstance(x, float) or (hasattr(x, "shape") and is_float_dtype(x))


def _leaf_key(x: Any) -> Any:
    if _is_dynamic(x):
        return ("f", tuple(getattr(x, "shape", ())), str(getattr(x, "dtype", "py")), type(x))
    if isinstance(x, np.ndarray):
        return ("c", x.shape, str(x.dtype), hash(x.tobytes()))
    try:
        hash(x)
    except TypeError:
        return ("id", id(x))
    return ("s", type(x), x)


def signature(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    leaves, tdef = tree_flatten((args, kwargs))
    return (repr(tdef), tuple(_leaf_key(x) for x in leaves))


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
    return _fuse_logsumexp(_Rewriter(prog).run())


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


# ----------------------------------------------------------------- replay


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
    every input was a NumPy value at trace time, else the primitive's generic implementation."""
    from wg_autodiff.rules_array import getitem_p

    if _numpy_only(e):
        if e.prim in _NUMPY_IMPLS:
            return _NUMPY_IMPLS[e.prim]
        if e.prim is getitem_p:
            return operator.itemgetter(e.params["idx"])
        if e.prim is sum_p and all(type(i) is Var for i in e.ins):
            return operator.methodcaller(
                "sum", axis=e.params["axis"], keepdims=e.params["keepdims"]
            )
    return functools.partial(e.prim.impl, **e.params) if e.params else e.prim.impl


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


def build(
    f: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    nums: tuple[int, ...],
    has_aux: bool,
) -> Compiled:
    """Trace, simplify, differentiate, simplify again, lower."""
    from wg_autodiff.transforms import _scalar_seed, vjp

    def call(*a: Any) -> Any:
        return f(*a, **kwargs)

    forward = simplify(stage(call, args, _is_dynamic))
    leaves, _ = tree_flatten(args)
    dyn_pos = [i for i, x in enumerate(leaves) if _is_dynamic(x)]
    arg_of_leaf = _arg_index_of_leaves(args)
    active = [arg_of_leaf[i] in nums for i in dyn_pos]

    def joint(*dyn: Any) -> Any:
        act = [x for x, a in zip(dyn, active, strict=True) if a]

        def f_act(*xs: Any) -> Any:
            it = iter(xs)
            return forward(*[next(it) if a else x for x, a in zip(dyn, active, strict=True)])

        res = vjp(f_act, *act, has_aux=has_aux)
        out = res[0]
        grads = res[1](_scalar_seed(out))
        return (out, res[2] if has_aux else None, list(grads))

    dyn_args = tuple(leaves[i] for i in dyn_pos)
    return Compiled(simplify(stage(joint, dyn_args, lambda x: True)))


def _arg_index_of_leaves(args: tuple[Any, ...]) -> list[int]:
    owner = []
    for n, a in enumerate(args):
        owner.extend([n] * len(tree_flatten(a)[0]))
    return owner


def compiled_value_and_grad(
    f: Callable[..., Any], argnums: int | Sequence[int], has_aux: bool
) -> Callable[..., Any]:
    """The ``optimize=True`` variant of :func:`wg_autodiff.value_and_grad`."""
    from wg_autodiff.core import Tracer
    from wg_autodiff.transforms import _argnums, _check_any_active, value_and_grad

    cache: dict[Any, list[Compiled]] = {}
    eager = value_and_grad(f, argnums, has_aux)

    @functools.wraps(f)
    def vg(*args: Any, **kwargs: Any) -> Any:
        if any(type(x) is Tracer for x in tree_flatten((args, kwargs))[0]):
            return eager(*args, **kwargs)
        nums = _argnums(argnums, len(args))
        _check_any_active(tuple(args[i] for i in nums), nums)
        key = (nums, signature(args, kwargs))
        progs = cache.setdefault(key, [])
        leaves, _ = tree_flatten(args)
        dyn = [x for x in leaves if _is_dynamic(x)]
        for prog in progs:
            try:
                return _assemble(prog(dyn), args, nums, argnums, has_aux)
            except GuardError:
                continue
        if len(progs) >= MAX_PROGRAMS:
            return eager(*args, **kwargs)
        prog = build(f, args, kwargs, nums, has_aux)
        progs.append(prog)
        return _assemble(prog(dyn), args, nums, argnums, has_aux)

    vg.cache = cache  # type: ignore[attr-defined]
    return vg


def _assemble(
    result: Any,
    args: tuple[Any, ...],
    nums: tuple[int, ...],
    argnums: int | Sequence[int],
    has_aux: bool,
) -> Any:
    out, aux, grads = result
    it = iter(grads)
    per_arg: dict[int, Any] = {}
    for n in sorted(nums):
        leaves, tdef = tree_flatten(args[n])
        per_arg[n] = tree_unflatten(
            tdef, [next(it) if _is_dynamic(x) else np.zeros_like(x, dtype=float) for x in leaves]
        )
    g = per_arg[nums[0]] if isinstance(argnums, int) else tuple(per_arg[n] for n in nums)
    return ((out, aux), g) if has_aux else (out, g)


def compile_fn(f: Callable[..., Any]) -> Callable[..., Any]:
    """Trace ``f`` once per input signature, simplify, and replay the generated program.

    Any transform can sit inside (``compile_fn(lambda x, v: hvp(f, (x,), (v,)))`` stages the
    whole Hessian-vector product). Guards re-trace when a traced branch changes; called on
    traced values (inside another transform) it simply runs ``f``.

    Examples
    --------
    >>> import numpy as np
    >>> fast = compile_fn(lambda x: np.log(np.exp(x)) * 2.0)
    >>> fast(np.array([1.0, 2.0]))
    array([2., 4.])
    """
    from wg_autodiff.core import Tracer

    cache: dict[Any, list[Compiled]] = {}

    @functools.wraps(f)
    def run(*args: Any, **kwargs: Any) -> Any:
        leaves, _ = tree_flatten((args, kwargs))
        if any(type(x) is Tracer for x in leaves):
            return f(*args, **kwargs)
        progs = cache.setdefault(signature(args, kwargs), [])
        dyn = [x for x in tree_flatten(args)[0] if _is_dynamic(x)]
        for prog in progs:
            try:
                return prog(dyn)
            except GuardError:
                continue
        if len(progs) >= MAX_PROGRAMS:
            return f(*args, **kwargs)
        prog = Compiled(simplify(stage(lambda *a: f(*a, **kwargs), args, _is_dynamic)))
        progs.append(prog)
        return prog(dyn)

    run.cache = cache  # type: ignore[attr-defined]
    return run
