"""``wg meetings ics``: an iCalendar file for the next (or the Nth) meeting."""

from __future__ import annotations

import datetime as dt
import re

from wg_meetings.config import Config
from wg_meetings.errors import MeetingsError
from wg_meetings.model import Meeting
from wg_meetings.new import existing_meetings


def meeting_for(config: Config, number: int | None, today: dt.date | None = None) -> Meeting:
    """Meeting ``number`` from the notes, or (``None``) the next one from the schedule."""
    meetings = existing_meetings(config.notes)
    if number is None:
        day = config.schedule.next_date(today or config.today())
        upcoming = [m for m in meetings if m.date == day]
        if upcoming:
            return upcoming[0]
        following = (meetings[-1].number or 0) + 1 if meetings else 1
        return Meeting(
            number=following,
            title=config.title_for(following),
            date=day,
            start=config.schedule.start_at(day),
            video=config.video,
        )
    found = [m for m in meetings if m.number == number]
    if not found:
        known = ", ".join(str(m.number) for m in meetings) or "none"
        raise MeetingsError(f"no notes for meeting {number} in {config.notes} (known: {known})")
    return found[0]


def to_ics(meeting: Meeting, config: Config) -> bytes:
    """One VEVENT (with its VTIMEZONE) for ``meeting``, which must have an understood start.

    Examples
    --------
    >>> from zoneinfo import ZoneInfo
    >>> from wg_meetings.config import Schedule
    >>> zone = ZoneInfo("Europe/Berlin")
    >>> schedule = Schedule(2, dt.time(17), zone, 2, dt.date(2026, 11, 25), dt.timedelta(hours=1))
    >>> config = Config(None, "ML WG", "{group} Meeting {number}", 5, None, schedule, (), None)
    >>> m = Meeting(7, "ML WG Meeting 00007", dt.date(2026, 12, 9),
    ...             dt.datetime(2026, 12, 9, 17, tzinfo=zone))
    >>> text = to_ics(m, config).decode()
    >>> "DTSTART;TZID=Europe/Berlin:20261209T170000" in text, "BEGIN:VTIMEZONE" in text
    (True, True)
    """
    import icalendar  # only this command needs it

    if not isinstance(meeting.start, dt.datetime):
        shown = repr(meeting.start) if meeting.start else "none"
        raise MeetingsError(
            f"meeting {meeting.number} has no start time that can be understood ({shown}); "
            "write 'Start time: HH:MM Area/City' in its notes",
            meeting.source,
        )
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//wg//wg meetings//EN")
    calendar.add("version", "2.0")
    event = icalendar.Event()
    slug = re.sub(r"[^a-z0-9]+", "-", config.group.lower()).strip("-")
    event.add("uid", f"{slug}-meeting-{meeting.number:0{config.width}d}@wg-meetings")
    event.add("dtstamp", dt.datetime.now(dt.UTC).replace(microsecond=0))
    event.add("summary", meeting.title)
    event.add("dtstart", meeting.start)
    event.add("dtend", meeting.start + config.schedule.duration)
    if meeting.video:
        event.add("location", meeting.video)
        event.add("url", meeting.video)
    if meeting.agenda:
        event.add("description", "\n".join(f"- {item.text}" for item in meeting.agenda))
    calendar.add_component(event)
    calendar.add_missing_timezones()
    return bytes(calendar.to_ical())
