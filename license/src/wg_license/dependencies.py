"""The dependency-allowed check: installed distributions' licences against the policy's allow
list.

The licence of a distribution comes from, in order: a clarification pinned to a file hash, core
metadata ``License-Expression`` (PEP 639), a ``License`` field that is a valid expression, and
unambiguous ``License ::`` classifiers.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from wg_license.context import Context
from wg_license.declarations import CLASSIFIERS
from wg_license.expressions import DeclarationError, Parsed, resolve, satisfies
from wg_license.findings import Severity, make
from wg_license.manifests import line_of, normalise_name


@dataclass(frozen=True)
class Origin:
    """Where a dependency enters the workspace: the manifest and line that pull it in."""

    manifest: str
    line: int
    package: str


@dataclass
class Dist:
    """An installed distribution: its ``.dist-info`` folder and core-metadata headers."""

    name: str
    version: str
    folder: Path
    headers: dict[str, list[str]] = field(default_factory=dict)

    def get(self, key: str) -> str | None:
        values = self.headers.get(key.lower())
        return values[0] if values else None

    def get_all(self, key: str) -> list[str]:
        return self.headers.get(key.lower(), [])


def read_headers(path: Path) -> dict[str, list[str]]:
    """Core-metadata headers (RFC 822 style), without the body: only they are needed.

    The email package would parse the whole METADATA file, description included; the headers
    end at the first blank line, and this reads only them.
    """
    headers: dict[str, list[str]] = {}
    last: list[str] | None = None
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return headers
    for line in text.split("\n\n", 1)[0].splitlines():
        if line[:1] in (" ", "\t") and last is not None:
            last[-1] += "\n" + line.strip()
            continue
        key, sep, value = line.partition(":")
        if sep:
            last = headers.setdefault(key.strip().lower(), [])
            last.append(value.strip())
    return headers


def installed(paths: Iterable[str] | None) -> dict[str, Dist]:
    """Installed distributions by normalised name (first on the path wins, like import)."""
    found: dict[str, Dist] = {}
    for base in sys.path if paths is None else paths:
        try:
            entries = sorted(os.scandir(base or "."), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            if entry.name.endswith(".dist-info"):
                name, _, version = entry.name[: -len(".dist-info")].partition("-")
                found.setdefault(normalise_name(name), Dist(name, version, Path(entry.path)))
    return found


def _load(dist: Dist) -> Dist:
    if not dist.headers:
        dist.headers = read_headers(dist.folder / "METADATA")
    return dist


def _requirements(dist: Dist) -> list[str]:
    names = []
    for raw in _load(dist).get_all("Requires-Dist"):
        requirement, _, marker = raw.partition(";")
        if "extra" in marker:
            continue  # optional extras are not installed by default
        m = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
        if m:
            names.append(normalise_name(m.group(1)))
    return names


def _from_classifiers(dist: Dist) -> str | None:
    ids = set()
    for c in dist.get_all("Classifier"):
        if c.startswith("License ::"):
            mapped = CLASSIFIERS.get(c.removeprefix("License ::").strip())
            if mapped is None or mapped.startswith("GPL"):
                return None  # ambiguous (e.g. "BSD License"): needs a clarification
            ids.add(mapped)
    return " AND ".join(sorted(ids)) if ids else None


def _locate(dist: Dist, file: str) -> Path | None:
    for candidate in (dist.folder / file, dist.folder / "licenses" / file):
        if candidate.is_file():
            return candidate
    try:
        record = (dist.folder / "RECORD").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    for line in record.splitlines():
        rel = line.split(",", 1)[0]
        if rel.endswith(file) and (dist.folder.parent / rel).is_file():
            return dist.folder.parent / rel
    return None


def _clarified(ctx: Context, name: str, dist: Dist) -> Parsed | None:
    """The clarified licence, if one entry's pinned file still has its hash.

    Several entries for one name let a policy cover, e.g., the builds for two Python versions.
    """
    seen = []
    for clar in ctx.policy.clarify[name]:
        found = _locate(dist, clar.file)
        actual = hashlib.sha256(found.read_bytes()).hexdigest() if found else "missing"
        if actual == clar.sha256:
            return resolve(clar.expression, ctx.policy.licence_refs).parsed
        seen.append((clar, actual))
    clar, actual = seen[0]
    ctx.findings.append(
        make(
            "clarification-stale",
            Severity.ERROR,
            ctx.policy.source,
            clar.line,
            f"clarification of {name} {dist.version} is pinned to {clar.file} (sha256 "
            f"{clar.sha256[:12]}…), but the installed file is {actual[:12]}…: its licence may "
            "have changed",
            f'review {clar.file} of {name} and set sha256 = "{actual}"',
        )
    )
    return None


def suggest_clarification(name: str, dist: Dist) -> str:
    """A ready-to-review clarify entry: the dist's licence file, its hash, the text's licence."""
    from wg_license.fingerprints import identify_text
    from wg_license.tree import is_licence_name

    for folder in (dist.folder, dist.folder / "licenses"):
        try:
            names = sorted(p.name for p in folder.iterdir() if p.is_file())
        except OSError:
            continue
        for file in (n for n in names if is_licence_name(n)):
            data = (folder / file).read_bytes()
            guess = identify_text(data.decode("utf-8", "replace")).licence or "<SPDX id>"
            return (
                f"review its licence file, then add to [tool.wg.license] clarify: "
                f'{{ name = "{name}", expression = "{guess}", file = "{file}", '
                f'sha256 = "{hashlib.sha256(data).hexdigest()}" }}'
            )
    return (
        f'add to [tool.wg.license] clarify: {{ name = "{name}", expression = "<SPDX id>", '
        'file = "<a file of the distribution>", sha256 = "<its SHA-256>" }'
    )


def licence_of(ctx: Context, name: str, dist: Dist) -> tuple[Parsed | None, str]:
    """The dependency's licence and the metadata field it came from."""
    if name in ctx.policy.clarify:
        try:
            return _clarified(ctx, name, dist), "clarification"
        except (OSError, DeclarationError):
            return None, "clarification"
    dist = _load(dist)
    candidates = [
        ("License-Expression", dist.get("License-Expression")),
        ("License", dist.get("License")),
        ("classifiers", _from_classifiers(dist)),
    ]
    for field_name, value in candidates:
        if value and "\n" not in value.strip() and len(value) < 200:
            try:
                return resolve(value.strip(), ctx.policy.licence_refs).parsed, field_name
            except DeclarationError:
                continue
    return None, "metadata"


