"""NumPy's element-moving functions (roll, tile, pad, split, flip, column_stack, ...) as gathers.

A function that only moves, repeats or drops elements is its own action on the *positions* of
the elements: run NumPy's function on an array of element numbers (counted from 1), and the
result says which input element lands where; a 0 marks an element the function created (the
zeros of ``diagflat``, ``pad``). The traced result is then one gather (``getitem`` with that index
array), whose pullback is a scatter-add. Every keyword NumPy accepts keeps NumPy's meaning,
because NumPy itself computes the positions.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from wg_autodiff.core import Tracer, unsupported
from wg_autodiff.namespace import shape_of
from wg_autodiff.numpy_api import bottom, concatenate, getitem, ravel
from wg_autodiff.primitives import arith as ar


def _positions(a: Any) -> np.ndarray:
    n = int(np.prod(shape_of(a)))
    return np.arange(1, n + 1, dtype=np.intp).reshape(shape_of(a))


def _gather(a: Any, where: Any, fill: Any = 0.0) -> Any:
    """``ravel(a)[where - 1]`` and ``fill`` where ``where`` is 0; a list of such gathers when
    NumPy returned several arrays."""
    if isinstance(where, list | tuple):
        return type(where)(_gather(a, w, fill) for w in where)
    where = np.asarray(where)
    created = where == 0
    moved = getitem(ravel(a), np.maximum(where - 1, 0))
    return ar.where_p.bind(created, fill, moved) if created.any() else moved


def moving(fn: Any) -> Any:
    """The traced version of a NumPy function of one array that only moves its elements."""

    def apply(a: Any, *args: Any, **kwargs: Any) -> Any:
        _constant_options(fn, args, kwargs)
        return _gather(a, fn(_positions(a), *args, **kwargs))

    apply.__name__ = fn.__name__
    return apply


def _constant_options(fn: Any, args: Any, kwargs: dict[str, Any]) -> None:
    for v in (*args, *kwargs.values()):
        if type(v) is Tracer:
            raise unsupported(f"np.{fn.__name__} with a traced option (only its array is traced)")


def combining(fn: Any) -> Any:
    """The traced version of a NumPy function of a sequence of arrays that only moves their
    elements (column_stack, dstack, block): one gather from all inputs laid end to end."""

    def apply(arrays: Any, *args: Any, **kwargs: Any) -> Any:
        _constant_options(fn, args, kwargs)
        flat, where = _lay_out(arrays)
        return _gather(flat, fn(where, *args, **kwargs))

    apply.__name__ = fn.__name__
    return apply


def _lay_out(arrays: Any) -> tuple[Any, Any]:
    """All leaves of a (nested) list of arrays as one flat vector, and the same nesting of
    position arrays into it."""
    leaves: list[Any] = []

    def walk(x: Any) -> Any:
        if isinstance(x, list | tuple):
            return type(x)(walk(v) for v in x)
        start = sum(int(np.prod(shape_of(v))) for v in leaves)
        leaves.append(x)
        return _positions(x) + start

    where = walk(arrays)
    flat = concatenate([ravel(x) for x in leaves], axis=0) if len(leaves) > 1 else ravel(leaves[0])
    return flat, where


def _two(fn: Any) -> Any:
    """A NumPy function of two arrays that only moves their elements (append, insert)."""

    def apply(a: Any, values: Any, *args: Any, **kwargs: Any) -> Any:
        _constant_options(fn, args, kwargs)
        flat, (pa, pv) = _lay_out([a, values])
        return _gather(flat, fn(pa, pv, *args, **kwargs))

    apply.__name__ = fn.__name__
    return apply


def insert(arr: Any, obj: Any, values: Any, axis: Any = None) -> Any:
    flat, (pa, pv) = _lay_out([arr, values])
    return _gather(flat, np.insert(pa, bottom(obj), pv, axis=axis))


def pad(array: Any, pad_width: Any, mode: Any = "constant", **kwargs: Any) -> Any:
    """``np.pad``; modes that copy elements are gathers, ``constant`` fills with its value."""
    if callable(mode) or mode not in (
        "constant",
        "edge",
        "wrap",
        "reflect",
        "symmetric",
        "empty",
    ):
        raise unsupported(f"np.pad with mode={mode!r} (modes that compute new values)")
    pad_width = bottom(pad_width)
    if mode != "constant":
        _constant_options(np.pad, (), kwargs)
        return _gather(array, np.pad(_positions(array), pad_width, mode=mode, **kwargs))
    fill = kwargs.pop("constant_values", 0)
    if kwargs:
        raise unsupported(f"np.pad with {sorted(kwargs)}")
    where = np.pad(_positions(array), pad_width, mode="constant", constant_values=0)
    if type(fill) is not Tracer and np.ndim(fill) != 0:
        # per-axis (before, after) fill values: NumPy's own padding of zeros places them
        fill = np.pad(np.zeros(shape_of(array)), pad_width, mode="constant", constant_values=fill)
    return _gather(array, where, fill)


def split_like(fn: Any) -> Any:
    """np.split and friends: a list of gathers."""

    def apply(ary: Any, indices_or_sections: Any, *args: Any, **kwargs: Any) -> Any:
        where = fn(_positions(ary), bottom(indices_or_sections), *args, **kwargs)
        return [_gather(ary, w) for w in where]

    apply.__name__ = fn.__name__
    return apply


def hsplit_like(fn: Any) -> Any:
    def apply(ary: Any, indices_or_sections: Any) -> Any:
        return [_gather(ary, w) for w in fn(_positions(ary), bottom(indices_or_sections))]

    return apply


def unstack(x: Any, *args: Any, **kwargs: Any) -> Any:
    return tuple(_gather(x, w) for w in np.unstack(_positions(x), *args, **kwargs))


def broadcast_arrays(*args: Any, **kwargs: Any) -> Any:
    flat, where = _lay_out(list(args))
    return tuple(_gather(flat, w) for w in np.broadcast_arrays(*where, **kwargs))


def block(arrays: Any) -> Any:
    flat, where = _lay_out(arrays)
    return _gather(flat, np.block(where))


def compress(condition: Any, a: Any, axis: Any = None, out: Any = None) -> Any:
    return _gather(a, np.compress(bottom(condition), _positions(a), axis=axis, out=out))


def extract(condition: Any, arr: Any) -> Any:
    return _gather(arr, np.extract(bottom(condition), _positions(arr)))


def trim_zeros(filt: Any, trim: Any = "fb", axis: Any = None) -> Any:
    """Which elements are zero is a constant: the kept block is a slice of ``filt``."""
    if len(shape_of(filt)) != 1:
        raise unsupported("np.trim_zeros of a traced array with more than one axis")
    kept = np.trim_zeros(np.where(bottom(filt) != 0, _positions(filt), 0), trim)
    first = kept[0] if kept.size else 1
    return _gather(filt, np.arange(first, first + kept.size))


MOVING = (
    np.roll,
    np.tile,
    np.repeat,
    np.flip,
    np.fliplr,
    np.flipud,
    np.rot90,
    np.rollaxis,
    np.atleast_2d,
    np.atleast_3d,
    np.delete,
    np.resize,
    np.diagflat,
    np.take_along_axis,
)
"""Functions of one array (their first argument) that NumPy answers as gathers."""

GATHERS: dict[Any, Any] = {fn: moving(fn) for fn in MOVING}
GATHERS.update(
    {
        np.column_stack: combining(np.column_stack),
        np.dstack: combining(np.dstack),
        np.append: _two(np.append),
        np.insert: insert,
        np.pad: pad,
        np.split: split_like(np.split),
        np.array_split: split_like(np.array_split),
        np.hsplit: hsplit_like(np.hsplit),
        np.vsplit: hsplit_like(np.vsplit),
        np.dsplit: hsplit_like(np.dsplit),
        np.unstack: unstack,
        np.broadcast_arrays: broadcast_arrays,
        np.block: block,
        np.compress: compress,
        np.extract: extract,
        np.trim_zeros: trim_zeros,
    }
)
