"""Indented bullet lists (and the plain indented lines some notes use instead) as trees."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from wg_io.structure import MAX_DEPTH

from wg_meetings.errors import MeetingsError

_BULLET = re.compile(r"([-*+]|\d+[.)])(?:\s+|$)")


@dataclass
class Node:
    """One line of an outline with the lines indented beneath it."""

    text: str
    line: int
    bullet: bool
    children: list[Node] = field(default_factory=list)

    def descendants(self) -> list[Node]:
        """Every node below this one, depth first."""
        found: list[Node] = []
        for child in self.children:
            found.append(child)
            found.extend(child.descendants())
        return found


def outline(lines: list[tuple[int, str]]) -> list[Node]:
    """Build the tree of ``(line number, text)`` lines by indentation.

    A bullet written at the same indentation as a plain line belongs to that line, as in
    ``"Ricky will find a poll\\n- every 2 weeks"``. A line nested deeper than wg_io's
    ``MAX_DEPTH`` raises :class:`MeetingsError` with its line (the tree is walked recursively).

    Examples
    --------
    >>> roots = outline([(1, "- a"), (2, "    - b"), (3, "plain"), (4, "- c"), (5, "- ")])
    >>> [(n.text, [c.text for c in n.children]) for n in roots]
    [('a', ['b']), ('plain', ['c'])]
    """
    roots: list[Node] = []
    stack: list[tuple[float, Node]] = []
    for number, raw in lines:
        expanded = raw.expandtabs(4).rstrip()
        body = expanded.lstrip()
        if not body:
            continue
        indent: float = len(expanded) - len(body)
        match = _BULLET.match(body)
        if match:
            body = body[match.end() :].strip()
            indent += 0.5
            if not body:
                continue
        node = Node(body, number, match is not None)
        while stack and stack[-1][0] >= indent:
            stack.pop()
        if len(stack) >= MAX_DEPTH:
            raise MeetingsError(
                f"a list nested more than {MAX_DEPTH} levels deep; flatten it", line=number
            )
        (stack[-1][1].children if stack else roots).append(node)
        stack.append((indent, node))
    return roots
