"""``new``: numbering, schedule, roster, agenda YAML, carried actions, never overwriting."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from wg_meetings.config import load_config
from wg_meetings.errors import MeetingsError
from wg_meetings.new import new_meeting, write_new
from wg_meetings.parser import parse_file

TODAY = dt.date(2027, 3, 1)


def test_first_meeting_from_the_schedule(group: Path) -> None:
    notes = new_meeting(load_config(group), today=TODAY)
    assert notes.path == group.parent / "notes" / "meeting_00001_20270310.md"
    assert notes.text.startswith("# Test WG Meeting 00001\n\n## Meeting Info\n\nDate: 2027-03-10\n")
    assert "Start time: 17:00 Europe/Berlin (16:00 UTC)\n" in notes.text
    assert "Video: https://meet.example.org/test-wg\nNext meeting: 2027-03-24\n" in notes.text
    assert "- [Ada Lovelace](https://github.com/ada)\n- Grace\n" in notes.text
    for section in ("Participants", "Agenda", "Minutes", "Actions"):
        assert f"\n## {section}\n" in notes.text
    assert not notes.path.exists()  # building is not writing
    write_new(notes)
    assert parse_file(notes.path) == notes.meeting


def test_summer_time_start_and_utc(group: Path) -> None:
    notes = new_meeting(load_config(group), dt.date(2027, 4, 21), today=TODAY)
    assert "Start time: 17:00 Europe/Berlin (15:00 UTC)\n" in notes.text


def _write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def test_number_gaps_and_carried_actions(group: Path) -> None:
    notes_dir = group.parent / "notes"
    _write(
        notes_dir / "meeting_00001_20270224.md",
        "# Test WG Meeting 00001\n## Actions\n- [ ] Ada: old task _(open since meeting 00001)_\n",
    )
    _write(
        notes_dir / "meeting_00003_20270310.md",
        "# Test WG Meeting 00003\n"
        "## Participants\n- Grace\n## Actions\n"
        "- [ ] Ada: old task _(open since meeting 00001)_\n"
        "- ~~Grace: finished task~~\n- [x] Grace: checked task\n"
        "- Grace will write the docs\n- unowned task\n",
    )
    _write(
        notes_dir / "meeting_00004_20270324.md",
        "# Test WG Meeting 00004\n## Meeting Info\n* cancelled *\n",
    )
    notes = new_meeting(load_config(group), today=TODAY)
    assert notes.path.name == "meeting_00005_20270421.md"  # 04-07 is cancelled
    assert notes.messages[0].endswith(f"meeting numbers missing from {notes_dir}: [2]")
    assert notes.messages[1] == "1 action item(s) open for 3 or more meetings"
    actions = notes.text.split("## Actions\n\n")[1]
    assert actions == (
        "- [ ] Ada: old task _(open since meeting 00001, 4 meetings: overdue)_\n"
        "- [ ] Grace: Grace will write the docs _(open since meeting 00003)_\n"
        "- [ ] unowned task _(open since meeting 00003)_\n"
    )


def test_agenda_yaml(group: Path, tmp_path: Path) -> None:
    agenda = tmp_path / "agenda.yaml"
    _write(
        agenda,
        "- Welcome\n- title: Roadmap\n  owner: Ada\n  link: https://example.org/r\n"
        "  items:\n    - Q1\n    - title: Q2\n      items: [hiring]\n",
    )
    notes = new_meeting(load_config(group), agenda_file=agenda, today=TODAY)
    assert (
        "## Agenda\n\n- Welcome\n- Ada: Roadmap <https://example.org/r>\n  - Q1\n  - Q2\n"
        "    - hiring\n" in notes.text
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("title: x\n", "agenda.yaml:1: an agenda must be a list of items"),
        ("- title: a\n  when: now\n", "agenda.yaml:2: [0].when: unknown key"),
        (
            "- title: a\n  link: ftp://x\n",
            "agenda.yaml:2: [0].link: 'ftp://x' is not an http(s) URL",
        ),
        ("- owner: Ada\n", "agenda.yaml:1: [0].title: is required"),
        (
            "- [a\n",
            "agenda.yaml:2: invalid YAML: expected ',' or ']', but got '<stream end>' "
            "(check the indentation, quoting and colons on that line)",
        ),
    ],
)
def test_bad_agenda(group: Path, tmp_path: Path, text: str, message: str) -> None:
    agenda = tmp_path / "agenda.yaml"
    _write(agenda, text)
    with pytest.raises(MeetingsError) as raised:
        new_meeting(load_config(group), agenda_file=agenda, today=TODAY)
    assert str(raised.value).replace(f"{tmp_path}/", "").startswith(message)


def test_date_in_the_past_is_refused(group: Path) -> None:
    with pytest.raises(
        MeetingsError,
        match=r"--date 2027-02-28 is in the past \(today is "
        r"2027-03-01 in Europe/Berlin\); pick today or a later date",
    ):
        new_meeting(load_config(group), dt.date(2027, 2, 28), today=TODAY)


def test_never_overwrites(group: Path) -> None:
    notes = new_meeting(load_config(group), dt.date(2027, 3, 10), today=TODAY)
    notes.path.write_text("hand-written", encoding="utf-8")
    with pytest.raises(MeetingsError, match="already exists; it is never overwritten"):
        write_new(notes)
    assert notes.path.read_text(encoding="utf-8") == "hand-written"
