"""Hand-written backward passes against wg_autodiff's reverse mode of the layers' own forward code.

wg_autodiff traces unmodified NumPy code through ``__array_function__``; wg_convnet's forward
passes are functional (no writes into buffers) and resolve tracers to the NumPy namespace
(``wg_convnet.backend``), so ``grad`` differentiates exactly the code that ``forward`` runs. Both
sides are exact float64 derivatives and must agree to rounding (1e-10).
"""

from __future__ import annotations

import numpy as np
import pytest
import wg_convnet as cn
import wg_convnet.layers as layers_mod
from hypothesis import given, settings
from hypothesis import strategies as st
from wg_convnet.layer import Layer

wg_autodiff = pytest.importorskip("wg_autodiff", reason="wg_autodiff is not installed")
grad = wg_autodiff.grad
RTOL = 1e-10


def close(ours, theirs) -> None:
    scale = max(1.0, float(np.abs(theirs).max()))
    np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=RTOL * scale)


def reference_cross_entropy(z, labels: np.ndarray):
    """Mean softmax cross-entropy of logits ``z`` written out in NumPy, for wg_autodiff to trace."""
    s = z - np.max(z, axis=1, keepdims=True)
    return np.mean(np.log(np.sum(np.exp(s), axis=1)) - s[np.arange(len(labels)), labels])


def compare(layer: Layer, x: np.ndarray, seed: int) -> None:
    """d sum(R * forward(x, params)) by hand (backward) and by wg_autodiff (of forward)."""
    names = sorted(layer.params)
    weights = np.random.default_rng([seed, 9]).normal(size=layer.forward(x).shape)
    layer.forward(x, training=True)
    dx = layer.backward(weights)
    hand = [layer.grads[name] for name in names]
    values = [layer.params[name] for name in names]

    def loss(x, *params):
        saved = dict(layer.params)
        layer.params = dict(zip(names, params, strict=True))
        try:
            return np.sum(layer.forward(x, training=True) * weights)
        finally:
            layer.params = saved

    auto = grad(loss, argnums=tuple(range(len(names) + 1)))(x, *values)
    close(dx, auto[0])
    for mine, theirs in zip(hand, auto[1:], strict=True):
        close(mine, theirs)


@settings(max_examples=15, deadline=None)
@given(
    k=st.integers(1, 3), s=st.integers(1, 2), p=st.integers(0, 2), d=st.integers(1, 2),
    c=st.integers(1, 4), f=st.integers(1, 3), seed=st.integers(0, 99),
)  # fmt: skip
def test_conv2d_matches_wg_autodiff(k, s, p, d, c, f, seed) -> None:
    rng = np.random.default_rng(seed)
    side = d * (k - 1) + 1 + int(rng.integers(0, 4))
    layer = cn.Conv2D(c, f, k, stride=s, padding=p, dilation=d)
    layer.build(rng, xp=np, dtype=np.float64)
    compare(layer, rng.normal(size=(2, c, side, side + 1)), seed)


@pytest.mark.parametrize(
    ("min_k", "nhwc_min_channels"),
    [(1, 10**9), (1, 1), (10**9, 10**9)],
    ids=["channel-major", "channel-major-nhwc-input-grad", "per-sample"],
)
def test_conv2d_both_layouts_and_chunks_match_wg_autodiff(
    min_k, nhwc_min_channels, monkeypatch
) -> None:
    monkeypatch.setattr(layers_mod, "CHANNEL_MAJOR_MIN_K", min_k)
    monkeypatch.setattr("wg_convnet.conv_numpy.NHWC_MIN_CHANNELS", nhwc_min_channels)
    monkeypatch.setattr(layers_mod, "CACHE_BYTES", 0)
    monkeypatch.setattr("wg_convnet.convolution.SCRATCH_BYTES", 1)  # one sample per chunk
    rng = np.random.default_rng(0)
    layer = cn.Conv2D(3, 2, 3, padding=1)
    layer.build(rng, xp=np, dtype=np.float64)
    compare(layer, rng.normal(size=(3, 3, 5, 5)), 0)


@settings(max_examples=15, deadline=None)
@given(
    st.sampled_from([cn.MaxPool2D, cn.AvgPool2D]), st.integers(1, 3), st.integers(1, 3),
    st.integers(0, 1), st.integers(0, 99),
)  # fmt: skip
def test_pooling_matches_wg_autodiff(cls, k, s, p, seed) -> None:
    x = np.random.default_rng(seed).normal(size=(2, 2, k + 3, k + 4))
    compare(cls(k, stride=s, padding=min(p, k // 2)), x, seed)


@pytest.mark.parametrize(
    "layer",
    [cn.ReLU(), cn.LeakyReLU(0.1), cn.Sigmoid(), cn.Tanh(), cn.Softmax(), cn.Flatten()],
    ids=repr,
)
def test_activations_and_flatten_match_wg_autodiff(layer) -> None:
    rng = np.random.default_rng(0)
    shape = (4, 5) if isinstance(layer, cn.Softmax) else (2, 3, 4, 4)
    compare(layer, rng.normal(size=shape), 0)


def test_dense_batchnorm_dropout_match_wg_autodiff() -> None:
    rng = np.random.default_rng(1)
    dense = cn.Dense(4, 3)
    dense.build(rng, xp=np, dtype=np.float64)
    compare(dense, rng.normal(size=(5, 4)), 1)
    bn = cn.BatchNorm2D(2)
    bn.build(rng, xp=np, dtype=np.float64)
    bn.params["gamma"] = rng.uniform(0.5, 2.0, size=2)
    compare(bn, rng.normal(1.0, 2.0, size=(3, 2, 4, 4)), 2)

    class SeededDropout(cn.Dropout):
        def forward(self, x, *, training=False):
            self.rng = np.random.default_rng(5)  # the same mask on every call
            return super().forward(x, training=training)

    compare(SeededDropout(0.3), rng.normal(size=(4, 6)), 3)


def test_network_through_flatten_matches_wg_autodiff() -> None:
    """The dense-into-conv boundary, the worry that started the project: Sequential.forward."""
    rng = np.random.default_rng(2)
    net = cn.Sequential(
        [cn.Conv2D(2, 3, 3, padding=1), cn.ReLU(), cn.MaxPool2D(2), cn.Conv2D(3, 4, 3), cn.Tanh(),
         cn.Flatten(), cn.Dense(4 * 2 * 2, 5)],
        dtype="float64",
    ).build(3)  # fmt: skip
    x = rng.normal(size=(3, 2, 8, 8))
    labels = np.array([0, 4, 2])
    _, dout = cn.softmax_cross_entropy(net.forward(x, training=True), labels)
    net.backward(dout)
    params, hand = net.parameters()
    hand = [g.copy() for g in hand]
    slots = [(layer, name) for layer in net.layers for name in sorted(layer.params)]

    def loss(*values):
        for (layer, name), value in zip(slots, values, strict=True):
            layer.params[name] = value
        return reference_cross_entropy(net.forward(x, training=True), labels)

    auto = grad(loss, argnums=tuple(range(len(params))))(*params)
    for mine, theirs in zip(hand, auto, strict=True):
        close(mine, theirs)


def test_softmax_cross_entropy_gradient_matches_wg_autodiff() -> None:
    logits = np.random.default_rng(4).normal(size=(6, 4)) * 3
    labels = np.array([0, 1, 2, 3, 0, 1])
    _, mine = cn.softmax_cross_entropy(logits, labels)

    close(mine, grad(lambda z: reference_cross_entropy(z, labels))(logits))
