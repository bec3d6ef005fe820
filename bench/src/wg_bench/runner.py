"""Run a matrix of cells and keep the results document up to date after every finished cell.

The document is rewritten atomically after each cell, both at ``--json PATH`` and in the
per-machine history folder, so an interrupted run (Ctrl-C, a killed terminal) keeps every finished
cell. Cells carry the id of the machine that ran them; a run spread over several machines (the Dask
executor) gives one document per machine.
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from wg_io.output import resolve_target

from wg_bench import schema
from wg_bench.cellrun import run_task
from wg_bench.discovery import Suite
from wg_bench.headline import Memo, headline
from wg_bench.interruption import Interruption, stop_signals
from wg_bench.machine import fingerprint, thread_env
from wg_bench.plan import CellPlan, Settings, Task, build_cells, interleave
from wg_bench.protocol import CellResult
from wg_bench.stats import ratio_ci, summary
from wg_bench.targets import Target

HISTORY_ENV = "WG_BENCH_HISTORY"
Callback = Callable[[Task, CellResult], None]


class RunError(Exception):
    """The run could not start (bad executor address, nothing to run, ...)."""


def history_root(option: str | os.PathLike[str] | None = None) -> Path:
    """``option``, else ``$WG_BENCH_HISTORY``, else ``$XDG_DATA_HOME/wg-bench/history``.

    Examples
    --------
    >>> history_root("/tmp/h").as_posix()
    '/tmp/h'
    """
    if option:
        return Path(option)
    if os.environ.get(HISTORY_ENV):
        return Path(os.environ[HISTORY_ENV])
    data = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(data) / "wg-bench" / "history"


@dataclass
class RunState:
    """Everything known about a run so far; :meth:`documents` renders it."""

    cells: list[CellPlan]
    settings: Settings
    machine: dict[str, Any]
    command: str = ""
    errors: list[dict[str, str]] = field(default_factory=list)
    parts: dict[tuple[Any, ...], list[CellResult]] = field(default_factory=dict)
    machines: dict[str, dict[str, Any]] = field(default_factory=dict)
    started: str = field(
        default_factory=lambda: dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    )
    finished: str | None = None
    complete: bool = False
    _records: dict[tuple[Any, ...], tuple[int, dict[str, Any]]] = field(default_factory=dict)
    _ratios: dict[tuple[Any, ...], Any] = field(default_factory=dict)
    part_machines: dict[tuple[Any, ...], str] = field(default_factory=dict)
    _headline_memo: Memo = field(default_factory=dict)

    def record(self, task: Task, result: CellResult) -> None:
        """Add one finished task; its machine defaults to the local one."""
        fp = dict(result.machine_fingerprint or self.machine)
        self.machines.setdefault(fp["id"], fp)
        self.parts.setdefault(task.cell.key, []).append(result)
        self.part_machines.setdefault(task.cell.key, fp["id"])

    def settled(self, key: tuple[Any, ...]) -> bool:
        """Whether a round already decided the cell (skipped, mismatch, error): later rounds
        would only repeat it (a hang would cost its timeout again)."""
        return any(p.status != "ok" for p in self.parts.get(key, []))

    def finished_cells(self) -> list[dict[str, Any]]:
        """Records of every cell with at least one finished round (skipped ones count), so an
        interrupted run keeps all it measured; ``rounds`` says how many rounds each one has."""
        records = []
        for cell in self.cells:
            parts = self.parts.get(cell.key, [])
            if cell.skip is not None:
                records.append(_record(cell, [CellResult("skipped", cell.skip)], None))
            elif parts:
                # summarise (bootstrap) a cell once per new round, not at every write
                cached = self._records.get(cell.key)
                if cached is None or cached[0] != len(parts):
                    cached = (len(parts), _record(cell, parts, self.part_machines[cell.key]))
                    self._records[cell.key] = cached
                records.append(cached[1])
        return records

    def inputs(self) -> list[Path]:
        """The suite files the run reads: no output may replace one of them."""
        return sorted({cell.bench.path for cell in self.cells})

    def targets(self) -> dict[tuple[str, str], tuple[Target, ...]]:
        """Each benchmark's declared targets, for the headline."""
        return {(c.bench.suite, c.bench.name): c.bench.targets for c in self.cells}

    def baselines(self) -> dict[tuple[str, str], tuple[str, ...]]:
        """Each benchmark's implementations that are neither ours nor peers."""
        return {(c.bench.suite, c.bench.name): c.bench.baselines for c in self.cells}

    def documents(self) -> dict[str, dict[str, Any]]:
        """One results document per machine that ran cells (the local one at least)."""
        ids = list(self.machines) or [self.machine["id"]]
        by_machine: dict[str, list[dict[str, Any]]] = {mid: [] for mid in ids}
        for record in self.finished_cells():
            mid = record["machine"]
            by_machine[mid if mid in by_machine else ids[0]].append(record)
        docs = {}
        for mid, mine in by_machine.items():
            _add_ratios(mine, self._ratios)
            docs[mid] = {
                "schema": schema.SCHEMA,
                "created": self.started,
                "finished": self.finished,
                "complete": self.complete,
                "command": self.command,
                "settings": {**vars(self.settings)},
                "machine": self.machines.get(mid, self.machine),
                "errors": self.errors,
                "headline": headline(mine, self.targets(), self._headline_memo, self.baselines()),
                "results": mine,
            }
        return docs


