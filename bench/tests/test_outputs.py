"""Output conversion and the ADBench error measure."""

from __future__ import annotations

import collections
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from wg_bench.outputs import StructureError, leaves, rho_error, to_host

finite = arrays(np.float64, st.integers(1, 6), elements=st.floats(-1e6, 1e6))


@settings(max_examples=50, deadline=None)
@given(finite, finite)
def test_rho_is_zero_on_equal_symmetric_and_below_one(x, y) -> None:
    assert rho_error(x, x) == 0.0
    if x.shape == y.shape:
        assert rho_error(x, y) == rho_error(y, x)
        assert 0.0 <= rho_error(x, y) <= 1.0


def test_pytrees_are_flattened_in_stable_order() -> None:
    point = collections.namedtuple("point", "x y")
    tree = {"b": [1, 2.0], "a": point(np.ones(2), 3)}
    host = to_host(tree)
    assert isinstance(host["a"], point)
    assert [p for p, _ in leaves(host)] == [
        "output['a'][0]",
        "output['a'][1]",
        "output['b'][0]",
        "output['b'][1]",
    ]


def test_structure_and_nan_fail_the_gate() -> None:
    with pytest.raises(
        StructureError, match=r"output\[0\] has shape \(2,\) but the oracle's has \(3,\)"
    ):
        rho_error([np.ones(2)], [np.ones(3)])
    assert np.isnan(rho_error([np.nan], [1.0]))
    assert rho_error(np.empty(0), np.empty(0)) == 0.0


def test_jax_outputs_are_waited_for(monkeypatch) -> None:
    import types

    from wg_bench.outputs import block, is_async

    fake_array = type("ArrayImpl", (), {"__module__": "jaxlib._jax"})
    waited = []
    fake_jax = types.SimpleNamespace(block_until_ready=waited.append)
    monkeypatch.setitem(sys.modules, "jax", fake_jax)
    tree = {"grad": (fake_array(), 1.0)}
    assert is_async(tree)
    assert not is_async({"grad": (np.ones(1), 1.0)})
    assert block(tree) is tree
    assert waited == [tree]
