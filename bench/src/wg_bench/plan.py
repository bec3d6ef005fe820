"""The run matrix: which cells to measure, in which interleaved order, with which settings."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wg_bench.discovery import Benchmark, Suite
from wg_bench.protocol import CellSpec


class PlanError(Exception):
    """The requested matrix is empty or names something that does not exist."""


@dataclass(frozen=True)
class Settings:
    """How a run measures. ``--quick`` = 5 samples in 1 round over ``quick_params``."""

    samples: int = 10
    rounds: int = 2
    min_time: float = 0.1
    threads: int = 1
    device: str = "cpu"
    quick: bool = False
    timeout: float | None = None  # overrides every benchmark's own timeout
    max_memory: float | None = None  # GiB of address space per cell process (RLIMIT_AS)
    timer: str | None = None  # overrides every benchmark's own timer ("wall" or "cpu")

    @classmethod
    def for_run(cls, quick: bool, **overrides: Any) -> Settings:
        """Defaults for a full or a quick run, with the non-None ``overrides`` applied.

        Examples
        --------
        >>> Settings.for_run(True).samples, Settings.for_run(True, samples=7).samples
        (5, 7)
        """
        base: dict[str, Any] = {"samples": 5, "rounds": 1} if quick else {}
        base.update({k: v for k, v in overrides.items() if v is not None})
        settings = cls(quick=quick, **base)
        if settings.samples < 1 or settings.rounds < 1 or settings.min_time <= 0:
            raise PlanError("--samples and --rounds must be >= 1 and --min-time > 0")
        return settings

    def samples_per_round(self) -> int:
        return math.ceil(self.samples / self.rounds)


@dataclass(frozen=True)
class CellPlan:
    """One cell of the matrix; ``skip`` holds the reason when it is not run at all."""

    bench: Benchmark
    index: tuple[int, ...]
    implementation: str
    device: str
    skip: str | None = None
    side: str = ""  # "current" or "rev" in a run --against a revision; "" otherwise

    @property
    def params(self) -> dict[str, Any]:
        return self.bench.param_dict(self.index)

    @property
    def key(self) -> tuple[str, str, tuple[int, ...], str, str]:
        b = self.bench
        return (b.suite, b.name, self.index, self.implementation, self.device)

    @property
    def group(self) -> tuple[str, str, tuple[int, ...], str]:
        """Cells that share one input: the oracle output is computed once per group."""
        return (self.bench.suite, self.bench.name, self.index, self.device)

    def label(self) -> str:
        """A short human name, e.g. ``autodiff.Gmm(d=10, k=5) wg [cpu]``."""
        params = ", ".join(f"{k}={v}" for k, v in self.params.items())
        return f"{self.bench.qualname}({params}) {self.implementation} [{self.device}]"


@dataclass(frozen=True)
class Task:
    """One process to start: a cell and one round of its samples."""

    cell: CellPlan
    round: int
    spec: CellSpec = field(hash=False, compare=False)
    timeout: float = 600.0


def build_cells(
    suites: Sequence[Suite], device: str, quick: bool, implementations: Iterable[str] = ()
) -> list[CellPlan]:
    """Every cell of the selected suites, in (benchmark, params, implementation) order."""
    wanted = set(implementations)
    known = {i for s in suites for b in s.benchmarks for i in b.implementations}
    unknown = sorted(wanted - known)
    if unknown:
        raise PlanError(
            f"--impl {', '.join(unknown)}: no selected benchmark has such an implementation; "
            f"known: {', '.join(sorted(known))}"
        )
    cells = []
    for suite in suites:
        for bench in suite.benchmarks:
            for index in bench.param_grid(quick):
                for impl in bench.implementations:
                    if wanted and impl not in wanted and impl != bench.reference:
                        continue
                    if quick and impl in bench.full_only and impl not in wanted:
                        continue
                    skip = None
                    if device not in bench.devices:
                        skip = f"{bench.name} runs only on {', '.join(bench.devices)}"
                    cells.append(CellPlan(bench, tuple(index), impl, device, skip))
    return cells


def interleave(cells: Sequence[CellPlan], settings: Settings, cache_dir: Path) -> list[Task]:
    """Tasks in interleaved order: each round walks every group, reversing the order of its
    implementations on odd rounds, so slow drifts of the machine hit every implementation alike.
    The oracle comes first in round 0, so its output is cached for the rest of its group."""
    groups: dict[tuple[str, str, tuple[int, ...], str], list[CellPlan]] = {}
    for cell in cells:
        if cell.skip is None:
            groups.setdefault(cell.group, []).append(cell)
    tasks = []
    for rnd in range(settings.rounds):
        for members in groups.values():
            for cell in members if rnd % 2 == 0 else reversed(members):
                tasks.append(_task(cell, rnd, settings, cache_dir))
    return tasks


def _task(cell: CellPlan, rnd: int, settings: Settings, cache_dir: Path) -> Task:
    bench = cell.bench
    index = "-".join(map(str, cell.index)) or "0"
    spec = CellSpec(
        suite_path=str(bench.path),
        benchmark=bench.name,
        param_index=tuple(cell.index),
        implementation=cell.implementation,
        oracle=bench.oracle,
        reference=bench.reference,
        device=cell.device,
        tolerance=bench.tolerance,
        samples=settings.samples_per_round(),
        min_time=settings.min_time,
        memory_limit=None if settings.max_memory is None else int(settings.max_memory * 2**30),
        # process CPU time leaves out the work a GPU does: cuda cells are always timed by the wall
        timer="wall" if cell.device != "cpu" else settings.timer or bench.timer,
        requires=bench.requires.get(cell.implementation),
        oracle_requires=bench.requires.get(bench.oracle),
        reference_requires=bench.requires.get(bench.reference),
        oracle_cache=str(cache_dir / f"{bench.suite}.{bench.name}.{index}.{cell.device}"),
    )
    timeout = settings.timeout if settings.timeout is not None else bench.timeout
    return Task(cell=cell, round=rnd, spec=spec, timeout=timeout)
