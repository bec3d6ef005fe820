"""Hostile input to ``wg meetings`` (issue 18): every case ends in a one-line error or a finding.

Each test asserts the exit code and the exact message; none may print a traceback.
"""

from __future__ import annotations

import ast
import datetime as dt
import json
import os
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from wg_meetings.check import check_document
from wg_meetings.config import load_config
from wg_meetings.errors import MeetingsError
from wg_meetings.model import Meeting
from wg_meetings.new import new_meeting, write_new
from wg_meetings.parser import parse_document, parse_text
from wg_meetings.render import render

from wg.cli import main

NOTES_1 = """\
# Test WG Meeting 00001
## Meeting Info
Date: 2027-03-10
Start time: 17:00 Europe/Berlin (16:00 UTC)
## Participants
## Agenda
- Roadmap
## Minutes
## Actions
"""


#: The character devices the tests write: /dev/null, /dev/full, /dev/zero (major 1).
DEVICES = {"null": 3, "full": 7, "zero": 5}


@pytest.fixture
def device(tmp_path: Path) -> Callable[[str], Path]:
    """A character device by name. As root, a private node in ``tmp_path``: a regression that
    renamed over its output would otherwise replace the machine's own /dev/null for everyone."""

    def make(name: str) -> Path:
        if os.geteuid() != 0:
            real = Path("/dev", name)
            if not real.exists() or not stat.S_ISCHR(real.stat().st_mode):
                pytest.skip(f"{real} is not a character device here")
            return real
        node = tmp_path / f"dev-{name}"
        try:
            os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(1, DEVICES[name]))
        except OSError as exc:
            pytest.skip(f"cannot make a private /dev/{name} ({exc.strerror})")
        return node

    return make


def _run(*args: str | Path) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["meetings", *map(str, args)])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return result.exit_code, result.output


def refused(path: Path) -> str:
    """The CLI's output when ``path`` is both an output and an input of the command."""
    return (
        f"Error: cannot write {path}: it is also an input of this command "
        "(choose another output path)\n"
    )


@pytest.fixture
def first(group: Path) -> Path:
    """The group's notes of meeting 1 (the schedule's first day, 2027-03-10)."""
    path = group.parent / "notes" / "meeting_00001_20270310.md"
    path.write_text(NOTES_1, encoding="utf-8")
    return path


# --- item 2: an output that is one of the inputs is refused ---------------------------------


def test_ics_onto_a_notes_file_is_refused(group: Path, first: Path) -> None:
    code, output = _run("--config", group, "ics", "1", "-o", first)
    assert (code, output) == (1, refused(first))
    assert first.read_text(encoding="utf-8") == NOTES_1


def test_ics_onto_the_config_through_a_link_is_refused(group: Path, first: Path) -> None:
    link = group.parent / "next.ics"
    link.symlink_to(group)
    before = group.read_bytes()
    code, output = _run("--config", group, "ics", "-o", link)
    assert (code, output) == (1, refused(link))
    assert group.read_bytes() == before


def test_index_into_a_readme_that_is_a_notes_file_is_refused(group: Path, first: Path) -> None:
    readme = group.parent / "README.md"
    readme.symlink_to(first)
    code, output = _run("--config", group, "index")
    assert (code, output) == (1, refused(readme))
    assert first.read_text(encoding="utf-8") == NOTES_1


# --- item 1: what the output path is, is kept -----------------------------------------------


def test_ics_through_a_symlink_writes_its_target(group: Path, first: Path) -> None:
    target = group.parent / "calendar.ics"
    target.write_text("old", encoding="utf-8")
    link = group.parent / "next.ics"
    link.symlink_to(target)
    assert _run("--config", group, "ics", "1", "-o", link) == (0, f"wrote {link}\n")
    assert link.is_symlink()
    assert target.read_text(encoding="utf-8").startswith("BEGIN:VCALENDAR")


def test_ics_to_dev_null_keeps_the_device(
    group: Path, first: Path, device: Callable[[str], Path]
) -> None:
    null = device("null")
    assert _run("--config", group, "ics", "1", "-o", null) == (0, f"wrote {null}\n")
    assert stat.S_ISCHR(null.stat().st_mode)


