"""``wg bench compare OLD NEW``: per cell, did it get slower, faster, or break?

Each cell present in both runs with status ``ok`` is tested with a two-sided Mann-Whitney U test on
the raw per-call samples (any sample counts) and must also change by at least the minimum effect
size to count (see :func:`wg_bench.stats.change`). A cell that was ``ok`` and now is ``mismatch``
or ``error`` is ``broken``. ``slower`` and ``broken`` make the command exit with status 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from wg_bench.schema import cell_key
from wg_bench.stats import change

FAILING = ("slower", "broken")


@dataclass(frozen=True)
class Row:
    """One cell's comparison."""

    key: tuple[str, str, str, str, str]
    verdict: str  # slower, faster, same, broken, fixed, new, removed, not compared
    old: float | None = None  # median seconds
    new: float | None = None
    ratio: float | None = None
    p_value: float | None = None
    note: str = ""

    @property
    def changed(self) -> bool:
        return self.verdict != "same"


def compare(
    old: dict[str, Any],
    new: dict[str, Any],
    *,
    alpha: float = 0.05,
    min_effect: float = 0.10,
    relative: bool = False,
) -> list[Row]:
    """Rows for every cell of either document, in the new document's order.

    With ``relative``, every cell's samples are first divided by the median of its reference in
    the same run, so a machine that is busier (or faster) as a whole changes nothing: only a
    change relative to the reference counts. Reference cells are then not compared.

    Examples
    --------
    >>> cell = lambda xs: {"suite": "s", "benchmark": "B", "params": {}, "implementation": "a",
    ...     "device": "cpu", "status": "ok", "seconds": {"median": sorted(xs)[len(xs) // 2],
    ...     "samples": xs}}
    >>> old = {"results": [cell([1.0, 1.01, 0.99, 1.0, 1.02])]}
    >>> new = {"results": [cell([2.0, 2.01, 1.99, 2.02, 1.98, 2.0])]}
    >>> compare(old, new)[0].verdict
    'slower'
    """
    if relative:
        old, new = relative_to_reference(old), relative_to_reference(new)
    before = {cell_key(c): c for c in old["results"]}
    after = {cell_key(c): c for c in new["results"]}
    rows = [_row(key, before.get(key), cell, alpha, min_effect) for key, cell in after.items()]
    rows += [Row(key, "removed", old=_median(c)) for key, c in before.items() if key not in after]
    return rows


def _group(cell: dict[str, Any]) -> tuple[str, ...]:
    suite, benchmark, params, _, device = cell_key(cell)
    return (suite, benchmark, params, device)


def relative_to_reference(document: dict[str, Any]) -> dict[str, Any]:
    """A copy whose ok cells hold samples divided by their reference's median (the reference's
    own cells and cells without an ok reference become ``skipped`` with the reason)."""
    refs = {_group(c): c["seconds"]["median"] for c in document["results"]
            if c.get("reference") and c["status"] == "ok"}  # fmt: skip
    cells = []
    for c in document["results"]:
        scale = refs.get(_group(c))
        if c["status"] != "ok":
            cells.append(c)
        elif c.get("reference") or not scale:
            why = "the reference itself" if c.get("reference") else "its reference did not run"
            cells.append({**c, "status": "skipped", "reason": f"not compared: {why}"})
        else:
            samples = [s / scale for s in c["seconds"]["samples"]]
            median = c["seconds"]["median"] / scale
            cells.append({**c, "seconds": {**c["seconds"], "samples": samples, "median": median}})
    return {**document, "results": cells}


def machine_drift(old: dict[str, Any], new: dict[str, Any]) -> float | None:
    """Median over reference cells of new/old median time: far from 1, the machine changed.

    Examples
    --------
    >>> ref = lambda m: {"results": [{"suite": "s", "benchmark": "B", "params": {},
    ...     "implementation": "np", "device": "cpu", "reference": True, "status": "ok",
    ...     "seconds": {"median": m}}]}
    >>> machine_drift(ref(1.0), ref(1.5))
    1.5
    """
    before = {cell_key(c): c for c in old["results"] if c.get("reference") and c["status"] == "ok"}
    ratios = sorted(
        c["seconds"]["median"] / before[cell_key(c)]["seconds"]["median"]
        for c in new["results"]
        if cell_key(c) in before and c["status"] == "ok" and c.get("reference")
    )
    return ratios[len(ratios) // 2] if ratios else None


def _median(cell: dict[str, Any] | None) -> float | None:
    seconds = (cell or {}).get("seconds") or {}
    return seconds.get("median")


def _row(
    key: tuple[str, str, str, str, str],
    old: dict[str, Any] | None,
    new: dict[str, Any],
    alpha: float,
    min_effect: float,
) -> Row:
    if old is None:
        return Row(key, "new", new=_median(new))
    was, now = old["status"], new["status"]
    if was == "ok" and now in ("mismatch", "error"):
        return Row(key, "broken", old=_median(old), note=f"{now}: {new.get('reason', '')}")
    if was in ("mismatch", "error") and now == "ok":
        return Row(key, "fixed", new=_median(new), note=f"was {was}")
    clocks = old.get("timer", "wall"), new.get("timer", "wall")
    if was == now == "ok" and clocks[0] != clocks[1]:
        return Row(
            key, "not compared", _median(old), _median(new), note="timer {} -> {}".format(*clocks)
        )
    if was != "ok" or now != "ok":
        return Row(
            key,
            "same" if was == now else "not compared",
            note="" if was == now else f"{was} -> {now}",
        )
    x, y = old["seconds"]["samples"], new["seconds"]["samples"]
    if len(x) < 2 or len(y) < 2:
        return Row(key, "not compared", _median(old), _median(new), note="fewer than 2 samples")
    verdict = change(x, y, alpha=alpha, min_effect=min_effect)
    return Row(key, verdict.verdict, _median(old), _median(new), verdict.ratio, verdict.p_value)


def failed(rows: list[Row]) -> list[Row]:
    """The rows that make ``compare`` exit with status 1."""
    return [r for r in rows if r.verdict in FAILING]
