"""check_grads: compare forward and reverse derivatives with central finite differences."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from wg_autodiff.pytree import tree_flatten, tree_unflatten


def rho(x: Any, y: Any) -> float:
    """ADBench's error measure: ``max |x - y| / max(1, |x| + |y|)`` over all entries.

    Examples
    --------
    >>> rho(np.array([1.0, 100.0]), np.array([1.0, 101.0]))
    0.004975124378109453
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.size == 0:
        return 0.0
    return float(np.max(np.abs(x - y) / np.maximum(1.0, np.abs(x) + np.abs(y))))


def _flat(tree: Any) -> np.ndarray:
    leaves, _ = tree_flatten(tree)
    if not leaves:
        return np.zeros(0)
    return np.concatenate([np.ravel(np.asarray(v)) for v in leaves])


def _random_like(tree: Any, rng: np.random.Generator) -> Any:
    leaves, tdef = tree_flatten(tree)
    return tree_unflatten(tdef, [_random_leaf(v, rng) for v in leaves])


def _random_leaf(v: Any, rng: np.random.Generator) -> Any:
    if isinstance(v, complex):
        return complex(rng.standard_normal(), rng.standard_normal())
    if isinstance(v, float | int):
        return float(rng.standard_normal())
    r = rng.standard_normal(np.shape(v))
    if np.iscomplexobj(v):
        r = r + 1j * rng.standard_normal(np.shape(v))
    return r.astype(np.asarray(v).dtype)


def _axpy(a: float, x: Any, y: Any) -> Any:
    lx, tdef = tree_flatten(x)
    ly, _ = tree_flatten(y)
    return tree_unflatten(tdef, [yi + a * xi for xi, yi in zip(lx, ly, strict=True)])


def _assert_close(what: str, got: Any, want: Any, atol: float, rtol: float) -> None:
    got_f, want_f = _flat(got), _flat(want)
    if np.iscomplexobj(got_f) and not np.iscomplexobj(want_f):
        raise AssertionError(f"{what}: complex derivative {got_f!r} of a real function")
    err = np.abs(got_f - want_f)
    bound = atol + rtol * np.abs(want_f)
    if not np.all(err <= bound):
        i = int(np.argmax(err - bound))
        raise AssertionError(
            f"{what}: derivative {got_f[i]!r} differs from finite differences {want_f[i]!r} "
            f"(|diff| {err[i]:.3g} > atol {atol:g} + rtol {rtol:g} * |fd|)"
        )


def check_grads(
    f: Callable[..., Any],
    args: Sequence[Any],
    order: int = 2,
    modes: Sequence[str] = ("fwd", "rev"),
    atol: float = 1e-5,
    rtol: float = 1e-5,
    eps: float = 1e-5,
    seed: int = 0,
) -> None:
    """Check ``f``'s derivatives up to ``order`` against central finite differences.

    Directional derivatives along random tangents are compared: forward mode directly, reverse
    mode through the identity ``<ct, J t> = <J^T ct, t>``. Raises :class:`AssertionError` with
    the mismatching value. ``order=2`` also checks the derivatives of the derivative functions.

    Complex arguments get complex tangents and cotangents.

    Examples
    --------
    >>> check_grads(lambda x: np.sin(x) * x, (np.array([0.3, 1.2]),), order=2)
    >>> check_grads(lambda z: np.abs(np.exp(z)), (np.array([0.3 + 1j]),), order=2)
    """
    args = tuple(args)
    rng = np.random.default_rng(seed)
    t = _random_like(args, rng)
    _check_first_order(f, args, t, modes, rng, (atol, rtol, eps))
    if order > 1:
        for derivative, offset in _derivative_functions(f, args, t, modes, rng):
            check_grads(derivative, args, order - 1, ("fwd", "rev"), atol, rtol, eps, seed + offset)


def _check_first_order(
    f: Callable[..., Any],
    args: tuple[Any, ...],
    t: Any,
    modes: Sequence[str],
    rng: np.random.Generator,
    tolerances: tuple[float, float, float],
) -> None:
    """Forward mode along ``t`` and reverse mode along a random cotangent against the central
    difference of ``f`` along ``t``; ``tolerances`` is ``(atol, rtol, eps)``."""
    from wg_autodiff.transforms import jvp, vjp

    atol, rtol, eps = tolerances
    fd = _axpy(
        -0.5 / eps,
        f(*_axpy(-eps, t, args)),
        _axpy(0.5 / eps, f(*_axpy(eps, t, args)), _zeros_tree(f(*args))),
    )
    if "fwd" in modes:
        _assert_close("forward mode (jvp)", jvp(f, args, t)[1], fd, atol, rtol)
    if "rev" in modes:
        out, pullback = vjp(f, *args)
        ct = _random_like(out, rng)
        # reverse rules are transposes (JAX's convention): Re <J^T ct, t> = Re <ct, J t>
        lhs = float(np.real(_flat(pullback(ct)) @ _flat(t)))
        rhs = float(np.real(_flat(ct) @ _flat(fd)))
        _assert_close("reverse mode (vjp)", lhs, rhs, atol, rtol)


def _derivative_functions(
    f: Callable[..., Any], args: tuple[Any, ...], t: Any, modes: Sequence[str], rng: Any
) -> list[tuple[Callable[..., Any], int]]:
    """The first derivatives of ``f`` whose own derivatives an order-2 check compares: the
    directional derivative along ``t`` (forward) and the pullback of a random cotangent
    (reverse), each with the seed offset of its check."""
    from wg_autodiff.transforms import jvp, vjp

    found: list[tuple[Callable[..., Any], int]] = []
    if "fwd" in modes:
        found.append((lambda *xs: jvp(f, xs, t)[1], 1))
    if "rev" in modes:
        out, _ = vjp(f, *args)
        ct = _random_like(out, rng)
        found.append((lambda *xs: vjp(f, *xs)[1](ct), 2))
    return found


def _zeros_tree(tree: Any) -> Any:
    leaves, tdef = tree_flatten(tree)
    return tree_unflatten(
        tdef, [np.zeros_like(np.asarray(v, dtype=np.result_type(v, float))) for v in leaves]
    )
