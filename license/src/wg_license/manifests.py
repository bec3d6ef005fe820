"""Read licence declarations from pyproject.toml and package.json (Cargo.toml: :mod:`cargo`),
and the typed-field and bounded-read machinery every reader shares.

Readers never raise for bad input: a file that cannot be read or parsed becomes a ``bad-input``
finding with its line, and the walk goes on.
"""

from __future__ import annotations

import os
import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wg_io import structure
from wg_io.structure import InputError

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
    #: the licence field is wrongly typed (already reported): not "declares no licence"
    bad_licence: bool = False
    #: where an inherited expression is written (Cargo's [workspace.package]): manifest, line
    expression_from: Located | None = None
    #: False for a Cargo crate with `publish = false`: it reaches users only in its repository
    published: bool = True

    def path(self, name: str) -> str:
        """A manifest-relative file name as a normalised root-relative path.

        Examples
        --------
        >>> Package("c", "cargo", "a/Cargo.toml", "a").path("../LICENSE")
        'LICENSE'
        """
        if posixpath.isabs(name):
            return name  # outside the checked tree: reported, never read
        return posixpath.normpath(f"{self.folder}/{name}" if self.folder else name)


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
    if m is None:
        return 1
    # A leading \s* in the pattern may match blank lines before the text it looks for.
    skipped = len(m.group()) - len(m.group().lstrip())
    return text.count("\n", 0, start + m.start() + skipped) + 1


#: Largest manifest, lock file or licence text read; far beyond any real one (a uv.lock of a
#: large workspace is a few MiB), so a hostile or sparse file cannot exhaust memory.
MAX_TEXT_BYTES = 64 * 1024 * 1024