# --- item 14: writes that fail ----------------------------------------------------------------

FULL = "No space left on device (the disk is full: free some space or write to another disk)"


def test_ics_onto_a_full_disk(group: Path, first: Path, device: Callable[[str], Path]) -> None:
    full = device("full")
    code, output = _run("--config", group, "ics", "1", "-o", full)
    assert (code, output) == (1, f"Error: cannot write {full}: {FULL}\n")
    assert stat.S_ISCHR(full.stat().st_mode)


@pytest.mark.parametrize("command", [["ics", "1"], ["new", "--dry-run"], ["check"]])
def test_stdout_on_a_full_disk(
    group: Path, first: Path, command: list[str], device: Callable[[str], Path]
) -> None:
    script = (
        "from wg_io.streams import run_command; from wg.cli import main; run_command(main, 'wg')"
    )
    with open(device("full"), "wb") as full:
        done = subprocess.run(
            [sys.executable, "-c", script, "meetings", "--config", str(group), *command],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            check=False,
        )
    assert (done.returncode, done.stderr) == (1, f"wg: cannot write standard output: {FULL}\n")


# --- item 20: modes -------------------------------------------------------------------------


@pytest.fixture
def umask_027() -> Iterator[None]:
    old = os.umask(0o027)
    try:
        yield
    finally:
        os.umask(old)


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o600])
def test_index_keeps_the_readme_mode(group: Path, first: Path, mode: int) -> None:
    readme = group.parent / "README.md"
    readme.write_text("# Test WG\n", encoding="utf-8")
    readme.chmod(mode)
    assert _run("--config", group, "index") == (0, f"updated {readme}\n")
    assert stat.S_IMODE(readme.stat().st_mode) == mode


def test_new_notes_and_a_new_readme_take_the_umask(group: Path, umask_027: None) -> None:
    code, output = _run("--config", group, "new", "--date", "2099-01-07")
    written = group.parent / "notes" / "meeting_00001_20990107.md"
    assert (code, output) == (0, f"wrote {written}\n")
    assert stat.S_IMODE(written.stat().st_mode) == 0o640
    readme = group.parent / "README.md"
    assert _run("--config", group, "index") == (0, f"updated {readme}\n")
    assert stat.S_IMODE(readme.stat().st_mode) == 0o640
    assert sorted(p.name for p in group.parent.rglob("*")) == [
        "README.md",
        "meeting_00001_20990107.md",
        "notes",
        "wg.yaml",
    ]


def test_new_never_writes_through_a_dangling_link(group: Path) -> None:
    link = group.parent / "notes" / "meeting_00001_20990107.md"
    link.symlink_to(group.parent / "elsewhere.md")
    code, output = _run("--config", group, "new", "--date", "2099-01-07")
    assert (code, output) == (
        1,
        f"Error: {link}: cannot read the file: No such file or directory\n",
    )
    assert not (group.parent / "elsewhere.md").exists()


def test_write_new_refuses_a_dangling_link(group: Path) -> None:
    notes = new_meeting(load_config(group), dt.date(2099, 1, 7), today=dt.date(2099, 1, 1))
    notes.path.symlink_to(group.parent / "elsewhere.md")
    with pytest.raises(MeetingsError) as raised:
        write_new(notes)
    assert str(raised.value) == (
        f"{notes.path}: already exists; it is never overwritten (edit it instead)"
    )
    assert not (group.parent / "elsewhere.md").exists()


# --- reading: only regular files, of a bounded size -----------------------------------------


def test_config_that_is_a_device_is_refused_unread(device: Callable[[str], Path]) -> None:
    zero = device("zero")
    code, output = _run("--config", zero, "new", "--dry-run")
    assert (code, output) == (1, f"Error: {zero}: not a regular file; pass a text file\n")


def test_a_fifo_among_the_notes_is_a_finding_not_a_hang(tmp_path: Path) -> None:
    fifo = tmp_path / "meeting_00001_20270310.md"
    os.mkfifo(fifo)
    code, output = _run("check", tmp_path)
    assert (code, output.splitlines()) == (
        1,
        [
            f"{fifo}:1: error[not-notes]: not a regular file; pass a text file",
            f"{tmp_path}: 1 error, 0 warnings",
        ],
    )


