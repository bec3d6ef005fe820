"""Trainable and structural layers: Conv2D, Dense, Flatten, Dropout (layout NCHW)."""

from __future__ import annotations

from typing import Any

import numpy as np

from wg_convnet import conv_numpy
from wg_convnet.backend import array_namespace, device
from wg_convnet.convolution import (
    Taps,
    chunk_size,
    col2im,
    im2col,
    output_size,
    pad2d,
)
from wg_convnet.errors import ShapeError
from wg_convnet.initializers import check_initializer, initialize
from wg_convnet.layer import Array, Layer, check_axis, check_int, check_ndim, to_xp

#: im2col columns of a whole batch are kept for backward when they fit in this many bytes;
#: larger batches recompute them chunk by chunk, so scratch memory stays bounded.
CACHE_BYTES = 16 * 2**20
#: from this many im2col rows (C*KH*KW) on, one GEMM per chunk (channel-major columns) beats one
#: small GEMM per sample; below it the per-sample layout avoids two transposes
CHANNEL_MAJOR_MIN_K = 32
#: channel-major convolutions of plain NumPy arrays take :mod:`wg_convnet.conv_numpy`'s buffers
NUMPY_FAST_PATH = True


class Conv2D(Layer):
    """2-D convolution (cross-correlation, as in PyTorch) computed as im2col + GEMM.

    Weights have shape (out_channels, in_channels, kernel_size, kernel_size).

    Examples
    --------
    >>> import numpy as np
    >>> conv = Conv2D(1, 4, 3, padding=1)
    >>> conv.build(np.random.default_rng(0), xp=np, dtype=np.float32)
    >>> conv.forward(np.zeros((2, 1, 8, 8), dtype=np.float32)).shape
    (2, 4, 8, 8)
    """

    config_names = ("in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation",
                    "init")  # fmt: skip

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        padding: int = 0,
        dilation: int = 1,
        init: str = "he",
    ) -> None:
        super().__init__()
        self.in_channels = check_int("in_channels", in_channels)
        self.out_channels = check_int("out_channels", out_channels)
        self.kernel_size = check_int("kernel_size", kernel_size)
        self.stride = check_int("stride", stride)
        self.padding = check_int("padding", padding, 0)
        self.dilation = check_int("dilation", dilation)
        self.init = check_initializer(init)

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        k = self.kernel_size
        return {"W": (self.out_channels, self.in_channels, k, k), "b": (self.out_channels,)}

    def build(self, rng: np.random.Generator, *, xp: Any, dtype: Any, device: Any = None) -> None:
        shape = self.param_shapes()["W"]
        fan_in = self.in_channels * self.kernel_size**2
        fan_out = self.out_channels * self.kernel_size**2
        w = initialize(self.init, shape, fan_in, fan_out, rng)
        self.params = {
            "W": to_xp(w, xp, dtype, device),
            "b": to_xp(np.zeros(self.out_channels), xp, dtype, device),
        }

    def _geometry(self, x: Array) -> tuple[int, int]:
        layout = f"(N, {self.in_channels}, H, W)"
        check_ndim(self, x, 4, layout)
        check_axis(self, x, 1, self.in_channels, layout)
        k, s, p, d = self.kernel_size, self.stride, self.padding, self.dilation
        oh = output_size(x.shape[2], k, s, p, d)
        ow = output_size(x.shape[3], k, s, p, d)
        if oh < 1 or ow < 1:
            raise ShapeError(
                f"{self!r}: input of spatial size {tuple(x.shape[2:])} is smaller than the "
                f"dilated kernel ({d * (k - 1) + 1}) after padding {p}; "
                "use a larger input or more padding"
            )
        return oh, ow

    def forward(self, x: Array, *, training: bool = False) -> Array:
        xp = array_namespace(x)
        oh, ow = self._geometry(x)
        n, f = x.shape[0], self.out_channels
        w2 = self._w2()
        if (
            NUMPY_FAST_PATH
            and w2.shape[1] >= CHANNEL_MAJOR_MIN_K
            and conv_numpy.is_numpy(x, w2, self.params["b"])
        ):
            return self._forward_numpy(x, w2, (oh, ow), training)
        xpad = pad2d(x, self.padding)
        col_bytes = w2.shape[1] * oh * ow * _itemsize(x)
        step = chunk_size(n, col_bytes)
        keep = training and n * col_bytes <= CACHE_BYTES
        channel_major = w2.shape[1] >= CHANNEL_MAJOR_MIN_K
        parts, kept, taps = [], [], self._taps(oh, ow)
        for n0 in range(0, n, step):
            n1 = min(n0 + step, n)
            cols = im2col(xpad[n0:n1, ...], taps, channel_major=channel_major)
            y = xp.matmul(w2, cols)
            if channel_major:  # (F, n, OH, OW) -> (n, F, OH, OW)
                y = xp.permute_dims(xp.reshape(y, (f, n1 - n0, oh, ow)), (1, 0, 2, 3))
            parts.append(xp.reshape(y, (n1 - n0, f, oh, ow)))
            if keep:
                kept.append(cols)
        # functional (no writes into a buffer) so that AD tracers can follow the forward pass
        out = parts[0] if len(parts) == 1 else xp.concat(parts, axis=0)
        out = out + xp.reshape(self.params["b"], (1, f, 1, 1))
        if training:
            self._xpad, self._in_shape, self._out_hw = xpad, x.shape, (oh, ow)
            self._cols, self._channel_major, self._step = kept, channel_major, step
            self._fast = False
        return out

    def backward(self, dy: Array, *, input_grad: bool = True) -> Array | None:
        """Fill ``grads``; return d loss / d input, or None when ``input_grad`` is False.

        Sequential skips the input gradient of its first layer (nothing consumes it), as
        PyTorch does for inputs that do not require grad.
        """
        if self._cache("_in_shape") and self._fast:  # forward took the NumPy fast path
            return self._backward_numpy(dy, input_grad)
        xp = array_namespace(dy)
        xpad, (oh, ow), kept = self._cache("_xpad"), self._out_hw, self._cols
        n, f = dy.shape[0], self.out_channels
        w2 = self._w2()
        w2t = xp.matrix_transpose(w2)
        self.grads["b"] = xp.sum(dy, axis=(0, 2, 3))
        dw = xp.zeros(w2.shape, dtype=dy.dtype, device=device(dy))
        parts, taps, channel_major = [], self._taps(oh, ow), self._channel_major
        for idx, n0 in enumerate(range(0, n, self._step)):
            n1 = min(n0 + self._step, n)
            cols = (
                kept[idx] if kept else im2col(xpad[n0:n1, ...], taps, channel_major=channel_major)
            )
            if channel_major:
                dyc = xp.reshape(xp.permute_dims(dy[n0:n1, ...], (1, 0, 2, 3)), (f, -1))
                dw += xp.matmul(dyc, xp.matrix_transpose(cols))
            else:
                dyc = xp.reshape(dy[n0:n1, ...], (n1 - n0, f, oh * ow))
                dw += xp.sum(xp.matmul(dyc, xp.matrix_transpose(cols)), axis=0)
            if input_grad:
                shape = (n1 - n0, *xpad.shape[1:])
                dcols = xp.matmul(w2t, dyc)
                parts.append(col2im(dcols, shape, taps, channel_major=channel_major))
        self.grads["W"] = xp.reshape(dw, self.params["W"].shape)
        if not input_grad:
            return None
        # one chunk (the common case): no copy; the channel-major col2im's result stays so in memory
        dxpad = parts[0] if len(parts) == 1 else xp.concat(parts, axis=0)
        p, (h, w) = self.padding, self._in_shape[2:]
        return dxpad[:, :, p : p + h, p : p + w] if p else dxpad

    def _forward_numpy(
        self, x: np.ndarray, w2: np.ndarray, out_hw: tuple[int, int], training: bool
    ) -> np.ndarray:
        """Channel-major forward of NumPy arrays, chunk by chunk into one output buffer."""
        n, (oh, ow) = x.shape[0], out_hw
        dtype = np.result_type(x, w2)
        col_bytes = w2.shape[1] * oh * ow * dtype.itemsize
        step = conv_numpy.fast_chunk_size(n, col_bytes)
        keep = training and n * col_bytes <= CACHE_BYTES
        out = np.empty((n, self.out_channels, oh, ow), dtype=dtype)
        kept = []
        # kept columns go into the buffers of the previous training forward (no longer needed):
        # fresh multi-MiB arrays would cost page faults on every call
        buffers = self.__dict__.setdefault("_col_buffers", [])
        for idx, n0 in enumerate(range(0, n, step)):
            reuse = buffers[idx] if keep and idx < len(buffers) else None
            cols = self._im2col_numpy(x[n0 : n0 + step], out_hw, reuse)
            conv_numpy.forward_chunk(w2, self.params["b"], cols, out[n0 : n0 + step])
            if keep:
                kept.append(cols)
        if keep:
            self._col_buffers = kept
        if training:
            self._x, self._in_shape, self._out_hw = x, x.shape, out_hw
            self._cols, self._step, self._fast = kept, step, True
        return out

    def _backward_numpy(self, dy: np.ndarray, input_grad: bool) -> np.ndarray | None:
        """Backward of :meth:`_forward_numpy`: same chunks, dW summed in chunk order.

        The output gradient of each chunk is transposed once into NHWC rows, which serve both
        GEMMs (see :func:`wg_convnet.conv_numpy.weight_grad_chunk` and ``input_grad_chunk``).
        """
        x, out_hw, kept, step = self._x, self._out_hw, self._cols, self._step
        w2 = self._w2()
        dx = np.empty(x.shape, dtype=np.result_type(dy, w2)) if input_grad else None
        dwt = np.zeros(w2.shape[::-1], dtype=np.result_type(dy, x))
        s, p, d = self.stride, self.padding, self.dilation
        for idx, n0 in enumerate(range(0, x.shape[0], step)):
            chunk = slice(n0, n0 + step)
            cols = kept[idx] if kept else self._im2col_numpy(x[chunk], out_hw)
            rows = conv_numpy.dy_rows(dy[chunk])
            conv_numpy.weight_grad_chunk(cols, rows, dwt)
            if dx is not None:
                conv_numpy.input_grad_chunk(self.params["W"], dy[chunk], rows, s, p, d, dx[chunk])
        self.grads["b"] = np.sum(dy, axis=(0, 2, 3))
        self.grads["W"] = np.ascontiguousarray(dwt.T).reshape(self.params["W"].shape)
        return dx

    def _im2col_numpy(
        self, x: np.ndarray, out_hw: tuple[int, int], out: np.ndarray | None = None
    ) -> np.ndarray:
        k, s, p, d = self.kernel_size, self.stride, self.padding, self.dilation
        return conv_numpy.im2col_chunk(x, k, out_hw, s, p, d, out)

    def replica(self) -> Conv2D:
        """A copy for another thread: shared parameters, its own caches and column buffers."""
        twin = super().replica()
        twin.__dict__.pop("_col_buffers", None)
        return twin

    def _w2(self) -> Array:
        k = self.kernel_size
        shape = (self.out_channels, self.in_channels * k * k)
        return array_namespace(self.params["W"]).reshape(self.params["W"], shape)

    def _taps(self, oh: int, ow: int) -> Taps:
        k = self.kernel_size
        return Taps((k, k), (oh, ow), self.stride, self.dilation)


