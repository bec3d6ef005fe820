"""``wg license check`` on generated monorepo trees of 500 to 4,000 packages (issue 14, item 6).

A tree (built in setup, never timed) holds the three manifest kinds in turn (``pyproject.toml``,
``Cargo.toml``, ``package.json``), 100 packages per folder, with a mix the checker must read:
licence texts beside the manifest, an ``OR`` expression with two texts, a legacy ``MIT/ISC``
slash (an expression error) and a declared licence with no text (a text error), and each package
depending on the previous one of its ecosystem.

``wg`` is the check in this process (``run_check`` then the JSON report, as the command does);
``wg_cli`` is the command a user runs, ``python -m wg license check TREE --format json``, in a
child process (interpreter start and imports included; timed by the wall clock, which counts the
child's work). The gate: both reports hold the same packages and the same findings.
"""

from __future__ import annotations

import atexit
import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from wg_bench.outputs import command_output

MIT = (
    "MIT License\n\nCopyright (c) 2026 The Bench Authors\n\nPermission is hereby granted, free of "
    "charge, to any person obtaining a copy of this software, to deal in the Software without "
    "restriction.\n\nThe above copyright notice and this permission notice shall be included in "
    "all copies.\n"
)
APACHE = "                 Apache License\n           Version 2.0, January 2004\n\nTERMS AND ...\n"
#: declared expression and the licence files shipped beside the manifest, in turn
VARIANTS = (
    ("MIT", {"LICENSE": MIT}),
    ("Apache-2.0 OR MIT", {"LICENSE-MIT": MIT, "LICENSE-APACHE": APACHE}),
    ("MIT", {"LICENSE": MIT}),
    ("MIT/ISC", {"LICENSE": MIT}),  # the legacy slash: an expression-syntax error
    ("Apache-2.0", {}),  # no text shipped: a missing-file error
)


def _manifest(kind: int, name: str, licence: str, previous: str | None) -> tuple[str, str]:
    """(file name, text) of one package's manifest of ecosystem ``kind`` (0, 1, 2)."""
    if kind == 0:
        deps = json.dumps([previous] if previous else [])
        return "pyproject.toml", (
            f'[project]\nname = "{name}"\nversion = "1.0.0"\nlicense = "{licence}"\n'
            f"dependencies = {deps}\n"
        )
    if kind == 1:
        dep = f'\n[dependencies]\n{previous} = "1"\n' if previous else ""
        return "Cargo.toml", (
            f'[package]\nname = "{name}"\nversion = "1.0.0"\nedition = "2021"\n'
            f'license = "{licence}"\n{dep}'
        )
    doc = {"name": name, "version": "1.0.0", "license": licence}
    if previous:
        doc["dependencies"] = {previous: "^1.0.0"}
    return "package.json", json.dumps(doc, indent=2) + "\n"


def write_tree(root: Path, packages: int) -> None:
    """A monorepo of ``packages`` packages under ``root`` (100 per folder)."""
    previous: list[str | None] = [None, None, None]
    for i in range(packages):
        kind, (licence, texts) = i % 3, VARIANTS[i % len(VARIANTS)]
        name = f"pkg{i:05d}"
        folder = root / f"group{i // 100:03d}" / name
        folder.mkdir(parents=True)
        manifest, text = _manifest(kind, name, licence, previous[kind])
        (folder / manifest).write_text(text)
        for file, body in texts.items():
            (folder / file).write_text(body)
        previous[kind] = name


def _report(raw: np.ndarray) -> dict[str, Any]:
    """The JSON report (given as its bytes) as comparable facts."""
    doc = json.loads(raw.tobytes())
    return {
        "packages": sorted((p["name"], p["manifest"], p["expression"]) for p in doc["packages"]),
        "findings": sorted(
            (f["rule"], f["path"] or "", f["line"] or 0, f["package"] or "")
            for f in doc["findings"]
        ),
        "exit_code": doc["exit_code"],
    }


class CheckTree:
    """``wg license check`` of a generated tree: in process and as the command."""

    params: ClassVar[Any] = [[500, 1000, 2000, 4000]]
    quick_params: ClassVar[Any] = [[500]]
    param_names: ClassVar[Any] = ["packages"]
    reference = "wg"
    tolerance = 0.0
    timeout = 600

    def setup(self, device: str, packages: int) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="wg-bench-license-"))
        atexit.register(shutil.rmtree, self.root, True)  # each cell is its own process
        write_tree(self.root, packages)

    def impl_wg(self) -> np.ndarray:
        from wg_license.check import run_check
        from wg_license.report import render

        return np.frombuffer(render(run_check(self.root), "json").encode(), np.uint8)

    def impl_wg_cli(self) -> np.ndarray:
        command = [sys.executable, "-m", "wg", "license", "check", str(self.root)]
        # exit status 1..31 is the findings' bitmask, not a failure
        return command_output([*command, "--format", "json"],
                              lambda done: done.returncode < 32 and bool(done.stdout))  # fmt: skip

    def error(self, output: np.ndarray, expected: np.ndarray) -> float:
        """0 when both reports hold the same packages and findings, else 1."""
        return 0.0 if _report(output) == _report(expected) else 1.0

    def metrics(self, output: np.ndarray) -> dict[str, float]:
        report = _report(output)
        return {
            "packages": len(report["packages"]),
            "findings": len(report["findings"]),
            "exit_code": report["exit_code"],
        }
