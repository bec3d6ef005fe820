"""The numba backend (issue 17): fused kernels equal the NumPy replay, are cached on disk,
and anything that does not lower (or does not compile) runs on the replay."""

from __future__ import annotations

import importlib.util
import logging
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import wg_autodiff as ad
from hypothesis import given, settings
from hypothesis import strategies as st
from wg_autodiff import adbench as adb
from wg_autodiff import adbench_io, lowering
from wg_autodiff.errors import InputError
from wg_autodiff.pytree import tree_flatten
from wg_io.corpus import corpus_dir

pytest.importorskip("numba")

RNG = np.random.default_rng(17)
X = RNG.uniform(0.1, 1.0, (3, 4))
Y = RNG.uniform(0.1, 1.0, (3, 4))
ROW = RNG.uniform(0.1, 1.0, (4,))
CORPUS = corpus_dir() / "adbench"
MIN_ELEMENTS = lowering.MIN_ELEMENTS
MIN_MEMBERS = lowering.MIN_MEMBERS


@pytest.fixture(scope="module", autouse=True)
def kernel_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Every kernel of this module is written under a temporary folder, never ~/.cache."""
    path = tmp_path_factory.mktemp("kernels")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WG_AUTODIFF_CACHE", str(path))
        yield path


@pytest.fixture(autouse=True)
def fuse_small_arrays(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tests' arrays are small; groups of two equations over them fuse (and pack their
    stores) unless a test says otherwise."""
    monkeypatch.setattr(lowering, "MIN_MEMBERS", 2)


