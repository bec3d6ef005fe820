"""``wg bench report``: the published page, a static HTML page, PNG plots and a PR summary.

The newest results document is the subject; older ones (same files or a history folder) give the
history plots (median with its 95% CI over commits) and the "changes since the previous run"
section of the summary.
"""

from __future__ import annotations

import html
import itertools
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from wg_io.output import OutputError, describe_os_error, write_bytes, write_text

from wg_bench.compare import compare
from wg_bench.page import write_page
from wg_bench.plots import Point, over_runs, png
from wg_bench.tables import format_params, format_ratio, format_seconds, status_text

Document = dict[str, Any]


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_")


def _by_benchmark(cells: Sequence[dict[str, Any]]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    key = lambda c: (c["suite"], c["benchmark"])  # noqa: E731
    return {k: list(g) for k, g in itertools.groupby(sorted(cells, key=key), key=key)}


def time_plot(cells: Sequence[dict[str, Any]], title: str) -> bytes | None:
    """Median time per implementation and parameter set, with 95% CI error bars (log scale)."""
    from matplotlib.figure import Figure

    ok = [c for c in cells if c["status"] == "ok"]
    if not ok:
        return None
    params = sorted({format_params(c["params"]) for c in ok})
    impls = sorted({c["implementation"] for c in ok})
    figure = Figure(figsize=(max(5.0, 1.2 * len(params) + 3), 3.6))
    axes = figure.add_subplot()
    width = 0.8 / len(impls)
    for j, impl in enumerate(impls):
        xs, ys, low, high = [], [], [], []
        for i, p in enumerate(params):
            cell = next((c for c in ok if c["implementation"] == impl
                         and format_params(c["params"]) == p), None)  # fmt: skip
            if cell is not None:
                s = cell["seconds"]
                xs.append(i - 0.4 + width * (j + 0.5))
                ys.append(s["median"])
                low.append(s["median"] - s["ci95"][0])
                high.append(s["ci95"][1] - s["median"])
        axes.errorbar(xs, ys, yerr=[low, high], fmt="o", capsize=3, label=impl)
    axes.set_xticks(range(len(params)), params, rotation=20, ha="right")
    axes.set_xlim(-0.5, len(params) - 0.5)
    axes.set_yscale("log")
    axes.set_ylabel("seconds per call (median, 95% CI)")
    axes.set_title(title)
    axes.legend(fontsize="small")
    return png(figure)


def history_plot(documents: Sequence[Document], suite: str, name: str) -> bytes | None:
    """The median (with CI) of every ok cell of one benchmark over the runs, oldest first."""
    series: dict[str, list[Point]] = {}
    for run, doc in enumerate(documents):
        for c in doc["results"]:
            if c["suite"] == suite and c["benchmark"] == name and c["status"] == "ok":
                label = f"{c['implementation']} ({format_params(c['params'])})"
                s = c["seconds"]
                series.setdefault(label, []).append((run, s["median"], s["ci95"][0], s["ci95"][1]))
    if not series or len(documents) < 2:
        return None
    return over_runs(documents, series, ylabel="seconds per call",
                     title=f"{suite}.{name} over commits")  # fmt: skip


def markdown_summary(documents: Sequence[Document]) -> str:
    """Markdown for a pull request: the newest run's tables and its changes since the previous."""
    latest = documents[-1]
    machine = latest["machine"]
    git = machine.get("git") or {}
    lines = [
        "# wg bench results", "",
        f"Machine `{machine.get('id')}`: {machine.get('cpu')}, {machine.get('cores_logical')} "
        f"cores, Python {machine.get('python')}; commit `{(git.get('commit') or '?')[:10]}`"
        f"{' (dirty)' if git.get('dirty') else ''}; created {latest.get('created')}"
        f"{'' if latest.get('complete', True) else ' (**incomplete run**: interrupted)'}.", "",
    ]  # fmt: skip
    for (suite, name), cells in _by_benchmark(latest["results"]).items():
        lines += [f"## {suite}.{name}", "", "| params | implementation | median | ratio [95% CI] "
                  "| status |", "| --- | --- | ---: | ---: | --- |"]  # fmt: skip
        for c in cells:
            impl = c["implementation"] + (" (reference)" if c["reference"] else "")
            median = format_seconds((c["seconds"] or {}).get("median"))
            lines.append(f"| {format_params(c['params'])} | {impl} | {median} | "
                         f"{format_ratio(c.get('ratio'))} | {status_text(c)} |")  # fmt: skip
        lines.append("")
    if len(documents) >= 2:
        rows = [r for r in compare(documents[-2], latest) if r.changed]
        lines += ["## Changes since the previous run", ""]
        lines += [
            f"- **{r.verdict}** {'.'.join(r.key[:2])} ({r.key[2]}) {r.key[3]} [{r.key[4]}]"
            + (f": x{r.ratio:.2f}, p={r.p_value:.3g}" if r.ratio is not None else "")
            + (f" ({r.note})" if r.note else "")
            for r in rows
        ] or ["No significant change."]
        lines.append("")
    return "\n".join(lines)


def write_report(found: Sequence[tuple[Path, Document]], out_dir: Path) -> list[Path]:
    """Write ``README.md`` (the published page, :mod:`wg_bench.page`), ``index.html``,
    ``summary.md`` and the PNG plots; returns the files written."""
    make_folder(out_dir)
    inputs = [path for path, _ in found]  # a results file in --out is never overwritten
    documents = sorted((doc for _, doc in found), key=lambda d: d.get("created") or "")
    latest = documents[-1]
    same_machine = [d for d in documents if d["machine"].get("id") == latest["machine"].get("id")]
    written: list[Path] = []
    sections = []
    for (suite, name), cells in _by_benchmark(latest["results"]).items():
        images = []
        for kind, data in (("time", time_plot(cells, f"{suite}.{name}")),
                           ("history", history_plot(same_machine, suite, name))):  # fmt: skip
            if data is not None:
                path = out_dir / f"{kind}_{_slug(suite)}_{_slug(name)}.png"
                write_bytes(path, data, inputs=inputs)
                written.append(path)
                images.append(path.name)
        sections.append(_html_section(suite, name, cells, images))
    written += write_page(same_machine, out_dir, inputs=inputs)
    summary = markdown_summary(same_machine)
    for path, text in ((out_dir / "summary.md", summary),
                       (out_dir / "index.html", _html_page(latest, sections))):  # fmt: skip
        write_text(path, text, inputs=inputs)
        written.append(path)
    return written


def make_folder(out_dir: Path) -> None:
    """Create the report folder, or raise :class:`OutputError` naming it and what to do."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise OutputError(out_dir, "it is a file", "choose a folder for the report") from None
    except OSError as exc:
        raise OutputError(out_dir, *describe_os_error(exc)) from None


def _html_section(suite: str, name: str, cells: Sequence[dict[str, Any]], images: list[str]) -> str:
    e = html.escape
    head = "".join(f"<th>{h}</th>" for h in ("params", "implementation", "median", "IQR",
                                             "ratio [95% CI]", "first call", "status"))  # fmt: skip
    rows = []
    for c in cells:
        s = c["seconds"] or {}
        iqr = f"{format_seconds(s['q25'])} .. {format_seconds(s['q75'])}" if s else "-"
        values = (format_params(c["params"]), c["implementation"] + (" (ref)" if c["reference"]
                  else ""), format_seconds(s.get("median")), iqr, format_ratio(c.get("ratio")),
                  format_seconds(c.get("first_call_seconds")), status_text(c))  # fmt: skip
        rows.append(f"<tr class='{e(c['status'])}'>" + "".join(f"<td>{e(v)}</td>" for v in values)
                    + "</tr>")  # fmt: skip
    description = e(cells[0].get("description", ""))
    pictures = "".join(f"<img src='{e(i)}' alt='{e(i)}'>" for i in images)
    return (f"<section><h2 id='{e(_slug(suite + '.' + name))}'>{e(suite)}.{e(name)}</h2>"
            f"<p>{description}</p><table><tr>{head}</tr>{''.join(rows)}</table>{pictures}"
            "</section>")  # fmt: skip


def _html_page(latest: Document, sections: list[str]) -> str:
    machine = latest["machine"]
    facts = {k: machine.get(k) for k in ("id", "cpu", "cores_logical", "memory_bytes", "gpus",
                                         "os", "python", "git", "libraries")}  # fmt: skip
    facts["blas"] = ", ".join(f"{b.get('internal_api')} {b.get('version')} "
                              f"({b.get('architecture')}, {b.get('num_threads')} thread(s))"
                              for b in machine.get("blas", []))  # fmt: skip
    facts["environment"] = machine.get("environment")
    rows = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>"
                   for k, v in facts.items())  # fmt: skip
    style = (
        "body{font-family:sans-serif;max-width:70em;margin:auto}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}"
        ".mismatch,.error{background:#fdd}.skipped{color:#888}img{max-width:100%}"
    )
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>wg bench report</title>"
            f"<style>{style}</style></head><body><h1>wg bench report</h1>"
            f"<p>created {html.escape(str(latest.get('created')))}; "
            f"command <code>{html.escape(str(latest.get('command')))}</code></p>"
            f"<table>{rows}</table>{''.join(sections)}</body></html>\n")  # fmt: skip