def _itemsize(x: Array) -> int:
    return int(array_namespace(x).finfo(x.dtype).bits) // 8


class Dense(Layer):
    """Fully connected layer ``y = x @ W + b`` with W of shape (in_features, out_features).

    Examples
    --------
    >>> import numpy as np
    >>> dense = Dense(3, 2)
    >>> dense.build(np.random.default_rng(0), xp=np, dtype=np.float64)
    >>> dense.forward(np.ones((5, 3))).shape
    (5, 2)
    """

    config_names = ("in_features", "out_features", "init")

    def __init__(self, in_features: int, out_features: int, init: str = "glorot") -> None:
        super().__init__()
        self.in_features = check_int("in_features", in_features)
        self.out_features = check_int("out_features", out_features)
        self.init = check_initializer(init)

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        return {"W": (self.in_features, self.out_features), "b": (self.out_features,)}

    def build(self, rng: np.random.Generator, *, xp: Any, dtype: Any, device: Any = None) -> None:
        fi, fo = self.in_features, self.out_features
        w = initialize(self.init, (fi, fo), fi, fo, rng)
        self.params = {
            "W": to_xp(w, xp, dtype, device),
            "b": to_xp(np.zeros(fo), xp, dtype, device),
        }

    def forward(self, x: Array, *, training: bool = False) -> Array:
        xp = array_namespace(x)
        layout = f"(N, {self.in_features})"
        check_ndim(self, x, 2, layout + " (put a Flatten() before it)")
        check_axis(self, x, 1, self.in_features, layout)
        if training:
            self._x = x
        return xp.matmul(x, self.params["W"]) + self.params["b"]

    def backward(self, dy: Array) -> Array:
        xp = array_namespace(dy)
        x = self._cache("_x")
        self.grads["W"] = xp.matmul(xp.matrix_transpose(x), dy)
        self.grads["b"] = xp.sum(dy, axis=0)
        return xp.matmul(dy, xp.matrix_transpose(self.params["W"]))


