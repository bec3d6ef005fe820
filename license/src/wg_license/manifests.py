"""Read licence declarations from pyproject.toml, Cargo.toml and package.json.

Readers never raise for bad input: a file that cannot be read or parsed becomes a ``bad-input``
finding with its line, and the walk goes on.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wg_license.findings import Finding, Severity, make


@dataclass(frozen=True)
class Located:
    """A value from a manifest with the line it was written on."""

    value: str
    line: int


@dataclass
class Package:
    """One package's licence declaration, whatever its ecosystem."""

    name: str
    kind: str
    manifest: str
    folder: str
    expression: Located | None = None
    licence_files: list[Located] = field(default_factory=list)
    licence_globs: list[Located] = field(default_factory=list)
    classifiers: list[Located] = field(default_factory=list)
    dependencies: set[str] = field(default_factory=set)
    legacy: str = ""
    npm_file: Located | None = None
    manifest_text: str = ""

    def path(self, name: str) -> str:
        """A manifest-relative file name as a root-relative path."""
        return f"{self.folder}/{name}" if self.folder else name


def normalise_name(name: str) -> str:
    """PEP 503 normalised distribution name.

    Examples
    --------
    >>> normalise_name("Wg_License.Tools")
    'wg-license-tools'
    """
    return re.sub(r"[-_.]+", "-", name).lower()


def line_of(text: str, pattern: str, after: str | None = None) -> int:
    """1-based line of the first ``pattern`` match (after the section header ``after``).

    Examples
    --------
    >>> line_of("[a]\\nlicense = 1\\n[project]\\nlicense = 2\\n", r"license\\s*=", "[project]")
    4
    """
    start = 0
    if after is not None:
        i = text.find(after)
        start = i if i >= 0 else 0
    m = re.search(pattern, text[start:], re.M)
    return text.count("\n", 0, start + m.start()) + 1 if m else 1


def read_text(root: Path, rel: str, findings: list[Finding]) -> str | None:
    """Read a UTF-8 text file, turning every failure into a finding."""
    try:
        data = (root / rel).read_bytes()
    except OSError as exc:
        findings.append(
            make(
                "bad-input",
                Severity.ERROR,
                rel,
                1,
                f"cannot read: {exc.strerror or exc}",
                "fix the file's permissions",
            )
        )
        return None
    if b"\0" in data[:8192]:
        findings.append(
            make(
                "bad-input",
                Severity.ERROR,
                rel,
                1,
                "binary file where a text file was expected",
                "replace it with the UTF-8 text file",
            )
        )
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        findings.append(
            make(
                "bad-input",
                Severity.ERROR,
                rel,
                line,
                f"not UTF-8 text (byte {exc.start})",
                "re-save the file as UTF-8",
            )
        )
        return None


def load_toml(root: Path, rel: str, findings: list[Finding]) -> tuple[dict[str, Any], str] | None:
    """Parse a TOML file; a syntax error becomes a finding at its line."""
    text = read_text(root, rel, findings)
    if text is None:
        return None
    try:
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"line (\d+)", str(exc))
        findings.append(
            make(
                "bad-input",
                Severity.ERROR,
                rel,
                int(m.group(1)) if m else 1,
                f"malformed TOML: {exc}",
                "fix the TOML syntax; the file was skipped",
            )
        )
        return None


def _dep_name(requirement: str) -> str | None:
    m = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    return normalise_name(m.group(1)) if m else None


def read_pyproject(root: Path, rel: str, findings: list[Finding]) -> Package | None:
    """Read a pyproject.toml's [project] licence metadata (PEP 621 / PEP 639)."""
    loaded = load_toml(root, rel, findings)
    if loaded is None:
        return None
    data, text = loaded
    project = data.get("project")
    if not isinstance(project, dict):
        return _read_poetry(data, text, rel)
    if "license" in (project.get("dynamic") or ()):
        return None
    folder = rel.rpartition("/")[0]
    pkg = Package(
        str(project.get("name", folder or "root")), "python", rel, folder, manifest_text=text
    )
    lic = project.get("license")
    lic_line = line_of(text, r"^\s*license\s*=", "[project]")
    if isinstance(lic, str):
        pkg.expression = Located(lic, lic_line)
    elif isinstance(lic, dict):
        pkg.legacy = "text" if "text" in lic else "file"
        if isinstance(lic.get("text"), str):
            pkg.expression = Located(lic["text"], lic_line)
        elif isinstance(lic.get("file"), str):
            pkg.licence_files.append(Located(lic["file"], lic_line))
    globs_line = line_of(text, r"^\s*license-files\s*=", "[project]")
    files = project.get("license-files")
    if isinstance(files, list):
        pkg.licence_globs = [Located(str(g), globs_line) for g in files]
    for c in project.get("classifiers") or ():
        if isinstance(c, str) and c.startswith("License ::"):
            pkg.classifiers.append(Located(c, line_of(text, re.escape(c))))
    for req in project.get("dependencies") or ():
        if isinstance(req, str) and (name := _dep_name(req)):
            pkg.dependencies.add(name)
    return pkg


