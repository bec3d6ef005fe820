"""``report``: HTML, PNG plots and the Markdown summary."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_documents import cell, document, noisy
from wg_bench.report import write_report


def test_report_files(tmp_path) -> None:
    ref = cell("numpy", noisy(1e-3, 5, 0), reference=True)
    old = document([ref, cell("py", noisy(5e-3, 5, 1))], "2026-01-01T00:00:00+00:00", "1" * 40)
    bad = cell("bad", None, status="mismatch", reason="error 1 > tolerance 0")
    new_ref = cell("numpy", noisy(1e-3, 5, 2), reference=True)
    new = document([new_ref, cell("py", noisy(9e-3, 5, 3)), bad], "2026-01-02T00:00:00+00:00",
                   "2" * 40)  # fmt: skip
    written = write_report([(Path("new.json"), new), (Path("old.json"), old)], tmp_path)
    names = sorted(p.name for p in written)
    assert names == [
        "README.md", "history_toy_Sum.png", "index.html", "summary.md", "time_toy_Sum.png"
    ]  # fmt: skip
    assert (tmp_path / "time_toy_Sum.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = (tmp_path / "summary.md").read_text()
    assert "| n=10 | numpy (reference) | 996 µs | - | ok |" in summary
    assert "| n=10 | bad | - | - | mismatch: error 1 > tolerance 0 |" in summary
    assert "- **slower** toy.Sum (n=10) py [cpu]: x1.79, p=0.00794" in summary
    assert "commit `2222222222`" in summary
    page = (tmp_path / "index.html").read_text()
    assert "<img src='time_toy_Sum.png'" in page
    assert "<img src='history_toy_Sum.png'" in page
    assert "<tr class='mismatch'>" in page


def test_single_run_has_no_history_plot(tmp_path) -> None:
    doc = document([cell("numpy", noisy(1e-3, 5, 0), reference=True)])
    names = sorted(p.name for p in write_report([(Path("r.json"), doc)], tmp_path))
    assert names == ["README.md", "index.html", "summary.md", "time_toy_Sum.png"]
    assert "Changes since" not in (tmp_path / "summary.md").read_text()
