"""Portability: the rules compute with the namespace of the underlying arrays.

``array_api_strict`` is a minimal array-API library on the CPU standing in for CuPy or torch on a
GPU: the user's function stays plain NumPy code, the arrays it receives are strict arrays.
"""

from __future__ import annotations

import numpy as np
import pytest
import wg_autodiff as ad

xp = pytest.importorskip("array_api_strict", reason="array_api_strict is not installed")


def _np(a: object) -> np.ndarray:
    return np.from_dlpack(a)


def loss(w: np.ndarray, x: np.ndarray) -> np.ndarray:
    # np.matmul, not ``x @ w``: a strict array's own operators reject foreign operand types
    # (they raise instead of returning NotImplemented), so the tracer never gets a turn.
    h = np.tanh(np.matmul(x, w))
    m = np.max(h, axis=1, keepdims=True)
    return np.sum(np.log(np.sum(np.exp(h - m), axis=1)) + m[:, 0]) + np.sum(w**2) / 2.0


def test_gradient_on_strict_arrays_matches_numpy() -> None:
    rng = np.random.default_rng(0)
    w, x = rng.standard_normal((3, 2)), rng.standard_normal((4, 3))
    g_np = ad.grad(loss)(w, x)
    g_strict = ad.grad(loss)(xp.asarray(w), xp.asarray(x))
    assert type(g_strict) is type(xp.asarray(w))
    np.testing.assert_allclose(_np(g_strict), g_np, rtol=1e-12)


def test_forward_mode_and_linalg_on_strict_arrays() -> None:
    a = np.array([[2.0, 0.5], [0.5, 3.0]])

    def f(m: np.ndarray) -> np.ndarray:
        return np.sum(np.linalg.inv(m) * np.exp(m)) + np.linalg.slogdet(m)[1]

    want = ad.jvp(f, (a,), (np.ones((2, 2)),))[1]
    got = ad.jvp(f, (xp.asarray(a),), (xp.ones((2, 2), dtype=xp.float64),))[1]
    np.testing.assert_allclose(_np(got), want, rtol=1e-12)


def test_no_numpy_array_leaks_into_strict_computation() -> None:
    g = ad.grad(lambda v: np.sum(np.sin(v[1:]) * v[:-1]))(xp.asarray([0.1, 0.2, 0.3]))
    assert type(g) is type(xp.asarray([0.0]))


def test_gmm_gradient_on_strict_arrays_matches_numpy() -> None:
    """The ADBench GMM mixes NumPy constants (np.zeros, np.eye, index arrays) with device data."""
    from wg_autodiff import adbench as adb

    alphas, means, icf, x, gamma, m = adb.gmm_random(3, 2, 7, np.random.default_rng(0))
    want = ad.grad(lambda *p: adb.gmm_objective(*p, x, gamma, m), (0, 1, 2))(alphas, means, icf)
    x_dev = xp.asarray(x)
    got = ad.grad(lambda *p: adb.gmm_objective(*p, x_dev, gamma, m), (0, 1, 2))(
        xp.asarray(alphas), xp.asarray(means), xp.asarray(icf)
    )
    for g, w in zip(got, want, strict=True):
        assert type(g) is type(x_dev)
        np.testing.assert_allclose(_np(g), w, rtol=1e-12, atol=1e-12)
