"""The array face of :class:`~wg_autodiff.core.Tracer`: NumPy protocols, operators, methods.

:data:`OPERATORS` names the primitive of each operator and :data:`FACE` implements each method
and property of ``core.FACE_NAMES``; the tracer class (defined in ``core``, which the primitives
need) calls them."""

from __future__ import annotations

from typing import Any

import numpy as np

from wg_autodiff import numpy_api as api
from wg_autodiff import numpy_linalg, views
from wg_autodiff import numpy_tables as tables
from wg_autodiff.buffer import Buffer
from wg_autodiff.core import Primitive, Tracer, is_complex, mark_complex, unsupported
from wg_autodiff.primitives import arith as ar
from wg_autodiff.primitives import array as ra
from wg_autodiff.primitives import complex as rc
from wg_autodiff.primitives import unary as ru


def array_ufunc(ufunc: Any, method: str, inputs: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """``__array_ufunc__`` beyond a plain call of a ufunc with a rule (``out=``, ``reduce``,
    keywords), which the tracer class handles itself."""
    if kwargs.get("out") is not None:
        if any(type(o) is Buffer for o in kwargs["out"]):
            return NotImplemented  # the buffer's own __array_ufunc__ writes into it
        raise unsupported(f"np.{ufunc.__name__}(..., out=...) (an in-place write)")
    kwargs.pop("out", None)
    if method == "reduce" and ufunc in _REDUCERS:
        return _REDUCERS[ufunc](*inputs, **kwargs)
    if method != "__call__":
        raise unsupported(f"np.{ufunc.__name__}.{method}")
    fn = tables.UFUNCS.get(ufunc)
    if fn is None:
        raise unsupported(f"np.{ufunc.__name__}")
    if kwargs:
        kwargs.pop("dtype", None)
        if kwargs:
            raise unsupported(f"np.{ufunc.__name__} with keyword arguments {sorted(kwargs)}")
    return fn(*inputs)


_REDUCERS = {np.add: api.asum, np.maximum: api.amax, np.minimum: api.amin, np.multiply: api.prod}


def no_function(func: Any) -> Exception:
    """The error for a NumPy function without a rule."""
    module = getattr(func, "__module__", "numpy") or "numpy"
    prefix = "np.linalg." if "linalg" in module else "np."
    return unsupported(f"{prefix}{func.__name__}")


OPERATORS: dict[str, Primitive] = {
    "add": ar.add_p,
    "sub": ar.subtract_p,
    "mul": ar.multiply_p,
    "truediv": ar.divide_p,
    "pow": ar.power_p,
    "matmul": ra.matmul_p,
    "floordiv": ar.floor_divide_p,
    "mod": ar.remainder_p,
    "lt": ar.less_p,
    "le": ar.less_equal_p,
    "gt": ar.greater_p,
    "ge": ar.greater_equal_p,
    "eq": ar.equal_p,
    "ne": ar.not_equal_p,
    "and": ar.logical_and_p,
    "or": ar.logical_or_p,
    "neg": ar.negative_p,
    "square": ru.square_p,
}
"""The primitive of each operator of :class:`~wg_autodiff.core.Tracer` (``x + y``, ``-x``,
``x * x``)."""


def _methods() -> dict[str, Any]:
    """ndarray's methods that differentiate: ``x.name(...)`` is ``np.name(x, ...)``."""
    face: dict[str, Any] = {
        "sum": api.asum,
        "max": api.amax,
        "min": api.amin,
        "flatten": api.ravel,
        "dot": numpy_linalg.dot,
        "compress": lambda self, condition, *a, **k: _function("compress")(
            condition, self, *a, **k
        ),
    }
    for name in ("mean", "var", "std", "prod", "cumsum", "clip", "take", "trace"):
        face[name] = getattr(api, name)
    for name in ("reshape", "transpose", "swapaxes", "ravel", "squeeze", "diagonal"):
        face[name] = views.whole(getattr(api, name))
    for name in ("cumprod", "repeat", "round", "searchsorted", "argpartition"):
        face[name] = _function(name)
    for name in ("argmax", "argmin", "argsort", "all", "any", "nonzero"):
        face[name] = _function(name)
    return face


def _function(name: str) -> Any:
    return tables.FUNCTIONS[getattr(np, name)]


def _sort_in_place(self: Tracer, axis: int = -1, kind: Any = None, order: Any = None) -> None:
    """``x.sort()`` rebinds ``x`` to its sorted values, as ``x[i] = v`` does."""
    from wg_autodiff.numpy_extra import _rebind

    _rebind(self, tables.FUNCTIONS[np.sort](self, axis, kind, order), "ndarray.sort")


def _astype(self: Tracer, dtype: Any, *args: Any, **kwargs: Any) -> Any:
    target = np.dtype(dtype)
    if target.kind == "f" and is_complex(self):
        raise unsupported(
            f"astype({target}) of a complex traced value (it drops the imaginary part; "
            "take np.real(x) or np.abs(x) first)"
        )
    if target.kind in "fc":
        if target.kind == "c":
            mark_complex(self)
        return ar.convert_p.bind(self, dtype=target)
    return api.bottom(self).astype(dtype)


def _setitem(self: Tracer, idx: Any, value: Any) -> None:
    """``x[idx] = v`` on a traced array: rebinds ``x`` to a new traced value (functional update).

    Other names bound to the same object see the new value; a view taken before the write, or a
    write into a view, raises instead of giving the derivative of a different program
    (:mod:`wg_autodiff.views`).
    """
    mask = np.zeros(self.shape, dtype=bool)
    mask[idx] = True
    views.before_write(self, mask, "a write")
    placed = ar.broadcast_to_p.bind(value, shape=mask[idx].shape)
    spread = ra.scatter_add_p.bind(placed, idx=idx, shape=self.shape)
    new = ar.where_p.bind(mask, spread, self)
    self._trace = new._trace if type(new) is Tracer else self._trace
    for slot in ("_value", "_node", "_tangent", "_var"):
        if hasattr(new, slot):
            setattr(self, slot, getattr(new, slot))


FACE: dict[str, Any] = {
    **_methods(),
    "__divmod__": lambda self, other: tables.UFUNCS[np.divmod](self, other),
    "__abs__": lambda self: tables.UFUNCS[np.absolute](self),
    "__getitem__": lambda self, idx: views.indexed(self, idx, api.getitem(self, idx)),
    "__setitem__": _setitem,
    "sort": _sort_in_place,
    "astype": _astype,
    "conj": rc.conj,
    "conjugate": rc.conj,
    "T": views.whole(api.transpose),
    "mT": ra.matrix_transpose,
    "real": rc.real,
    "imag": rc.imag,
}
"""What :class:`~wg_autodiff.core.Tracer`'s array face (``core.FACE_NAMES``) calls: name ->
``fn(tracer, *args, **kwargs)``."""
