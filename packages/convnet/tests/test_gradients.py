"""Every hand-written backward pass against central finite differences (float64, rel err 1e-6)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import wg_convnet as cn
import wg_convnet.layers as layers_mod
from hypothesis import given, settings
from hypothesis import strategies as st
from wg_convnet import convolution as conv_mod
from wg_convnet.layer import Layer

EPS = 1e-6
RTOL = 1e-6
SETTINGS = settings(max_examples=25, deadline=None)


def directional_check(f: Callable[[], float], target: np.ndarray, grad: np.ndarray, rng) -> None:
    """Compare <grad, v> with (f(t + eps v) - f(t - eps v)) / 2 eps for a random direction v."""
    v = rng.normal(size=target.shape)
    analytic = float(np.sum(grad * v))
    target += EPS * v
    plus = f()
    target -= 2 * EPS * v
    minus = f()
    target += EPS * v
    numeric = (plus - minus) / (2 * EPS)
    # relative to the gradient's size (the typical |<g, v>| for a standard normal v is ||g||), so a
    # direction nearly orthogonal to g does not turn rounding noise into a "relative" error
    scale = max(abs(analytic), abs(numeric), float(np.linalg.norm(grad)), 1e-3)
    assert abs(analytic - numeric) <= RTOL * scale, (analytic, numeric)


def check_layer(layer: Layer, x: np.ndarray, seed: int, reseed: Callable[[], None] = lambda: None):
    # a stream independent of the one that drew x (same seed would make weights affine in x)
    rng = np.random.default_rng([seed, 7])
    reseed()
    y = layer.forward(x, training=True)
    weights = rng.normal(size=y.shape)
    dx = layer.backward(weights.copy())
    grads = {k: v.copy() for k, v in layer.grads.items()}
    assert dx.shape == x.shape
    assert set(grads) == set(layer.params)

    def f() -> float:
        reseed()
        return float(np.sum(weights * layer.forward(x, training=True)))

    for _ in range(2):
        directional_check(f, x, dx, rng)
        for name, param in layer.params.items():
            directional_check(f, param, grads[name], rng)


def built(layer: Layer, seed: int = 0) -> Layer:
    layer.build(np.random.default_rng(seed), xp=np, dtype=np.float64)
    return layer


@st.composite
def conv_cases(draw):
    k = draw(st.integers(1, 4))
    d = draw(st.integers(1, 3))
    p = draw(st.integers(0, 2))
    s = draw(st.integers(1, 3))
    span = d * (k - 1) + 1
    h = draw(st.integers(max(1, span - 2 * p), span - 2 * p + 6))
    w = draw(st.integers(max(1, span - 2 * p), span - 2 * p + 6))
    n, c, f = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 4))
    return (
        cn.Conv2D(c, f, k, stride=s, padding=p, dilation=d),
        (n, c, h, w),
        draw(st.integers(0, 99)),
    )


@SETTINGS
@given(conv_cases())
def test_conv2d_backward_matches_finite_differences(case) -> None:
    layer, shape, seed = case
    x = np.random.default_rng(seed).normal(size=shape)
    check_layer(built(layer, seed), x, seed)


#: NHWC_MIN_CHANNELS values that send every case down one input-gradient path of conv_numpy
INPUT_GRAD_PATHS = {"nhwc": 1, "channel-major": 10**9}


@SETTINGS
@given(conv_cases(), st.sampled_from(sorted(INPUT_GRAD_PATHS)))
def test_conv2d_numpy_fast_path_matches_finite_differences(case, input_grad_path) -> None:
    layer, shape, seed = case
    x = np.random.default_rng(seed).normal(size=shape)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(layers_mod, "CHANNEL_MAJOR_MIN_K", 1)  # every case takes conv_numpy's path
        mp.setattr(cn.conv_numpy, "NHWC_MIN_CHANNELS", INPUT_GRAD_PATHS[input_grad_path])
        check_layer(built(layer, seed), x, seed)
        assert layer._fast


@SETTINGS
@given(conv_cases(), st.booleans(), st.sampled_from(sorted(INPUT_GRAD_PATHS)))
def test_conv2d_numpy_fast_path_equals_array_api_path(case, chunked, input_grad_path) -> None:
    layer, shape, seed = case
    x = np.random.default_rng(seed).normal(size=shape)
    built(layer, seed)
    results = []
    for fast in (True, False):
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(layers_mod, "CHANNEL_MAJOR_MIN_K", 1)
            mp.setattr(cn.conv_numpy, "NHWC_MIN_CHANNELS", INPUT_GRAD_PATHS[input_grad_path])
            mp.setattr(layers_mod, "NUMPY_FAST_PATH", fast)
            mp.setattr(cn.conv_numpy, "INPUT_GRAD_BYTES", 1)  # groups of one sample inside a chunk
            if chunked:
                mp.setattr(conv_mod, "SCRATCH_BYTES", 1)
                mp.setattr(layers_mod, "CACHE_BYTES", 0)
            y = layer.forward(x, training=True)
            dx = layer.backward(np.cos(y))
            assert layer._fast is fast
            assert layer._step == (1 if chunked else shape[0])
            results.append((y, dx, layer.grads["W"].copy(), layer.grads["b"].copy()))
    for ours, theirs in zip(*results, strict=True):
        assert ours.flags.c_contiguous
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("padding", "stride", "dilation"), [(0, 1, 2), (1, 2, 1)])
def test_conv2d_fast_path_reads_non_contiguous_input(padding, stride, dilation) -> None:
    """im2col reads all windows through one strided view: negative and swapped strides too."""
    rng = np.random.default_rng(0)
    layer = built(cn.Conv2D(16, 4, 3, stride=stride, padding=padding, dilation=dilation), 2)
    x = rng.normal(size=(3, 16, 9, 8))[:, :, ::-1, ::-1].transpose(0, 1, 3, 2)
    results = []
    for fast, data in ((True, x), (False, np.ascontiguousarray(x))):
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(layers_mod, "NUMPY_FAST_PATH", fast)
            y = layer.forward(data, training=True)
            results.append((y, layer.backward(np.cos(y)), layer.grads["W"].copy()))
            assert layer._fast is fast
    for ours, theirs in zip(*results, strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)


def test_conv2d_fast_path_reuses_column_buffers_safely() -> None:
    rng = np.random.default_rng(0)
    layer, fresh = built(cn.Conv2D(4, 8, 3, padding=1), 1), built(cn.Conv2D(4, 8, 3, padding=1), 1)
    x1, x2, x3 = (rng.normal(size=(5, 4, 7, 7)) for _ in range(3))
    dy = rng.normal(size=(5, 8, 7, 7))
    layer.forward(x1, training=True)
    layer.backward(dy)
    buffers = [id(b) for b in layer._col_buffers]
    layer.forward(x2, training=True)
    layer.forward(x3)  # inference in between must not touch the kept columns
    dx = layer.backward(dy)
    assert layer._fast
    assert [id(b) for b in layer._col_buffers] == buffers  # the second forward reused them
    fresh.forward(x2, training=True)
    np.testing.assert_allclose(dx, fresh.backward(dy), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.grads["W"], fresh.grads["W"], rtol=1e-12, atol=1e-12)


@SETTINGS
@given(conv_cases(), st.integers(1, 7), st.integers(1, 7))
def test_conv2d_input_gradient_in_groups_equals_one_group(case, n, per_group) -> None:
    """Groups of near-equal size (7 samples, at most 3 a group: 2+2+3) add up as one group does."""
    layer, shape, seed = case
    built(layer, seed)
    x = np.random.default_rng(seed).normal(size=(n, *shape[1:]))
    k, s, p, d = layer.kernel_size, layer.stride, layer.padding, layer.dilation
    oh, ow = (conv_mod.output_size(size, k, s, p, d) for size in shape[2:])
    per_sample = k * k * oh * ow * shape[1] * x.itemsize
    results = []
    for budget in (per_group * per_sample, n * per_sample):
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(layers_mod, "CHANNEL_MAJOR_MIN_K", 1)
            mp.setattr(cn.conv_numpy, "NHWC_MIN_CHANNELS", 1)
            mp.setattr(cn.conv_numpy, "INPUT_GRAD_BYTES", budget)
            y = layer.forward(x, training=True)
            results.append(layer.backward(np.cos(y)))
    np.testing.assert_allclose(results[0], results[1], rtol=1e-12, atol=1e-12)


@SETTINGS
@given(conv_cases())
def test_conv2d_chunked_recompute_path_gives_same_result(case) -> None:
    layer, shape, seed = case
    x = np.random.default_rng(seed).normal(size=shape)
    built(layer, seed)
    y = layer.forward(x, training=True)
    dy = np.random.default_rng(seed + 1).normal(size=y.shape)
    dx = layer.backward(dy)
    dw = layer.grads["W"].copy()
    with pytest.MonkeyPatch.context() as mp:
        # one sample per chunk, nothing cached: the recompute branch of backward
        mp.setattr(conv_mod, "SCRATCH_BYTES", 1)
        mp.setattr(layers_mod, "CACHE_BYTES", 0)
        y2 = layer.forward(x, training=True)
        dx2 = layer.backward(dy)
        assert layer._step == 1
    np.testing.assert_allclose(y2, y, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dx2, dx, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.grads["W"], dw, rtol=1e-12, atol=1e-12)


@SETTINGS
@given(conv_cases(), st.booleans())
def test_conv2d_channel_major_and_per_sample_layouts_agree(case, chunked) -> None:
    layer, shape, seed = case
    x = np.random.default_rng(seed).normal(size=shape)
    built(layer, seed)
    results = []
    for min_k in (1, 10**9):
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(layers_mod, "CHANNEL_MAJOR_MIN_K", min_k)
            if chunked:
                mp.setattr(conv_mod, "SCRATCH_BYTES", 1)
                mp.setattr(layers_mod, "CACHE_BYTES", 0)
                mp.setattr(cn.conv_numpy, "INPUT_GRAD_BYTES", 1)
            y = layer.forward(x, training=True)
            dx = layer.backward(np.cos(y))
            results.append((y, dx, layer.grads["W"].copy(), layer.grads["b"].copy()))
    for ours, theirs in zip(*results, strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)


@SETTINGS
@given(
    st.sampled_from([cn.MaxPool2D, cn.AvgPool2D]),
    st.integers(1, 4),
    st.integers(1, 3),
    st.integers(0, 2),
    st.integers(0, 6),
    st.integers(0, 99),
)
def test_pooling_backward_matches_finite_differences(cls, k, s, p, extra, seed) -> None:
    p = min(p, k // 2)
    h = max(1, k - 2 * p) + extra
    rng = np.random.default_rng(seed)
    shape = (2, 2, h, h + 1)
    # distinct values >= 1/440 apart: a 1e-6 perturbation never changes which element is the max
    x = rng.permutation(np.prod(shape)).reshape(shape) / np.prod(shape)
    check_layer(cls(k, stride=s, padding=p), x, seed)


@SETTINGS
@given(st.integers(1, 5), st.integers(1, 5), st.integers(1, 4), st.integers(0, 99))
def test_dense_backward_matches_finite_differences(n, fin, fout, seed) -> None:
    x = np.random.default_rng(seed).normal(size=(n, fin))
    check_layer(built(cn.Dense(fin, fout), seed), x, seed)


@SETTINGS
@given(
    st.sampled_from([cn.ReLU, cn.LeakyReLU, cn.Sigmoid, cn.Tanh, cn.Softmax]),
    st.integers(1, 4),
    st.integers(1, 5),
    st.integers(0, 99),
)
def test_activation_backward_matches_finite_differences(cls, n, m, seed) -> None:
    rng = np.random.default_rng(seed)
    # keep inputs away from the kink of (Leaky)ReLU at 0
    x = rng.choice([-1.0, 1.0], size=(n, m)) * rng.uniform(0.1, 3.0, size=(n, m))
    check_layer(cls(), x, seed)


@SETTINGS
@given(st.integers(2, 4), st.integers(1, 3), st.integers(1, 4), st.integers(0, 99))
def test_batchnorm_backward_matches_finite_differences(n, c, h, seed) -> None:
    x = np.random.default_rng(seed).normal(2.0, 3.0, size=(n, c, h, h + 1))
    layer = built(cn.BatchNorm2D(c), seed)
    layer.params["gamma"] = np.random.default_rng(seed).uniform(0.5, 2.0, size=c)
    check_layer(layer, x, seed)


@SETTINGS
@given(st.floats(0.0, 0.9), st.integers(0, 99))
def test_dropout_backward_matches_finite_differences(rate, seed) -> None:
    layer = cn.Dropout(rate)
    x = np.random.default_rng(seed).normal(size=(3, 7))

    def reseed() -> None:
        layer.rng = np.random.default_rng(seed)

    check_layer(layer, x, seed, reseed)


def test_flatten_backward_restores_shape() -> None:
    x = np.random.default_rng(0).normal(size=(2, 3, 4, 5))
    check_layer(cn.Flatten(), x, 0)


@st.composite
def network_cases(draw):
    c, f = draw(st.integers(1, 3)), draw(st.integers(1, 4))
    k, s, p, d = draw(st.integers(1, 3)), draw(st.integers(1, 2)), draw(st.integers(0, 1)), 1
    h = draw(st.integers(k + 2, k + 6))
    oh = conv_mod.output_size(h, k, s, p, d)
    pooled = oh // 2
    if pooled < 1:
        oh, pooled = oh, 0
    return c, f, k, s, p, h, oh, pooled, draw(st.integers(0, 99))


@SETTINGS
@given(network_cases())
def test_network_gradient_through_flatten_into_conv(case) -> None:
    """The dense-into-conv boundary: d loss / d conv weights through Flatten -> Dense."""
    c, f, k, s, p, h, oh, pooled, seed = case
    pool = [cn.MaxPool2D(2)] if pooled else []
    side = pooled if pooled else oh
    net = cn.Sequential(
        [
            cn.Conv2D(c, f, k, stride=s, padding=p),
            cn.Tanh(),
            *pool,
            cn.Flatten(),
            cn.Dense(f * side * side, 3),
        ],
        dtype="float64",
    ).build(seed)
    rng = np.random.default_rng([seed, 7])
    x = rng.normal(size=(2, c, h, h))
    labels = rng.integers(0, 3, size=2)
    out = net.forward(x, training=True)
    _, grad = net._loss(out, labels)
    net.backward(grad)
    params, grads = net.parameters()
    grads = [g.copy() for g in grads]

    def f() -> float:
        return net._loss(net.forward(x, training=True), labels)[0]

    for param, g in zip(params, grads, strict=True):
        directional_check(f, param, g, rng)
