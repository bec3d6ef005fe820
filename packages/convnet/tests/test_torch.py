"""Outputs and gradients against torch.nn.functional in float32 (skipped when torch is absent)."""

from __future__ import annotations

import numpy as np
import pytest
import wg_convnet as cn
from hypothesis import given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch", reason="torch is not installed (pip install torch)")
F = torch.nn.functional
TOL = 1e-4


def close(ours: np.ndarray, theirs) -> None:
    theirs = theirs.detach().numpy()
    scale = max(1.0, float(np.abs(theirs).max()))
    np.testing.assert_allclose(ours, theirs, rtol=TOL, atol=TOL * scale)


def run(layer, x: np.ndarray, seed: int):
    y = layer.forward(x, training=True)
    dy = np.random.default_rng([seed, 3]).normal(size=y.shape).astype(np.float32)
    return y, dy, layer.backward(dy)


@settings(max_examples=15, deadline=None)
@given(
    st.integers(1, 4), st.integers(1, 3), st.integers(0, 2), st.integers(1, 2),
    st.integers(1, 3), st.integers(1, 4), st.integers(0, 99),
)  # fmt: skip
def test_conv2d_matches_torch(k, s, p, d, c, f, seed) -> None:
    h = d * (k - 1) + 1 + 5
    x = np.random.default_rng(seed).normal(size=(2, c, h, h + 2)).astype(np.float32)
    layer = cn.Conv2D(c, f, k, stride=s, padding=p, dilation=d)
    layer.build(np.random.default_rng(seed), xp=np, dtype=np.float32)
    y, dy, dx = run(layer, x, seed)
    tx = torch.tensor(x, requires_grad=True)
    tw = torch.tensor(layer.params["W"], requires_grad=True)
    tb = torch.tensor(layer.params["b"], requires_grad=True)
    ty = F.conv2d(tx, tw, tb, stride=s, padding=p, dilation=d)
    ty.backward(torch.tensor(dy))
    close(y, ty)
    close(dx, tx.grad)
    close(layer.grads["W"], tw.grad)
    close(layer.grads["b"], tb.grad)


@pytest.mark.parametrize(
    ("k", "s", "p", "d"), [(3, 1, 0, 1), (3, 1, 1, 1), (3, 2, 1, 1), (2, 1, 0, 2)]
)
def test_conv2d_with_many_channels_matches_torch(k, s, p, d) -> None:
    """16+ input channels: the NumPy fast path computes the input gradient channels-last."""
    x = np.random.default_rng(k + s).normal(size=(3, 17, 9, 10)).astype(np.float32)
    layer = cn.Conv2D(17, 6, k, stride=s, padding=p, dilation=d)
    layer.build(np.random.default_rng(1), xp=np, dtype=np.float32)
    y, dy, dx = run(layer, x, 1)
    assert layer._fast
    tx, tw, tb = (
        torch.tensor(a, requires_grad=True) for a in (x, layer.params["W"], layer.params["b"])
    )
    ty = F.conv2d(tx, tw, tb, stride=s, padding=p, dilation=d)
    ty.backward(torch.tensor(dy))
    for ours, theirs in [(y, ty), (dx, tx.grad), (layer.grads["W"], tw.grad),
                         (layer.grads["b"], tb.grad)]:  # fmt: skip
        close(ours, theirs)


@pytest.mark.parametrize(("k", "s", "p"), [(2, 2, 0), (3, 2, 1), (3, 1, 1), (2, 1, 0)])
@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pooling_matches_torch(kind, k, s, p) -> None:
    x = np.random.default_rng(0).normal(size=(2, 3, 9, 8)).astype(np.float32)
    layer = cn.MaxPool2D(k, s, p) if kind == "max" else cn.AvgPool2D(k, s, p)
    y, dy, dx = run(layer, x, 0)
    tx = torch.tensor(x, requires_grad=True)
    fn = F.max_pool2d if kind == "max" else F.avg_pool2d
    ty = fn(tx, k, s, p)
    ty.backward(torch.tensor(dy))
    close(y, ty)
    close(dx, tx.grad)


