"""``compare``: verdicts per cell, unequal sample counts, breakages."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from bench_documents import cell, document, noisy
from wg_bench.compare import compare, failed


def test_verdicts() -> None:
    old = document([
        cell("numpy", noisy(1.0, 5, 0), reference=True), cell("fast", noisy(1.0, 8, 1)),
        cell("slow", noisy(1.0, 5, 2)), cell("breaks", noisy(1.0, 5, 3)),
        cell("heals", None, status="error", reason="boom"), cell("gone", noisy(1.0, 5, 4)),
    ])  # fmt: skip
    new = document([
        cell("numpy", noisy(1.0, 7, 5), reference=True), cell("fast", noisy(0.5, 5, 6)),
        cell("slow", noisy(2.0, 11, 7)), cell("breaks", None, status="mismatch", reason="err"),
        cell("heals", noisy(1.0, 5, 8)), cell("added", noisy(1.0, 5, 9)),
    ])  # fmt: skip
    verdicts = {r.key[3]: r.verdict for r in compare(old, new)}
    assert verdicts == {
        "numpy": "same", "fast": "faster", "slow": "slower", "breaks": "broken",
        "heals": "fixed", "added": "new", "gone": "removed",
    }  # fmt: skip
    assert sorted(r.key[3] for r in failed(compare(old, new))) == ["breaks", "slow"]
    slow = next(r for r in compare(old, new) if r.key[3] == "slow")
    assert 1.9 < slow.ratio < 2.1
    assert slow.p_value < 0.01


def test_params_distinguish_cells() -> None:
    old = document([cell("a", noisy(1.0, 5, 0), n=1), cell("a", noisy(1.0, 5, 1), n=2)])
    new = document([cell("a", noisy(1.0, 5, 2), n=1), cell("a", noisy(3.0, 5, 3), n=2)])
    assert [(r.key[2], r.verdict) for r in compare(old, new)] == [
        ("n=1", "same"),
        ("n=2", "slower"),
    ]


def test_relative_mode_ignores_a_uniformly_slower_machine() -> None:
    from wg_bench.compare import machine_drift

    old = document([cell("numpy", noisy(1.0, 5, 0), reference=True), cell("wg", noisy(0.5, 5, 1))])
    busy = document(
        [cell("numpy", noisy(1.5, 5, 2), reference=True), cell("wg", noisy(0.75, 5, 3))]
    )
    regressed = document([cell("numpy", noisy(1.0, 5, 4), reference=True),
                          cell("wg", noisy(0.8, 5, 5))])  # fmt: skip
    assert {r.key[3]: r.verdict for r in compare(old, busy)} == {"numpy": "slower", "wg": "slower"}
    relative = {r.key[3]: r for r in compare(old, busy, relative=True)}
    assert relative["wg"].verdict == "same"
    assert relative["numpy"].verdict == "same"  # the reference is not compared with itself
    assert relative["wg"].old == pytest.approx(0.5, rel=0.05)
    assert {r.key[3]: r.verdict for r in compare(old, regressed, relative=True)}["wg"] == "slower"
    assert machine_drift(old, busy) == pytest.approx(1.5, rel=0.05)


def test_cells_timed_with_different_clocks_are_not_compared() -> None:
    old = document([cell("a", noisy(1.0, 5, 0))])
    new = document([{**cell("a", noisy(0.2, 5, 1)), "timer": "cpu"}])
    [row] = compare(old, new)
    assert (row.verdict, row.note) == ("not compared", "timer wall -> cpu")


def test_tables_say_when_a_benchmark_is_timed_in_cpu_time() -> None:
    from wg_bench.tables import result_tables

    wall = result_tables([cell("a", noisy(1.0, 5, 0))])[0].title
    cpu = result_tables([{**cell("a", noisy(1.0, 5, 0)), "timer": "cpu"}])[0].title
    assert wall == "toy.Sum: Sum."
    assert cpu == "toy.Sum [process CPU time]: Sum."
