"""Max and average pooling of NCHW arrays, vectorised over pixels (loops over window offsets only).

Output sizes follow PyTorch's floor mode; average pooling counts padding zeros (PyTorch's
``count_include_pad=True``); max pooling routes the gradient to the first maximum of each window.
"""

from __future__ import annotations

import functools
import operator

from wg_convnet.backend import array_namespace, device
from wg_convnet.convolution import output_size, pad2d, tap, window
from wg_convnet.errors import ShapeError
from wg_convnet.layer import Array, Layer, check_int, check_ndim


class _Pool2D(Layer):
    config_names = ("kernel_size", "stride", "padding")

    def __init__(self, kernel_size: int, stride: int | None = None, padding: int = 0) -> None:
        super().__init__()
        self.kernel_size = check_int("kernel_size", kernel_size)
        self.stride = kernel_size if stride is None else check_int("stride", stride)
        if not isinstance(padding, int) or not 0 <= padding <= kernel_size // 2:
            raise ValueError(
                f"padding must be an integer in [0, kernel_size // 2], got {padding!r}"
            )
        self.padding = padding

    def _geometry(self, x: Array) -> tuple[int, int]:
        check_ndim(self, x, 4, "(N, C, H, W)")
        k, s, p = self.kernel_size, self.stride, self.padding
        oh, ow = (output_size(size, k, s, p, 1) for size in x.shape[2:])
        if oh < 1 or ow < 1:
            raise ShapeError(
                f"{self!r}: input of spatial size {tuple(x.shape[2:])} is smaller than the window"
            )
        return oh, ow

    def _windows(self, x: Array, fill: float = 0.0) -> tuple[Array, list[Array], tuple[int, int]]:
        """The input padded with ``fill``, its K*K strided views (one per window offset, row-major)
        and the output size."""
        oh, ow = self._geometry(x)
        k, s = self.kernel_size, self.stride
        xpad = pad2d(x, self.padding, value=fill)
        views = [window(xpad, i, j, (oh, ow), s, 1) for i in range(k) for j in range(k)]
        return xpad, views, (oh, ow)

    def _fold(self, parts: list[Array], padded_shape: tuple[int, ...], out_hw: tuple[int, int]):
        """Sum per-offset gradients (one per window offset) into the unpadded input gradient."""
        xp = array_namespace(parts[0])
        dxpad = xp.zeros(padded_shape, dtype=parts[0].dtype, device=device(parts[0]))
        k, s, p = self.kernel_size, self.stride, self.padding
        for idx, part in enumerate(parts):
            rows, cols = tap(*divmod(idx, k), out_hw, s, 1)
            target = (slice(None), slice(None), rows, cols)
            if s >= k:  # windows do not overlap: plain stores, no read-modify-write
                dxpad[target] = part
            else:
                dxpad[target] += part
        h, w = padded_shape[2] - 2 * p, padded_shape[3] - 2 * p
        return dxpad[:, :, p : p + h, p : p + w] if p else dxpad


class MaxPool2D(_Pool2D):
    """Max pooling with a square window.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(16.0).reshape(1, 1, 4, 4)
    >>> MaxPool2D(2).forward(x)[0, 0]
    array([[ 5.,  7.],
           [13., 15.]])
    """

    def forward(self, x: Array, *, training: bool = False) -> Array:
        xpad, views, out_hw = self._windows(x, fill=-float("inf"))
        out = functools.reduce(array_namespace(x).maximum, views)
        if training:
            self._xpad, self._out, self._out_hw = xpad, out, out_hw
        return out

    def backward(self, dy: Array) -> Array:
        xp = array_namespace(dy)
        xpad, out, (oh, ow) = self._cache("_xpad"), self._out, self._out_hw
        k, s = self.kernel_size, self.stride
        parts, taken = [], None
        for i in range(k):
            for j in range(k):
                # the first maximum of each window takes the gradient, as in PyTorch
                hit = window(xpad, i, j, (oh, ow), s, 1) == out
                if taken is None:
                    taken = hit
                else:
                    hit = hit & ~taken
                    taken = taken | hit
                parts.append(dy * xp.astype(hit, dy.dtype))
        return self._fold(parts, xpad.shape, (oh, ow))


class AvgPool2D(_Pool2D):
    """Average pooling with a square window (padding zeros count, as in PyTorch's default).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(16.0).reshape(1, 1, 4, 4)
    >>> AvgPool2D(2).forward(x)[0, 0]
    array([[ 2.5,  4.5],
           [10.5, 12.5]])
    """

    def forward(self, x: Array, *, training: bool = False) -> Array:
        xpad, views, out_hw = self._windows(x)
        out = functools.reduce(operator.add, views)
        if training:
            self._padded_shape, self._out_hw = xpad.shape, out_hw
        return out / len(views)

    def backward(self, dy: Array) -> Array:
        part = dy / (self.kernel_size**2)
        shape = self._cache("_padded_shape")
        return self._fold([part] * self.kernel_size**2, shape, self._out_hw)
