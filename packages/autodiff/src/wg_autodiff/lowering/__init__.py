"""The numba backend of the optimising mode (``backend="numba"``).

:func:`lower` rewrites a simplified program. Reshapes that keep the shape are dropped and a
sum over the rows of a matrix product becomes the product of the summed rows
(:mod:`.rewrite`). Then each maximal group of elementwise equations over one shape (and the
sums and maxima that consume it) becomes one equation whose implementation is a fused numba
loop with no temporaries; every other equation (matmul, indexing, reshapes, primitives without
a lowering) stays as it was, and :class:`wg_autodiff.replay.Compiled` replays
the result as usual. A group numba cannot compile runs on the NumPy replay, and the primitive
that failed is reported once at debug level on the ``wg_autodiff.lowering`` logger.
"""

from __future__ import annotations

import importlib.util
import itertools
import logging
import math
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
from wg_io.output import OutputError

from wg_autodiff.core import Primitive
from wg_autodiff.lowering.codegen import (
    POWER,
    REDUCTIONS,
    TEMPLATES,
    KernelSource,
    slot_key,
)
from wg_autodiff.lowering.fusion import Group, group_inputs, group_stores, partition
from wg_autodiff.lowering.kernel_cache import load_kernel
from wg_autodiff.lowering.rewrite import sum_before_matmul, without_identity_reshapes
from wg_autodiff.lowering.views import View, row, sliced
from wg_autodiff.staging import Const, Eqn, Program, Var

logger = logging.getLogger("wg_autodiff.lowering")

MIN_ELEMENTS = 1024
"""A group of two or more equations over at least this many elements becomes a kernel: one pass
over the data without temporaries beats a NumPy call per equation."""

MIN_MEMBERS = 3
"""A group of at least this many equations becomes a kernel whatever its size: on small arrays
a NumPy call costs a fixed overhead, about what one kernel call with a few array arguments
costs, so a kernel saves calls from three equations on (see :func:`worth_a_kernel`)."""

_FAILED: set[str] = set()
"""Names of the primitives whose kernels numba did not compile in this process (reported
once each)."""


def available() -> bool:
    """Whether numba is installed.

    Examples
    --------
    >>> available() in (True, False)
    True
    """
    return importlib.util.find_spec("numba") is not None


def lowered_primitives() -> list[str]:
    """Names of the primitives that lower into fused kernels.

    Examples
    --------
    >>> {"add", "exp", "power", "sum", "where"} <= set(lowered_primitives())
    True
    """
    return sorted({*TEMPLATES, POWER, *REDUCTIONS})


def lower(prog: Program) -> Program:
    """``prog`` with its fusable groups replaced by fused numba kernels.

    Examples
    --------
    >>> import numpy as np
    >>> from wg_autodiff.staging import make_trace
    >>> prog = make_trace(lambda x: x @ x)(np.ones((2, 2)))
    >>> [e.prim.name for e in lower(prog).eqns]
    ['matmul']
    """
    prog = sum_before_matmul(without_identity_reshapes(prog))
    eqns = _lower_eqns(prog)
    _report_replayed(prog, eqns)
    return Program(prog.inputs, eqns, prog.outputs, prog.out_def)


def fused_kernels(prog: Program) -> list[Any]:
    """The numba dispatchers of a lowered program's fused equations (for their ``stats``)."""
    return [e.prim.impl.kernel for e in prog.eqns if hasattr(e.prim.impl, "kernel")]


def worth_a_kernel(g: Group) -> bool:
    """Whether a fused kernel beats replaying ``g``'s equations one NumPy call each: it saves
    calls (:data:`MIN_MEMBERS` equations or more) or passes over the data (two or more over
    :data:`MIN_ELEMENTS` elements). A lone small equation stays on the replay.

    Examples
    --------
    >>> from wg_autodiff.staging import make_trace
    >>> def groups(f, x):
    ...     return [i for i in partition(make_trace(f)(x), set()) if type(i) is Group]
    >>> small = np.ones(10)
    >>> [worth_a_kernel(g) for g in groups(lambda x: np.tanh(np.sin(x) * 2.0), small)]
    [True]
    >>> [worth_a_kernel(g) for g in groups(lambda x: np.sin(x) * 2.0, small)]
    [False]
    >>> [worth_a_kernel(g) for g in groups(lambda x: np.sin(x) * 2.0, np.ones(MIN_ELEMENTS))]
    [True]
    """
    n = len(g.members)
    return n >= MIN_MEMBERS or (n >= 2 and math.prod(g.shape) >= MIN_ELEMENTS)


