"""``check`` on small folders made for each finding, and on bad files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from wg_meetings.check import check_dir
from wg_meetings.errors import MeetingsError
from wg_meetings.index import BEGIN, END, write_index
from wg_meetings.new import existing_meetings
from wg_meetings.times import format_start

GOOD = """\
# WG Meeting {n:05d}

## Meeting Info

Date: {date}
Start time: {start}
{extra}
## Participants

- Ada

## Agenda

- Roadmap

## Minutes

## Actions

{actions}
"""


def _notes(
    folder: Path, name: str, n: int, date: str, actions: str = "", extra: str = "", start: str = ""
) -> None:
    if not start:  # the canonical form, in summer or winter time
        day = dt.date.fromisoformat(date)
        start = format_start(dt.datetime.combine(day, dt.time(17), ZoneInfo("Europe/Berlin")))
    text = GOOD.format(n=n, date=date, actions=actions, extra=extra, start=start)
    (folder / name).write_text(text, encoding="utf-8")


def _found(folder: Path) -> list[str]:
    return [f.format(folder) for f in check_dir(folder)]


def test_clean_folder(tmp_path: Path) -> None:
    _notes(tmp_path, "meeting_00001_20270310.md", 1, "2027-03-10", "- [ ] Ada: x")
    _notes(tmp_path, "meeting_00002_20270324.md", 2, "2027-03-24", "- [ ] Ada: x")
    assert _found(tmp_path) == []


def test_each_finding(tmp_path: Path) -> None:
    _notes(
        tmp_path,
        "meeting_00001_20270310.md",
        1,
        "2027-03-11",
        "- [ ] Ada: write docs",
        "Video: https://zoom.us/j/1?pwd=secret \n",
    )
    _notes(tmp_path, "meeting_00002_20270324.md", 3, "2027-03-24", start="1600 ET")
    _notes(tmp_path, "meeting_00005_20270407.md", 5, "2027-04-07")
    (tmp_path / "meeting_00006_20270421.md").write_text("# WG Meeting 00006\n# Minutes\n")
    _notes(tmp_path, "meeting_00007_20270505.md", 5, "2027-05-05")
    assert _found(tmp_path) == [
        "meeting_00001_20270310.md:5: error[date-mismatch]: the notes say 2027-03-11 but the "
        "file name says 20270310; rename the file or fix the date",
        "meeting_00001_20270310.md:7: error[passcode]: a passcode or token is published; "
        "link the meeting without it",
        "meeting_00001_20270310.md:7: warning[trailing-whitespace]: trailing whitespace; delete it",
        "meeting_00001_20270310.md:21: warning[action-not-carried]: open action 'write docs' "
        "is not carried forward to meeting 3; strike it through when done",
        "meeting_00002_20270324.md:1: warning[number-gap]: meeting number 2 is missing before 3",
        "meeting_00002_20270324.md:1: error[number-mismatch]: title says meeting 3 but the "
        "file name says 2; rename the file or fix the title",
        "meeting_00002_20270324.md:6: warning[start-time-format]: start time '1600 ET' is read "
        "as 2027-03-24T16:00:00-04:00; write it as '16:00 America/New_York (20:00 UTC)'",
        "meeting_00005_20270407.md:1: warning[number-gap]: meeting number 4 is missing before 5",
        "meeting_00006_20270421.md:1: error[missing-date]: no date; add a line "
        "'Date: YYYY-MM-DD' under Meeting Info",
        "meeting_00006_20270421.md:1: error[missing-section]: no 'Actions' section; add a "
        "'## Actions' heading",
        "meeting_00006_20270421.md:1: error[missing-section]: no 'Agenda' section; add a "
        "'## Agenda' heading",
        "meeting_00006_20270421.md:1: error[missing-section]: no 'Meeting Info' section; add a "
        "'## Meeting Info' heading",
        "meeting_00006_20270421.md:1: error[missing-section]: no 'Participants' section; add a "
        "'## Participants' heading",
        "meeting_00006_20270421.md:1: warning[start-time]: start time missing is not "
        "understood; write it as 'Start time: HH:MM Area/City' (an IANA time zone)",
        "meeting_00006_20270421.md:2: warning[section-heading]: '# Minutes' is written "
        "'## Minutes' in our notes; rewrite it",
        "meeting_00007_20270505.md:1: error[duplicate-number]: meeting 5 is also "
        "meeting_00005_20270407.md; renumber one",
        "meeting_00007_20270505.md:1: error[number-mismatch]: title says meeting 5 but the "
        "file name says 7; rename the file or fix the title",
    ]


def test_bad_files_are_findings_not_crashes(tmp_path: Path) -> None:
    (tmp_path / "meeting_00001_20270310.md").write_bytes(b"# WG Meeting 1\n\n\xff\xfe\n")
    (tmp_path / "meeting_00002_20270324.md").write_text("# Shopping list\n- milk\n")
    (tmp_path / "meeting_2.md").write_text(
        GOOD.format(n=3, date="2027-04-07", actions="", extra="", start="17:00 UTC")
    )
    assert _found(tmp_path) == [
        "meeting_00001_20270310.md:3: error[not-notes]: invalid UTF-8 (byte 0xff at column 1); "
        "re-save the file as UTF-8",
        "meeting_00002_20270324.md:1: error[not-notes]: not meeting notes: expected a title "
        "such as '# <group> Meeting 00012' and the sections '## Meeting Info', "
        "'## Participants', '## Agenda', '## Minutes', '## Actions'; fix the heading or pass a "
        "notes file",
        "meeting_2.md:1: error[file-name]: file name is not meeting_NNNNN_YYYYMMDD.md; rename it",
    ]


def test_stale_index(tmp_path: Path) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    readme = tmp_path / "README.md"
    readme.write_text("# Our group\n\nIntro.\n", encoding="utf-8")
    _notes(notes, "meeting_00001_20270310.md", 1, "2027-03-10")
    assert write_index(readme, existing_meetings(notes))
    assert not write_index(readme, existing_meetings(notes))
    text = readme.read_text(encoding="utf-8")
    assert text.startswith("# Our group\n\nIntro.\n\n" + BEGIN + "\n| Meeting | Date |")
    assert "| 00001 | 2027-03-10 | 1 | Roadmap | [notes](notes/meeting_00001_20270310.md) |" in text
    assert check_dir(notes) == []
    _notes(notes, "meeting_00002_20270324.md", 2, "2027-03-24")
    assert [f.format(tmp_path) for f in check_dir(notes)] == [
        "README.md:5: error[stale-index]: the meetings index is stale; run `wg meetings index`"
    ]
    readme.write_text(text.replace(END, ""), encoding="utf-8")
    with pytest.raises(MeetingsError, match=r"README.md:5: .* has no matching"):
        check_dir(notes)


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(MeetingsError, match="no such folder"):
        check_dir(tmp_path / "nope")
