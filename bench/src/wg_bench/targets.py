"""Declared speed targets of a benchmark, and which implementations are ours.

A suite declares, per benchmark class, ``targets`` as data (not code)::

    targets = [{"params": {"d": 10} or None, "ours": "wg", "peer": "jax_jit", "max_ratio": 1.0}]

meaning: on the parameter sets that ``params`` selects (None: all of them), the median time of our
implementation ``ours`` divided by the peer's must be at most ``max_ratio``. Implementations whose
names start with ``wg`` are ours; every other one is a peer, except those a benchmark lists in
``baselines`` (e.g. the objective alone, as a lower bound): they are timed but never the headline's
fastest peer.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

OURS_PREFIX = "wg"
TARGET_KEYS = ("params", "ours", "peer", "max_ratio")
#: sorted (parameter name, value) pairs a target is limited to
Selection = tuple[tuple[str, Any], ...]


class TargetError(ValueError):
    """A ``targets`` entry is malformed; the message says which entry and how to fix it."""


def is_ours(implementation: str) -> bool:
    """Whether an implementation is one of ours (its name starts with ``wg``).

    Examples
    --------
    >>> is_ours("wg_optimized"), is_ours("jax_jit")
    (True, False)
    """
    return implementation.startswith(OURS_PREFIX)


@dataclass(frozen=True)
class Target:
    """``ours``'s median over ``peer``'s must be <= ``max_ratio`` where ``params`` match."""

    ours: str
    peer: str
    max_ratio: float
    params: Selection | None = None  # sorted (name, value) pairs; None: all

    def applies(self, params: Mapping[str, Any]) -> bool:
        """Whether this target covers a cell with these parameter values.

        Examples
        --------
        >>> Target("wg", "numpy", 1.0, (("n", 10),)).applies({"n": 10, "k": 2})
        True
        """
        return self.params is None or all(params.get(k) == v for k, v in self.params)


def parse_targets(raw: Any, implementations: Sequence[str],
                  params: Mapping[str, Sequence[Any]]) -> tuple[Target, ...]:  # fmt: skip
    """Validate a class's ``targets`` attribute against its implementations and ``params``.

    Raises :class:`TargetError` naming the entry and the fix.

    Examples
    --------
    >>> parse_targets([{"ours": "wg", "peer": "numpy", "max_ratio": 2}], ["wg", "numpy"], {})
    (Target(ours='wg', peer='numpy', max_ratio=2.0, params=None),)
    """
    if raw is None:
        return ()
    if not isinstance(raw, list | tuple):
        raise TargetError(f"targets must be a list of dicts, got {type(raw).__name__}")
    return tuple(_target(entry, i, implementations, params) for i, entry in enumerate(raw))


def parse_baselines(raw: Any, implementations: Sequence[str]) -> tuple[str, ...]:
    """Validate a class's ``baselines``: implementations that are neither ours nor peers.

    Examples
    --------
    >>> parse_baselines(("objective",), ["objective", "wg", "torch"])
    ('objective',)
    """
    if raw is None:
        return ()
    if isinstance(raw, str) or not isinstance(raw, list | tuple):
        raise TargetError(f"baselines must be a list of implementation names, got {raw!r}")
    for name in raw:
        if not isinstance(name, str) or is_ours(name) or name not in implementations:
            others = [i for i in implementations if not is_ours(i)]
            raise TargetError(f"baselines: {name!r} must be one of {others} (not one of ours)")
    return tuple(raw)


def _target(entry: Any, i: int, implementations: Sequence[str],
            params: Mapping[str, Sequence[Any]]) -> Target:  # fmt: skip
    where = f"targets[{i}]"
    if not isinstance(entry, Mapping):
        raise TargetError(f"{where} must be a dict with keys {', '.join(TARGET_KEYS)}")
    unknown = sorted(set(map(str, entry)) - set(TARGET_KEYS))
    if unknown:
        raise TargetError(f"{where} has unknown key(s) {unknown}; use {', '.join(TARGET_KEYS)}")
    ours, peer, limit = entry.get("ours"), entry.get("peer"), entry.get("max_ratio")
    if not (isinstance(ours, str) and is_ours(ours) and ours in implementations):
        mine = [i for i in implementations if is_ours(i)]
        raise TargetError(f"{where}: ours = {ours!r} must be one of our implementations {mine}")
    if not (isinstance(peer, str) and not is_ours(peer) and peer in implementations):
        peers = [i for i in implementations if not is_ours(i)]
        raise TargetError(f"{where}: peer = {peer!r} must be one of the peers {peers}")
    if isinstance(limit, bool) or not isinstance(limit, int | float):
        limit = math.nan
    if not (math.isfinite(limit) and limit > 0):
        shown = entry.get("max_ratio")
        raise TargetError(f"{where}: max_ratio must be a number > 0, got {shown!r}")
    return Target(ours, peer, float(limit), _selection(entry.get("params"), where, params))


def _selection(chosen: Any, where: str, params: Mapping[str, Sequence[Any]]) -> Selection | None:
    if chosen is None:
        return None
    if not isinstance(chosen, Mapping):
        raise TargetError(f"{where}: params must be a dict of parameter values or None")
    for name, value in chosen.items():
        if name not in params:
            raise TargetError(f"{where}: params names {name!r}; the parameters are {list(params)}")
        if value not in params[name]:
            raise TargetError(
                f"{where}: params {name}={value!r} is not one of {list(params[name])}"
            )
    return tuple(sorted(chosen.items()))
