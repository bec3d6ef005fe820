"""Source of one fused numba kernel: a loop nest over the group's shape, one scalar local per
elementwise equation, stores only for the values needed outside the group, accumulators for
the reductions that consume it.

Stored floating-point values are flushed to zero when subnormal, as XLA does on the CPU: a
subnormal in an operand makes BLAS and every later elementwise loop many times slower (GMM's
adjoint of ``L @ x`` has thousands of them where a component's weight underflows), and the
change is below the smallest normal number."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from wg_autodiff.lowering.views import View, resolve
from wg_autodiff.staging import Eqn, Var

UNARY_FUNCTIONS = ("exp", "log", "log1p", "expm1", "sqrt", "sin", "cos", "tan", "tanh", "arctan")

TEMPLATES: dict[str, str] = {
    "add": "({0} + {1})",
    "subtract": "({0} - {1})",
    "multiply": "({0} * {1})",
    "divide": "({0} / {1})",
    "negative": "(-{0})",
    "square": "({0} * {0})",
    "abs": "abs({0})",
    "sigmoid": "(1.0 / (1.0 + math.exp(-{0})))",
    # NaN-propagating, as np.maximum / np.minimum
    "maximum": "({0} if ({0} >= {1} or {0} != {0}) else {1})",
    "minimum": "({0} if ({0} <= {1} or {0} != {0}) else {1})",
    "where": "({1} if {0} else {2})",
    "greater": "({0} > {1})",
    "greater_equal": "({0} >= {1})",
    "less": "({0} < {1})",
    "less_equal": "({0} <= {1})",
    "equal": "({0} == {1})",
    "not_equal": "({0} != {1})",
    # the kernel indexes the operand as broadcast to the group's shape (see elementwise())
    "broadcast_to": "{0}",
    **{name: f"math.{name.replace('arctan', 'atan')}({{0}})" for name in UNARY_FUNCTIONS},
}
"""Elementwise primitives that lower, by primitive name (names are stable; the modules that
define the primitives may move), as expressions of their operands' source. The functions are
``math``'s: numba lowers ``math.sin`` and ``np.sin`` of a float64 or float32 to the same call
(equal results, NaN and infinities included), but types and lowers ``np.sin`` through its
ufunc machinery, which made a kernel of 200 such calls compile about 25% slower."""

POWER = "power"
"""Lowers only with a scalar constant exponent (see :func:`_power`)."""

COMPARISONS = frozenset({"greater", "greater_equal", "less", "less_equal", "equal", "not_equal"})
REDUCTIONS = {"sum": "sum", "max": "max"}
"""Reductions (by primitive name) that lower when they consume a value of a fused group."""

_DTYPES = {"float64": "np.float64", "float32": "np.float32", "bool": "np.bool_"}


def dtype_source(dtype: Any) -> str:
    """The kernel's spelling of ``dtype``.

    Examples
    --------
    >>> dtype_source(np.float32)
    'np.float32'
    """
    return _DTYPES[str(np.dtype(dtype))]


def literal(value: Any, dtype: Any) -> str:
    """A scalar constant as source, converted to ``dtype`` as NumPy's weak scalars are. A
    float64 needs no conversion (a Python float is one), and every call in a kernel's source
    costs numba compile time.

    Examples
    --------
    >>> literal(2, np.float32), literal(float("-inf"), np.float64), literal(True, np.bool_)
    ('np.float32(2.0)', '-np.inf', 'True')
    """
    if isinstance(value, bool | np.bool_):
        return repr(bool(value))
    v = float(value)
    if math.isnan(v):
        text = "np.nan"
    elif math.isinf(v):
        text = "np.inf" if v > 0 else "-np.inf"
    else:
        text = repr(v)
    return text if np.dtype(dtype) == np.float64 else f"{dtype_source(dtype)}({text})"


def flushed(name: str, dtype: Any) -> str:
    """Source of the value of local ``name``, with a subnormal float replaced by a zero of its
    sign (NaN and infinities pass unchanged): a product with the comparison, which is 1 or 0,
    not a conditional expression, whose branch made numba build and type a block per store
    (a tenth of the LSTM's compile) and kept the loop from vectorising.

    Examples
    --------
    >>> flushed("t1", np.float64)
    '(t1 * (abs(t1) >= 2.2250738585072014e-308))'
    >>> flushed("t2", np.bool_)
    't2'
    >>> x = np.array([5e-324, -5e-324, 1.0, -np.inf, np.nan])
    >>> eval(flushed("x", np.float64).replace("abs(x)", "np.abs(x)"))
    array([  0.,  -0.,   1., -inf,  nan])
    """
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        return name
    tiny = literal(np.finfo(dtype).tiny, dtype)
    return f"({name} * (abs({name}) >= {tiny}))"


def reduced_axes(e: Eqn) -> tuple[int, ...]:
    """The axes a ``sum`` / ``max`` equation reduces, non-negative and sorted."""
    axis = e.params.get("axis")
    ndim = len(e.ins[0].shape)
    if axis is None:
        return tuple(range(ndim))
    axes = axis if isinstance(axis, tuple | list) else (axis,)
    return tuple(sorted(int(a) % ndim for a in axes))


def slot_key(i: Any) -> Any:
    return ("v", i.id) if type(i) is Var else ("c", id(i))


class KernelSource:
    """Builds the kernel source of a group of equations over ``shape``.

    ``inputs`` are the group's external values (Vars and array constants), ``stores`` the ids
    of values written out. With ``pack``, two or more stored values of one dtype are written as
    the rows of one array (:attr:`rows`): each array costs a fixed allocation, a row of one
    array only a view. The caller allocates the arrays the kernel writes (:meth:`allocations`)
    and passes them after the inputs: a kernel that allocates compiles NumPy's allocation
    routines and its reference counting too, which doubled the compile of a small kernel. The
    results are the rows' array, if any, then the other stored arrays and the reductions
    (:attr:`returns`); the kernel itself returns only the whole-array reductions, which are
    scalars (:meth:`scalars`). ``views`` maps the ids of values
    that are views of another array (:mod:`.views`): an input that is one is read in place, and
    the kernel takes each such array once (:attr:`args`).
    """

    def __init__(
        self,
        shape: tuple[int, ...],
        members: list[Eqn],
        inputs: list[Any],
        stores: list[int],
        pack: bool = False,
        views: dict[int, View] | None = None,
    ) -> None:
        self.shape = shape
        self.members = members
        self.inputs = inputs
        self.stores = stores
        self.local = {e.out.id for e in members if e.prim.name not in REDUCTIONS}
        # locals are numbered by position, not by the program's ids: groups that differ only in
        # their ids (each step of an unrolled loop) have one source, so one compile and one file
        self.number = {e.out.id: k for k, e in enumerate(members)}
        self.outputs: list[Var] = [e.out for e in members if e.out.id in set(stores)]
        self.outputs += [e.out for e in members if e.prim.name in REDUCTIONS]
        stored = self.outputs[: len(stores)]
        one_dtype = len({np.dtype(v.dtype) for v in stored}) == 1
        self.rows: list[Var] = stored if pack and len(stored) >= 2 and one_dtype else []
        self.row = {v.id: k for k, v in enumerate(self.rows)}
        self.returns: list[Var] = [v for v in self.outputs if v.id not in self.row]
        self.views: dict[int, View] = {}
        for i in inputs:
            view = resolve(i.id, views or {}) if type(i) is Var else None
            if view is not None:
                self.views[i.id] = view
        self.args: list[Any] = []
        for i in inputs:
            arg = self.views[i.id].base if type(i) is Var and i.id in self.views else i
            if all(slot_key(arg) != slot_key(a) for a in self.args):
                self.args.append(arg)

    def index(self, shape: tuple[int, ...]) -> str:
        return ", ".join(self._items(shape))

    def _items(self, shape: tuple[int, ...]) -> list[str]:
        """The index of each axis of an operand of ``shape`` broadcast to the group's."""
        rank = len(self.shape)
        items = []
        for j, n in enumerate(shape):
            axis = rank - len(shape) + j
            items.append("0" if n == 1 and self.shape[axis] != 1 else f"i{axis}")
        return items

    def ref(self, i: Any, dtype: Any, slot: dict[Any, int]) -> str:
        if type(i) is Var and i.id in self.local:
            return f"t{self.number[i.id]}"
        if type(i) is Var and i.id in self.views:
            view = self.views[i.id]
            return f"x{slot[slot_key(view.base)]}[{view.source(self._items(i.shape))}]"
        if type(i) is Var or (isinstance(i.value, np.ndarray) and i.value.ndim):
            k = slot[slot_key(i)]
            shape = i.shape if type(i) is Var else i.value.shape
            return f"x{k}" if not shape else f"x{k}[{self.index(shape)}]"
        if isinstance(i.value, np.ndarray):
            return literal(i.value[()], dtype)
        return literal(i.value, dtype)

    def allocations(self) -> list[tuple[str, str]]:
        """(parameter, NumPy expression) of each array the kernel writes, in the order the
        kernel takes them after its inputs: the rows' array, then each stored value and each
        reduction over some axes (float64 accumulators, which :meth:`result` converts)."""
        out = []
        if self.rows:
            dt = dtype_source(self.rows[0].dtype)
            out.append(("o", f"np.empty({(len(self.rows), *self.shape)}, dtype={dt})"))
        for v in self.returns:
            k = self.number[v.id]
            if v.id in self.local:
                out.append((f"o{k}", f"np.empty({self.shape}, dtype={dtype_source(v.dtype)})"))
            elif v.shape:
                maximum = REDUCTIONS[self._reduction(v).prim.name] == "max"
                fill = f"np.full({v.shape}, -np.inf)" if maximum else f"np.zeros({v.shape})"
                out.append((f"r{k}", fill))
        return out

    def scalars(self) -> list[Var]:
        """The results the kernel returns (whole-array reductions), in order."""
        return [v for v in self.returns if v.id not in self.local and not v.shape]

    def result(self, v: Var, name: str) -> str:
        """Source of result ``v`` of the caller, from its array ``name`` (see
        :meth:`allocations`) or the kernel's scalar ``name``, in ``v``'s dtype."""
        dt = dtype_source(v.dtype)
        if v.id in self.local or (dt == "np.float64" and v.shape):
            return name
        return f"{dt}({name})" if not v.shape else f"{name}.astype({dt})"

    def source(self) -> str:
        slot = {slot_key(a): k for k, a in enumerate(self.args)}
        rank = len(self.shape)
        params = [f"x{k}" for k in range(len(self.args))]
        params += [name for name, _ in self.allocations()]
        lines = [f"def kernel({', '.join(params)}):"]
        body: list[str] = []
        for e in self.members:
            body.extend(self._statement(e, slot))
        for e in self.members:
            lines.extend(self._allocate(e))
        for axis in range(rank):
            lines.append(f"{'    ' * (axis + 1)}for i{axis} in range({self.shape[axis]}):")
        lines.extend(f"{'    ' * (rank + 1)}{line}" for line in body)
        results = [f"s{self.number[v.id]}" for v in self.scalars()]
        if results:
            joined = results[0] if len(results) == 1 else f"({', '.join(results)},)"
            lines.append(f"    return {joined}")
        return "\n".join(lines) + "\n"

    def _statement(self, e: Eqn, slot: dict[Any, int]) -> list[str]:
        name = e.prim.name
        if name in REDUCTIONS:
            value = self.ref(e.ins[0], e.ins[0].dtype, slot)
            acc = self._accumulator(e)
            if REDUCTIONS[name] == "sum":
                return [f"{acc} += {value}"]
            return [f"v = {value}", f"a = {acc}", f"{acc} = a if (a >= v or a != a) else v"]
        operand_dtype = e.out.dtype
        if name in COMPARISONS:
            operand_dtype = next((i.dtype for i in e.ins if type(i) is Var), np.float64)
        args = [self.ref(i, operand_dtype, slot) for i in e.ins]
        if name == POWER:
            expr = _power(args[0], e.ins[1].value, e.out.dtype)
        else:
            expr = TEMPLATES[name].format(*args)
        k = self.number[e.out.id]
        if _float64_only(e):
            lines = [f"t{k} = {expr}"]  # already a float64: a conversion would only slow compiles
        else:
            lines = [f"t{k} = {dtype_source(e.out.dtype)}({expr})"]
        if e.out.id in self.stores:
            value = flushed(f"t{k}", e.out.dtype)
            target = f"o[{self.row[e.out.id]}, " if e.out.id in self.row else f"o{k}["
            lines.append(f"{target}{self.index(self.shape)}] = {value}")
        return lines

    def _accumulator(self, e: Eqn) -> str:
        axes = reduced_axes(e)
        if len(axes) == len(self.shape) and not e.params.get("keepdims"):
            return f"s{self.number[e.out.id]}"
        keep = e.params.get("keepdims")
        items = [
            "0" if a in axes else f"i{a}" for a in range(len(self.shape)) if keep or a not in axes
        ]
        return f"r{self.number[e.out.id]}[{', '.join(items)}]"

    def _allocate(self, e: Eqn) -> list[str]:
        if e.prim.name in REDUCTIONS:
            acc = self._accumulator(e)
            if acc.startswith("s"):
                start = "0.0" if REDUCTIONS[e.prim.name] == "sum" else "-np.inf"
                # accumulate in float64 whatever the dtype: a float32 running sum drifts
                return [f"    {acc} = np.float64({start})"]
        return []

    def _reduction(self, v: Var) -> Eqn:
        return next(e for e in self.members if e.out.id == v.id)


def _float64_only(e: Eqn) -> bool:
    """Whether ``e`` makes a float64 from float64 arrays and scalar constants only (whose
    expression numba types as float64 without a conversion)."""
    if np.dtype(e.out.dtype) != np.float64:
        return False
    floats = e.ins[1:] if e.prim.name == "where" else e.ins
    arrays = [i for i in floats if type(i) is Var or isinstance(i.value, np.ndarray)]
    return all(np.dtype(i.dtype if type(i) is Var else i.value.dtype) == np.float64 for i in arrays)


def _power(base: str, exponent: Any, dtype: Any) -> str:
    y = float(exponent)
    if y == 1.0:
        return base
    if y == 2.0:
        return f"({base} * {base})"
    if y == 0.5:
        return f"math.sqrt({base})"
    return f"({base} ** {literal(y, dtype)})"
