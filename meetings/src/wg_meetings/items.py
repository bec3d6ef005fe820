"""One line of notes as an agenda item, an action item or a participant."""

from __future__ import annotations

import re

from wg_meetings.model import Action, Item, Participant

_CHECK = re.compile(r"\[([ xX])\]\s*")
# A leading \s* starts only where a whitespace run starts ((?<!\s)): searching a long run of
# spaces must not try the rest of the pattern from every one of them.
_LINK_SUFFIX = re.compile(r"(?<!\s)\s*<(https?://[^>\s]+)>$")
# An owner is a handle or a capitalised name: "chrism:", "Chris M:", not "Docs improvements:".
OWNER = re.compile(r"@?[A-Za-z][\w.'-]*(?: [A-Z][\w.'-]*){0,2}")
_OWNER = re.compile(rf"({OWNER.pattern}):\s+(\S.*)$")
_ANY_OWNER = re.compile(r"([^:]{1,40}?):\s+(\S.*)$")
_NOT_OWNERS = frozenset(
    {"todo", "note", "notes", "q", "a", "question", "answer", "update", "updates", "link"}
    | {"zoom", "edit", "fyi", "re", "eg", "ie", "idea", "meta", "status", "goal", "pros"}
    | {"cons", "example", "done", "wip", "nb", "ps", "aside"}
)
_STRUCK = re.compile(r"~~(.+?)~~\s*(:white_check_mark:|✅)?$")
_SINCE = re.compile(r"(?<!\s)\s*_\(open since meeting 0*(\d+)[^)]*\)_$")
_ARROW_OWNER = re.compile(r"(?<!\s)\s*->\s*([A-Za-z][\w.'-]*)$")
_LEAD = r"\s+[a-z]+\b"  # "Ricky post Niko's question", "Manuel to post a link"
_PROMISE = r"\s+(?:will|to|plans)\b"  # a sub-item "Tiberio will take a look"
_GITHUB = re.compile(r"\[([^\]]+)\]\(https?://github\.com/([\w-]+)/?\)$")
_AT_NAME = re.compile(r"@([\w-]+)\s+\(([^)]+)\)$")
_NAME_HANDLE = re.compile(r"([^()@]*?[^()@\s])\s+\(@?([\w-]+)\)$")
_NICK = re.compile(r"([a-z][\w-]*)\s+\(([A-Z][a-z]+)\)$")  # "handle (Name)"
_NICKNAME = re.compile(r"[A-Z][a-z]+")  # "william moses (Billy)": a nickname, not a handle
_GITHUB_URL = re.compile(r"https?://github\.com/([\w-]+)/?$")


def split_owner(text: str, people: tuple[Participant, ...] = ()) -> tuple[str | None, str]:
    """Split an ``Owner: text`` prefix off, unless the prefix is a word such as ``TODO``.

    The owner is a handle or a capitalised name, or any name of one of ``people``.

    Examples
    --------
    >>> split_owner("chrism: talk to anthony"), split_owner("TODO: Chris; look into it")
    (('chrism', 'talk to anthony'), (None, 'TODO: Chris; look into it'))
    """
    match = _OWNER.match(text)
    if match and match[1].lower().lstrip("@") not in _NOT_OWNERS:
        return match[1], match[2]
    match = _ANY_OWNER.match(text) if people else None
    if match and match[1].lower() in {n.lower() for p in people for n in _names(p)}:
        return match[1], match[2]
    return None, text


def _names(person: Participant) -> tuple[str, ...]:
    return (person.name, person.name.split()[0], person.handle or "")


