"""Arrays built from traced values, and traced writes into arrays the function creates.

NumPy has no hook for ``np.array([x, y * 2])`` or ``y = np.zeros(n); y[i] = x[i] ** 2``: it
converts each traced element with ``__float__`` / ``__array__``. So while a transform calls the
user's function (:func:`tracing`), a few of NumPy's module attributes (:data:`WRAPPED`) are
replaced by wrappers:

* ``np.array`` / ``asarray`` / ``asanyarray`` / ``ascontiguousarray`` of a (nested) list holding
  tracers build a traced array with ``np.stack``; the array builder behind ``np.r_`` / ``np.c_``
  is wrapped the same way, and so are functions that take an array-like first (``np.mean([a,
  b])``);
* ``np.zeros`` / ``ones`` / ``empty`` / ``full`` / ``eye`` / ``identity``, the ``*_like``
  functions, ``np.copy``, and ``np.array`` / ``asarray`` of plain data, called from the user's
  code with a floating result, return a :class:`~wg_autodiff.buffer.Buffer`, which becomes
  traced when a tracer is written into it.

The wrappers look at a thread-local depth of traced calls and call NumPy's own function
untouched when it is 0, so other threads and plain code see NumPy's results. NumPy's functions
are put back when the last traced call of all threads ends (also on an exception). Code that
bound a constructor before the call (``from numpy import zeros``) bypasses the wrappers and gets
the :class:`~wg_autodiff.errors.TracerConversionError` that says how to rewrite the line.
"""

from __future__ import annotations

import functools
import sys
import threading
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.lib._index_tricks_impl as index_tricks

from wg_autodiff.buffer import Buffer, check_root, raw_memory, settle
from wg_autodiff.core import Tracer, _conversion_error, alias, unsupported
from wg_autodiff.pytree import tree_flatten, tree_unflatten

_state = threading.local()
_lock = threading.Lock()
_open = 0  # traced calls in progress, over all threads; guarded by _lock


def depth() -> int:
    """How many traced calls the current thread is inside."""
    return getattr(_state, "depth", 0)


class tracing:  # noqa: N801  (used as a context manager, like contextlib's)
    """``with tracing(trace):`` around a call of the user's function that ``trace`` follows.

    When it ends, arrays made inside the call (:class:`~wg_autodiff.buffer.Buffer`) that hold a
    tracer of ``trace`` hold its value instead: the trace is over, an enclosing one (or none)
    follows them now. Settle the call's outputs (:func:`settle_tree`) before it ends.

    Examples
    --------
    >>> with tracing():
    ...     depth()
    1
    >>> depth()
    0
    """

    __slots__ = ("trace",)

    def __init__(self, trace: Any = None) -> None:
        self.trace = trace

    def __enter__(self) -> None:
        global _open
        d = getattr(_state, "depth", 0)
        _state.depth = d + 1
        if d == 0:
            _state.written = []
            with _lock:
                if _open == 0:
                    _swap(install=True)
                _open += 1
        _state.written.append(None)

    def __exit__(self, *exc: object) -> None:
        global _open
        written = _state.written.pop()
        d = _state.depth - 1
        _state.depth = d
        try:
            if written is not None and self.trace is not None:
                for buf in written.values():
                    _lower(buf, self.trace.level)
        finally:
            if d == 0:
                with _lock:
                    _open -= 1
                    if _open == 0:
                        _swap(install=False)


def _register(buf: Buffer) -> None:
    """Remember that the current traced call wrote a traced value into ``buf``."""
    written = getattr(_state, "written", None)
    if written:
        if written[-1] is None:
            written[-1] = {}
        written[-1][id(buf)] = buf


def _lower(buf: Buffer, level: int) -> None:
    held = value = buf._traced
    while type(value) is Tracer and value._trace.level >= level:
        value = value._value
    if type(value) is Tracer:
        if value is not held:
            buf._traced = alias(value)
        _register(buf)
    elif value is not None:
        buf._traced = None
        raw_memory(buf)[...] = value


