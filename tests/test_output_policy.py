"""Every file our code writes goes through ``wg_io.output``: a scan of the source for other writers.

A write that bypasses the policy can replace a device or a symlink, clobber an input, leave a
half-written file or a 0600 file behind. This test finds the calls that write files (``open`` in a
writing mode, ``Path.write_text``/``write_bytes``, ``os.replace``/``os.rename``, ``tempfile`` files)
in every member's ``src/`` outside ``wg_io`` and fails on any that is not listed below with its
reason. Docstring examples are not code and are not scanned.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = [ROOT / "src", *sorted(ROOT.glob("packages/*/src")), *sorted(ROOT.glob("*/src"))]

#: (file relative to the root, the call as written) -> why it may bypass the policy.
ALLOWED: dict[tuple[str, str], str] = {
    ("bench/src/wg_bench/worker.py", "write_text"): "the kernel's /proc/self/clear_refs",
    ("bench/src/wg_bench/cellrun.py", "write_text"): "a cell's spec, in its private temp folder",
    ("bench/src/wg_bench/cellrun.py", "open"): "a cell's log, in its private temp folder",
    ("bench/src/wg_bench/cluster.py", "open"): "the dask scheduler's log in its temp folder",
    ("packages/online/src/wg_online/training.py", "write_bytes"): "warm-up data, private temp",
}

WRITE_MODES = {"w", "wb", "a", "ab", "x", "xb", "w+", "wb+", "r+", "rb+", "r+b", "a+", "w+b"}
WRITING_CALLS = {"write_text", "write_bytes", "replace", "rename", "mkstemp", "NamedTemporaryFile"}


def _call_name(node: ast.Call) -> str | None:
    func = node.func
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return None


def _writes(node: ast.Call) -> str | None:
    name = _call_name(node)
    func = node.func
    if name in ("write_text", "write_bytes"):
        # A bare name is wg_io.output's function; a method call on anything else is Path's.
        if not isinstance(func, ast.Attribute):
            return None
        receiver = func.value
        if isinstance(receiver, ast.Name) and receiver.id in ("output", "wg_io"):
            return None
        return name
    if name in WRITING_CALLS:
        if name in ("replace", "rename"):
            # str.replace is not a file operation: only os.replace / os.rename / Path.rename count.
            func = node.func
            if not (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)):
                return None
            if func.value.id != "os" and name == "replace":
                return None
        return name
    if name in ("open", "fdopen"):
        modes = [*node.args[1:2], *(k.value for k in node.keywords if k.arg == "mode")]
        for mode in modes:
            if isinstance(mode, ast.Constant) and mode.value in WRITE_MODES:
                return "open"
    return None


def writers() -> list[tuple[str, int, str]]:
    found = []
    for source in SOURCES:
        for path in sorted(source.rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if rel.startswith("packages/io/"):
                continue
            for node in ast.walk(ast.parse(path.read_text(), rel)):
                if isinstance(node, ast.Call) and (call := _writes(node)):
                    found.append((rel, node.lineno, call))
    return found


def test_every_writer_goes_through_wg_io() -> None:
    bypass = [
        f"{rel}:{line}: {call}(...)" for rel, line, call in writers() if (rel, call) not in ALLOWED
    ]
    assert bypass == [], "write through wg_io.output instead:\n" + "\n".join(bypass)


def test_every_allowance_is_still_needed() -> None:
    used = {(rel, call) for rel, _, call in writers()}
    assert set(ALLOWED) <= used, f"remove allowances no longer used: {sorted(set(ALLOWED) - used)}"
