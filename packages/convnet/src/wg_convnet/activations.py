"""Element-wise activations and Softmax, each with its hand-written backward pass."""

from __future__ import annotations

from wg_convnet.backend import array_namespace
from wg_convnet.layer import Array, Layer


class ReLU(Layer):
    """max(x, 0); the gradient at exactly 0 is taken as 0 (as in PyTorch).

    Examples
    --------
    >>> import numpy as np
    >>> ReLU().forward(np.array([-1.0, 0.0, 2.0]))
    array([0., 0., 2.])
    """

    def forward(self, x: Array, *, training: bool = False) -> Array:
        xp = array_namespace(x)
        if training:
            self._x = x
        # maximum and a multiply by the mask, not where(), which NumPy runs slower
        return xp.maximum(x, xp.zeros((), dtype=x.dtype))

    def backward(self, dy: Array) -> Array:
        xp = array_namespace(dy)
        return dy * xp.astype(self._cache("_x") > 0, dy.dtype)


class LeakyReLU(Layer):
    """x for x > 0, ``negative_slope * x`` otherwise.

    Examples
    --------
    >>> import numpy as np
    >>> LeakyReLU(0.1).forward(np.array([-1.0, 2.0]))
    array([-0.1,  2. ])
    """

    config_names = ("negative_slope",)

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        self.negative_slope = float(negative_slope)

    def forward(self, x: Array, *, training: bool = False) -> Array:
        if training:
            self._x = x
        return x * self._slope(x)

    def backward(self, dy: Array) -> Array:
        return dy * self._slope(self._cache("_x"))

    def _slope(self, x: Array) -> Array:
        xp = array_namespace(x)
        positive = xp.astype(x > 0, x.dtype)
        return positive + (1.0 - positive) * self.negative_slope


class Sigmoid(Layer):
    """1 / (1 + exp(-x)), computed without overflow for large |x|.

    Examples
    --------
    >>> import numpy as np
    >>> Sigmoid().forward(np.array([0.0, -1000.0]))
    array([0.5, 0. ])
    """

    def forward(self, x: Array, *, training: bool = False) -> Array:
        xp = array_namespace(x)
        e = xp.exp(-xp.abs(x))
        y = xp.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
        if training:
            self._y = y
        return y

    def backward(self, dy: Array) -> Array:
        y = self._cache("_y")
        return dy * y * (1.0 - y)


class Tanh(Layer):
    """Hyperbolic tangent.

    Examples
    --------
    >>> import numpy as np
    >>> Tanh().forward(np.array([0.0]))
    array([0.])
    """

    def forward(self, x: Array, *, training: bool = False) -> Array:
        y = array_namespace(x).tanh(x)
        if training:
            self._y = y
        return y

    def backward(self, dy: Array) -> Array:
        y = self._cache("_y")
        return dy * (1.0 - y * y)


def softmax(x: Array, axis: int = 1) -> Array:
    """Numerically stable softmax along ``axis``.

    Examples
    --------
    >>> import numpy as np
    >>> softmax(np.array([[0.0, 0.0], [1000.0, 0.0]]))
    array([[0.5, 0.5],
           [1. , 0. ]])
    """
    xp = array_namespace(x)
    e = xp.exp(x - xp.max(x, axis=axis, keepdims=True))
    return e / xp.sum(e, axis=axis, keepdims=True)


class Softmax(Layer):
    """Softmax over the class axis (axis 1).

    Examples
    --------
    >>> import numpy as np
    >>> Softmax().forward(np.zeros((1, 4)))
    array([[0.25, 0.25, 0.25, 0.25]])
    """

    def forward(self, x: Array, *, training: bool = False) -> Array:
        y = softmax(x, axis=1)
        if training:
            self._y = y
        return y

    def backward(self, dy: Array) -> Array:
        xp = array_namespace(dy)
        y = self._cache("_y")
        return y * (dy - xp.sum(dy * y, axis=1, keepdims=True))
