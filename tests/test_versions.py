"""Every distribution's version is the one in ``VERSION`` (``tools/set_version.py`` writes them)."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("set_version", ROOT / "tools" / "set_version.py")
assert spec is not None
assert spec.loader is not None
set_version = importlib.util.module_from_spec(spec)
spec.loader.exec_module(set_version)


@pytest.mark.parametrize("path", sorted(set_version.COPIES), ids=lambda p: str(p.relative_to(ROOT)))
def test_copy_agrees_with_version_file(path: Path) -> None:
    wanted = (ROOT / "VERSION").read_text().strip()
    found = re.search(set_version.COPIES[path], path.read_text())
    assert found is not None, f"{path} holds no version"
    assert found.group(1) == wanted


def test_every_member_is_covered() -> None:
    covered = {p.parent.relative_to(ROOT).as_posix() for p in set_version.COPIES}
    assert set(set_version.MEMBERS) <= covered
    assert "packages/io" in covered


def test_bad_version_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert set_version.main(["one"]) == 2
    assert capsys.readouterr().err == "usage: python tools/set_version.py X.Y.Z\n"
