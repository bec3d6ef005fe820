"""Rule 7: installed distributions' licences against the policy's allow list.

The licence of a distribution comes from, in order: a clarification pinned to a file hash, core
metadata ``License-Expression`` (PEP 639), a ``License`` field that is a valid expression, and
unambiguous ``License ::`` classifiers.
"""

from __future__ import annotations

import hashlib
import importlib.metadata as md
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from wg_license.context import Context
from wg_license.declarations import CLASSIFIERS
from wg_license.expressions import ExpressionProblem, Parsed, resolve, satisfies
from wg_license.findings import Severity, make
from wg_license.manifests import normalise_name


@dataclass(frozen=True)
class Origin:
    """Where a dependency enters the workspace: the manifest and line that pull it in."""

    manifest: str
    line: int
    package: str


def _requirements(dist: md.Distribution) -> list[str]:
    from packaging.requirements import InvalidRequirement, Requirement

    names = []
    for raw in dist.requires or ():
        try:
            req = Requirement(raw)
        except InvalidRequirement:
            continue
        if req.marker is None or req.marker.evaluate({"extra": ""}):
            names.append(normalise_name(req.name))
    return names


def installed(paths: Iterable[str] | None) -> dict[str, md.Distribution]:
    """Installed distributions by normalised name (first on the path wins, like import)."""
    found: dict[str, md.Distribution] = {}
    dists = md.distributions(path=list(paths)) if paths is not None else md.distributions()
    for dist in dists:
        name = dist.metadata["Name"]
        if name:
            found.setdefault(normalise_name(name), dist)
    return found


def _from_classifiers(dist: md.Distribution) -> str | None:
    ids = set()
    for c in dist.metadata.get_all("Classifier") or ():
        if c.startswith("License ::"):
            mapped = CLASSIFIERS.get(c.removeprefix("License ::").strip())
            if mapped is None or mapped.startswith("GPL"):
                return None  # ambiguous (e.g. "BSD License"): needs a clarification
            ids.add(mapped)
    return " AND ".join(sorted(ids)) if ids else None


def _clarified(ctx: Context, name: str, dist: md.Distribution) -> Parsed | None:
    clar = ctx.policy.clarify[name]
    matches = [f for f in dist.files or () if f.as_posix().endswith(clar.file)]
    actual = hashlib.sha256(Path(str(dist.locate_file(matches[0]))).read_bytes()).hexdigest() \
        if matches else "missing"
    if actual != clar.sha256:
        ctx.findings.append(make(
            "clarification-stale", Severity.ERROR, ctx.policy.source, clar.line,
            f"clarification of {name} is pinned to {clar.file} with sha256 {clar.sha256[:12]}…, "
            f"but the installed file is {actual[:12]}…: its licence may have changed",
            f'review {clar.file} of {name} and set sha256 = "{actual}"'))
        return None
    return resolve(clar.expression, ctx.policy.licence_refs).parsed


def licence_of(ctx: Context, name: str, dist: md.Distribution) -> tuple[Parsed | None, str]:
    """The dependency's licence and the metadata field it came from."""
    if name in ctx.policy.clarify:
        try:
            return _clarified(ctx, name, dist), "clarification"
        except (OSError, ExpressionProblem):
            return None, "clarification"
    meta = dist.metadata
    candidates = [("License-Expression", meta.get("License-Expression")),
                  ("License", meta.get("License")), ("classifiers", _from_classifiers(dist))]
    for field, value in candidates:
        if value and "\n" not in value.strip() and len(value) < 200:
            try:
                return resolve(value.strip(), ctx.policy.licence_refs).parsed, field
            except ExpressionProblem:
                continue
    return None, "metadata"


def closure(ctx: Context, dists: dict[str, md.Distribution]) -> dict[str, Origin]:
    """Every installed, non-workspace distribution the workspace needs at run time."""
    members = {normalise_name(s.package.name) for s in ctx.states}
    origins: dict[str, Origin] = {}
    queue: deque[str] = deque()
    for state in ctx.states:
        pkg = state.package
        if pkg.kind != "python":
            continue
        from wg_license.manifests import line_of

        line = line_of(pkg.manifest_text, r"^\s*dependencies\s*=", "[project]")
        for dep in sorted(pkg.dependencies - members):
            if dep not in origins:
                origins[dep] = Origin(pkg.manifest, line, pkg.name)
                queue.append(dep)
    while queue:
        name = queue.popleft()
        if name not in dists:
            continue
        for dep in _requirements(dists[name]):
            if dep not in origins and dep not in members:
                origins[dep] = origins[name]
                queue.append(dep)
    return {n: o for n, o in origins.items() if n in dists}


def check_dependencies(ctx: Context, paths: Iterable[str] | None = None) -> dict[str, frozenset[str]]:
    """Check the installed dependency closure; return name -> licence ids for propagation."""
    if not ctx.policy.dependencies:
        return {}
    dists = installed(paths)
    found: dict[str, frozenset[str]] = {}
    allow = ctx.policy.allow
    for name, origin in sorted(closure(ctx, dists).items()):
        parsed, field = licence_of(ctx, name, dists[name])
        version = dists[name].version
        if parsed is None:
            if field == "clarification":
                continue  # already reported as stale
            ctx.findings.append(make(
                "dependency-unknown", Severity.ERROR if allow is not None else Severity.WARNING,
                origin.manifest, origin.line,
                f"cannot determine the licence of dependency {name} {version} from its metadata",
                f'add [[tool.wg.license.clarify]] name = "{name}" with its expression, file and '
                "sha256", origin.package))
            continue
        found[name] = parsed.keys
        exception = ctx.policy.exceptions.get(name)
        extra = exception.allow if exception else ()
        if allow is not None and not satisfies(parsed.tree, [*allow, *extra]):
            ctx.findings.append(make(
                "dependency-denied", Severity.ERROR, origin.manifest, origin.line,
                f"dependency {name} {version} is under `{parsed.text}` ({field}), which the "
                "allow list does not permit",
                f'allow it in [tool.wg.license] allow, or add an exception: {{ name = "{name}", '
                f'allow = [...], reason = "..." }}', origin.package))
    return found
