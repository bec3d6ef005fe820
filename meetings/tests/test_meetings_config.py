"""wg.yaml validation (errors name file:line and the fix) and the DST-correct schedule."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from wg_meetings.config import find_config, load_config
from wg_meetings.errors import MeetingsError


def test_valid_config(group: Path) -> None:
    config = load_config(group)
    assert config.title_for(7) == "Test WG Meeting 00007"
    assert config.notes == group.parent / "notes"
    assert [(m.name, m.github) for m in config.roster] == [("Ada Lovelace", "ada"), ("Grace", None)]
    assert config.schedule.duration == dt.timedelta(minutes=90)


def test_schedule_skips_cancellations_and_follows_dst(group: Path) -> None:
    schedule = load_config(group).schedule
    days = schedule.dates(dt.date(2027, 3, 1))
    first_four = [next(days) for _ in range(4)]
    # every two weeks from 2027-03-10; 2027-04-07 is cancelled
    assert first_four == [
        dt.date(2027, 3, 10),
        dt.date(2027, 3, 24),
        dt.date(2027, 4, 21),
        dt.date(2027, 5, 5),
    ]
    utc = [schedule.start_at(day).astimezone(dt.UTC).hour for day in first_four]
    assert utc == [16, 16, 15, 15]  # Berlin moves to summer time on 2027-03-28
    assert schedule.next_date(dt.date(2027, 3, 11)) == dt.date(2027, 3, 24)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "wg.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            ("Europe/Berlin", "Europe/Berln"),
            "wg.yaml:8: schedule.timezone: unknown time zone 'Europe/Berln'; use an IANA name",
        ),
        (('"17:00"', "17:00"), "wg.yaml:7: schedule.time: must be a quoted 24-hour time"),
        (("weekday: wednesday", "weekday: caturday"), "wg.yaml:6: schedule.weekday: unknown"),
        (
            ("first: 2027-03-10", "first: 2027-03-11"),
            "wg.yaml:10: schedule.first: 2027-03-11 is a thursday, not a wednesday",
        ),
        (("group: Test WG\n", ""), "wg.yaml:1: group: is required; add it"),
        (("test-wg", "test-wg?pwd=abc123"), "wg.yaml:17: video: contains a passcode"),
        (("github: ada", "github: '@ada'"), "wg.yaml:15: roster[0].github: '@ada' is not a GitHub"),
        (('title: "{group} Meeting {number}"', "title: Meeting"), "wg.yaml:2: title: must contain"),
        (("every_weeks: 2", "every_weeks: two"), "wg.yaml:9: schedule.every_weeks: must be a int"),
        (
            ("  - name: Grace", "  - name: [Grace"),
            "wg.yaml:17: invalid YAML: expected ',' or ']', but got ':'",
        ),
    ],
)
def test_bad_config_says_where_and_how(group: Path, edit: tuple[str, str], message: str) -> None:
    group.write_text(group.read_text().replace(*edit), encoding="utf-8")
    with pytest.raises(MeetingsError) as raised:
        load_config(group)
    assert str(raised.value).replace(str(group.parent) + "/", "").startswith(message)


def test_find_config_walks_up_and_honours_the_environment(
    group: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WG_MEETINGS_CONFIG", raising=False)
    deep = group.parent / "a" / "b"
    deep.mkdir(parents=True)
    assert find_config(deep) == group
    monkeypatch.setenv("WG_MEETINGS_CONFIG", "/elsewhere/wg.yaml")
    assert find_config(deep) == Path("/elsewhere/wg.yaml")


def test_invalid_utf8_config(tmp_path: Path) -> None:
    path = tmp_path / "wg.yaml"
    path.write_bytes(b"group: ok\ntitle: \xe9t\xe9\n")
    with pytest.raises(MeetingsError, match=r"wg.yaml:2: invalid UTF-8 \(byte 0xe9 at column 8\)"):
        load_config(path)


def test_moved_meetings(group: Path) -> None:
    text = group.read_text(encoding="utf-8").replace(
        "  cancelled: [2027-04-07]\n",
        "  cancelled: [2027-04-07]\n  moved: {2027-03-24: 2027-03-23}\n",
    )
    group.write_text(text, encoding="utf-8")
    schedule = load_config(group).schedule
    days = schedule.dates(dt.date(2027, 3, 11))
    assert [next(days), next(days)] == [dt.date(2027, 3, 23), dt.date(2027, 4, 21)]
