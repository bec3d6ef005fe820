"""Hostile input to ``wg bench`` (issue 18): damaged results files, unwritable outputs, signals.

Every case must end with one line that names the user's file (and the cell, where there is one),
with exit status 1 (or 2 for a usage error), never a traceback and never a wrong figure.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wg.cli import main

sys.path.insert(0, str(Path(__file__).parent))
from bench_documents import cell, document, noisy

FIX = "re-run `wg bench run --json` to get a valid results file"
NOT_RESULTS = (
    "pass a results file written by `wg bench run --json` (this one may be truncated or edited)"
)
CELL_B = "results[1] (toy.Sum(n=10) b [cpu])"


def wg(*args: str):
    return CliRunner().invoke(main, ["bench", *args])


def good() -> dict[str, Any]:
    return document([cell("numpy", noisy(1.0, 5, 0), reference=True), cell("b", noisy(1.0, 5, 1))])


def write(path: Path, content: str | bytes) -> Path:
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def edited(tmp_path: Path, edit: Any) -> Path:
    doc = good()
    edit(doc)
    return write(tmp_path / "bad.json", json.dumps(doc))


def assert_one_line_error(result: Any, message: str) -> None:
    assert result.exit_code == 1, result.output
    assert result.output == f"Error: {message}\n"
    assert result.exception is None or isinstance(result.exception, SystemExit)


def samples(values: Any) -> Any:
    return lambda d: d["results"][1]["seconds"].update(samples=values)


TIME = "a time must be a number of seconds above 0 and at most 1e+06; " + FIX


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (samples(["a"]), f"{CELL_B}.seconds.samples[0] is 'a'; {TIME}"),
        (samples([-1.0, 1.0]), f"{CELL_B}.seconds.samples[0] is -1.0; {TIME}"),
        (samples([1.0, 1e308]), f"{CELL_B}.seconds.samples[1] is 1e+308; {TIME}"),
        (samples([2e6, 1.0]), f"{CELL_B}.seconds.samples[0] is 2000000.0; {TIME}"),
        (samples([0.0, 1.0]), f"{CELL_B}.seconds.samples[0] is 0.0; {TIME}"),
        (samples([True, 1.0]), f"{CELL_B}.seconds.samples[0] is True; {TIME}"),
        (samples([None]), f"{CELL_B}.seconds.samples[0] is None; {TIME}"),
        (samples([[1.0]]), f"{CELL_B}.seconds.samples[0] is [1.0]; {TIME}"),
        (samples("x" * 100),
         f"{CELL_B}.seconds.samples is missing or not a list of numbers; {FIX}"),
        (samples([]), f"{CELL_B}.seconds.samples is empty but the status is 'ok'; {FIX}"),
        (lambda d: d["results"][1]["seconds"].update(median=-3.0),
         f"{CELL_B}.seconds.median is -3.0; {TIME}"),
        (lambda d: d["results"][1]["seconds"].update(ci95=["a", "b"]),
         f"{CELL_B}.seconds.ci95[0] is 'a'; {TIME}"),
        (lambda d: d["results"][1]["seconds"].update(ci95=[1.0]),
         f"{CELL_B}.seconds.ci95 is missing or not a list of 2 numbers; {FIX}"),
        (lambda d: d["results"][1].update(ratio="x"), f"{CELL_B}.ratio has type str"),
        (lambda d: d["results"][1].update(ratio={"value": "x", "ci95": [1, 2]}),
         f"{CELL_B}.ratio must be {{'value': number, 'ci95': [low, high]}}; {FIX}"),
        (lambda d: d["results"][1].update(timer=5), f"{CELL_B}.timer has type int"),
        (lambda d: d["results"][1].update(timer="gpu"),
         f"{CELL_B}.timer is 'gpu'; expected one of ('wall', 'cpu')"),
        (lambda d: d["results"][1].update(first_call_seconds="x"),
         f"{CELL_B}.first_call_seconds has type str"),
        (lambda d: d["results"][1].update(description=[1]), f"{CELL_B}.description has type list"),
        (lambda d: d["results"][1].update(params=[1]), "results[1].params has type list"),
        (lambda d: d["machine"].update(git="x"), f"machine.git has type str; {FIX}"),
        (lambda d: d["machine"]["git"].update(commit=5), f"machine.git.commit has type int; {FIX}"),
        (lambda d: d["machine"].update(blas=["x"]),
         f"machine.blas must be a list of objects; {FIX}"),
        (lambda d: d.update(created=5), f"created has type int; {FIX}"),
        (lambda d: d.update(headline=[{"suite": 1}]), "headline[0].suite has type int"),
        (lambda d: d.update(machine=[]), "top-level 'machine' must be a JSON dict"),
    ],
)  # fmt: skip
@pytest.mark.parametrize("command", ["compare", "report"])
def test_damaged_results_are_refused_naming_file_and_cell(tmp_path, command, edit, message) -> None:
    ok = write(tmp_path / "ok.json", json.dumps(good()))
    bad = edited(tmp_path, edit)
    if command == "compare":
        result = wg("compare", str(ok), str(bad))
    else:
        result = wg("report", str(ok), str(bad), "--out", str(tmp_path / "site"))
    assert_one_line_error(result, f"{bad}: {message}")


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("[" * 5000 + "]" * 5000, "nested more than 200 levels deep"),
        ('{"schema": "wg-bench/1", "x": ' + "[" * 3000 + "]" * 3000 + "}",
         "nested more than 200 levels deep"),
        (b"\xd5\xff\x00binary", "not UTF-8 text (byte 0)"),
        ('{"a": "caf\u00e9"}'.encode("latin-1"), "not UTF-8 text (byte 10)"),
        (b"", "1: invalid JSON: Expecting value (column 1)"),
        ('{"a": 1}\x00', "1: invalid JSON: Extra data (column 9)"),
        ('{"schema": "wg-bench/1",\n "results": [', "2: invalid JSON: Expecting value (column 14)"),
    ],
)  # fmt: skip
@pytest.mark.parametrize("command", ["compare", "report"])
def test_unparsable_results_are_one_line(tmp_path, command, content, problem) -> None:
    bad = write(tmp_path / "bad.json", content)
    ok = write(tmp_path / "ok.json", json.dumps(good()))
    args = ["compare", str(bad), str(ok)] if command == "compare" else [
        "report", str(bad), "--out", str(tmp_path / "site")]  # fmt: skip
    where = f"{bad}:" if problem[0].isdigit() else f"{bad}: "
    assert_one_line_error(wg(*args), f"{where}{problem}; {NOT_RESULTS}")


def test_nan_and_infinity_samples_are_refused(tmp_path) -> None:
    ok = write(tmp_path / "ok.json", json.dumps(good()))
    for token in ("NaN", "Infinity", "-Infinity"):
        text = json.dumps(good()).replace('"samples": [', f'"samples": [{token}, ', 2)
        bad = write(tmp_path / "bad.json", text)
        result = wg("compare", str(ok), str(bad))
        shown = {"NaN": "nan", "Infinity": "inf", "-Infinity": "-inf"}[token]
        where = "results[0] (toy.Sum(n=10) numpy [cpu])"
        assert_one_line_error(result, f"{bad}: {where}.seconds.samples[0] is {shown}; {TIME}")


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_any_edit_of_a_results_file_is_read_or_refused(tmp_path, data) -> None:
    """Truncations, byte flips and field edits: a SchemaError or a valid document, nothing else."""
    from wg_bench.schema import SchemaError, load

    text = json.dumps(good(), indent=1).encode()
    kind = data.draw(st.sampled_from(["truncate", "flip", "value"]))
    if kind == "truncate":
        text = text[: data.draw(st.integers(0, len(text) - 1))]
    elif kind == "flip":
        at = data.draw(st.integers(0, len(text) - 1))
        text = text[:at] + bytes([text[at] ^ data.draw(st.integers(1, 255))]) + text[at + 1 :]
    else:
        doc = good()
        junk = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=5),
                         st.lists(st.integers(), max_size=2))  # fmt: skip
        target = data.draw(st.sampled_from([doc, doc["machine"], doc["results"][1],
                                            doc["results"][1]["seconds"]]))  # fmt: skip
        target[data.draw(st.sampled_from(sorted(target)))] = data.draw(junk)
        text = json.dumps(doc).encode()
    path = write(tmp_path / "r.json", text)
    try:
        doc = load(path)
    except SchemaError as exc:
        message = str(exc)
    else:
        message = ""
    if message:
        assert message.startswith(str(path))
        assert "\n" not in message
        return
    from wg_bench.compare import compare

    compare(doc, doc)  # a document that loads is one every reader can use


def test_report_into_an_unwritable_folder_is_one_line(tmp_path) -> None:
    ok = write(tmp_path / "ok.json", json.dumps(good()))
    write(tmp_path / "file", "x")
    result = wg("report", str(ok), "--out", str(tmp_path / "file" / "rep"))
    assert_one_line_error(
        result,
        f"cannot write {tmp_path / 'file' / 'rep'}: Not a directory (a part of the path is not a "
        "folder: check the path)",
    )


def test_report_into_a_read_only_file_system_is_one_line(tmp_path, monkeypatch) -> None:
    import errno

    ok = write(tmp_path / "ok.json", json.dumps(good()))

    def read_only(*args: Any, **kwargs: Any) -> None:
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(Path, "mkdir", read_only)
    result = wg("report", str(ok), "--out", str(tmp_path / "ro" / "rep"))
    assert_one_line_error(
        result,
        f"cannot write {tmp_path / 'ro' / 'rep'}: Read-only file system (the file system is "
        "read-only: choose a writable folder)",
    )


def test_report_never_overwrites_its_input(tmp_path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    results = write(site / "summary.md", json.dumps(good()))  # a results file, oddly named
    before = results.read_bytes()
    result = wg("report", str(results), "--out", str(site))
    assert_one_line_error(
        result, f"cannot write {results}: it is also an input of this command (choose another "
        "output path)"
    )  # fmt: skip
    assert results.read_bytes() == before


def run_args(toy_dir: Path, *extra: str) -> list[str]:
    return ["run", "toy.Sum", "--impl", "numpy", "--suites", str(toy_dir), "--quick",
            "--min-time", "0.01", "--no-history", *extra]  # fmt: skip


def test_json_through_a_symlink_writes_its_target(toy_dir, tmp_path) -> None:
    target = write(tmp_path / "target.json", "old")
    (tmp_path / "link.json").symlink_to(target)
    result = wg(*run_args(toy_dir, "--json", str(tmp_path / "link.json")))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "link.json").is_symlink()
    assert json.loads(target.read_text())["schema"] == "wg-bench/2"


def test_json_equal_to_a_suite_file_is_refused_before_running(toy_dir, tmp_path) -> None:
    suites = tmp_path / "suites"
    suites.mkdir()
    toy = write(suites / "toy.py", (toy_dir / "toy.py").read_bytes())
    result = wg(*run_args(suites, "--json", str(toy)))
    assert_one_line_error(
        result, f"cannot write {toy}: it is also an input of this command (choose another output "
        "path)"
    )  # fmt: skip
    assert toy.read_bytes() == (toy_dir / "toy.py").read_bytes()


def test_json_under_a_file_is_refused_before_running(toy_dir, tmp_path) -> None:
    write(tmp_path / "file", "x")
    result = wg(*run_args(toy_dir, "--json", str(tmp_path / "file" / "r.json")))
    assert result.exit_code == 1, result.output
    assert result.output.startswith(f"Error: cannot write {tmp_path / 'file' / 'r.json'}: ")
    assert result.output.count("\n") == 1


def test_json_to_a_fifo_is_written_in_place(toy_dir, tmp_path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = subprocess.Popen(["sh", "-c", f"while :; do cat '{fifo}'; done"],
                              stdout=subprocess.PIPE, start_new_session=True)  # fmt: skip
    try:
        result = wg(*run_args(toy_dir, "--json", str(fifo)))
    finally:
        os.killpg(reader.pid, signal.SIGKILL)
        received.append(reader.communicate()[0])
    assert result.exit_code == 0, result.output
    assert fifo.is_fifo()
    assert b'"schema": "wg-bench/2"' in received[0]


def _children(pid: int) -> list[int]:
    import psutil

    try:
        return [p.pid for p in psutil.Process(pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def test_a_signal_while_a_cell_starts_is_held_until_it_can_be_killed() -> None:
    from wg_bench.interruption import Interrupted, deferred, stop_signals

    reached = []

    def start_a_cell() -> None:
        with deferred():
            os.kill(os.getpid(), signal.SIGTERM)
            reached.append("the block ran to its end")

    with stop_signals() as stop:
        stop.armed = True
        with pytest.raises(Interrupted) as info:
            start_a_cell()
    assert reached == ["the block ran to its end"]
    assert info.value.signum == signal.SIGTERM
    assert stop.armed is False


@pytest.mark.parametrize(
    ("signum", "status"), [(signal.SIGTERM, 143), (signal.SIGINT, 130), (signal.SIGHUP, 129)]
)
def test_stop_signal_kills_the_cell_and_keeps_finished_cells(toy_dir, tmp_path, signum,
                                                             status) -> None:  # fmt: skip
    """The hanging cell's process and folder go; the reference's finished cell stays."""
    import psutil

    temp = tmp_path / "tmp"
    temp.mkdir()
    out = tmp_path / "r.json"
    command = [sys.executable, "-m", "wg", "bench", "run", "toy.Failing", "--impl", "hangs",
               "--suites", str(toy_dir), "--quick", "--min-time", "0.01", "--timeout", "120",
               "--no-history", "--json", str(out)]  # fmt: skip
    process = subprocess.Popen(command, env={**os.environ, "TMPDIR": str(temp)},
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not (out.exists() and list(temp.glob("wg-bench-cell-*"))):
            assert time.monotonic() < deadline, "the run never reached the hanging cell"
            assert process.poll() is None, process.communicate()[0].decode()
            time.sleep(0.2)
        time.sleep(0.5)
        workers = _children(process.pid)
        assert workers, "no cell process is running"
        process.send_signal(signum)
        output = process.communicate(timeout=60)[0].decode()
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == status, output
    name = signal.Signals(signum).name
    assert f"interrupted by {name}: 1 finished cell(s) kept" in output
    assert "Traceback" not in output
    assert not [pid for pid in workers if psutil.pid_exists(pid)
                and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE]  # fmt: skip
    assert sorted(p.name for p in temp.iterdir()) == []
    doc = json.loads(out.read_text())
    assert doc["complete"] is False
    assert [(c["implementation"], c["status"]) for c in doc["results"]] == [("numpy", "ok")]
