"""The array face of :class:`~wg_autodiff.core.Tracer`: NumPy protocols, operators, methods."""

from __future__ import annotations

from typing import Any

from wg_autodiff import numpy_api as api
from wg_autodiff import numpy_linalg
from wg_autodiff import numpy_tables as tables
from wg_autodiff.buffer import Buffer
from wg_autodiff.core import Tracer, alias, is_complex, mark_complex, unsupported
from wg_autodiff.primitives import arith as ar
from wg_autodiff.primitives import array as ra
from wg_autodiff.primitives import complex as rc
from wg_autodiff.primitives import unary as ru


def _array_ufunc(self: Tracer, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
    if method == "__call__" and not kwargs:
        fn = tables.UFUNCS.get(ufunc)
        if fn is not None:
            return fn(*inputs)
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


_REDUCERS = {
    __import__("numpy").add: api.asum,
    __import__("numpy").maximum: api.amax,
    __import__("numpy").minimum: api.amin,
    __import__("numpy").multiply: api.prod,
}


def _array_function(self: Tracer, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
    fn = tables.FUNCTIONS.get(func)
    if fn is None:
        module = getattr(func, "__module__", "numpy") or "numpy"
        prefix = "np.linalg." if "linalg" in module else "np."
        raise unsupported(f"{prefix}{func.__name__}")
    return fn(*args, **kwargs)


def _binop(prim: Any) -> tuple[Any, Any]:
    bind = prim.bind

    # with a constant on the other side there is nothing to choose: straight to our own trace
    def fwd(self: Tracer, other: Any) -> Any:
        if type(other) is Tracer or type(other) is Buffer:
            return bind(self, other)
        return self._trace.process(prim, (self, other), {})

    def rev(self: Tracer, other: Any) -> Any:
        if type(other) is Tracer or type(other) is Buffer:
            return bind(other, self)
        return self._trace.process(prim, (other, self), {})

    return fwd, rev


def _method(fn: Any) -> Any:
    return lambda self, *args, **kwargs: fn(self, *args, **kwargs)


def _install() -> None:
    T = Tracer
    T.__array_ufunc__ = _array_ufunc
    T.__array_function__ = _array_function
    for name, prim in (
        ("add", ar.add_p),
        ("sub", ar.subtract_p),
        ("truediv", ar.divide_p),
        ("pow", ar.power_p),
        ("matmul", ra.matmul_p),
        ("floordiv", ar.floor_divide_p),
        ("mod", ar.remainder_p),
    ):
        fwd, rev = _binop(prim)
        setattr(T, f"__{name}__", fwd)
        setattr(T, f"__r{name}__", rev)
    for name, prim in (
        ("lt", ar.less_p),
        ("le", ar.less_equal_p),
        ("gt", ar.greater_p),
        ("ge", ar.greater_equal_p),
        ("eq", ar.equal_p),
        ("ne", ar.not_equal_p),
        ("and", ar.logical_and_p),
        ("or", ar.logical_or_p),
    ):
        setattr(T, f"__{name}__", _binop(prim)[0])
    T.__mul__ = _mul
    T.__rmul__ = _binop(ar.multiply_p)[1]
    T.__hash__ = object.__hash__
    T.__neg__ = lambda self: ar.negative_p.bind(self)
    T.__pos__ = lambda self: self
    T.__abs__ = lambda self: tables.UFUNCS[__import__("numpy").absolute](self)
    T.__getitem__ = api.getitem
    T.__setitem__ = _setitem
    for name, fn in (
        ("sum", api.asum),
        ("mean", api.mean),
        ("var", api.var),
        ("std", api.std),
        ("max", api.amax),
        ("min", api.amin),
        ("prod", api.prod),
        ("reshape", api.reshape),
        ("transpose", api.transpose),
        ("swapaxes", api.swapaxes),
        ("ravel", api.ravel),
        ("flatten", api.ravel),
        ("squeeze", api.squeeze),
        ("dot", numpy_linalg.dot),
        ("cumsum", api.cumsum),
        ("clip", api.clip),
        ("take", api.take),
        ("diagonal", api.diagonal),
        ("trace", api.trace),
    ):
        setattr(T, name, _method(fn))
    for name in ("cumprod", "repeat", "round", "compress", "searchsorted", "argpartition"):
        setattr(T, name, _table_method(name))
    T.sort = _sort_in_place
    T.__divmod__ = lambda self, other: tables.UFUNCS[__import__("numpy").divmod](self, other)
    T.T = property(lambda self: api.transpose(self))
    T.mT = property(lambda self: ra.matrix_transpose(self))
    T.copy = lambda self, *a, **k: alias(self)
    T.astype = _astype
    T.conj = T.conjugate = lambda self: rc.conj(self)
    T.real = property(lambda self: rc.real(self))
    T.imag = property(lambda self: rc.imag(self))
    for name in ("argmax", "argmin", "argsort", "all", "any", "nonzero"):
        setattr(T, name, _bottom_method(name))


def _mul(self: Tracer, other: Any) -> Any:
    # x * x has the cheaper rule of square (one product in the pullback instead of two and a sum)
    if other is self:
        return ru.square_p.bind(self)
    if type(other) is Tracer or type(other) is Buffer:
        return ar.multiply_p.bind(self, other)
    return self._trace.process(ar.multiply_p, (self, other), {})


def _table_method(name: str) -> Any:
    """``x.name(...)`` as ``np.name(x, ...)``; ``compress`` takes the condition first."""
    import numpy as np

    fn = tables.FUNCTIONS[getattr(np, name)]
    if name == "compress":
        return lambda self, condition, *args, **kwargs: fn(condition, self, *args, **kwargs)
    return _method(fn)


def _sort_in_place(self: Tracer, axis: int = -1, kind: Any = None, order: Any = None) -> None:
    """``x.sort()`` rebinds ``x`` to its sorted values, as ``x[i] = v`` does."""
    import numpy as np

    from wg_autodiff.numpy_extra import _rebind

    _rebind(self, tables.FUNCTIONS[np.sort](self, axis, kind, order), "ndarray.sort")


def _bottom_method(name: str) -> Any:
    import numpy as np

    return _method(tables.FUNCTIONS[getattr(np, name)])


def _astype(self: Tracer, dtype: Any, *args: Any, **kwargs: Any) -> Any:
    import numpy as np

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

    Other names bound to the same array, and views of it, are not updated, as they would be in
    NumPy; the derivative is correct for the value ``x`` holds afterwards.
    """
    import numpy as np

    mask = np.zeros(self.shape, dtype=bool)
    mask[idx] = True
    placed = ar.broadcast_to_p.bind(value, shape=mask[idx].shape)
    spread = ra.scatter_add_p.bind(placed, idx=idx, shape=self.shape)
    new = ar.where_p.bind(mask, spread, self)
    self._trace = new._trace if type(new) is Tracer else self._trace
    for slot in ("_value", "_node", "_tangent", "_var"):
        if hasattr(new, slot):
            setattr(self, slot, getattr(new, slot))


_install()