def _lower_eqns(prog: Program) -> list[Eqn]:
    items = partition(prog, _FAILED)
    if not any(type(item) is Group and worth_a_kernel(item) for item in items):
        return list(prog.eqns)  # nothing to fuse (a program of small arrays): skip the work
    consumers: dict[int, set[int]] = {}
    for e in prog.eqns:
        for i in e.ins:
            if type(i) is Var:
                consumers.setdefault(i.id, set()).add(e.out.id)
    outputs = {o.id for o in prog.outputs if type(o) is Var}
    new_id = itertools.count(1 + max((e.out.id for e in prog.eqns), default=0))

    def used_outside(vid: int, g: Group) -> bool:
        return vid in outputs or bool(consumers.get(vid, set()) - g.values - g.reduced)

    views = {e.out.id: v for e in prog.eqns if (v := sliced(e)) is not None}
    index = {id(e): n for n, e in enumerate(prog.eqns)}
    # (position, equations): what is not fused keeps its place in the program, so a replay's
    # values live no longer than they did (the replay hands values between chunks of lines)
    blocks: list[tuple[float, list[Eqn]]] = []
    for item in items:
        if type(item) is Eqn:
            blocks.append((index[id(item)], [item]))
        elif not worth_a_kernel(item):
            blocks.extend((index[id(e)], [e]) for e in item.members)
        else:
            fused = _fused_or_replayed(item, used_outside, new_id, views)
            blocks.append((item.closed_at, fused))
    blocks.sort(key=lambda block: block[0])
    return _without_unused_views([e for _, block in blocks for e in block], outputs)


def _without_unused_views(eqns: list[Eqn], outputs: set[int]) -> list[Eqn]:
    """``eqns`` without the rows and slices that only kernels read (they read them in place)."""
    used = set(outputs)
    projections = set(_PROJECTIONS.values())
    kept: list[Eqn] = []
    for e in reversed(eqns):  # backwards: a slice of a dropped slice is dropped as well
        if e.out.id in used or (e.prim not in projections and e.prim.name != "getitem"):
            kept.append(e)
            used.update(i.id for i in e.ins if type(i) is Var)
    return kept[::-1]


def _fused_or_replayed(
    item: Group,
    used_outside: Callable[[int, Group], bool],
    new_id: Iterator[int],
    views: dict[int, View],
) -> list[Eqn]:
    try:
        return _fused(item, used_outside, lambda: next(new_id), views)
    except OutputError as exc:
        if "cache" not in _REPORTED:
            _REPORTED.add("cache")
            logger.debug("%s; fused groups run on the NumPy replay", exc)
    except Exception as exc:  # an import error of a kernel module: replay it
        _report(", ".join(sorted({e.prim.name for e in item.members})), exc)
    return item.members


def _fused(
    g: Group,
    used_outside: Callable[[int, Group], bool],
    new_id: Callable[[], int],
    views: dict[int, View],
) -> list[Eqn]:
    inputs = group_inputs(g)
    stores = group_stores(g, used_outside)
    small = math.prod(g.shape) < MIN_ELEMENTS
    # rows of one array keep each other alive: only small groups pack their stores
    source = KernelSource(g.shape, g.members, inputs, stores, small, views)
    run = _wrapper(load_kernel(source.source()), source, _Fallback(g, inputs, source))
    ins = [a if type(a) is Var else Const(np.ascontiguousarray(a.value)) for a in source.args]
    prim = Primitive(f"fused[{','.join(e.prim.name for e in g.members)}]", run)
    rows = _opaque(new_id()) if source.rows else None
    results = [rows] if rows is not None else []
    results += source.returns
    eqns = _unpacked(Eqn(prim, ins, {}, results[0]), results, new_id)
    if rows is not None:
        eqns += [Eqn(_project(k), [rows], {}, v) for k, v in enumerate(source.rows)]
        views.update((v.id, row(rows, k, len(g.shape))) for k, v in enumerate(source.rows))
    return eqns


def _opaque(vid: int) -> Var:
    """A value that is not a NumPy array (a kernel's tuple of results, or its packed rows),
    which the replay hands to its projections."""
    v = Var(vid, 0.0)
    v.numpy = False
    return v


def _unpacked(call: Eqn, results: list[Var], new_id: Callable[[], int]) -> list[Eqn]:
    """``call`` writing ``results`` (one value, or a tuple projected into each of them)."""
    if len(results) == 1:
        return [call]
    packed = _opaque(new_id())
    eqns = [Eqn(call.prim, call.ins, {}, packed)]
    eqns += [Eqn(_project(k), [packed], {}, v) for k, v in enumerate(results)]
    return eqns


