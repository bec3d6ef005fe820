"""Sequential(threads=N): sharded forward/backward equals one thread and stays reproducible."""

from __future__ import annotations

import numpy as np
import pytest
from wg_convnet import (
    SGD,
    Adam,
    BatchNorm2D,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    MaxPool2D,
    ReLU,
    Sequential,
    ShapeError,
    Softmax,
)
from wg_convnet.losses import softmax_cross_entropy


def step_net(threads: int, dtype: str = "float64") -> Sequential:
    return Sequential(
        [Conv2D(1, 4, 3), ReLU(), MaxPool2D(2), Conv2D(4, 8, 3, padding=1), ReLU(), MaxPool2D(2),
         Flatten(), Dense(8 * 3 * 3, 5), Softmax()],
        threads=threads, dtype=dtype,
    ).build(3)  # fmt: skip


def one_step(net: Sequential, x: np.ndarray, y: np.ndarray):
    out = net.forward(x, training=True)
    loss, grad = softmax_cross_entropy(out, y)
    net.backward(grad)
    return out, loss, [g.copy() for g in net.parameters()[1]]


@pytest.mark.parametrize("threads", [2, 3, 7])
def test_sharded_step_equals_one_thread(threads) -> None:
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(7, 1, 14, 14)), rng.integers(0, 5, size=7)
    out1, loss1, grads1 = one_step(step_net(1), x, y)
    net = step_net(threads)
    out2, loss2, grads2 = one_step(net, x, y)
    assert net._shards is not None
    assert len(net._shards[0]) == threads
    np.testing.assert_allclose(out2, out1, rtol=1e-12, atol=1e-12)
    assert loss2 == pytest.approx(loss1, rel=1e-12)
    assert len(grads2) == len(grads1) == 6
    for mine, ref in zip(grads2, grads1, strict=True):
        np.testing.assert_allclose(mine, ref, rtol=1e-10, atol=1e-12)


def test_sharded_step_is_deterministic_and_uses_channel_major_conv() -> None:
    rng = np.random.default_rng(1)
    x, y = rng.random((16, 1, 14, 14), dtype=np.float32), rng.integers(0, 5, size=16)
    runs = [one_step(step_net(2, "float32"), x, y)[2] for _ in range(3)]
    for other in runs[1:]:
        for a, b in zip(runs[0], other, strict=True):
            np.testing.assert_array_equal(a, b)
            assert a.dtype == np.float32


def test_fit_with_threads_is_reproducible_and_matches_one_thread() -> None:
    rng = np.random.default_rng(2)
    X = rng.normal(size=(96, 1, 14, 14)).astype(np.float32)
    y = (X[:, 0, :7].sum(axis=(1, 2)) > X[:, 0, 7:].sum(axis=(1, 2))).astype(np.int64)
    fits = [
        step_net(t).fit(X, y, epochs=3, batch_size=32, optimizer=Adam(1e-2), seed=4, verbose=False)
        for t in (2, 2, 1)
    ]
    np.testing.assert_array_equal(fits[0].layers[0].params["W"], fits[1].layers[0].params["W"])
    assert [r["loss"] for r in fits[0].history_] == [r["loss"] for r in fits[1].history_]
    assert fits[0].history_[-1]["loss"] < fits[0].history_[0]["loss"]
    # float64: two threads differ from one only by the rounding of the gradient sums
    np.testing.assert_allclose(
        fits[0].layers[0].params["W"], fits[2].layers[0].params["W"], rtol=1e-8, atol=1e-10
    )


@pytest.mark.parametrize("extra", [Dropout(0.2), BatchNorm2D(2)], ids=repr)
def test_batch_coupled_layers_stay_on_one_thread(extra) -> None:
    layers = [Conv2D(1, 2, 3), extra, Flatten(), Dense(2 * 4 * 4, 3)]
    net = Sequential(layers, threads=2).build(0)
    x = np.random.default_rng(0).normal(size=(4, 1, 6, 6)).astype(np.float32)
    out = net.forward(x, training=True)
    net.backward(np.ones_like(out))
    assert net._shards is None
    SGD(0.1).step(*net.parameters())


def test_shape_errors_from_a_shard_name_the_layer() -> None:
    net = step_net(2)
    with pytest.raises(ShapeError, match=r"layer 0 Conv2D.*\(N, 1, H, W\)"):
        net.forward(np.zeros((4, 2, 14, 14)), training=True)


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_bad_thread_counts_are_refused(bad) -> None:
    with pytest.raises(ValueError, match="threads must be an integer >= 1"):
        Sequential([Dense(2, 2)], threads=bad)
    net = Sequential([Dense(2, 2)])
    with pytest.raises(ValueError, match="threads must be an integer >= 1"):
        net.threads = bad


def test_train_records_the_threads_actually_used() -> None:
    pytest.importorskip("sklearn", reason="the digits dataset needs scikit-learn")
    from wg_convnet.training import train

    # the digits network has BatchNorm2D and Dropout: it cannot be sharded
    assert train("digits", epochs=1, threads=2, verbose=False)["threads"] == 1


def test_kept_replicas_follow_replaced_parameters() -> None:
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(6, 1, 14, 14)), rng.integers(0, 5, size=6)
    net, ref = step_net(2), step_net(1)
    one_step(net, x, y)
    for model in (net, ref):  # new dicts, as build() or a user would make
        model.layers[3].params = {k: v * 0.5 for k, v in model.layers[3].params.items()}
    out, _, grads = one_step(net, x, y)
    out_ref, _, grads_ref = one_step(ref, x, y)
    np.testing.assert_allclose(out, out_ref, rtol=1e-12, atol=1e-12)
    for mine, theirs in zip(grads, grads_ref, strict=True):
        np.testing.assert_allclose(mine, theirs, rtol=1e-10, atol=1e-12)


def test_conv_replicas_have_their_own_column_buffers() -> None:
    conv = step_net(1).layers[3]
    conv.forward(np.zeros((2, 4, 6, 6)), training=True)
    assert conv._col_buffers
    twin = conv.replica()
    assert twin.params is conv.params
    assert twin.grads is not conv.grads
    assert "_col_buffers" not in twin.__dict__