def rho(a: Any, b: Any) -> float:
    """Normwise relative difference: a fused sum adds in another order than NumPy's pairwise
    one, so an entry that cancels to near zero may differ by more, relative to itself."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b), initial=0.0) / max(np.max(np.abs(b), initial=0.0), 1e-300))


def fused_names(f: Callable[..., Any]) -> list[str]:
    progs = [p for variants in f.cache.values() for p in variants]  # type: ignore[attr-defined]
    return [e.prim.name for p in progs for e in p.prog.eqns if e.prim.name.startswith("fused[")]


# each case: (primitive that must be inside a fused kernel, function of (x, y, row))
CASES: dict[str, tuple[str, Callable[..., Any]]] = {
    "add": ("add", lambda x, y, r: (x + y) * 2.0),
    "subtract": ("subtract", lambda x, y, r: (x - y) * 3.0),
    "multiply": ("multiply", lambda x, y, r: x * y + 1.0),
    "divide": ("divide", lambda x, y, r: x / y - 1.0),
    "negative": ("negative", lambda x, y, r: -(x * y)),
    "exp": ("exp", lambda x, y, r: np.exp(x) * y),
    "log": ("log", lambda x, y, r: np.log(x) * y),
    "log1p": ("log1p", lambda x, y, r: np.log1p(x) * y),
    "expm1": ("expm1", lambda x, y, r: np.expm1(x) * y),
    "sqrt": ("sqrt", lambda x, y, r: np.sqrt(x) * y),
    "sin": ("sin", lambda x, y, r: np.sin(x) * y),
    "cos": ("cos", lambda x, y, r: np.cos(x) * y),
    "tan": ("tan", lambda x, y, r: np.tan(x) * y),
    "tanh": ("tanh", lambda x, y, r: np.tanh(x) * y),
    "arctan": ("arctan", lambda x, y, r: np.arctan(x) * y),
    "square": ("square", lambda x, y, r: np.square(x) + y),
    "abs": ("abs", lambda x, y, r: np.abs(x - 0.5) * y),
    "sigmoid": ("sigmoid", lambda x, y, r: 1.0 / (1.0 + np.exp(-x)) * y),
    "power": ("power", lambda x, y, r: x**3.0 * y),
    "power-half": ("power", lambda x, y, r: x**0.5 * y),
    "maximum": ("maximum", lambda x, y, r: np.maximum(x, y) * 2.0),
    "minimum": ("minimum", lambda x, y, r: np.minimum(x, r) * 2.0),
    "where-greater": ("greater", lambda x, y, r: np.where(x > y, x, y) * 2.0),
    "where-less_equal": ("less_equal", lambda x, y, r: np.where(x <= 0.5, x, 0.0) * y),
    "broadcast-row": ("multiply", lambda x, y, r: np.exp(x * r) - y),
    "broadcast_to": ("broadcast_to", lambda x, y, r: np.broadcast_to(np.sum(x), (3, 4)) * y),
    "sum-axis": ("sum", lambda x, y, r: np.sum(np.exp(x) * y, axis=0)),
    "sum-keepdims": ("sum", lambda x, y, r: np.sum(x * y, axis=1, keepdims=True)),
    "sum-all": ("sum", lambda x, y, r: np.sum(np.tanh(x) * y)),
    "max-axis": ("max", lambda x, y, r: np.max(x * y, axis=1)),
    "max-all": ("max", lambda x, y, r: np.max(x - y)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_primitive_lowers_and_equals_the_replay(name: str) -> None:
    prim, f = CASES[name]
    fast = ad.compile(f, backend="numba")
    got = fast(X, Y, ROW)
    want = ad.compile(f)(X, Y, ROW)
    assert rho(got, want) <= 1e-12
    assert type(got) is type(want)
    assert any(prim in n[len("fused[") : -1].split(",") for n in fused_names(fast))


@pytest.mark.parametrize(
    "f",
    [
        lambda x, y: np.max(np.maximum(x, y) * 2.0, axis=1),
        lambda x, y: np.sum(np.minimum(x, y) - 1.0, axis=0),
        lambda x, y: np.where(x > y, x, y) * np.exp(y),
        lambda x, y: np.max(x * y),
    ],
    ids=["maximum-max", "minimum-sum", "where-greater", "max-all"],
)
def test_nan_and_infinity_propagate_as_in_numpy(f: Callable[..., Any]) -> None:
    x = X.copy()
    x[0, 1], x[1, 2], x[2, 0] = np.nan, np.inf, -np.inf
    y = Y.copy()
    y[0, 3] = np.nan
    np.testing.assert_array_equal(ad.compile(f, backend="numba")(x, y), f(x, y))


def _spec_table() -> list[Any]:
    """The primitive spec table of test_rules.py (one table for every backend's checks)."""
    path = Path(__file__).with_name("test_rules.py")
    module_spec = importlib.util.spec_from_file_location("wg_autodiff_rule_specs", path)
    assert module_spec is not None
    assert module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[module_spec.name] = module  # dataclasses look their module up there
    module_spec.loader.exec_module(module)
    return list(module.SPECS)


SPECS = _spec_table()


def _spec_args(spec: Any) -> tuple[Any, ...]:
    rng = np.random.default_rng(3)
    args = []
    for shape in spec.shapes:
        x = rng.uniform(spec.lo, spec.hi, shape)
        if spec.complex:
            x = x + 1j * rng.uniform(spec.lo, spec.hi, shape)
        args.append(x)
    return tuple(args)


def _leaf_rho(got: Any, want: Any) -> float:
    got_leaves, want_leaves = tree_flatten(got)[0], tree_flatten(want)[0]
    assert len(got_leaves) == len(want_leaves)
    worst = 0.0
    for a, b in zip(got_leaves, want_leaves, strict=True):
        a, b = np.asarray(a), np.asarray(b)
        assert (a.shape, a.dtype) == (b.shape, b.dtype)
        scale = max(float(np.max(np.abs(b), initial=0.0)), 1e-300)
        worst = max(worst, float(np.max(np.abs(a - b), initial=0.0)) / scale)
    return worst


@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
def test_the_spec_table_runs_the_same_on_both_backends(spec: Any) -> None:
    """Primal and pullback of every spec, staged together: numba's answer is the replay's,
    and what the replay cannot run, numba cannot either (coverage never shrinks)."""
    args = _spec_args(spec)
    ct = np.random.default_rng(4).standard_normal(np.shape(spec.fn(*args)))

    def joint(*xs: Any) -> Any:
        out, pullback = ad.vjp(spec.fn, *xs)
        return out, pullback(ct.astype(np.result_type(out)))

    try:
        want = ad.compile(joint)(*args)
    except Exception as exc:  # the replay's own limits: numba must meet the same
        with pytest.raises(type(exc)):
            ad.compile(joint, backend="numba")(*args)
        return
    assert _leaf_rho(ad.compile(joint, backend="numba")(*args), want) <= 1e-12


def logistic(w: Any, x: Any, y: Any) -> Any:
    p = 1.0 / (1.0 + np.exp(-(x @ w)))
    return -np.mean(y * np.log(p) + (1 - y) * np.log1p(-p))


def mlp(w1: Any, w2: Any, x: Any) -> Any:
    h = np.tanh(x @ w1)
    z = h @ w2
    m = np.max(z, axis=1, keepdims=True)
    return np.sum(np.log(np.sum(np.exp(z - m), axis=1)) + m[:, 0]) + 0.1 * np.sum(w1 * w1)


def relu_net(w: Any, x: Any) -> Any:
    h = np.maximum(x @ w, 0.0)
    return np.sum(np.where(h > 1.0, h * h, np.sqrt(h + 1.0)))


PROGRAMS = {
    "logistic": (logistic, (RNG.standard_normal(4), RNG.standard_normal((30, 4)), RNG.random(30))),
    "mlp": (mlp, (RNG.standard_normal((4, 8)), RNG.standard_normal((8, 3)), RNG.random((20, 4)))),
    "relu": (relu_net, (RNG.standard_normal((4, 6)), RNG.standard_normal((25, 4)))),
}


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_value_and_gradient_of_small_programs_equal_the_replay(name: str) -> None:
    f, args = PROGRAMS[name]
    fast = ad.value_and_grad(f, optimize=True, backend="numba")
    value, g = fast(*args)
    want_value, want_g = ad.value_and_grad(f, optimize=True)(*args)
    assert rho(value, want_value) <= 1e-12
    assert rho(g, want_g) <= 1e-12
    assert fused_names(fast)


@settings(max_examples=8, deadline=None)
@given(
    shape=st.lists(st.integers(1, 4), min_size=1, max_size=3),
    drop=st.integers(0, 3),
    dtype=st.sampled_from([np.float64, np.float32]),
)
def test_broadcast_chains_of_any_shape_equal_numpy(shape: list[int], drop: int, dtype: Any) -> None:
    rng = np.random.default_rng(len(shape))
    x = rng.uniform(0.1, 2.0, shape).astype(dtype)
    small = rng.uniform(0.1, 2.0, shape[min(drop, len(shape) - 1) :]).astype(dtype)

    def f(x: Any, s: Any) -> Any:
        return np.sum(np.exp(-x * s) + np.sqrt(x) / s, axis=-1)

    got = ad.compile(f, backend="numba")(x, small)
    want = f(x, small)
    assert got.dtype == want.dtype
    assert rho(got, want) <= (1e-12 if dtype is np.float64 else 1e-5)


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"ADBench corpus not found at {CORPUS}")
def test_gmm_value_and_gradient_equal_the_replay(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lowering, "MIN_ELEMENTS", MIN_ELEMENTS)
    alphas, means, icf, x, gamma, m = adbench_io.read_gmm(CORPUS / "gmm" / "1k" / "gmm_d10_K5.txt")

    def f(a: Any, mu: Any, q: Any) -> Any:
        return adb.gmm_objective(a, mu, q, x, gamma, m)

    fast = ad.value_and_grad(f, (0, 1, 2), optimize=True, backend="numba")
    value, grads = fast(alphas, means, icf)
    want_value, want_grads = ad.value_and_grad(f, (0, 1, 2), optimize=True)(alphas, means, icf)
    assert rho(value, want_value) <= 1e-12
    for got, want in zip(grads, want_grads, strict=True):
        assert rho(got, want) <= 1e-12
    assert len(fused_names(fast)) >= 4


