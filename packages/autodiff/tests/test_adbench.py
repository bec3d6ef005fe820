"""ADBench objectives: readers, and gradients against finite differences and autograd."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import wg_autodiff as ad
from wg_autodiff import adbench as adb
from wg_autodiff import adbench_io as io
from wg_autodiff.gradcheck import rho
from wg_io.corpus import corpus_dir

CORPUS = corpus_dir() / "adbench"
needs_corpus = pytest.mark.skipif(
    not CORPUS.is_dir(), reason=f"ADBench corpus not found at {CORPUS}"
)
RNG = np.random.default_rng(7)


def _autograd_objectives() -> dict:
    autograd_numpy = pytest.importorskip("autograd.numpy", reason="autograd is not installed")
    return adb.with_numpy(autograd_numpy)


def test_gmm_gradient_matches_finite_differences() -> None:
    alphas, means, icf, x, gamma, m = adb.gmm_random(3, 4, 20, RNG)
    ad.check_grads(
        lambda a, mu, q: adb.gmm_objective(a, mu, q, x, gamma, m),
        (alphas, means, icf),
        order=1,
        atol=1e-6,
        rtol=1e-6,
    )


def test_gmm_gradient_matches_autograd_and_optimized_mode() -> None:
    import autograd

    fns = _autograd_objectives()
    alphas, means, icf, x, gamma, m = adb.gmm_random(5, 3, 50, RNG)
    want = autograd.grad(lambda *p: fns["gmm_objective"](*p, x, gamma, m), (0, 1, 2))(
        alphas, means, icf
    )
    for optimize in (False, True):
        got = ad.grad(lambda *p: adb.gmm_objective(*p, x, gamma, m), (0, 1, 2), optimize=optimize)(
            alphas, means, icf
        )
        for g, w in zip(got, want, strict=True):
            assert rho(g, w) <= 1e-10


def test_ba_jacobian_blocks_match_autograd() -> None:
    import autograd

    fns = _autograd_objectives()
    cams, X, w, obs, feats = adb.ba_random(3, 5, 8, RNG)
    jac = autograd.jacobian(lambda c: fns["ba_residuals"](c, X[obs[:, 1]], w, feats)[0])(
        cams[obs[:, 0]]
    )
    got = ad.jacrev(lambda c: adb.ba_residuals(c, X[obs[:, 1]], w, feats)[0])(cams[obs[:, 0]])
    assert rho(got, jac) <= 1e-10
    ad.check_grads(lambda c, p, v: adb.ba_objective(c, p, v, obs, feats), (cams, X, w), order=1)


def test_lstm_gradient_with_and_without_checkpoint() -> None:
    main, extra, state, seq = adb.lstm_random(2, 9, 4, RNG)
    plain = ad.grad(lambda p, e: adb.lstm_objective(p, e, state, seq), (0, 1))(main, extra)
    remat = ad.grad(lambda p, e: adb.lstm_objective(p, e, state, seq, segment=3), (0, 1))(
        main, extra
    )
    for a, b in zip(plain, remat, strict=True):
        assert rho(a, b) <= 1e-12
    ad.check_grads(lambda e: adb.lstm_objective(main, e, state, seq), (extra,), order=1)


def test_checkpoint_halves_peak_memory_of_the_lstm_gradient() -> None:
    main, extra, state, seq = adb.lstm_random(2, 96, 14, RNG)

    def peak(segment: int) -> int:
        tracemalloc.start()
        ad.grad(lambda p: adb.lstm_objective(p, extra, state, seq, segment=segment))(main)
        size = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return size

    assert peak(12) * 2 <= peak(0)


@needs_corpus
@pytest.mark.corpus
def test_read_gmm_corpus_file() -> None:
    alphas, means, icf, x, gamma, m = io.read_gmm(CORPUS / "gmm" / "1k" / "gmm_d10_K5.txt")
    assert (alphas.shape, means.shape, icf.shape, x.shape) == ((5,), (5, 10), (5, 55), (1000, 10))
    assert (gamma, m) == (1.0, 0.0)
    assert np.isfinite(adb.gmm_objective(alphas, means, icf, x, gamma, m))


@needs_corpus
@pytest.mark.corpus
def test_read_ba_corpus_file_replicates_the_observation() -> None:
    cams, X, w, obs, feats = io.read_ba(CORPUS / "ba" / "ba1_n49_m7776_p31843.txt")
    assert (cams.shape, X.shape, w.shape, obs.shape) == ((49, 11), (7776, 3), (31843,), (31843, 2))
    assert obs[50].tolist() == [1, 50]
    reproj, werr = adb.ba_objective(cams, X, w, obs, feats)
    assert reproj.shape == (31843, 2)
    assert werr.shape == (31843,)


@needs_corpus
@pytest.mark.corpus
def test_read_lstm_corpus_file() -> None:
    main, extra, state, seq = io.read_lstm(CORPUS / "lstm" / "lstm_l2_c1024.txt")
    assert (main.shape, extra.shape, state.shape, seq.shape) == (
        (2, 2, 56),
        (3, 14),
        (2, 2, 14),
        (1024, 14),
    )


def test_truncated_file_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "gmm.txt"
    path.write_text("2 2 3\n0.5\n")
    with pytest.raises(io.ADBenchFormatError, match=r"gmm.txt: file ends inside alphas"):
        io.read_gmm(path)


def test_bad_header_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "ba.txt"
    path.write_text("n m p\n")
    with pytest.raises(io.ADBenchFormatError, match=r"ba.txt:1: header must be integers"):
        io.read_ba(path)