def test_a_huge_notes_file_is_refused(tmp_path: Path) -> None:
    huge = tmp_path / "meeting_00001_20270310.md"
    huge.write_bytes(b"# WG Meeting 00001\n" + b"x" * (4 * 2**20))
    code, output = _run("parse", huge)
    assert (code, output) == (
        1,
        f"Error: {huge}: larger than 4 MiB, the most read from such a file; check the path\n",
    )


# --- item 9: YAML that expands without bound ------------------------------------------------


def _laughs(levels: int, width: int) -> str:
    lines = ["a0: &a0 [" + ", ".join(["lol"] * width) + "]"]
    for level in range(1, levels):
        refs = ", ".join([f"*a{level - 1}"] * width)
        lines.append(f"a{level}: &a{level} [{refs}]")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # the billion laughs: 80 aliases, 10**9 values
        (
            _laughs(9, 10),
            "4: aliases expand this file to more than 10000 values; write the values out",
        ),
        # 2**50 values from 98 aliases
        (
            _laughs(50, 2),
            "13: aliases expand this file to more than 10000 values; write the values out",
        ),
        (
            "a: &a x\nb: [" + ", ".join(["*a"] * 101) + "]\n",
            "2: more than 100 YAML aliases; write the values out",
        ),
        ("a: &a [1, *a]\n", "1: an alias refers to a value that contains it; write the values out"),
        (
            "a: " + "[" * 5000 + "]" * 5000 + "\n",
            "1: nested more than 200 levels deep; flatten the document",
        ),
    ],
    ids=["billion-laughs", "doubling", "many-aliases", "recursive", "deep"],
)
def test_yaml_that_expands_is_refused(tmp_path: Path, text: str, message: str) -> None:
    config = tmp_path / "wg.yaml"
    config.write_text(text, encoding="utf-8")
    for command in (["new", "--dry-run"], ["check"]):
        code, output = _run("--config", config, *command)
        assert (code, output) == (1, f"Error: {config}:{message}\n")


# --- item 13: wrong values in wg.yaml and on the command line -------------------------------


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            ("first: 2027-03-10", "first: 2021-02-30"),
            "10: schedule.first: 2021-02-30 is not a valid value "
            "(day is out of range for month); fix it",
        ),
        (
            ("cancelled: [2027-04-07]", "cancelled: [2027-13-07]"),
            "12: schedule.cancelled[0]: 2027-13-07 is not a valid value "
            "(month must be in 1..12); fix it",
        ),
        (
            ("first: 2027-03-10", "first: 2027-03-10 17:00:00"),
            "10: schedule.first: must be a day written YYYY-MM-DD up to 8999-12-31, "
            "not datetime.datetime(2027, 3, 10, 17, 0)",
        ),
        (
            ("first: 2027-03-10", "first: 9999-12-29"),
            "10: schedule.first: must be a day written YYYY-MM-DD up to 8999-12-31, "
            "not datetime.date(9999, 12, 29)",
        ),
        (
            ("cancelled: [2027-04-07]", "cancelled: [9999-12-31]"),
            "12: schedule.cancelled: must be a list of days written YYYY-MM-DD up to 8999-12-31",
        ),
        (
            ("every_weeks: 2", "every_weeks: 1000000000000"),
            "9: schedule.every_weeks: must be between 1 and 52, not 1000000000000",
        ),
        (
            ("duration_minutes: 90", "duration_minutes: -5"),
            "11: schedule.duration_minutes: must be between 1 and 1440, not -5",
        ),
        (
            ("Europe/Berlin", "America/Argentina"),
            "8: schedule.timezone: unknown time zone 'America/Argentina'; use an IANA name "
            "such as Europe/Berlin",
        ),
        (
            ("Europe/Berlin", "A/" + "a" * 300),
            "8: schedule.timezone: unknown time zone 'A/" + "a" * 54 + "...; use an IANA name "
            "such as Europe/Berlin",
        ),
        (
            ('"{group} Meeting {number}"', '"{foo} {number}"'),
            "2: title: may contain only {group} and {number}, e.g. '{group} Meeting {number}'",
        ),
        (
            ('"{group} Meeting {number}"', '"{number.real} {number!r}"'),
            "2: title: may contain only {group} and {number}, e.g. '{group} Meeting {number}'",
        ),
        (
            ('"{group} Meeting {number}"', '"{group} Meeting {number"'),
            "2: title: expected '}' before end of string; write braces as {{ and }}",
        ),
        (
            ("group: Test WG", "group: [" + ", ".join(["x"] * 50) + "]"),
            "1: group: must be a str, not [" + "'x', " * 11 + "'...",
        ),
    ],
)
def test_bad_config_values_are_one_line(group: Path, edit: tuple[str, str], message: str) -> None:
    text = group.read_text(encoding="utf-8")
    assert edit[0] in text
    group.write_text(text.replace(*edit), encoding="utf-8")
    for command in (["new", "--dry-run"], ["ics"]):
        assert _run("--config", group, *command) == (1, f"Error: {group}:{message}\n")