def settle_tree(tree: Any) -> Any:
    """``tree`` with every buffer replaced by what it holds (:func:`settle_output`)."""
    leaves, tdef = tree_flatten(tree)
    if not any(type(x) is Buffer for x in leaves):
        return tree
    return tree_unflatten(tdef, [settle_output(x) for x in leaves])


def _swap(install: bool) -> None:
    # one dict update per module: entering the outermost traced call must cost next to nothing
    for namespace, wrappers, originals in _SWAPS:
        namespace.update(wrappers if install else originals)


# ------------------------------------------------------------------ finding traced values


def is_traced(x: Any) -> bool:
    """A tracer, or a buffer that holds one."""
    t = type(x)
    return t is Tracer or (t is Buffer and x._traced is not None)


def holds_traced(x: Any) -> bool:
    """``x`` is traced or a (nested) list or tuple with a traced element."""
    if type(x) in (list, tuple):
        return any(holds_traced(e) for e in x)
    return is_traced(x)


def _first_tracer(x: Any) -> Any:
    if type(x) in (list, tuple):
        for e in x:
            t = _first_tracer(e)
            if t is not None:
                return t
        return None
    return settle(x) if is_traced(x) else None


def build(x: Any) -> Any:
    """A traced array from a traced value or a nested list holding one (``np.stack``)."""
    if type(x) in (list, tuple):
        parts = [build(e) for e in x]
        if any(type(p) is Tracer for p in parts):
            return _STACK(parts)
        return _ASARRAY(parts)
    return settle(x)


def _cast(value: Any, dtype: Any, where: str) -> Any:
    if dtype is None:
        return value
    target = np.dtype(dtype)
    if target.kind not in "fc":
        raise _conversion_error(f"{where} with dtype {target}")
    if target == np.dtype(value.dtype):
        return value
    if target.kind == "f" and np.dtype(value.dtype).kind == "c":
        raise _conversion_error(
            f"{where} of a complex traced value into a real array (it drops the imaginary part;"
            " take np.real(v) or np.abs(v) first)"
        )
    return value.astype(target)


# ------------------------------------------------------------------ the wrappers


def _array_builder(original: Callable[..., Any], name: str, copies: bool) -> Callable[..., Any]:
    def wrapper(obj: Any, *args: Any, **kwargs: Any) -> Any:
        if getattr(_state, "depth", 0):
            if type(obj) is Buffer and obj._traced is None and not copies and not args:
                if not kwargs or kwargs.get("dtype") in (None, obj.dtype):
                    return obj  # NumPy returns an array itself, so writes stay shared
            elif holds_traced(obj):
                return _build_array(obj, name, copies, *args, **kwargs)
            out = original(obj, *args, **kwargs)
            # a new floating array of the user's (A = np.array([[1.0, 0.0], ...])) may receive
            # traced values later; one that shares memory with obj must stay NumPy's own
            fresh = type(obj) in (list, tuple) or (copies and kwargs.get("copy", True))
            if fresh and type(out) is np.ndarray and out.dtype.kind in "fc" and _user_call():
                return out.view(Buffer)
            return out
        return original(obj, *args, **kwargs)

    wrapper.__wrapped__ = original  # type: ignore[attr-defined]
    return wrapper


def _build_array(
    obj: Any, name: str, copies: bool, dtype: Any = None, *args: Any, **kwargs: Any
) -> Any:
    value = build(obj)
    fresh = value is not obj and value is not getattr(obj, "_traced", None)
    value = _cast(value, dtype, f"np.{name}")
    ndmin = kwargs.get("ndmin", 0)
    if value.ndim < ndmin:
        value = np.reshape(value, (1,) * (ndmin - value.ndim) + value.shape)
    elif copies and not fresh and kwargs.get("copy", True):
        value = alias(value)  # a copy: a later write into it must not reach the original
    return value


