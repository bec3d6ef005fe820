"""Data-parallel forward and backward passes of a layer stack on several threads.

The batch is split into ``threads`` contiguous shards. Each shard runs through its own shallow copy
of the layers (a *replica*: same ``params`` dict, so the same arrays, but its own caches, ``grads``
and scratch buffers; kept from step to step) on a thread of a shared pool. NumPy releases the GIL
in BLAS calls, copies and most ufuncs, so the shards really run side by side; BLAS is pinned to one
thread inside the parallel region (with threadpoolctl, when installed) so that the two levels of
threading do not fight.

Results are reduced deterministically: outputs and input gradients are concatenated in shard order,
parameter gradients summed in shard order. Training with a fixed seed and a fixed number of threads
is therefore reproducible; it differs from the one-thread run only by the rounding of those sums.

Layers whose output for one sample depends on the other samples of the batch (BatchNorm2D in
training) or that draw random numbers in order (Dropout) cannot be sharded this way;
:func:`shardable` says so and callers fall back to one thread.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from wg_convnet.layer import Array, Layer

_POOLS: dict[int, ThreadPoolExecutor] = {}
_LOCK = threading.Lock()
_BLAS: list[Any] = []  # [threadpoolctl controller] once looked up; [None] when unavailable


def shardable(layers: Sequence[Layer], x: Any, threads: int) -> bool:
    """Whether a batch ``x`` may be split over ``threads`` shards of ``layers``.

    Needs NumPy arrays, at least two samples per shard's worth (one sample per thread), and no
    layer that couples samples or draws random numbers.

    Examples
    --------
    >>> from wg_convnet import Dense, Dropout
    >>> shardable([Dense(2, 2)], np.zeros((8, 2)), 2)
    True
    >>> shardable([Dense(2, 2), Dropout(0.5)], np.zeros((8, 2)), 2)
    False
    >>> shardable([Dense(2, 2)], np.zeros((8, 2)), 1)
    False
    """
    if threads < 2 or type(x) is not np.ndarray or x.shape[0] < threads:
        return False
    return not batch_coupled(layers)


def batch_coupled(layers: Sequence[Layer]) -> bool:
    """Whether some layer couples the samples of a batch (BatchNorm2D) or draws random numbers
    in batch order (Dropout), so that the batch cannot be split into shards.

    Examples
    --------
    >>> from wg_convnet import BatchNorm2D, Dense
    >>> batch_coupled([Dense(2, 2)]), batch_coupled([BatchNorm2D(2)])
    (False, True)
    """
    from wg_convnet.layers import Dropout
    from wg_convnet.normalization import BatchNorm2D

    return any(isinstance(layer, (BatchNorm2D, Dropout)) for layer in layers)


def shard_bounds(n: int, threads: int) -> list[tuple[int, int]]:
    """Contiguous [start, stop) ranges that split ``n`` samples into ``threads`` near-equal shards.

    Examples
    --------
    >>> shard_bounds(10, 3)
    [(0, 4), (4, 7), (7, 10)]
    """
    threads = max(1, min(threads, n))
    cuts = [n * k // threads for k in range(threads + 1)]
    cuts = [n - c for c in reversed(cuts)]  # larger shards first
    return list(itertools.pairwise(cuts))


def replicas(layers: Sequence[Layer], count: int) -> list[list[Layer]]:
    """``count`` copies of ``layers`` (:meth:`Layer.replica`): shared parameters, separate caches,
    gradients and scratch buffers."""
    return [[layer.replica() for layer in layers] for _ in range(count)]


def refresh(layers: Sequence[Layer], shards: Sequence[Sequence[Layer]]) -> None:
    """Point kept replicas at the layers' current ``params`` and ``state`` dicts (``build`` or a
    user may have replaced them), so replicas can live across steps with their buffers."""
    for shard in shards:
        for twin, layer in zip(shard, layers, strict=True):
            twin.params, twin.state = layer.params, layer.state


def run_sharded(fn: Callable[[int], Any], count: int) -> list[Any]:
    """``[fn(0), ..., fn(count - 1)]`` on the shared pool, BLAS pinned to one thread meanwhile."""
    pool = _pool(count)
    with _blas_single_thread():
        return list(pool.map(fn, range(count)))


def sum_grads(layers: Sequence[Layer], shards: Sequence[Sequence[Layer]]) -> None:
    """Set every layer's ``grads`` to the sum, in shard order, of its replicas' gradients."""
    for index, layer in enumerate(layers):
        total: dict[str, Array] = {}
        for shard in shards:
            for name, value in shard[index].grads.items():
                total[name] = value if name not in total else total[name] + value
        layer.grads = total


def _pool(count: int) -> ThreadPoolExecutor:
    with _LOCK:
        if count not in _POOLS:
            _POOLS[count] = ThreadPoolExecutor(count, thread_name_prefix="wg-convnet")
        return _POOLS[count]


@contextlib.contextmanager
def _blas_single_thread() -> Iterator[None]:
    with _LOCK:
        if not _BLAS:
            try:
                from threadpoolctl import ThreadpoolController
            except ImportError:  # pragma: no cover - threadpoolctl ships with scikit-learn
                _BLAS.append(None)
            else:
                _BLAS.append(ThreadpoolController())
    controller = _BLAS[0]
    if controller is None:  # pragma: no cover
        yield
        return
    with controller.limit(limits=1, user_api="blas"):
        yield
