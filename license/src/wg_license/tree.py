"""One pass over a source tree: manifests, lock files, licence files, headers and artifacts."""

from __future__ import annotations

import fnmatch
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from wg_license.findings import Finding, Severity, make

MANIFESTS = frozenset({"pyproject.toml", "Cargo.toml", "package.json"})
LOCKFILES = frozenset({"uv.lock", "Cargo.lock"})
#: Folders that hold installed or generated files, never the project's own declarations.
DEFAULT_EXCLUDE = (
    ".git",
    ".hg",
    ".svn",
    ".venv",
    "venv",
    "node_modules",
    "target",
    "__pycache__",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    ".hypothesis",
    ".tox",
    ".nox",
    "build",
    "dist",
    "*.egg-info",
    "site-packages",
)
SOURCE_SUFFIXES = frozenset(
    {
        ".py",
        ".pyi",
        ".rs",
        ".js",
        ".mjs",
        ".cjs",
        ".ts",
        ".tsx",
        ".jsx",
        ".c",
        ".h",
        ".cc",
        ".cpp",
        ".hpp",
        ".cu",
        ".go",
        ".java",
        ".sh",
        ".pyx",
        ".jl",
        ".r",
        ".R",
    }
)
DEFAULT_ARTIFACTS = ("*.onnx", "*.safetensors", "*.npz", "*.pt", "*.pth", "*.ckpt", "*.wgm")
#: Our own model files are known by their magic bytes (wg_convnet, wg_online), whatever their
#: name; only files with these suffixes are opened to look, so the walk stays cheap.
MODEL_MAGICS = (b"WGCONVNT", b"WGONLINE")
_MAGIC_SUFFIXES = frozenset({".bin", ".model", ".weights", ".wgc", ".wgn", ""})
_LICENCE_NAME = re.compile(r"^(licen[cs]e|copying|notice|unlicense)([-._].*)?$", re.I)
#: The tag counts only at the start of a comment line (REUSE), not inside code or strings.
_HEADER = re.compile(
    rb"^[ \t]*(?:#+|//+|/\*+|\*|--|;+|<!--|%+|\.\.|REM)?[ \t]*"
    rb"SPDX-License-Identifier:[ \t]*([^\r\n]*)",
    re.M,
)
_HEADER_BYTES = 4096


@dataclass(frozen=True)
class Header:
    """An ``SPDX-License-Identifier`` header found in a source file."""

    path: str
    line: int
    expression: str


@dataclass
class Tree:
    """Everything the checks need, found in a single walk."""

    root: Path
    manifests: list[str] = field(default_factory=list)
    lockfiles: list[str] = field(default_factory=list)
    licence_files: dict[str, list[str]] = field(default_factory=dict)
    reuse_licences: list[str] = field(default_factory=list)
    headers: list[Header] = field(default_factory=list)
    artifacts: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    def licence_files_in(self, folder: str) -> list[str]:
        """Relative paths of LICENSE/COPYING/NOTICE files directly in ``folder``."""
        return self.licence_files.get(folder, [])


def _rel(path: str, root: str) -> str:
    rel = os.path.relpath(path, root)
    return "" if rel == "." else rel.replace(os.sep, "/")


def _join(folder: str, name: str) -> str:
    return f"{folder}/{name}" if folder else name


def is_licence_name(name: str) -> bool:
    """Whether a file name is a conventional licence file name.

    Examples
    --------
    >>> is_licence_name("LICENSE-MIT"), is_licence_name("COPYING.txt"), is_licence_name("lib.rs")
    (True, True, False)
    """
    return bool(_LICENCE_NAME.match(name))


def read_header(path: Path, rel: str, tree: Tree) -> None:
    """Record the SPDX header of one source file; binary or unreadable files are reported."""
    try:
        with path.open("rb") as fh:
            head = fh.read(_HEADER_BYTES)
    except OSError as exc:
        tree.findings.append(
            make(
                "bad-input",
                Severity.WARNING,
                rel,
                1,
                f"cannot read source file: {exc.strerror or exc}",
                "fix its permissions or exclude it in [tool.wg.license]",
            )
        )
        return
    if b"\0" in head:
        if b"SPDX-License-Identifier:" in head:
            tree.findings.append(
                make(
                    "bad-input",
                    Severity.WARNING,
                    rel,
                    1,
                    "binary file has an SPDX header; it was not checked",
                    "declare binary files in a REUSE .license sidecar",
                )
            )
        return
    m = _HEADER.search(head)
    if m is None:
        return
    line = head.count(b"\n", 0, m.start()) + 1
    text = m.group(1).decode("utf-8", "replace")
    # Comment closers (`*/`, `-->`) end the expression on the same line.
    text = re.split(r"\*/|-->", text)[0].strip()
    tree.headers.append(Header(rel, line, text))


