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
from wg_meetings.parser import URL, Document, notes_in, parse_document, with_file_date
from wg_meetings.times import format_start

FILE_NAME = re.compile(r"meeting_(\d+)_(\d{8})\.md")
_SECRET_QUERY = re.compile(r"[?&#](pwd|passcode|password|pass|token|access_token|tk|key)=", re.I)
_SECRET_LINE = re.compile(r"\b(passcode|password|pwd)\s*[:=]\s*\S", re.I)


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
            findings.append(Finding(str(path), exc.line or 1, "error", "not-notes", _cause(exc)))
            continue
        documents.append((path, document))
        findings.extend(check_document(path, document))
    findings.extend(_numbering(documents))
    findings.extend(_carried(documents))
    meetings = [with_file_date(doc.meeting, path) for path, doc in documents]
    findings.extend(stale_index(directory, meetings))
    return sorted(findings, key=lambda f: (f.path, f.line, f.code, f.message))


def _cause(exc: MeetingsError) -> str:
    return str(exc).split(": ", 1)[1] if exc.path else str(exc)


def check_document(path: Path, doc: Document) -> list[Finding]:
    """The findings about one file on its own."""
    found = _name_findings(path, doc) + _section_findings(path, doc) + _start_findings(path, doc)
    for number, line in enumerate(doc.lines, start=1):
        if line != line.rstrip():
            found.append(
                Finding(
                    str(path),
                    number,
                    "warning",
                    "trailing-whitespace",
                    "trailing whitespace; delete it",
                )
            )
        if any(_SECRET_QUERY.search(url) for url in URL.findall(line)) or _SECRET_LINE.search(line):
            found.append(
                Finding(
                    str(path),
                    number,
                    "error",
                    "passcode",
                    "a passcode or token is published; link the meeting without it",
                )
            )
    return found


def _name_findings(path: Path, doc: Document) -> list[Finding]:
    meeting, where = doc.meeting, str(path)
    match = FILE_NAME.fullmatch(path.name)
    if match is None:
        return [
            Finding(
                where,
                1,
                "error",
                "file-name",
                "file name is not meeting_NNNNN_YYYYMMDD.md; rename it",
            )
        ]
    found = []
    number, stamp = int(match[1]), match[2]
    if meeting.number is not None and meeting.number != number:
        found.append(
            Finding(
                where,
                doc.title_line or 1,
                "error",
                "number-mismatch",
                f"title says meeting {meeting.number} but the file name says "
                f"{number}; rename the file or fix the title",
            )
        )
    if meeting.date is not None and meeting.date.strftime("%Y%m%d") != stamp:
        line = doc.info_lines.get("date", doc.info_lines.get("start", doc.title_line or 1))
        found.append(
            Finding(
                where,
                line,
                "error",
                "date-mismatch",
                f"the notes say {meeting.date.isoformat()} but the file name says "
                f"{stamp}; rename the file or fix the date",
            )
        )
    return found


def _section_findings(path: Path, doc: Document) -> list[Finding]:
    where, top = str(path), doc.title_line or 1
    required = ("Meeting Info",) if doc.meeting.cancelled else SECTIONS
    found = [
        Finding(where, top, "error", "missing-section", f"no '{n}' section; add a '## {n}' heading")
        for n in required
        if n not in doc.sections
    ]
    for name, section in doc.sections.items():
        if section.level != 2 or section.heading != name:
            written = "#" * section.level + " " + section.heading
            found.append(
                Finding(
                    where,
                    section.line,
                    "warning",
                    "section-heading",
                    f"'{written}' is written '## {name}' in our notes; rewrite it",
                )
            )
    return found


def _start_findings(path: Path, doc: Document) -> list[Finding]:
    meeting, where, top = doc.meeting, str(path), doc.title_line or 1
    if meeting.cancelled:
        return []
    found = []
    if meeting.date is None:
        found.append(
            Finding(
                where,
                top,
                "error",
                "missing-date",
                "no date; add a line 'Date: YYYY-MM-DD' under Meeting Info",
            )
        )
    line = doc.info_lines.get("start", top)
    if isinstance(meeting.start, dt.datetime):
        canonical = format_start(meeting.start)
        if doc.start_text != canonical:
            written = doc.start_text if len(doc.start_text) <= 40 else doc.start_text[:37] + "..."
            found.append(
                Finding(
                    where,
                    line,
                    "warning",
                    "start-time-format",
                    f"start time '{written}' is read as "
                    f"{meeting.start.isoformat()}; write it as '{canonical}'",
                )
            )
        return found
    shown = f"'{meeting.start}'" if meeting.start else "missing"
    found.append(
        Finding(
            where,
            line,
            "warning",
            "start-time",
            f"start time {shown} is not understood; write it as "
            "'Start time: HH:MM Area/City' (an IANA time zone)",
        )
    )
    return found


def _numbering(documents: list[tuple[Path, Document]]) -> list[Finding]:
    found: list[Finding] = []
    seen: dict[int, Path] = {}
    numbered = [(doc.meeting.number, path, doc) for path, doc in documents]
    for number, path, doc in sorted((n, p, d) for n, p, d in numbered if n is not None):
        if number in seen:
            found.append(
                Finding(
                    str(path),
                    doc.title_line or 1,
                    "error",
                    "duplicate-number",
                    f"meeting {number} is also {seen[number].name}; renumber one",
                )
            )
            continue
        previous = max(seen, default=None)
        if previous is not None and number > previous + 1:
            gap = (
                f"number {previous + 1} is"
                if number == previous + 2
                else f"numbers {previous + 1}-{number - 1} are"
            )
            found.append(
                Finding(
                    str(path),
                    doc.title_line or 1,
                    "warning",
                    "number-gap",
                    f"meeting {gap} missing before {number}",
                )
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
                short = action.text if len(action.text) <= 50 else action.text[:47] + "..."
                found.append(
                    Finding(
                        str(path),
                        action.line,
                        "warning",
                        "action-not-carried",
                        f"open action '{short}' is not carried forward to meeting "
                        f"{after.number}; strike it through when done",
                    )
                )
    return found


def count(findings: list[Finding], severity: str) -> int:
    """How many findings have this severity."""
    return sum(1 for finding in findings if finding.severity == severity)


def summary(findings: list[Finding]) -> str:
    """``"3 errors, 1 warning"``."""
    errors, warnings = count(findings, "error"), count(findings, "warning")
    return f"{errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)}"