class Flatten(Layer):
    """Reshape (N, C, H, W) (or any N, ...) to (N, C*H*W), the boundary between conv and dense.

    Examples
    --------
    >>> import numpy as np
    >>> Flatten().forward(np.zeros((2, 3, 4, 5))).shape
    (2, 60)
    """

    def forward(self, x: Array, *, training: bool = False) -> Array:
        xp = array_namespace(x)
        if len(x.shape) < 2:
            raise ShapeError(f"Flatten() expects input of shape (N, ...), got {tuple(x.shape)}")
        if training:
            self._in_shape = x.shape
        return xp.reshape(x, (x.shape[0], -1))

    def backward(self, dy: Array) -> Array:
        return array_namespace(dy).reshape(dy, self._cache("_in_shape"))


class Dropout(Layer):
    """Inverted dropout: zero each unit with probability ``rate`` during training, scale the rest.

    The mask is drawn from ``self.rng`` (a NumPy Generator that Sequential.fit seeds).

    Examples
    --------
    >>> import numpy as np
    >>> drop = Dropout(0.5)
    >>> y = drop.forward(np.ones((1, 1000)), training=True)
    >>> sorted(set(y.ravel().tolist()))
    [0.0, 2.0]
    >>> float(drop.forward(np.ones((1, 3))).sum())
    3.0
    """

    config_names = ("rate",)

    def __init__(self, rate: float = 0.5) -> None:
        super().__init__()
        if not 0.0 <= float(rate) < 1.0:
            raise ValueError(f"Dropout rate must be in [0, 1), got {rate!r}")
        self.rate = float(rate)
        self.rng = np.random.default_rng(0)

    def forward(self, x: Array, *, training: bool = False) -> Array:
        if not training or self.rate == 0.0:
            self._mask = None
            return x
        xp = array_namespace(x)
        keep = (self.rng.random(tuple(x.shape)) >= self.rate) / (1.0 - self.rate)
        self._mask = to_xp(keep, xp, x.dtype, device(x))
        return x * self._mask

    def backward(self, dy: Array) -> Array:
        mask = self._cache("_mask")
        return dy if mask is None else dy * mask
