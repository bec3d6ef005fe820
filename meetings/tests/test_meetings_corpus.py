"""The parser and the checks against the 36 real notes of the Rust ML working group."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from wg_meetings.check import check_dir
from wg_meetings.parser import notes_in, parse_file, parse_text
from wg_meetings.render import render
from wg_meetings.report import compare, read_expected

pytestmark = pytest.mark.corpus
EXPECTED = Path(__file__).parent / "data" / "rust_ml_corpus_findings.txt"


def test_every_file_parses_with_its_number(corpus: Path) -> None:
    paths = notes_in(corpus)
    assert len(paths) == 36
    for path in paths:
        meeting = parse_file(path)
        assert meeting.number == int(path.name[8:13]), path


@pytest.mark.parametrize(
    ("name", "start"),
    [
        ("meeting_00002_20200512.md", "2020-05-12T18:00:00-04:00"),  # 1800 EDT, in the preamble
        ("meeting_00003_20200526.md", "2020-05-26T15:00:00-04:00"),  # 1500EDT
        ("meeting_00012_20201020.md", "2020-10-20T16:00:00-05:00"),  # 1600 EST, as written
        ("meeting_00017_20210105.md", "2021-01-12T16:00:00-05:00"),  # 1600 ET (-5 UTC)
        ("meeting_00022_20210331.md", "2021-03-31T14:00:00-04:00"),  # 1400ET, after DST
        ("meeting_00033_20211201.md", "2021-12-01T11:00:00-05:00"),  # [1100ET](link)
        ("meeting_00039_20220212.md", "2023-02-12T12:00:00-05:00"),  # Time: [12/02/23 - 1200EST]
    ],
)
def test_start_times_written_many_ways(corpus: Path, name: str, start: str) -> None:
    value = parse_file(corpus / name).start
    assert isinstance(value, dt.datetime)
    assert value.isoformat() == start


def test_raw_start_times_and_cancellation(corpus: Path) -> None:
    assert parse_file(corpus / "meeting_00004_20200609.md").start == "1600"
    assert parse_file(corpus / "meeting_00028_20210707.md").start == "TBD"
    cancelled = parse_file(corpus / "meeting_00013_20201103.md")
    assert cancelled.cancelled
    assert cancelled.date == dt.date(2020, 11, 3)  # from the file name: the notes give none
    assert not parse_file(corpus / "meeting_00014_20201117.md").cancelled


def test_actions_owners_and_done(corpus: Path) -> None:
    actions = parse_file(corpus / "meeting_00016_20201215.md").actions
    assert [(a.done, a.owner) for a in actions] == [(True, None), (False, None), (False, None)]
    assert actions[0].text == "Add https://github.com/wsmoses to tsuga"
    owners = [a.owner for a in parse_file(corpus / "meeting_00012_20201020.md").actions]
    assert owners == ["chrism", "ricky", "ricky", "chrism"]
    first = parse_file(corpus / "meeting_00005_20200623.md").actions[0]
    assert first.owner == "Tiberio"  # from the sub-item "Tiberio will take a look"


def test_level_one_headings_and_action_items(corpus: Path) -> None:
    meeting = parse_file(corpus / "meeting_00035_20220114.md")
    assert meeting.date == dt.date(2022, 1, 14)
    assert [p.name for p in meeting.participants] == ["chrism", "Yuhan", "Qing Wang", "lorenz"]
    assert len(meeting.actions) == 2
    assert meeting.minutes[0].bullets[0].text == "Some smaller updates on Linfa"


def test_participants_agenda_and_next_meeting(corpus: Path) -> None:
    meeting = parse_file(corpus / "meeting_00009_20200909.md")
    assert meeting.participants[0].name == "Ricky"
    assert meeting.participants[0].handle == "degausser"
    first = parse_file(corpus / "meeting_00001_20200421.md")
    assert first.agenda[1].checked is True
    assert first.agenda[2].children[0].text == "Start researching crates"
    assert first.next_meeting is not None
    assert first.next_meeting.startswith("Plan for three weeks")
    video = parse_file(corpus / "meeting_00010_20200922.md").video
    assert video == "https://ucsb.zoom.us/j/6601852842"


def test_render_then_parse_gives_the_same_model(corpus: Path) -> None:
    for path in notes_in(corpus):
        meeting = parse_file(path)
        assert parse_text(render(meeting), str(path)) == meeting, path


def test_check_reports_exactly_the_known_findings(corpus: Path) -> None:
    findings = check_dir(corpus)
    assert compare([f.format(corpus) for f in findings], read_expected(EXPECTED)) == []
    codes = {f.code for f in findings}
    assert codes == {
        "action-not-carried",
        "date-mismatch",
        "missing-section",
        "number-gap",
        "passcode",
        "section-heading",
        "start-time",
        "start-time-format",
        "trailing-whitespace",
    }
    mismatched = sorted(Path(f.path).name[8:13] for f in findings if f.code == "date-mismatch")
    assert mismatched == ["00017", "00020", "00031", "00039"]
    assert len({f.path for f in findings if f.code == "passcode"}) == 9