def _arraylike_first(original: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(a: Any, *args: Any, **kwargs: Any) -> Any:
        if type(a) in (list, tuple) and getattr(_state, "depth", 0) > 0 and holds_traced(a):
            a = build(a)
        return original(a, *args, **kwargs)

    wrapper.__wrapped__ = original  # type: ignore[attr-defined]
    return wrapper


# callers whose allocations stay plain arrays: NumPy's and this library's own code
_LIBRARIES = ("numpy.", "wg_autodiff.", "scipy.")


def _user_call() -> bool:
    """Whether the function that called the wrapper is the user's (not NumPy's or ours)."""
    return not sys._getframe(2).f_globals.get("__name__", "").startswith(_LIBRARIES)


def _allocator(original: Callable[..., Any], fill: int) -> Callable[..., Any]:
    def wrapper(shape: Any, *args: Any, **kwargs: Any) -> Any:
        # a traced prototype (np.full_like(x, v)) goes to the tracer's own rule
        if not getattr(_state, "depth", 0) or is_traced(shape) or not _user_call():
            return original(shape, *args, **kwargs)
        if fill and args and holds_traced(args[0]):  # np.full(shape, traced_value)
            fill_value, rest = args[0], args[1:]
            out = original(shape, 0.0, *rest, **kwargs).view(Buffer)
            out[...] = fill_value
            return out
        out = original(shape, *args, **kwargs)
        if type(out) is np.ndarray and out.dtype.kind in "fc":
            return out.view(Buffer)
        return out

    wrapper.__wrapped__ = original  # type: ignore[attr-defined]
    return wrapper


_ASARRAY = np.asarray
_STACK = np.stack

WRAPPED: list[tuple[Any, str, Any, Any]] = []
"""(module, name, NumPy's function, wrapper) for every attribute :func:`tracing` replaces."""


def _wrap(module: Any, name: str, make: Callable[[Any], Any]) -> None:
    original = getattr(module, name)
    WRAPPED.append((module, name, original, make(original)))


for _name, _copies in (
    ("array", True),
    ("asarray", False),
    ("asanyarray", False),
    ("ascontiguousarray", False),
):
    _wrap(np, _name, functools.partial(_array_builder, name=_name, copies=_copies))
# np.r_ / np.c_ convert each item with the `array` their module imported
_wrap(index_tricks, "array", functools.partial(_array_builder, name="r_/np.c_", copies=True))
for _name in ("mean", "sum", "prod", "max", "min", "average", "std", "var", "cumsum", "diff"):
    _wrap(np, _name, _arraylike_first)
_wrap(np.linalg, "norm", _arraylike_first)


def _static_ndim(original: Callable[..., Any]) -> Callable[..., Any]:
    # shapes are static: np.c_ slices with np.ndim(item), a traced int under optimize=True
    def ndim(a: Any) -> int:
        return len(a.shape) if is_traced(a) else original(a)

    ndim.__wrapped__ = original  # type: ignore[attr-defined]
    return ndim


_wrap(np, "ndim", _static_ndim)
for _name, _fill in (
    *(("zeros", 0), ("ones", 0), ("empty", 0), ("full", 1), ("eye", 0), ("identity", 0)),
    *(("zeros_like", 0), ("ones_like", 0), ("empty_like", 0), ("full_like", 1), ("copy", 0)),
):
    _wrap(np, _name, functools.partial(_allocator, fill=_fill))

_SWAPS = [
    (
        vars(module),
        {n: w for m, n, _, w in WRAPPED if m is module},
        {n: o for m, n, o, _ in WRAPPED if m is module},
    )
    for module in {id(m): m for m, _, _, _ in WRAPPED}.values()
]


# ------------------------------------------------------------------ buffers


def promote(buf: Buffer, value: Any) -> None:
    """Make ``buf`` hold a tracer: a constant of ``value``'s trace with ``buf``'s values."""
    if buf._root is not None:
        raise _conversion_error(
            "a write of a traced value into a view of an array (y[i][j] = v, "
            "y.reshape(...)[i] = v)",
            " Write through the array itself: y[i, j] = v.",
        )
    plain = np.array(raw_memory(buf), copy=True)
    # a constant of the value's trace: where() picks every element of plain, so its derivative
    # with respect to the value is 0
    held = np.where(np.ones(plain.shape, dtype=bool), plain, np.sum(_first_tracer(value)))
    buf._traced = alias(held)
    _register(buf)
    raw_memory(buf)[...] = np.nan  # reads behind NumPy's back see NaN, never stale values


def write(buf: Buffer, idx: Any, value: Any) -> None:
    """``buf[idx] = value``: a plain write, or a traced one that makes ``buf`` traced."""
    if buf._traced is None:
        check_root(buf)
        if not holds_traced(value):
            np.ndarray.__setitem__(buf, idx, value)
            return
        value = _cast(build(value), buf.dtype, "a write")
        promote(buf, value)
    elif holds_traced(value):
        value = _cast(build(value), buf.dtype, "a write")
        _register(buf)
    buf._traced[idx] = value


def traced_attribute(traced: Tracer, name: str) -> Any:
    try:
        return getattr(traced, name)
    except AttributeError:
        raise _conversion_error(
            f"ndarray.{name} of an array holding traced values",
            " Use the np.* function instead, or build the array with np.zeros_like(x).",
        ) from None


def _plain(x: Any) -> Any:
    if type(x) is Buffer:
        check_root(x)
        return raw_memory(x)
    return x


def buffer_ufunc(ufunc: Any, method: str, inputs: Any, kwargs: dict[str, Any]) -> Any:
    out = kwargs.pop("out", None)
    outs = out if isinstance(out, tuple) else (out,) if out is not None else ()
    if not any(is_traced(x) for x in inputs) and not any(is_traced(o) for o in outs):
        if outs:
            kwargs["out"] = tuple(_plain(o) for o in outs)
        result = getattr(ufunc, method)(*(_plain(x) for x in inputs), **kwargs)
        if outs:
            return outs[0] if len(outs) == 1 else outs
        return _as_buffers(result)
    result = getattr(ufunc, method)(*(settle(x) for x in inputs), **kwargs)
    if not outs:
        return result
    results = result if isinstance(result, tuple) else (result,)
    for o, r in zip(outs, results, strict=True):
        if type(o) is not Buffer:
            raise unsupported(f"np.{ufunc.__name__}(..., out=...) into a plain array")
        write(o, Ellipsis, r)
    return outs[0] if len(outs) == 1 else outs


def _as_buffers(result: Any) -> Any:
    if type(result) is tuple:
        return tuple(_as_buffers(r) for r in result)
    if type(result) is np.ndarray and result.dtype.kind in "fc":
        return result.view(Buffer)
    return result


# NumPy's in-place writers: a traced value written into a buffer makes the buffer traced
_WRITERS = {np.copyto, np.put, np.place, np.putmask, np.fill_diagonal, np.put_along_axis}


def buffer_function(buf: Buffer, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
    if func in _WRITERS and args and type(args[0]) is Buffer and holds_traced(args[1:]):
        dst = args[0]
        if dst._traced is None:
            promote(dst, args[1:])
        _register(dst)
        return func(dst._traced, *(_settle_deep(a) for a in args[1:]), **kwargs)
    if holds_traced(args) or holds_traced(tuple(kwargs.values())):
        args = tuple(_settle_deep(a) for a in args)
        kwargs = {k: _settle_deep(v) for k, v in kwargs.items()}
        return func(*args, **kwargs)
    for a in args:
        if type(a) is Buffer:
            check_root(a)
    return np.ndarray.__array_function__(buf, func, types, args, kwargs)


def _settle_deep(x: Any) -> Any:
    if type(x) in (list, tuple):
        return type(x)(_settle_deep(e) for e in x)
    return settle(x)


def settle_output(x: Any) -> Any:
    """A transform's output leaf: the tracer a buffer holds, or its values as a plain array."""
    if type(x) is not Buffer:
        return x
    return settle(x) if x._traced is not None else np.asarray(raw_memory(x))
