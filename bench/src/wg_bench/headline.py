"""The headline of a run: per benchmark and parameter set, our best time against the best peer's.

One row per (suite, benchmark, params, device): our fastest implementation that ran (``ok``), the
fastest peer (never one of the benchmark's ``baselines``), the ratio of their medians (ours /
peer) with a bootstrap 95% CI, and whether the declared targets (:mod:`wg_bench.targets`) are
met: ``yes`` when every target that applies has a ratio of medians at most its ``max_ratio``,
``no`` when one has not (or our implementation did not run correctly), ``-`` when no target
applies or a peer could not run.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from wg_bench.stats import ratio_ci
from wg_bench.targets import Target, is_ours

Cell = dict[str, Any]
#: (samples of ours, samples of the peer) -> ratio, so a rewrite after every cell is cheap
Memo = dict[tuple[tuple[float, ...], tuple[float, ...]], dict[str, Any]]


def _group(cell: Cell) -> tuple[str, str, str, str]:
    params = ", ".join(f"{k}={v}" for k, v in cell["params"].items())
    return (cell["suite"], cell["benchmark"], params, cell["device"])


def _ratio(ours: Cell, peer: Cell, memo: Memo) -> dict[str, Any]:
    x, y = ours["seconds"]["samples"], peer["seconds"]["samples"]
    key = (tuple(x), tuple(y))
    if key not in memo:
        value, (low, high) = ratio_ci(x, y)
        memo[key] = {"value": value, "ci95": [low, high]}
    return memo[key]


def _fastest(cells: Sequence[Cell]) -> Cell | None:
    ok = [c for c in cells if c["status"] == "ok"]
    return min(ok, key=lambda c: c["seconds"]["median"]) if ok else None


def judge(target: Target, cells: Mapping[str, Cell], memo: Memo) -> dict[str, Any]:
    """One target on one parameter set: its ratio and ``met`` (True, False or None: unknown).

    Examples
    --------
    >>> cell = lambda impl, xs: {"implementation": impl, "status": "ok", "seconds": {
    ...     "median": sorted(xs)[1], "samples": xs}}
    >>> cells = {"wg": cell("wg", [1.0, 1.1, 0.9]), "np": cell("np", [2.0, 2.1, 1.9])}
    >>> judge(Target("wg", "np", 0.6), cells, {})["met"]
    True
    """
    verdict: dict[str, Any] = {
        "ours": target.ours, "peer": target.peer, "max_ratio": target.max_ratio,
        "ratio": None, "met": None,
    }  # fmt: skip
    ours, peer = cells.get(target.ours), cells.get(target.peer)
    if ours is not None and ours["status"] in ("mismatch", "error"):
        verdict["met"] = False  # a wrong or crashing implementation meets no target
    elif ours is not None and peer is not None and ours["status"] == peer["status"] == "ok":
        verdict["ratio"] = _ratio(ours, peer, memo)
        verdict["met"] = verdict["ratio"]["value"] <= target.max_ratio
    return verdict


def _row(cells: Sequence[Cell], targets: Sequence[Target], memo: Memo,
         baselines: Collection[str]) -> dict[str, Any]:  # fmt: skip
    first = cells[0]
    ours = _fastest([c for c in cells if is_ours(c["implementation"])])
    peers = [c for c in cells if not is_ours(c["implementation"])]
    peer = _fastest([c for c in peers if c["implementation"] not in baselines])
    by_impl = {c["implementation"]: c for c in cells}
    judged = [judge(t, by_impl, memo) for t in targets if t.applies(first["params"])]
    met = [j["met"] for j in judged]
    target = "no" if False in met else "yes" if met and all(met) else "-"
    return {
        "suite": first["suite"], "benchmark": first["benchmark"], "params": first["params"],
        "device": first["device"],
        "ours": ours["implementation"] if ours else None,
        "peer": peer["implementation"] if peer else None,
        "ratio": _ratio(ours, peer, memo) if ours and peer else None,
        "target": target, "targets": judged,
    }  # fmt: skip


Declared = Mapping[tuple[str, str], Sequence[Target]]


def headline(cells: Sequence[Cell], targets: Declared | None = None, memo: Memo | None = None,
             baselines: Mapping[tuple[str, str], Collection[str]] | None = None,
             ) -> list[dict[str, Any]]:  # fmt: skip
    """The headline rows of a run's cells, in the order their groups first appear.

    ``targets`` maps ``(suite, benchmark)`` to its declared targets (none: every row says ``-``),
    ``baselines`` to the implementations that are never the fastest peer.

    Examples
    --------
    >>> cell = lambda impl, m: {"suite": "s", "benchmark": "B", "params": {}, "device": "cpu",
    ...     "implementation": impl, "status": "ok", "seconds": {"median": m, "samples": [m]}}
    >>> [row] = headline([cell("numpy", 2.0), cell("wg", 1.0), cell("torch", 4.0)])
    >>> row["ours"], row["peer"], row["ratio"]["value"], row["target"]
    ('wg', 'numpy', 0.5, '-')
    """
    memo = {} if memo is None else memo
    groups: dict[tuple[str, str, str, str], list[Cell]] = {}
    for cell in cells:
        groups.setdefault(_group(cell), []).append(cell)
    declared, kept_out = targets or {}, baselines or {}
    return [_row(group, declared.get(key[:2], ()), memo, kept_out.get(key[:2], ()))
            for key, group in groups.items()]  # fmt: skip


def of_document(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A document's stored headline, or one derived from its cells (``wg-bench/1`` files hold
    none; targets were not recorded then, so every row says ``-``)."""
    stored = document.get("headline")
    return list(stored) if stored is not None else headline(document["results"])
