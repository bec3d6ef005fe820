"""`tools/commit_subject.py`: the commit-msg hook and audit of CONTRIBUTING's subject rule."""

from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location(
    "commit_subject", ROOT / "tools" / "commit_subject.py"
)
assert spec is not None
assert spec.loader is not None
commit_subject = importlib.util.module_from_spec(spec)
spec.loader.exec_module(commit_subject)


@pytest.mark.parametrize(
    ("subject", "why"),
    [
        ("wg_online: vw_block takes Examples and three tuples (6 parameters)", []),
        ("bench tests: one table of failure modes", []),
        ("x" * 60 + ": " + "y" * 10, []),  # exactly 72
        ("wg_online: " + "y" * 62, ["73 characters, over 72"]),
        ("fix the parser", ["no area prefix"]),
        ("wg_online:no space after the colon", ["no area prefix"]),
        ("", ["no area prefix"]),
    ],
)
def test_subject_rules(subject: str, why: list[str]) -> None:
    found = commit_subject.problems(subject)
    assert len(found) == len(why)
    for problem, start in zip(found, why, strict=True):
        assert problem.startswith(start)


def test_hook_reads_the_message_file_without_comments(tmp_path: Path, capsys) -> None:
    msg = tmp_path / "COMMIT_EDITMSG"
    msg.write_text("# Please enter the commit message\nbench: one plots module\n\nBody.\n")
    assert commit_subject.main([str(msg)]) == 0
    msg.write_text("a subject without an area that is also fine in length\n")
    assert commit_subject.main([str(msg)]) == 1
    assert capsys.readouterr().out.startswith("message: no area prefix")


def test_range_audit_names_each_commit(tmp_path: Path, capsys, monkeypatch) -> None:
    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True)

    git("init", "-q")
    git("config", "user.email", "t@example.org")
    git("config", "user.name", "t")
    git("commit", "-q", "--allow-empty", "-m", "docs: a good subject")
    git("commit", "-q", "--allow-empty", "-m", "docs: " + "z" * 70)
    monkeypatch.chdir(tmp_path)
    assert commit_subject.main(["--range", "HEAD~1..HEAD"]) == 1
    line = capsys.readouterr().out.strip()
    assert "76 characters, over 72" in line
    assert line.split(":")[0].isalnum()
    assert commit_subject.main(["--range", "HEAD~1"]) == 0
