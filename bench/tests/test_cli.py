"""``wg bench`` through click: help, list, run, compare, report, and every user error."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from wg.cli import main

sys.path.insert(0, str(Path(__file__).parent))
from bench_documents import cell, document, noisy


def wg(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(main, ["bench", *args], env=env)


@pytest.mark.parametrize("command", [[], ["list"], ["run"], ["compare"], ["report"]])
def test_help(command) -> None:
    result = wg(*command, "--help")
    assert result.exit_code == 0, result.output
    assert "Usage: main bench" in result.output or "Usage: wg bench" in result.output


def test_list_shows_availability(toy_dir) -> None:
    result = wg("list", "--suites", str(toy_dir))
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "numpy (reference)" in text
    assert "missing: skipped: install with pip install" in text
    assert "no-such-module (wg_bench_no_such_module is not" in text
    assert "Implementations that raise, abort the interpreter" in text


def test_run_writes_json_tables_and_fails_on_mismatch(toy_dir, tmp_path) -> None:
    out = tmp_path / "r.json"
    result = wg("run", "toy.Sum", "--suites", str(toy_dir), "--quick", "--min-time", "0.01",
                "--json", str(out), "--history", str(tmp_path / "h"))  # fmt: skip
    assert result.exit_code == 1, result.output
    assert "1 cell(s) failed (mismatch or error)" in result.output
    assert "mismatch toy.Sum(n=1000) wrong [cpu]: error 0.001 > tolerance 1e-09 against numpy" in (
        result.output
    )
    assert f"results: {out}" in result.output
    doc = json.loads(out.read_text())
    assert {c["implementation"]: c["status"] for c in doc["results"]} == {
        "numpy": "ok", "python": "ok", "wrong": "mismatch", "missing": "skipped",
    }  # fmt: skip
    assert len(list((tmp_path / "h").rglob("*.json"))) == 1


def test_run_rounds_pool_samples_without_history(toy_dir, tmp_path) -> None:
    out = tmp_path / "r.json"
    result = wg("run", "toy.Sum", "--impl", "python", "--suites", str(toy_dir), "--quick",
                "--rounds", "2", "--samples", "4", "--min-time", "0.01", "--no-history",
                "--json", str(out), env={"WG_BENCH_HISTORY": str(tmp_path / "h")})  # fmt: skip
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "h").exists()
    assert "2 cells: 2 ok, 0 skipped, 0 mismatch, 0 error" in result.output
    cells = json.loads(out.read_text())["results"]
    assert [(c["implementation"], c["rounds"], len(c["seconds"]["samples"])) for c in cells] == [
        ("numpy", 2, 4), ("python", 2, 4),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nothing"], "matches 'nothing'; `wg bench list` shows what exists"),
        (
            ["toy", "--impl", "rust"],
            "--impl rust: no selected benchmark has such an implementation",
        ),
        (["toy", "--executor", "dask"], "--executor dask needs --scheduler ADDRESS"),
        (["toy", "--samples", "0"], "Invalid value for '--samples'"),
    ],
)
def test_run_usage_errors(toy_dir, args, message) -> None:
    result = wg("run", *args, "--suites", str(toy_dir), "--no-history")
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())


def test_missing_suites_folder(tmp_path) -> None:
    result = wg("list", "--suites", str(tmp_path / "nope"))
    assert result.exit_code == 1
    assert "does not exist; pass `--suites DIR` or set WG_BENCH_SUITES" in result.output


def test_unreachable_scheduler_is_a_clear_error(toy_dir, monkeypatch) -> None:
    pytest.importorskip("distributed", reason="install with pip install 'wg-bench[dask]'")
    monkeypatch.setattr("wg_bench.cluster.CONNECT_TIMEOUT", "1s")
    result = wg("run", "toy.Sum", "--impl", "numpy", "--suites", str(toy_dir), "--no-history",
                "--executor", "dask", "--scheduler", "tcp://127.0.0.1:9")  # fmt: skip
    assert result.exit_code == 1, result.output
    assert "cannot reach the Dask scheduler at 'tcp://127.0.0.1:9'" in result.output


def test_compare_exit_codes_and_only_changed(tmp_path) -> None:
    old = document([cell("a", noisy(1.0, 5, 0), reference=True), cell("b", noisy(1.0, 6, 1))])
    same = document([cell("a", noisy(1.0, 9, 2), reference=True), cell("b", noisy(1.0, 5, 3))])
    slow = document([cell("a", noisy(1.0, 5, 4), reference=True), cell("b", noisy(1.5, 5, 5))])
    for name, doc in (("old", old), ("same", same), ("slow", slow)):
        (tmp_path / f"{name}.json").write_text(json.dumps(doc))
    ok = wg("compare", str(tmp_path / "old.json"), str(tmp_path / "same.json"))
    assert ok.exit_code == 0, ok.output
    assert "no significant slowdown in 2 cell(s)" in ok.output
    bad = wg("compare", str(tmp_path / "old.json"), str(tmp_path / "slow.json"), "--only-changed")
    assert bad.exit_code == 1, bad.output
    assert "1 cell(s) got significantly slower (by >= 10%, p < 0.05) or broke" in bad.output
    assert "slower" in bad.output
    assert "│ a " not in bad.output
    assert "warning: the reference implementations themselves" not in bad.output
    lenient = wg("compare", str(tmp_path / "old.json"), str(tmp_path / "slow.json"),
                 "--min-effect", "0.6")  # fmt: skip
    assert lenient.exit_code == 0, lenient.output


def test_compare_refuses_unknown_schema(tmp_path) -> None:
    (tmp_path / "old.json").write_text(json.dumps({"schema": "wg-bench/7", "results": []}))
    (tmp_path / "new.json").write_text(json.dumps(document([])))
    result = wg("compare", str(tmp_path / "old.json"), str(tmp_path / "new.json"))
    assert result.exit_code == 1
    assert "results schema 'wg-bench/7' is not supported" in result.output


def test_report_command(tmp_path) -> None:
    (tmp_path / "r.json").write_text(json.dumps(document([cell("a", noisy(1.0, 5, 0))])))
    result = wg("report", str(tmp_path / "r.json"), "--out", str(tmp_path / "site"))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "site" / "index.html").exists()
    assert (tmp_path / "site" / "summary.md").exists()
    bad = wg("report", str(tmp_path / "site" / "index.html"), "--out", str(tmp_path / "x"))
    assert bad.exit_code == 1
    assert (
        "index.html:1: invalid JSON: Expecting value (column 1); pass a results file" in bad.output
    )


def test_broken_suite_fails_the_run_with_its_location(tmp_path) -> None:
    (tmp_path / "broken.py").write_text("import numpy\n\nraise ImportError('no wg_thing')\n")
    result = wg("run", "broken", "--suites", str(tmp_path), "--no-history")
    assert result.exit_code == 1, result.output
    assert f"importing suite broken failed at {tmp_path / 'broken.py'}:3: ImportError" in " ".join(
        result.output.split()
    )


def test_python_dash_m_wg_bench(toy_dir) -> None:
    import subprocess

    done = subprocess.run(
        [sys.executable, "-m", "wg_bench", "list", "--suites", str(toy_dir)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "numpy (reference)" in done.stdout


def test_unwritable_results_path_is_a_clear_error(toy_dir, tmp_path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = wg("run", "toy.Sum", "--device", "cuda", "--suites", str(toy_dir), "--no-history",
                "--json", str(blocker / "r.json"))  # fmt: skip
    assert result.exit_code == 1, result.output
    assert result.output == (
        f"Error: cannot write {blocker / 'r.json'}: Not a directory (a part of the path is not a "
        "folder: check the path)\n"
    )


def test_max_memory_turns_exhaustion_into_an_error_cell(toy_dir, tmp_path) -> None:
    out = tmp_path / "r.json"
    result = wg("run", "memory_hog", "--suites", str(toy_dir), "--quick", "--max-memory", "2",
                "--min-time", "0.01", "--no-history", "--json", str(out))  # fmt: skip
    assert result.exit_code == 1, result.output
    cells = {c["implementation"]: c for c in json.loads(out.read_text())["results"]}
    assert cells["numpy"]["status"] == "ok"
    assert cells["hungry"]["status"] == "error"
    assert cells["hungry"]["reason"].startswith("out of memory (MemoryError) Unable to allocate")


def test_compare_warns_about_a_busier_machine_and_relative_mode(tmp_path) -> None:
    old = document([cell("a", noisy(1.0, 5, 0), reference=True), cell("b", noisy(2.0, 5, 1))])
    new = document([cell("a", noisy(1.5, 5, 2), reference=True), cell("b", noisy(3.0, 5, 3))])
    (tmp_path / "old.json").write_text(json.dumps(old))
    (tmp_path / "new.json").write_text(json.dumps(new))
    plain = wg("compare", str(tmp_path / "old.json"), str(tmp_path / "new.json"))
    assert plain.exit_code == 1
    text = " ".join(plain.output.split())
    assert "warning: the reference implementations themselves changed by x1.4" in text
    relative = wg("compare", str(tmp_path / "old.json"), str(tmp_path / "new.json"), "--relative")
    assert relative.exit_code == 0, relative.output
    assert "each relative to its reference" in relative.output
    assert "│ 2x" in relative.output or "2x " in relative.output
