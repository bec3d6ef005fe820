"""Bounded parsing of nested documents (JSON, TOML, YAML) that may come from a hostile source.

Python's parsers recurse once per level of nesting, so a 5,000-deep document ends in a
``RecursionError`` traceback. These helpers turn that into an :class:`InputError` that names the
file, and bound YAML's alias expansion, which can otherwise grow a small file into billions of
nodes (the "billion laughs" document).
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

#: Deepest nesting accepted in any document we read; far beyond what a real manifest uses.
MAX_DEPTH = 200
#: Most alias references a YAML document may make (configuration files use a handful).
MAX_YAML_ALIASES = 100
#: Most values a YAML document may stand for once its aliases are expanded.
MAX_YAML_VALUES = 100_000


class InputError(Exception):
    """An input file is unusable; the message names the file (and line) and how to fix it."""

    def __init__(self, path: str | os.PathLike[str], problem: str, line: int | None = None) -> None:
        self.path = os.fspath(path)
        self.line = line
        self.problem = problem
        where = f"{self.path}:{line}" if line else self.path
        super().__init__(f"{where}: {problem}")


class _Shape:
    """Depth and expanded size of a document whose containers may be shared (YAML aliases)."""

    def __init__(self, value: Any, limit: int) -> None:
        self.limit = limit
        self.depth, self.size = self._measure(value)

    @staticmethod
    def _children(item: Any) -> list[Any]:
        if isinstance(item, dict):
            return [*item.keys(), *item.values()]
        return list(item) if isinstance(item, list | tuple) else []

    def _measure(self, value: Any) -> tuple[int, int]:
        # Post-order walk with a memo by identity: a container shared by aliases is measured once,
        # so a "billion laughs" document costs its written size, not its expanded one.
        done: dict[int, tuple[int, int]] = {}
        open_ids: set[int] = set()
        stack: list[tuple[Any, bool]] = [(value, False)]
        while stack:
            item, children_done = stack.pop()
            key = id(item)
            if not isinstance(item, dict | list | tuple) or key in done:
                continue
            kids = self._children(item)
            if children_done:
                open_ids.discard(key)
                measured = [done.get(id(k), (0, 1)) for k in kids]
                depth = 1 + max((d for d, _ in measured), default=0)
                size = 1 + sum(n for _, n in measured)
                done[key] = (depth, size)
                if depth > self.limit:
                    return depth, size
                continue
            if key in open_ids:
                raise ValueError("the document refers to itself")
            open_ids.add(key)
            stack.append((item, True))
            stack.extend((kid, False) for kid in kids if id(kid) not in done)
        return done.get(id(value), (0, 1))


def nesting_depth(value: Any, limit: int = MAX_DEPTH) -> int:
    """Return how deeply ``value``'s lists and dicts nest (exact up to ``limit + 1`` levels).

    Iterative, so it cannot itself exhaust the stack, and linear in the written size of a
    document whose containers are shared (YAML aliases).

    Examples
    --------
    >>> nesting_depth({"a": [1, [2]]})
    3
    >>> nesting_depth(5)
    0
    """
    return _Shape(value, limit).depth


def _too_deep(path: str | os.PathLike[str]) -> InputError:
    return InputError(path, f"nested more than {MAX_DEPTH} levels deep; flatten the document")


def load_json(text: str | bytes, path: str | os.PathLike[str]) -> Any:
    """Parse JSON read from ``path``; bad JSON or nesting beyond ``MAX_DEPTH`` is an InputError.

    Examples
    --------
    >>> load_json('{"a": 1}', "x.json")
    {'a': 1}
    >>> load_json("[" * 5000 + "]" * 5000, "deep.json")
    Traceback (most recent call last):
    ...
    wg_io.structure.InputError: deep.json: nested more than 200 levels deep; flatten the document
    """
    try:
        value = json.loads(text.decode("utf-8") if isinstance(text, bytes) else text)
    except RecursionError:
        raise _too_deep(path) from None
    except UnicodeDecodeError as exc:
        raise InputError(path, f"not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    except json.JSONDecodeError as exc:
        raise InputError(
            path, f"invalid JSON: {exc.msg} (column {exc.colno})", exc.lineno
        ) from None
    if nesting_depth(value) > MAX_DEPTH:
        raise _too_deep(path)
    return value


def load_toml(text: str, path: str | os.PathLike[str]) -> dict[str, Any]:
    """Parse TOML read from ``path``; bad TOML or nesting beyond ``MAX_DEPTH`` is an InputError.

    Examples
    --------
    >>> load_toml('a = 1', "x.toml")
    {'a': 1}
    >>> load_toml("a = " + "[" * 5000 + "]" * 5000, "deep.toml")
    Traceback (most recent call last):
    ...
    wg_io.structure.InputError: deep.toml: nested more than 200 levels deep; flatten the document
    """
    import tomllib

    try:
        value = tomllib.loads(text)
    except RecursionError:
        raise _too_deep(path) from None
    except tomllib.TOMLDecodeError as exc:
        # Python 3.11's message ends "(at line L, column C)"; the line goes in front, as elsewhere.
        found = re.match(r"(.*) \(at line (\d+), column (\d+)\)$", str(exc))
        if found is None:
            raise InputError(path, f"invalid TOML: {exc}") from None
        problem, line, column = found.groups()
        raise InputError(path, f"invalid TOML: {problem} (column {column})", int(line)) from None
    if nesting_depth(value) > MAX_DEPTH:
        raise _too_deep(path)
    return value


def load_yaml(text: str, path: str | os.PathLike[str]) -> Any:
    """Parse YAML safely: no Python objects, at most ``MAX_YAML_ALIASES`` aliases, bounded depth.

    Examples
    --------
    >>> load_yaml("a: [1, 2]", "x.yaml")
    {'a': [1, 2]}
    >>> pairs = zip("abcdefghij", "bcdefghijk")
    >>> bomb = "a: &a [x, x]\\n" + "".join(f"{c}: &{c} [*{p}, *{p}]\\n" for p, c in pairs)
    >>> bomb = bomb + "".join(f"z{i}: *k\\n" for i in range(100))
    >>> load_yaml(bomb, "wg.yaml")
    Traceback (most recent call last):
    ...
    wg_io.structure.InputError: wg.yaml:92: more than 100 YAML aliases; write the values out
    """
    import yaml

    class _BoundedLoader(yaml.SafeLoader):
        aliases = 0

        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                self.aliases += 1
                if self.aliases > MAX_YAML_ALIASES:
                    mark = self.peek_event().start_mark
                    raise InputError(
                        path,
                        f"more than {MAX_YAML_ALIASES} YAML aliases; write the values out",
                        mark.line + 1,
                    )
            return super().compose_node(parent, index)

    if _flow_depth(text) > MAX_DEPTH:
        raise _too_deep(path)
    try:
        value = yaml.load(text, Loader=_BoundedLoader)
    except RecursionError:
        raise _too_deep(path) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        hint = "check the indentation, quoting and colons on that line"
        raise InputError(path, f"invalid YAML: {problem} ({hint})", line) from None
    except ValueError as exc:
        # PyYAML's constructors raise plain ValueError, e.g. for the date 2021-02-30.
        raise InputError(path, f"invalid value: {exc}") from None
    try:
        shape = _Shape(value, MAX_DEPTH)
    except ValueError as exc:
        raise InputError(path, f"{exc}; write the values out") from None
    if shape.depth > MAX_DEPTH:
        raise _too_deep(path)
    if shape.size > MAX_YAML_VALUES:
        raise InputError(path, f"its aliases expand to more than {MAX_YAML_VALUES} values")
    return value


def _flow_depth(text: str) -> int:
    """Deepest ``[``/``{`` nesting outside quotes: refused before PyYAML recurses through it.

    Examples
    --------
    >>> _flow_depth("a: [1, {b: '[['}]")
    2
    """
    depth = deepest = 0
    quote = ""
    for char in text:
        if char == "\n":
            quote = ""  # a quote left open by a plain scalar (don't) ends with its line
        elif quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth = max(depth - 1, 0)
    return deepest
