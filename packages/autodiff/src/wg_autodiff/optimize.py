"""Optimise, then differentiate: ``grad(f, optimize=True)``.

Per input signature (tree structure, shapes and dtypes of the float leaves, values of the
integer ones) the function is traced once into a :class:`~wg_autodiff.staging.Program`, the
program is simplified (algebraic rewrites such as ``log(exp(x)) -> x``, a fused logsumexp,
common-subexpression and dead-code elimination, constant folding), differentiated, the joint
forward-and-backward program is simplified again and lowered to generated Python source
(:mod:`wg_autodiff.replay`), which later calls run. With ``backend="numba"`` its elementwise
groups are first fused into numba kernels (:mod:`wg_autodiff.lowering`).

Branches that depend on traced values are recorded as guards. A replay whose inputs take another
branch raises internally and the function is traced again for them (up to
``MAX_PROGRAMS`` variants per signature, then eager mode is used), so a baked-in branch is never
silently reused.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from wg_autodiff.namespace import is_float_dtype
from wg_autodiff.pytree import tree_flatten, tree_unflatten
from wg_autodiff.replay import Compiled
from wg_autodiff.simplify import simplify
from wg_autodiff.staging import GuardError, Program, stage

MAX_PROGRAMS = 8
BACKENDS = ("numpy", "numba")


def check_backend(backend: str) -> None:
    """Raise :class:`~wg_autodiff.errors.InputError` unless ``backend`` can run here.

    Examples
    --------
    >>> check_backend("numpy")
    """
    from wg_autodiff.errors import InputError, user_location

    if backend not in BACKENDS:
        raise InputError(
            f"backend={backend!r} is not one of {', '.join(map(repr, BACKENDS))} (at "
            f"{user_location()}); pass backend='numpy' or backend='numba'"
        )
    if backend == "numba":
        from wg_autodiff.lowering import available

        if not available():
            raise InputError(
                f"backend='numba' needs numba, which is not installed (at {user_location()}); "
                "install it (pip install numba) or pass backend='numpy'"
            )


def _lowered(prog: Program, backend: str) -> Compiled:
    if backend == "numba":
        from wg_autodiff.lowering import lower

        prog = lower(prog)
    return Compiled(prog)


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


def build(
    f: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    nums: tuple[int, ...],
    has_aux: bool,
    backend: str = "numpy",
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
    return _lowered(simplify(stage(joint, dyn_args, lambda x: True)), backend)


def _arg_index_of_leaves(args: tuple[Any, ...]) -> list[int]:
    owner = []
    for n, a in enumerate(args):
        owner.extend([n] * len(tree_flatten(a)[0]))
    return owner


def compiled_value_and_grad(
    f: Callable[..., Any], argnums: int | Sequence[int], has_aux: bool, backend: str = "numpy"
) -> Callable[..., Any]:
    """The ``optimize=True`` variant of :func:`wg_autodiff.value_and_grad`."""
    from wg_autodiff.core import Tracer
    from wg_autodiff.transforms import _argnums, _check_any_active, value_and_grad

    check_backend(backend)
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
        prog = build(f, args, kwargs, nums, has_aux, backend)
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


def compile_fn(f: Callable[..., Any], backend: str = "numpy") -> Callable[..., Any]:
    """Trace ``f`` once per input signature, simplify, and replay the generated program
    (``backend="numba"`` fuses its elementwise groups into numba kernels first).

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

    check_backend(backend)
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
        prog = _lowered(simplify(stage(lambda *a: f(*a, **kwargs), args, _is_dynamic)), backend)
        progs.append(prog)
        return prog(dyn)

    run.cache = cache  # type: ignore[attr-defined]
    return run
