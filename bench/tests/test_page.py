"""The published page: README.md with the headline, machine, date and ratio plots."""

from __future__ import annotations

import sys
from pathlib import Path

from wg_bench.headline import headline
from wg_bench.page import markdown_cell, write_page
from wg_bench.report import write_report
from wg_bench.targets import Target

sys.path.insert(0, str(Path(__file__).parent))
from bench_documents import cell, document, noisy

PNG = b"\x89PNG\r\n\x1a\n"


def run_document(wg_median: float, created: str, commit: str) -> dict:
    cells = [cell("numpy", noisy(2e-3, 5, 0), reference=True), cell("torch", noisy(1e-3, 5, 1)),
             cell("wg", noisy(wg_median, 5, 2))]  # fmt: skip
    doc = document(cells, created, commit)
    doc.update(schema="wg-bench/2", headline=headline(cells, {("toy", "Sum"): [
        Target("wg", "torch", 1.0)]}))  # fmt: skip
    doc["machine"].update(cores_physical=1, memory_bytes=2**30, os="Linux", blas=[
        {"internal_api": "openblas", "version": "0.3", "num_threads": 1}])  # fmt: skip
    return doc


def test_page_of_one_run(tmp_path) -> None:
    doc = run_document(0.5e-3, "2026-01-02T00:00:00+00:00", "2" * 40)
    written = write_page([doc], tmp_path / "site")
    assert [p.name for p in written] == ["ratio_toy.png", "README.md"]
    assert (tmp_path / "site" / "ratio_toy.png").read_bytes()[:8] == PNG
    page = (tmp_path / "site" / "README.md").read_text()
    assert "| date | 2026-01-02T00:00:00+00:00 |" in page
    assert f"| commit | {'2' * 40} |" in page
    assert "| machine | m-1 |" in page
    assert "| memory | 1024.0 MiB |" in page
    assert "| BLAS | openblas 0.3 (1 thread(s)) |" in page
    assert "| toy.Sum | n=10 | wg | torch | 0.50x [" in page
    assert page.endswith("## toy\n\n![ratio of toy](ratio_toy.png)\n")
    assert "yes |" in page


def test_history_over_commits_and_old_documents(tmp_path) -> None:
    old = run_document(2e-3, "2026-01-01T00:00:00+00:00", "1" * 40)
    old.pop("headline")
    old["schema"] = "wg-bench/1"  # no stored headline: derived, without targets
    new = run_document(0.5e-3, "2026-01-02T00:00:00+00:00", "2" * 40)
    written = write_page([old, new], tmp_path)
    assert [p.name for p in written] == ["ratio_toy.png", "history_toy.png", "README.md"]
    assert (tmp_path / "history_toy.png").read_bytes()[:8] == PNG
    assert "![history of toy](history_toy.png)" in (tmp_path / "README.md").read_text()


def test_report_writes_the_page_too(tmp_path) -> None:
    doc = run_document(0.5e-3, "2026-01-02T00:00:00+00:00", "2" * 40)
    names = sorted(p.name for p in write_report([(Path("r.json"), doc)], tmp_path))
    assert names == ["README.md", "index.html", "ratio_toy.png", "summary.md", "time_toy_Sum.png"]


def test_hostile_text_cannot_break_the_table() -> None:
    assert markdown_cell("x|y\n<script>") == "x\\|y &lt;script&gt;"
