"""The YAML files the group writes (``wg.yaml``, agendas): bounded parsing, typed keys with lines.

Parsing goes through :func:`wg_io.structure.load_yaml`, which bounds alias expansion and nesting;
the lines of keys come from the composed node graph, walked once per node.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from wg_io import structure

from wg_meetings.errors import MeetingsError, read_text

#: Largest YAML file read: PyYAML parses some 40 KiB a second in pure Python.
MAX_YAML_BYTES = 64 * 1024
#: The last day a meeting may be on: the schedule steps up to a year past a meeting, and
#: Python's calendar ends in 9999.
LAST_DAY = dt.date(8999, 12, 31)


def shown(value: object, width: int = 60) -> str:
    """``repr(value)``, cut to ``width`` characters, for messages.

    Examples
    --------
    >>> shown("x" * 100, 10)
    "'xxxxxx..."
    """
    text = repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def is_day(value: object) -> bool:
    """Whether a YAML value is a calendar day (``YYYY-MM-DD``) a meeting may be on.

    Examples
    --------
    >>> is_day(dt.date(2027, 3, 10)), is_day(dt.datetime(2027, 3, 10)), is_day("2027-03-10")
    (True, False, False)
    """
    return isinstance(value, dt.date) and not isinstance(value, dt.datetime) and value <= LAST_DAY


class Fields:
    """Typed access to a YAML mapping that reports errors at the line of the key."""

    def __init__(self, path: Path, data: Any, lines: dict[str, int], prefix: str = ""):
        self.path, self.lines, self.prefix = path, lines, prefix
        if not isinstance(data, dict):
            raise self.error(prefix.rstrip(".") or "the file", "must be a mapping of keys")
        self.data = data

    def line(self, key: str) -> int:
        """The line of ``key`` (else of this mapping, else 1)."""
        return self.lines.get(self.prefix + key, self.lines.get(self.prefix.rstrip("."), 1))

    def error(self, key: str, problem: str) -> MeetingsError:
        """A :class:`MeetingsError` about ``key`` at its line."""
        return MeetingsError(f"{self.prefix}{key}: {problem}", self.path, self.line(key))

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
        """The value of ``key``, which must be of ``kind``; ``default`` when absent (else an
        error saying it is required)."""
        if key not in self.data or self.data[key] is None:
            if default is ...:
                raise self.error(key, "is required; add it")
            return default
        value = self.data[key]
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
            names = (
                kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            )
            raise self.error(key, f"must be a {names}, not {shown(value)}")
        return value

    def text(self, key: str, default: Any = ...) -> Any:
        """A string ``key`` of one line (it becomes a line of Markdown notes or iCalendar)."""
        value = self.get(key, str, default)
        if isinstance(value, str):
            value = value.strip()
            if len(value.splitlines()) > 1 or "\x00" in value:
                raise self.error(key, f"must be one line of text, not {shown(value)}")
        return value

    def number(self, key: str, low: int, high: int, default: int) -> int:
        """An integer ``key`` between ``low`` and ``high``."""
        value: int = self.get(key, int, default)
        if not low <= value <= high:
            raise self.error(key, f"must be between {low} and {high}, not {value}")
        return value

    def day(self, key: str) -> dt.date:
        """A required calendar day ``key`` (``YYYY-MM-DD``, not after :data:`LAST_DAY`)."""
        value: dt.date = self.get(key, dt.date)
        if not is_day(value):
            raise self.error(
                key, f"must be a day written YYYY-MM-DD up to {LAST_DAY}, not {shown(value)}"
            )
        return value

    def sub(self, key: str) -> Fields:
        """The mapping under ``key``."""
        return Fields(self.path, self.get(key, dict), self.lines, f"{self.prefix}{key}.")


def _walk(root: yaml.Node) -> Iterator[tuple[str, int, yaml.Node]]:
    """Every node under ``root`` (mapping keys included) with its name (``"a.b[0].c"``) and line.

    An alias shares the node it names, so each node is visited once: a document of aliases of
    aliases costs the size of its text, not of its expansion.
    """
    seen: set[int] = set()
    stack: list[tuple[str, int, yaml.Node]] = [("", root.start_mark.line + 1, root)]
    while stack:
        name, line, node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        yield name, line, node
        prefix = f"{name}." if name else ""
        if isinstance(node, yaml.MappingNode):
            for key, value in reversed(node.value):
                child = f"{prefix}{key.value}"
                stack.append((child, key.start_mark.line + 1, value))
                stack.append((child, key.start_mark.line + 1, key))
        elif isinstance(node, yaml.SequenceNode):
            for number, value in reversed(list(enumerate(node.value))):
                stack.append((f"{name}[{number}]", value.start_mark.line + 1, value))


def load_yaml(path: Path) -> tuple[Any, dict[str, int]]:
    """Parse a YAML file; return the data and the line of every key (``"a.b[0].c"``).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = Path(d, "wg.yaml")
    ...     _ = p.write_text("a: 1\\nb: [2021-02-30]\\n")
    ...     try:
    ...         load_yaml(p)
    ...     except MeetingsError as exc:
    ...         print(exc.line, exc.problem)
    2 b[0]: 2021-02-30 is not a valid value (day is out of range for month); fix it
    """
    text = read_text(path, MAX_YAML_BYTES)
    try:
        data = structure.load_yaml(text, path)
    except structure.InputError as exc:
        raise MeetingsError(exc.problem, path, exc.line or 0) from None
    if data is None:
        return data, {}
    # The text is valid and bounded (wg_io checked it): composing it again for lines is safe.
    lines: dict[str, int] = {}
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    for name, line, _ in [] if root is None else _walk(root):
        lines.setdefault(name, line)
    return data, lines
