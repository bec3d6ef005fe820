"""``wg bench``: list, run, compare and report cross-implementation benchmarks."""

from __future__ import annotations

import shlex
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text
from wg_io.output import OutputError

from wg_bench import compare as comparing
from wg_bench.discovery import SuiteError, discover, suites_dir
from wg_bench.plan import PlanError, Settings
from wg_bench.protocol import CellResult
from wg_bench.runner import RunError, history_root, run
from wg_bench.schema import SchemaError, load, load_many
from wg_bench.tables import (
    compare_table,
    format_params,
    headline_table,
    list_table,
    result_tables,
)

HEADLINE_WIDTH = 100
F = TypeVar("F", bound=Callable[..., Any])
SUITES_HELP = "Folder of suite modules [default: $WG_BENCH_SUITES, else bench/suites]."


def _console() -> Console:
    # a terminal's own width; logs and pipes get wide tables instead of rich's default 80 columns
    return Console(width=None if sys.stdout.isatty() else 160, soft_wrap=False)


def _choice(*decls: str, choices: Sequence[str], help: str, default: str | None = None) -> Any:
    """An option that takes one of ``choices``; its default, when it has one, shows in --help."""
    return click.option(*decls, type=click.Choice(choices), default=default,
                        show_default=default is not None, help=help)  # fmt: skip


def _significance_options(*, against: bool) -> Callable[[F], F]:
    """``--alpha`` and ``--min-effect`` of the Mann-Whitney U test, with the same defaults in
    ``run --against`` and ``compare``; ``against`` words their help for the former."""
    alpha = "significance level of the Mann-Whitney U test."
    effect = "smallest relative change that counts (0.10 = 10%)."

    def helped(text: str) -> str:
        return f"With --against: {text}" if against else text[0].upper() + text[1:]

    def decorate(command: F) -> F:
        command = click.option("--min-effect", type=click.FloatRange(min=0), default=0.10,
                               show_default=True, help=helped(effect))(command)  # fmt: skip
        return click.option("--alpha", type=click.FloatRange(0, 1, min_open=True), default=0.05,
                            show_default=True, help=helped(alpha))(command)  # fmt: skip

    return decorate


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def bench() -> None:
    """Benchmark our libraries against PyTorch, JAX, autograd, Vowpal Wabbit and NumPy.

    Start with `wg bench list`, then `wg bench run --quick`.
    """


@bench.command("list")
@click.argument("patterns", nargs=-1)
@click.option("--suites", "suites_option", type=click.Path(file_okay=False), help=SUITES_HELP)
def list_command(patterns: tuple[str, ...], suites_option: str | None) -> None:
    """List suites, benchmarks, implementations and whether each can run here.

    Shows every suite in the folder (or those PATTERNS select); the default run measures
    autodiff, convnet and online.
    """
    try:
        suites = discover(suites_dir(suites_option), patterns, defaults=())
    except SuiteError as exc:
        raise click.ClickException(str(exc)) from exc
    _console().print(list_table(suites))


@bench.command("run")
@click.argument("patterns", nargs=-1)
@click.option("--impl", "impls", multiple=True, help="Only this implementation (repeatable); "
              "each benchmark's reference always runs, so ratios stay defined.")  # fmt: skip
@_choice("--device", choices=("cpu", "cuda"), default="cpu",
         help="cuda: synchronised GPU timings (skipped, with why, without a GPU).")  # fmt: skip
@_choice("--timer", choices=("wall", "cpu"), help="Clock of every cpu cell: wall time, or the "
         "process CPU time of all its threads (less moved by other load on the machine) "
         "[default: each benchmark's `timer`, else wall].")  # fmt: skip
@click.option("--quick", is_flag=True, help="quick_params, 5 samples, 1 round.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the results here (schema wg-bench/2).")  # fmt: skip
@click.option("--suites", "suites_option", type=click.Path(file_okay=False), help=SUITES_HELP)
@click.option("--threads", type=click.IntRange(1), default=1, show_default=True,
              help="BLAS/OpenMP/XLA threads per cell.")  # fmt: skip
@click.option("--samples", type=click.IntRange(1), help="Samples per cell [default: 10; quick 5].")
@click.option("--rounds", type=click.IntRange(1), help="Processes per cell, interleaved "
              "[default: 2; quick 1].")  # fmt: skip