def _matcher(patterns: tuple[str, ...]) -> re.Pattern[str]:
    """One compiled regex for a list of fnmatch patterns (fnmatch per pattern is slow)."""
    return re.compile("|".join(fnmatch.translate(p) for p in patterns) or r"(?!)")


def _is_our_model(path: str) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(8) in MODEL_MAGICS
    except OSError:
        return False


class _Walker:
    def __init__(self, tree: Tree, exclude: tuple[str, ...], artifacts: tuple[str, ...]) -> None:
        self.tree = tree
        self.exclude_names = _matcher(tuple(p for p in exclude if "/" not in p))
        self.exclude_paths = _matcher(tuple(p for p in exclude if "/" in p))
        self.artifacts = _matcher(artifacts)
        self.root = str(tree.root)

    def excluded(self, name: str, rel: str) -> bool:
        return bool(self.exclude_names.match(name) or self.exclude_paths.match(rel))

    def walk(self, folder: str, ancestors: frozenset[tuple[int, int]]) -> None:
        rel_dir = _rel(folder, self.root)
        try:
            entries = list(os.scandir(folder))
        except OSError as exc:
            self.tree.findings.append(
                make(
                    "bad-input",
                    Severity.WARNING,
                    rel_dir or ".",
                    1,
                    f"cannot list folder: {exc.strerror or exc}",
                    "fix its permissions or exclude it",
                )
            )
            return
        for entry in sorted(entries, key=lambda e: e.name):
            self.visit(entry, rel_dir, ancestors)

    def visit(
        self, entry: os.DirEntry[str], rel_dir: str, ancestors: frozenset[tuple[int, int]]
    ) -> None:
        rel = _join(rel_dir, entry.name)
        if self.excluded(entry.name, rel):
            return
        try:
            is_dir = entry.is_dir()
            is_file = not is_dir and entry.is_file()
        except OSError:
            is_dir = is_file = False
        if is_dir:
            st = os.stat(entry.path)
            key = (st.st_dev, st.st_ino)
            if key in ancestors:
                self.tree.findings.append(
                    make(
                        "bad-input",
                        Severity.WARNING,
                        rel,
                        1,
                        "symlink loop: this folder links back to one of its parents; not followed",
                        "remove the link or exclude it in [tool.wg.license] exclude",
                    )
                )
                return
            self.walk(entry.path, ancestors | {key})
        elif is_file:
            self.file(entry, rel_dir, rel)
        elif entry.is_symlink():
            self.tree.findings.append(
                make(
                    "bad-input",
                    Severity.WARNING,
                    rel,
                    1,
                    "broken or looping symlink; not followed",
                    "fix the link target or remove it",
                )
            )

    def file(self, entry: os.DirEntry[str], rel_dir: str, rel: str) -> None:
        name = entry.name
        tree = self.tree
        if name in MANIFESTS:
            tree.manifests.append(rel)
        elif name in LOCKFILES:
            tree.lockfiles.append(rel)
        if is_licence_name(name):
            tree.licence_files.setdefault(rel_dir, []).append(rel)
        if rel_dir.rsplit("/", 1)[-1] == "LICENSES":
            tree.reuse_licences.append(rel)
        suffix = os.path.splitext(name)[1]
        if suffix in SOURCE_SUFFIXES:
            read_header(Path(entry.path), rel, tree)
        if self.artifacts.match(name) or (suffix in _MAGIC_SUFFIXES and _is_our_model(entry.path)):
            tree.artifacts.append(rel)


def walk(
    root: Path,
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE,
    artifacts: tuple[str, ...] = DEFAULT_ARTIFACTS,
) -> Tree:
    """Walk ``root`` once, following folder symlinks but never around a loop.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     _ = (Path(d) / "pyproject.toml").write_text("[project]\\nname='x'\\n")
    ...     walk(Path(d)).manifests
    ['pyproject.toml']
    """
    tree = Tree(root=root)
    start = os.stat(root)
    _Walker(tree, exclude, artifacts).walk(str(root), frozenset({(start.st_dev, start.st_ino)}))
    return tree
