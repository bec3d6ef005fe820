"""The online suite's cells run and gate correctly on tiny inputs (moved from wg_online's tests:
a library's tests never import the bench, issue 19)."""

from __future__ import annotations

import shutil
from typing import Any

import numpy as np
import pytest
from wg_bench.discovery import load_module, suites_dir

SUITE = load_module(suites_dir() / "online.py")


@pytest.fixture
def made(request: pytest.FixtureRequest) -> Any:
    """``made(Benchmark, n)``: an instance with its train/test files, removed after the test."""

    def make(cls: type, n: int) -> Any:
        bench = cls()
        bench._make(n)
        request.addfinalizer(lambda: shutil.rmtree(bench.dir))
        return bench

    return make


def test_text_to_model_wg_cell(made: Any) -> None:
    bench = made(SUITE.TextToModel, 3000)
    bench.model = "lr+3q"
    out = bench.impl_wg()  # the predictions file's bytes
    assert SUITE._probabilities(out).shape == (SUITE.N_TEST,)
    assert bench.error(out, out) == 0.0
    coin = np.frombuffer(b"0.500000\n" * SUITE.N_TEST, np.uint8)
    assert bench.error(coin, out) > 0.0  # a worse model fails the gate
    metrics = bench.metrics(out)
    assert metrics["oracle_logloss"] < metrics["test_logloss"] < 0.7
    assert metrics["cpu_s"] > 0


def test_cache_cell_matches_text_cell(made: Any) -> None:
    bench = made(SUITE.TrainFromCache, 2000)
    from wg_online.parsing import iter_file, write_cache

    write_cache(bench.dir / "wg.cache", list(iter_file(bench.train_path)), bench.train_path)
    from_cache = SUITE._probabilities(bench.impl_wg())
    from_text = SUITE._probabilities(bench._wg())
    np.testing.assert_allclose(from_cache, from_text, atol=1e-6)


def test_vw_default_mode_passes_the_gate_against_vw_adaptive(made: Any) -> None:
    pytest.importorskip("vowpalwabbit", reason="Vowpal Wabbit is not installed")
    bench = made(SUITE.TextToModel, 5000)
    bench.model = "lr"
    adaptive, default = bench.impl_vw(), bench.impl_vw_default()
    assert bench.error(default, adaptive) <= bench.tolerance
    assert bench.last == "vw_default"  # metrics times the cell's own implementation again
    assert not np.array_equal(SUITE._probabilities(default), SUITE._probabilities(adaptive))


@pytest.mark.parametrize("peer", ["river", "sklearn"])
def test_peer_learns_within_the_logloss_tolerance_of_vw(made: Any, peer: str) -> None:
    pytest.importorskip("vowpalwabbit", reason="Vowpal Wabbit is not installed")
    pytest.importorskip(SUITE.LogisticPeers.requires[peer][0], reason=f"{peer} is not installed")
    bench = made(SUITE.LogisticPeers, 5000)
    expected = bench.impl_vw()
    out = getattr(bench, f"impl_{peer}")()
    assert bench.last == peer
    assert SUITE._probabilities(out).shape == (SUITE.N_TEST,)
    assert bench.error(out, expected) <= bench.tolerance
    coin = np.frombuffer(b"0.500000\n" * SUITE.N_TEST, np.uint8)
    assert bench.error(coin, expected) > bench.tolerance  # knowing nothing fails the gate
    metrics = bench.metrics(out)
    assert metrics["oracle_logloss"] < metrics["test_logloss"] < 0.6


def test_hashed_reads_labels_names_and_values(tmp_path: Any) -> None:
    path = tmp_path / "two.vw"
    path.write_text("1 |a x y:2.5 |b x\n-1 |a x\n")
    labels, X = SUITE._hashed(path)
    assert labels.tolist() == [1, 0]
    assert X.shape == (2, 2**18)
    assert sorted(X[0].data.tolist()) == [1.0, 1.0, 2.5]  # a^x and b^x are distinct features
    assert X[1].nnz == 1
    assert X[0, X[1].indices[0]] == 1.0  # a^x hashes alike on both lines


def test_predictions_file_is_six_decimals_per_line() -> None:
    raw = SUITE._as_predictions_file([0.25, 1 / 3])
    assert raw.tobytes() == b"0.250000\n0.333333\n"
    np.testing.assert_allclose(SUITE._probabilities(raw), [0.25, 0.333333])


def test_predict_one_gives_vws_prediction() -> None:
    """The serving cell's gate: our --vwcompat model with VW_LR's flags predicts as VW does."""
    bench = SUITE.PredictOne()
    bench.setup("cpu", "ctr")
    assert bench.error(bench.impl_wg(), bench.impl_vw()) <= SUITE.PredictOne.tolerance


def test_deep_ffm_cell_and_its_ffm_peer(made: Any) -> None:
    bench = made(SUITE.DeepFfmTextToModel, 3000)
    deep = bench.impl_wg()
    assert bench.last == "wg"
    ffm = bench.impl_ffm()
    assert bench.last == "ffm"  # metrics times the FFM peer again, not the deep cell
    assert not np.array_equal(SUITE._probabilities(deep), SUITE._probabilities(ffm))
    metrics = bench.metrics(deep)
    assert metrics["oracle_logloss"] < metrics["test_logloss"] < 0.7
