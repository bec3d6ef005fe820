"""Fwumious Wabbit's ``--linear name1[,name2...][:w]``: LR combos of full namespace names.

Each ``--linear`` is one LR combo (so one input of the deep layers). Its features cross those of
its namespaces (or ``--transform`` targets) as FW does (``feature_buffer.rs``): the hash is
``h_next ^ (h_prev * 16777619 mod 2**32)`` over the namespaces in order, the value the product
of the values, times ``w``. A single namespace keeps its own hashes. :mod:`wg_online.transforms`
computes them with the transforms, into the letter ``LINEAR_LETTER0 + i`` for combo i.

FW's parser keeps 31-bit feature hashes, ours 32-bit ones. Bit 31 of an input changes only bit
31 of the crossed hash (the prime is odd), which the LR mask (``-b`` is at most 30) drops: the
masked hashes are FW's. As in ``Combine``, a namespace read by a binner counts as FW's float
namespace (value 1); others carry the namespace weight times the feature's value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from wg_online.vw_format import parse_number

Feature = tuple[int, float]  # (32-bit hash, value)
Block = tuple[np.ndarray, np.ndarray, np.ndarray]  # (example, hash, value) arrays, by example


class LinearError(ValueError):
    """A malformed ``--linear``; the message names the flag, the bad part and the fix."""


#: ``--linear`` combos are passed to the parser among the transforms with this prefix.
LINEAR_PREFIX = "linear:"
#: The namespace letter of ``--linear`` combo i is ``LINEAR_LETTER0 + i``: a UTF-8
#: continuation byte, which never starts a namespace name of the data.
LINEAR_LETTER0 = 0x80
MAX_LINEAR = 64
_FNV = 16777619


@dataclass(frozen=True)
class Linear:
    """One parsed ``--linear name1[,name2...][:w]``: an LR combo of full namespace names."""

    sources: tuple[str, ...]
    weight: float


def parse_linear(spec: str) -> Linear:
    """Parse one ``--linear`` value (FW's ``model_instance.rs``): names, then ``:weight``.

    Raises
    ------
    LinearError
        For an empty name, a ``:`` inside a name or a weight that is not a finite number.

    Examples
    --------
    >>> parse_linear("user,ad:0.5")
    Linear(sources=('user', 'ad'), weight=0.5)
    >>> parse_linear("a:b:1")
    Traceback (most recent call last):
    wg_online.combos.LinearError: --linear 'a:b:1': a ':' inside a namespace name. \
Write names, then one optional ':weight', e.g. --linear user,ad:0.5
    """
    names, sep, raw_w = spec.rpartition(":") if ":" in spec else (spec, "", "")
    fix = "Write names, then one optional ':weight', e.g. --linear user,ad:0.5"
    if ":" in names:
        raise LinearError(f"--linear {spec!r}: a ':' inside a namespace name. {fix}")
    weight = 1.0
    if sep:
        value = parse_number(raw_w.strip().encode())
        if value is None or not math.isfinite(value):
            raise LinearError(f"--linear {spec!r}: weight {raw_w!r} is not a finite number. {fix}")
        weight = value
    sources = tuple(n.strip() for n in names.split(","))
    if not all(sources):
        raise LinearError(f"--linear {spec!r}: an empty namespace name. {fix}")
    return Linear(sources, weight)


def cross(inputs: list[list[Feature]], weight: float) -> list[Feature]:
    """FW's combo features: ``h = h_next ^ (h_prev * FNV mod 2**32)``, values multiplied, then
    times ``weight``; one namespace keeps its own hashes.

    Examples
    --------
    >>> cross([[(3, 2.0)], [(5, 1.5), (6, 1.0)]], 0.5) == [
    ...     (3 * 16777619 ^ 5, 1.5), (3 * 16777619 ^ 6, 1.0)]
    True
    """
    w32 = np.float32(weight)
    combos = [(h, np.float32(v)) for h, v in inputs[0]]
    for feats in inputs[1:]:
        combos = [(((h * _FNV) & 0xFFFFFFFF) ^ h2, v * np.float32(v2)) for h, v in combos
                  for h2, v2 in feats]  # fmt: skip
    return [(h, float(v * w32)) for h, v in combos]


def cross_v(inputs: list[Block], weight: float, n_ex: int) -> Block:
    """:func:`cross` for a block: each input is (example, hash, value) arrays, by example."""
    from wg_online.transform_scan import pairs

    ex, h, v = inputs[0]
    h = h.astype(np.uint64)
    for ex_i, h_i, v_i in inputs[1:]:
        ex, ia, ib = pairs(ex, ex_i, n_ex)
        h = ((h[ia] * np.uint64(_FNV)) & np.uint64(0xFFFFFFFF)) ^ h_i[ib].astype(np.uint64)
        v = v[ia] * v_i[ib]
    return ex, h, (v * np.float32(weight)).astype(np.float32)
