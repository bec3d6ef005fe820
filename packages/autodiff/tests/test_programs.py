"""Small real-world NumPy programs, unmodified, through check_grads in both modes (first and
second order against central differences)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import wg_autodiff as ad

RNG = np.random.default_rng(13)
OBSERVATIONS = RNG.standard_normal((5, 1))


def lowpass_energy(signal: np.ndarray, cutoff: float = 0.25) -> Any:
    """Keep the low frequencies of a real signal, then the energy of what is left."""
    spectrum = np.fft.rfft(signal)
    freqs = np.fft.rfftfreq(signal.shape[0])
    filtered = np.fft.irfft(np.where(freqs < cutoff, spectrum, 0.0), n=signal.shape[0])
    power = np.abs(np.fft.fftshift(np.fft.fft(filtered))) ** 2
    return np.sum(filtered**2) + 1e-3 * np.sum(power)


def kalman_log_likelihood(q: np.ndarray, ys: np.ndarray) -> Any:
    """A 2-state constant-velocity Kalman filter; ``q`` scales the process noise."""
    f = np.array([[1.0, 1.0], [0.0, 1.0]])
    h = np.array([[1.0, 0.0]])
    x = np.zeros(2)
    p = np.eye(2)
    process = np.diag(q**2)
    total = 0.0
    for y in ys:
        x = f @ x
        p = f @ p @ f.T + process
        s = h @ p @ h.T + 0.5
        k = p @ h.T @ np.linalg.inv(s)
        r = y - h @ x
        total = total - 0.5 * (r @ np.linalg.solve(s, r) + np.log(np.linalg.det(s)))
        x = x + k @ r
        p = (np.eye(2) - k @ h) @ p
    return total


def gp_marginal_likelihood(log_params: np.ndarray, x: np.ndarray, y: np.ndarray) -> Any:
    """Negative log marginal likelihood of an RBF Gaussian process (Cholesky and solve)."""
    length, signal, noise = np.exp(log_params)
    d2 = (x[:, None] - x[None, :]) ** 2
    k = signal**2 * np.exp(-0.5 * d2 / length**2) + (noise**2 + 1e-6) * np.eye(x.shape[0])
    chol = np.linalg.cholesky(k)
    alpha = np.linalg.solve(chol.T, np.linalg.solve(chol, y))
    return 0.5 * y @ alpha + np.sum(np.log(np.diagonal(chol))) + 0.5 * len(x) * np.log(2 * np.pi)


def pca_loss(data: np.ndarray) -> Any:
    """Reconstruction error of a rank-1 PCA by SVD, plus the top covariance eigenvalue."""
    centred = data - data.mean(axis=0)
    u, s, vt = np.linalg.svd(centred, full_matrices=False)
    rank1 = s[0] * np.outer(u[:, 0], vt[0])
    cov = centred.T @ centred / (data.shape[0] - 1)
    w, v = np.linalg.eigh(cov)
    return np.sum((centred - rank1) ** 2) + w[-1] + np.sum(np.abs(v[:, -1]))


def simulate(velocity: np.ndarray, steps: int = 6, dt: float = 0.1) -> Any:
    """A damped pendulum chain written the usual way: preallocate, then fill step by step."""
    theta = np.zeros_like(velocity)
    trajectory = np.zeros_like(np.zeros((steps, velocity.shape[0])) + velocity)
    for t in range(steps):
        accel = -np.sin(theta) - 0.2 * velocity + 0.1 * (np.roll(theta, 1) - theta)
        velocity = velocity + dt * accel
        theta = theta + dt * velocity
        trajectory[t] = theta
    return trajectory


def heat_step(u: np.ndarray, alpha: np.ndarray) -> Any:
    """Two explicit finite-difference steps of the 2-D heat equation, edges padded."""
    for _ in range(2):
        p = np.pad(u, 1, mode="edge")
        lap = p[:-2, 1:-1] + p[2:, 1:-1] + p[1:-1, :-2] + p[1:-1, 2:] - 4 * u
        periodic = np.roll(u, 1, axis=0) + np.roll(u, -1, axis=1) - 2 * u
        u = u + alpha * lap + 0.05 * periodic
    return u


CASES = {
    "fft_signal": (lowpass_energy, (RNG.standard_normal(16),)),
    "kalman": (lambda q: kalman_log_likelihood(q, OBSERVATIONS), (np.array([0.3, 0.2]),)),
    "gp": (
        lambda p: gp_marginal_likelihood(p, np.linspace(0, 1, 6), np.sin(np.arange(6.0))),
        (np.array([-1.0, 0.2, -1.5]),),
    ),
    "pca": (pca_loss, (RNG.standard_normal((6, 3)) * np.array([3.0, 1.0, 0.3]),)),
    "simulation": (simulate, (RNG.standard_normal(3),)),
    "pde": (heat_step, (RNG.standard_normal((4, 5)), np.array(0.1))),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_program_derivatives_match_finite_differences(name: str) -> None:
    f, args = CASES[name]
    ad.check_grads(f, args, order=2, modes=("fwd", "rev"), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name", sorted(CASES))
def test_program_gradients_agree_across_modes(name: str) -> None:
    f, args = CASES[name]
    rev = ad.jacrev(f)(*args)
    fwd = ad.jacfwd(f)(*args)
    np.testing.assert_allclose(rev, fwd, rtol=1e-10, atol=1e-12)