def closure(ctx: Context, dists: dict[str, Dist]) -> dict[str, Origin]:
    """Every installed, non-workspace distribution the workspace needs at run time."""
    members = {normalise_name(s.package.name) for s in ctx.states}
    origins: dict[str, Origin] = {}
    queue: deque[str] = deque()
    for state in ctx.states:
        pkg = state.package
        if pkg.kind != "python":
            continue
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


def check_dependencies(
    ctx: Context, paths: Iterable[str] | None = None
) -> dict[str, frozenset[str]]:
    """Check the installed dependency closure; return name -> licence ids for propagation."""
    if not ctx.policy.dependencies:
        return {}
    dists = installed(paths)
    found: dict[str, frozenset[str]] = {}
    allow = ctx.policy.allow
    for name, origin in sorted(closure(ctx, dists).items()):
        parsed, source = licence_of(ctx, name, dists[name])
        version = dists[name].version
        if parsed is None:
            if source == "clarification":
                continue  # already reported as stale
            ctx.findings.append(
                make(
                    "dependency-unknown",
                    Severity.ERROR if allow is not None else Severity.WARNING,
                    origin.manifest,
                    origin.line,
                    f"cannot tell the licence of dependency {name} {version} from its metadata",
                    suggest_clarification(name, dists[name]),
                    origin.package,
                )
            )
            continue
        found[name] = parsed.keys
        exception = ctx.policy.exceptions.get(name)
        extra = exception.allow if exception else ()
        if allow is not None and not satisfies(parsed.tree, [*allow, *extra]):
            ctx.findings.append(
                make(
                    "dependency-denied",
                    Severity.ERROR,
                    origin.manifest,
                    origin.line,
                    f"dependency {name} {version} is under `{parsed.text}` ({source}), which the "
                    "allow list does not permit",
                    "allow it in [tool.wg.license] allow, or add an exception: "
                    f'{{ name = "{name}", allow = [...], reason = "..." }}',
                    origin.package,
                )
            )
    return found
