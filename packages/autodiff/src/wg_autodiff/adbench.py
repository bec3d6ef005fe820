"""ADBench objectives written in plain NumPy (Srajer, Kukelova & Fitzgibbon 2018).

These are ordinary NumPy functions: :mod:`wg_autodiff` differentiates them unmodified, and the
benchmark suite and the tests share them. Gradients are with respect to the first arguments
(GMM: alphas, means, icf; BA: cams, points, weights; LSTM: main and extra parameters).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from wg_autodiff.custom import checkpoint

# ----------------------------------------------------------------- GMM with a Wishart prior


def _tril_gather_index(d: int) -> np.ndarray:
    """Map each entry of a d x d matrix to its position in ``[0, icf[d:]...]`` (0 = zero entry).

    ADBench stores the strictly lower triangle column by column.
    """
    index = np.zeros((d, d), dtype=np.intp)
    pos = 1
    for j in range(d):
        for i in range(j + 1, d):
            index[i, j] = pos
            pos += 1
    return index.ravel()


def _log_gamma_distrib(a: float, p: int) -> float:
    return 0.25 * p * (p - 1) * math.log(math.pi) + sum(
        math.lgamma(a + 0.5 * (1 - j)) for j in range(1, p + 1)
    )


def _logsumexp(x: Any, axis: int) -> Any:
    m = np.max(x, axis=axis, keepdims=True)
    return np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m


def gmm_objective(
    alphas: Any, means: Any, icf: Any, x: Any, wishart_gamma: float, wishart_m: float
) -> Any:
    """Negative log-likelihood of a Gaussian mixture with a Wishart prior (ADBench's GMM).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> a, mu, icf, x, gamma, m = gmm_random(2, 3, 10, rng)
    >>> round(float(gmm_objective(a, mu, icf, x, gamma, m)), 6)
    8.308985
    """
    n, d = x.shape
    k = alphas.shape[0]
    q = icf[:, :d]
    qdiags = np.exp(q)
    sum_qs = np.sum(q, axis=1)
    padded = np.concatenate([np.zeros((k, 1)), icf[:, d:]], axis=1)
    lower = padded[:, _tril_gather_index(d)].reshape(k, d, d)
    Ls = lower + qdiags[:, :, None] * np.eye(d)
    # np.subtract rather than ``-``: when x is a device array (CuPy, array_api_strict) and the
    # means are traced, x's own operator would reject the foreign operand instead of deferring
    xcentered = np.subtract(x[None, :, :], means[:, None, :])
    Lx = np.matmul(xcentered, np.transpose(Ls, (0, 2, 1)))
    sqsum = np.sum(Lx * Lx, axis=2)
    inner = (alphas + sum_qs)[:, None] - 0.5 * sqsum
    slse = np.sum(_logsumexp(inner, axis=0))
    constant = -n * d * 0.5 * math.log(2 * math.pi)
    lse_alphas = _logsumexp(alphas[None, :], axis=1)[0, 0]
    prior = np.sum(
        0.5 * wishart_gamma**2 * (np.sum(qdiags**2, axis=1) + np.sum(icf[:, d:] ** 2, axis=1))
        - wishart_m * sum_qs
    )
    nw = d + wishart_m + 1
    c = nw * d * (math.log(wishart_gamma) - 0.5 * math.log(2)) - _log_gamma_distrib(0.5 * nw, d)
    return constant + slse - n * lse_alphas + prior - k * c


def gmm_random(d: int, k: int, n: int, rng: np.random.Generator) -> tuple[Any, ...]:
    """A GMM instance of ADBench's sizes: (alphas, means, icf, x, wishart_gamma, wishart_m)."""
    alphas = rng.standard_normal(k)
    means = rng.random((k, d))
    icf = rng.random((k, d + d * (d - 1) // 2))
    x = rng.random((n, d))
    return alphas, means, icf, x, 1.0, 0.0


# ----------------------------------------------------------------- bundle adjustment

ROT, CENTER, FOCAL, X0, RAD = 0, 3, 6, 7, 9


def _cross(a: Any, b: Any) -> Any:
    return np.stack(
        [
            a[:, 1] * b[:, 2] - a[:, 2] * b[:, 1],
            a[:, 2] * b[:, 0] - a[:, 0] * b[:, 2],
            a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0],
        ],
        axis=1,
    )


def _rodrigues(rot: Any, X: Any) -> Any:
    theta = np.sqrt(np.sum(rot * rot, axis=1, keepdims=True))
    cos, sin = np.cos(theta), np.sin(theta)
    w = rot / theta
    tmp = np.sum(w * X, axis=1, keepdims=True) * (1.0 - cos)
    return X * cos + _cross(w, X) * sin + w * tmp


def ba_residuals(cams: Any, X: Any, w: Any, feats: Any) -> tuple[Any, Any]:
    """Per-observation reprojection error (p, 2) and Zach weight error (p,).

    ``cams`` (p, 11) and ``X`` (p, 3) are the camera and point of each observation (gathered).
    Rotations must be non-zero (ADBench's data are).
    """
    Xcam = _rodrigues(cams[:, ROT : ROT + 3], X - cams[:, CENTER : CENTER + 3])
    proj = Xcam[:, :2] / Xcam[:, 2:3]
    rsq = np.sum(proj * proj, axis=1, keepdims=True)
    distortion = 1.0 + cams[:, RAD : RAD + 1] * rsq + cams[:, RAD + 1 : RAD + 2] * rsq * rsq
    projected = proj * distortion * cams[:, FOCAL : FOCAL + 1] + cams[:, X0 : X0 + 2]
    return w[:, None] * (projected - feats), 1.0 - w * w


def ba_objective(cams: Any, X: Any, w: Any, obs: Any, feats: Any) -> tuple[Any, Any]:
    """ADBench BA: residuals of all observations (``obs[i] = (camera, point)``)."""
    return ba_residuals(cams[obs[:, 0]], X[obs[:, 1]], w, feats)


def ba_random(n: int, m: int, p: int, rng: np.random.Generator) -> tuple[Any, ...]:
    """A BA instance: (cams, X, w, obs, feats) with ADBench's observation pattern."""
    cams = rng.random((n, 11)) + np.array([0.1, 0.1, 0.1, 0, 0, -5.0, 0, 0, 0, 0, 0])
    X = rng.random((m, 3))
    w = rng.random(p)
    obs = np.stack([np.arange(p) % n, np.arange(p) % m], axis=1)
    feats = rng.random((p, 2))
    return cams, X, w, obs, feats


# ----------------------------------------------------------------- LSTM


def _sigmoid(x: Any) -> Any:
    return 1.0 / (1.0 + np.exp(-x))


def _lstm_cell(weight: Any, bias: Any, hidden: Any, cell: Any, inp: Any) -> tuple[Any, Any]:
    b = inp.shape[0]
    gates = np.concatenate([inp, hidden, inp, hidden]) * weight + bias
    forget = _sigmoid(gates[:b])
    ingate = _sigmoid(gates[b : 2 * b])
    outgate = _sigmoid(gates[2 * b : 3 * b])
    change = np.tanh(gates[3 * b :])
    cell = cell * forget + ingate * change
    return outgate * np.tanh(cell), cell


def _lstm_steps(main: Any, extra: Any, state: Any, seq: Any, total: Any) -> tuple[Any, Any]:
    """Run the model over ``seq`` (steps x b), predicting each next symbol."""
    for t in range(seq.shape[0] - 1):
        x = seq[t] * extra[0]
        new_state = []
        for layer in range(main.shape[0]):
            hidden, cell = _lstm_cell(
                main[layer, 0], main[layer, 1], state[layer][0], state[layer][1], x
            )
            new_state.append((hidden, cell))
            x = hidden
        state = new_state
        ypred = x * extra[1] + extra[2]
        ynorm = ypred - np.log(np.sum(np.exp(ypred)) + 2.0)
        total = total + np.sum(seq[t + 1] * ynorm)
    return state, total


def lstm_objective(main: Any, extra: Any, state: Any, seq: Any, segment: int = 0) -> Any:
    """ADBench LSTM loss. ``main`` (l, 2, 4b), ``extra`` (3, b), ``state`` (l, 2, b), ``seq``
    (c, b). ``segment > 0`` rematerialises every ``segment`` steps (:func:`checkpoint`)."""
    c, b = seq.shape
    states = [(state[i, 0], state[i, 1]) for i in range(state.shape[0])]
    total: Any = 0.0
    step = segment if segment > 0 else c
    run = checkpoint(_lstm_steps) if segment > 0 else _lstm_steps
    for start in range(0, c - 1, step):
        states, total = run(main, extra, states, seq[start : start + step + 1], total)
    return -total / ((c - 1) * b)


def lstm_random(l: int, c: int, b: int, rng: np.random.Generator) -> tuple[Any, ...]:  # noqa: E741
    """An LSTM instance: (main, extra, state, seq)."""
    return (
        rng.random((l, 2, 4 * b)),
        rng.random((3, b)),
        rng.random((l, 2, b)),
        rng.random((c, b)),
    )


def with_numpy(module: Any) -> dict[str, Any]:
    """These objectives compiled against another NumPy-like module (e.g. ``autograd.numpy``).

    The source is unchanged; only the global ``np`` differs. Used to compare with autograd.

    Examples
    --------
    >>> fns = with_numpy(np)
    >>> round(float(fns["gmm_objective"](*gmm_random(2, 2, 3, np.random.default_rng(0)))), 6)
    10.285134
    """
    import inspect
    import sys

    source = inspect.getsource(sys.modules[__name__])
    namespace: dict[str, Any] = {"__name__": f"{__name__}_with_{module.__name__}"}
    exec(compile(source, __file__, "exec"), namespace)
    namespace["np"] = module
    return namespace