WIDE = "\uff12\uff10\uff12\uff17-\uff10\uff13-\uff11\uff10"  # 2027-03-10 in wide digits


@pytest.mark.parametrize(
    ("day", "code", "message"),
    [
        (
            "2021-02-30",
            2,
            "Invalid value for '--date': 2021-02-30 is not a day of the calendar "
            "(day is out of range for month); give a real date",
        ),
        (
            "0000-01-01",
            2,
            "Invalid value for '--date': 0000-01-01 is not a day of the calendar "
            "(year 0 is out of range); give a real date",
        ),
        (
            WIDE,
            2,
            f"Invalid value for '--date': '{WIDE}' is not written YYYY-MM-DD (e.g. 2027-03-10)",
        ),
        (
            "2" * 10**5,
            2,
            "Invalid value for '--date': '" + "2" * 37 + "'... is not written YYYY-MM-DD "
            "(e.g. 2027-03-10)",
        ),
        (
            "9999-12-31",
            1,
            "--date 9999-12-31 is after 8999-12-31, the last day a meeting may be on; "
            "pick an earlier date",
        ),
    ],
    ids=["impossible", "year-0", "wide-digits", "long", "too-late"],
)
def test_bad_dates_on_the_command_line(group: Path, day: str, code: int, message: str) -> None:
    got_code, output = _run("--config", group, "new", "--date", day, "--dry-run")
    assert (got_code, output.splitlines()[-1]) == (code, f"Error: {message}")


def test_the_last_day_is_accepted(group: Path) -> None:
    code, output = _run("--config", group, "new", "--date", "8999-12-31", "--dry-run")
    assert code == 0
    assert "Date: 8999-12-31\n" in output


# --- item 16: dates and titles in notes -----------------------------------------------------


def test_an_impossible_date_in_notes_is_reported_at_its_line(group: Path, first: Path) -> None:
    first.write_text(NOTES_1.replace("Date: 2027-03-10", "\n\nDate: 2021-02-30"), encoding="utf-8")
    code, output = _run("--config", group, "check")
    assert (code, output.splitlines()) == (
        1,
        [
            f"{first}:5: error[invalid-date]: '2021-02-30' is not a day of the calendar; "
            "write the date as YYYY-MM-DD",
            f"{first}:6: warning[start-time]: start time '17:00 Europe/Berlin (16:00 UTC)' is "
            "not understood; write it as 'Start time: HH:MM Area/City' (an IANA time zone)",
            f"{first.parent}: 1 error, 1 warning",
        ],
    )


def test_a_title_without_a_number_is_refused_by_check_and_new_alike(
    group: Path, first: Path
) -> None:
    first.write_text(NOTES_1.replace("# Test WG Meeting 00001", "#Test WG Meeting 00001"))
    no_number = (
        "the title has no meeting number; start the file with a title such as '# WG Meeting 00012'"
    )
    code, output = _run("--config", group, "check")
    assert (code, output.splitlines()) == (
        1,
        [
            f"{first}:1: error[missing-number]: {no_number}",
            f"{first.parent}: 1 error, 0 warnings",
        ],
    )
    assert _run("--config", group, "new", "--dry-run") == (1, f"Error: {first}:1: {no_number}\n")


