"""The group's ``wg.yaml``: name, title format, schedule, roster and video link, validated."""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from wg_meetings.errors import MeetingsError, read_text
from wg_meetings.passcodes import SECRET_QUERY

CONFIG_NAME = "wg.yaml"
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


class _Fields:
    """Typed access to a YAML mapping that reports errors at the line of the key."""

    def __init__(self, path: Path, data: Any, lines: dict[str, int], prefix: str = ""):
        self.path, self.lines, self.prefix = path, lines, prefix
        if not isinstance(data, dict):
            raise self.error(prefix.rstrip(".") or "the file", "must be a mapping of keys")
        self.data = data

    def line(self, key: str) -> int:
        return self.lines.get(self.prefix + key, self.lines.get(self.prefix.rstrip("."), 1))

    def error(self, key: str, problem: str) -> MeetingsError:
        return MeetingsError(f"{self.prefix}{key}: {problem}", self.path, self.line(key))

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
        if key not in self.data or self.data[key] is None:
            if default is ...:
                raise self.error(key, "is required; add it")
            return default
        value = self.data[key]
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
            names = (
                kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            )
            raise self.error(key, f"must be a {names}, not {value!r}")
        return value

    def sub(self, key: str) -> _Fields:
        return _Fields(self.path, self.get(key, dict), self.lines, f"{self.prefix}{key}.")


def _key_lines(node: yaml.Node, prefix: str = "") -> dict[str, int]:
    lines: dict[str, int] = {}
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            name = f"{prefix}{key.value}"
            lines[name] = key.start_mark.line + 1
            lines.update(_key_lines(value, name + "."))
    elif isinstance(node, yaml.SequenceNode):
        for number, value in enumerate(node.value):
            name = f"{prefix.rstrip('.')}[{number}]"
            lines[name] = value.start_mark.line + 1
            lines.update(_key_lines(value, name + "."))
    return lines


def load_yaml(path: Path) -> tuple[Any, dict[str, int]]:
    """Parse a YAML file; return the data and the line of every key (``"a.b[0].c"``)."""
    text = read_text(path)
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise MeetingsError(f"malformed YAML: {exc.problem}; fix the syntax", path, line) from exc
    return data, ({} if node is None else _key_lines(node))


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
    fields = _Fields(path, {} if data is None else data, lines)
    title = fields.get("title", str, "{group} Meeting {number}")
    if "{number}" not in title:
        raise fields.error("title", "must contain {number}, e.g. '{group} Meeting {number}'")
    width = fields.get("number_width", int, 5)
    if not 1 <= width <= 9:
        raise fields.error("number_width", f"must be between 1 and 9, not {width}")
    video = fields.get("video", str, None)
    if video is not None and SECRET_QUERY.search(video):
        raise fields.error("video", "contains a passcode or token; publish a link without it")
    return Config(
        path=path.resolve(),
        group=fields.get("group", str),
        title=title,
        width=width,
        notes=(path.parent / fields.get("notes", str, "notes")).resolve(),
        schedule=_schedule(fields.sub("schedule")),
        roster=_roster(fields),
        video=video,
    )


def _schedule(fields: _Fields) -> Schedule:
    weekday = fields.get("weekday", str).lower()
    if weekday not in WEEKDAYS:
        raise fields.error(
            "weekday", f"unknown weekday {weekday!r}; use one of {', '.join(WEEKDAYS)}"
        )
    raw_time = fields.get("time", (str, int))
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", str(raw_time))
    if isinstance(raw_time, int) or match is None or int(match[1]) > 23 or int(match[2]) > 59:
        raise fields.error(
            "time", f"must be a quoted 24-hour time such as '17:00', not {raw_time!r}"
        )
    zone_name = fields.get("timezone", str)
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise fields.error(
            "timezone", f"unknown time zone {zone_name!r}; use an IANA name such as Europe/Berlin"
        ) from exc
    first = fields.get("first", dt.date)
    if first.weekday() != WEEKDAYS.index(weekday):
        raise fields.error("first", f"{first} is a {WEEKDAYS[first.weekday()]}, not a {weekday}")
    every = fields.get("every_weeks", int, 1)
    if every < 1:
        raise fields.error("every_weeks", f"must be 1 or more, not {every}")
    cancelled = fields.get("cancelled", list, [])
    if not all(isinstance(day, dt.date) for day in cancelled):
        raise fields.error("cancelled", "must be a list of dates written YYYY-MM-DD")
    moved = fields.get("moved", dict, {})
    if not all(isinstance(k, dt.date) and isinstance(v, dt.date) for k, v in moved.items()):
        raise fields.error("moved", "must map dates to dates, e.g. '2026-12-23: 2026-12-22'")
    return Schedule(
        weekday=WEEKDAYS.index(weekday),
        time=dt.time(int(match[1]), int(match[2])),
        zone=zone,
        every_weeks=every,
        first=first,
        duration=dt.timedelta(minutes=fields.get("duration_minutes", int, 60)),
        cancelled=frozenset(cancelled),
        moved=tuple(sorted(moved.items())),
    )


def _roster(fields: _Fields) -> tuple[Member, ...]:
    members = []
    for number, entry in enumerate(fields.get("roster", list, [])):
        member = _Fields(fields.path, entry, fields.lines, f"roster[{number}].")
        github = member.get("github", str, None)
        if github is not None and not re.fullmatch(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})", github):
            raise member.error("github", f"{github!r} is not a GitHub handle; write it without @")
        members.append(Member(member.get("name", str), github))
    return tuple(members)