def _merge(parts: Sequence[CellResult]) -> dict[str, Any]:
    """One cell's rounds combined: the worst status wins, samples are pooled."""
    for status in ("error", "mismatch", "skipped"):
        bad = [p for p in parts if p.status == status]
        if bad:
            first = bad[0]
            return {"status": status, "reason": first.reason, "metrics": dict(first.metrics),
                    "threads": list(first.threads), "first_call": first.first_call,
                    "rounds": len(parts)}  # fmt: skip
    samples = [s for p in parts for s in p.samples]
    seconds = summary(samples)
    seconds.update(
        first_call=statistics.median(p.first_call or 0.0 for p in parts),
        warmup=[w for p in parts for w in p.warmup],
        loops=max(p.loops for p in parts),
    )
    return {
        "status": "ok", "seconds": seconds, "rounds": len(parts),
        "reason": next((p.reason for p in parts if p.reason), ""),
        "peak_memory_bytes": max(p.peak_memory_bytes or 0 for p in parts) or None,
        "baseline_memory_bytes": max(p.baseline_memory_bytes or 0 for p in parts) or None,
        "metrics": dict(parts[-1].metrics), "threads": list(parts[0].threads),
        "first_call": seconds["first_call"],
    }  # fmt: skip


def _record(cell: CellPlan, parts: Sequence[CellResult], machine: str | None) -> dict[str, Any]:
    merged = _merge(parts)
    bench = cell.bench
    return {
        "suite": bench.suite,
        "benchmark": bench.name,
        "description": bench.description,
        "params": {k: _jsonable(v) for k, v in cell.params.items()},
        "implementation": cell.implementation,
        "reference": cell.implementation == bench.reference,
        "oracle": next((p.oracle for p in parts if p.oracle), bench.oracle),
        "device": cell.device,
        "timer": next((p.timer for p in parts if p.timer), "wall"),
        "status": merged["status"],
        "reason": merged.get("reason", ""),
        "seconds": merged.get("seconds"),
        "first_call_seconds": merged.get("first_call"),
        "ratio": None,
        "peak_memory_bytes": merged.get("peak_memory_bytes"),
        "baseline_memory_bytes": merged.get("baseline_memory_bytes"),
        "metrics": merged.get("metrics", {}),
        "threads": merged.get("threads", []),
        "rounds": merged.get("rounds", 0),
        "setup_seconds": _total([p.setup_seconds for p in parts]),
        "wall_seconds": _total([p.wall_seconds for p in parts]),
        "machine": machine,
    }


def _total(values: Sequence[float | None]) -> float | None:
    found = [v for v in values if v is not None]
    return sum(found) if found else None


def _jsonable(value: Any) -> Any:
    return value if isinstance(value, str | int | float | bool) or value is None else repr(value)


def _add_ratios(records: list[dict[str, Any]], memo: dict[tuple[Any, ...], Any]) -> None:
    """Each ok cell's median divided by its reference's, with a bootstrap 95% CI.

    ``memo`` keeps each ratio for the sample counts it was computed from, so the bootstrap runs
    again only when the cell or its reference gained a round.
    """
    refs = {
        schema.cell_key({**r, "implementation": ""}): r
        for r in records
        if r["reference"] and r["status"] == "ok"
    }
    for r in records:
        ref = refs.get(schema.cell_key({**r, "implementation": ""}))
        if r["status"] != "ok" or ref is None:
            r["ratio"] = None
            continue
        x, y = r["seconds"]["samples"], ref["seconds"]["samples"]
        key = (schema.cell_key(r), len(x), len(y))
        if key not in memo:
            value, (low, high) = ratio_ci(x, y)
            memo[key] = {"value": value, "ci95": [low, high]}
        r["ratio"] = memo[key]


def write_documents(state: RunState, json_path: Path | None, history: Path | None) -> list[Path]:
    """Write the current documents under the output-path policy; returns the paths written.

    The suite files are the run's inputs: an output path naming one of them is refused.
    """
    docs = state.documents()
    written = []
    for mid, doc in docs.items():
        for target in _targets(state, mid, json_path, history, several=len(docs) > 1):
            schema.save(target, doc, inputs=state.inputs())
            written.append(target)
    return written