@click.option("--min-time", type=click.FloatRange(min=0, min_open=True),
              help="Seconds one sample lasts at least [default: 0.1].")  # fmt: skip
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True),
              help="Per-cell timeout in seconds [default: the benchmark's, else 600].")  # fmt: skip
@click.option(
    "--history",
    "history_option",
    type=click.Path(file_okay=False),
    help="History folder [default: $WG_BENCH_HISTORY, else ~/.local/share/wg-bench/history].",
)
@click.option("--no-history", is_flag=True, help="Do not store the results in the history folder.")
@_choice("--executor", choices=("local", "dask"), default="local",
         help="dask: cells run on a Dask cluster (--scheduler).")  # fmt: skip
@click.option("--scheduler", help="Dask scheduler address for --executor dask (tcp://host:8786).")
@click.option("--max-memory", type=click.FloatRange(min=0, min_open=True),
              help="GiB of address space per cell; beyond it the cell is an error.")  # fmt: skip
@click.option("--details", is_flag=True, help="Also print one wide table per benchmark: "
              "median, IQR, ratio to the reference, first call, memory, metrics.")  # fmt: skip
@click.option("--against", "against_rev", metavar="REV", help="A/B: run every cell also at git "
              "revision REV (a temporary worktree), interleaved; print only the significant "
              "changes; exit 1 on a slowdown.")  # fmt: skip
@_choice("--against-suites", choices=("current", "rev"), default="current",
         help="With --against: whose suite files both sides run.")  # fmt: skip
@_significance_options(against=True)
def run_command(
    patterns: tuple[str, ...], impls: tuple[str, ...], device: str, timer: str | None,
    quick: bool, json_path: Path | None, suites_option: str | None, threads: int,
    samples: int | None, rounds: int | None, min_time: float | None, timeout: float | None,
    history_option: str | None, no_history: bool, executor: str, scheduler: str | None,
    max_memory: float | None, details: bool, against_rev: str | None, against_suites: str,
    alpha: float, min_effect: float,
) -> None:  # fmt: skip
    """Run benchmarks (default: the autodiff, convnet and online suites).

    PATTERNS select suites by name or benchmarks by `suite.Benchmark` glob or substring.
    Exits with status 1 when a cell is `mismatch` or `error`; with --against REV, when a cell
    got significantly slower than at REV or broke.
    """
    if executor == "dask" and not scheduler:
        raise click.UsageError("--executor dask needs --scheduler ADDRESS (e.g. tcp://host:8786)")
    try:
        settings = Settings.for_run(quick, samples=samples, rounds=rounds, min_time=min_time,
                                    threads=threads, device=device, timeout=timeout,
                                    max_memory=max_memory, timer=timer)  # fmt: skip
        root = suites_dir(suites_option)
        if against_rev is not None:
            _check_against(json_path, history_option, executor)
            _against(_console(), against_rev, root, patterns, settings, impls,
                     against_suites == "rev", (alpha, min_effect))  # fmt: skip
            return
        suites = discover(root, patterns)
    except (SuiteError, PlanError) as exc:
        raise click.UsageError(str(exc)) from exc
    console = _console()
    history = None if no_history else history_root(history_option)
    outcome = _run_with_progress(console, suites, settings, impls, json_path, history,
                                 executor, scheduler)  # fmt: skip
    documents = outcome.state.documents()
    _print_results(console, documents, details)
    _finish(console, outcome, documents)


def _check_against(json_path: Path | None, history: str | None, executor: str) -> None:
    if json_path is not None or history is not None:
        raise click.UsageError(
            "--against writes no results files: drop --json/--history, or run each side on its "
            "own and use `wg bench compare OLD NEW`"
        )
    if executor != "local":
        raise click.UsageError("--against runs on this machine only: drop --executor dask")