class _Fallback:
    """The group's equations on the NumPy replay, for a kernel that numba could not compile
    (numba compiles at the first call, for the layouts the arrays really have)."""

    def __init__(self, g: Group, inputs: list[Any], source: KernelSource) -> None:
        self.group = g
        self.inputs = inputs
        self.source = source
        self.broken = False

    def __call__(self, exc: BaseException | None, *args: Any) -> Any:
        from wg_autodiff.replay import lowered

        if not self.broken:
            self.broken = True
            if not _find_culprits(self.group):
                _report(", ".join(sorted({e.prim.name for e in self.group.members})), exc)
        given = {slot_key(a): x for a, x in zip(self.source.args, args, strict=True)}
        env = {}
        for i in self.inputs:
            view = self.source.views.get(i.id) if type(i) is Var else None
            if view is not None:
                env[slot_key(i)] = given[slot_key(view.base)][view.numpy_index(i.shape)]
            else:
                env[slot_key(i)] = given[slot_key(i)]
        for e in self.group.members:
            vals = [env.get(slot_key(i), getattr(i, "value", None)) for i in e.ins]
            env[slot_key(e.out)] = lowered(e)(*vals)
        rows = [np.stack([env[slot_key(v)] for v in self.source.rows])] if self.source.rows else []
        results = (*rows, *(env[slot_key(v)] for v in self.source.returns))
        return results[0] if len(results) == 1 else results


def _wrapper(kernel: Any, source: KernelSource, fallback: _Fallback) -> Any:
    """A Python function that allocates the arrays the kernel writes, hands the kernel its
    arrays and scalars, and returns NumPy scalars (not Python floats) for whole-array
    reductions, as the replay does."""
    names = [f"a{k}" for k in range(len(source.args))]
    args = [
        f"{n}[()]" if type(i) is Var and i.numpy and not i.shape else n
        for n, i in zip(names, source.args, strict=True)
    ]
    allocations = source.allocations()
    scalars = {v.id: k for k, v in enumerate(source.scalars())}
    items = ["o"] if source.rows else []
    for v in source.returns:
        if v.id in scalars:
            value = "r" if len(scalars) == 1 else f"r[{scalars[v.id]}]"
            items.append(source.result(v, value))
        else:
            array = "o" if v.id in source.local else "r"
            items.append(source.result(v, f"{array}{source.number[v.id]}"))
    result = items[0] if len(items) == 1 else f"({', '.join(items)},)"
    params = ", ".join(names)
    written = [name for name, _ in allocations]
    lines = [
        f"def run({params}):",
        "    if fallback.broken:",
        f"        return fallback(None, {params})",
        *(f"    {name} = {expr}" for name, expr in allocations),
        "    try:",
        f"        r = kernel({', '.join(args + written)})",
        "    except Exception as exc:",
        f"        return fallback(exc, {params})",
        f"    return {result}",
    ]
    namespace: dict[str, Any] = {"kernel": kernel, "fallback": fallback, "np": np}
    exec(compile("\n".join(lines), "<wg_autodiff fused kernel>", "exec"), namespace)
    run = namespace["run"]
    run.kernel = kernel
    return run


def _example(i: Any) -> Any:
    if type(i) is Const:
        return i.value
    dtype = np.dtype(i.dtype)
    return dtype.type(1) if not i.shape else np.ones(i.shape, dtype=dtype)


_PROJECTIONS: dict[int, Primitive] = {}


def _project(k: int) -> Primitive:
    import operator

    if k not in _PROJECTIONS:
        _PROJECTIONS[k] = Primitive(f"fused_output[{k}]", operator.itemgetter(k))
    return _PROJECTIONS[k]


def _find_culprits(g: Group) -> bool:
    """Compile each primitive of a failed group alone; those that fail join ``_FAILED``."""
    found = False
    first: dict[str, Eqn] = {}
    for e in g.members:
        first.setdefault(e.prim.name, e)
    for name, e in first.items():
        alone = Group(e.out.shape if name not in REDUCTIONS else e.ins[0].shape)
        alone.add(e)
        inputs = group_inputs(alone)
        stores = [] if name in REDUCTIONS else [e.out.id]
        source = KernelSource(alone.shape, alone.members, inputs, stores)
        try:
            written = [eval(expr, {"np": np}) for _, expr in source.allocations()]
            load_kernel(source.source())(*(_example(i) for i in inputs), *written)
        except Exception as exc:  # numba raises many unrelated types; all mean "replay it"
            _FAILED.add(name)
            _report(name, exc)
            found = True
    return found


_REPORTED: set[str] = set()


def _report(what: str, exc: BaseException | None) -> None:
    if what in _REPORTED:
        return
    _REPORTED.add(what)
    first_line = (str(exc).strip().splitlines() or [""])[0]
    logger.debug(
        "numba could not compile %s (%s: %s); these equations run on the NumPy replay",
        what,
        type(exc).__name__,
        first_line,
    )


def _report_replayed(prog: Program, eqns: list[Eqn]) -> None:
    fused = sum(1 for e in eqns if e.prim.name.startswith("fused["))
    plain = sorted({e.prim.name for e in eqns if not e.prim.name.startswith("fused")})
    logger.debug(
        "%d fused kernels; %d of %d equations run on the NumPy replay (%s)",
        fused,
        sum(1 for e in eqns if not e.prim.name.startswith("fused")),
        len(prog.eqns),
        ", ".join(plain),
    )
