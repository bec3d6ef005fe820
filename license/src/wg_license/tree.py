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
    #: every file found, so globs match within the walked tree instead of walking it again
    files: list[str] = field(default_factory=list)

    def inputs(self) -> list[Path]:
        """Every file the check reads from the tree (an output must not replace one)."""
        read = [*self.manifests, *self.lockfiles, *self.reuse_licences, *self.artifacts]
        read += [h.path for h in self.headers]
        read += [rel for files in self.licence_files.values() for rel in files]
        return [self.root / rel for rel in read]

    def licence_files_in(self, folder: str) -> list[str]:
        """Relative paths of LICENSE/COPYING/NOTICE files directly in ``folder``."""
        return self.licence_files.get(folder, [])


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
    """The walk itself: iterative (deep trees cannot exhaust the stack), never outside the root,
    and every real folder listed once, however many links lead to it."""

    def __init__(self, tree: Tree, exclude: tuple[str, ...], artifacts: tuple[str, ...]) -> None:
        self.tree = tree
        self.exclude_names = _matcher(tuple(p for p in exclude if "/" not in p))
        self.exclude_paths = _matcher(tuple(p for p in exclude if "/" in p))
        self.artifacts = _matcher(artifacts)
        self.root = str(tree.root)
        self.real_root = os.path.realpath(tree.root)
        self.seen: set[tuple[int, int]] = set()
        #: folders still to list: (path, relative path, identities of the folders above it)
        self.pending: list[tuple[str, str, frozenset[tuple[int, int]]]] = []

    def excluded(self, name: str, rel: str) -> bool:
        return bool(self.exclude_names.match(name) or self.exclude_paths.match(rel))

    def warn(self, rel: str, message: str, fix: str) -> None:
        self.tree.findings.append(make("bad-input", Severity.WARNING, rel, 1, message, fix))

    def run(self) -> None:
        start = os.stat(self.root)
        key = (start.st_dev, start.st_ino)
        self.seen.add(key)
        self.pending.append((self.root, "", frozenset({key})))
        while self.pending:
            folder, rel_dir, ancestors = self.pending.pop()
            self.list_folder(folder, rel_dir, ancestors)

    def list_folder(self, folder: str, rel_dir: str, ancestors: frozenset[tuple[int, int]]) -> None:
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            self.warn(
                rel_dir or ".",
                f"cannot list folder: {exc.strerror or exc}",
                "fix its permissions or exclude it",
            )
            return
        folders = []
        for entry in entries:
            found = self.visit(entry, rel_dir, ancestors)
            if found is not None:
                folders.append(found)
        # Reversed onto the stack, so folders are listed in name order, depth first.
        self.pending.extend(reversed(folders))

    def outside(self, entry: os.DirEntry[str]) -> bool:
        """Whether ``entry`` is a link that resolves outside the checked root."""
        if not entry.is_symlink():
            return False
        target = os.path.realpath(entry.path)
        return os.path.commonpath([self.real_root, target]) != self.real_root

    def visit(
        self, entry: os.DirEntry[str], rel_dir: str, ancestors: frozenset[tuple[int, int]]
    ) -> tuple[str, str, frozenset[tuple[int, int]]] | None:
        """Record a file; return a folder still to list (None when there is none)."""
        rel = _join(rel_dir, entry.name)
        if self.excluded(entry.name, rel):
            return None
        try:
            is_dir = entry.is_dir()
            is_file = not is_dir and entry.is_file()
            outside = (is_dir or is_file) and self.outside(entry)
            st = entry.stat() if is_dir else None
        except (OSError, ValueError):
            is_dir = is_file = outside = False
            st = None
        if outside:
            self.warn(
                rel,
                "symlink to a path outside the checked tree; not followed",
                "check the tree the link points into separately, or remove the link",
            )
        elif st is not None:
            return self.folder(entry.path, rel, st, ancestors)
        elif is_file:
            self.file(entry, rel_dir, rel)
        elif entry.is_symlink():
            self.warn(
                rel, "broken or looping symlink; not followed", "fix the link target or remove it"
            )
        return None

    def folder(
        self, path: str, rel: str, st: os.stat_result, ancestors: frozenset[tuple[int, int]]
    ) -> tuple[str, str, frozenset[tuple[int, int]]] | None:
        key = (st.st_dev, st.st_ino)
        if key in ancestors:
            self.warn(
                rel,
                "symlink loop: this folder links back to one of its parents; not followed",
                "remove the link or exclude it in [tool.wg.license] exclude",
            )
            return None
        if key in self.seen:
            return None  # another link to a folder already listed: its files count once
        self.seen.add(key)
        return (path, rel, ancestors | {key})

    def file(self, entry: os.DirEntry[str], rel_dir: str, rel: str) -> None:
        name = entry.name
        tree = self.tree
        tree.files.append(rel)
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
    """Walk ``root`` once, following symlinks that stay inside it, never around a loop.

    A link out of the tree or around a loop is a warning and is not followed; a folder that
    several links reach is listed once.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     _ = (Path(d) / "pyproject.toml").write_text("[project]\\nname='x'\\n")
    ...     walk(Path(d)).manifests
    ['pyproject.toml']
    """
    tree = Tree(root=root)
    _Walker(tree, exclude, artifacts).run()
    # The order of a recursive walk in name order, which reports and SBOMs keep.
    for found in (tree.manifests, tree.lockfiles, tree.reuse_licences, tree.artifacts, tree.files):
        found.sort(key=_in_walk_order)
    tree.headers.sort(key=lambda h: _in_walk_order(h.path))
    return tree


def _in_walk_order(rel: str) -> list[str]:
    return rel.split("/")
