"""NumPy fast path of the channel-major Conv2D: im2col and col2im through preallocated buffers.

The array-API path (:mod:`wg_convnet.convolution`) is functional, so that tracers of automatic
differentiation can follow it, and pays for it with copies: ``stack`` of permuted windows yields a
non-contiguous array that ``reshape`` copies once more. On plain ``numpy.ndarray`` inputs this
module computes the same numbers with

- im2col as one write per kernel offset into a preallocated (C*KH*KW, n*OH*OW) buffer, reading
  strided views of the (channel-major) input;
- the forward GEMM written through one fused transpose + bias add straight into the output;
- col2im as one ``+=`` per kernel offset into a channel-major buffer (for stride 1 as shifted
  adds of whole padded images, see :func:`_fold_rows`), copied once into a contiguous NCHW
  input gradient.

The GEMMs themselves are BLAS calls on contiguous operands (``W2 @ cols``, ``dY @ cols.T``,
``W2.T @ dY``). Every function works on one chunk of samples, so callers bound the scratch memory
and may run chunks on different threads (NumPy releases the GIL in BLAS and in copies).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from wg_convnet import convolution
from wg_convnet.convolution import chunk_size, window

#: im2col chunk budget of the fast path: columns small enough to stay in cache between the
#: im2col writes and the GEMM that reads them (measured: 1-2 MiB is ~10% faster than 16 MiB on
#: the 32x13x13 -> 64 benchmark); never above :data:`wg_convnet.convolution.SCRATCH_BYTES`
CHUNK_BYTES = 2 * 2**20


def is_numpy(*arrays: Any) -> bool:
    """True when every argument is a plain ``numpy.ndarray`` (not a tracer or another library).

    Examples
    --------
    >>> is_numpy(np.zeros(2), np.ones(3))
    True
    >>> is_numpy(np.zeros(2), [1.0])
    False
    """
    return all(type(a) is np.ndarray for a in arrays)


def fast_chunk_size(n: int, bytes_per_sample: int) -> int:
    """Samples per chunk of the fast path (see :data:`CHUNK_BYTES`).

    Examples
    --------
    >>> fast_chunk_size(64, 288 * 121 * 4)
    13
    """
    return chunk_size(n, bytes_per_sample, budget=min(convolution.SCRATCH_BYTES, CHUNK_BYTES))


def im2col_chunk(
    x: np.ndarray,
    kernel: int,
    out_hw: tuple[int, int],
    stride: int,
    padding: int,
    dilation: int,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Columns (C*K*K, n*OH*OW) of an unpadded NCHW chunk ``x``, channel-major.

    Equal to :func:`wg_convnet.convolution.im2col_cm` of the padded chunk. Written into ``out``
    when given (a buffer of that shape and dtype, reused between calls), else a new array.

    Examples
    --------
    >>> x = np.arange(8.0).reshape(2, 1, 2, 2)
    >>> im2col_chunk(x, 1, (2, 2), 1, 0, 1)
    array([[0., 1., 2., 3., 4., 5., 6., 7.]])
    """
    n, c, h, w = x.shape
    oh, ow = out_hw
    xt = x.transpose(1, 0, 2, 3)
    if padding:
        p = padding
        padded = np.zeros((c, n, h + 2 * p, w + 2 * p), dtype=x.dtype)
        padded[:, :, p : p + h, p : p + w] = xt
        xt = padded
    shape = (c * kernel * kernel, n * oh * ow)
    if out is not None and out.shape == shape and out.dtype == x.dtype:
        cols = out
    else:
        cols = np.empty(shape, dtype=x.dtype)
    cols6 = cols.reshape(c, kernel, kernel, n, oh, ow)
    for i in range(kernel):
        for j in range(kernel):
            cols6[:, i, j] = window(xt, i, j, out_hw, stride, dilation)
    return cols


def forward_chunk(w2: np.ndarray, b: np.ndarray, cols: np.ndarray, out: np.ndarray) -> None:
    """``out[...] = W2 @ cols + b``, the GEMM result written into NCHW ``out`` (n, F, OH, OW)."""
    n, f, oh, ow = out.shape
    y = np.matmul(w2, cols)
    np.add(y.reshape(f, n, oh, ow).transpose(1, 0, 2, 3), b.reshape(1, f, 1, 1), out=out)