# --- item 12: deep nesting, and the parser on any text (hypothesis) -------------------------
# 3,000 levels take 4.5 million indenting characters at the least: over the 4 MiB read limit.

HEAD = "# WG Meeting 00003\n## Meeting Info\nDate: 2027-01-06\n## Agenda\n"


def _nested(depth: int, unit: str = " ", bullet: str = "- ") -> str:
    return HEAD + "".join(f"{unit * level}{bullet}item {level}\n" for level in range(depth))


def test_a_list_200_deep_is_read(tmp_path: Path) -> None:
    notes = tmp_path / "meeting_00003_20270106.md"
    notes.write_text(_nested(200), encoding="utf-8")
    code, output = _run("parse", "--json", notes)
    assert code == 0
    item = json.loads(output)[0]["agenda"][0]
    for _ in range(199):
        [item] = item["items"]
    assert (item["text"], item["items"]) == ("item 199", [])
    code, output = _run("check", tmp_path)
    assert (code, output.splitlines()[-1]) == (1, f"{tmp_path}: 3 errors, 1 warning")
    assert "not-notes" not in output


def test_3000_levels_are_over_the_size_limit(tmp_path: Path) -> None:
    notes = tmp_path / "meeting_00003_20270106.md"
    notes.write_text(_nested(3000, unit="\t"), encoding="utf-8")
    big = "larger than 4 MiB, the most read from such a file; check the path"
    assert _run("parse", notes) == (1, f"Error: {notes}: {big}\n")


@pytest.mark.parametrize("depth", [201, 1000])
def test_a_list_nested_deeper_is_one_line(tmp_path: Path, group: Path, depth: int) -> None:
    notes = group.parent / "notes" / "meeting_00003_20270106.md"
    notes.write_text(_nested(depth, unit="\t"), encoding="utf-8")
    too_deep = f"{notes}:205: a list nested more than 200 levels deep; flatten it"
    assert _run("parse", notes) == (1, f"Error: {too_deep}\n")
    assert _run("--config", group, "new", "--dry-run") == (1, f"Error: {too_deep}\n")
    code, output = _run("--config", group, "check")
    assert (code, output.splitlines()) == (
        1,
        [
            f"{notes}:205: error[not-notes]: a list nested more than 200 levels deep; flatten it",
            f"{notes.parent}: 1 error, 0 warnings",
        ],
    )


@settings(max_examples=60, deadline=None)
@given(
    depth=st.integers(0, 260),
    unit=st.sampled_from([" ", "  ", "\t", "    "]),
    bullet=st.sampled_from(["- ", "* ", "+ ", "1. ", "2) ", "[ ] ", ""]),
)
def test_nesting_is_read_or_refused_at_its_line(depth: int, unit: str, bullet: str) -> None:
    text = _nested(depth, unit, bullet)
    if depth <= 200:
        meeting = parse_text(text, "n.md")
        json.dumps(meeting.to_json())
        assert len(meeting.agenda) == (1 if depth else 0)
        return
    with pytest.raises(MeetingsError) as raised:
        parse_text(text, "n.md")
    assert str(raised.value) == "n.md:205: a list nested more than 200 levels deep; flatten it"


TOKENS = [
    *"# -*+[]()x:1/\t\n~_@<>.\r",
    "## Meeting Info\n",
    "## Actions\n",
    "## Minutes\n### ",
    "# WG Meeting 00001\n",
    "Date: ",
    "Start time: ",
    "Time: ",
    "2021-02-30",
    "12:00 Europe/Berlin",
    "America/Argentina",
    "https://x.org/?pwd=1",
    "meeting ",
    "~~",
    "[x] ",
    "    ",
    "_(open since meeting 0001)_",
    " -> Ada",
]


@settings(max_examples=300, deadline=None)
@given(
    text=st.one_of(
        st.text(max_size=400),
        st.lists(st.sampled_from(TOKENS), max_size=120).map("".join),
    )
)
def test_any_text_is_notes_or_one_clear_error(text: str) -> None:
    try:
        document = parse_document(text, "n.md")
    except MeetingsError as exc:
        error = str(exc)
    else:
        error = None
    if error is not None:
        assert error.startswith("n.md:")
        assert "\n" not in error
        return
    json.dumps(document.meeting.to_json())
    render(document.meeting)
    for finding in check_document(Path("meeting_00001_20270310.md"), document):
        assert finding.line >= 1
        assert "\n" not in finding.message