A3 = RNG.standard_normal((3, 40, 5))
B3 = RNG.standard_normal((3, 5, 4))
ROW_SUMS: dict[str, Callable[..., Any]] = {
    "batched": lambda a, b: np.sum(a @ b, axis=1),
    "keepdims": lambda a, b: np.sum(a @ b, axis=-2, keepdims=True) * 2.0,
    "broadcast b": lambda a, b: np.sum(a @ b[0], axis=1),
    "matrix": lambda a, b: np.sum(a[0] @ b[0], axis=0),
    "through a reshape": lambda a, b: np.sum(np.reshape(a @ b, (3, 40, 4)), axis=1),
}


@pytest.mark.parametrize("name", list(ROW_SUMS))
def test_a_sum_over_the_rows_of_a_product_sums_first(name: str) -> None:
    f = ROW_SUMS[name]
    fast = ad.compile(f, backend="numba")
    assert rho(fast(A3, B3), f(A3, B3)) <= 1e-12
    progs = [p.prog for variants in fast.cache.values() for p in variants]  # type: ignore[attr-defined]
    matmuls = [e for p in progs for e in p.eqns if e.prim.name == "matmul"]
    assert [e.ins[0].shape[-2] for e in matmuls] == [1]


@pytest.mark.parametrize(
    "f",
    [
        lambda a, b: (np.sum(a @ b, axis=1), a @ b),  # the product is needed as well
        lambda a, b: np.sum(a @ b, axis=2),  # a sum over columns
        lambda a, b: np.sum(a @ b),
    ],
    ids=["product used twice", "columns", "everything"],
)
def test_other_sums_of_products_keep_the_product(f: Callable[..., Any]) -> None:
    fast = ad.compile(f, backend="numba")
    got, want = tree_flatten(fast(A3, B3))[0], tree_flatten(f(A3, B3))[0]
    assert all(rho(g, w) == 0.0 for g, w in zip(got, want, strict=True))
    progs = [p.prog for variants in fast.cache.values() for p in variants]  # type: ignore[attr-defined]
    assert [e.ins[0].shape for p in progs for e in p.eqns if e.prim.name == "matmul"] == [A3.shape]