def dy_columns(dy: np.ndarray) -> np.ndarray:
    """Output gradient of a chunk (n, F, OH, OW) as a contiguous (F, n*OH*OW) matrix."""
    n, f, oh, ow = dy.shape
    dyc = np.empty((f, n, oh, ow), dtype=dy.dtype)
    dyc[...] = dy.transpose(1, 0, 2, 3)
    return dyc.reshape(f, n * oh * ow)


def input_grad_chunk(
    w2: np.ndarray,
    dy: np.ndarray,
    kernel: int,
    stride: int,
    padding: int,
    dilation: int,
    dx: np.ndarray,
) -> None:
    """Write d loss / d input of a chunk into NCHW ``dx``: col2im of ``W2.T @ dY``.

    ``dy`` is the chunk's output gradient (n, F, OH, OW).

    Examples
    --------
    >>> dx = np.empty((1, 1, 3, 3))
    >>> input_grad_chunk(np.ones((1, 4)), np.ones((1, 1, 2, 2)), 2, 1, 0, 1, dx)
    >>> dx[0, 0]
    array([[1., 2., 1.],
           [2., 4., 2.],
           [1., 2., 1.]])
    """
    h, w = dx.shape[2:]
    p = padding
    if stride == 1:
        dxt = _fold_rows(w2, dy, kernel, dilation, (h + 2 * p, w + 2 * p))
    else:
        dxt = _fold_strided(w2, dy, kernel, stride, dilation, (h + 2 * p, w + 2 * p))
    dx[...] = dxt[:, :, p : p + h, p : p + w].transpose(1, 0, 2, 3)


def _fold_strided(
    w2: np.ndarray, dy: np.ndarray, kernel: int, stride: int, dilation: int, hw: tuple[int, int]
) -> np.ndarray:
    """col2im for any stride: one strided ``+=`` of (C, n, OH, OW) per kernel offset."""
    n, _, oh, ow = dy.shape
    c = w2.shape[1] // kernel**2
    dcols = np.matmul(w2.T, dy_columns(dy)).reshape(c, kernel, kernel, n, oh, ow)
    dxt = np.zeros((c, n, *hw), dtype=dcols.dtype)
    r_span, c_span = stride * (oh - 1) + 1, stride * (ow - 1) + 1
    for i in range(kernel):
        for j in range(kernel):
            r0, c0 = i * dilation, j * dilation
            dxt[:, :, r0 : r0 + r_span : stride, c0 : c0 + c_span : stride] += dcols[:, i, j]
    return dxt


def _fold_rows(
    w2: np.ndarray, dy: np.ndarray, kernel: int, dilation: int, hw: tuple[int, int]
) -> np.ndarray:
    """col2im for stride 1 as nine (K*K) shifted adds of whole rows of the padded input.

    The output gradient is widened with zeros from (OH, OW) to the padded input's (HP, WP), so
    output position (n, oh, ow) and kernel offset (i, j) land on flat input position
    ``n*HP*WP + (oh + i*d) * WP + ow + j*d``: the same flat index shifted by ``(i*WP + j) * d``.
    Each kernel offset is then one ``+=`` of a (C, n*HP*WP) block, long contiguous rows instead
    of runs of OW numbers. The widened positions are exact zeros, so whatever they overlap (the
    next row, the next sample, the slack at the end) gets nothing added.
    """
    n, f, oh, ow = dy.shape
    hp, wp = hw
    c = w2.shape[1] // kernel**2
    size = n * hp * wp
    wide = np.zeros((f, n, hp, wp), dtype=dy.dtype)
    wide[:, :, :oh, :ow] = dy.transpose(1, 0, 2, 3)
    dcols = np.matmul(w2.T, wide.reshape(f, size)).reshape(c, kernel, kernel, size)
    flat = np.zeros((c, size + dilation * (kernel - 1) * (wp + 1)), dtype=dcols.dtype)
    for i in range(kernel):
        for j in range(kernel):
            shift = dilation * (i * wp + j)
            flat[:, shift : shift + size] += dcols[:, i, j]
    return flat[:, :size].reshape(c, n, hp, wp)
