"""``wg bench run --against REV`` on a tiny git repository: a toy library, one toy suite.

The library's ``work()`` sleeps ``DELAY`` seconds; one commit sleeps 2 ms, another 10 ms (5x),
so the side that runs the slow revision's code can only be told apart by importing that code.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from wg_bench.against import member_sources

from wg.cli import main

PYPROJECT = """\
[project]
name = "toy-workspace"
version = "0"

[tool.uv.workspace]
members = ["lib"]
"""
LIBRARY = "import time\n\nDELAY = {delay}\n\n\ndef work():\n    time.sleep(DELAY)\n    return 1.0\n"
SUITE = """\
import time

import toylib


class Work:
    reference = "python"
    tolerance = 0.0

    def impl_python(self):
        time.sleep(0.004)
        return 1.0

    def impl_lib(self):
        return toylib.work()
"""
FAST, SLOW = LIBRARY.format(delay=0.002), LIBRARY.format(delay=0.010)
OPTIONS = ("--samples", "6", "--rounds", "1", "--min-time", "0.01", "--min-effect", "0.5")


def _git(repo: Path, *args: str) -> str:
    command = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.org"]
    return subprocess.run([*command, *args], check=True, capture_output=True, text=True).stdout


def _commit(repo: Path, files: dict[str, str], message: str) -> None:
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    _git(repo, "add", *files)
    _git(repo, "commit", "-q", "-m", message)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """Two commits: a fast library (HEAD~1), then the same library 5x slower (HEAD)."""
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    _commit(repo, {"pyproject.toml": PYPROJECT, "lib/src/toylib/__init__.py": FAST,
                   "suites/speed.py": SUITE}, "fast")  # fmt: skip
    _commit(repo, {"lib/src/toylib/__init__.py": SLOW}, "slow")
    return repo


@pytest.fixture
def temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private temporary folder, to see that the worktree and cell folders are removed."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def wg(repo: Path, *args: str):
    return CliRunner().invoke(main, ["bench", "run", "--suites", str(repo / "suites"), *args])


def _worktrees(repo: Path) -> int:
    listing = _git(repo, "worktree", "list", "--porcelain").splitlines()
    return sum(line.startswith("worktree ") for line in listing)


@pytest.mark.parametrize("suites", ["current", "rev"])
def test_a_slower_working_tree_is_reported_and_fails(repo: Path, temp: Path, suites: str) -> None:
    result = wg(repo, "speed", "--against", "HEAD~1", "--against-suites", suites, *OPTIONS)
    assert result.exit_code == 1, result.output
    rev = _git(repo, "rev-parse", "HEAD~1").strip()[:10]
    lines = [line for line in result.output.splitlines() if "│ speed.Work" in line]
    assert len(lines) == 1, result.output
    assert " lib " in lines[0]
    assert "slower" in lines[0]
    assert f"changes: the working tree / HEAD~1 ({rev})" in result.output
    assert result.output.rstrip().endswith(
        "Error: 1 cell(s) got significantly slower than at HEAD~1 (by >= 50%, p < 0.05) or broke"
    )
    assert _worktrees(repo) == 1
    assert list(temp.iterdir()) == []


def test_a_faster_uncommitted_change_passes(repo: Path, temp: Path) -> None:
    (repo / "lib/src/toylib/__init__.py").write_text(FAST)  # the working tree undoes the slowdown
    result = wg(repo, "speed", "--against", "HEAD", *OPTIONS)
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if "│ speed.Work" in line]
    assert len(lines) == 1, result.output
    assert " lib " in lines[0]
    assert "faster" in lines[0]
    assert (
        "note: the working tree side includes uncommitted changes to 1 file(s) under member "
        "sources (e.g. lib/src/toylib/__init__.py): they are part of what is measured"
    ) in " ".join(result.output.split())
    assert "2 cell(s) compared: 1 significant change(s), 0 not compared" in result.output
    assert _worktrees(repo) == 1
    assert list(temp.iterdir()) == []


def test_a_revision_whose_library_does_not_import_skips_its_cells(repo: Path, temp: Path) -> None:
    _commit(repo, {"lib/src/toylib/__init__.py": "def work(:\n"}, "broken")
    _commit(repo, {"lib/src/toylib/__init__.py": FAST}, "fixed")
    result = wg(repo, "speed", "--against", "HEAD~1", *OPTIONS)
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "skipped 2 cell(s) at HEAD~1 (" in text
    assert "the suite does not load: importing suite speed failed at " in text
    assert "lib/src/toylib/__init__.py:1: SyntaxError: " in text
    assert "Traceback" not in result.output
    assert "2 cell(s) compared: 0 significant change(s), 2 not compared" in text
    assert _worktrees(repo) == 1
    assert list(temp.iterdir()) == []


def test_a_library_the_revision_lacks_is_not_taken_from_today(
    repo: Path, temp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At HEAD~1 the library is no workspace member; an installed copy of today's (here: on
    PYTHONPATH) would be imported in its place, so the revision's cells are skipped."""
    _commit(repo, {"pyproject.toml": PYPROJECT.replace('["lib"]', "[]")}, "no members")
    _commit(repo, {"pyproject.toml": PYPROJECT}, "lib is a member again")
    monkeypatch.setenv("PYTHONPATH", str(repo / "lib" / "src"))
    result = wg(repo, "speed", "--against", "HEAD~1", *OPTIONS)
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert (
        f"the suite does not load: toylib was imported from {repo}/lib/src/toylib/__init__.py, "
        "not from HEAD~1 ("
    ) in text
    assert "skipped 2 cell(s) at HEAD~1 (" in text
    assert _worktrees(repo) == 1