def _read_poetry(data: dict[str, Any], text: str, rel: str) -> Package | None:
    """Poetry (before PEP 621): ``[tool.poetry] license`` and its dependency table."""
    poetry = data.get("tool", {}).get("poetry")
    if not isinstance(poetry, dict) or "name" not in poetry:
        return None
    folder = rel.rpartition("/")[0]
    pkg = Package(str(poetry["name"]), "python", rel, folder, manifest_text=text)
    if isinstance(poetry.get("license"), str):
        line = line_of(text, r"^\s*license\s*=", "[tool.poetry]")
        pkg.expression = Located(poetry["license"], line)
    deps = poetry.get("dependencies")
    if isinstance(deps, dict):
        pkg.dependencies = {normalise_name(d) for d in deps if d.lower() != "python"}
    return pkg


def _cargo_workspace_licence(root: Path, folder: str, findings: list[Finding]) -> Located | None:
    parts = folder.split("/") if folder else []
    for depth in range(len(parts) - 1, -1, -1):
        rel = "/".join([*parts[:depth], "Cargo.toml"])
        if not (root / rel).is_file():
            continue
        loaded = load_toml(root, rel, [])
        if loaded and "workspace" in loaded[0]:
            lic = loaded[0]["workspace"].get("package", {}).get("license")
            line = line_of(loaded[1], r"^\s*license\s*=", "[workspace.package]")
            return Located(lic, line) if isinstance(lic, str) else None
    return None


def read_cargo(root: Path, rel: str, findings: list[Finding]) -> Package | None:
    """Read a Cargo.toml's [package] licence, licence-file and dependencies."""
    loaded = load_toml(root, rel, findings)
    if loaded is None:
        return None
    data, text = loaded
    package = data.get("package")
    if not isinstance(package, dict):
        return None
    folder = rel.rpartition("/")[0]
    pkg = Package(str(package.get("name", folder)), "cargo", rel, folder, manifest_text=text)
    lic = package.get("license")
    line = line_of(text, r"^\s*license(\.workspace)?\s*=", "[package]")
    if isinstance(lic, str):
        pkg.expression = Located(lic, line)
    elif isinstance(lic, dict) and lic.get("workspace") is True:
        inherited = _cargo_workspace_licence(root, folder, findings)
        if inherited is None:
            findings.append(
                make(
                    "missing-declaration",
                    Severity.ERROR,
                    rel,
                    line,
                    "`license.workspace = true` but no [workspace.package] license",
                    'add `license = "..."` to [workspace.package] of the workspace',
                )
            )
        else:
            pkg.expression = Located(inherited.value, line)
    if isinstance(package.get("license-file"), str):
        file_line = line_of(text, r"^\s*license-file\s*=", "[package]")
        pkg.licence_files.append(Located(package["license-file"], file_line))
    for table in ("dependencies", "build-dependencies"):
        deps = data.get(table)
        if isinstance(deps, dict):
            pkg.dependencies.update(normalise_name(d) for d in deps)
    return pkg


def read_package_json(root: Path, rel: str, findings: list[Finding]) -> Package | None:
    """Read a package.json's ``license`` (including ``SEE LICENSE IN <file>``)."""
    text = read_text(root, rel, findings)
    if text is None:
        return None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        findings.append(
            make(
                "bad-input",
                Severity.ERROR,
                rel,
                exc.lineno,
                f"malformed JSON: {exc.msg} (column {exc.colno})",
                "fix the JSON syntax; the file was skipped",
            )
        )
        return None
    if not isinstance(data, dict):
        findings.append(
            make(
                "bad-input",
                Severity.ERROR,
                rel,
                1,
                "package.json must hold a JSON object",
                "wrap the fields in {}",
            )
        )
        return None
    folder = rel.rpartition("/")[0]
    pkg = Package(str(data.get("name", folder)), "npm", rel, folder, manifest_text=text)
    line = line_of(text, r'"licen[cs]es?"\s*:')
    lic = data.get("license")
    if isinstance(lic, dict) and isinstance(lic.get("type"), str):
        pkg.legacy, lic = "object", lic["type"]
    if isinstance(lic, str):
        m = re.fullmatch(r"\s*SEE LICEN[CS]E IN\s+(\S+)\s*", lic, re.I)
        if m:
            pkg.npm_file = Located(m.group(1), line)
        else:
            pkg.expression = Located(lic, line)
    deps = data.get("dependencies")
    if isinstance(deps, dict):
        pkg.dependencies.update(normalise_name(d) for d in deps)
    return pkg


READERS = {
    "pyproject.toml": read_pyproject,
    "Cargo.toml": read_cargo,
    "package.json": read_package_json,
}
