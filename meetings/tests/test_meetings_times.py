"""Dates and start times as written by hand, and the canonical form written back."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from wg_meetings.times import format_start, parse_date, parse_slash_date, parse_start

DAY = dt.date(2021, 7, 7)


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("1400ET", "2021-07-07T14:00:00-04:00"),
        ("1600 EDT", "2021-07-07T16:00:00-04:00"),
        ("16:00 UTC", "2021-07-07T16:00:00+00:00"),
        ("09:30 UTC+05:30 (04:00 UTC)", "2021-07-07T09:30:00+05:30"),
        ("9:05 Asia/Tokyo", "2021-07-07T09:05:00+09:00"),
        (
            "[1100ET](http://timesched.pocoo.org/?date=2021-12-01&range=960,1080)",
            "2021-07-07T11:00:00-04:00",
        ),
    ],
)
def test_understood(text: str, iso: str) -> None:
    start = parse_start(text, DAY)
    assert isinstance(start, dt.datetime)
    assert start.isoformat() == iso


@pytest.mark.parametrize("text", ["TBD", "1600", "2500 ET", "1600 Mars/Olympus", "1600 XYZ"])
def test_kept_as_written(text: str) -> None:
    assert parse_start(text, DAY) == text


def test_no_date_means_raw_text() -> None:
    assert parse_start("1600 ET", None) == "1600 ET"


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("12/02/23 - 1200EST", dt.date(2023, 2, 12)),  # day first, as the group wrote it
        ("02/13/23", dt.date(2023, 2, 13)),  # 13 cannot be a month: month first
        ("99/99/23", None),
        ("no date", None),
    ],
)
def test_slash_dates(text: str, day: dt.date | None) -> None:
    assert parse_slash_date(text) == day


def test_dates() -> None:
    assert parse_date("20201399 then 2020-12-31") == dt.date(2020, 12, 31)
    assert parse_date("meeting 00012") is None


@pytest.mark.parametrize(
    ("start", "text"),
    [
        (
            dt.datetime(2027, 7, 1, 17, tzinfo=ZoneInfo("Europe/Berlin")),
            "17:00 Europe/Berlin (15:00 UTC)",
        ),
        (dt.datetime(2027, 7, 1, 17, tzinfo=dt.UTC), "17:00 UTC"),
        (
            dt.datetime(2027, 7, 1, 17, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
            "17:00 UTC-05:00 (22:00 UTC)",
        ),
    ],
)
def test_format_start_round_trips(start: dt.datetime, text: str) -> None:
    assert format_start(start) == text
    assert parse_start(text, start.date()) == start
