"""``wg meetings check``: lint a folder of notes and report ``file:line`` findings."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from pathlib import Path

from wg_meetings.errors import MeetingsError, read_text
from wg_meetings.findings import Finding
from wg_meetings.index import stale_index
from wg_meetings.model import SECTIONS
from wg_meetings.parser import (
    NO_NUMBER,
    NOTES_NAME,
    URL,
    Document,
    notes_in,
    parse_document,
    with_file_date,
)
from wg_meetings.passcodes import publishes_secret
from wg_meetings.times import format_start


def _error(path: Path | str, line: int, code: str, message: str) -> Finding:
    return Finding(str(path), line, "error", code, message)


def _warning(path: Path | str, line: int, code: str, message: str) -> Finding:
    return Finding(str(path), line, "warning", code, message)


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def check_dir(directory: Path) -> list[Finding]:
    """Check every ``meeting_*.md`` file in ``directory``, the files against each other, and
    the index in ``directory/../README.md`` when that file has index markers."""
    if not directory.is_dir():
        raise MeetingsError("no such folder; pass the folder that holds meeting_*.md", directory)
    findings: list[Finding] = []
    documents: list[tuple[Path, Document]] = []
    for path in notes_in(directory):
        try:
            document = parse_document(read_text(path), str(path))
        except MeetingsError as exc:
            findings.append(_error(path, exc.line or 1, "not-notes", exc.problem))
            continue
        documents.append((path, document))
        findings.extend(check_document(path, document))
    findings.extend(_numbering(documents))
    findings.extend(_carried(documents))
    meetings = [with_file_date(doc.meeting, path) for path, doc in documents]
    findings.extend(stale_index(directory, meetings))
    return sorted(findings, key=lambda f: (f.path, f.line, f.code, f.message))


def check_document(path: Path, doc: Document) -> list[Finding]:
    """The findings about one file on its own."""
    found = _name_findings(path, doc) + _section_findings(path, doc) + _start_findings(path, doc)
    for number, line in enumerate(doc.lines, start=1):
        if line != line.rstrip():
            found.append(
                _warning(path, number, "trailing-whitespace", "trailing whitespace; delete it")
            )
        if publishes_secret(line, URL.findall(line)):
            message = "a passcode or token is published; link the meeting without it"
            found.append(_error(path, number, "passcode", message))
    return found


def _name_findings(path: Path, doc: Document) -> list[Finding]:
    meeting, top = doc.meeting, doc.title_line or 1
    match = NOTES_NAME.fullmatch(path.name)
    if match is None:
        message = "file name is not meeting_NNNNN_YYYYMMDD.md; rename it"
        return [_error(path, 1, "file-name", message)]
    found = []
    if meeting.number is None:
        found.append(_error(path, top, "missing-number", NO_NUMBER))
    number, stamp = int(match[1]), match[2]
    if meeting.number is not None and meeting.number != number:
        message = (
            f"title says meeting {meeting.number} but the file name says {number}; "
            "rename the file or fix the title"
        )
        found.append(_error(path, top, "number-mismatch", message))
    if meeting.date is not None and meeting.date.strftime("%Y%m%d") != stamp:
        line = doc.info_lines.get("date", doc.info_lines.get("start", top))
        message = (
            f"the notes say {meeting.date.isoformat()} but the file name says {stamp}; "
            "rename the file or fix the date"
        )
        found.append(_error(path, line, "date-mismatch", message))
    return found


def _section_findings(path: Path, doc: Document) -> list[Finding]:
    top = doc.title_line or 1
    required = ("Meeting Info",) if doc.meeting.cancelled else SECTIONS
    found = [
        _error(path, top, "missing-section", f"no '{name}' section; add a '## {name}' heading")
        for name in required
        if name not in doc.sections
    ]
    for name, section in doc.sections.items():
        if section.level != 2 or section.heading != name:
            written = "#" * section.level + " " + section.heading
            message = f"'{written}' is written '## {name}' in our notes; rewrite it"
            found.append(_warning(path, section.line, "section-heading", message))
    return found


def _start_findings(path: Path, doc: Document) -> list[Finding]:
    meeting, top = doc.meeting, doc.title_line or 1
    if meeting.cancelled:
        return []
    found = _date_findings(path, doc)
    line = doc.info_lines.get("start", top)
    if isinstance(meeting.start, dt.datetime):
        canonical = format_start(meeting.start)
        if doc.start_text != canonical:
            message = (
                f"start time '{_short(doc.start_text, 40)}' is read as "
                f"{meeting.start.isoformat()}; write it as '{canonical}'"
            )
            found.append(_warning(path, line, "start-time-format", message))
        return found
    shown = f"'{meeting.start}'" if meeting.start else "missing"
    message = (
        f"start time {shown} is not understood; "
        "write it as 'Start time: HH:MM Area/City' (an IANA time zone)"
    )
    return [*found, _warning(path, line, "start-time", message)]


def _date_findings(path: Path, doc: Document) -> list[Finding]:
    if doc.bad_date is not None:
        line, text = doc.bad_date
        message = f"'{_short(text, 20)}' is not a day of the calendar; write the date as YYYY-MM-DD"
        return [_error(path, line, "invalid-date", message)]
    if doc.meeting.date is None:
        message = "no date; add a line 'Date: YYYY-MM-DD' under Meeting Info"
        return [
            _error(path, doc.info_lines.get("date", doc.title_line or 1), "missing-date", message)
        ]
    return []


def _numbering(documents: list[tuple[Path, Document]]) -> list[Finding]:
    found: list[Finding] = []
    seen: dict[int, Path] = {}
    numbered = [(doc.meeting.number, path, doc) for path, doc in documents]
    for number, path, doc in sorted((n, p, d) for n, p, d in numbered if n is not None):
        top = doc.title_line or 1
        if number in seen:
            message = f"meeting {number} is also {seen[number].name}; renumber one"
            found.append(_error(path, top, "duplicate-number", message))
            continue
        previous = max(seen, default=None)
        if previous is not None and number > previous + 1:
            first, last = previous + 1, number - 1
            gap = f"number {first} is" if first == last else f"numbers {first}-{last} are"
            found.append(
                _warning(path, top, "number-gap", f"meeting {gap} missing before {number}")
            )
        seen[number] = path
    return found


def _key(text: str) -> str:
    return " ".join(re.sub(r"[~*_`]", "", text).lower().split())


def _carried(documents: list[tuple[Path, Document]]) -> list[Finding]:
    held = [(d.meeting, p) for p, d in documents if d.meeting.number and not d.meeting.cancelled]
    held.sort(key=lambda pair: pair[0].number or 0)
    found = []
    for (meeting, path), (after, _) in itertools.pairwise(held):
        later = {_key(action.text) for action in after.actions}
        for action in meeting.open_actions:
            if _key(action.text) not in later:
                message = (
                    f"open action '{_short(action.text, 50)}' is not carried forward to "
                    f"meeting {after.number}; strike it through when done"
                )
                found.append(_warning(path, action.line, "action-not-carried", message))
    return found


def count(findings: list[Finding], severity: str) -> int:
    """How many findings have this severity."""
    return sum(1 for finding in findings if finding.severity == severity)


def summary(findings: list[Finding]) -> str:
    """``"3 errors, 1 warning"``.

    Examples
    --------
    >>> summary([_error("a.md", 1, "x", "y")])
    '1 error, 0 warnings'
    """
    errors, warnings = count(findings, "error"), count(findings, "warning")
    return f"{errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)}"
