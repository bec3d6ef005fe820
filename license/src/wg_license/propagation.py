"""The propagation check: a package that depends on a St. Claire package declares it and ships
its notice."""

from __future__ import annotations

import re
from collections import deque

from wg_license.context import Context, PackageState
from wg_license.declarations import fix_line
from wg_license.findings import Severity, make
from wg_license.manifests import load_toml, normalise_name, read_text

_HEADER = re.compile(r'^(\[\[[\w."-]+\]\]|\[[\w."-]+\])[ \t]*(#.*)?$')


def scan_lock(text: str) -> dict[str, set[str]] | None:
    """Dependency edges of a uv.lock or Cargo.lock, read line by line.

    A TOML parse of a lock file parses every wheel hash; the edges need only each
    ``[[package]]``'s ``name`` and ``dependencies``. Returns None when a table header looks
    malformed, so that the caller parses the file fully and reports the error with its line.
    """
    graph: dict[str, set[str]] = {}
    name: str | None = None
    in_package = in_deps = False
    for line in text.splitlines():
        if line.startswith("["):
            if not _HEADER.match(line):
                return None
            in_package, in_deps, name = line.startswith("[[package]]"), False, None
        elif in_package and name is None and line.startswith("name = "):
            name = normalise_name(line.split('"')[1] if '"' in line else line[7:].strip())
            graph.setdefault(name, set())
        elif in_package and name and line.startswith("dependencies = ["):
            in_deps = not line.rstrip().endswith("]")
            graph[name].update(_names(line[len("dependencies = [") :]))
        elif in_deps and name:
            if line.startswith("]"):
                in_deps = False
            else:
                graph[name].update(_names(line))
    return graph


def _names(fragment: str) -> list[str]:
    if "{" in fragment:  # uv.lock: { name = "numpy", version = "...", marker = "..." }
        raw = re.findall(r'\{\s*name\s*=\s*"([^"]+)"', fragment)
    else:  # Cargo.lock: "name version (source)"
        raw = [r.split()[0] for r in re.findall(r'"([^"]+)"', fragment) if r.strip()]
    return [normalise_name(r) for r in raw]


def lock_graph(ctx: Context) -> dict[str, set[str]]:
    """Dependency edges from every uv.lock and Cargo.lock in the tree (name -> names)."""
    graph: dict[str, set[str]] = {}
    for rel in ctx.tree.lockfiles:
        text = read_text(ctx.root, rel, ctx.findings)
        edges = scan_lock(text) if text is not None else {}
        if edges is None:
            load_toml(ctx.root, rel, ctx.findings)  # reports the syntax error and its line
            continue
        for name, deps in edges.items():
            graph.setdefault(name, set()).update(deps)
    return graph


def _graph(ctx: Context, external: dict[str, frozenset[str]]) -> dict[str, set[str]]:
    graph = lock_graph(ctx)
    for state in ctx.states:
        graph.setdefault(normalise_name(state.package.name), set()).update(
            state.package.dependencies
        )
    return graph


def _reverse(graph: dict[str, set[str]]) -> dict[str, list[str]]:
    reverse: dict[str, list[str]] = {}
    for node, deps in graph.items():
        for dep in deps:
            reverse.setdefault(dep, []).append(node)
    return reverse


def _reach(reverse: dict[str, list[str]], sources: list[str]) -> dict[str, str]:
    """Multi-source breadth-first search up the reverse graph: node -> next hop to a source.

    One search per licence id keeps the check linear in the size of the graph (a search per
    package would be quadratic) and handles cycles.
    """
    hop = {s: s for s in sources}
    queue = deque(sorted(sources))
    while queue:
        node = queue.popleft()
        for parent in sorted(reverse.get(node, ())):
            if parent not in hop:
                hop[parent] = node
                queue.append(parent)
    return hop


def _chain(hop: dict[str, str], start: str) -> list[str]:
    chain = [start]
    while hop[chain[-1]] != chain[-1]:
        chain.append(hop[chain[-1]])
    return chain


def _propagating(ctx: Context, keys: frozenset[str]) -> set[str]:
    return {
        ctx.custom[k.lower()].id
        for k in keys
        if k.lower() in ctx.custom
        and ctx.custom[k.lower()].obligations.get("propagates_to_dependents")
    }


def check_propagation(ctx: Context, external: dict[str, frozenset[str]] | None = None) -> None:
    """Check every workspace package against what its (transitive) dependencies impose.

    ``external`` maps installed, non-workspace distributions to their licence ids.
    """
    external = external or {}
    by_name = {normalise_name(s.package.name): s for s in ctx.states}
    licences = {n: s.keys for n, s in by_name.items()} | {
        n: k for n, k in external.items() if n not in by_name
    }
    sources: dict[str, list[str]] = {}
    for name, keys in licences.items():
        for licence_id in _propagating(ctx, keys):
            sources.setdefault(licence_id, []).append(name)
    graph = _graph(ctx, external)  # parsed even when unused: a broken lock file is reported
    reverse = _reverse(graph)
    for licence_id, carriers in sorted(sources.items()):
        # Start from the carriers' dependents: a carrier itself satisfies its own licence.
        hop = _reach(reverse, carriers)
        for name, state in sorted(by_name.items()):
            if name in carriers or name not in hop or state.parsed is None:
                continue
            _check_one(ctx, state, licence_id, _chain(hop, name))


def _check_one(ctx: Context, state: PackageState, licence_id: str, chain: list[str]) -> None:
    pkg = state.package
    line = pkg.expression.line if pkg.expression else 1
    via = " -> ".join(chain)
    if licence_id not in state.keys:
        current = state.parsed.text if state.parsed else ""
        wanted = (
            f"({current}) AND {licence_id}" if " OR " in current else f"{current} AND {licence_id}"
        )
        ctx.findings.append(
            make(
                "not-declared",
                Severity.ERROR,
                pkg.manifest,
                line,
                f"depends on {chain[-1]} ({via}), which is under {licence_id}: the licence travels "
                "to dependents, but this package does not declare it",
                fix_line(pkg, wanted),
                pkg.name,
            )
        )
    if licence_id not in state.notices():
        ctx.findings.append(
            make(
                "notice-not-shipped",
                Severity.ERROR,
                pkg.manifest,
                line,
                f"depends on {chain[-1]} ({via}) under {licence_id} but ships no "
                f"{licence_id} notice",
                f"copy {chain[-1]}'s licence text beside {pkg.manifest}"
                + (" and add it to license-files" if pkg.licence_globs else ""),
                pkg.name,
            )
        )
