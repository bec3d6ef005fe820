"""Views of traced arrays: where NumPy would share memory, a traced write never goes unseen.

A traced array is a value, not memory: ``y[i] = v`` rebinds ``y`` to a new value. In NumPy a
view (``y[i]`` of a 2-D ``y``, ``y[1:]``, ``y.T``, ``y.reshape(...)``) shares ``y``'s memory, so
two writes would be seen through it that a value cannot follow:

* a write *into* a view (``y[i][j] = v``, ``row = y[i]; row[j] = v``) would change ``y`` too;
* a view taken *before* a write into its array would show the written values afterwards.

Rather than give a derivative of the wrong program, both raise: the first at the write, the
second when the stale view is used (a view whose region the write does not touch stays usable).
Copies (``x.copy()``, fancy indexing, a result of arithmetic) are not views.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any

import numpy as np

from wg_autodiff.core import Tracer, _conversion_error

_BASIC = (slice, type(None), type(Ellipsis))
_WHOLE = ()
"""The index recorded for a view of the whole array (reshape, transpose, ...)."""


class _Records(threading.local):
    """Weak references to this thread's traced results of indexing and view functions (one
    list for all traces: a write may rebind an array to a value of another trace)."""

    def __init__(self) -> None:
        self.views: list[weakref.ref[Tracer]] = []


_RECORDS = _Records()


def indexed(base: Tracer, idx: Any, out: Any) -> Any:
    """``base[idx]`` gave ``out``: remember where it came from, in case ``base`` is written.

    The cost is paid on every read (a weak reference in this thread's list), so nothing here
    classifies: whether NumPy's result is a view is decided at a write, which is rare.
    """
    if type(out) is Tracer:
        out._base = (base, idx)
        records = _RECORDS.views
        records.append(weakref.ref(out))
        n = len(records)
        if n >= 1024 and not n & (n - 1):  # at each power of two: drop the dead ones
            records[:] = [r for r in records if r() is not None]
    return out


def whole(fn: Any) -> Any:
    """``fn(x, ...)`` whose NumPy result is a view of all of ``x`` (reshape, transpose, ...)."""

    def view_of(x: Any, *args: Any, **kwargs: Any) -> Any:
        out = fn(x, *args, **kwargs)
        if type(x) is Tracer and out is not x:
            indexed(x, _WHOLE, out)
        return out

    view_of.__name__ = view_of.__qualname__ = getattr(fn, "__name__", "view")
    view_of.__doc__ = fn.__doc__
    return view_of


def _is_view(base: Tracer, idx: Any) -> bool:
    """Whether ``base[idx]`` is a view in NumPy (basic indexing that leaves an axis)."""
    ints = 0
    for p in idx if type(idx) is tuple else (idx,):
        kind = type(p)
        if kind is int or (kind is not np.bool_ and isinstance(p, np.integer)):
            ints += 1
        elif kind not in _BASIC:
            return False  # an index array, a mask, a bool or a traced index: NumPy copies
    return idx is _WHOLE or ints < np.ndim(base._value)


def stale_view_error() -> Exception:
    """The error for a use of a view taken before a write into its array (traced or a buffer)."""
    return _conversion_error(
        "use of a view (y[i], y[1:], y.T, y.reshape(...)) taken before a traced value was "
        "written into the array it views",
        " Take the view after the write (NumPy's view would show the new values), or "
        "take a copy before the write if the old values are meant: r = y[i].copy().",
    )


class _Stale:
    """The trace of a view whose array was written after it was taken: any use raises."""

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # introspection (doctest, inspect, copy) asks for protocols
            raise AttributeError(name)
        raise stale_view_error()


_STALE = _Stale()


def before_write(dst: Tracer, region: np.ndarray | None, what: str) -> None:
    """Called before ``dst`` is rebound by a write into ``region`` (a mask; ``None``: all of it).

    Refuses a write into a view, and makes the live views of ``dst`` that overlap the region
    (and the views of those) raise when they are used.
    """
    source = getattr(dst, "_base", None)
    if source is not None and _is_view(*source):
        raise _conversion_error(
            f"{what} into a view of a traced array (y[i][j] = v, row = y[i]; row[j] = v, "
            "y.T[0] = v): NumPy would change the array it views too",
            " Write into the array itself (y[i, j] = v), or take a copy first if the array "
            "must keep its values (row = y[i].copy()).",
        )
    records = _RECORDS.views
    live = [v for v in (r() for r in records) if v is not None]
    records[:] = [weakref.ref(v) for v in live]
    written = {id(dst): region}
    changed = True
    while changed:
        changed = False
        for view in live:
            base, idx = view._base
            if id(base) in written and id(view) not in written and _is_view(base, idx):
                mask = written[id(base)]
                if mask is None or idx is _WHOLE or _overlaps(mask, idx):
                    view._trace = _STALE
                    written[id(view)] = None  # all of a stale view is stale
                    changed = True


def _overlaps(region: np.ndarray, idx: Any) -> bool:
    seen = np.zeros(region.shape, dtype=bool)
    seen[idx] = True
    return bool((seen & region).any())
