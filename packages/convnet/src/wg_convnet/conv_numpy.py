"""NumPy fast path of the channel-major Conv2D: im2col and col2im through preallocated buffers.

The array-API path (:mod:`wg_convnet.convolution`) is functional, so that tracers of automatic
differentiation can follow it, and pays for it with copies: ``stack`` of permuted windows yields a
non-contiguous array that ``reshape`` copies once more. On plain ``numpy.ndarray`` inputs this
module computes the same numbers with

- im2col as one copy into a preallocated (C*KH*KW, n*OH*OW) buffer from a strided view of
  all kernel windows of the (channel-major) input; at stride 1 those windows are read from a
  copy of the input shifted by each kernel column, so that both copies move long runs;
- the forward GEMM written through one fused transpose + bias add straight into the output;
- the output gradient of a chunk transposed once into NHWC rows (n*OH*OW, F), which serve both
  backward GEMMs: ``cols @ rows`` for the (transposed) weight gradient, and from
  :data:`NHWC_MIN_CHANNELS` input channels on ``rows @ W[:, :, i, j]`` per kernel offset for
  the input gradient, whose col2im then adds whole NHWC rows of OW*C numbers;
- with fewer channels, col2im as one ``+=`` per kernel offset into a channel-major buffer (for
  stride 1 as shifted adds of whole padded images, see :func:`_fold_rows`);
- the input gradient copied once into a contiguous NCHW array.

The GEMMs themselves are BLAS calls on contiguous operands (``W2 @ cols``, ``cols @ rows``,
``rows @ W[:, :, i, j]`` or ``W2.T @ dY``). Every function works on one chunk of samples, so
callers bound the scratch memory and may run chunks on different threads (NumPy releases the GIL
in BLAS and in copies).
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from wg_convnet import convolution
from wg_convnet.convolution import chunk_size, tap

#: im2col chunk budget of the fast path: columns small enough to stay in cache between the
#: im2col writes and the GEMM that reads them, and a chunk that splits into whole groups of
#: :data:`INPUT_GRAD_BYTES` (uneven groups leave one short GEMM per chunk); never above
#: :data:`wg_convnet.convolution.SCRATCH_BYTES`
CHUNK_BYTES = 5 * 2**19
#: from this many input channels on, the input gradient is computed channels-last, one GEMM of C
#: columns per kernel offset (:func:`_input_grad_nhwc`); with fewer channels those GEMMs are too
#: narrow for BLAS to reach its throughput, and the channel-major GEMM + col2im wins
NHWC_MIN_CHANNELS = 16
#: budget of the per-kernel-offset GEMM results of the channels-last input gradient: small
#: enough to stay in a 1 MiB L2 cache until col2im adds them up
INPUT_GRAD_BYTES = 640 * 2**10


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
    16
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

    Equal to :func:`wg_convnet.convolution.im2col` of the padded chunk with ``channel_major``.
    Written into ``out`` when given (a buffer of that shape and dtype, reused between calls),
    else a new array.

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
    if stride == 1:
        windows = _windows_stride1(xt, kernel, out_hw, dilation)
    else:
        sc, sn, sh, sw = xt.strides
        # all K*K windows as one read-only view, copied in one call: one loop in C, not K*K
        windows = np.lib.stride_tricks.as_strided(
            xt,
            shape=(c, kernel, kernel, n, oh, ow),
            strides=(sc, sh * dilation, sw * dilation, sn, sh * stride, sw * stride),
            writeable=False,
        )
    cols.reshape(c, kernel, kernel, n, oh, ow)[...] = windows
    return cols


def _windows_stride1(
    xt: np.ndarray, kernel: int, out_hw: tuple[int, int], dilation: int
) -> np.ndarray:
    """All K*K stride-1 windows (C, K, K, n, OH, OW) of a channel-major ``xt`` (C, n, HP, WP).

    Made of a copy of ``xt`` shifted by each kernel column, (C, K, n, HP, OW): the window of
    kernel offset (i, j) is then OH whole rows of the j-th shift, so that im2col copies runs of
    OH*OW numbers instead of OW, and only the K*HP*OW numbers per channel and sample of the shifts
    move in runs of OW (not the K*K*OH*OW of the columns); long runs copy faster than short ones.
    """
    c, n, hp, _ = xt.shape
    oh, ow = out_hw
    sc, sn, sh, sw = xt.strides
    shifts = np.empty((c, kernel, n, hp, ow), dtype=xt.dtype)
    shifts[...] = np.lib.stride_tricks.as_strided(
        xt, shape=shifts.shape, strides=(sc, sw * dilation, sn, sh, sw), writeable=False
    )
    tc, tj, tn, th, tw = shifts.strides
    return np.lib.stride_tricks.as_strided(
        shifts,
        shape=(c, kernel, kernel, n, oh, ow),
        strides=(tc, th * dilation, tj, tn, th, tw),
        writeable=False,
    )


def forward_chunk(w2: np.ndarray, b: np.ndarray, cols: np.ndarray, out: np.ndarray) -> None:
    """``out[...] = W2 @ cols + b``, the GEMM result written into NCHW ``out`` (n, F, OH, OW)."""
    n, f, oh, ow = out.shape
    y = np.matmul(w2, cols)
    np.add(y.reshape(f, n, oh, ow).transpose(1, 0, 2, 3), b.reshape(1, f, 1, 1), out=out)


def _dy_columns(dy: np.ndarray) -> np.ndarray:
    """Output gradient of a chunk (n, F, OH, OW) as a contiguous (F, n*OH*OW) matrix."""
    n, f, oh, ow = dy.shape
    dyc = np.empty((f, n, oh, ow), dtype=dy.dtype)
    dyc[...] = dy.transpose(1, 0, 2, 3)
    return dyc.reshape(f, n * oh * ow)


def dy_rows(dy: np.ndarray) -> np.ndarray:
    """Output gradient of a chunk (n, F, OH, OW) as a contiguous (n*OH*OW, F) matrix (NHWC rows).

    Examples
    --------
    >>> dy_rows(np.arange(4.0).reshape(1, 2, 1, 2))
    array([[0., 2.],
           [1., 3.]])
    """
    n, f, oh, ow = dy.shape
    rows = np.empty((n, oh, ow, f), dtype=dy.dtype)
    rows[...] = dy.transpose(0, 2, 3, 1)
    return rows.reshape(n * oh * ow, f)


def weight_grad_chunk(cols: np.ndarray, rows: np.ndarray, dwt: np.ndarray) -> None:
    """``dwt += cols @ rows``: the transposed weight gradient (C*K*K, F) of one chunk.

    ``cols`` (C*K*K, n*OH*OW) are the chunk's im2col columns, ``rows`` its output gradient as
    :func:`dy_rows`. This orientation multiplies two row-major operands without a transpose,
    which BLAS runs faster than ``dY @ cols.T``.
    """
    dwt += np.matmul(cols, rows)


def input_grad_chunk(
    w: np.ndarray,
    dy: np.ndarray,
    rows: np.ndarray,
    stride: int,
    padding: int,
    dilation: int,
    dx: np.ndarray,
) -> None:
    """Write d loss / d input of a chunk into NCHW ``dx`` (col2im of the GEMM ``W2.T @ dY``).

    ``w`` are the weights (F, C, KH, KW), ``dy`` the chunk's output gradient (n, F, OH, OW) and
    ``rows`` the same as :func:`dy_rows` (the weight gradient needs them too). From
    :data:`NHWC_MIN_CHANNELS` input channels on, see :func:`_input_grad_nhwc`; below, the
    channel-major GEMM and col2im of :func:`_fold_rows` / :func:`_fold_strided`.

    Examples
    --------
    >>> dx = np.empty((1, 1, 3, 3))
    >>> dy = np.ones((1, 1, 2, 2))
    >>> input_grad_chunk(np.ones((1, 1, 2, 2)), dy, dy_rows(dy), 1, 0, 1, dx)
    >>> dx[0, 0]
    array([[1., 2., 1.],
           [2., 4., 2.],
           [1., 2., 1.]])
    """
    if w.shape[1] >= NHWC_MIN_CHANNELS:
        _input_grad_nhwc(w, rows, dy.shape[2:], stride, padding, dilation, dx)
        return
    h, wd = dx.shape[2:]
    p, kernel, w2 = padding, w.shape[2], w.reshape(w.shape[0], -1)
    if stride == 1:
        dxt = _fold_rows(w2, dy, kernel, dilation, (h + 2 * p, wd + 2 * p))
    else:
        dxt = _fold_strided(w2, dy, kernel, stride, dilation, (h + 2 * p, wd + 2 * p))
    dx[...] = dxt[:, :, p : p + h, p : p + wd].transpose(1, 0, 2, 3)


def _input_grad_nhwc(
    w: np.ndarray,
    rows: np.ndarray,
    out_hw: tuple[int, int],
    stride: int,
    padding: int,
    dilation: int,
    dx: np.ndarray,
) -> None:
    """Input gradient as one GEMM per kernel offset in NHWC order, then col2im.

    ``rows @ W[:, :, i, j]`` is, for kernel offset (i, j), the input-gradient contribution
    (n, OH, OW, C) of every output position; col2im adds it, shifted by the offset, into an
    NHWC image. With channels innermost every ``+=`` runs over whole rows of OW*C numbers
    (stride 1), and no GEMM column is spent on padding (the channel-major fold widens the output
    gradient to the padded grid, so its GEMM also multiplies the border). Runs over
    groups of samples whose GEMM results fit :data:`INPUT_GRAD_BYTES`.
    """
    n, c, h, wd = dx.shape
    (oh, ow), p = out_hw, padding
    kh, kw = w.shape[2:]
    taps = np.ascontiguousarray(w.transpose(2, 3, 0, 1))  # (KH, KW, F, C)
    itemsize = np.result_type(rows, taps).itemsize
    groups = -(-n // chunk_size(n, kh * kw * oh * ow * c * itemsize, budget=INPUT_GRAD_BYTES))
    bounds = [n * g // groups for g in range(groups + 1)]  # 13 samples: 3+3+3+4, not 4+4+4+1
    for n0, n1 in itertools.pairwise(bounds):
        parts = np.matmul(rows[n0 * oh * ow : n1 * oh * ow], taps)
        parts = parts.reshape(kh, kw, n1 - n0, oh, ow, c)
        image = np.zeros((n1 - n0, h + 2 * p, wd + 2 * p, c), dtype=parts.dtype)
        for i in range(kh):
            for j in range(kw):
                rows_, cols = tap(i, j, out_hw, stride, dilation)
                image[:, rows_, cols] += parts[i, j]
        dx[n0:n1] = image[:, p : p + h, p : p + wd].transpose(0, 3, 1, 2)


def _fold_strided(
    w2: np.ndarray, dy: np.ndarray, kernel: int, stride: int, dilation: int, hw: tuple[int, int]
) -> np.ndarray:
    """col2im for any stride: one strided ``+=`` of (C, n, OH, OW) per kernel offset."""
    n, _, oh, ow = dy.shape
    c = w2.shape[1] // kernel**2
    dcols = np.matmul(w2.T, _dy_columns(dy)).reshape(c, kernel, kernel, n, oh, ow)
    dxt = np.zeros((c, n, *hw), dtype=dcols.dtype)
    for i in range(kernel):
        for j in range(kernel):
            rows, cols = tap(i, j, (oh, ow), stride, dilation)
            dxt[:, :, rows, cols] += dcols[:, i, j]
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
