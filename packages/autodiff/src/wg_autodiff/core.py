"""Primitives, tracers and the two differentiation traces (reverse and forward).

A transform opens a *trace* with a nesting level; values it follows are wrapped in a
:class:`Tracer` that belongs to that trace. Every operation goes through
:meth:`Primitive.bind`, which hands it to the trace of the highest level among its arguments;
lower-level tracers and plain arrays are constants to that trace. Values that never meet an
active input therefore stay plain arrays: they cost no tape memory and no adjoint work
(Enzyme's activity analysis, decided at run time).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import numpy as np

from wg_autodiff.buffer import Buffer, settle_all
from wg_autodiff.errors import TracerConversionError, UnsupportedOperationError, user_location
from wg_autodiff.errors import remember as remember_error

vjp_rules: dict[Primitive, Callable[..., Any]] = {}
"""primitive -> ``rule(argnum, g, ans, args, params)`` returning the cotangent of one argument."""
jvp_rules: dict[Primitive, Callable[..., Any]] = {}
"""primitive -> ``rule(primals, tangents, params)`` returning ``(out, tangent_out)``."""

vjp_per_arg: dict[Primitive, tuple[Callable[..., Any] | None, ...]] = {}
"""Fast path of per-argument rules: primitive -> one ``rule(g, ans, *args, **params)`` per arg."""

numpy_vjp: dict[Primitive, tuple[Callable[..., Any], ...]] = {}
"""First-order NumPy fast path of elementwise rules: primitive -> one ``rule(g, ans, *args)`` per
arg, the same formula as the generic rule written with NumPy's operators. Used only when the
cotangent and the argument are NumPy arrays of the same shape and no other trace is involved."""

_levels = itertools.count(1)

_REAL_SCALARS = (float, int, np.floating, np.integer, np.bool_)


class Primitive:
    """An operation with an implementation and (optionally) derivative rules.

    ``impl(*args, **params)`` computes on plain arrays with the namespace of its inputs.
    ``nondiff`` primitives (comparisons, rounding) have zero derivative everywhere: traces
    evaluate them on the underlying values and return plain arrays.
    """

    __slots__ = ("impl", "name", "nondiff")

    def __init__(self, name: str, impl: Callable[..., Any], nondiff: bool = False) -> None:
        self.name = name
        self.impl = impl
        self.nondiff = nondiff

    def __repr__(self) -> str:
        return self.name

    def bind(self, *args: Any, **params: Any) -> Any:
        top = None
        for a in args:
            if type(a) is Tracer:
                if top is None or a._trace.level > top.level:
                    top = a._trace
            elif type(a) is Buffer:  # an array made inside the traced call: what it holds
                return self.bind(*settle_all(args), **params)
        if top is None:
            return self.impl(*args, **params)
        return top.process(self, args, params)


REFLECTED = ("add", "sub", "mul", "truediv", "pow", "matmul", "floordiv", "mod")
"""Operators with a reflected form (``x + y`` and ``y + x``); ``tracer_api.OPERATORS`` names
the primitive of each, and of the comparisons, ``neg`` and ``square``."""
COMPARISONS = ("lt", "le", "gt", "ge", "eq", "ne", "and", "or")
FACE_METHODS = (
    *("__getitem__", "__setitem__", "__abs__", "__divmod__", "sum", "mean", "var", "std"),
    *("max", "min", "prod", "cumsum", "cumprod", "trace", "dot", "reshape", "transpose"),
    *("swapaxes", "ravel", "flatten", "squeeze", "diagonal", "take", "clip", "round"),
    *("repeat", "compress", "sort", "astype", "conj", "conjugate", "argmax", "argmin"),
    *("argsort", "argpartition", "searchsorted", "all", "any", "nonzero"),
)
FACE_PROPERTIES = ("T", "mT", "real", "imag")
FACE_NAMES = (*FACE_METHODS, *FACE_PROPERTIES)
"""The methods and properties of :class:`Tracer` that ``tracer_api.FACE`` implements."""


def _named(fn: Callable[..., Any], name: str) -> Callable[..., Any]:
    fn.__name__ = fn.__qualname__ = name
    return fn


# Operators and NumPy's protocols run on every traced operation: they are written here, with
# the primitive looked up by name (the primitives are defined in terms of this module).
def _forward(op: str) -> Callable[..., Any]:
    def forward(self: Tracer, other: Any) -> Any:
        prim = _OPERATORS[op]
        # with a constant on the other side there is nothing to choose: straight to our trace
        if type(other) is Tracer or type(other) is Buffer:
            return prim.bind(self, other)
        return self._trace.process(prim, (self, other), {})

    return _named(forward, f"__{op}__")


def _reflected(op: str) -> Callable[..., Any]:
    def reflected(self: Tracer, other: Any) -> Any:
        prim = _OPERATORS[op]
        if type(other) is Tracer or type(other) is Buffer:
            return prim.bind(other, self)
        return self._trace.process(prim, (other, self), {})

    return _named(reflected, f"__r{op}__")


def _multiply(self: Tracer, other: Any) -> Any:
    # x * x has the cheaper rule of square (one product in the pullback instead of two and a sum)
    if other is self:
        return _OPERATORS["square"].bind(self)
    prim = _OPERATORS["mul"]
    if type(other) is Tracer or type(other) is Buffer:
        return prim.bind(self, other)
    return self._trace.process(prim, (self, other), {})


def _negative(self: Tracer) -> Any:
    return _OPERATORS["neg"].bind(self)


def _array_ufunc(self: Tracer, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
    if method == "__call__" and not kwargs:
        fn = _tables.UFUNCS.get(ufunc)
        if fn is not None:
            return fn(*inputs)
    return _face.array_ufunc(ufunc, method, inputs, kwargs)


def _array_function(self: Tracer, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
    fn = _tables.FUNCTIONS.get(func)
    if fn is None:
        raise _face.no_function(func)
    return fn(*args, **kwargs)


# The rest goes through tracer_api.FACE: one call more, with a fixed number of arguments where
# the call shape is fixed.
def _method(name: str) -> Callable[..., Any]:
    return _named(lambda self, *args, **kwargs: _face.FACE[name](self, *args, **kwargs), name)


def _property(name: str) -> property:
    return property(_named(lambda self: _face.FACE[name](self), name))


ArrayFace = type(
    "ArrayFace",
    (),
    {
        "__slots__": (),
        "__doc__": "NumPy's operators, dispatch protocols and ndarray methods, for Tracer.",
        **{f"__{op}__": _forward(op) for op in (*REFLECTED, *COMPARISONS)},
        **{f"__r{op}__": _reflected(op) for op in REFLECTED},
        "__mul__": _named(_multiply, "__mul__"),
        "__neg__": _named(_negative, "__neg__"),
        "__array_ufunc__": _array_ufunc,
        "__array_function__": _array_function,
        **{name: _method(name) for name in FACE_METHODS},
        **{name: _property(name) for name in FACE_PROPERTIES},
    },
)
"""The mixin that gives :class:`Tracer` its array face, built with the class."""


class Tracer(ArrayFace):  # type: ignore[misc, valid-type]
    """A value followed by a trace. Behaves like an array for NumPy code."""

    # _views/_base: the views taken of this array and the array this one views (wg_autodiff.views)
    __slots__ = ("__weakref__", "_base", "_node", "_tangent", "_trace", "_value", "_var", "_views")
    __array_priority__ = 1000.0
    _node: Any
    _tangent: Any
    _var: Any

    def __init__(self, trace: Any, value: Any) -> None:
        self._trace = trace
        self._value = value

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(getattr(self._value, "shape", ()))

    @property
    def dtype(self) -> Any:
        v = self._value
        return v.dtype if hasattr(v, "dtype") else np.result_type(v)

    ndim = property(lambda self: len(self.shape))
    size = property(lambda self: int(np.prod(self.shape)))

    def __repr__(self) -> str:
        return f"Tracer<{type(self._trace).__name__} level {self._trace.level}>({self._value!r})"

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a 0-d traced array")
        return self.shape[0]

    def __iter__(self) -> Any:
        return (self[i] for i in range(len(self)))

    def __bool__(self) -> bool:
        return self._trace.to_bool(self)

    def __float__(self) -> float:
        raise _conversion_error(
            "float() (also a write into an array made before the traced call)", _BUILD_HINT
        )

    def __int__(self) -> int:
        raise _conversion_error("int()")

    def __index__(self) -> int:
        raise _conversion_error("use as an index")

    def __complex__(self) -> complex:
        raise _conversion_error("complex()")

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        raise _conversion_error(
            "conversion to a plain NumPy array (a write into an array made before the traced "
            "call, or np.array/np.zeros bound before it: `from numpy import array`)",
            _BUILD_HINT,
        )

    def item(self) -> float:
        raise _conversion_error(".item()")

    def tolist(self) -> list[Any]:
        raise _conversion_error(".tolist()")

    def copy(self, *args: Any, **kwargs: Any) -> Tracer:
        return alias(self)

    def __pos__(self) -> Tracer:
        return self

    __hash__ = object.__hash__


_new_tracer = object.__new__


def alias(t: Tracer) -> Tracer:
    """A new tracer object for the same traced value (``x.copy()``, ``np.copy(x)``): a later
    in-place write into one of them rebinds that one only."""
    new = _new_tracer(Tracer)
    for slot in ("_trace", "_value", "_node", "_tangent", "_var"):
        if hasattr(t, slot):
            setattr(new, slot, getattr(t, slot))
    return new


_BUILD_HINT = (
    " Build arrays from traced values with np.stack([...]) or np.array([...]) called as np.* "
    "inside the function, and allocate arrays that receive traced values inside it: np.zeros(n), "
    "or np.zeros_like(x) of a traced x (then y[i] = ... is a traced write)."
)


def _conversion_error(what: str, fix: str = "") -> TracerConversionError:
    return remember_error(
        TracerConversionError(
            f"{what} of a traced value at {user_location()}: the derivative cannot follow a value "
            "that leaves the array world. Keep it an array (use np.* functions on it), or wrap the "
            "value in wg_autodiff.stop_gradient(...) if it must not be differentiated." + fix
        )
    )


def unsupported(name: str) -> UnsupportedOperationError:
    return UnsupportedOperationError(
        f"{name} has no derivative rule in wg_autodiff (called at {user_location()}). "
        "Define one with @wg_autodiff.custom_vjp (or custom_jvp) around the code that calls it, "
        "or apply it to wg_autodiff.stop_gradient(x) if its derivative is not needed."
    )


class Node:
    """One recorded primitive application on the reverse tape."""

    __slots__ = ("ans", "ct", "fast", "params", "parents", "prim", "vals")

    def __init__(self, prim: Any, vals: Any, params: Any, ans: Any, parents: Any) -> None:
        self.prim = prim
        self.vals = vals
        self.params = params
        self.ans = ans
        self.parents = parents
        self.ct: Any = None
        self.fast: Any = None


class _ValueTrace:
    """What the two differentiation traces share: control flow reads the traced value."""

    def to_bool(self, t: Tracer) -> bool:
        return bool(t._value)

    def concrete(self, t: Tracer) -> Any:
        return t._value


class ReverseTrace(_ValueTrace):
    """Records a tape of primitive applications whose cotangents are pulled back later."""

    def __init__(self) -> None:
        self.level = next(_levels)
        self.tape: list[Node] = []
        # whether a complex value entered the trace (a complex input or constant, or a value
        # made complex: mark_complex): only then can a pullback reach a real value as complex
        self.complex = False

    def new_input(self, value: Any) -> Tracer:
        t = Tracer(self, value)
        if is_complex(value):
            self.complex = True
        node = Node(None, (), None, value, ())
        self.tape.append(node)
        t._node = node
        return t

    def process(self, prim: Primitive, args: Any, params: dict[str, Any]) -> Any:
        vals = []
        parents = []
        lower = False  # a value of another (lower) trace is involved: higher-order derivative
        for i, a in enumerate(args):
            if type(a) is Tracer and a._trace is self:
                v = a._value
                parents.append((i, a._node))
                if type(v) is Tracer:
                    lower = True
                vals.append(v)
            else:
                if type(a) is Tracer:
                    lower = True
                    if not self.complex and is_complex(a):
                        self.complex = True
                elif type(a) is np.ndarray:
                    if a.dtype.kind == "c":
                        self.complex = True
                elif not isinstance(a, _REAL_SCALARS) and is_complex(a):
                    self.complex = True
                vals.append(a)
        if lower:
            out = prim.bind(*vals, **params)
            fast = None
        else:  # first order: nothing below this trace, call the implementation directly
            out = prim.impl(*vals, **params) if params else prim.impl(*vals)
            fast = numpy_vjp.get(prim)
        if prim.nondiff:
            return out
        if prim not in vjp_rules:
            raise unsupported(f"primitive {prim.name} (reverse mode)")
        node = _new_tracer(Node)
        node.prim = prim
        node.vals = vals
        node.params = params
        node.ans = out
        node.parents = parents
        node.ct = None
        node.fast = fast
        self.tape.append(node)
        t = _new_tracer(Tracer)
        t._trace = self
        t._value = out
        t._node = node
        return t

    def backward(self, outs: list[Any], cts: list[Any], release: bool = False) -> None:
        """Pull ``cts`` back from ``outs`` (tracers of this trace) through the tape.

        ``release`` drops each node's values once its rule has run (single-use pullbacks), so
        large intermediates are freed during the backward pass instead of at its end.
        """
        from wg_autodiff.primitives.arith import add as add_cotangents

        complex_seen = self.complex or any(is_complex(g) for g in cts)
        for o, g in zip(outs, cts, strict=True):
            if type(o) is Tracer and o._trace is self and g is not None:
                node = o._node
                node.ct = g if node.ct is None else add_cotangents(node.ct, g)
        for node in reversed(self.tape):
            g = node.ct
            if g is None or node.prim is None:
                continue
            node.ct = None
            fast = node.fast if type(g) is np.ndarray else None
            per_arg = vjp_per_arg.get(node.prim)
            for argnum, parent in node.parents:
                v = node.vals[argnum] if fast is not None else None
                if type(v) is np.ndarray and v.shape == g.shape:
                    c = fast[argnum](g, node.ans, *node.vals)  # type: ignore[index]
                elif per_arg is not None:
                    c = per_arg[argnum](g, node.ans, *node.vals, **node.params)
                else:
                    c = vjp_rules[node.prim](argnum, g, node.ans, node.vals, node.params)
                if complex_seen:
                    c = _real_if_real(c, parent.ans)
                parent.ct = c if parent.ct is None else add_cotangents(parent.ct, c)
            if release:
                node.vals = node.ans = node.params = None


def is_complex(x: Any) -> bool:
    """True for complex arrays, tracers of them and Python / NumPy complex scalars."""
    dtype = getattr(x, "dtype", None)
    if dtype is None:
        return isinstance(x, complex)
    kind = getattr(dtype, "kind", None)
    return kind == "c" if kind is not None else "complex" in str(dtype)


def mark_complex(*args: Any) -> None:
    """Tell the reverse traces of ``args`` that a complex value is made from them (by fft,
    eigvals, astype(complex)): their pullbacks then take the real part for real values."""
    for a in args:
        while type(a) is Tracer:
            if isinstance(a._trace, ReverseTrace):
                a._trace.complex = True
            a = a._value


def _real_if_real(c: Any, primal: Any) -> Any:
    """The cotangent of a real value is real: where a real value met a complex one (``x * 1j``,
    ``np.fft.fft(x)``), the pullback's imaginary part is dropped, JAX's convention."""
    if primal is None or not is_complex(c) or is_complex(primal):
        return c
    from wg_autodiff.primitives.complex import real_p

    return real_p.bind(c)


class ForwardTrace(_ValueTrace):
    """Pushes tangents forward alongside primal values."""

    def __init__(self) -> None:
        self.level = next(_levels)

    def new_input(self, value: Any, tangent: Any) -> Tracer:
        t = Tracer(self, value)
        t._tangent = tangent
        return t

    def process(self, prim: Primitive, args: Any, params: dict[str, Any]) -> Any:
        primals = []
        tangents = []
        for a in args:
            if type(a) is Tracer and a._trace is self:
                primals.append(a._value)
                tangents.append(a._tangent)
            else:
                primals.append(a)
                tangents.append(None)
        if prim.nondiff:
            return prim.bind(*primals, **params)
        rule = jvp_rules.get(prim)
        if rule is None:
            rule = _jvp_from_vjp(prim)
        out, t_out = rule(primals, tangents, params)
        if t_out is None:
            return out
        t = Tracer(self, out)
        t._tangent = t_out
        return t


def _jvp_from_vjp(prim: Primitive) -> Callable[..., Any]:
    """Forward rule obtained by transposing the reverse rule (which is linear in ``g``)."""
    if prim not in vjp_rules:
        raise unsupported(f"primitive {prim.name} (forward mode)")
    rule = vjp_rules[prim]

    def jvp(primals: list[Any], tangents: list[Any], params: dict[str, Any]) -> Any:
        # primitives.arith defines these primitives with rules from this module: imported on use
        from wg_autodiff.primitives.arith import add_all

        out = prim.bind(*primals, **params)
        terms = (
            _transposed(rule, argnum, t, out, primals, params) for argnum, t in enumerate(tangents)
        )
        return out, add_all(terms)

    return jvp


def _transposed(
    rule: Callable[..., Any],
    argnum: int,
    t: Any,
    out: Any,
    primals: list[Any],
    params: dict[str, Any],
) -> Any:
    """The tangent of ``out`` from tangent ``t`` of argument ``argnum``: the reverse rule is
    linear in its cotangent, so ``<rule(g), t>`` pulled back to ``g`` is ``J t``."""
    from wg_autodiff.primitives.arith import multiply_p, ones_like_scalar, sum_all, zeros_like

    if t is None:
        return None
    trace = ReverseTrace()
    g = trace.new_input(zeros_like(out))
    y = sum_all(multiply_p.bind(rule(argnum, g, out, primals, params), t))
    if type(y) is Tracer and y._trace is trace:
        trace.backward([y], [ones_like_scalar(y._value)])
        return g._node.ct
    return None


# The face is written with the primitives and NumPy's tables, which are defined in terms of this
# module: imported last, once every name above exists (wg_autodiff/__init__ imports core first).
from wg_autodiff import numpy_tables as _tables  # noqa: E402
from wg_autodiff import tracer_api as _face  # noqa: E402
from wg_autodiff.tracer_api import OPERATORS as _OPERATORS  # noqa: E402
