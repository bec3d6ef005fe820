"""Batch normalisation over the channel axis of NCHW arrays."""

from __future__ import annotations

from typing import Any

import numpy as np

from wg_convnet.backend import array_namespace
from wg_convnet.layer import Array, Layer, check_axis, check_int, check_ndim, to_xp

_AXES = (0, 2, 3)


class BatchNorm2D(Layer):
    """Normalise each channel by batch statistics in training, by running statistics otherwise.

    Running variance is the unbiased batch variance, averaged with ``momentum`` as in PyTorch.

    Examples
    --------
    >>> import numpy as np
    >>> bn = BatchNorm2D(2)
    >>> bn.build(np.random.default_rng(0), xp=np, dtype=np.float64)
    >>> x = np.random.default_rng(1).normal(3.0, 2.0, size=(8, 2, 4, 4))
    >>> y = bn.forward(x, training=True)
    >>> np.abs(y.mean(axis=(0, 2, 3))).max() < 1e-12, np.round(y.std(axis=(0, 2, 3)), 3).tolist()
    (np.True_, [1.0, 1.0])
    """

    config_names = ("num_features", "momentum", "eps")

    def __init__(self, num_features: int, momentum: float = 0.1, eps: float = 1e-5) -> None:
        super().__init__()
        self.num_features = check_int("num_features", num_features)
        self.momentum = float(momentum)
        self.eps = float(eps)

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        c = (self.num_features,)
        return {"gamma": c, "beta": c, "running_mean": c, "running_var": c}

    def build(self, rng: np.random.Generator, *, xp: Any, dtype: Any, device: Any = None) -> None:
        ones, zeros = np.ones(self.num_features), np.zeros(self.num_features)
        self.params = {
            "gamma": to_xp(ones, xp, dtype, device),
            "beta": to_xp(zeros, xp, dtype, device),
        }
        self.state = {
            "running_mean": to_xp(zeros, xp, dtype, device),
            "running_var": to_xp(ones, xp, dtype, device),
        }

    def _channel(self, v: Array) -> Array:
        return array_namespace(v).reshape(v, (1, self.num_features, 1, 1))

    def forward(self, x: Array, *, training: bool = False) -> Array:
        xp = array_namespace(x)
        layout = f"(N, {self.num_features}, H, W)"
        check_ndim(self, x, 4, layout)
        check_axis(self, x, 1, self.num_features, layout)
        if training:
            mean = xp.mean(x, axis=_AXES)
            var = xp.mean((x - self._channel(mean)) ** 2, axis=_AXES)
            count = x.shape[0] * x.shape[2] * x.shape[3]
            unbiased = var * (count / max(count - 1, 1))
            m = self.momentum
            self.state["running_mean"] = (1 - m) * self.state["running_mean"] + m * mean
            self.state["running_var"] = (1 - m) * self.state["running_var"] + m * unbiased
        else:
            mean, var = self.state["running_mean"], self.state["running_var"]
        inv_std = 1.0 / xp.sqrt(var + self.eps)
        xhat = (x - self._channel(mean)) * self._channel(inv_std)
        if training:
            self._xhat, self._inv_std = xhat, inv_std
        return xhat * self._channel(self.params["gamma"]) + self._channel(self.params["beta"])

    def backward(self, dy: Array) -> Array:
        xp = array_namespace(dy)
        xhat, inv_std = self._cache("_xhat"), self._inv_std
        count = dy.shape[0] * dy.shape[2] * dy.shape[3]
        sum_dy = xp.sum(dy, axis=_AXES)
        sum_dy_xhat = xp.sum(dy * xhat, axis=_AXES)
        self.grads["beta"] = sum_dy
        self.grads["gamma"] = sum_dy_xhat
        scale = self._channel(self.params["gamma"] * inv_std / count)
        return scale * (count * dy - self._channel(sum_dy) - xhat * self._channel(sum_dy_xhat))