def test_a_reshape_that_keeps_the_shape_does_not_split_a_group() -> None:
    def f(x: Any, y: Any) -> Any:
        return np.sum(np.reshape(np.exp(x) * y, X.shape) * y, axis=1)

    fast = ad.compile(f, backend="numba")
    assert rho(fast(X, Y), f(X, Y)) <= 1e-12
    assert fused_names(fast) == ["fused[exp,multiply,multiply,sum]"]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_stored_subnormals_are_flushed_to_zero_and_nan_inf_pass(dtype: Any) -> None:
    tiny = np.finfo(dtype).tiny
    y = np.array([tiny / 4, -tiny / 4, tiny, -tiny, np.nan, np.inf, -np.inf, 2.0], dtype=dtype)
    fast = ad.compile(lambda x, y: np.exp(x) * y, backend="numba")
    got = fast(np.zeros_like(y), y)
    assert fused_names(fast) == ["fused[exp,multiply]"]
    assert got.dtype == dtype
    np.testing.assert_array_equal(got, [0.0, 0.0, tiny, -tiny, np.nan, np.inf, -np.inf, 2.0])
    assert list(np.signbit(got[:2])) == [False, True]


def test_groups_over_few_elements_stay_on_the_replay(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lowering, "MIN_MEMBERS", MIN_MEMBERS)
    monkeypatch.setattr(lowering, "MIN_ELEMENTS", X.size + 1)
    fast = ad.compile(lambda x, y: np.exp(x) * y, backend="numba")
    assert rho(fast(X, Y), np.exp(X) * Y) == 0.0
    assert fused_names(fast) == []
    monkeypatch.setattr(lowering, "MIN_ELEMENTS", X.size)
    fast = ad.compile(lambda x, y: np.exp(x) * y, backend="numba")
    fast(X, Y)
    assert fused_names(fast) == ["fused[exp,multiply]"]


def test_equations_that_do_not_fuse_keep_their_place(monkeypatch: pytest.MonkeyPatch) -> None:
    from wg_autodiff.staging import make_trace

    def f(x: Any, y: Any) -> Any:
        a = np.exp(x)
        b = np.sum(y, axis=0)
        return a * 2.0 + b

    prog = make_trace(f)(X, Y)
    assert [e.prim.name for e in prog.eqns] == ["exp", "sum", "multiply", "add"]
    monkeypatch.setattr(lowering, "MIN_ELEMENTS", X.size + 1)
    monkeypatch.setattr(lowering, "MIN_MEMBERS", 4)
    assert lowering.lower(prog).eqns == prog.eqns
    monkeypatch.setattr(lowering, "MIN_ELEMENTS", 1)
    names = [e.prim.name for e in lowering.lower(prog).eqns]
    assert names == ["sum", "fused[exp,multiply,add]"]


def _chain(x: Any) -> Any:
    for _ in range(5):
        x = np.tanh(np.sin(x) * 1.01 + x)
    return np.sum(x)


