"""Dates and start times as people write them (``20200526``, ``1600 ET (-5 UTC)``, ``TBD``...)."""

from __future__ import annotations

import datetime as dt
import re
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# Abbreviations seen in notes. "ET" names the New York wall clock (DST-aware); EST/EDT are the
# fixed offsets they literally spell, so "1600 EST" in October keeps the offset it was written with.
_ABBREVIATIONS: dict[str, dt.tzinfo] = {
    "UTC": dt.UTC,
    "GMT": dt.UTC,
    "Z": dt.UTC,
    "ET": ZoneInfo("America/New_York"),
    "EST": dt.timezone(dt.timedelta(hours=-5), "EST"),
    "EDT": dt.timezone(dt.timedelta(hours=-4), "EDT"),
    "CT": ZoneInfo("America/Chicago"),
    "PT": ZoneInfo("America/Los_Angeles"),
    "PST": dt.timezone(dt.timedelta(hours=-8), "PST"),
    "PDT": dt.timezone(dt.timedelta(hours=-7), "PDT"),
    "CET": dt.timezone(dt.timedelta(hours=1), "CET"),
    "CEST": dt.timezone(dt.timedelta(hours=2), "CEST"),
    "BST": dt.timezone(dt.timedelta(hours=1), "BST"),
}

#: Longest time zone name looked up; IANA names are at most about 30 characters, and the
#: lookup recurses once per '/' of the name.
MAX_ZONE_NAME = 64
_DATE = re.compile(r"(?<!\d)(\d{4})-?(\d{2})-?(\d{2})(?!\d)")
_SLASH_DATE = re.compile(r"(?<!\d)(\d{1,2})/(\d{1,2})/(\d{2}|\d{4})(?!\d)")
# Neither part may hold a bracket, so a line of "[a](" repeated is scanned once, not once a "[".
_LINK = re.compile(r"\[([^\[\]]*)\]\(([^()\[\]\s]*)\)")
_LINK_DATE = re.compile(r"[?&]date=(\d{4}-\d{2}-\d{2})")
_TIME = re.compile(
    r"(?<![\d/])(?P<h>\d{1,2}):?(?P<m>\d{2})(?![\d/])\s*"
    r"(?P<zone>UTC[+-]\d{2}:\d{2}|[A-Za-z]+(?:/[A-Za-z0-9_+-]+)*)?"
)


def parse_date(text: str) -> dt.date | None:
    """The first ``YYYYMMDD`` or ``YYYY-MM-DD`` date in ``text`` that exists, else ``None``.

    Examples
    --------
    >>> parse_date("Date: 2022-01-14"), parse_date("20200526"), parse_date("soon")
    (datetime.date(2022, 1, 14), datetime.date(2020, 5, 26), None)
    """
    for match in _DATE.finditer(text):
        try:
            return dt.date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            continue
    return None


def impossible_date(text: str) -> str | None:
    """The first ``YYYYMMDD`` or ``YYYY-MM-DD`` in ``text`` that is no day of the calendar.

    Examples
    --------
    >>> impossible_date("Date: 2021-02-30"), impossible_date("Date: 2021-02-28")
    ('2021-02-30', None)
    """
    for match in _DATE.finditer(text):
        try:
            dt.date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            return match[0]
    return None


def parse_slash_date(text: str) -> dt.date | None:
    """A ``DD/MM/YY`` date, using a linked ``date=YYYY-MM-DD`` to settle day/month order.

    Examples
    --------
    >>> parse_slash_date("[12/02/23 - 1200EST](http://t.org/?date=2023-02-12&tz=utc)")
    datetime.date(2023, 2, 12)
    """
    linked = _LINK_DATE.search(text)
    if linked:
        return dt.date.fromisoformat(linked[1])
    match = _SLASH_DATE.search(text)
    if not match:
        return None
    first, second, year = int(match[1]), int(match[2]), int(match[3])
    year += 2000 if year < 100 else 0
    for day, month in ((first, second), (second, first)):
        try:
            return dt.date(year, month, day)
        except ValueError:
            continue
    return None


def iana_zone(name: str) -> ZoneInfo | None:
    """The IANA time zone ``name`` (``Europe/Berlin``), else ``None``.

    A name may be anything a user wrote: a folder of the tz database (``America/Argentina``), a
    name too long for the file system, a path; every one that is not a zone is ``None``.

    Examples
    --------
    >>> iana_zone("Europe/Berlin").key, iana_zone("America/Argentina"), iana_zone("../etc")
    ('Europe/Berlin', None, None)
    """
    if len(name) > MAX_ZONE_NAME:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


@cache
def zone_named(name: str) -> dt.tzinfo | None:
    """The time zone for an abbreviation (``ET``), ``UTC+01:00`` or IANA name, else ``None``."""
    if name.upper() in _ABBREVIATIONS:
        return _ABBREVIATIONS[name.upper()]
    offset = re.fullmatch(r"UTC([+-])(\d{2}):(\d{2})", name)
    if offset:
        sign = 1 if offset[1] == "+" else -1
        delta = dt.timedelta(hours=int(offset[2]), minutes=int(offset[3]))
        return dt.timezone(sign * delta)
    if "/" not in name:
        return None
    return iana_zone(name)


def parse_start(text: str, day: dt.date | None) -> dt.datetime | str | None:
    """Understand a start time; return an aware datetime, else the raw text, else ``None``.

    Examples
    --------
    >>> day = dt.date(2021, 1, 12)
    >>> parse_start("1600 ET (-5 UTC)", day).isoformat()
    '2021-01-12T16:00:00-05:00'
    >>> parse_start("17:30 Europe/Berlin (16:30 UTC)", day).isoformat()
    '2021-01-12T17:30:00+01:00'
    >>> parse_start("1600", day), parse_start("TBD", day), parse_start("  ", day)
    ('1600', 'TBD', None)
    """
    raw = text.strip()
    if not raw:
        return None
    plain = _LINK.sub(r"\1", raw)
    match = _TIME.search(plain)
    zone = zone_named(match["zone"]) if match and match["zone"] else None
    if match is None or zone is None or day is None:
        return raw
    hour, minute = int(match["h"]), int(match["m"])
    if hour > 23 or minute > 59:
        return raw
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=zone)


def format_start(start: dt.datetime) -> str:
    """Write a start time in its own zone and in UTC, the way ``parse_start`` reads it back.

    Examples
    --------
    >>> format_start(dt.datetime(2026, 12, 2, 17, 0, tzinfo=ZoneInfo("Europe/Berlin")))
    '17:00 Europe/Berlin (16:00 UTC)'
    """
    tz = start.tzinfo
    if isinstance(tz, ZoneInfo):
        zone = tz.key
    elif start.utcoffset() == dt.timedelta(0):
        zone = "UTC"
    else:
        zone = "UTC" + start.strftime("%z")[:3] + ":" + start.strftime("%z")[3:]
    utc = start.astimezone(dt.UTC)
    text = f"{start:%H:%M} {zone}"
    return text if zone == "UTC" else f"{text} ({utc:%H:%M} UTC)"
