"""Kernel inputs read in place from another array: a row of an earlier kernel's packed result,
or a basic slice (integers and slices) of an array. The kernel takes the array once and
indexes it, so the replay makes no view (a call and a line each) for the kernel's sake."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from wg_autodiff.staging import Eqn, Var

Part = int | tuple[int, int, int]
"""Per axis of the base array: a fixed index, or ``(axis of the view, start, step)``."""


@dataclass(frozen=True)
class View:
    """``base`` indexed by ``parts``, one per axis of ``base``."""

    base: Var
    parts: tuple[Part, ...]

    def source(self, items: list[str]) -> str:
        """The index into the base, given the index source of each axis of the view.

        Examples
        --------
        >>> View(Var(1, np.zeros(8)), (2, (0, 3, 2))).source(["i0"])
        '2, 3 + 2 * i0'
        """
        out = []
        for p in self.parts:
            if isinstance(p, int):
                out.append(str(p))
                continue
            axis, start, step = p
            scaled = items[axis] if step == 1 else f"{step} * {items[axis]}"
            out.append(scaled if start == 0 else f"{start} + {scaled}")
        return ", ".join(out)

    def numpy_index(self, shape: tuple[int, ...]) -> tuple[Any, ...]:
        """The same index for NumPy, given the view's shape (the fallback uses it)."""
        index: list[Any] = []
        for p in self.parts:
            if isinstance(p, int):
                index.append(p)
                continue
            axis, start, step = p
            stop = start + step * shape[axis]
            index.append(slice(start, stop if stop >= 0 else None, step))
        return tuple(index)


def row(base: Var, k: int, rank: int) -> View:
    """Row ``k`` of a packed array whose rows have ``rank`` axes."""
    return View(base, (k, *((j, 0, 1) for j in range(rank))))


def sliced(e: Eqn) -> View | None:
    """The view a ``getitem`` of integers and slices makes of its float array, else None.

    Examples
    --------
    >>> from wg_autodiff.staging import make_trace
    >>> prog = make_trace(lambda x: x[1, 4:0:-2])(np.ones((3, 6)))
    >>> sliced(prog.eqns[0]).parts
    (1, (0, 4, -2))
    """
    base = e.ins[0]
    if e.prim.name != "getitem" or type(base) is not Var or not base.numpy or not base.shape:
        return None
    if np.dtype(base.dtype) not in (np.dtype(np.float64), np.dtype(np.float32)):
        return None
    idx = e.params.get("idx")
    items = idx if isinstance(idx, tuple) else (idx,)
    if len(items) > len(base.shape):
        return None
    parts: list[Part] = []
    shape: list[int] = []
    for n, size in enumerate(base.shape):
        item = items[n] if n < len(items) else slice(None)
        if isinstance(item, int | np.integer) and not isinstance(item, bool | np.bool_):
            if not -size <= int(item) < size:
                return None
            parts.append(int(item) % size)
        elif isinstance(item, slice):
            start, stop, step = item.indices(size)
            parts.append((len(shape), start, step))
            shape.append(len(range(start, stop, step)))
        else:
            return None
    return View(base, tuple(parts)) if tuple(shape) == e.out.shape else None


def _compose(outer: View, inner: View) -> View:
    """``outer`` (a view of ``inner``'s result) as a view of ``inner.base``."""
    parts: list[Part] = []
    for p in inner.parts:
        if isinstance(p, int):
            parts.append(p)
            continue
        axis, start, step = p
        q = outer.parts[axis]
        if isinstance(q, int):
            parts.append(start + step * q)
        else:
            parts.append((q[0], start + step * q[1], step * q[2]))
    return View(inner.base, tuple(parts))


def resolve(vid: int, views: dict[int, View]) -> View | None:
    """The view that value ``vid`` is of an array no view stands for, if it is one."""
    view = views.get(vid)
    while view is not None and view.base.id in views:
        view = _compose(view, views[view.base.id])
    return view
