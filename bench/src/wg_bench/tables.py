"""Human-readable rendering of results: units, rich tables for the terminal."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import Any

from rich import box
from rich.table import Table

from wg_bench.compare import Row
from wg_bench.discovery import Suite

STATUS_STYLE = {"ok": "green", "skipped": "yellow", "mismatch": "bold red", "error": "bold red"}


def format_seconds(seconds: float | None) -> str:
    """A duration with a unit chosen for three significant digits.

    Examples
    --------
    >>> format_seconds(0.000012345), format_seconds(1.5), format_seconds(None)
    ('12.3 µs', '1.50 s', '-')
    """
    if seconds is None:
        return "-"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if abs(seconds) >= scale:
            return (
                f"{seconds / scale:.3g} {unit}"
                if seconds / scale >= 100
                else (
                    f"{seconds / scale:.2f} {unit}"
                    if seconds / scale < 10
                    else f"{seconds / scale:.1f} {unit}"
                )
            )
    return f"{seconds * 1e9:.0f} ns"


def format_bytes(count: int | None) -> str:
    """Bytes in MiB (or '-').

    Examples
    --------
    >>> format_bytes(3 * 2**20), format_bytes(None)
    ('3.0 MiB', '-')
    """
    return "-" if not count else f"{count / 2**20:.1f} MiB"


def format_ratio(ratio: dict[str, Any] | None) -> str:
    """``2.31x [2.20, 2.45]`` (ratio to the reference with its 95% CI).

    Examples
    --------
    >>> format_ratio({"value": 2.0, "ci95": [1.9, 2.1]})
    '2.00x [1.90, 2.10]'
    """
    if not ratio:
        return "-"
    low, high = ratio["ci95"]
    return f"{ratio['value']:.2f}x [{low:.2f}, {high:.2f}]"


def format_params(params: dict[str, Any]) -> str:
    """``d=10, k=5``."""
    return ", ".join(f"{k}={v}" for k, v in params.items()) or "-"


def format_metrics(metrics: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                     for k, v in metrics.items()) or "-"  # fmt: skip


def status_text(cell: dict[str, Any]) -> str:
    """``ok``, or the status with its reason, e.g. ``skipped: install with ...``."""
    if not cell.get("reason"):
        return cell["status"]
    if cell["status"] == "ok":
        return f"ok ({cell['reason']})"
    return f"{cell['status']}: {cell['reason']}"


def result_tables(results: Iterable[dict[str, Any]]) -> list[Table]:
    """One table per benchmark: time, quartiles, ratio to the reference with CI, status."""
    tables = []
    key = lambda c: (c["suite"], c["benchmark"])  # noqa: E731
    for (suite, name), group in itertools.groupby(sorted(results, key=key), key=key):
        cells = list(group)
        clock = " [process CPU time]" if any(c.get("timer") == "cpu" for c in cells) else ""
        table = Table(
            title=f"{suite}.{name}{clock}: {cells[0].get('description', '')}", title_justify="left"
        )
        for column in ("params", "impl", "device", "median", "IQR", "ratio [95% CI]",
                       "first call", "peak mem", "metrics", "status"):  # fmt: skip
            table.add_column(column, overflow="fold")
        for c in sorted(cells, key=lambda c: (format_params(c["params"]), not c["reference"])):
            s = c["seconds"] or {}
            iqr = f"{format_seconds(s['q25'])} .. {format_seconds(s['q75'])}" if s else "-"
            impl = f"{c['implementation']} (ref)" if c["reference"] else c["implementation"]
            style = STATUS_STYLE.get(c["status"], "")
            table.add_row(
                format_params(c["params"]),
                impl,
                c["device"],
                format_seconds(s.get("median")),
                iqr,
                format_ratio(c.get("ratio")),
                format_seconds(c.get("first_call_seconds")),
                format_bytes(c.get("peak_memory_bytes")),
                format_metrics(c["metrics"]),
                f"[{style}]{status_text(c)}[/]" if style else status_text(c),
            )
        tables.append(table)
    return tables


TARGET_STYLE = {"yes": "green", "no": "bold red"}


def _missed(target: dict[str, Any]) -> str:
    """``wg/torch 1.30 > 1``: a target that is not met (``failed`` when ours did not run right)."""
    ratio = target.get("ratio")
    shown = f"{ratio['value']:.2f}" if ratio and ratio.get("value") is not None else "failed"
    return f"{target['ours']}/{target['peer']} {shown} > {target['max_ratio']:g}"


def headline_table(rows: Iterable[dict[str, Any]]) -> Table:
    """The compact summary of a run: per benchmark and parameter set, our best implementation,
    the fastest peer, ours/peer with its 95% CI, and whether the declared targets are met."""
    table = Table(title="headline: ours / fastest peer (< 1: ours is faster)",
                  title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)  # fmt: skip
    for column in ("benchmark", "params", "ours", "peer", "ours/peer [95% CI]", "target"):
        table.add_column(column, overflow="fold")
    for row in rows:
        device = "" if row["device"] == "cpu" else f" [{row['device']}]"
        style = TARGET_STYLE.get(row["target"])
        missed = [_missed(t) for t in row.get("targets", []) if t.get("met") is False]
        verdict = row["target"] + (f" ({'; '.join(missed)})" if missed else "")
        table.add_row(
            f"{row['suite']}.{row['benchmark']}{device}",
            format_params(row["params"]),
            row["ours"] or "-",
            row["peer"] or "-",
            format_ratio(row["ratio"]),
            f"[{style}]{verdict}[/]" if style else verdict,
        )
    return table


def list_table(suites: Iterable[Suite]) -> Table:
    """Suites, benchmarks, cells and implementations, with whether each can run here."""
    table = Table(title="wg bench suites", title_justify="left")
    for column in ("suite", "benchmark", "cells (quick)", "devices", "implementations"):
        table.add_column(column, overflow="fold")
    for suite in suites:
        if suite.error:
            table.add_row(suite.name, "[bold red]error[/]", "", "", suite.error)
        for b in suite.benchmarks:
            impls = []
            for impl in b.implementations:
                note = b.missing_requirement(impl)
                role = " (reference)" if impl == b.reference else ""
                if impl == b.oracle != b.reference:
                    role = " (oracle)"
                impls.append(f"[yellow]{impl}{role}: skipped: {note}[/]" if note else
                             f"[green]{impl}[/]{role}")  # fmt: skip
            cells = f"{len(b.param_grid())} ({len(b.param_grid(quick=True))})"
            title = f"{b.name}\n[dim]{b.description}[/]" if b.description else b.name
            table.add_row(suite.name, title, cells, ", ".join(b.devices), "\n".join(impls))
    return table


VERDICT_STYLE = {"slower": "bold red", "broken": "bold red", "faster": "green", "fixed": "green"}


def compare_table(rows: Iterable[Row], relative: bool = False, title: str | None = None) -> Table:
    """``wg bench compare``'s table: old and new medians (times, or multiples of the reference
    with ``relative``), their ratio, the p-value and the verdict."""
    if title is None:
        title = "changes (new / old" + (", each relative to its reference)" if relative else ")")
    table = Table(title=title, title_justify="left")
    show = (lambda v: "-" if v is None else f"{v:.3g}x") if relative else format_seconds
    for column in ("benchmark", "params", "impl", "device", "old", "new", "ratio", "p", "verdict"):
        table.add_column(column, overflow="fold")
    for r in rows:
        suite, name, params, impl, device = r.key
        style = VERDICT_STYLE.get(r.verdict)
        verdict = f"{r.verdict} {r.note}".strip()
        table.add_row(
            f"{suite}.{name}",
            params or "-",
            impl,
            device,
            show(r.old),
            show(r.new),
            "-" if r.ratio is None else f"{r.ratio:.3f}",
            "-" if r.p_value is None else f"{r.p_value:.3g}",
            f"[{style}]{verdict}[/]" if style else verdict,
        )
    return table