def parse_item(text: str, children: tuple[Item, ...] = ()) -> Item:
    """An agenda item or minutes bullet: ``[x] owner: text <link>``.

    Examples
    --------
    >>> item = parse_item("[x] Ricky: Rust ML Meetup <https://hackmd.io/7h>")
    >>> item.text, item.owner, item.link, item.checked
    ('Rust ML Meetup', 'Ricky', 'https://hackmd.io/7h', True)
    """
    checked = None
    match = _CHECK.match(text)
    if match:
        checked, text = match[1] != " ", text[match.end() :]
    link = None
    match = _LINK_SUFFIX.search(text)
    if match and match.start() > 0:
        link, text = match[1], text[: match.start()]
    owner, text = split_owner(text)
    return Item(text=text, owner=owner, link=link, checked=checked, children=children)


def _named(text: str, people: tuple[Participant, ...], then: str = _LEAD) -> str | None:
    """The participant that ``text`` starts with (full name, first name or handle), if any,
    when the rest of the line is empty or matches ``then``."""
    lowered = text.lower()
    for person in people:
        for name in _names(person):
            key = name.lower()
            if len(key) > 1 and lowered.startswith(key):
                rest = lowered[len(key) :]
                if rest == "" or re.match(then, rest):
                    return name
    return None


def parse_action(
    text: str,
    details: list[str],
    line: int,
    people: tuple[Participant, ...],
    group: str | None = None,
) -> Action:
    """An action item; its owner comes from ``owner: ...``, a leading participant name, an
    ``-> owner`` suffix, a sub-item that is only a name, or the heading it sits under.

    Examples
    --------
    >>> people = (Participant("Jamal Simpson"), Participant("Chris"))
    >>> a = parse_action("Jamal plans to try the OpenCL crate", [], 7, people)
    >>> a.owner, a.done
    ('Jamal', False)
    >>> a = parse_action("[x] Chris: review _(open since meeting 00004)_", [], 8, people)
    >>> a.text, a.owner, a.done, a.since
    ('review', 'Chris', True, 4)
    """
    done = False
    match = _CHECK.match(text)
    if match:
        done, text = match[1] != " ", text[match.end() :]
    match = _STRUCK.match(text)
    if match:
        done, text = True, match[1].strip()
    since = None
    match = _SINCE.search(text)
    if match:
        since, text = int(match[1]), text[: match.start()]
    owner, text = split_owner(text, people)
    owner = owner or _named(text, people)
    match = _ARROW_OWNER.search(text) if owner is None else None
    if match:
        owner, text = match[1], text[: match.start()]
    for detail in details if owner is None else ():
        owner = _named(detail, people, _PROMISE)
        if owner is not None:
            break
    if details:
        text = f"{text} ({'; '.join(details)})"
    return Action(text=text, owner=owner or group, done=done, since=since, line=line)


def parse_participant(text: str, details: list[str]) -> Participant | None:
    """A participant line: ``[Name](https://github.com/handle)``, ``@handle (Name)``,
    ``Name (handle)`` or a plain name; a GitHub link beneath it gives the handle.

    Examples
    --------
    >>> parse_participant("[Ada Lovelace](https://github.com/ada)", [])
    Participant(name='Ada Lovelace', handle='ada')
    >>> parse_participant("Ricky (degausser)", []), parse_participant("@Geordon Worley", [])
    (Participant(name='Ricky', handle='degausser'), Participant(name='Geordon Worley', handle=None))
    >>> parse_participant("diversable (Daniel)", [])
    Participant(name='Daniel', handle='diversable')
    >>> parse_participant("william moses (Billy)", [])
    Participant(name='william moses (Billy)', handle=None)
    """
    text = text.strip()
    nick = _NICK.match(text)
    if nick:
        return Participant(nick[2], nick[1])
    for pattern, name_group, handle_group in (
        (_GITHUB, 1, 2),
        (_AT_NAME, 2, 1),
        (_NAME_HANDLE, 1, 2),
    ):
        match = pattern.match(text)
        if match and not _NICKNAME.fullmatch(match[handle_group]):
            return Participant(match[name_group].strip(), match[handle_group])
    name = text.lstrip("@").strip()
    if not name:
        return None
    handle = next((m[1] for d in details if (m := _GITHUB_URL.match(d.strip()))), None)
    return Participant(name, handle)
