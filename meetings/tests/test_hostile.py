"""Hostile input to ``wg meetings`` (issue 18): every case ends in a one-line error or a finding.

Each test asserts the exit code and the exact message; none may print a traceback.
"""

from __future__ import annotations

import datetime as dt
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from wg_meetings.config import load_config
from wg_meetings.errors import MeetingsError
from wg_meetings.new import new_meeting, write_new

from wg.cli import main

NOTES_1 = """\
# Test WG Meeting 00001
## Meeting Info
Date: 2027-03-10
Start time: 17:00 Europe/Berlin (16:00 UTC)
## Participants
## Agenda
- Roadmap
## Minutes
## Actions
"""


def _run(*args: str | Path) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["meetings", *map(str, args)])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return result.exit_code, result.output


@pytest.fixture
def first(group: Path) -> Path:
    """The group's notes of meeting 1 (the schedule's first day, 2027-03-10)."""
    path = group.parent / "notes" / "meeting_00001_20270310.md"
    path.write_text(NOTES_1, encoding="utf-8")
    return path


# --- item 2: an output that is one of the inputs is refused ---------------------------------


def test_ics_onto_a_notes_file_is_refused(group: Path, first: Path) -> None:
    code, output = _run("--config", group, "ics", "1", "-o", first)
    assert (code, output) == (
        1,
        f"Error: cannot write {first}: it is also an input of this command "
        "(choose another output path)\n",
    )
    assert first.read_text(encoding="utf-8") == NOTES_1


def test_ics_onto_the_config_through_a_link_is_refused(group: Path, first: Path) -> None:
    link = group.parent / "next.ics"
    link.symlink_to(group)
    before = group.read_bytes()
    code, output = _run("--config", group, "ics", "-o", link)
    assert (code, output) == (
        1,
        f"Error: cannot write {link}: it is also an input of this command "
        "(choose another output path)\n",
    )
    assert group.read_bytes() == before


def test_index_into_a_readme_that_is_a_notes_file_is_refused(group: Path, first: Path) -> None:
    readme = group.parent / "README.md"
    readme.symlink_to(first)
    code, output = _run("--config", group, "index")
    assert (code, output) == (
        1,
        f"Error: cannot write {readme}: it is also an input of this command "
        "(choose another output path)\n",
    )
    assert first.read_text(encoding="utf-8") == NOTES_1


# --- item 1: what the output path is, is kept -----------------------------------------------


def test_ics_through_a_symlink_writes_its_target(group: Path, first: Path) -> None:
    target = group.parent / "calendar.ics"
    target.write_text("old", encoding="utf-8")
    link = group.parent / "next.ics"
    link.symlink_to(target)
    assert _run("--config", group, "ics", "1", "-o", link) == (0, f"wrote {link}\n")
    assert link.is_symlink()
    assert target.read_text(encoding="utf-8").startswith("BEGIN:VCALENDAR")


def test_ics_to_dev_null_keeps_the_device(group: Path, first: Path) -> None:
    assert _run("--config", group, "ics", "1", "-o", "/dev/null") == (0, "wrote /dev/null\n")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


# --- item 14: writes that fail ----------------------------------------------------------------

FULL = "No space left on device (the disk is full: free some space or write to another disk)"


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")
def test_ics_onto_a_full_disk(group: Path, first: Path) -> None:
    code, output = _run("--config", group, "ics", "1", "-o", "/dev/full")
    assert (code, output) == (1, f"Error: cannot write /dev/full: {FULL}\n")


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")
@pytest.mark.parametrize("command", [["ics", "1"], ["new", "--dry-run"], ["check"]])
def test_stdout_on_a_full_disk(group: Path, first: Path, command: list[str]) -> None:
    script = (
        "from wg_io.streams import run_command; from wg.cli import main; run_command(main, 'wg')"
    )
    with open("/dev/full", "wb") as full:
        done = subprocess.run(
            [sys.executable, "-c", script, "meetings", "--config", str(group), *command],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            check=False,
        )
    assert (done.returncode, done.stderr) == (1, f"wg: cannot write standard output: {FULL}\n")


# --- item 20: modes -------------------------------------------------------------------------


@pytest.fixture
def umask_027() -> Iterator[None]:
    old = os.umask(0o027)
    try:
        yield
    finally:
        os.umask(old)


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o600])
def test_index_keeps_the_readme_mode(group: Path, first: Path, mode: int) -> None:
    readme = group.parent / "README.md"
    readme.write_text("# Test WG\n", encoding="utf-8")
    readme.chmod(mode)
    assert _run("--config", group, "index") == (0, f"updated {readme}\n")
    assert stat.S_IMODE(readme.stat().st_mode) == mode


def test_new_notes_and_a_new_readme_take_the_umask(group: Path, umask_027: None) -> None:
    code, output = _run("--config", group, "new", "--date", "2099-01-07")
    written = group.parent / "notes" / "meeting_00001_20990107.md"
    assert (code, output) == (0, f"wrote {written}\n")
    assert stat.S_IMODE(written.stat().st_mode) == 0o640
    readme = group.parent / "README.md"
    assert _run("--config", group, "index") == (0, f"updated {readme}\n")
    assert stat.S_IMODE(readme.stat().st_mode) == 0o640
    assert sorted(p.name for p in group.parent.rglob("*")) == [
        "README.md",
        "meeting_00001_20990107.md",
        "notes",
        "wg.yaml",
    ]


def test_new_never_writes_through_a_dangling_link(group: Path) -> None:
    link = group.parent / "notes" / "meeting_00001_20990107.md"
    link.symlink_to(group.parent / "elsewhere.md")
    code, output = _run("--config", group, "new", "--date", "2099-01-07")
    assert (code, output) == (
        1,
        f"Error: {link}: cannot read the file: No such file or directory\n",
    )
    assert not (group.parent / "elsewhere.md").exists()


def test_write_new_refuses_a_dangling_link(group: Path) -> None:
    notes = new_meeting(load_config(group), dt.date(2099, 1, 7), today=dt.date(2099, 1, 1))
    notes.path.symlink_to(group.parent / "elsewhere.md")
    with pytest.raises(MeetingsError) as raised:
        write_new(notes)
    assert str(raised.value) == (
        f"{notes.path}: already exists; it is never overwritten (edit it instead)"
    )
    assert not (group.parent / "elsewhere.md").exists()


# --- reading: only regular files, of a bounded size -----------------------------------------


def test_config_that_is_a_device_is_refused_unread(tmp_path: Path) -> None:
    code, output = _run("--config", "/dev/zero", "new", "--dry-run")
    assert (code, output) == (1, "Error: /dev/zero: not a regular file; pass a text file\n")


def test_a_fifo_among_the_notes_is_a_finding_not_a_hang(tmp_path: Path) -> None:
    fifo = tmp_path / "meeting_00001_20270310.md"
    os.mkfifo(fifo)
    code, output = _run("check", tmp_path)
    assert (code, output.splitlines()) == (
        1,
        [
            f"{fifo}:1: error[not-notes]: not a regular file; pass a text file",
            f"{tmp_path}: 1 error, 0 warnings",
        ],
    )


def test_a_huge_notes_file_is_refused(tmp_path: Path) -> None:
    huge = tmp_path / "meeting_00001_20270310.md"
    huge.write_bytes(b"# WG Meeting 00001\n" + b"x" * (4 * 2**20))
    code, output = _run("parse", huge)
    assert (code, output) == (
        1,
        f"Error: {huge}: larger than 4 MiB; notes, agendas and wg.yaml are small text\n",
    )
