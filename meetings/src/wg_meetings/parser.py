"""A lenient parser for meeting notes written by hand and for those ``wg meetings new`` writes."""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from wg_meetings.errors import MeetingsError, read_text
from wg_meetings.items import parse_action, parse_item, parse_participant
from wg_meetings.model import Action, Item, Meeting, Participant, Topic
from wg_meetings.outline import Node, outline
from wg_meetings.times import impossible_date, parse_date, parse_slash_date, parse_start

#: The name of a notes file: ``meeting_NNNNN_YYYYMMDD.md`` (number, date).
NOTES_NAME = re.compile(r"meeting_(\d+)_(\d{8})\.md")
#: Why a notes file without a meeting number cannot be used: ``check`` and ``new`` say the same.
NO_NUMBER = (
    "the title has no meeting number; start the file with a title such as '# WG Meeting 00012'"
)
_HEADING = re.compile(r"(#{1,6})\s+(.*)$")
URL = re.compile(r"https?://[^\s)>\]]+")
_SECTION_NAMES = {
    "meeting info": "Meeting Info",
    "participants": "Participants",
    "attendees": "Participants",
    "agenda": "Agenda",
    "minutes": "Minutes",
    "actions": "Actions",
    "action items": "Actions",
}
_NUMBER = (re.compile(r"\bmeeting\s+#?0*(\d{1,6})\b", re.I), re.compile(r"#0*(\d{1,6})\b"))
_KEY = re.compile(r"[-*+]?\s*([A-Za-z][A-Za-z ]{0,24}?)\s*:\s*(.*)$")
_CANCELLED = re.compile(r"\bcancell?ed\b", re.I)
_NOT_VIDEO = ("hackmd.io", "timesched.pocoo.org")
_NEXT = re.compile(r"next meeting", re.I)
_HAS_DATE = re.compile(
    r"\d{8}|\d{4}-\d{2}-\d{2}|\b\d{1,2}\s+(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)", re.I
)


@dataclass
class Section:
    """A known section: its canonical name, heading text and line, and its body lines."""

    name: str
    heading: str
    line: int
    level: int
    body: list[tuple[int, str]] = field(default_factory=list)


@dataclass
class Document:
    """A parsed file: the meeting, plus where things are, for ``wg meetings check``."""

    meeting: Meeting
    lines: list[str]
    title_line: int
    sections: dict[str, Section]
    info_lines: dict[str, int]
    start_text: str = ""
    #: The line and text of a ``Date:`` that names no day of the calendar (``2021-02-30``).
    bad_date: tuple[int, str] | None = None


def parse_file(path: str | os.PathLike[str]) -> Meeting:
    """Parse one notes file into a :class:`Meeting`; without a date inside, the date in a
    ``meeting_NNNNN_YYYYMMDD.md`` file name is used (cancelled meetings often have none)."""
    return with_file_date(parse_document(read_text(path), str(path)).meeting, path)


def with_file_date(meeting: Meeting, path: str | os.PathLike[str]) -> Meeting:
    """The meeting, dated from its ``meeting_NNNNN_YYYYMMDD.md`` name if the notes give none."""
    if meeting.date is None:
        match = NOTES_NAME.fullmatch(Path(path).name)
        if match:
            return replace(meeting, date=parse_date(match[2]))
    return meeting


def parse_text(text: str, source: str | None = None) -> Meeting:
    """Parse the text of one notes file.

    Examples
    --------
    >>> m = parse_text("# WG Meeting 00003\\n## Meeting Info\\nDate: 20200526\\n"
    ...                "## Actions\\n- ~~Ricky: make a poll~~\\n- Chris to review #12\\n")
    >>> m.number, m.date
    (3, datetime.date(2020, 5, 26))
    >>> [(a.owner, a.text, a.done) for a in m.actions]
    [('Ricky', 'make a poll', True), (None, 'Chris to review #12', False)]
    """
    return parse_document(text, source).meeting


