"""Write a :class:`Meeting` as Markdown that :func:`wg_meetings.parser.parse_text` reads back."""

from __future__ import annotations

import datetime as dt

from wg_meetings.model import Action, Item, Meeting, Participant, Topic
from wg_meetings.times import format_start

#: Carried-forward items open for this many meetings or more are flagged as overdue.
OVERDUE_AFTER = 3


def render(meeting: Meeting, width: int = 5) -> str:
    """Render every section of a meeting; ``width`` zero-pads meeting numbers in markers.

    Examples
    --------
    >>> from wg_meetings.parser import parse_text
    >>> m = Meeting(number=2, title="WG Meeting 00002", date=dt.date(2026, 12, 9),
    ...             actions=(Action("write docs", owner="Ada", since=1),))
    >>> print(render(m).split("## Actions")[1].strip())
    - [ ] Ada: write docs _(open since meeting 00001)_
    >>> parse_text(render(m)) == m
    True
    """
    parts = [f"# {meeting.title}", "## Meeting Info", _info(meeting)]
    parts += ["## Participants", "\n".join(_participant(p) for p in meeting.participants)]
    parts += ["## Agenda", "\n".join(_items(meeting.agenda))]
    parts += ["## Minutes", "\n\n".join(_topic(topic) for topic in meeting.minutes)]
    actions = [_action(action, meeting.number, width) for action in meeting.actions]
    parts += ["## Actions", "\n".join(actions)]
    return "\n\n".join(part for part in parts if part) + "\n"


def _info(meeting: Meeting) -> str:
    lines = []
    if meeting.cancelled:
        lines.append("Status: cancelled")
    if meeting.date is not None:
        lines.append(f"Date: {meeting.date.isoformat()}")
    if isinstance(meeting.start, dt.datetime):
        lines.append(f"Start time: {format_start(meeting.start)}")
    elif meeting.start:
        lines.append(f"Start time: {meeting.start}")
    if meeting.video:
        lines.append(f"Video: {meeting.video}")
    if meeting.next_meeting:
        lines.append(f"Next meeting: {meeting.next_meeting}")
    return "\n".join(lines)


def _participant(person: Participant) -> str:
    if person.handle:
        return f"- [{person.name}](https://github.com/{person.handle})"
    return f"- {person.name}"


def item_line(item: Item) -> str:
    """One item without its bullet: ``[x] owner: text <link>``."""
    text = item.text
    if item.owner:
        text = f"{item.owner}: {text}"
    if item.checked is not None:
        text = ("[x] " if item.checked else "[ ] ") + text
    if item.link:
        text = f"{text} <{item.link}>"
    return text


def _items(items: tuple[Item, ...], depth: int = 0) -> list[str]:
    lines = []
    for item in items:
        lines.append("  " * depth + "- " + item_line(item))
        lines.extend(_items(item.children, depth + 1))
    return lines


def _topic(topic: Topic) -> str:
    bullets = "\n".join(_items(topic.bullets))
    if topic.title is None:
        return bullets
    return f"### {topic.title}\n\n{bullets}" if bullets else f"### {topic.title}"


def _action(action: Action, number: int | None, width: int) -> str:
    text = action.text if action.owner is None else f"{action.owner}: {action.text}"
    line = ("- [x] " if action.done else "- [ ] ") + text
    if action.since is not None:
        note = f"open since meeting {action.since:0{width}d}"
        age = None if number is None else number - action.since
        if age is not None and age >= OVERDUE_AFTER and not action.done:
            note += f", {age} meetings: overdue"
        line += f" _({note})_"
    return line
