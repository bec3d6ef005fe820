"""Fwumious Wabbit's FFM weight initialisation (``block_ffm.rs:784-829``) and VW's ``merand48``.

With ``--ffm_init_width 0`` weight ``i`` of ``Nw`` is ``(merand48(Nw + i) - 0.5) / sqrt(k) / 50``;
with a width ``W > 0`` it is ``merand48(i) * band - band / 2`` for ``band = W * (1 - zero_band)``,
pushed away from zero by ``W * zero_band / 2`` (down when <= 0, up when > 0), plus
``--ffm_init_center``. All arithmetic is float32, as in FW.
"""

from __future__ import annotations

import numpy as np

_MULT = np.uint64(0xEECE66D5DEECE66D)
_ADD = np.uint64(2147483647)


def merand48(seeds: np.ndarray) -> np.ndarray:
    """VW's ``merand48`` of each uint64 seed: a float32 in [0, 1), a pure function of the seed.

    Examples
    --------
    >>> merand48(np.array([0, 1], np.uint64)).tolist()  # the merand48 crate's test values
    [7.510185241699219e-06, 0.4017084836959839]
    """
    x = np.asarray(seeds, np.uint64) * _MULT + _ADD  # wraps mod 2**64 (array arithmetic)
    bits = ((x >> np.uint64(25)) & np.uint64(0x7FFFFF)) | np.uint64(0x3F800000)
    return bits.astype(np.uint32).view(np.float32) - np.float32(1)


def fw_ffm_weights(n: int, k: int, width: float, center: float, zero_band: float) -> np.ndarray:
    """FW's ``n`` initial FFM weights for embedding size ``k``.

    Examples
    --------
    >>> w = fw_ffm_weights(4, 4, 0.0, 0.0, 0.0)
    >>> bool(np.allclose(w, (merand48(np.arange(4, 8, dtype=np.uint64)) - 0.5) / 2 / 50))
    True
    >>> fw_ffm_weights(2, 4, 1.0, 0.5, 0.5).tolist()  # both <= 0 before the gap and center
    [3.7550926208496094e-06, 0.20085424184799194]
    """
    f32 = np.float32
    if width == 0:
        r = merand48(np.arange(n, 2 * n, dtype=np.uint64))
        return ((r - f32(0.5)) * (f32(1) / np.sqrt(f32(k))) / f32(50)).astype(np.float32)
    band = f32(width) * (f32(1) - f32(zero_band))
    w = merand48(np.arange(n, dtype=np.uint64)) * band - band / f32(2)
    gap = f32(width) * f32(zero_band) / f32(2)
    w = np.where(w <= 0, w - gap, w + gap) + f32(center)
    return w.astype(np.float32)
