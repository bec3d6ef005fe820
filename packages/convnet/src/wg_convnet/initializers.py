"""Weight initialisers: He (Kaiming) normal and Glorot (Xavier) uniform.

They draw from a NumPy ``Generator`` on the host so that a seed gives the same weights whatever
array namespace (and device) the model later runs on.
"""

from __future__ import annotations

import numpy as np

INITIALIZERS = ("he", "glorot")


def he_normal(shape: tuple[int, ...], fan_in: int, rng: np.random.Generator) -> np.ndarray:
    """He normal: N(0, 2 / fan_in), the variance that keeps ReLU activations at unit scale.

    Examples
    --------
    >>> w = he_normal((2000, 50), 50, np.random.default_rng(0))
    >>> round(float(w.std() ** 2 * 50), 1)
    2.0
    """
    return rng.normal(0.0, np.sqrt(2.0 / fan_in), size=shape)


def glorot_uniform(
    shape: tuple[int, ...], fan_in: int, fan_out: int, rng: np.random.Generator
) -> np.ndarray:
    """Glorot uniform: U(-a, a) with a = sqrt(6 / (fan_in + fan_out)).

    Examples
    --------
    >>> w = glorot_uniform((30, 20), 30, 20, np.random.default_rng(0))
    >>> bool(np.abs(w).max() <= np.sqrt(6 / 50))
    True
    """
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=shape)


def check_initializer(name: str) -> str:
    """Return ``name`` when it is one of :data:`INITIALIZERS`, else raise ``ValueError``.

    Examples
    --------
    >>> check_initializer("he")
    'he'
    >>> check_initializer("zeros")
    Traceback (most recent call last):
    ...
    ValueError: unknown initialiser 'zeros'; use one of he, glorot
    """
    if name not in INITIALIZERS:
        raise ValueError(f"unknown initialiser {name!r}; use one of {', '.join(INITIALIZERS)}")
    return name


def initialize(
    name: str, shape: tuple[int, ...], fan_in: int, fan_out: int, rng: np.random.Generator
) -> np.ndarray:
    """Draw weights with the initialiser called ``name`` (``"he"`` or ``"glorot"``)."""
    if check_initializer(name) == "he":
        return he_normal(shape, fan_in, rng)
    return glorot_uniform(shape, fan_in, fan_out, rng)
