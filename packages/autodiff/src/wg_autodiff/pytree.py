"""Flattening of nested tuples, lists and dicts of arrays (pytrees) into lists of leaves."""

from __future__ import annotations

from typing import Any

Treedef = Any


def tree_flatten(tree: Any) -> tuple[list[Any], Treedef]:
    """Leaves of ``tree`` in order, and a description to rebuild it with :func:`tree_unflatten`.

    Examples
    --------
    >>> leaves, tdef = tree_flatten({"b": (1.0, 2.0), "a": [3.0]})
    >>> leaves
    [3.0, 1.0, 2.0]
    >>> tree_unflatten(tdef, [4.0, 5.0, 6.0])
    {'a': [4.0], 'b': (5.0, 6.0)}
    """
    leaves: list[Any] = []
    return leaves, _flatten(tree, leaves)


def _flatten(tree: Any, leaves: list[Any]) -> Treedef:
    if isinstance(tree, tuple | list):
        return (type(tree), tuple(_flatten(t, leaves) for t in tree))
    if isinstance(tree, dict):
        keys = tuple(sorted(tree))
        return (dict, keys, tuple(_flatten(tree[k], leaves) for k in keys))
    if tree is None:
        return (None,)
    leaves.append(tree)
    return "*"


def tree_unflatten(treedef: Treedef, leaves: list[Any]) -> Any:
    """Inverse of :func:`tree_flatten`."""
    it = iter(leaves)
    return _unflatten(treedef, it)


def _unflatten(tdef: Treedef, it: Any) -> Any:
    if tdef == "*":
        return next(it)
    kind = tdef[0]
    if kind is None:
        return None
    if kind is dict:
        return {k: _unflatten(t, it) for k, t in zip(tdef[1], tdef[2], strict=True)}
    items = [_unflatten(t, it) for t in tdef[1]]
    if kind is tuple or kind is list:
        return kind(items)
    return kind(*items)
