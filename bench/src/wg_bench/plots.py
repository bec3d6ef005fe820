"""The plot machinery that the results page and the HTML report share: PNG bytes, run labels,
and one series per line over the runs (oldest first) with 95% CI bars on a log scale.

matplotlib is imported inside the functions that draw, so importing this module stays light.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

Document = dict[str, Any]
#: one point of a line over the runs: (run index, value, low end of its CI, high end of its CI)
Point = tuple[int, float, float, float]


def png(figure: Any) -> bytes:
    """The figure rendered as PNG bytes, cropped to what it draws."""
    import io

    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    return buffer.getvalue()


def run_label(doc: Document) -> str:
    """``1a2b3c4d+`` (``+``: dirty tree) and the date of a run.

    Examples
    --------
    >>> run_label({"machine": {"git": {"commit": "1a2b3c4d5e", "dirty": True}},
    ...            "created": "2026-01-02T03:04:05Z"})
    '1a2b3c4d+\\n2026-01-02'
    >>> run_label({"machine": {}, "created": None})
    'no git\\n'
    """
    git = doc["machine"].get("git") or {}
    commit = (git.get("commit") or "no git")[:8]
    return f"{commit}{'+' if git.get('dirty') else ''}\n{(doc.get('created') or '')[:10]}"


def over_runs(documents: Sequence[Document], series: Mapping[str, Sequence[Point]], *,
              ylabel: str, title: str, unity_line: bool = False) -> bytes:  # fmt: skip
    """One line per series over ``documents`` (the x axis, labelled by :func:`run_label`), with
    the CI as error bars (a negative extent, from a CI that misses its value, is drawn as 0);
    ``unity_line`` draws y = 1, where a ratio means "as fast"."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7.0, 3.6))
    axes = figure.add_subplot()
    for label, points in sorted(series.items()):
        xs = [x for x, _, _, _ in points]
        ys = [value for _, value, _, _ in points]
        err = [[max(value - low, 0.0) for _, value, low, _ in points],
               [max(high - value, 0.0) for _, value, _, high in points]]  # fmt: skip
        axes.errorbar(xs, ys, yerr=err, marker="o", capsize=3, label=label)
    if unity_line:
        axes.axhline(1.0, color="grey", linewidth=0.8)
    axes.set_xticks(range(len(documents)), [run_label(d) for d in documents], rotation=20)
    axes.set_yscale("log")
    axes.set_ylabel(ylabel)
    axes.set_title(title)
    axes.legend(fontsize="x-small")
    return png(figure)