def read_text(root: Path, rel: str, findings: list[Finding]) -> str | None:
    """Read a UTF-8 text file, turning every failure into a finding."""
    try:
        with (root / rel).open("rb") as fh:
            # read(n) allocates n bytes up front: ask for the size the file says it has (the
            # walk keeps regular files only, whose size is known), and one byte more.
            size = os.fstat(fh.fileno()).st_size
            data = fh.read(min(size, MAX_TEXT_BYTES) + 1)
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
    if len(data) > MAX_TEXT_BYTES:
        findings.append(
            make(
                "bad-input",
                Severity.ERROR,
                rel,
                1,
                f"larger than {MAX_TEXT_BYTES // 2**20} MiB; not read",
                "replace it with the real text file or exclude it in [tool.wg.license]",
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


def _unparsable(rel: str, exc: InputError, fix: str) -> Finding:
    return make("bad-input", Severity.ERROR, rel, exc.line or 1, exc.problem, fix)


def load_toml(root: Path, rel: str, findings: list[Finding]) -> tuple[dict[str, Any], str] | None:
    """Parse a TOML file (bounded nesting); a syntax error becomes a finding at its line."""
    text = read_text(root, rel, findings)
    if text is None:
        return None
    try:
        return structure.load_toml(text, rel), text
    except InputError as exc:
        findings.append(_unparsable(rel, exc, "fix the TOML; the file was skipped"))
        return None


def _dep_name(requirement: str) -> str | None:
    m = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    return normalise_name(m.group(1)) if m else None


def _kind(value: Any, json: bool) -> str:
    """What a parsed value is, in the words of its format."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object" if json else "a table"
    return "null" if value is None else f"a {type(value).__name__}"


class Fields:
    """Typed access to one manifest's fields: a wrongly typed field is a ``field-type`` finding
    at the line that writes it, never an exception.

    Examples
    --------
    >>> found = []
    >>> Fields("pyproject.toml", "[project]\\nclassifiers = 5\\n", found, "[project]").strings(
    ...     5, "classifiers", 'classifiers = ["..."]')
    >>> found[0].line, found[0].message
    (2, '`classifiers` must be an array of strings, not a number')
    """

    def __init__(self, rel: str, text: str, findings: list[Finding], section: str = "") -> None:
        self.rel = rel
        self.text = text
        self.findings = findings
        self.section = section
        self.json = rel.endswith(".json")

    def line(self, key: str) -> int:
        """Line of ``key`` in the current section (1 when it cannot be found)."""
        if self.json:
            return line_of(self.text, rf'"{re.escape(key)}"\s*:')
        pattern = rf"^\s*{re.escape(key)}(\.[\w-]+)*\s*=|^\s*\[{re.escape(key)}\]"
        return line_of(self.text, pattern, self.section or None)

    def wrong(self, value: Any, key: str, expected: str, example: str) -> None:
        """Report ``key`` as wrongly typed: it holds ``value``, it should be ``expected``."""
        self.findings.append(
            make(
                "field-type",
                Severity.ERROR,
                self.rel,
                self.line(key),
                f"`{key}` must be {expected}, not {_kind(value, self.json)}",
                f"write it as {example}",
            )
        )

    def table(self, value: Any, key: str, example: str) -> dict[str, Any] | None:
        """``value`` if it is a table (object), else None and a finding."""
        if isinstance(value, dict):
            return value
        self.wrong(value, key, "an object" if self.json else "a table", example)
        return None

    def strings(self, value: Any, key: str, example: str) -> list[str] | None:
        """``value`` if it is a list of strings, else None and a finding."""
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return value
        self.wrong(value, key, "an array of strings", example)
        return None

    def string(self, value: Any, key: str, example: str) -> str | None:
        """``value`` if it is a string, else None and a finding."""
        if isinstance(value, str):
            return value
        self.wrong(value, key, "a string", example)
        return None


def _name(fields: Fields, table: dict[str, Any], default: str) -> str:
    if "name" not in table:
        return default
    return fields.string(table["name"], "name", 'name = "my-package"') or default


def _pep621_licence(pkg: Package, lic: Any, fields: Fields) -> None:
    """``license = "EXPR"`` (PEP 639) or the legacy ``license = {text|file = ...}``."""
    line = fields.line("license")
    if isinstance(lic, str):
        pkg.expression = Located(lic, line)
        return
    if isinstance(lic, dict) and ("text" in lic or "file" in lic):
        pkg.legacy = "text" if "text" in lic else "file"
        value = fields.string(lic[pkg.legacy], "license", 'license = "MIT"')
        if value is not None and pkg.legacy == "text":
            pkg.expression = Located(value, line)
        elif value is not None:
            pkg.licence_files.append(Located(value, line))
        pkg.bad_licence = value is None
        return
    fields.wrong(lic, "license", "a string (an SPDX expression)", 'license = "MIT"')
    pkg.bad_licence = True


def read_pyproject(root: Path, rel: str, findings: list[Finding]) -> Package | None:
    """Read a pyproject.toml's [project] licence metadata (PEP 621 / PEP 639)."""
    loaded = load_toml(root, rel, findings)
    if loaded is None:
        return None
    data, text = loaded
    fields = Fields(rel, text, findings)
    if "project" not in data:
        return _read_poetry(data, fields)
    project = fields.table(data["project"], "project", "a [project] table")
    if project is None:
        return None
    fields.section = "[project]"
    dynamic = fields.strings(project.get("dynamic", []), "dynamic", 'dynamic = ["version"]')
    if dynamic and "license" in dynamic:
        return None
    folder = rel.rpartition("/")[0]
    pkg = Package(
        _name(fields, project, folder or "root"), "python", rel, folder, manifest_text=text
    )
    if "license" in project:
        _pep621_licence(pkg, project["license"], fields)
    example = '["LICENSE"]'
    if globs := fields.strings(project.get("license-files", []), "license-files", example):
        line = fields.line("license-files")
        pkg.licence_globs = [Located(g, line) for g in globs]
    example = '["License :: OSI Approved :: MIT License"]'
    for c in fields.strings(project.get("classifiers", []), "classifiers", example) or ():
        if c.startswith("License ::"):
            pkg.classifiers.append(Located(c, line_of(text, re.escape(c))))
    for req in fields.strings(project.get("dependencies", []), "dependencies", '["numpy"]') or ():
        if name := _dep_name(req):
            pkg.dependencies.add(name)
    return pkg


def _read_poetry(data: dict[str, Any], fields: Fields) -> Package | None:
    """Poetry (before PEP 621): ``[tool.poetry] license`` and its dependency table."""
    tool = fields.table(data.get("tool", {}), "tool", "a [tool] table")
    poetry = tool.get("poetry") if tool else None
    if not isinstance(poetry, dict) or "name" not in poetry:
        return None
    fields.section = "[tool.poetry]"
    rel = fields.rel
    folder = rel.rpartition("/")[0]
    pkg = Package(_name(fields, poetry, folder), "python", rel, folder, manifest_text=fields.text)
    if "license" in poetry:
        licence = fields.string(poetry["license"], "license", 'license = "MIT"')
        pkg.bad_licence = licence is None
        if licence is not None:
            pkg.expression = Located(licence, fields.line("license"))
    deps = fields.table(poetry.get("dependencies", {}), "dependencies", "a table of requirements")
    if deps:
        pkg.dependencies = {normalise_name(d) for d in deps if d.lower() != "python"}
    return pkg


def _npm_licence(pkg: Package, lic: Any, fields: Fields) -> None:
    """``"license": "EXPR"``, ``"SEE LICENSE IN <file>"`` or the legacy ``{"type": ...}``."""
    line = fields.line("license")
    if isinstance(lic, dict) and isinstance(lic.get("type"), str):
        pkg.legacy, lic = "object", lic["type"]
    if not isinstance(lic, str):
        fields.wrong(lic, "license", "a string (an SPDX expression)", '"license": "MIT"')
        pkg.bad_licence = True
        return
    m = re.fullmatch(r"\s*SEE LICEN[CS]E IN\s+(\S+)\s*", lic, re.I)
    if m:
        pkg.npm_file = Located(m.group(1), line)
    else:
        pkg.expression = Located(lic, line)


def read_package_json(root: Path, rel: str, findings: list[Finding]) -> Package | None:
    """Read a package.json's ``license`` (including ``SEE LICENSE IN <file>``)."""
    text = read_text(root, rel, findings)
    if text is None:
        return None
    try:
        data = structure.load_json(text, rel)
    except InputError as exc:
        findings.append(_unparsable(rel, exc, "fix the JSON; the file was skipped"))
        return None
    fields = Fields(rel, text, findings)
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
    pkg = Package(_name(fields, data, folder), "npm", rel, folder, manifest_text=text)
    if "license" in data:
        _npm_licence(pkg, data["license"], fields)
    deps = fields.table(data.get("dependencies", {}), "dependencies", '{"name": "^1.0"}')
    pkg.dependencies.update(normalise_name(d) for d in deps or ())
    return pkg
