"""The autodiff suite's JAX and numba cells pass the equivalence gate against the suite's oracle."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from wg_bench.discovery import load_module, suites_dir
from wg_bench.machine import thread_env
from wg_bench.outputs import block, rho_error, to_host

pytest.importorskip("autograd", reason="autograd (the suite's oracle) is not installed")
needs_jax = pytest.mark.skipif(
    importlib.util.find_spec("jax") is None, reason="JAX is not installed (pip install jax)"
)
needs_numba = pytest.mark.skipif(
    importlib.util.find_spec("numba") is None, reason="numba is not installed (pip install numba)"
)

SUITE = load_module(suites_dir() / "autodiff.py")
JAX = load_module(suites_dir() / "_jax.py")


def _output(bench: Any, implementation: str) -> Any:
    hook = getattr(bench, f"setup_{implementation}", None)
    if hook is not None:
        hook()
    return to_host(block(getattr(bench, f"impl_{implementation}")()))


def _gate(bench: Any, output: Any, expected: Any) -> float:
    return float((getattr(bench, "error", None) or rho_error)(output, expected))


@needs_jax
@pytest.mark.parametrize(
    ("name", "param"),
    [
        ("GmmGradient", "d10_K5"),
        ("GmmMeansOnly", "d10_K5"),
        ("GmmHvp", "d10_K5"),
        ("BaJacobian", "ba1_n49_m7776_p31843"),
        ("LstmGradient", "l2_c32"),
        ("Chain200", 10),
    ],
)
def test_jax_jit_cell_matches_the_oracle(name: str, param: Any) -> None:
    bench = getattr(SUITE, name)()
    bench.setup("cpu", param)
    expected = _output(bench, bench.oracle)
    output = _output(bench, "jax_jit")
    assert _gate(bench, output, expected) <= bench.tolerance
    if hasattr(bench, "metrics"):  # tracemalloc sees Python's allocations, not XLA's buffers
        assert bench.metrics(output) == {}


@needs_jax
@pytest.mark.parametrize(("name", "param"), [("GmmMeansOnly", "d10_K5"), ("Chain200", 10)])
def test_eager_jax_cell_matches_the_oracle_and_a_wrong_gradient_fails(name: str, param: Any):
    bench = getattr(SUITE, name)()
    bench.setup("cpu", param)
    expected = _output(bench, bench.oracle)
    output = _output(bench, "jax")
    assert _gate(bench, output, expected) <= bench.tolerance
    key = "grad" if "grad" in output else "means"
    wrong = {**output, key: np.asarray(output[key]) * (1 + 1e-6)}
    assert _gate(bench, wrong, expected) > bench.tolerance


@needs_jax
def test_jax_runs_on_the_cells_thread_count_in_full_precision(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("XLA_FLAGS", raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    jax, _ = JAX.import_jax("cpu")
    assert jax.config.jax_default_matmul_precision == "highest"
    assert os.environ["XLA_FLAGS"] == thread_env(1)["XLA_FLAGS"]
    assert os.environ["XLA_FLAGS"] == (
        "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
    )


@needs_jax
def test_a_cuda_cell_without_a_cuda_jaxlib_is_skipped_with_the_fix() -> None:
    import jax

    if any(d.platform == "gpu" for d in jax.devices()):
        pytest.skip("this machine has a CUDA jaxlib")
    with pytest.raises(NotImplementedError) as info:
        JAX.import_jax("cuda")
    assert str(info.value).startswith(
        f"jax {jax.__version__} sees no cuda device here; install a CUDA build of jaxlib: "
        "pip install 'jax[cuda12]' ("
    )


@needs_numba
@pytest.mark.parametrize(
    ("name", "param"),
    [
        ("GmmGradient", "d10_K5"),
        ("BaJacobian", "ba1_n49_m7776_p31843"),
        ("LstmGradient", "l2_c32"),
    ],
)
def test_numba_cell_compiles_into_an_empty_cache_and_matches_the_oracle(
    name: str, param: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WG_AUTODIFF_CACHE", "")  # restored after the test; the cell changes it
    bench = getattr(SUITE, name)()
    bench.setup("cpu", param)
    expected = _output(bench, bench.oracle)
    bench.setup_wg_numba()
    cache = Path(os.environ["WG_AUTODIFF_CACHE"])
    assert cache.name.startswith("wg-bench-numba-")
    assert list(cache.iterdir()) == []
    output = _output(bench, "wg_numba")
    assert _gate(bench, output, expected) <= bench.tolerance
    key = "grad" if "grad" in output else "blocks"
    value = output[key]
    scaled = tuple(
        np.asarray(a) * (1 + 1e-6) for a in (value if type(value) is tuple else (value,))
    )
    wrong = {**output, key: scaled if type(value) is tuple else scaled[0]}
    assert _gate(bench, wrong, expected) > bench.tolerance


def test_numba_cells_are_skipped_without_numba_and_left_out_of_quick_runs_but_gmm() -> None:
    for name in ("GmmGradient", "BaJacobian", "LstmGradient"):
        assert getattr(SUITE, name).requires["wg_numba"] == ("numba", "pip install numba")
    assert "wg_numba" not in SUITE.GmmGradient.full_only
    assert "wg_numba" in SUITE.BaJacobian.full_only
    assert "wg_numba" in SUITE.LstmGradient.full_only
