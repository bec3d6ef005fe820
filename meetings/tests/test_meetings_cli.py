"""``wg meetings`` through the root CLI: exit codes and output of every command."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest
from click.testing import CliRunner
from wg_meetings.config import load_config
from wg_meetings.ics import meeting_for

from wg.cli import main

BERLIN = ZoneInfo("Europe/Berlin")

EXPECTED = Path(__file__).parent / "data" / "rust_ml_corpus_findings.txt"


def _run(*args: str | Path) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["meetings", *map(str, args)])
    return result.exit_code, result.output


@pytest.mark.parametrize("command", [[], ["new"], ["parse"], ["check"], ["index"], ["ics"]])
def test_help(command: list[str]) -> None:
    code, output = _run(*command, "--help")
    assert code == 0
    assert output.startswith("Usage: main meetings")


def test_new_dry_run_then_write_then_refuse(group: Path) -> None:
    day = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    code, output = _run("--config", group, "new", "--date", day, "--dry-run")
    assert code == 0
    assert output.startswith("# Test WG Meeting 00001\n\n## Meeting Info\n\nDate: " + day)
    notes = group.parent / "notes"
    assert list(notes.iterdir()) == []
    code, output = _run("--config", group, "new", "--date", day)
    written = notes / f"meeting_00001_{day.replace('-', '')}.md"
    assert (code, output) == (0, f"wrote {written}\n")
    code, output = _run("--config", group, "new", "--date", day)
    assert code == 1
    assert "already exists" in output


def test_new_bad_input(group: Path, tmp_path: Path) -> None:
    code, output = _run("--config", group, "new", "--date", "2001-01-01")
    assert code == 1
    assert "Error: --date 2001-01-01 is in the past" in output
    code, output = _run("--config", group, "new", "--date", "next week")
    assert code == 2
    bad = tmp_path / "bad.yaml"
    bad.write_text("group: [x\n", encoding="utf-8")
    code, output = _run("--config", bad, "new")
    assert code == 1
    assert output == (
        f"Error: {bad}:2: invalid YAML: expected ',' or ']', but got '<stream end>'"
        " (check the indentation, quoting and colons on that line)\n"
    )
    assert list((group.parent / "notes").iterdir()) == []


@pytest.mark.corpus
def test_parse(corpus: Path, tmp_path: Path) -> None:
    code, output = _run("parse", "--json", corpus / "meeting_00016_20201215.md")
    assert code == 0
    [meeting] = json.loads(output)
    assert {
        "number",
        "date",
        "title",
        "participants",
        "agenda",
        "minutes",
        "actions",
        "cancelled",
        "source",
    } <= set(meeting)
    assert (meeting["number"], meeting["date"], meeting["cancelled"]) == (16, "2020-12-15", False)
    assert meeting["actions"][0] == {
        "text": "Add https://github.com/wsmoses to tsuga",
        "owner": None,
        "done": True,
        "since": None,
    }
    code, output = _run("parse", corpus / "meeting_00013_20201103.md")
    assert (code, output) == (0, f"{corpus / 'meeting_00013_20201103.md'}: meeting 13, cancelled\n")
    code, output = _run("parse", corpus / "README.md")
    assert code == 1
    assert f"Error: {corpus / 'README.md'}:1: not meeting notes" in output


@pytest.mark.corpus
def test_check_corpus(corpus: Path, tmp_path: Path) -> None:
    code, output = _run("check", corpus, "--expect", EXPECTED)
    assert (code, output) == (0, f"{corpus}: exactly the 863 expected findings\n")
    fewer = tmp_path / "fewer.txt"
    lines = EXPECTED.read_text(encoding="utf-8").splitlines()
    fewer.write_text("\n".join([*lines[:-1], "meeting_00099_20990101.md:1: error[x]: y"]))
    code, output = _run("check", corpus, "--expect", fewer)
    assert code == 1
    assert output.splitlines() == [
        f"+ {lines[-1]} (unexpected)",
        "- meeting_00099_20990101.md:1: error[x]: y (expected, not found)",
        f"2 difference(s) from {fewer}",
    ]
    code, output = _run("check", corpus)
    assert code == 1
    assert output.endswith(f"{corpus}: 24 errors, 839 warnings\n")
    code, output = _run("check", corpus, "--json")
    assert code == 1
    assert len(json.loads(output)) == 863


def test_index_check_and_ics(group: Path) -> None:
    notes = group.parent / "notes"
    (notes / "meeting_00001_20270310.md").write_text(
        "# Test WG Meeting 00001\n## Meeting Info\nDate: 2027-03-10\n"
        "Start time: 17:00 Europe/Berlin (16:00 UTC)\n## Participants\n## Agenda\n- Roadmap\n"
        "## Minutes\n## Actions\n",
        encoding="utf-8",
    )
    assert _run("--config", group, "index") == (0, f"updated {group.parent / 'README.md'}\n")
    assert _run("--config", group, "index")[1].startswith("up to date:")
    assert _run("--config", group, "check") == (0, f"{notes}: 0 errors, 0 warnings\n")
    code, output = _run("--config", group, "ics", "1")
    assert code == 0, output
    event = icalendar.Calendar.from_ical(output).walk("VEVENT")[0]
    assert event["SUMMARY"] == "Test WG Meeting 00001"
    assert event.decoded("DTSTART").isoformat() == "2027-03-10T17:00:00+01:00"
    assert event.decoded("DTEND") - event.decoded("DTSTART") == dt.timedelta(minutes=90)
    assert event["UID"] == "test-wg-meeting-00001@wg-meetings"
    assert "Roadmap" in event["DESCRIPTION"]
    out = group.parent / "next.ics"
    assert _run("--config", group, "ics", "-o", out) == (0, f"wrote {out}\n")
    upcoming = icalendar.Calendar.from_ical(out.read_bytes()).walk("VEVENT")[0]
    assert upcoming["SUMMARY"] == "Test WG Meeting 00001"  # the schedule starts 2027-03-10
    after = meeting_for(load_config(group), None, today=dt.date(2027, 3, 11))
    assert (after.number, after.start) == (2, dt.datetime(2027, 3, 24, 17, tzinfo=BERLIN))
    code, output = _run("--config", group, "ics", "9")
    assert code == 1
    assert "no notes for meeting 9" in output


def test_bad_notes_files_are_clear_errors(group: Path, tmp_path: Path) -> None:
    broken = group.parent / "notes" / "meeting_00001_20270310.md"
    broken.write_bytes(b"# Test WG Meeting 00001\n## Minutes\n- caf\xe9\n")
    code, output = _run("parse", broken)
    assert code == 1
    assert f"Error: {broken}:3: invalid UTF-8 (byte 0xe9 at column 6)" in output
    code, output = _run("--config", group, "new", "--dry-run")
    assert code == 1
    assert f"Error: {broken}:3: invalid UTF-8" in output
    code, output = _run("check", tmp_path / "missing")
    assert (code, output) == (
        1,
        f"Error: {tmp_path / 'missing'}: no such folder; pass the folder that holds meeting_*.md\n",
    )


def test_ics_into_a_missing_folder(group: Path) -> None:
    target = group.parent / "no" / "such" / "next.ics"
    code, output = _run("--config", group, "ics", "-o", target)
    assert (code, output) == (
        1,
        f"Error: cannot write {target}: its folder does not exist (create {target.parent} first)\n",
    )
