"""Hand-written backward passes against wg_autodiff's reverse mode of a plain-NumPy forward pass.

wg_autodiff differentiates unmodified NumPy code; wg_convnet's own forward code writes into
preallocated buffers (im2col), which a tracer cannot follow, so each layer's forward pass is
restated here functionally (slices, einsum, concatenate) and differentiated by wg_autodiff.
Both sides are exact float64 derivatives, so they must agree to rounding (1e-10).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from wg_convnet import (
    AvgPool2D,
    BatchNorm2D,
    Conv2D,
    Dense,
    Flatten,
    LeakyReLU,
    MaxPool2D,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    Tanh,
)
from wg_convnet.convolution import output_size

wg_autodiff = pytest.importorskip("wg_autodiff", reason="wg_autodiff is not installed")
grad = wg_autodiff.grad
RTOL = 1e-10


def close(ours, theirs) -> None:
    np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=RTOL * max(1.0, np.abs(theirs).max()))


def pad(x, p: int, value: float = 0.0):
    if p == 0:
        return x
    n, c, h, w = x.shape
    rows = np.full((n, c, p, w), value)
    x = np.concatenate([rows, x, rows], axis=2)
    cols = np.full((n, c, h + 2 * p, p), value)
    return np.concatenate([cols, x, cols], axis=3)


def offsets(x, k: int, s: int, d: int, oh: int, ow: int):
    for i in range(k):
        for j in range(k):
            r, c = i * d, j * d
            yield i, j, x[:, :, r : r + s * (oh - 1) + 1 : s, c : c + s * (ow - 1) + 1 : s]


def conv_ref(x, w, b, s: int, p: int, d: int):
    k = w.shape[2]
    oh, ow = output_size(x.shape[2], k, s, p, d), output_size(x.shape[3], k, s, p, d)
    out = 0.0
    for i, j, view in offsets(pad(x, p), k, s, d, oh, ow):
        out = out + np.einsum("nchw,fc->nfhw", view, w[:, :, i, j])
    return out + b[None, :, None, None]


def pool_ref(x, k: int, s: int, p: int, kind: str):
    oh, ow = output_size(x.shape[2], k, s, p, 1), output_size(x.shape[3], k, s, p, 1)
    views = [
        v for _, _, v in offsets(pad(x, p, -np.inf if kind == "max" else 0.0), k, s, 1, oh, ow)
    ]
    out = views[0]
    for v in views[1:]:
        out = np.maximum(out, v) if kind == "max" else out + v
    return out if kind == "max" else out / (k * k)


def hand_written(layer, x, weights):
    layer.forward(x, training=True)
    return layer.backward(weights), dict(layer.grads)


@settings(max_examples=15, deadline=None)
@given(
    st.integers(1, 3), st.integers(1, 2), st.integers(0, 2), st.integers(1, 2),
    st.integers(1, 3), st.integers(1, 3), st.integers(0, 99),
)  # fmt: skip
def test_conv2d_matches_wg_autodiff(k, s, p, d, c, f, seed) -> None:
    rng = np.random.default_rng(seed)
    side = d * (k - 1) + 1 + rng.integers(0, 4)
    x = rng.normal(size=(2, c, side, side + 1))
    layer = Conv2D(c, f, k, stride=s, padding=p, dilation=d)
    layer.build(rng, xp=np, dtype=np.float64)
    weights = rng.normal(size=conv_ref(x, layer.params["W"], layer.params["b"], s, p, d).shape)
    dx, grads = hand_written(layer, x, weights)

    def loss(x, w, b):
        return np.sum(conv_ref(x, w, b, s, p, d) * weights)

    gx, gw, gb = grad(loss, argnums=(0, 1, 2))(x, layer.params["W"], layer.params["b"])
    close(dx, gx)
    close(grads["W"], gw)
    close(grads["b"], gb)


@settings(max_examples=15, deadline=None)
@given(
    st.sampled_from(["max", "avg"]), st.integers(1, 3), st.integers(1, 3), st.integers(0, 1),
    st.integers(0, 99),
)  # fmt: skip
def test_pooling_matches_wg_autodiff(kind, k, s, p, seed) -> None:
    p = min(p, k // 2)
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(2, 2, k + 3, k + 4))
    layer = (MaxPool2D if kind == "max" else AvgPool2D)(k, stride=s, padding=p)
    weights = rng.normal(size=pool_ref(x, k, s, p, kind).shape)
    dx, _ = hand_written(layer, x, weights)
    close(dx, grad(lambda x: np.sum(pool_ref(x, k, s, p, kind) * weights))(x))


ACTIVATIONS = {
    "relu": (ReLU(), lambda x: np.maximum(x, 0.0)),
    "leaky": (LeakyReLU(0.1), lambda x: np.where(x > 0, x, 0.1 * x)),
    "sigmoid": (Sigmoid(), lambda x: 1.0 / (1.0 + np.exp(-x))),
    "tanh": (Tanh(), np.tanh),
    "softmax": (
        Softmax(),
        lambda x: (
            np.exp(x - np.max(x, axis=1, keepdims=True))
            / np.sum(np.exp(x - np.max(x, axis=1, keepdims=True)), axis=1, keepdims=True)
        ),
    ),
}


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activations_match_wg_autodiff(name) -> None:
    layer, ref = ACTIVATIONS[name]
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 5))
    weights = rng.normal(size=x.shape)
    dx, _ = hand_written(layer, x, weights)
    close(dx, grad(lambda x: np.sum(ref(x) * weights))(x))


def test_dense_and_batchnorm_match_wg_autodiff() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(5, 4))
    dense = Dense(4, 3)
    dense.build(rng, xp=np, dtype=np.float64)
    weights = rng.normal(size=(5, 3))
    dx, grads = hand_written(dense, x, weights)
    gx, gw = grad(lambda x, w: np.sum((x @ w + dense.params["b"]) * weights), argnums=(0, 1))(
        x, dense.params["W"]
    )
    close(dx, gx)
    close(grads["W"], gw)

    img = rng.normal(1.0, 2.0, size=(3, 2, 4, 4))
    bn = BatchNorm2D(2)
    bn.build(rng, xp=np, dtype=np.float64)
    gamma = rng.uniform(0.5, 2.0, size=2)
    bn.params["gamma"] = gamma
    weights = rng.normal(size=img.shape)
    dx, grads = hand_written(bn, img, weights)

    def loss(x, g):
        m = np.mean(x, axis=(0, 2, 3), keepdims=True)
        v = np.mean((x - m) ** 2, axis=(0, 2, 3), keepdims=True)
        y = (x - m) / np.sqrt(v + bn.eps) * g[None, :, None, None]
        return np.sum(y * weights)

    gx, gg = grad(loss, argnums=(0, 1))(img, gamma)
    close(dx, gx)
    close(grads["gamma"], gg)


def test_network_through_flatten_matches_wg_autodiff() -> None:
    """The dense-into-conv boundary, the worry that started the project."""
    rng = np.random.default_rng(2)
    net = Sequential(
        [Conv2D(2, 3, 3, padding=1), ReLU(), MaxPool2D(2), Conv2D(3, 4, 3), Tanh(), Flatten(),
         Dense(4 * 2 * 2, 5)],
        dtype="float64",
    ).build(3)  # fmt: skip
    x = rng.normal(size=(3, 2, 8, 8))
    labels = np.array([0, 4, 2])
    out = net.forward(x, training=True)
    _, dout = net._loss(out, labels)
    net.backward(dout)
    c1, c2, dense = net.layers[0], net.layers[3], net.layers[6]

    def loss(w1, b1, w2, b2, w3, b3):
        h = np.maximum(conv_ref(x, w1, b1, 1, 1, 1), 0.0)
        h = pool_ref(h, 2, 2, 0, "max")
        h = np.tanh(conv_ref(h, w2, b2, 1, 0, 1))
        z = h.reshape(3, -1) @ w3 + b3
        s = z - np.max(z, axis=1, keepdims=True)
        return np.mean(np.log(np.sum(np.exp(s), axis=1)) - s[np.arange(3), labels])

    params = [c1.params["W"], c1.params["b"], c2.params["W"], c2.params["b"],
              dense.params["W"], dense.params["b"]]  # fmt: skip
    auto = grad(loss, argnums=tuple(range(6)))(*params)
    ours = [c1.grads["W"], c1.grads["b"], c2.grads["W"], c2.grads["b"],
            dense.grads["W"], dense.grads["b"]]  # fmt: skip
    for mine, theirs in zip(ours, auto, strict=True):
        close(mine, theirs)