def parse_document(text: str, source: str | None = None) -> Document:
    """Parse notes into a :class:`Document`; raise :class:`MeetingsError` for non-notes."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    title, title_line, preamble, sections = _split(lines)
    number = _number(title)
    if number is None and len(sections) < 2:
        raise MeetingsError(
            "not meeting notes: expected a title such as '# <group> Meeting 00012' and the "
            "sections " + ", ".join(f"'## {name}'" for name in _canonical()) + "; "
            "fix the heading or pass a notes file",
            source,
            title_line or 1,
        )
    head = preamble + (sections["Meeting Info"].body if "Meeting Info" in sections else [])
    info = _info(head, title)
    try:
        participants = _participants(sections)
        meeting = Meeting(
            number=number,
            title=title,
            date=info.date,
            start=parse_start(info.start, info.date) if info.start else None,
            video=info.video,
            cancelled=info.cancelled,
            participants=participants,
            agenda=_items(sections.get("Agenda")),
            minutes=_minutes(sections.get("Minutes")),
            actions=_actions(sections.get("Actions"), participants),
            source=source,
        )
    except MeetingsError as exc:  # from outline(), which does not know the file
        raise MeetingsError(exc.problem, source, exc.line) from None
    meeting = _with_next_meeting(meeting, info.next)
    return Document(meeting, lines, title_line, sections, info.lines, info.start, info.bad_date)


def heading(line: str) -> tuple[int, str] | None:
    """A Markdown ATX heading's level and text (closing ``#``s dropped), else ``None``.

    Examples
    --------
    >>> heading("## Minutes ##"), heading("#Minutes"), heading("plain")
    ((2, 'Minutes'), None, None)
    """
    match = _HEADING.match(line) if line.startswith("#") else None
    if match is None:
        return None
    # str.rstrip, not a regex: "(.*?)\s*#*\s*$" backtracks quadratically on a line of "#"s.
    return len(match[1]), match[2].rstrip().rstrip("#").rstrip()


def _canonical() -> list[str]:
    return list(dict.fromkeys(_SECTION_NAMES.values()))


def _split(lines: list[str]) -> tuple[str, int, list[tuple[int, str]], dict[str, Section]]:
    title, title_line = "", 0
    preamble: list[tuple[int, str]] = []
    sections: dict[str, Section] = {}
    current: list[tuple[int, str]] = preamble
    for number, line in enumerate(lines, start=1):
        found = heading(line)
        if found is None:
            current.append((number, line))
            continue
        level, text = found
        name = _SECTION_NAMES.get(text.rstrip(":").strip().lower())
        if name is not None and name not in sections:
            section = Section(name, text, number, level)
            sections[name] = section
            current = section.body
        elif not title and not sections and not _has_text(preamble):
            title, title_line = text, number
        else:
            current.append((number, line))
    return title, title_line, preamble, sections


def _has_text(preamble: list[tuple[int, str]]) -> bool:
    """Whether any line before the first section has text (then a heading is not the title)."""
    return any(line.strip() for _, line in preamble)


def _number(title: str) -> int | None:
    for pattern in _NUMBER:
        match = pattern.search(title)
        if match:
            return int(match[1])
    return None


@dataclass
class _Info:
    """What the Meeting Info lines (and the lines before the first section) say."""

    date: dt.date | None = None
    start: str = ""
    video: str | None = None
    cancelled: bool = False
    next: str | None = None
    bad_date: tuple[int, str] | None = None
    lines: dict[str, int] = field(default_factory=dict)


def _info(info: list[tuple[int, str]], title: str) -> _Info:
    found = _Info()
    slash_date: dt.date | None = None
    for number, line in info:
        match = _KEY.match(line.strip())
        key = match[1].lower() if match else ""
        value = match[2].strip() if match else line.strip()
        if key == "date" and found.date is None:
            found.date, found.lines["date"] = parse_date(value), number
            impossible = impossible_date(value) if found.date is None else None
            if impossible is not None and found.bad_date is None:
                found.bad_date = (number, impossible)
        elif key in ("start time", "time") and not found.start:
            found.start, found.lines["start"] = value, number
            slash_date = parse_slash_date(value) if key == "time" else None
        elif key == "next meeting":
            found.next = value or None
        found.cancelled = found.cancelled or _CANCELLED.search(line) is not None
        if found.video is None and key not in ("start time", "time"):
            urls = [url for url in URL.findall(line) if not any(s in url for s in _NOT_VIDEO)]
            if urls:
                found.video, found.lines["video"] = urls[0], number
    if found.date is None:
        found.date = slash_date or parse_date(title)
    return found


def _participants(sections: dict[str, Section]) -> tuple[Participant, ...]:
    section = sections.get("Participants")
    if section is None:
        return ()
    found = []
    for node in outline(section.body):
        participant = parse_participant(node.text, [c.text for c in node.descendants()])
        if participant is not None:
            found.append(participant)
    return tuple(found)


def _item(node: Node) -> Item:
    return parse_item(node.text, tuple(_item(child) for child in node.children))


def _items(section: Section | None) -> tuple[Item, ...]:
    return () if section is None else tuple(_item(node) for node in outline(section.body))


def _subsections(section: Section) -> Iterator[tuple[str | None, list[tuple[int, str]]]]:
    """Split a section body at its sub-headings: (heading text, or None before the first; lines)."""
    title: str | None = None
    chunk: list[tuple[int, str]] = []
    for number, line in [*section.body, (0, "# ")]:
        found = heading(line)
        if found is None:
            chunk.append((number, line))
            continue
        yield title, chunk
        title, chunk = found[1], []


def _minutes(section: Section | None) -> tuple[Topic, ...]:
    if section is None:
        return ()
    topics: list[Topic] = []
    for title, chunk in _subsections(section):
        bullets = tuple(_item(node) for node in outline(chunk))
        if title is not None or bullets:
            topics.append(Topic(title, bullets))
    return tuple(topics)


def _actions(section: Section | None, people: tuple[Participant, ...]) -> tuple[Action, ...]:
    if section is None:
        return ()
    actions: list[Action] = []
    for title, chunk in _subsections(section):
        group = title or None
        for node in outline(chunk):
            extra = [child.text for child in node.descendants()]
            actions.append(parse_action(node.text, extra, node.line, people, group))
    return tuple(actions)


def _with_next_meeting(meeting: Meeting, explicit: str | None) -> Meeting:
    note = explicit
    if note is None:
        for topic in meeting.minutes:
            if topic.title and _NEXT.fullmatch(topic.title.strip()) and topic.bullets:
                note = "; ".join(bullet.text for bullet in topic.bullets)
                break
    if note is None:
        texts = [b.text for t in meeting.minutes for b in _flatten(t.bullets)]
        texts += [a.text for a in meeting.actions]
        note = next((t for t in texts if _NEXT.search(t) and _HAS_DATE.search(t)), None)
    if note is None:
        return meeting
    return replace(meeting, next_meeting=note)


def _flatten(items: tuple[Item, ...]) -> list[Item]:
    flat: list[Item] = []
    for item in items:
        flat.append(item)
        flat.extend(_flatten(item.children))
    return flat


def notes_in(directory: Path) -> list[Path]:
    """The notes files (``meeting_*.md``) in a folder, sorted by name."""
    return sorted(directory.glob("meeting_*.md"))
