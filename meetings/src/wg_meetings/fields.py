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
#: Most values a YAML file may expand to through its aliases (wg.yaml holds about 40).
MAX_VALUES = 10_000
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


def _flow_too_deep(text: str, path: Path) -> MeetingsError | None:
    """An error when ``[`` and ``{`` nest deeper than wg_io's limit anywhere in ``text``.

    PyYAML takes seconds to refuse thousands of nested brackets; counting them is instant, and
    a quoted bracket only ever adds to the count, so real files stay far below the limit.
    """
    depth = 0
    for line, row in enumerate(text.split("\n"), start=1):
        for char in row:
            depth += char in "[{"
            depth -= char in "]}" and depth > 0
            if depth > structure.MAX_DEPTH:
                problem = (
                    f"nested more than {structure.MAX_DEPTH} levels deep; flatten the document"
                )
                return MeetingsError(problem, path, line)
    return None


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [child for pair in node.value for child in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _too_many_values(root: yaml.Node, path: Path) -> MeetingsError | None:
    """An error when aliases expand the document past :data:`MAX_VALUES` values or refer to a
    value that contains them, else None.

    wg_io bounds the number of aliases, but ten aliases of aliases nine levels deep (the
    "billion laughs") stay under any useful count while expanding to a billion values, and
    anything that walks the loaded data as a tree then never ends. Sizes are summed over the
    composed node graph, each shared node once, so this costs the size of the text.
    """
    size: dict[int, int] = {}
    entered: set[int] = set()  # those not yet sized are the path from the root: a cycle
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, ready = stack.pop()
        if id(node) in size:
            continue
        children = _children(node)
        if not ready:
            if id(node) in entered:
                problem = "an alias refers to a value that contains it; write the values out"
                return MeetingsError(problem, path, node.start_mark.line + 1)
            entered.add(id(node))
            stack.append((node, True))
            stack.extend((child, False) for child in children if id(child) not in size)
            continue
        size[id(node)] = 1 + sum(size[id(child)] for child in children)
        if size[id(node)] > MAX_VALUES:
            return MeetingsError(
                f"aliases expand this file to more than {MAX_VALUES} values; write the values out",
                path,
                node.start_mark.line + 1,
            )
    return None


def _impossible_day(root: yaml.Node | None, path: Path) -> MeetingsError:
    """The error for the first ``YYYY-MM-DD`` scalar that is no day of the calendar."""
    constructor = yaml.constructor.SafeConstructor()
    for name, line, node in [] if root is None else _walk(root):
        if isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:timestamp":
            try:
                constructor.construct_yaml_timestamp(node)
            except ValueError as exc:
                where = f"{name}: " if name else ""
                return MeetingsError(
                    f"{where}{node.value} is not a day of the calendar ({exc}); fix the date",
                    path,
                    line,
                )
    return MeetingsError("a value cannot be read; check the dates and numbers", path)


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
    2 b[0]: 2021-02-30 is not a day of the calendar (day is out of range for month); fix the date
    """
    text = read_text(path, MAX_YAML_BYTES)
    deep = _flow_too_deep(text, path)
    if deep is not None:
        raise deep
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except (yaml.YAMLError, RecursionError):
        root = None  # wg_io says what is wrong with the text
    too_many = None if root is None else _too_many_values(root, path)
    if too_many is not None:
        raise too_many
    try:
        data = structure.load_yaml(text, path)
    except structure.InputError as exc:
        raise MeetingsError(exc.problem, path, exc.line or 0) from None
    except ValueError:
        # PyYAML builds YYYY-MM-DD scalars with datetime.date, which refuses days that do not
        # exist (2021-02-30) without saying where; the composed nodes say where.
        raise _impossible_day(root, path) from None
    if root is None:
        return data, {}
    lines: dict[str, int] = {}
    for name, line, _ in _walk(root):
        lines.setdefault(name, line)
    return data, lines
