"""The discrete Fourier transform: one primitive for every ``np.fft`` function."""

from __future__ import annotations

from typing import Any

import numpy as np

from wg_autodiff.core import Primitive
from wg_autodiff.primitives.registry import Rule, register


def _fft_impl(x: Any, axes: tuple[int, ...], norm: Any, inverse: bool) -> Any:
    return (np.fft.ifftn if inverse else np.fft.fftn)(x, axes=axes, norm=norm)


fft_p = Primitive("fft", _fft_impl)
"""The n-dimensional DFT over ``axes`` (full lengths). Its matrix is symmetric, so the transpose
of the transform is the same transform."""
register(Rule(fft_p, (lambda g, ans, x, **params: fft_p.bind(g, **params),), linear=True))