def test_a_revision_with_a_broken_pyproject(repo: Path, temp: Path) -> None:
    _commit(repo, {"pyproject.toml": "[tool.uv.workspace]\nmembers = [\n"}, "broken toml")
    sha = _git(repo, "rev-parse", "HEAD").strip()[:10]
    result = wg(repo, "speed", "--against", "HEAD")
    assert result.exit_code == 2
    assert result.output.splitlines()[-1] == (
        f"Error: --against: cannot read the workspace members: HEAD ({sha}):pyproject.toml: "
        "invalid TOML: Invalid value (at end of document)"
    )
    assert _worktrees(repo) == 1
    assert list(temp.iterdir()) == []


def test_revision_suites_that_do_not_exist(repo: Path, temp: Path) -> None:
    _git(repo, "mv", "suites", "benchmarks")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@e", "commit", "-q", "-m", "rename")
    _git(repo, "mv", "benchmarks", "suites")
    result = wg(repo, "speed", "--against", "HEAD", "--against-suites", "rev")
    assert result.exit_code == 2
    assert result.output.splitlines()[-1] == (
        "Error: --against-suites rev: HEAD has no suites folder; use the working tree's suites "
        "(--against-suites current)"
    )
    assert _worktrees(repo) == 1
    assert list(temp.iterdir()) == []


def test_an_unknown_revision_is_one_line(repo: Path, temp: Path) -> None:
    result = wg(repo, "--against", "no-such-branch")
    assert result.exit_code == 2
    assert result.output.splitlines()[-1] == (
        f"Error: --against 'no-such-branch': no such commit in {repo}; name a commit, branch or "
        "tag (`git log --oneline` lists them)"
    )
    assert wg(repo, "--against", "--help").exit_code == 2  # an option is not a revision
    assert list(temp.iterdir()) == []


def test_suites_outside_a_repository(tmp_path: Path) -> None:
    (tmp_path / "suites").mkdir()
    result = wg(tmp_path, "--against", "HEAD")
    assert result.exit_code == 2
    last = result.output.splitlines()[-1]
    assert last.startswith(f"Error: --against: {tmp_path / 'suites'} is not inside a git ")
    assert last.endswith("run from a clone, or point --suites at a suites folder inside one")


def test_git_missing(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "no-bin"))
    result = wg(repo, "--against", "HEAD")
    assert result.exit_code == 2
    assert result.output.splitlines()[-1] == (
        "Error: --against needs git, which is not on PATH; install git"
    )


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--json", "r.json"), "Error: --against writes no results files: drop --json/--history, "
         "or run each side on its own and use `wg bench compare OLD NEW`"),
        (("--executor", "dask", "--scheduler", "tcp://x:1"),
         "Error: --against runs on this machine only: drop --executor dask"),
    ],
)  # fmt: skip
def test_options_that_do_not_go_with_against(repo: Path, extra, message) -> None:
    result = wg(repo, "--against", "HEAD", *extra)
    assert result.exit_code == 2
    assert result.output.splitlines()[-1] == message


def test_member_sources_follow_the_workspace(repo: Path) -> None:
    assert member_sources(repo) == [repo / "lib" / "src"]
    (repo / "pyproject.toml").write_text('[tool.uv.workspace]\nmembers = "lib"\n')
    with pytest.raises(Exception, match=r"members must be a list of folder globs"):
        member_sources(repo)


def test_ctrl_c_removes_the_worktree(repo: Path, tmp_path: Path) -> None:
    _commit(repo, {"lib/src/toylib/__init__.py": LIBRARY.format(delay=300)}, "a library that hangs")
    temp = tmp_path / "tmp"
    temp.mkdir()
    command = [sys.executable, "-m", "wg", "bench", "run", "speed", "--against", "HEAD~1",
               "--suites", str(repo / "suites"), "--quick", "--timeout", "120"]  # fmt: skip
    process = subprocess.Popen(command, env={**os.environ, "TMPDIR": str(temp)},
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not list(temp.glob("wg-bench-cell-*")):
            assert time.monotonic() < deadline, "the run never started a cell"
            assert process.poll() is None, process.communicate()[0].decode()
            time.sleep(0.2)
        assert _worktrees(repo) == 2
        process.send_signal(signal.SIGINT)
        output = process.communicate(timeout=60)[0].decode()
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, output
    assert "interrupted by SIGINT: nothing compared" in output
    assert "Traceback" not in output
    assert list(temp.iterdir()) == []
    assert _worktrees(repo) == 1
