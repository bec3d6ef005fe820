"""The seed task: images of horizontal, vertical and diagonal line segments, made on the fly.

Deterministic for a seed, any number of images, nothing to download.
"""

from __future__ import annotations

import numpy as np


def make_lines(
    n: int,
    *,
    size: int = 16,
    noise: float = 0.2,
    seed: int = 0,
    target: str = "orientation",
) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``n`` noisy ``size`` x ``size`` images, each holding one line segment.

    Parameters
    ----------
    n, size
        Number of images and their side length in pixels (size >= 4).
    noise
        Standard deviation of the Gaussian noise added to every pixel.
    seed
        Seed of the generator: the same arguments give the same arrays.
    target
        ``"orientation"``: labels (n,) int64 in 0 = horizontal, 1 = vertical, 2 = diagonal
        (either direction). ``"edges"``: the (n, 1, size, size) float32 mask of line pixels, a
        per-pixel edge-detection target for a mean-squared-error model.

    Returns
    -------
    X, y
        X has shape (n, 1, size, size), float32, line pixels near 1 and background near 0.

    Examples
    --------
    >>> X, y = make_lines(4, size=8, noise=0.0, seed=1)
    >>> X.shape, y.tolist()
    ((4, 1, 8, 8), [1, 1, 2, 2])
    >>> print("\\n".join("".join("#" if v else "-" for v in row) for row in X[1, 0]))
    --------
    --------
    ----#---
    ----#---
    ----#---
    ----#---
    --------
    --------
    """
    if n < 1 or size < 4:
        raise ValueError(f"make_lines needs n >= 1 and size >= 4, got n={n}, size={size}")
    if target not in ("orientation", "edges"):
        raise ValueError(f"unknown target {target!r}; use 'orientation' or 'edges'")
    rng = np.random.default_rng(seed)
    label = rng.integers(0, 3, size=n)
    mask = _line_masks(rng, label, size)
    X = mask + rng.normal(0.0, noise, size=mask.shape).astype(np.float32) if noise else mask
    X = X[:, None, :, :].astype(np.float32)
    if target == "edges":
        return X, mask[:, None, :, :]
    return X, label.astype(np.int64)


def _line_masks(rng: np.random.Generator, label: np.ndarray, size: int) -> np.ndarray:
    """The (n, size, size) float32 masks of one random segment per image, oriented by ``label``.

    Draws every image's segment from ``rng`` (length, start, row, direction, offset), whatever
    its label, so that the images of a seed do not depend on one another's labels.
    """
    n = label.shape[0]
    length = rng.integers(size // 2, size + 1, size=n)
    start = (rng.random(n) * (size - length + 1)).astype(np.int64)
    row = rng.integers(0, size, size=n)
    flip = rng.random(n) < 0.5
    offset = (rng.random(n) * (size - length + 1)).astype(np.int64)
    ys, xs = np.arange(size)[None, :, None], np.arange(size)[None, None, :]
    col = lambda v: v[:, None, None]  # noqa: E731
    along_x = (xs >= col(start)) & (xs < col(start + length))
    along_y = (ys >= col(start)) & (ys < col(start + length))
    horizontal = (ys == col(row)) & along_x
    vertical = (xs == col(row)) & along_y
    diag_x = np.where(
        col(flip), col(offset + length - 1 + start) - ys, ys - col(start) + col(offset)
    )
    diagonal = (xs == diag_x) & along_y
    return np.where(
        col(label) == 0, horizontal, np.where(col(label) == 1, vertical, diagonal)
    ).astype(np.float32)
