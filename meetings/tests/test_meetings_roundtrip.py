"""Property: rendering any well-formed meeting and parsing it again gives the same model."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st
from wg_meetings.model import Action, Item, Meeting, Participant, Topic
from wg_meetings.parser import parse_text
from wg_meetings.render import render

# Text words never collide with participant names or handles (so no owner is inferred from
# them), and never spell markup the parser gives meaning to (":", "[x]", "~~", "<url>", "#").
_VOCAB = ["review", "the", "release", "notes", "plan", "ci", "budget", "docs,", "v0.2", "and"]
_CODE = st.builds(
    str.__add__,
    st.text("abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=8),
    st.sampled_from("0123456789"),
)
_WORD = st.one_of(st.sampled_from(_VOCAB), _CODE)
_FIRST = st.one_of(st.sampled_from(_VOCAB[:5]), _CODE)
TEXT = st.builds(lambda first, rest: " ".join([first, *rest]), _FIRST, st.lists(_WORD, max_size=6))
NAMES = st.sampled_from(["Ada", "Grace Hopper", "Alan", "Chris M", "Edsger"])
HANDLES = st.sampled_from(["ada-l", "ghopper", "turing", "qwe-rty"])
OWNER = st.one_of(st.none(), NAMES, HANDLES)
ZONES = st.sampled_from(
    [
        ZoneInfo("Europe/Berlin"),
        ZoneInfo("America/New_York"),
        dt.UTC,
        dt.timezone(dt.timedelta(hours=5, minutes=30)),
    ]
)
LINK = st.builds("https://example.org/{}".format, st.text("abc123-", min_size=1, max_size=12))

ITEMS = st.recursive(
    st.builds(Item, TEXT, OWNER, st.one_of(st.none(), LINK), st.one_of(st.none(), st.booleans())),
    lambda children: st.builds(
        Item,
        TEXT,
        OWNER,
        st.one_of(st.none(), LINK),
        st.one_of(st.none(), st.booleans()),
        st.lists(children, max_size=3).map(tuple),
    ),
    max_leaves=8,
)


@st.composite
def minutes(draw: st.DrawFn) -> tuple[Topic, ...]:
    topics = [
        Topic(draw(TEXT), tuple(draw(st.lists(ITEMS, max_size=3))))
        for _ in range(draw(st.integers(0, 3)))
    ]
    if draw(st.booleans()):
        topics.insert(0, Topic(None, tuple(draw(st.lists(ITEMS, min_size=1, max_size=3)))))
    return tuple(topics)


@st.composite
def meetings(draw: st.DrawFn) -> Meeting:
    number = draw(st.integers(1, 99_999))
    day = draw(st.one_of(st.none(), st.dates(dt.date(1990, 1, 1), dt.date(2100, 12, 31))))
    start: dt.datetime | str | None = draw(st.sampled_from([None, "TBD", "1600", "see Zulip"]))
    if day is not None and draw(st.booleans()):
        start = dt.datetime.combine(
            day, draw(st.times()).replace(second=0, microsecond=0), tzinfo=draw(ZONES)
        )
    people = draw(
        st.lists(st.builds(Participant, NAMES, st.one_of(st.none(), HANDLES)), max_size=4)
    )
    actions = draw(
        st.lists(
            st.builds(
                Action, TEXT, OWNER, st.booleans(), st.one_of(st.none(), st.integers(1, number))
            ),
            max_size=5,
        )
    )
    return Meeting(
        number=number,
        title=f"Test WG Meeting {number:05d}",
        date=day,
        start=start,
        video=draw(st.one_of(st.none(), LINK)),
        cancelled=draw(st.booleans()),
        next_meeting=draw(st.one_of(st.none(), TEXT)),
        participants=tuple(people),
        agenda=tuple(draw(st.lists(ITEMS, max_size=4))),
        minutes=draw(minutes()),
        actions=tuple(actions),
    )


@settings(max_examples=100, deadline=None)
@given(meetings())
def test_render_then_parse_is_identity(meeting: Meeting) -> None:
    assert parse_text(render(meeting)) == meeting


@settings(max_examples=40, deadline=None)
@given(meetings())
def test_rendering_is_stable(meeting: Meeting) -> None:
    text = render(meeting)
    assert render(parse_text(text)) == text


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=300))
def test_parser_never_crashes_on_any_text(text: str) -> None:
    from wg_meetings.errors import MeetingsError

    try:
        parse_text("# WG Meeting 00001\n" + text)
    except MeetingsError:  # pragma: no cover - a numbered title is always notes
        raise AssertionError("a file with a numbered title was refused") from None


LINES = st.lists(
    st.tuples(
        st.integers(0, 8),
        st.sampled_from(["- ", "* ", "1. ", ""]),
        st.text("ab c", max_size=6),
    ),
    max_size=20,
)


@settings(max_examples=100, deadline=None)
@given(LINES)
def test_outline_keeps_every_line_once_in_order(lines: list[tuple[int, str, str]]) -> None:
    from wg_meetings.outline import Node, outline

    numbered = [(n, " " * indent + bullet + text) for n, (indent, bullet, text) in enumerate(lines)]
    kept = [n for n, (_, _, text) in enumerate(lines) if text.strip()]

    def walk(nodes: list[Node]) -> list[int]:
        return [i for node in nodes for i in [node.line, *walk(node.children)]]

    assert walk(outline(numbered)) == kept
