"""The structured model of one meeting's notes, shared by parser, renderer and checks."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

#: The sections every (not cancelled) notes file has, in the order ``wg meetings new`` writes them.
SECTIONS: tuple[str, ...] = ("Meeting Info", "Participants", "Agenda", "Minutes", "Actions")


@dataclass(frozen=True)
class Participant:
    """Someone who attended: a display name and, where known, a GitHub handle."""

    name: str
    handle: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "handle": self.handle}


@dataclass(frozen=True)
class Item:
    """An agenda item or a minutes bullet: text, optional owner/link/check box, sub-items."""

    text: str
    owner: str | None = None
    link: str | None = None
    checked: bool | None = None
    children: tuple[Item, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "owner": self.owner,
            "link": self.link,
            "checked": self.checked,
            "items": [child.to_json() for child in self.children],
        }


@dataclass(frozen=True)
class Topic:
    """One minutes topic (a ``###`` heading, or ``None`` for bullets before any heading)."""

    title: str | None
    bullets: tuple[Item, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"title": self.title, "bullets": [bullet.to_json() for bullet in self.bullets]}


@dataclass(frozen=True)
class Action:
    """An action item. ``done`` is true when it was struck through or checked.

    ``since`` is the number of the meeting where a carried-forward item was first written down.
    """

    text: str
    owner: str | None = None
    done: bool = False
    since: int | None = None
    line: int = field(default=0, compare=False)

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "owner": self.owner, "done": self.done, "since": self.since}


@dataclass(frozen=True)
class Meeting:
    """One meeting's notes.

    ``start`` is a time-zone-aware datetime when the start time was understood, else the raw
    text as written (``"TBD"``), else ``None`` when the notes give none.
    """

    number: int | None
    title: str
    date: dt.date | None = None
    start: dt.datetime | str | None = None
    video: str | None = None
    cancelled: bool = False
    next_meeting: str | None = None
    participants: tuple[Participant, ...] = ()
    agenda: tuple[Item, ...] = ()
    minutes: tuple[Topic, ...] = ()
    actions: tuple[Action, ...] = ()
    source: str | None = field(default=None, compare=False)

    @property
    def open_actions(self) -> tuple[Action, ...]:
        """The action items that are not done."""
        return tuple(action for action in self.actions if not action.done)

    def to_json(self) -> dict[str, Any]:
        """The JSON object that ``wg meetings parse --json`` prints for this meeting."""
        start: str | None
        start = self.start.isoformat() if isinstance(self.start, dt.datetime) else self.start
        return {
            "number": self.number,
            "date": self.date.isoformat() if self.date else None,
            "title": self.title,
            "start": start,
            "video": self.video,
            "participants": [p.to_json() for p in self.participants],
            "agenda": [item.to_json() for item in self.agenda],
            "minutes": [topic.to_json() for topic in self.minutes],
            "actions": [action.to_json() for action in self.actions],
            "next_meeting": self.next_meeting,
            "cancelled": self.cancelled,
            "source": self.source,
        }
