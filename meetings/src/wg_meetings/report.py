"""The text that ``wg meetings parse`` and ``wg meetings check`` print."""

from __future__ import annotations

import json
from pathlib import Path

from wg_meetings.check import check_dir, summary
from wg_meetings.errors import read_text
from wg_meetings.findings import Finding
from wg_meetings.model import Meeting
from wg_meetings.parser import parse_file


def describe(meeting: Meeting) -> str:
    """One line about a parsed meeting."""
    if meeting.cancelled:
        return f"{meeting.source}: meeting {meeting.number}, cancelled"
    date = meeting.date.isoformat() if meeting.date else "no date"
    open_count = len(meeting.open_actions)
    return (
        f"{meeting.source}: meeting {meeting.number}, {date}, "
        f"{len(meeting.participants)} participants, {len(meeting.agenda)} agenda items, "
        f"{len(meeting.minutes)} minutes topics, {len(meeting.actions)} actions ({open_count} open)"
    )


def parse_report(files: list[Path], as_json: bool) -> str:
    """Parse every file (the first bad one raises) and describe them, or dump them as JSON."""
    meetings = [parse_file(path) for path in files]
    if as_json:
        return json.dumps([meeting.to_json() for meeting in meetings], indent=2)
    return "\n".join(describe(meeting) for meeting in meetings)


def read_expected(path: Path) -> list[str]:
    """The expected findings, one formatted finding a line; blank and ``#`` lines skipped."""
    lines = (line.strip() for line in read_text(path).splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def compare(found: list[str], expected: list[str]) -> list[str]:
    """The differences between found and expected findings, as ``+``/``-`` lines.

    Examples
    --------
    >>> compare(["a", "b"], ["b", "c"])
    ['+ a (unexpected)', '- c (expected, not found)']
    """
    extra = [f"+ {line} (unexpected)" for line in found if line not in set(expected)]
    missing = [f"- {line} (expected, not found)" for line in expected if line not in set(found)]
    return extra + missing


def check_report(directory: Path, as_json: bool, expect: Path | None) -> tuple[str, bool]:
    """Check a folder; return the report and whether it passes (no errors, or, with
    ``expect``, exactly the expected findings, paths relative to the folder)."""
    findings = check_dir(directory)
    if expect is not None:
        diff = compare([f.format(directory) for f in findings], read_expected(expect))
        if diff:
            return "\n".join([*diff, f"{len(diff)} difference(s) from {expect}"]), False
        return f"{directory}: exactly the {len(findings)} expected findings", True
    ok = not any(finding.severity == "error" for finding in findings)
    if as_json:
        return json.dumps([finding.to_json() for finding in findings], indent=2), ok
    return _human(findings, directory), ok


def _human(findings: list[Finding], directory: Path) -> str:
    lines = [finding.format() for finding in findings]
    lines.append(f"{directory}: {summary(findings)}")
    return "\n".join(lines)
