"""The layer protocol that every wg_convnet layer follows, and its shape checks."""

from __future__ import annotations

import copy
from typing import Any, ClassVar

import numpy as np

from wg_convnet.errors import ShapeError

Array = Any


class Layer:
    """Base class: ``forward`` caches what ``backward`` needs; ``backward`` fills ``grads``.

    ``params`` and ``grads`` map names to arrays of the same shape; ``state`` holds buffers that
    are saved with the model but not trained (BatchNorm running statistics).
    """

    def __init__(self) -> None:
        self.params: dict[str, Array] = {}
        self.grads: dict[str, Array] = {}
        self.state: dict[str, Array] = {}

    def build(self, rng: np.random.Generator, *, xp: Any, dtype: Any, device: Any = None) -> None:
        """Create parameters (drawn from ``rng`` on the host) as ``xp`` arrays of ``dtype``."""

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        """Shapes that ``params`` and ``state`` must have (used to validate loaded models)."""
        return {}

    def forward(self, x: Array, *, training: bool = False) -> Array:
        raise NotImplementedError

    def backward(self, dy: Array) -> Array:
        raise NotImplementedError

    def replica(self) -> Layer:
        """A shallow copy that shares ``params`` and ``state`` (the same dicts) but has its own
        ``grads`` and caches, for running a shard of the batch on another thread."""
        twin = copy.copy(self)
        twin.grads = {}
        return twin

    #: names of the constructor arguments, each stored as the attribute of that name
    config_names: ClassVar[tuple[str, ...]] = ()

    def config(self) -> dict[str, Any]:
        """Constructor arguments, enough to rebuild the layer (JSON-serialisable)."""
        return {name: getattr(self, name) for name in self.config_names}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items())
        return f"{type(self).__name__}({args})"

    def _cache(self, name: str) -> Array:
        try:
            return self.__dict__[name]
        except KeyError:
            raise RuntimeError(
                f"{self!r}: backward() called before forward(training=True)"
            ) from None


def check_int(name: str, value: int, minimum: int = 1) -> int:
    """Return ``value`` when it is an integer (not a bool) >= ``minimum``, else raise ValueError.

    Examples
    --------
    >>> check_int("stride", 2)
    2
    >>> check_int("kernel_size", True)
    Traceback (most recent call last):
    ...
    ValueError: kernel_size must be an integer >= 1, got True
    """
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return value


def check_ndim(layer: Layer, x: Array, ndim: int, layout: str) -> None:
    """Raise ShapeError unless ``x`` has ``ndim`` axes, naming the layer and the layout it wants."""
    if len(x.shape) != ndim:
        raise ShapeError(
            f"{layer!r} expects input of shape {layout}, got an array of shape {tuple(x.shape)}"
        )


def check_axis(layer: Layer, x: Array, axis: int, expected: int, layout: str) -> None:
    """Raise ShapeError unless ``x.shape[axis] == expected``."""
    if x.shape[axis] != expected:
        raise ShapeError(
            f"{layer!r} expects input of shape {layout}, got an array of shape {tuple(x.shape)}"
        )


def to_xp(array: np.ndarray, xp: Any, dtype: Any, device: Any) -> Array:
    """Move a host NumPy array to namespace ``xp`` with ``dtype`` on ``device``."""
    if device is None:
        return xp.asarray(array, dtype=dtype)
    return xp.asarray(array, dtype=dtype, device=device)
