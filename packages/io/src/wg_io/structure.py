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
from collections.abc import Iterator
from typing import Any

#: Deepest nesting accepted in any document we read; far beyond what a real manifest uses.
MAX_DEPTH = 200
#: Most alias references a YAML document may make (configuration files use a handful).
MAX_YAML_ALIASES = 100
#: Most values a YAML document may stand for once its aliases are expanded.
MAX_YAML_VALUES = 10_000


class InputError(Exception):
    """An input file is unusable; the message names the file (and line) and how to fix it."""

    def __init__(self, path: str | os.PathLike[str], problem: str, line: int | None = None) -> None:
        self.path = os.fspath(path)
        self.line = line
        self.problem = problem
        where = f"{self.path}:{line}" if line else self.path
        super().__init__(f"{where}: {problem}")


def nesting_depth(value: Any, limit: int = MAX_DEPTH) -> int:
    """Return how deeply ``value``'s lists and dicts nest, counting at most ``limit + 1`` levels.

    Iterative, so it cannot itself exhaust the stack.

    Examples
    --------
    >>> nesting_depth({"a": [1, [2]]})
    3
    >>> nesting_depth(5)
    0
    """
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list | tuple):
            depth += 1
            deepest = max(deepest, depth)
            if deepest > limit:
                return deepest
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth) for child in children)
    return deepest


def _too_deep(path: str | os.PathLike[str]) -> InputError:
    return InputError(path, f"nested more than {MAX_DEPTH} levels deep; flatten the document")


def load_json(text: str | bytes, path: str | os.PathLike[str], *, non_finite: bool = False) -> Any:
    """Parse JSON read from ``path``; bad JSON or nesting beyond ``MAX_DEPTH`` is an InputError.

    ``NaN`` and ``Infinity`` (not JSON, but Python writes them) are refused unless
    ``non_finite``, for a caller that checks its numbers itself and says more about where.

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
        value = json.loads(
            text.decode("utf-8") if isinstance(text, bytes) else text,
            parse_constant=float if non_finite else _no_constant,
        )
    except _NonFiniteError as exc:
        raise InputError(path, f"{exc.args[0]} is not JSON (write a number or null)") from None
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


class _NonFiniteError(ValueError):
    pass


def _no_constant(name: str) -> Any:
    # Python's json accepts NaN and Infinity, which JSON forbids and no file of ours holds.
    raise _NonFiniteError(name)


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
    """Parse YAML safely: no Python objects, bounded aliases, expansion, depth; errors at a line.

    The document is composed first; its node graph (where an alias shares the node it names) is
    measured before anything is built, so a "billion laughs" file costs the size of its text.

    Examples
    --------
    >>> load_yaml("a: [1, 2]", "x.yaml")
    {'a': [1, 2]}
    >>> load_yaml("a: &a [1, *a]", "wg.yaml")
    Traceback (most recent call last):
    ...
    wg_io.structure.InputError: wg.yaml:1: an alias refers to a value that contains it; \
