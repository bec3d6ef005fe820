"""The group's ``wg.yaml``: name, title format, schedule, roster and video link, validated."""

from __future__ import annotations

import datetime as dt
import os
import re
import string
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from wg_meetings.errors import MeetingsError
from wg_meetings.fields import LAST_DAY, Fields, is_day, load_yaml, shown
from wg_meetings.passcodes import SECRET_QUERY
from wg_meetings.times import iana_zone

CONFIG_NAME = "wg.yaml"
#: The fields a title may contain.
TITLE_FIELDS = ("group", "number")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True)
class Member:
    """A roster entry."""

    name: str
    github: str | None = None


@dataclass(frozen=True)
class Schedule:
    """Every ``every_weeks`` weeks on ``weekday`` at ``time`` in ``zone``, from ``first``."""

    weekday: int
    time: dt.time
    zone: ZoneInfo
    every_weeks: int
    first: dt.date
    duration: dt.timedelta
    cancelled: frozenset[dt.date] = frozenset()
    moved: tuple[tuple[dt.date, dt.date], ...] = ()

    def dates(self, start: dt.date) -> Iterator[dt.date]:
        """Meeting days on or after ``start``, cancellations skipped, moves applied."""
        step = 7 * self.every_weeks
        skip = max(0, -(-(start - self.first).days // step))
        day = self.first + dt.timedelta(days=step * skip)
        moved = dict(self.moved)
        while True:
            actual = moved.get(day, day)
            if day not in self.cancelled and actual >= start:
                yield actual
            day += dt.timedelta(days=step)

    def next_date(self, start: dt.date) -> dt.date:
        """The first meeting day on or after ``start``."""
        return next(self.dates(start))

    def start_at(self, day: dt.date) -> dt.datetime:
        """The meeting's start on ``day`` in the group's zone (DST from the tz database)."""
        return dt.datetime.combine(day, self.time, tzinfo=self.zone)


@dataclass(frozen=True)
class Config:
    """The validated configuration; paths are absolute."""

    path: Path
    group: str
    title: str
    width: int
    notes: Path
    schedule: Schedule
    roster: tuple[Member, ...]
    video: str | None

    def title_for(self, number: int) -> str:
        """The title of meeting ``number``."""
        return self.title.format(group=self.group, number=f"{number:0{self.width}d}")

    def today(self) -> dt.date:
        """Today in the group's time zone."""
        return dt.datetime.now(self.schedule.zone).date()


def find_config(start: Path | None = None) -> Path:
    """``$WG_MEETINGS_CONFIG``, else ``meetings/wg.yaml`` or ``wg.yaml`` here or in a parent."""
    if os.environ.get("WG_MEETINGS_CONFIG"):
        return Path(os.environ["WG_MEETINGS_CONFIG"])
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        for candidate in (folder / "meetings" / CONFIG_NAME, folder / CONFIG_NAME):
            if candidate.is_file():
                return candidate
    raise MeetingsError(
        f"no {CONFIG_NAME} found here or in a parent folder; pass --config PATH "
        "or set WG_MEETINGS_CONFIG"
    )


def load_config(path: Path) -> Config:
    """Read and validate ``wg.yaml``; every problem names its line and how to fix it.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = Path(d, "wg.yaml")
    ...     _ = p.write_text("group: ML WG\\nschedule:\\n  weekday: wednesday\\n  time: '17:00'\\n"
    ...                      "  timezone: Europe/Berln\\n  first: 2026-11-25\\n")
    ...     try:
    ...         load_config(p)
    ...     except MeetingsError as exc:
    ...         print(exc.line, str(exc).split(": ", 1)[1])
    5 schedule.timezone: unknown time zone 'Europe/Berln'; use an IANA name such as Europe/Berlin
    """
    data, lines = load_yaml(path)
    fields = Fields(path, {} if data is None else data, lines)
    title = _title(fields)
    width = fields.number("number_width", 1, 9, 5)
    video = fields.text("video", None)
    if video is not None and SECRET_QUERY.search(video):
        raise fields.error("video", "contains a passcode or token; publish a link without it")
    return Config(
        path=path.resolve(),
        group=fields.text("group"),
        title=title,
        width=width,
        notes=(path.parent / fields.get("notes", str, "notes")).resolve(),
        schedule=_schedule(fields.sub("schedule")),
        roster=_roster(fields),
        video=video,
    )


def _title(fields: Fields) -> str:
    """The title format: text with ``{number}`` and optionally ``{group}``, nothing else."""
    title: str = fields.text("title", "{group} Meeting {number}")
    try:
        parts = list(string.Formatter().parse(title))
    except ValueError as exc:
        raise fields.error("title", f"{exc}; write braces as {{{{ and }}}}") from None
    names = [(name, spec, conversion) for _, name, spec, conversion in parts if name is not None]
    if any(name not in TITLE_FIELDS or spec or conversion for name, spec, conversion in names):
        raise fields.error(
            "title", "may contain only {group} and {number}, e.g. '{group} Meeting {number}'"
        )
    if "number" not in [name for name, _, _ in names]:
        raise fields.error("title", "must contain {number}, e.g. '{group} Meeting {number}'")
    return title


def _schedule(fields: Fields) -> Schedule:
    weekday = fields.get("weekday", str).lower()
    if weekday not in WEEKDAYS:
        raise fields.error(
            "weekday", f"unknown weekday {shown(weekday)}; use one of {', '.join(WEEKDAYS)}"
        )
    zone_name = fields.get("timezone", str)
    zone = iana_zone(zone_name)
    if zone is None:
        raise fields.error(
            "timezone",
            f"unknown time zone {shown(zone_name)}; use an IANA name such as Europe/Berlin",
        )
    first = fields.day("first")
    if first.weekday() != WEEKDAYS.index(weekday):
        raise fields.error("first", f"{first} is a {WEEKDAYS[first.weekday()]}, not a {weekday}")
    cancelled = fields.get("cancelled", list, [])
    if not all(is_day(day) for day in cancelled):
        raise fields.error(
            "cancelled", f"must be a list of days written YYYY-MM-DD up to {LAST_DAY}"
        )
    moved = fields.get("moved", dict, {})
    if not all(is_day(k) and is_day(v) for k, v in moved.items()):
        raise fields.error("moved", "must map days to days, e.g. '2026-12-23: 2026-12-22'")
    return Schedule(
        weekday=WEEKDAYS.index(weekday),
        time=_time(fields),
        zone=zone,
        every_weeks=fields.number("every_weeks", 1, 52, 1),
        first=first,
        duration=dt.timedelta(minutes=fields.number("duration_minutes", 1, 24 * 60, 60)),
        cancelled=frozenset(cancelled),
        moved=tuple(sorted(moved.items())),
    )


def _time(fields: Fields) -> dt.time:
    raw_time = fields.get("time", (str, int))
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", str(raw_time))
    if isinstance(raw_time, int) or match is None or int(match[1]) > 23 or int(match[2]) > 59:
        raise fields.error(
            "time", f"must be a quoted 24-hour time such as '17:00', not {shown(raw_time)}"
        )
    return dt.time(int(match[1]), int(match[2]))


def _roster(fields: Fields) -> tuple[Member, ...]:
    members = []
    for number, entry in enumerate(fields.get("roster", list, [])):
        member = Fields(fields.path, entry, fields.lines, f"roster[{number}].")
        github = member.text("github", None)
        if github is not None and not re.fullmatch(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})", github):
            raise member.error(
                "github", f"{shown(github)} is not a GitHub handle; write it without @"
            )
        members.append(Member(member.text("name"), github))
    return tuple(members)
