"""The published results page: ``README.md`` with PNG plots, rendered as is by GitHub.

The newest document is the subject: its machine fingerprint and date, its headline (our best
against the fastest peer, with targets), and per suite a plot of the ratios with their 95% CIs.
When several runs of the same machine are given, each suite also gets the ratios over the commits.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from wg_io.output import write_bytes, write_text

from wg_bench.headline import of_document
from wg_bench.plots import Point, over_runs, png
from wg_bench.tables import format_bytes, format_params, format_ratio

Document = dict[str, Any]
Row = dict[str, Any]


def markdown_cell(value: Any) -> str:
    """Text safe inside a Markdown table cell (no pipe, newline or HTML tag gets through).

    Examples
    --------
    >>> markdown_cell("a|b\\n<img>")
    'a\\\\|b &lt;img&gt;'
    """
    text = str(value).replace("\\", "\\\\").replace("|", "\\|")
    text = text.replace("<", "&lt;").replace(">", "&gt;")
    return " ".join(text.split())


def _label(row: Row) -> str:
    device = "" if row["device"] == "cpu" else f" [{row['device']}]"
    return f"{row['benchmark']}({format_params(row['params'])}){device}"


def ratio_plot(rows: Sequence[Row], title: str) -> bytes | None:
    """Ours / fastest peer per row with 95% CI bars (log scale), targets marked ``x``."""
    from matplotlib.figure import Figure

    shown = [r for r in rows if r["ratio"] and r["ratio"].get("value") is not None]
    if not shown:
        return None
    figure = Figure(figsize=(7.0, 1.0 + 0.4 * len(shown)))
    axes = figure.add_subplot()
    for y, row in enumerate(shown):
        value = row["ratio"]["value"]
        low, high = (v if v is not None else value for v in row["ratio"]["ci95"])
        err = [[max(value - low, 0.0)], [max(high - value, 0.0)]]
        axes.errorbar([value], [y], xerr=err, fmt="o", capsize=3, color="tab:blue")
        for target in row.get("targets", []):
            axes.plot([target["max_ratio"]], [y], "x", color="tab:red")
    axes.axvline(1.0, color="grey", linewidth=0.8)
    axes.set_yticks(range(len(shown)), [f"{_label(r)}\n{r['ours']} / {r['peer']}" for r in shown])
    axes.set_xscale("log")
    axes.set_xlabel("ours / fastest peer (median ratio, 95% CI; x: target; < 1: ours is faster)")
    axes.set_title(title)
    return png(figure)


def history_plot(documents: Sequence[Document], suite: str) -> bytes | None:
    """The headline ratios of one suite over the runs (oldest first), one line per row."""
    series: dict[str, list[Point]] = {}
    for run, doc in enumerate(documents):
        for row in of_document(doc):
            ratio = row["ratio"]
            if row["suite"] == suite and ratio and ratio.get("value") is not None:
                value = ratio["value"]
                low, high = (v or value for v in ratio["ci95"])
                series.setdefault(_label(row), []).append((run, value, low, high))
    if len(documents) < 2 or not series:
        return None
    return over_runs(documents, series, ylabel="ours / fastest peer",
                     title=f"{suite} over commits", unity_line=True)  # fmt: skip


def machine_lines(doc: Document) -> list[str]:
    """The machine fingerprint and date as a two-column Markdown table."""
    machine = doc["machine"]
    git = machine.get("git") or {}
    blas = ", ".join(f"{b.get('internal_api')} {b.get('version')} ({b.get('num_threads')} "
                     "thread(s))" for b in machine.get("blas", []))  # fmt: skip
    gpus = ", ".join(str(g.get("name")) if isinstance(g, dict) else str(g)
                     for g in machine.get("gpus") or []) or "none"  # fmt: skip
    facts = [
        ("date", f"{doc.get('created')}" + ("" if doc.get("complete", True) else " (incomplete)")),
        ("commit", f"{git.get('commit') or '?'}{' (dirty tree)' if git.get('dirty') else ''}"),
        ("machine", machine.get("id")), ("CPU", machine.get("cpu")),
        ("cores", f"{machine.get('cores_physical')} physical, {machine.get('cores_logical')} "
                  "logical"),
        ("memory", format_bytes(machine.get("memory_bytes"))), ("GPUs", gpus),
        ("OS", machine.get("os")), ("Python", machine.get("python")), ("BLAS", blas or "-"),
        ("command", f"`{doc.get('command')}`" if doc.get("command") else "-"),
    ]  # fmt: skip
    return ["| | |", "| --- | --- |", *(f"| {k} | {markdown_cell(v)} |" for k, v in facts)]


def _headline_lines(rows: Sequence[Row]) -> list[str]:
    lines = ["| benchmark | params | ours | peer | ours/peer [95% CI] | target |",
             "| --- | --- | --- | --- | ---: | --- |"]  # fmt: skip
    for r in rows:
        cells = (f"{r['suite']}.{r['benchmark']}", format_params(r["params"]), r["ours"] or "-",
                 r["peer"] or "-", format_ratio(r["ratio"]), r["target"])  # fmt: skip
        lines.append("| " + " | ".join(markdown_cell(c) for c in cells) + " |")
    return lines


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "suite"


def write_page(documents: Sequence[Document], out_dir: Path,
               inputs: Sequence[Path] = ()) -> list[Path]:  # fmt: skip
    """Write ``README.md`` and its plots for ``documents`` (one machine, oldest first); an
    output that is one of ``inputs`` is refused (:class:`wg_io.output.OutputError`)."""
    latest = documents[-1]
    rows = of_document(latest)
    lines = ["# wg bench results", "", *machine_lines(latest), "", "## Headline", "",
             "Our fastest implementation against the fastest peer, per benchmark and parameter "
             "set: below 1, ours is faster.", "", *_headline_lines(rows), ""]  # fmt: skip
    written: list[Path] = []
    for suite in dict.fromkeys(r["suite"] for r in rows):
        mine = [r for r in rows if r["suite"] == suite]
        lines += [f"## {markdown_cell(suite)}", ""]
        for kind, data in (("ratio", ratio_plot(mine, f"{suite}: ours / fastest peer")),
                           ("history", history_plot(documents, suite))):  # fmt: skip
            if data is not None:
                path = out_dir / f"{kind}_{_slug(suite)}.png"
                write_bytes(path, data, inputs=inputs, make_parents=True)
                written.append(path)
                lines += [f"![{kind} of {markdown_cell(suite)}]({path.name})", ""]
    page = out_dir / "README.md"
    write_text(page, "\n".join(lines).rstrip("\n") + "\n", inputs=inputs, make_parents=True)
    return [*written, page]