def _against(console: Console, rev: str, root: Path, patterns: tuple[str, ...],
             settings: Settings, impls: tuple[str, ...], rev_suites: bool,
             test: tuple[float, float]) -> None:  # fmt: skip
    """``run --against REV``: measure both sides, then print only the significant changes."""
    from wg_bench.against import SIGNIFICANT, AgainstError, run_against

    progress, on_plan, on_done = _progress(console, "local")
    try:
        outcome = run_against(rev, root, patterns, settings, implementations=impls,
                              rev_suites=rev_suites, on_plan=on_plan, on_done=on_done,
                              command=_command_line())  # fmt: skip
    except AgainstError as exc:
        raise click.UsageError(str(exc)) from exc
    except RunError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        if progress.live.is_started:
            progress.stop()
    for note in outcome.notes:
        console.print(f"[yellow]note: {note}[/]")
    old, new = outcome.documents()
    for doc, side in ((old, outcome.sides["rev"]), (new, outcome.sides["current"])):
        _print_problems(console, doc, side.label)
    if outcome.interrupted:
        console.print(f"[yellow]interrupted by {outcome.signal or 'SIGINT'}: nothing compared[/]")
        raise SystemExit(128 + signal.Signals[outcome.signal or "SIGINT"])
    rows = outcome.changes(*test)
    shown = [r for r in rows if r.verdict in SIGNIFICANT]
    title = f"changes: the working tree / {outcome.sides['rev'].label}"
    if shown:
        console.print(compare_table(shown, title=title))
    unjudged = sum(r.verdict not in (*SIGNIFICANT, "same") for r in rows)
    console.print(f"{len(rows)} cell(s) compared: {len(shown)} significant change(s), "
                  f"{unjudged} not compared (skipped or failed on a side)")  # fmt: skip
    failing = comparing.failed(rows)
    if failing:
        raise click.ClickException(
            f"{len(failing)} cell(s) got significantly slower than at {rev} (by >= "
            f"{test[1]:.0%}, p < {test[0]:g}) or broke"
        )


def _print_problems(console: Console, doc: dict[str, Any], side: str) -> None:
    """Each distinct reason a side's cells were skipped or failed, once, with a count."""
    reasons: dict[tuple[str, str], int] = {}
    for c in doc["results"]:
        if c["status"] != "ok":
            key = (c["status"], c["reason"])
            reasons[key] = reasons.get(key, 0) + 1
    for (status, reason), count in reasons.items():
        style = "yellow" if status == "skipped" else "bold red"
        console.print(Text.assemble((f"{status} ", style), f"{count} cell(s) at {side}: {reason}"))


def _print_results(console: Console, documents: dict[str, Any], details: bool) -> None:
    """The wide per-cell tables (with --details), the failed cells, then the headline."""
    for doc in documents.values():
        if details:
            for table in result_tables(doc["results"]):
                console.print(table)
        for c in doc["results"]:
            if c["status"] in ("mismatch", "error") and not details:
                label = f"{c['suite']}.{c['benchmark']}({format_params(c['params'])})"
                where = f" {label} {c['implementation']} [{c['device']}]: {c['reason']}"
                console.print(Text.assemble((c["status"], "bold red"), where))
        # the headline fits in 100 columns, whatever the terminal's width
        console.print(headline_table(doc["headline"]), width=min(console.width, HEADLINE_WIDTH))


def _progress(console: Console, executor: str) -> tuple[Progress, Any, Any]:
    """A progress bar and the run's ``on_plan`` / ``on_done`` callbacks that drive it."""
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())  # fmt: skip
    # the bar starts once the plan exists and the outputs were checked, so an early error is
    # the only line printed
    progress = Progress(*columns, console=console, transient=False)
    bar = progress.add_task("running", total=None, start=False)
    queue: list[Any] = []

    def on_plan(tasks: list[Any], cells: list[Any]) -> None:
        queue.extend(tasks)
        first = _task_label(tasks[0]) if tasks and executor == "local" else "running"
        progress.start()
        progress.start_task(bar)
        progress.update(bar, total=len(tasks), description=first)

    def on_done(task: Any, result: CellResult) -> None:
        # the local executor runs the queue in order: show the cell that starts now
        done = int(progress.tasks[bar].completed) + 1
        label = f"{_task_label(task)}: {result.status}"
        if executor == "local" and done < len(queue):
            label = _task_label(queue[done])
        progress.update(bar, advance=1, description=label)

    return progress, on_plan, on_done


def _task_label(task: Any) -> str:
    side = {"rev": " at REV", "current": " now"}.get(task.cell.side, "")
    # a label holds "[cpu]", which rich would take for markup
    return escape(f"{task.cell.label()}{side}")


