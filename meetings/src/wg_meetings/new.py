"""``wg meetings new``: the next meeting's notes, with open actions carried forward."""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass
from pathlib import Path

from wg_io.output import write_text

from wg_meetings.config import Config
from wg_meetings.errors import MeetingsError
from wg_meetings.fields import LAST_DAY, Fields, load_yaml
from wg_meetings.items import OWNER
from wg_meetings.model import Action, Item, Meeting, Participant
from wg_meetings.parser import NO_NUMBER, notes_in, parse_file
from wg_meetings.render import render


@dataclass(frozen=True)
class NewNotes:
    """What ``new`` made: the file it would write, its text, and notes for the user."""

    path: Path
    text: str
    meeting: Meeting
    messages: tuple[str, ...]


def existing_meetings(notes: Path) -> list[Meeting]:
    """Every meeting in the notes folder, by number (unnumbered files are errors)."""
    meetings = []
    for path in notes_in(notes) if notes.is_dir() else []:
        meeting = parse_file(path)
        if meeting.number is None:
            raise MeetingsError(NO_NUMBER, path, 1)
        meetings.append(meeting)
    return sorted(meetings, key=lambda m: m.number or 0)


def files_read(config: Config) -> list[Path]:
    """The files a command reads (``wg.yaml`` and every notes file): never an output of it."""
    notes = notes_in(config.notes) if config.notes.is_dir() else []
    return [config.path, *notes]


def gaps(numbers: list[int]) -> list[int]:
    """Numbers missing between 1 and the largest one.

    Examples
    --------
    >>> gaps([1, 2, 5, 6, 8])
    [3, 4, 7]
    """
    present = set(numbers)
    return [n for n in range(1, max(numbers, default=0)) if n not in present]


def carried_actions(previous: Meeting | None) -> tuple[Action, ...]:
    """The open actions of the previous meeting, grouped under their owners (unowned last).

    Examples
    --------
    >>> prev = Meeting(4, "M 4", actions=(Action("b", "Zoe"), Action("a", None),
    ...                                   Action("c", "Ada", since=1), Action("d", "Ada", True)))
    >>> [(a.owner, a.text, a.since) for a in carried_actions(prev)]
    [('Ada', 'c', 1), ('Zoe', 'b', 4), (None, 'a', 4)]
    """
    if previous is None:
        return ()
    carried = [
        Action(a.text, a.owner, False, a.since if a.since is not None else previous.number)
        for a in previous.open_actions
    ]
    return tuple(sorted(carried, key=lambda a: (a.owner is None, (a.owner or "").lower())))


def new_meeting(
    config: Config,
    day: dt.date | None = None,
    agenda_file: Path | None = None,
    today: dt.date | None = None,
) -> NewNotes:
    """Build (not write) the next meeting's notes; see :func:`write_new` to write them."""
    meetings = existing_meetings(config.notes)
    day = meeting_day(config, meetings, day, today or config.today())
    number = (meetings[-1].number or 0) + 1 if meetings else 1
    missing = gaps([m.number for m in meetings if m.number is not None])
    messages = [f"meeting numbers missing from {config.notes}: {missing}"] if missing else []
    previous = next((m for m in reversed(meetings) if not m.cancelled), None)
    following = config.schedule.next_date(day + dt.timedelta(days=1))
    meeting = Meeting(
        number=number,
        title=config.title_for(number),
        date=day,
        start=config.schedule.start_at(day),
        video=config.video,
        next_meeting=following.isoformat(),
        participants=tuple(Participant(m.name, m.github) for m in config.roster),
        agenda=load_agenda(agenda_file) if agenda_file else (),
        actions=carried_actions(previous),
    )
    overdue = [a for a in meeting.actions if a.since is not None and number - a.since >= 3]
    if overdue:
        messages.append(f"{len(overdue)} action item(s) open for 3 or more meetings")
    path = config.notes / f"meeting_{number:0{config.width}d}_{day:%Y%m%d}.md"
    return NewNotes(path, render(meeting, config.width), meeting, tuple(messages))


def meeting_day(
    config: Config, meetings: list[Meeting], day: dt.date | None, today: dt.date
) -> dt.date:
    """``day`` if it is free and not past, else the first scheduled day after every meeting."""
    if day is not None and day > LAST_DAY:
        raise MeetingsError(
            f"--date {day.isoformat()} is after {LAST_DAY.isoformat()}, the last day a meeting "
            "may be on; pick an earlier date"
        )
    if day is not None and day < today:
        raise MeetingsError(
            f"--date {day.isoformat()} is in the past (today is {today.isoformat()} in "
            f"{config.schedule.zone.key}); pick today or a later date"
        )
    if day is None:
        held = [m.date for m in meetings if m.date is not None]
        after = max([today, *(d + dt.timedelta(days=1) for d in held)])
        day = config.schedule.next_date(after)
    same_day = [m for m in meetings if m.date == day and not m.cancelled]
    if same_day:
        raise MeetingsError(
            f"meeting {same_day[0].number} on {day.isoformat()} already exists; it is never "
            "overwritten: edit it, or pass another --date",
            same_day[0].source,
        )
    return day


def write_new(notes: NewNotes) -> None:
    """Write the new notes file under the output-path policy; never overwrite one that exists.

    A failed write raises :class:`wg_io.output.OutputError` naming the notes file.
    """
    if os.path.lexists(notes.path):
        raise MeetingsError("already exists; it is never overwritten (edit it instead)", notes.path)
    # exclusive: a file that appears between the check and the write is not replaced either.
    write_text(notes.path, notes.text, make_parents=True, exclusive=True)


def load_agenda(path: Path) -> tuple[Item, ...]:
    """An agenda YAML file: a list of items, each a string or a mapping with ``title`` and
    optional ``owner``, ``link`` and ``items`` (sub-items, the same shape)."""
    data, lines = load_yaml(path)
    if data is None:
        return ()
    if not isinstance(data, list):
        raise MeetingsError("an agenda must be a list of items, e.g. '- title: Roadmap'", path, 1)
    return tuple(_agenda_item(path, entry, lines, f"[{n}]") for n, entry in enumerate(data))


def _agenda_item(path: Path, entry: object, lines: dict[str, int], key: str) -> Item:
    if isinstance(entry, str | int | float) and not isinstance(entry, bool):
        return Item(str(entry))
    fields = Fields(path, entry, lines, key + ".")
    unknown = sorted(set(fields.data) - {"title", "owner", "link", "items"})
    if unknown:
        raise fields.error(unknown[0], "unknown key; use title, owner, link or items")
    children = fields.get("items", list, [])
    title = " ".join(str(fields.get("title", (str, int, float))).split())
    owner = fields.get("owner", str, None)
    if owner is not None and not OWNER.fullmatch(owner):
        raise fields.error("owner", f"{owner!r} is not a name or handle such as 'Ada' or 'ada-l'")
    link = fields.get("link", str, None)
    if link is not None and not re.fullmatch(r"https?://\S+", link):
        raise fields.error("link", f"{link!r} is not an http(s) URL")
    return Item(
        text=title,
        owner=owner,
        link=link,
        children=tuple(
            _agenda_item(path, child, lines, f"{key}.items[{n}]")
            for n, child in enumerate(children)
        ),
    )
