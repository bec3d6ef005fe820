"""The array NumPy's constructors return inside a traced call (see :mod:`wg_autodiff.construct`).

A :class:`Buffer` is an ordinary ``ndarray`` until a traced value is written into it; from then on
it *holds* a tracer and every read, NumPy call, method and operator goes to that tracer. Its own
memory is then filled with NaN, so code that reads the memory behind NumPy's back sees NaN, never
a stale value passed off as the result.
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

# names read from the array itself even once it holds a tracer (they are the tracer's too)
_OWN = frozenset({"shape", "ndim", "size", "dtype", "itemsize", "nbytes", "base", "flags"})


def _through(convert: Any) -> Any:
    """``convert(buffer)`` as ``convert`` of the tracer it holds, else of its memory."""

    def method(self: Buffer) -> Any:
        traced = self._traced
        return convert(traced if traced is not None else raw_memory(self))

    return method


class Buffer(np.ndarray):
    """``np.zeros(n)`` (``ones``, ``empty``, ``full``) made while a transform traces."""

    _traced: Any = None
    """The tracer this array holds once a traced value was written into it."""
    _root: Any = None
    """For a view: the buffer it was taken from."""

    def __array_finalize__(self, obj: Any) -> None:
        if isinstance(obj, Buffer) and self.base is not None:
            self._root = obj if obj._root is None else obj._root

    def __getattribute__(self, name: str) -> Any:
        if name[0] != "_" and name not in _OWN:
            traced = np.ndarray.__getattribute__(self, "_traced")
            if traced is not None:
                from wg_autodiff.construct import traced_attribute

                return traced_attribute(traced, name)
        return np.ndarray.__getattribute__(self, name)

    def __setitem__(self, idx: Any, value: Any) -> None:
        from wg_autodiff.construct import write

        write(self, idx, value)

    def __getitem__(self, idx: Any) -> Any:
        traced = self._traced
        if traced is not None:
            return traced[idx]
        check_root(self)
        return np.ndarray.__getitem__(self, idx)

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        from wg_autodiff.construct import buffer_ufunc

        return buffer_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        from wg_autodiff.construct import buffer_function

        return buffer_function(self, func, types, args, kwargs)

    def __iter__(self) -> Any:
        traced = self._traced
        return iter(traced) if traced is not None else np.ndarray.__iter__(self)

    __float__ = _through(float)
    __int__ = _through(int)
    __index__ = _through(operator.index)
    __complex__ = _through(complex)
    __bool__ = _through(bool)
    __repr__ = __str__ = _through(repr)

    def __copy__(self) -> Any:
        traced = self._traced
        return np.copy(traced) if traced is not None else raw_memory(self).copy()

    def __deepcopy__(self, memo: Any) -> Any:
        return self.__copy__()


def check_root(x: Buffer) -> None:
    """Raise if ``x`` is a view of a buffer that now holds a tracer (its memory is stale)."""
    root = x._root
    if root is not None and root._traced is not None:
        from wg_autodiff.views import stale_view_error

        raise stale_view_error()


def settle(x: Any) -> Any:
    """What a primitive sees for ``x``: the tracer a buffer holds, or a copy of its values (the
    tape keeps its arguments, and a buffer may still be written after this)."""
    if type(x) is not Buffer:
        return x
    traced = x._traced
    if traced is not None:
        return traced
    check_root(x)
    return np.array(raw_memory(x), copy=True)


def settle_all(args: Any) -> list[Any]:
    return [settle(a) for a in args]


def raw_memory(x: Buffer) -> np.ndarray:
    """The buffer's memory as a plain array (``view`` itself is answered by the tracer once the
    buffer holds one)."""
    return np.ndarray.view(x, np.ndarray)