write the values out
    """
    import yaml

    deep_line = _flow_depth_line(text)
    if deep_line:
        raise InputError(
            path, f"nested more than {MAX_DEPTH} levels deep; flatten the document", deep_line
        )
    loader = _bounded_loader(yaml, path)(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return None
        _check_graph(root, path)
        try:
            return loader.construct_document(root)
        except ValueError as exc:
            # PyYAML's constructors raise plain ValueError, e.g. for the date 2021-02-30.
            raise _invalid_scalar(yaml, root, path, exc) from None
    except RecursionError:
        raise _too_deep(path) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        hint = "check the indentation, quoting and colons on that line"
        raise InputError(path, f"invalid YAML: {problem} ({hint})", line) from None
    finally:
        loader.dispose()


def _bounded_loader(yaml: Any, path: str | os.PathLike[str]) -> Any:
    class BoundedLoader(yaml.SafeLoader):
        aliases = 0

        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                self.aliases += 1
                if self.aliases > MAX_YAML_ALIASES:
                    line = self.peek_event().start_mark.line + 1
                    problem = f"more than {MAX_YAML_ALIASES} YAML aliases; write the values out"
                    raise InputError(path, problem, line)
            return super().compose_node(parent, index)

    return BoundedLoader


def _node_children(node: Any) -> list[Any]:
    value = node.value
    if isinstance(value, list):
        return [child for item in value for child in (item if isinstance(item, tuple) else (item,))]
    return []


def _check_graph(root: Any, path: str | os.PathLike[str]) -> None:
    """Refuse a composed YAML graph that nests too deeply, expands too far or contains itself."""
    measured: dict[int, tuple[int, int]] = {}  # id -> (depth, expanded size)
    entered: set[int] = set()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, ready = stack.pop()
        if id(node) in measured:
            continue
        children = _node_children(node)
        line = node.start_mark.line + 1
        if not ready:
            if id(node) in entered:
                problem = "an alias refers to a value that contains it; write the values out"
                raise InputError(path, problem, line)
            entered.add(id(node))
            stack.append((node, True))
            stack.extend((child, False) for child in children if id(child) not in measured)
            continue
        sizes = [measured[id(child)] for child in children]
        depth = (1 if children or isinstance(node.value, list) else 0) + max(
            (d for d, _ in sizes), default=0
        )
        size = 1 + sum(n for _, n in sizes)
        measured[id(node)] = (depth, size)
        if depth > MAX_DEPTH:
            raise InputError(path, f"nested more than {MAX_DEPTH} levels deep; flatten it", line)
        if size > MAX_YAML_VALUES:
            problem = f"aliases expand this file to more than {MAX_YAML_VALUES} values"
            problem += "; write the values out"
            raise InputError(path, problem, line)


def _named_nodes(yaml: Any, root: Any) -> Iterator[tuple[str, Any]]:
    """Every node under ``root`` once, with its key path (``schedule.cancelled[0]``)."""
    seen: set[int] = set()
    stack: list[tuple[str, Any]] = [("", root)]
    while stack:
        name, node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        yield name, node
        prefix = f"{name}." if name else ""
        if isinstance(node, yaml.MappingNode):
            for key, value in reversed(node.value):
                stack.append((f"{prefix}{key.value}", value))
                stack.append((f"{prefix}{key.value}", key))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((f"{name}[{n}]", v) for n, v in reversed(list(enumerate(node.value))))


def _invalid_scalar(
    yaml: Any, root: Any, path: str | os.PathLike[str], exc: ValueError
) -> InputError:
    """The error naming the first scalar PyYAML cannot build (an impossible date), at its line."""
    constructor = yaml.constructor.SafeConstructor()
    for name, node in _named_nodes(yaml, root):
        if isinstance(node, yaml.ScalarNode):
            try:
                constructor.construct_object(node)
            except ValueError as found:
                where = f"{name}: " if name else ""
                problem = f"{where}{node.value} is not a valid value ({found}); fix it"
                return InputError(path, problem, node.start_mark.line + 1)
    return InputError(path, f"a value cannot be built ({exc}); check the dates and numbers")


def _flow_depth_line(text: str) -> int:
    """The line where ``[``/``{`` first nest deeper than ``MAX_DEPTH`` outside quotes, else 0.

    PyYAML recurses once per level and takes seconds to refuse thousands of brackets.

    Examples
    --------
    >>> _flow_depth_line("a: [1, {b: '[['}]"), _flow_depth_line("[" * 201)
    (0, 1)
    """
    depth = 0
    line = 1
    quote = ""
    for char in text:
        if char == "\n":
            line += 1
            quote = ""  # a quote left open by a plain scalar (don't) ends with its line
        elif quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return line
        elif char in "]}":
            depth = max(depth - 1, 0)
    return 0