# Lines that made the parser's regular expressions backtrack quadratically (long runs of '#'
# or of '[a](') or recurse ('a/' repeated as a time zone): every line must parse in linear time.
LONG = 50_000


@pytest.mark.parametrize(
    ("section", "line", "check"),
    [
        ("Minutes", "### " + "#" * LONG + " x", lambda m: m.minutes[0].title == "#" * LONG + " x"),
        ("Meeting Info", "Start time: " + "[a](" * LONG, lambda m: m.start == "[a](" * LONG),
        ("Meeting Info", "Start time: 12:00 " + "a/" * LONG, lambda m: m.start.startswith("12")),
        ("Actions", "x" + " " * LONG + "->", lambda m: m.actions[0].owner is None),
        ("Actions", "x" + " " * LONG + "_(open since", lambda m: m.actions[0].since is None),
        ("Agenda", "x" + " " * LONG + "<http://x", lambda m: m.agenda[0].link is None),
        ("Participants", "a" + " " * LONG + "(x", lambda m: m.participants[0].handle is None),
    ],
    ids=["heading", "links", "zone", "arrow", "since", "link", "handle"],
)
def test_long_lines_are_read(section: str, line: str, check: Callable[[Meeting], bool]) -> None:
    meeting = parse_text(f"# WG Meeting 00001\n## {section}\n{line}\n")
    assert check(meeting)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            ("group: Test WG", 'group: "Test WG\\n## Actions\\n- [ ] pay me"'),
            "1: group: must be one line of text, not 'Test WG\\n## Actions\\n- [ ] pay me'",
        ),
        (
            ("  - name: Grace", '  - name: "Grace\\u2028Hopper"'),
            "16: roster[1].name: must be one line of text, not 'Grace\\u2028Hopper'",
        ),
        (
            ("video: https://meet.example.org/test-wg", 'video: "\\0https://meet.example.org/x"'),
            "17: video: must be one line of text, not '\\x00https://meet.example.org/x'",
        ),
    ],
)
def test_config_text_is_one_line(group: Path, edit: tuple[str, str], message: str) -> None:
    text = group.read_text(encoding="utf-8")
    assert edit[0] in text
    group.write_text(text.replace(*edit), encoding="utf-8")
    assert _run("--config", group, "new", "--dry-run") == (1, f"Error: {group}:{message}\n")


# --- one policy: wg_meetings writes files only through wg_io.output --------------------------

SOURCE = Path(__file__).parents[1] / "src" / "wg_meetings"


def _own_writes(tree: ast.AST) -> list[str]:
    """Calls that write or replace files without wg_io: os.replace/rename/link, tempfile,
    Path.write_text/write_bytes, and open()/os.fdopen() for writing."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        owner = getattr(getattr(func, "value", None), "id", "")
        if (owner, name) in {("os", "replace"), ("os", "rename"), ("os", "link")}:
            found.append(f"os.{name}")
        path_write = isinstance(func, ast.Attribute) and name in {"write_text", "write_bytes"}
        if owner == "tempfile" or path_write:
            found.append(f"{owner}.{name}")
        mode = node.args[1] if len(node.args) > 1 else None
        writing = isinstance(mode, ast.Constant) and set(str(mode.value)) & set("wax+")
        if name in {"open", "fdopen"} and (writing or (mode is None and name == "fdopen")):
            found.append(f"{name} for writing")
    return found


def test_every_write_goes_through_wg_io() -> None:
    writes = {
        path.name: _own_writes(ast.parse(path.read_text(encoding="utf-8")))
        for path in sorted(SOURCE.glob("*.py"))
    }
    assert {name: calls for name, calls in writes.items() if calls} == {}
    old = (
        "fd, tmp = tempfile.mkstemp()\nwith os.fdopen(fd, 'w') as f: f.write(x)\nos.replace(tmp, p)"
    )
    assert sorted(_own_writes(ast.parse(old))) == [
        "fdopen for writing",
        "os.replace",
        "tempfile.mkstemp",
    ]
