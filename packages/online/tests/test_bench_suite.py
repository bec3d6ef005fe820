"""The online benchmark suite runs and gates correctly on a tiny input (wg implementations)."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import numpy as np
import pytest

SUITE = Path(__file__).resolve().parents[3] / "bench" / "suites" / "online.py"


@pytest.fixture(scope="module")
def suite():
    if not SUITE.exists():
        pytest.skip(f"benchmark suite not found at {SUITE}")
    spec = importlib.util.spec_from_file_location("online_suite", SUITE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_text_to_model_wg_cell(suite, request) -> None:
    bench = suite.TextToModel()
    bench._make(3000)
    request.addfinalizer(lambda: shutil.rmtree(bench.dir))
    bench.model = "lr+3q"
    out = bench.impl_wg()  # the predictions file's bytes
    assert suite._probabilities(out).shape == (suite.N_TEST,)
    assert bench.error(out, out) == 0.0
    coin = np.frombuffer(b"0.500000\n" * suite.N_TEST, np.uint8)
    assert bench.error(coin, out) > 0.0  # a worse model fails the gate
    metrics = bench.metrics(out)
    assert metrics["oracle_logloss"] < metrics["test_logloss"] < 0.7
    assert metrics["cpu_s"] > 0


def test_cache_cell_matches_text_cell(suite, request) -> None:
    bench = suite.TrainFromCache()
    bench._make(2000)
    request.addfinalizer(lambda: shutil.rmtree(bench.dir))
    from wg_online.parsing import iter_file, write_cache

    write_cache(bench.dir / "wg.cache", list(iter_file(bench.train_path)), bench.train_path)
    from_cache = suite._probabilities(bench.impl_wg())
    from_text = suite._probabilities(bench._wg())
    np.testing.assert_allclose(from_cache, from_text, atol=1e-6)
