"""Fixtures: real St. Claire texts from the shared corpus and a builder for test trees."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pytest
from wg_io.corpus import corpus_dir

ST_CLAIRE = corpus_dir() / "st-claire-license"
FILES = {
    "LicenseRef-St-Claire-0.1": "st-claire-license-v0.1.md",
    "LicenseRef-St-Claire-0.2": "st-claire-license-v0.2.md",
    "LicenseRef-St-Claire-0.3": "st-claire-license-v0.3.md",
    "LicenseRef-Extended-St-Claire-0.1": "extended-st-claire-license-template-v0.1.md",
}
MIT = (
    "MIT License\n\nCopyright (c) 2026 Test\n\nPermission is hereby granted, free of charge, "
    "to any person obtaining a copy of this software, to deal in the Software without "
    "restriction.\n\n"
    "The above copyright notice and this permission notice shall be included in all copies.\n"
)
APACHE = "                 Apache License\n           Version 2.0, January 2004\n\nTERMS AND ...\n"


def corpus_text(licence_id: str, fill: bool = True) -> str:
    """The real licence text, placeholders filled like a project would."""
    path = ST_CLAIRE / FILES[licence_id]
    if not path.is_file():
        pytest.skip(f"St. Claire corpus not found at {ST_CLAIRE} (set WG_CORPUS)")
    text = path.read_text(encoding="utf-8")
    if fill:
        text = text.replace("<YEAR>", "2026").replace("<COPYRIGHT HOLDER>", "The WG Authors")
    return text


def pyproject(
    name: str,
    licence: str | None = None,
    files: list[str] | None = None,
    deps: list[str] | None = None,
    extra: str = "",
) -> str:
    """A minimal PEP 621 pyproject.toml."""
    lines = ["[project]", f'name = "{name}"', 'version = "0.1.0"']
    if licence is not None:
        lines.append(f"license = {json.dumps(licence)}")
    if files is not None:
        lines.append(f"license-files = {json.dumps(files)}")
    lines.append(f"dependencies = {json.dumps(deps or [])}")
    return "\n".join(lines) + "\n" + extra


@pytest.fixture
def write(tmp_path: Path) -> Callable[..., Path]:
    """Write ``{relative path: text or bytes}`` under tmp_path; return tmp_path."""

    def _write(files: dict[str, str | bytes]) -> Path:
        for rel, content in files.items():
            path = tmp_path / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8")
        return tmp_path

    return _write


@pytest.fixture
def lic() -> SimpleNamespace:
    """Helpers shared by the tests (conftest modules cannot be imported by name here)."""
    return SimpleNamespace(
        text=corpus_text, pyproject=pyproject, MIT=MIT, APACHE=APACHE, files=FILES, corpus=ST_CLAIRE
    )
