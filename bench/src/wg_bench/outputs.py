"""Outputs of implementations: conversion to NumPy, flattening and the default error measure.

An implementation returns an array, a scalar, or a pytree of them (tuples, lists, dicts). Before the
equivalence gate compares it with the oracle's output, every leaf becomes a NumPy array: CuPy arrays
through ``.get()``, torch tensors through ``.detach().cpu().numpy()``, JAX and everything else
through ``np.asarray``.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np


class StructureError(ValueError):
    """Two outputs do not have the same pytree structure or leaf shapes."""


def to_numpy(leaf: Any) -> Any:
    """One leaf as a NumPy array (host memory).

    Examples
    --------
    >>> to_numpy([1.0, 2.0]).tolist()
    [1.0, 2.0]
    """
    module = type(leaf).__module__.split(".", 1)[0]
    if module == "torch":
        return leaf.detach().cpu().numpy()
    if module == "cupy":
        return leaf.get()
    return np.asarray(leaf)


def to_host(output: Any) -> Any:
    """The whole pytree with every leaf converted by :func:`to_numpy`.

    Examples
    --------
    >>> to_host({"w": (1, 2), "b": 3.0})["w"][0]
    array(1)
    """
    if isinstance(output, dict):
        return {k: to_host(v) for k, v in output.items()}
    if isinstance(output, list | tuple) and not hasattr(output, "_fields"):
        return type(output)(to_host(v) for v in output)
    if isinstance(output, list | tuple):  # namedtuple
        return type(output)(*(to_host(v) for v in output))
    return to_numpy(output)


def leaves(output: Any, path: str = "output") -> list[tuple[str, np.ndarray]]:
    """Flatten a host pytree into ``(path, array)`` pairs in a stable order (dict keys sorted)."""
    if isinstance(output, dict):
        return [p for k in sorted(output, key=str) for p in leaves(output[k], f"{path}[{k!r}]")]
    if isinstance(output, list | tuple):
        return [p for i, v in enumerate(output) for p in leaves(v, f"{path}[{i}]")]
    return [(path, np.asarray(output))]


def rho_error(output: Any, expected: Any) -> float:
    """ADBench's error: the largest ``|x - y| / max(1, |x| + |y|)`` over matching leaves.

    Raises :class:`StructureError` when the pytrees or leaf shapes differ. NaN anywhere gives NaN,
    which fails every tolerance.

    Examples
    --------
    >>> round(rho_error((1.0, [2.0, 3.0]), (1.0, [2.0, 3.5])), 4)
    0.0769
    >>> rho_error([1.0], [1.0, 2.0])
    Traceback (most recent call last):
    ...
    wg_bench.outputs.StructureError: output has 1 leaves but the oracle's has 2
    """
    got, want = leaves(output), leaves(expected)
    if len(got) != len(want):
        raise StructureError(f"output has {len(got)} leaves but the oracle's has {len(want)}")
    worst = 0.0
    for (path, x), (_, y) in zip(got, want, strict=True):
        if x.shape != y.shape:
            raise StructureError(f"{path} has shape {x.shape} but the oracle's has {y.shape}")
        if x.size == 0:
            continue
        x64, y64 = x.astype(np.float64, copy=False), y.astype(np.float64, copy=False)
        rho = np.abs(x64 - y64) / np.maximum(1.0, np.abs(x64) + np.abs(y64))
        value = float(np.max(rho))
        if value != value:  # NaN
            return float("nan")
        worst = max(worst, value)
    return worst


def is_async(output: Any) -> bool:
    """Whether the pytree holds JAX arrays, which are computed asynchronously (on the CPU too).

    Examples
    --------
    >>> is_async({"a": [1.0, np.ones(2)]})
    False
    """
    if isinstance(output, dict):
        return any(is_async(v) for v in output.values())
    if isinstance(output, list | tuple):
        return any(is_async(v) for v in output)
    return type(output).__module__.split(".", 1)[0] in ("jax", "jaxlib")


def block(output: Any) -> Any:
    """Wait until every JAX array of the pytree is computed; returns the output."""
    jax = sys.modules.get("jax")
    if jax is not None:
        jax.block_until_ready(output)
    return output


def device_sync() -> None:
    """Synchronise every loaded GPU framework, so a clock read sees finished work."""
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        torch.cuda.synchronize()
    cupy = sys.modules.get("cupy")
    if cupy is not None:
        cupy.cuda.get_current_stream().synchronize()


def command_output(
    command: Sequence[str], succeeded: Callable[[subprocess.CompletedProcess[bytes]], bool]
) -> np.ndarray:
    """The standard output of ``command`` as uint8 bytes, for an implementation that times a
    command line end to end; :class:`RuntimeError` with its exit status and standard error when
    ``succeeded`` says the run failed.

    Examples
    --------
    >>> command_output([sys.executable, "-c", "print('hi')"], lambda done: True).tobytes()
    b'hi\\n'
    """
    done = subprocess.run(list(command), capture_output=True, check=False)
    if not succeeded(done):
        raise RuntimeError(f"{' '.join(command)} exited {done.returncode}: {done.stderr!r}")
    return np.frombuffer(done.stdout, np.uint8)