def _run_with_progress(console: Console, suites: Any, settings: Settings, impls: Any,
                       json_path: Path | None, history: Path | None, executor: str,
                       scheduler: str | None) -> Any:  # fmt: skip
    progress, on_plan, on_done = _progress(console, executor)
    execute = None
    if executor == "dask":
        from wg_bench.cluster import dask_executor

        execute = dask_executor(str(scheduler))
    try:
        return run(suites, settings, implementations=impls, json_path=json_path,
                   history=history, executor=execute, on_plan=on_plan, on_done=on_done,
                   command=_command_line())  # fmt: skip
    except (PlanError, SuiteError) as exc:
        raise click.UsageError(str(exc)) from exc
    except (RunError, OutputError) as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        if progress.live.is_started:
            progress.stop()


def _command_line() -> str:
    """``wg bench run <the arguments as typed>``, stored in the results."""
    args = sys.argv[1:]
    args = args[args.index("run") + 1 :] if "run" in args else []
    return " ".join(["wg bench run", *map(shlex.quote, args)])


def _finish(console: Console, outcome: Any, documents: dict[str, Any]) -> None:
    for path in outcome.paths:
        console.print(f"results: {path}")
    cells = [c for d in documents.values() for c in d["results"]]
    errors = [e for d in documents.values() for e in d["errors"]]
    for error in errors:
        console.print(f"[bold red]suite {error['suite']}:[/] {error['reason']}")
    if outcome.interrupted:
        by = f" by {outcome.signal}" if outcome.signal else ""
        console.print(f"[yellow]interrupted{by}: {len(cells)} finished cell(s) kept[/]")
        number = signal.Signals[outcome.signal] if outcome.signal else signal.SIGINT
        raise SystemExit(128 + number)
    counts = {
        s: sum(c["status"] == s for c in cells) for s in ("ok", "skipped", "mismatch", "error")
    }
    console.print(f"{len(cells)} cells: " + ", ".join(f"{n} {s}" for s, n in counts.items()))
    bad = [c for c in cells if c["status"] in ("mismatch", "error")]
    if bad or errors:
        raise click.ClickException(
            f"{len(bad)} cell(s) failed (mismatch or error) and {len(errors)} suite(s) did not "
            "load; see the lines above (--details: every cell)"
        )


@bench.command("compare")
@click.argument("old", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("new", type=click.Path(dir_okay=False, path_type=Path))
@_significance_options(against=False)
@click.option("--only-changed", is_flag=True, help="Hide cells whose verdict is 'same'.")
@click.option("--relative", is_flag=True, help="Compare times relative to each benchmark's "
              "reference in the same run (robust to a busier or faster machine).")  # fmt: skip
def compare_command(old: Path, new: Path, alpha: float, min_effect: float,
                    only_changed: bool, relative: bool) -> None:  # fmt: skip
    """Compare two results files cell by cell; exit 1 on a significant slowdown or a breakage."""
    try:
        before, after = load(old), load(new)
    except SchemaError as exc:
        raise click.ClickException(str(exc)) from exc
    rows = comparing.compare(before, after, alpha=alpha, min_effect=min_effect, relative=relative)
    console = _console()
    if before["machine"].get("id") != after["machine"].get("id"):
        console.print("[yellow]warning: the two runs come from different machines[/]")
    drift = comparing.machine_drift(before, after)
    if not relative and drift is not None and abs(drift - 1) >= min_effect:
        console.print(
            f"[yellow]warning: the reference implementations themselves changed by x{drift:.2f} "
            "(median): the machine was probably busier or faster; --relative compares each "
            "cell to its reference in the same run instead[/]"
        )
    console.print(compare_table([r for r in rows if r.changed or not only_changed], relative))
    failing = comparing.failed(rows)
    if failing:
        raise click.ClickException(
            f"{len(failing)} cell(s) got significantly slower (by >= {min_effect:.0%}, "
            f"p < {alpha:g}) or broke"
        )
    console.print(f"no significant slowdown in {len(rows)} cell(s)")


@bench.command("report")
@click.argument("results", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for README.md, index.html, summary.md and the PNG plots.")  # fmt: skip
def report_command(results: tuple[Path, ...], out_dir: Path) -> None:
    """Write the results page (README.md, GitHub-renderable) with plots, an HTML report and a
    Markdown summary from results files/folders (several runs: history over commits)."""
    from wg_bench.report import write_report

    try:
        documents = load_many(results)
    except SchemaError as exc:
        raise click.ClickException(str(exc)) from exc
    try:
        written = write_report(documents, out_dir)
    except OutputError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        f"wrote {len(written)} file(s) to {out_dir}: README.md (the results page), index.html, "
        "summary.md and plots"
    )