def test_a_chain_of_small_operations_becomes_one_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ten floats are far below MIN_ELEMENTS, but a kernel replaces dozens of NumPy calls."""
    monkeypatch.setattr(lowering, "MIN_ELEMENTS", MIN_ELEMENTS)
    x = np.linspace(0.0, 1.0, 10)
    fast = ad.value_and_grad(_chain, optimize=True, backend="numba")
    value, g = fast(x)
    want_value, want_g = ad.value_and_grad(_chain, optimize=True)(x)
    assert rho(value, want_value) <= 1e-12
    assert rho(g, want_g) <= 1e-12
    (name,) = fused_names(fast)
    assert name.count("sin") == 5
    assert name.count("cos") == 5
    assert ",sum," in name


@pytest.mark.parametrize(
    ("f", "fused"),
    [
        (lambda x, y: np.exp(x) @ y, []),
        (lambda x, y: (np.exp(x) * 2.0) @ y, []),
        (lambda x, y: (np.exp(x) * 2.0 - 1.0) @ y, ["fused[exp,multiply,subtract]"]),
    ],
    ids=["one equation", "two equations", "three equations"],
)
def test_small_groups_fuse_from_min_members_on(
    monkeypatch: pytest.MonkeyPatch, f: Callable[..., Any], fused: list[str]
) -> None:
    monkeypatch.setattr(lowering, "MIN_ELEMENTS", MIN_ELEMENTS)
    monkeypatch.setattr(lowering, "MIN_MEMBERS", MIN_MEMBERS)
    x, y = X[:, :3], Y[:, :3]
    fast = ad.compile(f, backend="numba")
    assert rho(fast(x, y), f(x, y)) <= 1e-12
    assert fused_names(fast) == fused
    assert MIN_MEMBERS == 3


def three_stores(x: Any, y: Any) -> Any:
    return np.exp(x) * y, np.sin(x) + y, np.tanh(x) * 2.0


def test_a_small_group_stores_its_values_as_rows_of_one_array() -> None:
    fast = ad.compile(three_stores, backend="numba")
    got = fast(X, Y)
    for a, b in zip(got, three_stores(X, Y), strict=True):
        assert rho(a, b) <= 1e-12
    (prog,) = [p.prog for variants in fast.cache.values() for p in variants]  # type: ignore[attr-defined]
    assert [e.prim.name for e in prog.eqns][1:] == [f"fused_output[{k}]" for k in range(3)]
    assert prog.eqns[1].ins[0] is prog.eqns[0].out  # rows of the kernel's one result
    assert got[0].base is got[1].base is got[2].base
    got[0][...] = 0.0
    assert rho(got[1], np.sin(X) + Y) == 0.0


Z = RNG.uniform(0.1, 1.0, (2, 3, 4))


def rows_read_in_place(x: Any, y: Any, z: Any) -> Any:
    a, b = np.exp(x) * y, np.sin(x) + y
    return a, np.tanh(a * z) + b


def test_a_kernel_reads_another_kernels_rows_in_place() -> None:
    fast = ad.compile(rows_read_in_place, backend="numba")
    got, want = fast(X, Y, Z), rows_read_in_place(X, Y, Z)
    assert all(rho(a, b) <= 1e-12 for a, b in zip(got, want, strict=True))
    (prog,) = [p.prog for variants in fast.cache.values() for p in variants]  # type: ignore[attr-defined]
    first, view, second = prog.eqns
    assert (view.prim.name, view.ins, view.out) == ("fused_output[0]", [first.out], prog.outputs[0])
    # b has no view: the second kernel reads both rows from the first one's result
    assert [i.id for i in second.ins] == [first.out.id, prog.inputs[2].id]


def slices_read_in_place(x: Any, y: Any, z: Any) -> Any:
    gates = np.exp(x) * y  # a kernel over (3, 4) packs gates and b
    b = np.sin(x) + y
    inner = np.tanh(gates[1:, ::-2] * z[0, :2, 1:3]) + b[0, 3]
    return np.sum(inner * gates[-1, 1:3] - x[2, 0], axis=0), gates


SLICED: dict[str, Callable[..., Any]] = {
    "rows and slices": slices_read_in_place,
    "negative step": lambda x, y, z: np.exp(x[::-1, 3:0:-2]) * y[0, :2] * 2.0,
    "integer then slice": lambda x, y, z: np.exp(z[1, :, ::3]) * x[:, 1:2] - y[2, 2],
    "slice of a slice": lambda x, y, z: np.tanh(x[1:][:, ::2][1]) * 2.0 + y[0, :2],
    "also on the replay": lambda x, y, z: (np.exp(x[1:]) * y[1:] + 1.0, x[1:] @ y.T),
}


@pytest.mark.parametrize("name", list(SLICED))
def test_kernels_read_basic_slices_in_place(name: str) -> None:
    f = SLICED[name]
    fast = ad.compile(f, backend="numba")
    got, want = tree_flatten(fast(X, Y, Z))[0], tree_flatten(f(X, Y, Z))[0]
    assert all(rho(a, b) <= 1e-12 for a, b in zip(got, want, strict=True))
    (prog,) = [p.prog for variants in fast.cache.values() for p in variants]  # type: ignore[attr-defined]
    getitems = [e for e in prog.eqns if e.prim.name == "getitem"]
    on_replay = [e for e in prog.eqns if not e.prim.name.startswith("fused")]
    kernel_inputs = {getattr(i, "id", None) for e in prog.eqns if e not in on_replay for i in e.ins}
    assert {e.out.id for e in getitems} <= {
        getattr(i, "id", None) for e in on_replay for i in e.ins
    }
    assert {e.out.id for e in getitems} & kernel_inputs == set()
    assert len(getitems) == (1 if name == "also on the replay" else 0)


@pytest.mark.usefixtures("fresh_reports")
@pytest.mark.parametrize(
    ("f", "args"),
    [
        (three_stores, (X, Y)),
        (rows_read_in_place, (X, Y, Z)),
        (slices_read_in_place, (X, Y, Z)),
    ],
    ids=["writes rows", "reads rows", "reads slices"],
)
def test_a_small_group_that_does_not_compile_handles_rows(
    monkeypatch: pytest.MonkeyPatch, f: Callable[..., Any], args: tuple[Any, ...]
) -> None:
    monkeypatch.setitem(lowering.TEMPLATES, "tanh", "np.linalg.inv({0})")
    fast = ad.compile(f, backend="numba")
    for _ in range(2):
        for a, b in zip(fast(*args), f(*args), strict=True):
            assert rho(a, b) <= 1e-12
    assert any("tanh" in name for name in fused_names(fast))


def test_groups_that_differ_only_in_ids_share_one_kernel(kernel_cache: Path) -> None:
    """Each step of an unrolled loop has the same group: it compiles and is stored once."""

    def steps(x: Any, w: Any) -> Any:
        for _ in range(6):
            x = np.tanh(x @ w) * 0.5 + x
        return np.sum(x * x)

    before = set(kernel_cache.glob("kernels/*.py"))
    w = RNG.standard_normal((4, 4)) / 4.0
    fast = ad.value_and_grad(steps, optimize=True, backend="numba")
    value, g = fast(X, w)
    want_value, want_g = ad.value_and_grad(steps, optimize=True)(X, w)
    assert rho(value, want_value) <= 1e-12
    assert rho(g, want_g) <= 1e-12
    progs = [p.prog for variants in fast.cache.values() for p in variants]  # type: ignore[attr-defined]
    kernels = [k for p in progs for k in lowering.fused_kernels(p)]
    distinct = {id(k) for k in kernels}
    assert len(kernels) >= 10
    assert len(distinct) <= 4, len(distinct)
    assert len(set(kernel_cache.glob("kernels/*.py")) - before) <= len(distinct)


@pytest.fixture
def fresh_reports(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lowering, "_FAILED", set())
    monkeypatch.setattr(lowering, "_REPORTED", set())


@pytest.mark.usefixtures("fresh_reports")
def test_a_compile_failure_is_reported_once_and_the_answer_is_right(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(lowering.TEMPLATES, "tanh", "np.linalg.inv({0})")

    def f(x: Any, y: Any) -> Any:
        return np.sum(np.tanh(x) * y + np.exp(y) * 2.0)

    caplog.set_level(logging.DEBUG, logger="wg_autodiff.lowering")
    fast = ad.compile(f, backend="numba")
    assert rho(fast(X, Y), f(X, Y)) <= 1e-12
    assert rho(fast(X, Y), f(X, Y)) <= 1e-12
    # a new signature is lowered without the primitive that failed
    assert rho(fast(X[:2], Y[:2]), f(X[:2], Y[:2])) <= 1e-12
    failures = [r.getMessage() for r in caplog.records if "could not compile" in r.getMessage()]
    assert len(failures) == 1
    assert failures[0].startswith("numba could not compile tanh (TypingError: ")
    assert failures[0].endswith("; these equations run on the NumPy replay")
    assert "fused[multiply,exp,multiply,add,sum]" in fused_names(fast)


@pytest.mark.usefixtures("fresh_reports")
def test_an_unwritable_cache_folder_runs_on_the_replay(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("WG_AUTODIFF_CACHE", str(blocker / "cache"))
    monkeypatch.setattr(lowering.kernel_cache, "_LOADED", {})
    caplog.set_level(logging.DEBUG, logger="wg_autodiff.lowering")
    fast = ad.compile(lambda x, y: np.sum(np.exp(x) * y, axis=1), backend="numba")
    assert rho(fast(X, Y), np.sum(np.exp(X) * Y, axis=1)) <= 1e-12
    assert fused_names(fast) == []
    messages = [r.getMessage() for r in caplog.records]
    assert sum(m.endswith("; fused groups run on the NumPy replay") for m in messages) == 1


@pytest.mark.parametrize(
    ("x", "y"),
    [
        (X.astype(complex) * (1 + 1j), Y.astype(complex)),
        (X.astype(np.float16), Y.astype(np.float16)),
    ],
    ids=["complex", "float16"],
)
def test_unsupported_dtypes_run_on_the_replay(
    x: Any, y: Any, caplog: pytest.LogCaptureFixture
) -> None:
    def f(x: Any, y: Any) -> Any:
        return np.exp(x) * y + 2.0

    caplog.set_level(logging.DEBUG, logger="wg_autodiff.lowering")
    fast = ad.compile(f, backend="numba")
    got, want = fast(x, y), f(x, y)
    assert got.dtype == want.dtype
    np.testing.assert_allclose(got, want, rtol=1e-12 if got.dtype != np.float16 else 0)
    assert fused_names(fast) == []
    fast(x, y)
    fast(x[:2], y[:2])  # a second signature, said once more
    said = [
        r.getMessage()
        for r in caplog.records
        if "equations run on the NumPy replay" in r.getMessage()
    ]
    assert len(said) == 2
    assert all(m.startswith("0 fused kernels; ") for m in said)


def test_an_unknown_backend_is_refused_with_the_fix() -> None:
    with pytest.raises(InputError) as info:
        ad.grad(np.sum, optimize=True, backend="cuda")
    assert str(info.value).startswith("backend='cuda' is not one of 'numpy', 'numba' (at ")
    assert str(info.value).endswith("); pass backend='numpy' or backend='numba'")


def test_a_backend_without_optimize_is_refused_with_the_fix() -> None:
    with pytest.raises(InputError) as info:
        ad.grad(np.sum, backend="numba")
    assert str(info.value).startswith("backend='numba' applies to the optimising mode (at ")
    assert str(info.value).endswith("); pass optimize=True as well, or drop backend=")


CHILD = textwrap.dedent(
    """
    import numpy as np
    import wg_autodiff as ad
    from wg_autodiff.lowering import fused_kernels

    f = ad.value_and_grad(lambda x: np.sum(np.tanh(x * 2.0) ** 2.0), optimize=True,
                          backend="numba")
    f(np.linspace(0.0, 1.0, 5000))
    kernels = [k for progs in f.cache.values() for p in progs for k in fused_kernels(p.prog)]
    hits = sum(sum(k.stats.cache_hits.values()) for k in kernels)
    misses = sum(sum(k.stats.cache_misses.values()) for k in kernels)
    print(len(kernels), hits, misses)
    """
)


def test_a_new_process_loads_kernels_instead_of_compiling(tmp_path: Path) -> None:
    env = {**os.environ, "WG_AUTODIFF_CACHE": str(tmp_path)}

    def child() -> list[int]:
        done = subprocess.run(
            [sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, timeout=600
        )
        assert done.returncode == 0, done.stderr
        return [int(n) for n in done.stdout.split()]

    kernels, hits, misses = child()
    assert (kernels >= 1, hits, misses >= kernels) == (True, 0, True)
    assert child() == [kernels, misses, 0]
