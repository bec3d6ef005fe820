"""Convolution as im2col + one GEMM per sample, and col2im for the input gradient.

Every function takes arrays of any array-API namespace (NumPy, CuPy, torch through
array-api-compat, array_api_strict). Python loops run over kernel offsets (``kh * kw``
iterations), never over pixels or samples.

The scratch matrix of im2col holds ``C * KH * KW * OH * OW`` numbers per sample, so the batch is
processed in chunks of at most :data:`SCRATCH_BYTES` (see :func:`chunk_size`).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from wg_convnet.backend import array_namespace, device

Array = Any

#: upper bound on the im2col scratch of one chunk, in bytes; a convolution's scratch memory as a
#: whole stays under 64 MiB
SCRATCH_BYTES = 16 * 2**20


def output_size(size: int, kernel: int, stride: int, padding: int, dilation: int) -> int:
    """Spatial output size of a convolution or pooling window along one axis.

    Examples
    --------
    >>> output_size(28, 3, 1, 0, 1)
    26
    >>> output_size(13, 3, 2, 1, 2)
    6
    """
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def chunk_size(n: int, bytes_per_sample: int, budget: int | None = None) -> int:
    """Samples per im2col chunk: at most ``budget`` bytes (at least one sample), chunks balanced.

    ``budget`` defaults to the module's :data:`SCRATCH_BYTES`, read at call time.

    Examples
    --------
    >>> chunk_size(64, 2**20, budget=16 * 2**20)
    16
    >>> chunk_size(3, 10)
    3
    >>> chunk_size(3, 10, budget=1)
    1
    >>> chunk_size(64, 2**20, budget=15 * 2**20)  # 15 per chunk would leave a last chunk of 4
    13
    """
    budget = SCRATCH_BYTES if budget is None else budget
    step = max(1, min(n, budget // max(1, bytes_per_sample)))
    chunks = -(-n // step)
    return -(-n // chunks)  # chunks of near-equal size: no small, inefficient last chunk


def pad2d(x: Array, padding: int, value: float = 0.0) -> Array:
    """Pad the two trailing axes of an NCHW array by ``padding`` on each side.

    Built by concatenation, not by writing into a buffer, so that tracers of automatic
    differentiation can follow it.

    Examples
    --------
    >>> import numpy as np
    >>> pad2d(np.ones((1, 1, 1, 2)), 1)[0, 0]
    array([[0., 0., 0., 0.],
           [0., 1., 1., 0.],
           [0., 0., 0., 0.]])
    """
    if padding == 0:
        return x
    xp = array_namespace(x)
    n, c, h, w = x.shape
    dev = device(x)
    cols = xp.full((n, c, h, padding), value, dtype=x.dtype, device=dev)
    x = xp.concat([cols, x, cols], axis=3)
    rows = xp.full((n, c, padding, w + 2 * padding), value, dtype=x.dtype, device=dev)
    return xp.concat([rows, x, rows], axis=2)


def tap(i: int, j: int, out_hw: tuple[int, int], stride: int, dilation: int) -> tuple[slice, slice]:
    """Row and column slices of the padded input that kernel offset (i, j) reads.

    Output position (oh, ow) reads input row ``i*dilation + stride*oh`` and column
    ``j*dilation + stride*ow``; im2col gathers through these slices and col2im adds back
    through the same ones, so both stay each other's adjoint.

    Examples
    --------
    >>> tap(1, 2, (3, 2), 2, 1)
    (slice(1, 6, 2), slice(2, 5, 2))
    """
    oh, ow = out_hw
    r0, c0 = i * dilation, j * dilation
    return slice(r0, r0 + stride * (oh - 1) + 1, stride), slice(
        c0, c0 + stride * (ow - 1) + 1, stride
    )


def window(x: Array, i: int, j: int, out_hw: tuple[int, int], stride: int, dilation: int) -> Array:
    """The strided view ``x[:, :, i*d + s*oh, j*d + s*ow]`` for all output positions (oh, ow)."""
    rows, cols = tap(i, j, out_hw, stride, dilation)
    return x[:, :, rows, cols]


class Taps(NamedTuple):
    """Where a kernel reads: its size (KH, KW), the output size (OH, OW), stride and dilation.

    :func:`im2col` and its adjoint :func:`col2im` take the one value, so that both read and
    write through the same slices (:func:`tap`).
    """

    kernel: tuple[int, int]
    out_hw: tuple[int, int]
    stride: int
    dilation: int


def im2col(xpad: Array, taps: Taps, *, channel_major: bool = False) -> Array:
    """Unfold padded input (N, C, H, W) into columns (N, C*KH*KW, OH*OW), or with
    ``channel_major`` into (C*KH*KW, N*OH*OW).

    The channel-major columns of a whole chunk take one GEMM, which BLAS runs faster (and
    threads better) than one small GEMM per sample when C*KH*KW is large.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(16.0).reshape(1, 1, 4, 4)
    >>> im2col(x, Taps((2, 2), (2, 2), stride=2, dilation=1))[0]
    array([[ 0.,  2.,  8., 10.],
           [ 1.,  3.,  9., 11.],
           [ 4.,  6., 12., 14.],
           [ 5.,  7., 13., 15.]])
    >>> one = Taps((1, 1), (2, 2), stride=1, dilation=1)
    >>> im2col(np.arange(8.0).reshape(2, 1, 2, 2), one, channel_major=True)
    array([[0., 1., 2., 3., 4., 5., 6., 7.]])
    """
    xp = array_namespace(xpad)
    n, c = xpad.shape[:2]
    (kh, kw), out_hw, stride, dilation = taps
    rows = c * kh * kw
    if channel_major:
        xt = xp.permute_dims(xpad, (1, 0, 2, 3))
        views = [window(xt, i, j, out_hw, stride, dilation) for i in range(kh) for j in range(kw)]
        return xp.reshape(xp.stack(views, axis=1), (rows, n * out_hw[0] * out_hw[1]))
    views = [window(xpad, i, j, out_hw, stride, dilation) for i in range(kh) for j in range(kw)]
    # stack, not writes into a buffer: same cost, and AD tracers can follow it
    return xp.reshape(xp.stack(views, axis=2), (n, rows, out_hw[0] * out_hw[1]))


def col2im(
    cols: Array, padded_shape: tuple[int, int, int, int], taps: Taps, *, channel_major: bool = False
) -> Array:
    """Fold columns (N, C*KH*KW, OH*OW), or with ``channel_major`` (C*KH*KW, N*OH*OW), into a
    padded image (N, C, H, W), summing overlaps: the adjoint of :func:`im2col`.

    The channel-major image is returned as a transposed view of a (C, N, H, W) buffer.

    Examples
    --------
    >>> import numpy as np
    >>> cols = np.ones((1, 4, 4))
    >>> taps = Taps((2, 2), (2, 2), stride=1, dilation=1)
    >>> col2im(cols, (1, 1, 3, 3), taps)[0, 0]
    array([[1., 2., 1.],
           [2., 4., 2.],
           [1., 2., 1.]])
    >>> col2im(np.ones((4, 4)), (1, 1, 3, 3), taps, channel_major=True)[0, 0]
    array([[1., 2., 1.],
           [2., 4., 2.],
           [1., 2., 1.]])
    """
    xp = array_namespace(cols)
    n, c, h, w = padded_shape
    (kh, kw), out_hw, stride, dilation = taps
    oh, ow = out_hw
    if channel_major:  # (C, KH, KW, N, OH, OW) viewed as (C, N, KH, KW, OH, OW)
        cols6 = xp.permute_dims(xp.reshape(cols, (c, kh, kw, n, oh, ow)), (0, 3, 1, 2, 4, 5))
        out = xp.zeros((c, n, h, w), dtype=cols.dtype, device=device(cols))
    else:
        cols6 = xp.reshape(cols, (n, c, kh, kw, oh, ow))
        out = xp.zeros(padded_shape, dtype=cols.dtype, device=device(cols))
    for i in range(kh):
        for j in range(kw):
            rows, cols_ = tap(i, j, out_hw, stride, dilation)
            out[:, :, rows, cols_] += cols6[:, :, i, j, :, :]
    return xp.permute_dims(out, (1, 0, 2, 3)) if channel_major else out
