"""``np.fft``: every transform is the full-length DFT primitive plus slicing, padding and
Hermitian symmetry written with primitives (so real-input and real-output transforms follow)."""

from __future__ import annotations

from typing import Any

import numpy as np

from wg_autodiff.core import mark_complex
from wg_autodiff.namespace import shape_of
from wg_autodiff.numpy_api import concatenate, getitem
from wg_autodiff.numpy_shapes import moving
from wg_autodiff.primitives.complex import conj, real
from wg_autodiff.primitives.fft import fft_p

_SWAP = {None: "forward", "backward": "forward", "forward": "backward", "ortho": "ortho"}


def _resize(x: Any, n: int, axis: int) -> Any:
    """Crop or zero-pad ``x`` to length ``n`` along ``axis`` (NumPy's ``n=`` / ``s=``)."""
    ndim = len(shape_of(x))
    axis %= ndim
    have = shape_of(x)[axis]
    if n == have:
        return x
    if n < have:
        return getitem(x, (slice(None),) * axis + (slice(0, n),))
    shape = list(shape_of(x))
    shape[axis] = n - have
    return concatenate([x, np.zeros(shape)], axis=axis)


def _axes(x: Any, s: Any, axes: Any) -> tuple[list[int], list[int]]:
    ndim = len(shape_of(x))
    if axes is None:
        axes = list(range(ndim)) if s is None else list(range(ndim - len(s), ndim))
    axes = [a % ndim for a in axes]
    sizes = [shape_of(x)[a] for a in axes] if s is None else [int(n) for n in s]
    return axes, sizes


def _transform(x: Any, sizes: list[int], axes: list[int], norm: Any, inverse: bool) -> Any:
    for n, a in zip(sizes, axes, strict=True):
        x = _resize(x, n, a)
    mark_complex(x)
    return fft_p.bind(x, axes=tuple(axes), norm=norm, inverse=inverse)


def fftn(a: Any, s: Any = None, axes: Any = None, norm: Any = None, out: Any = None) -> Any:
    ax, sizes = _axes(a, s, axes)
    return _transform(a, sizes, ax, norm, False)


def ifftn(a: Any, s: Any = None, axes: Any = None, norm: Any = None, out: Any = None) -> Any:
    ax, sizes = _axes(a, s, axes)
    return _transform(a, sizes, ax, norm, True)


def fft(a: Any, n: Any = None, axis: int = -1, norm: Any = None, out: Any = None) -> Any:
    return fftn(a, None if n is None else [n], [axis], norm)


def ifft(a: Any, n: Any = None, axis: int = -1, norm: Any = None, out: Any = None) -> Any:
    return ifftn(a, None if n is None else [n], [axis], norm)


def fft2(a: Any, s: Any = None, axes: Any = (-2, -1), norm: Any = None, out: Any = None) -> Any:
    return fftn(a, s, axes, norm)


def ifft2(a: Any, s: Any = None, axes: Any = (-2, -1), norm: Any = None, out: Any = None) -> Any:
    return ifftn(a, s, axes, norm)


def _half(x: Any, n: int, axis: int) -> Any:
    return getitem(x, (slice(None),) * (axis % len(shape_of(x))) + (slice(0, n // 2 + 1),))


def rfftn(a: Any, s: Any = None, axes: Any = None, norm: Any = None, out: Any = None) -> Any:
    ax, sizes = _axes(a, s, axes)
    return _half(_transform(a, sizes, ax, norm, False), sizes[-1], ax[-1])


def rfft(a: Any, n: Any = None, axis: int = -1, norm: Any = None, out: Any = None) -> Any:
    return rfftn(a, None if n is None else [n], [axis], norm)


def rfft2(a: Any, s: Any = None, axes: Any = (-2, -1), norm: Any = None, out: Any = None) -> Any:
    return rfftn(a, s, axes, norm)


def _hermitian_full(x: Any, n: int, axis: int) -> Any:
    """The length-``n`` spectrum whose first ``n // 2 + 1`` entries are ``x``'s (the others are
    the conjugates mirrored), as ``irfft`` reads it."""
    x = _resize(x, n // 2 + 1, axis)
    lead = (slice(None),) * (axis % len(shape_of(x)))
    tail = getitem(x, (*lead, slice(n - n // 2 - 1, 0, -1)))
    return concatenate([x, conj(tail)], axis=axis)


def irfftn(a: Any, s: Any = None, axes: Any = None, norm: Any = None, out: Any = None) -> Any:
    ndim = len(shape_of(a))
    if axes is None:
        axes = list(range(ndim)) if s is None else list(range(ndim - len(s), ndim))
    axes = [x % ndim for x in axes]
    if s is None:
        s = [shape_of(a)[x] for x in axes[:-1]] + [2 * (shape_of(a)[axes[-1]] - 1)]
    x = a
    if len(axes) > 1:
        x = _transform(x, list(s[:-1]), axes[:-1], norm, True)
    full = _hermitian_full(x, int(s[-1]), axes[-1])
    mark_complex(full)
    return real(fft_p.bind(full, axes=(axes[-1],), norm=norm, inverse=True))


def irfft(a: Any, n: Any = None, axis: int = -1, norm: Any = None, out: Any = None) -> Any:
    return irfftn(a, None if n is None else [n], [axis], norm)


def irfft2(a: Any, s: Any = None, axes: Any = (-2, -1), norm: Any = None, out: Any = None) -> Any:
    return irfftn(a, s, axes, norm)


def hfft(a: Any, n: Any = None, axis: int = -1, norm: Any = None, out: Any = None) -> Any:
    return irfft(conj(a), n, axis, _SWAP[norm])


def ihfft(a: Any, n: Any = None, axis: int = -1, norm: Any = None, out: Any = None) -> Any:
    return conj(rfft(a, n, axis, _SWAP[norm]))


FFT: dict[Any, Any] = {
    np.fft.fft: fft,
    np.fft.ifft: ifft,
    np.fft.fft2: fft2,
    np.fft.ifft2: ifft2,
    np.fft.fftn: fftn,
    np.fft.ifftn: ifftn,
    np.fft.rfft: rfft,
    np.fft.rfft2: rfft2,
    np.fft.rfftn: rfftn,
    np.fft.irfft: irfft,
    np.fft.irfft2: irfft2,
    np.fft.irfftn: irfftn,
    np.fft.hfft: hfft,
    np.fft.ihfft: ihfft,
    np.fft.fftshift: moving(np.fft.fftshift),
    np.fft.ifftshift: moving(np.fft.ifftshift),
}