def test_dense_batchnorm_and_activations_match_torch() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(6, 5)).astype(np.float32)
    dense = cn.Dense(5, 4)
    dense.build(rng, xp=np, dtype=np.float32)
    y, dy, dx = run(dense, x, 1)
    tx = torch.tensor(x, requires_grad=True)
    tw = torch.tensor(dense.params["W"].T.copy(), requires_grad=True)
    ty = F.linear(tx, tw, torch.tensor(dense.params["b"]))
    ty.backward(torch.tensor(dy))
    close(y, ty)
    close(dx, tx.grad)
    close(dense.grads["W"], tw.grad.T)
    for ours, theirs in [
        (cn.LeakyReLU(0.1), lambda t: F.leaky_relu(t, 0.1)),
        (cn.Sigmoid(), torch.sigmoid),
        (cn.Tanh(), torch.tanh),
        (cn.Softmax(), lambda t: F.softmax(t, dim=1)),
    ]:
        y, dy, dx = run(ours, x, 2)
        tx = torch.tensor(x, requires_grad=True)
        ty = theirs(tx)
        ty.backward(torch.tensor(dy))
        close(y, ty)
        close(dx, tx.grad)
    img = rng.normal(2.0, 3.0, size=(4, 3, 5, 5)).astype(np.float32)
    bn = cn.BatchNorm2D(3)
    bn.build(rng, xp=np, dtype=np.float32)
    y, dy, dx = run(bn, img, 3)
    tx = torch.tensor(img, requires_grad=True)
    rm, rv = torch.zeros(3), torch.ones(3)
    ty = F.batch_norm(tx, rm, rv, torch.ones(3), torch.zeros(3), training=True, momentum=0.1)
    ty.backward(torch.tensor(dy))
    close(y, ty)
    close(dx, tx.grad)
    close(bn.state["running_var"], rv)


def test_cross_entropy_matches_torch() -> None:
    logits = np.random.default_rng(4).normal(size=(7, 5)).astype(np.float32) * 10
    labels = np.array([0, 1, 2, 3, 4, 0, 1])
    loss, grad = cn.softmax_cross_entropy(logits, labels)
    t = torch.tensor(logits, requires_grad=True)
    tl = F.cross_entropy(t, torch.tensor(labels))
    tl.backward()
    assert loss == pytest.approx(float(tl.detach()), rel=TOL)
    close(grad, t.grad)


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (lambda: cn.SGD(0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
         lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
        (lambda: cn.Adam(0.01, weight_decay=0.01),
         lambda p: torch.optim.Adam(p, lr=0.01, weight_decay=0.01)),
    ],
)  # fmt: skip
def test_optimizers_follow_torch_update_rules(ours, theirs) -> None:
    rng = np.random.default_rng(5)
    w = rng.normal(size=(3, 4)).astype(np.float32)
    tw = torch.tensor(w.copy(), requires_grad=True)
    opt, topt = ours(), theirs([tw])
    for _ in range(5):
        g = rng.normal(size=w.shape).astype(np.float32)
        opt.step([w], [g])
        tw.grad = torch.tensor(g)
        topt.step()
    close(w, tw)


def test_fit_on_torch_tensors_through_the_array_api() -> None:
    """The GPU code path (torch arrays via array-api-compat), exercised on the CPU."""
    from wg_convnet.datasets import load_dataset

    data = load_dataset("lines", n_train=64, n_test=8)
    layers = lambda: [cn.Conv2D(1, 4, 3, padding=1), cn.ReLU(), cn.MaxPool2D(2),  # noqa: E731
                      cn.Flatten(), cn.Dense(4 * 8 * 8, 3)]  # fmt: skip
    kwargs = {"epochs": 2, "batch_size": 16, "seed": 0, "verbose": False}
    ours = cn.Sequential(layers()).fit(
        data.X_train, data.y_train, optimizer=cn.Adam(1e-2), **kwargs
    )
    theirs = cn.Sequential(layers()).fit(
        torch.tensor(data.X_train), torch.tensor(data.y_train), optimizer=cn.Adam(1e-2), **kwargs
    )
    proba = theirs.predict_proba(torch.tensor(data.X_test))
    assert isinstance(proba, torch.Tensor)
    close(ours.predict_proba(data.X_test), proba)
