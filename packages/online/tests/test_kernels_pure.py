"""The numba kernels run as plain Python give the same results as compiled.

This checks that the kernels do not depend on numba-only semantics (integer wrap-around,
float32 rounding) and lets coverage see the kernel source, which compiled code hides from it.
"""

from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import wg_online
from wg_online.adagrad import Examples, train_block
from wg_online.datagen import ctr
from wg_online.kernels import parse_block
from wg_online.model import Model, Options
from wg_online.parsing import parse_bytes
from wg_online.vw_format import namespace_map_arrays

NO_MAP = (np.zeros(0, np.uint64), np.zeros(0, np.uint8))


def _identity_njit(*args, **kwargs):
    if args and callable(args[0]):
        return args[0]
    return lambda func: func


def load_pure(name: str) -> types.ModuleType:
    """Execute ``wg_online/<name>.py`` with numba's ``njit`` replaced by the identity.

    The kernels take numba from :mod:`wg_online.lean_numba`, so that module is the one faked,
    and ``kernels`` gets a pure :mod:`wg_online.bytescan` too. (A real compile of these copies
    would also write cache entries for a module that numba cannot import in a later process,
    which then fails with "No module named '<dynamic>'".)
    """
    fake = types.ModuleType("wg_online.lean_numba")
    fake.nb = types.SimpleNamespace(njit=_identity_njit)  # type: ignore[attr-defined]
    fake.njit_keyed = lambda *modules, **options: _identity_njit  # type: ignore[attr-defined]
    names = ("wg_online.lean_numba", "wg_online.bytescan")
    saved = {key: sys.modules.get(key) for key in names}
    sys.modules["wg_online.lean_numba"] = fake
    try:
        sys.modules["wg_online.bytescan"] = _exec_source("bytescan")
        return _exec_source(name)
    finally:
        for key, module in saved.items():
            if module is None:
                sys.modules.pop(key, None)
            else:
                sys.modules[key] = module


def _exec_source(name: str) -> types.ModuleType:
    path = Path(wg_online.__file__).parent / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"_pure_{name}", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("name", "kernel"), [("kernels", "parse_block"), ("adagrad", "train_block")]
)
def test_pure_kernels_are_plain_python(name: str, kernel: str) -> None:
    pure = load_pure(name)
    assert isinstance(getattr(pure, kernel), types.FunctionType)
    if name == "kernels":
        assert isinstance(pure.murmur, types.FunctionType)


TEXT = (
    b"1 2 'tag1|a x y:2.5 |bc 13 :0.5 z:0\n"
    b"\n"
    b"-1 |a:0.5 x 7 |d 1e-2:3 long_feature_name\r\n"
    b" |a x\n"
    b"0 'u| w\n"
    b"2 | bad label\n"
    b"1 | x:zz\n"
    b"1 |a:q x\n"
    b"1 2 3 4 5| x\n"
    b"1 -2 | x\n"
)


@pytest.mark.parametrize("skip", [True, False])
def test_parse_block_pure_equals_compiled(skip: bool) -> None:
    pure = load_pure("kernels")
    buf = np.frombuffer(TEXT, np.uint8)
    for got, want in zip(
        pure.parse_block(buf, skip, *NO_MAP), parse_block(buf, skip, *NO_MAP), strict=True
    ):
        np.testing.assert_array_equal(got, want)


def test_parse_block_pure_with_namespace_map() -> None:
    pure = load_pure("kernels")
    ns_map = namespace_map_arrays(("Aanimal", "Bfood"))
    buf = np.frombuffer(b"1 |animal cat |food fish\n1 |other x\n", np.uint8)
    got, want = pure.parse_block(buf, True, *ns_map), parse_block(buf, True, *ns_map)
    for a, b in zip(got, want, strict=True):
        np.testing.assert_array_equal(a, b)
    assert got[-1].tolist() == [pure.ParseError.UNDECLARED_NS]


@pytest.mark.parametrize(
    "options",
    [
        {"interactions": ("ab", "cc"), "l2": 0.01},
        {"interactions": ("abc", "aab", "dde"), "noconstant": True},
        {"ffm_k": 2, "ffm_fields": ("a", "b", "c"), "ffm_bit_precision": 8, "power_t": 0.4},
        {"ffm_k": 3, "ffm_fields": ("ab", "c"), "ffm_bit_precision": 6, "ffm_layout": "blocks"},
        {"vwcompat": True, "keep": "abc"},
    ],
)
def test_train_block_pure_equals_compiled(options: dict) -> None:
    pure = load_pure("adagrad")
    data = parse_bytes(ctr(60, seed=7).text)
    results = []
    for kernel in (pure.train_block, train_block):
        model = Model.new(Options(bit_precision=12, **options))
        preds = np.empty(len(data), np.float32)
        ex = Examples(data.labels, data.importances, data.offsets, data.idx, data.val, data.ns)
        loss, weight = kernel(ex, *model.kernel_state(learn=True), preds)
        results.append((preds, model.w, model.v, loss, weight))
    (p1, w1, v1, l1, n1), (p2, w2, v2, l2, n2) = results
    np.testing.assert_allclose(p1, p2, atol=1e-6)
    np.testing.assert_allclose(w1, w2, atol=1e-5)
    np.testing.assert_allclose(v1, v2, atol=1e-5)
    assert n1 == n2 == 60
    assert l1 == pytest.approx(l2, rel=1e-5)


def test_kernel_state_has_one_type_whatever_the_options() -> None:
    # every build of the named tuples must give numba the same types, or it compiles again
    from numba import typeof

    types_seen = set()
    for options in (
        {},
        {"learning_rate": 1, "power_t": 0, "noconstant": True},
        {"ffm_k": 2, "ffm_fields": ("a", "b"), "ffm_layout": "blocks"},
        {"vwcompat": True, "interactions": ("abc",)},
    ):
        model = Model.new(Options(bit_precision=10, **options))
        for learn in (True, False, 1):
            types_seen.add(typeof(model.kernel_state(learn=learn)))  # type: ignore[arg-type]
    assert len(types_seen) == 1
