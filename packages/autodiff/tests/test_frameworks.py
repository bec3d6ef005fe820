"""ADBench gradients of wg_autodiff against PyTorch and JAX (each skipped when not installed).

The GMM, BA and LSTM objectives are written once below against a small framework namespace
(``xp`` = ``torch`` or ``jax.numpy``, ``lse`` = its logsumexp, ``const`` = NumPy to framework
array), from the same maths as :mod:`wg_autodiff.adbench`, and differentiated by the framework's
own reverse mode in float64.
"""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import wg_autodiff as ad
from wg_autodiff import adbench as adb
from wg_autodiff.gradcheck import rho

RNG = np.random.default_rng(11)


def _gmm(f: Any, alphas: Any, means: Any, icf: Any, x: Any, gamma: float, m: float) -> Any:
    xp = f.xp
    n, d = x.shape
    k = alphas.shape[0]
    q = icf[:, :d]
    qdiags = xp.exp(q)
    sum_qs = xp.sum(q, axis=1)
    padded = xp.concatenate([xp.zeros_like(icf[:, :1]), icf[:, d:]], axis=1)
    lower = padded[:, f.const(adb._tril_gather_index(d))].reshape(k, d, d)
    Ls = lower + qdiags[:, :, None] * f.const(np.eye(d))
    Lx = xp.matmul(x[None, :, :] - means[:, None, :], xp.swapaxes(Ls, 1, 2))
    inner = (alphas + sum_qs)[:, None] - 0.5 * xp.sum(Lx * Lx, axis=2)
    prior = xp.sum(
        0.5 * gamma**2 * (xp.sum(qdiags**2, axis=1) + xp.sum(icf[:, d:] ** 2, axis=1)) - m * sum_qs
    )
    nw = d + m + 1
    c = nw * d * (math.log(gamma) - 0.5 * math.log(2)) - adb._log_gamma_distrib(0.5 * nw, d)
    constant = -n * d * 0.5 * math.log(2 * math.pi)
    return constant + xp.sum(f.lse(inner, 0)) - n * f.lse(alphas, 0) + prior - k * c


def _ba_reproj(f: Any, cams: Any, X: Any, w: Any, feats: Any) -> Any:
    """Reprojection error (p, 2) of gathered cameras and points (Rodrigues, radial distortion)."""
    xp = f.xp
    rot, Y = cams[:, 0:3], X - cams[:, 3:6]
    theta = xp.sqrt(xp.sum(rot * rot, axis=1, keepdims=True))
    u = rot / theta
    cross = xp.stack(
        [
            u[:, 1] * Y[:, 2] - u[:, 2] * Y[:, 1],
            u[:, 2] * Y[:, 0] - u[:, 0] * Y[:, 2],
            u[:, 0] * Y[:, 1] - u[:, 1] * Y[:, 0],
        ],
        axis=1,
    )
    dot = xp.sum(u * Y, axis=1, keepdims=True)
    Xcam = Y * xp.cos(theta) + cross * xp.sin(theta) + u * dot * (1.0 - xp.cos(theta))
    proj = Xcam[:, :2] / Xcam[:, 2:3]
    rsq = xp.sum(proj * proj, axis=1, keepdims=True)
    distortion = 1.0 + cams[:, 9:10] * rsq + cams[:, 10:11] * rsq * rsq
    return w[:, None] * (proj * distortion * cams[:, 6:7] + cams[:, 7:9] - feats)


def _lstm(f: Any, main: Any, extra: Any, state: Any, seq: Any) -> Any:
    xp = f.xp
    c, b = seq.shape
    states = [(state[i, 0], state[i, 1]) for i in range(state.shape[0])]
    total = 0.0
    for t in range(c - 1):
        x = seq[t] * extra[0]
        for layer in range(main.shape[0]):
            hidden, cell = states[layer]
            gates = xp.concatenate([x, hidden, x, hidden]) * main[layer, 0] + main[layer, 1]
            sig = 1.0 / (1.0 + xp.exp(-gates[: 3 * b]))
            cell = cell * sig[:b] + sig[b : 2 * b] * xp.tanh(gates[3 * b :])
            x = sig[2 * b :] * xp.tanh(cell)
            states[layer] = (x, cell)
        ypred = x * extra[1] + extra[2]
        total = total + xp.sum(seq[t + 1] * (ypred - xp.log(xp.sum(xp.exp(ypred)) + 2.0)))
    return -total / ((c - 1) * b)


def _cases() -> dict[str, tuple[Any, tuple[Any, ...], tuple[Any, ...]]]:
    """name -> (objective(f, *active, *data), active inputs, constant data); small instances."""
    alphas, means, icf, x, gamma, m = adb.gmm_random(4, 3, 30, RNG)
    cams, X, w, obs, feats = adb.ba_random(3, 5, 8, RNG)
    main, extra, state, seq = adb.lstm_random(2, 6, 4, RNG)
    return {
        "gmm": (_gmm, (alphas, means, icf), (x, gamma, m)),
        "ba": (_ba_reproj, (cams[obs[:, 0]], X[obs[:, 1]], w), (feats,)),
        "lstm": (_lstm, (main, extra), (state, seq)),
    }


CASES = _cases()


def _wg_gradient(name: str) -> tuple[Any, ...]:
    """wg_autodiff's gradient of the scalar objective (BA: of the sum of squared residuals)."""
    (active, data) = CASES[name][1:]
    if name == "gmm":
        fn = lambda *p: adb.gmm_objective(*p, *data)  # noqa: E731
    elif name == "ba":
        fn = lambda *p: np.sum(adb.ba_residuals(*p, *data)[0] ** 2)  # noqa: E731
    else:
        fn = lambda *p: adb.lstm_objective(*p, *data)  # noqa: E731
    return tuple(ad.grad(fn, argnums=tuple(range(len(active))))(*active))


def _scalar(name: str, f: Any, *args: Any) -> Any:
    out = CASES[name][0](f, *args)
    return f.xp.sum(out**2) if name == "ba" else out


def _assert_close(got: tuple[Any, ...], want: tuple[Any, ...]) -> None:
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert np.shape(g) == np.shape(w)
        assert rho(g, w) <= 1e-10


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradient_matches_pytorch(name: str) -> None:
    torch = pytest.importorskip("torch", reason="PyTorch is not installed (pip install torch)")
    f = SimpleNamespace(xp=torch, lse=torch.logsumexp, const=torch.as_tensor)
    active = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in CASES[name][1]]
    data = [torch.as_tensor(v) if isinstance(v, np.ndarray) else v for v in CASES[name][2]]
    want = torch.autograd.grad(_scalar(name, f, *active, *data), active)
    _assert_close(_wg_gradient(name), tuple(g.numpy() for g in want))


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradient_matches_jax(name: str) -> None:
    jax = pytest.importorskip("jax", reason="JAX is not installed (pip install jax)")
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    from jax.scipy.special import logsumexp

    f = SimpleNamespace(xp=jnp, lse=lambda a, axis: logsumexp(a, axis=axis), const=jnp.asarray)
    active = tuple(jnp.asarray(a, dtype=jnp.float64) for a in CASES[name][1])
    data = [jnp.asarray(v) if isinstance(v, np.ndarray) else v for v in CASES[name][2]]
    grad = jax.grad(lambda *p: _scalar(name, f, *p, *data), argnums=tuple(range(len(active))))
    _assert_close(_wg_gradient(name), tuple(np.asarray(g) for g in grad(*active)))
