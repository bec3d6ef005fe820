"""Read a Cargo.toml the way Cargo does: ``[package]`` ``license``, ``license-file`` and
``publish``, each of which may be inherited from the workspace's ``[workspace.package]``.

Cargo's rules this module follows:

- the workspace root is the package's own manifest when it has a ``[workspace]`` table, else the
  nearest enclosing ``Cargo.toml`` that has one;
- ``license-file`` (own or inherited) may point outside the crate: ``cargo package`` copies the
  file into the crate, so it ships; an inherited path is relative to the workspace root;
- ``publish = false`` (or ``publish = []``) means the crate is never uploaded, so it reaches
  users only inside its repository (see :func:`wg_license.texts.collect_shipped`).
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wg_license.findings import Finding, Severity, make
from wg_license.manifests import (
    Fields,
    Located,
    Package,
    _name,
    line_of,
    load_toml,
    normalise_name,
)

INHERIT = {"workspace": True}


@dataclass(frozen=True)
class Workspace:
    """The ``[workspace]`` table a package inherits from, and where it is written."""

    manifest: str
    table: dict[str, Any]
    text: str

    @property
    def folder(self) -> str:
        return self.manifest.rpartition("/")[0]

    def package_field(self, key: str) -> Any:
        """``[workspace.package] <key>``, or None."""
        package = self.table.get("package")
        return package.get(key) if isinstance(package, dict) else None


def find_workspace(root: Path, rel: str, data: dict[str, Any], text: str) -> Workspace | None:
    """The workspace of the package whose manifest ``rel`` holds ``data``.

    Examples
    --------
    >>> find_workspace(Path("."), "Cargo.toml", {"workspace": {}}, "[workspace]\\n").manifest
    'Cargo.toml'
    """
    if isinstance(data.get("workspace"), dict):
        return Workspace(rel, data["workspace"], text)
    parts = rel.split("/")[:-1]
    real_root = root.resolve()
    for depth in range(len(parts) - 1, -1, -1):
        candidate = "/".join([*parts[:depth], "Cargo.toml"])
        path = root / candidate
        # A manifest reached through a link out of the tree is not read, as the walk does not.
        if not path.is_file() or not path.resolve().is_relative_to(real_root):
            continue
        loaded = load_toml(root, candidate, [])
        if loaded is not None and isinstance(loaded[0].get("workspace"), dict):
            return Workspace(candidate, loaded[0]["workspace"], loaded[1])
    return None


def _inherited(
    pkg: Package, fields: Fields, workspace: Workspace | None, key: str
) -> tuple[str, int] | None:
    """``[workspace.package] <key>`` and its line, or None after a finding at the member."""
    value = workspace.package_field(key) if workspace else None
    if isinstance(value, str) and value.strip() and workspace is not None:
        line = line_of(workspace.text, rf"^\s*{key}\s*=", "[workspace.package]")
        return value, line
    if workspace is None:
        problem = "no enclosing Cargo.toml has a [workspace] table"
        fix = f'write `{key} = "..."` in the package, or add it to a [workspace] root above it'
    else:
        problem = f"[workspace.package] of {workspace.manifest} has no `{key}` (a non-empty string)"
        fix = f'add `{key} = "..."` to [workspace.package] of {workspace.manifest}'
    fields.findings.append(
        make(
            "missing-declaration",
            Severity.ERROR,
            pkg.manifest,
            fields.line(key),
            f"`{key}.workspace = true` but {problem}",
            fix,
            pkg.name,
        )
    )
    pkg.bad_licence = True
    return None


def _licence(pkg: Package, lic: Any, fields: Fields, workspace: Workspace | None) -> None:
    """``license = "EXPR"`` or ``license.workspace = true``."""
    line = fields.line("license")
    if isinstance(lic, str):
        pkg.expression = Located(lic, line)
        return
    if lic != INHERIT:
        example = 'license = "MIT" or license.workspace = true'
        fields.wrong(lic, "license", "a string or `{ workspace = true }`", example)
        pkg.bad_licence = True
        return
    inherited = _inherited(pkg, fields, workspace, "license")
    if inherited is not None and workspace is not None:
        pkg.expression = Located(inherited[0], line)
        pkg.expression_from = Located(workspace.manifest, inherited[1])


def _licence_file(pkg: Package, value: Any, fields: Fields, workspace: Workspace | None) -> None:
    """``license-file = "PATH"`` or ``license-file.workspace = true`` (relative to the root)."""
    line = fields.line("license-file")
    if isinstance(value, str):
        pkg.licence_files.append(Located(value, line))
        return
    if value != INHERIT:
        example = 'license-file = "LICENSE" or license-file.workspace = true'
        fields.wrong(value, "license-file", "a string or `{ workspace = true }`", example)
        return
    inherited = _inherited(pkg, fields, workspace, "license-file")
    if inherited is not None and workspace is not None:
        value = inherited[0]
        up = [".."] * (len(pkg.folder.split("/")) if pkg.folder else 0)
        path = value if posixpath.isabs(value) else posixpath.join(*up, workspace.folder, value)
        pkg.licence_files.append(Located(path, line))


def _published(value: Any, fields: Fields, workspace: Workspace | None) -> bool:
    """``publish``: false or an empty registry list mean the crate is never uploaded."""
    if value == INHERIT:
        value = workspace.package_field("publish") if workspace else True
    if isinstance(value, bool):
        return value
    if isinstance(value, list):
        return bool(value)
    if value is not None:
        fields.wrong(value, "publish", "a boolean or an array of registry names", "publish = false")
    return True


def read_cargo(root: Path, rel: str, findings: list[Finding]) -> Package | None:
    """Read a Cargo.toml's [package] licence, licence file, publish flag and dependencies.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     _ = (Path(d) / "Cargo.toml").write_text(
    ...         '[package]\\nname = "c"\\nlicense.workspace = true\\npublish = false\\n'
    ...         '[workspace.package]\\nlicense = "MIT"\\n')
    ...     pkg = read_cargo(Path(d), "Cargo.toml", [])
    >>> pkg.expression.value, pkg.expression_from, pkg.published
    ('MIT', Located(value='Cargo.toml', line=6), False)
    """
    loaded = load_toml(root, rel, findings)
    if loaded is None or "package" not in loaded[0]:
        return None
    data, text = loaded
    fields = Fields(rel, text, findings)
    package = fields.table(data["package"], "package", "a [package] table")
    if package is None:
        return None
    fields.section = "[package]"
    folder = rel.rpartition("/")[0]
    pkg = Package(_name(fields, package, folder), "cargo", rel, folder, manifest_text=text)
    inherits = any(package.get(k) == INHERIT for k in ("license", "license-file", "publish"))
    workspace = find_workspace(root, rel, data, text) if inherits else None
    if "license" in package:
        _licence(pkg, package["license"], fields, workspace)
    if "license-file" in package:
        _licence_file(pkg, package["license-file"], fields, workspace)
    pkg.published = _published(package.get("publish"), fields, workspace)
    fields.section = ""
    for table in ("dependencies", "build-dependencies"):
        deps = fields.table(data.get(table, {}), table, f"a [{table}] table")
        pkg.dependencies.update(normalise_name(d) for d in deps or ())
    return pkg