def _targets(state: RunState, mid: str, json_path: Path | None, history: Path | None,
             several: bool = False) -> list[Path]:  # fmt: skip
    """Where the document of machine ``mid`` goes: ``--json`` and the history folder."""
    targets = []
    if json_path is not None:
        targets.append(json_path.with_suffix(f".{mid}.json") if several else json_path)
    if history is not None:
        commit = (state.machines.get(mid, state.machine).get("git") or {}).get("commit") or "nogit"
        stamp = state.started.replace(":", "").replace("-", "").replace("+0000", "Z")
        targets.append(history / mid / f"{stamp}-{commit[:10]}.json")
    return targets


def check_outputs(state: RunState, json_path: Path | None, history: Path | None) -> None:
    """Refuse unwritable outputs before the first cell runs, not after it (creates folders).

    Raises :class:`wg_io.output.OutputError` naming the path and what to do.
    """
    for target in _targets(state, state.machine["id"], json_path, history):
        resolve_target(target, inputs=state.inputs(), make_parents=True)


@dataclass
class RunOutcome:
    state: RunState
    paths: list[Path]
    interrupted: bool = False
    signal: str | None = None  # the stop signal that ended the run (SIGINT, SIGTERM, ...)


def run(
    suites: Sequence[Suite],
    settings: Settings,
    *,
    implementations: Sequence[str] = (),
    json_path: Path | None = None,
    history: Path | None = None,
    executor: Callable[[list[Task], dict[str, str], Callback], None] | None = None,
    on_plan: Callable[[list[Task], list[CellPlan]], None] | None = None,
    on_done: Callback | None = None,
    command: str = "",
) -> RunOutcome:
    """Measure every cell of ``suites``; returns the final state and the files written.

    ``executor(tasks, thread_env, callback)`` runs tasks and calls ``callback`` as each finishes
    (default: one after another on this machine). On Ctrl-C, SIGTERM or SIGHUP the running cell
    is killed, its folder removed, the finished cells are written and the outcome says
    ``interrupted`` (see :mod:`wg_bench.interruption`). Unwritable outputs raise
    :class:`wg_io.output.OutputError` before any cell runs.
    """
    env = thread_env(settings.threads)
    state = _new_state(suites, settings, implementations, env, command)
    check_outputs(state, json_path, history)
    with stop_signals() as stop, tempfile.TemporaryDirectory(prefix="wg-bench-run-") as cache:
        tasks = interleave(state.cells, settings, Path(cache))
        if on_plan is not None:
            on_plan(tasks, state.cells)

        def done(task: Task, result: CellResult) -> None:
            state.record(task, result)
            write_documents(state, json_path, history)
            if on_done is not None:
                on_done(task, result)

        if executor is None:
            executor = partial(local_executor, skip=lambda task: _settled(state, task, on_done))
        interrupted = execute_tasks(executor, tasks, env, done, stop)
        state.finished, state.complete = _now(), not interrupted
        paths = write_documents(state, json_path, history)
    return RunOutcome(state, paths, interrupted or stop.signum is not None, stop.name)


def execute_tasks(executor: Callable[[list[Task], dict[str, str], Callback], None],
                  tasks: list[Task], env: dict[str, str], done: Callback,
                  stop: Interruption) -> bool:  # fmt: skip
    """Run the tasks; True when a stop signal or Ctrl-C ended them early."""
    stop.armed = True
    if stop.signum is not None:  # stopped while planning: start no cell
        return True
    try:
        executor(tasks, env, done)
    except KeyboardInterrupt:
        return True
    finally:
        stop.armed = False
    return False


def _settled(state: RunState, task: Task, on_done: Callback | None) -> bool:
    """Skip a later round of a decided cell, still telling the progress display about it."""
    if not state.settled(task.cell.key):
        return False
    if on_done is not None:
        on_done(task, CellResult("settled", "decided in an earlier round"))
    return True


def _new_state(
    suites: Sequence[Suite],
    settings: Settings,
    implementations: Sequence[str],
    env: dict[str, str],
    command: str,
) -> RunState:
    """The matrix and the machine fingerprint; a run with nothing to measure is an error."""
    cells = build_cells(suites, settings.device, settings.quick, implementations)
    if not cells:
        broken = "; ".join(str(s.error) for s in suites if s.error)
        raise RunError(
            broken or "the selected suites hold no benchmark; `wg bench list` shows them"
        )
    repo = cells[0].bench.path.parent
    state = RunState(cells, settings, fingerprint(repo, {**os.environ, **env}), command)
    state.errors = [{"suite": s.name, "reason": str(s.error)} for s in suites if s.error]
    return state


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def local_executor(
    tasks: list[Task],
    env: dict[str, str],
    done: Callback,
    skip: Callable[[Task], bool] | None = None,
) -> None:
    """Run the tasks one after another on this machine, each in a fresh process (``skip``:
    tasks not worth running, such as later rounds of a cell that already failed)."""
    full_env = {**os.environ, **env}
    for task in tasks:
        if skip is None or not skip(task):
            done(task, run_task(task.spec, task.timeout, full_env))
