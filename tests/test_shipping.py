"""The hooks of `.pre-commit-hooks.yaml`, run by pre-commit itself on throwaway repositories.

pre-commit installs each hook from this checkout with pip. Offline, pip finds every wheel it needs
in ``$WG_WHEELHOUSE`` (``.ci/run`` makes that folder); without it these tests are skipped.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
WHEELHOUSE = os.environ.get("WG_WHEELHOUSE", "")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not Path(WHEELHOUSE or "/nonexistent").is_dir(),
        reason="WG_WHEELHOUSE (a folder of wheels; .ci/run makes one) lets pre-commit run offline",
    ),
]


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.email=ci@example.org", "-c", "user.name=ci", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


def _repository(path: Path, files: dict[str, str]) -> Path:
    path.mkdir(parents=True)
    for name, text in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    _git(path, "init", "-q")
    _git(path, "add", ".")
    _git(path, "commit", "-qm", "init")
    return path


def _try_repo(repo: Path, hook: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": WHEELHOUSE,
        "PRE_COMMIT_HOME": str(home),
    }
    command = [sys.executable, "-m", "pre_commit", "try-repo", str(ROOT), hook, "--all-files"]
    return subprocess.run(command, cwd=repo, env=env, capture_output=True, text=True, timeout=900)


PYPROJECT = (
    '[project]\nname = "demo"\nversion = "1.0"\nlicense = "MIT"\nlicense-files = ["LICENSE"]\n'
)


def test_license_hook_passes_a_clean_tree_and_fails_a_broken_one(tmp_path: Path) -> None:
    mit = (ROOT / "LICENSE-MIT").read_text()
    apache = (ROOT / "LICENSE-APACHE").read_text()
    clean = _repository(tmp_path / "clean", {"pyproject.toml": PYPROJECT, "LICENSE": mit})
    broken = _repository(tmp_path / "broken", {"pyproject.toml": PYPROJECT, "LICENSE": apache})
    passed = _try_repo(clean, "wg-license-check", tmp_path / "home")
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "wg license check" in passed.stdout
    assert "Passed" in passed.stdout
    failed = _try_repo(broken, "wg-license-check", tmp_path / "home")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "Failed" in failed.stdout
    assert "pyproject.toml" in failed.stdout


def test_meetings_hook_passes_our_notes_and_fails_a_misnumbered_note(tmp_path: Path) -> None:
    notes = {f"notes/{p.name}": p.read_text() for p in (ROOT / "meetings" / "notes").glob("*.md")}
    files = {"wg.yaml": (ROOT / "meetings" / "wg.yaml").read_text(), **notes}
    clean = _repository(tmp_path / "clean", files)
    passed = _try_repo(clean, "wg-meetings-check", tmp_path / "home")
    assert passed.returncode == 0, passed.stdout + passed.stderr
    broken_files = dict(files)
    first = sorted(notes)[0]
    broken_files[first] = notes[first].replace("Meeting 00001", "Meeting 00007")
    broken = _repository(tmp_path / "broken", broken_files)
    failed = _try_repo(broken, "wg-meetings-check", tmp_path / "home")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert first.split("/")[1] in failed.stdout
    shutil.rmtree(tmp_path / "home", ignore_errors=True)
