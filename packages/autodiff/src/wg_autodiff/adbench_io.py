"""Readers of ADBench input files (``FileFormat.md`` of microsoft/ADBench)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np


class ADBenchFormatError(ValueError):
    """An ADBench input file does not have the layout FileFormat.md describes."""


def _numbers(path: str | os.PathLike[str]) -> tuple[list[int], np.ndarray]:
    text = Path(path).read_text(encoding="utf-8")
    lines = text.splitlines()
    if not lines:
        raise ADBenchFormatError(f"{path}:1: empty file; expected a header line")
    try:
        header = [int(v) for v in lines[0].split()]
    except ValueError as exc:
        raise ADBenchFormatError(f"{path}:1: header must be integers, got {lines[0]!r}") from exc
    try:
        values = np.array(" ".join(lines[1:]).split(), dtype=float)
    except ValueError as exc:
        raise ADBenchFormatError(f"{path}: non-numeric value in the body ({exc})") from exc
    return header, values


def _take(values: np.ndarray, start: int, count: int, path: Any, what: str) -> np.ndarray:
    if start + count > values.size:
        raise ADBenchFormatError(
            f"{path}: file ends inside {what}: needs {start + count} numbers after the header, "
            f"has {values.size}; check the sizes in the header line"
        )
    return values[start : start + count]


def read_gmm(path: str | os.PathLike[str], replicate_point: bool = False) -> tuple[Any, ...]:
    """(alphas, means, icf, x, wishart_gamma, wishart_m) from a GMM file.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     p = Path(tmp) / "g.txt"
    ...     _ = p.write_text("1 1 2\\n0.5\\n0.1\\n0.2\\n1.0\\n2.0\\n1.0 0\\n")
    ...     a, mu, icf, x, gamma, m = read_gmm(p)
    >>> x.ravel().tolist(), gamma, m
    ([1.0, 2.0], 1.0, 0.0)
    """
    header, v = _numbers(path)
    if len(header) != 3:
        raise ADBenchFormatError(f"{path}:1: GMM header must be 'd k n', got {header}")
    d, k, n = header
    icf_len = d + d * (d - 1) // 2
    pos = 0
    alphas = _take(v, pos, k, path, "alphas")
    pos += k
    means = _take(v, pos, k * d, path, "means").reshape(k, d)
    pos += k * d
    icf = _take(v, pos, k * icf_len, path, "icf").reshape(k, icf_len)
    pos += k * icf_len
    n_read = 1 if replicate_point else n
    x = _take(v, pos, n_read * d, path, "points").reshape(n_read, d)
    pos += n_read * d
    if replicate_point:
        x = np.repeat(x, n, axis=0)
    gamma, m = _take(v, pos, 2, path, "wishart gamma and m")
    return alphas, means, icf, x, float(gamma), float(m)


def read_ba(path: str | os.PathLike[str]) -> tuple[Any, ...]:
    """(cams, X, w, obs, feats): one camera, point, weight and feature replicated to n, m, p.

    Observation i sees camera ``i % n`` and point ``i % m``, as ADBench's reader does.
    """
    header, v = _numbers(path)
    if len(header) != 3:
        raise ADBenchFormatError(f"{path}:1: BA header must be 'n m p', got {header}")
    n, m, p = header
    cam = _take(v, 0, 11, path, "camera")
    point = _take(v, 11, 3, path, "point")
    weight = _take(v, 14, 1, path, "weight")
    feat = _take(v, 15, 2, path, "feature")
    obs = np.stack([np.arange(p) % n, np.arange(p) % m], axis=1)
    return (
        np.tile(cam, (n, 1)),
        np.tile(point, (m, 1)),
        np.repeat(weight, p),
        obs,
        np.tile(feat, (p, 1)),
    )


def read_lstm(path: str | os.PathLike[str]) -> tuple[Any, ...]:
    """(main (l,2,4b), extra (3,b), state (l,2,b), seq (c,b)) from an LSTM file."""
    header, v = _numbers(path)
    if len(header) != 3:
        raise ADBenchFormatError(f"{path}:1: LSTM header must be 'l c b', got {header}")
    l, c, b = header  # noqa: E741
    sizes = [
        ("main parameters", 2 * l * 4 * b),
        ("extra parameters", 3 * b),
        ("state", 2 * l * b),
        ("sequence", c * b),
    ]
    parts = []
    pos = 0
    for what, size in sizes:
        parts.append(_take(v, pos, size, path, what))
        pos += size
    main, extra, state, seq = parts
    return (
        main.reshape(l, 2, 4 * b),
        extra.reshape(3, b),
        state.reshape(l, 2, b),
        seq.reshape(c, b),
    )
