"""The array namespace of plain (untraced) values: NumPy, CuPy, torch, array_api_strict, ...

Primitive implementations compute with the namespace of their inputs, so the same rules run on
NumPy arrays on the CPU and on CuPy or torch-CUDA arrays on a GPU.
"""

from __future__ import annotations

from typing import Any

import numpy as np

_cache: dict[type, Any] = {
    np.ndarray: np,
    float: np,
    int: np,
    bool: np,
    np.float64: np,
    np.float32: np,
    np.int64: np,
    np.bool_: np,
}


def namespace(x: Any) -> Any:
    """Namespace of one plain value (NumPy itself for NumPy arrays, scalars and lists)."""
    t = type(x)
    xp = _cache.get(t)
    if xp is not None:
        return xp
    if isinstance(x, np.generic | np.ndarray | list | tuple | complex):
        xp = np
    else:
        import array_api_compat

        xp = array_api_compat.array_namespace(x)
    _cache[t] = xp
    return xp


def namespace_of(*xs: Any) -> Any:
    """Namespace of the first argument that is not a Python scalar."""
    for x in xs:
        if not isinstance(x, float | int | bool):
            return namespace(x)
    return np


def is_numpy(xp: Any) -> bool:
    return xp is np


def asarray_like(xp: Any, value: Any, like: Any) -> Any:
    """``value`` (possibly a Python scalar) as an array of ``like``'s namespace and float dtype."""
    if isinstance(value, float | int | bool) and not is_numpy(xp):
        return xp.asarray(value, dtype=like.dtype)
    return value


def shape_of(x: Any) -> tuple[int, ...]:
    s = getattr(x, "shape", None)
    return () if s is None else tuple(s)


def is_float_dtype(x: Any) -> bool:
    """True for values that can be active: floating and complex arrays and scalars."""
    if isinstance(x, float | complex):
        return True
    if isinstance(x, bool | int):
        return False
    dtype = getattr(x, "dtype", None)
    if dtype is None:
        return False
    name = str(dtype)
    return "float" in name or "complex" in name


def device_namespace(*xs: Any) -> Any:
    """Namespace of the first argument that is neither a NumPy value nor a Python scalar."""
    for x in xs:
        if not isinstance(x, np.ndarray | np.generic | float | int | bool | list | tuple):
            return namespace(x)
    return np


def harmonize(*xs: Any) -> tuple[Any, ...]:
    """Move NumPy arrays (constants the user's code built with ``np.*``) to the namespace of the
    other arguments, so ``np.eye(3) * x`` works when ``x`` lives on a GPU."""
    xp = device_namespace(*xs)
    if xp is np:
        return xs
    return tuple(xp.asarray(x) if isinstance(x, np.ndarray | np.generic) else x for x in xs)


def mixing(op: Any) -> Any:
    """Wrap a binary operator so that NumPy constants meet device arrays (tried only on failure,
    so NumPy-only calls pay nothing but the wrapper)."""

    def impl(x: Any, y: Any) -> Any:
        try:
            return op(x, y)
        except TypeError:
            x, y = harmonize(x, y)
            return op(x, y)

    impl.__name__ = getattr(op, "__name__", "op")
    return impl
