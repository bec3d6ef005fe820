"""The convnet suite's JAX cells (``lax.conv_general_dilated`` under ``jit``) pass the gate."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from wg_bench.discovery import load_module, suites_dir
from wg_bench.outputs import block, rho_error, to_host
from wg_bench.worker import prepare

pytest.importorskip("jax", reason="JAX is not installed (pip install jax)")

SUITE = load_module(suites_dir() / "convnet.py")


def _output(bench: Any, implementation: str) -> Any:
    return to_host(block(prepare(bench, implementation)()))


def test_conv2d_jax_cell_matches_the_numpy_reference() -> None:
    bench = SUITE.Conv2DForwardBackward()
    bench.setup("cpu", "1x28x28->32")
    expected = _output(bench, "numpy")
    output = _output(bench, "jax_jit")
    assert rho_error(output, expected) <= bench.tolerance
    wrong = (output[0], output[1], output[2] * 1.01, output[3])
    assert rho_error(wrong, expected) > bench.tolerance


def test_training_step_jax_cell_matches_and_updates_its_weights() -> None:
    bench = SUITE.TrainingStep()
    bench.setup("cpu", 64)
    expected = _output(bench, "numpy")
    first = _output(bench, "jax_jit")
    assert rho_error(first, expected) <= bench.tolerance
    # a second step of each, from the weights the first one left (no setup in between)
    second = to_host(bench.impl_numpy())
    again = to_host(block(bench.impl_jax_jit()))
    assert rho_error(again, second) <= bench.tolerance
    assert rho_error(again, first) > 0.0
    stepped = bench.weights[0] - bench.lr * (first[1][0] + again[1][0])
    np.testing.assert_allclose(np.asarray(bench.jparams[0]), stepped, rtol=1e-5, atol=1e-7)
