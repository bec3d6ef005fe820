"""Bad input is a finding with file:line and the reason, never a traceback."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wg_license.check import run_check


def check(root):
    return run_check(root, site_paths=[])


def by_path(report):
    return {f.path: f for f in report.findings}


def test_malformed_manifests_are_reported_and_the_rest_is_checked(write, lic):
    root = write(
        {
            "a/pyproject.toml": '[project]\nname = "a"\nlicense = "MIT\n',
            "b/package.json": '{"name": "b",\n  "license": "MIT",\n}',
            "c/Cargo.toml": b"\x00\x01\x02binary",
            "d/package.json": "[1, 2]",
            "e/pyproject.toml": b'[project]\nname = "\xff"\n',
            "ok/pyproject.toml": lic.pyproject("ok", "MIT/ISC"),
        }
    )
    report = check(root)
    found = by_path(report)
    assert (found["a/pyproject.toml"].line, found["a/pyproject.toml"].rule) == (3, "bad-input")
    assert found["a/pyproject.toml"].message == "invalid TOML: Illegal character '\\n' (column 15)"
    assert (found["b/package.json"].line, found["b/package.json"].message) == (
        3,
        "invalid JSON: Expecting property name enclosed in double quotes (column 1)",
    )
    assert found["c/Cargo.toml"].message == "binary file where a text file was expected"
    assert found["d/package.json"].message == "package.json must hold a JSON object"
    assert (found["e/pyproject.toml"].line, found["e/pyproject.toml"].message) == (
        2,
        "not UTF-8 text (byte 18)",
    )
    rules = [f.rule for f in report.findings if f.path == "ok/pyproject.toml"]
    # checking goes on with the certain fix: neither MIT nor ISC text is shipped
    assert rules == ["expression-syntax", "missing-file", "missing-file"]


def test_unreadable_licence_file(write, lic, monkeypatch):
    root = write({"pyproject.toml": lic.pyproject("m", "MIT"), "LICENSE": lic.MIT})
    real = Path.open

    def open_(self, *args, **kwargs):
        if self.name == "LICENSE":
            raise PermissionError(13, "Permission denied")
        return real(self, *args, **kwargs)

    # chmod 000 does not stop root (CI may run as root), so fail the read itself.
    monkeypatch.setattr(Path, "open", open_)
    found = by_path(check(root))
    assert found["LICENSE"].message == "cannot read: Permission denied"
    assert found["pyproject.toml"].rule == "missing-file"


def test_malformed_lock_file(write, lic):
    root = write(
        {
            "uv.lock": "version = 1\n[[package]\n",
            "pyproject.toml": lic.pyproject("m", "MIT"),
            "LICENSE": lic.MIT,
        }
    )
    (finding,) = check(root).findings
    assert (finding.path, finding.line, finding.rule) == ("uv.lock", 2, "bad-input")


def test_symlink_loops_are_reported_once_and_not_followed(write, lic):
    root = write({"pkg/pyproject.toml": lic.pyproject("p", "MIT"), "pkg/LICENSE": lic.MIT})
    (root / "pkg" / "loop").symlink_to(root)
    (root / "self").symlink_to(root / "self")
    found = by_path(check(root))
    assert found["pkg/loop"].message.startswith("symlink loop")
    assert found["self"].message == "broken or looping symlink; not followed"
    assert len(found) == 2


def test_binary_source_file_with_header_is_a_warning(write, lic):
    tag = b"SPDX-" + b"License-Identifier"
    root = write(
        {
            "pyproject.toml": lic.pyproject("m", "MIT"),
            "LICENSE": lic.MIT,
            "blob.c": b"\x00\x00// " + tag + b": GPL-3.0-only\n",
        }
    )
    (finding,) = check(root).findings
    assert (finding.path, finding.severity.value) == ("blob.c", "warning")


def test_unknown_id_and_unbalanced_parentheses(write, lic):
    root = write(
        {
            "a/pyproject.toml": lic.pyproject("a", "(MIT OR Apache-2.0"),
            "b/pyproject.toml": lic.pyproject("b", "Frobnicate-9.9"),
        }
    )
    found = by_path(check(root))
    assert found["a/pyproject.toml"].message == (
        "unbalanced parentheses in `(MIT OR Apache-2.0`: 1 `(` not closed"
    )
    assert found["a/pyproject.toml"].line == 4
    assert found["b/pyproject.toml"].rule == "unknown-id"
    assert "use an SPDX id" in found["b/pyproject.toml"].fix


def test_bad_policy_is_a_config_finding(write, lic):
    root = write(
        {"pyproject.toml": ('[tool.wg.license]\nallow = "MIT"\nexceptions = [{ name = "x" }]\n')}
    )
    found = sorted((f.rule, f.line) for f in check(root).findings)
    assert found == [("config", 2), ("config", 3)]


MANIFEST_NAMES = st.sampled_from(
    ["pyproject.toml", "Cargo.toml", "package.json", "uv.lock", "LICENSE", "src/a.py"]
)
CONTENT = st.one_of(
    st.binary(max_size=200),
    st.text(max_size=200),
    st.sampled_from(
        [
            '[project]\nname = "x"\nlicense = ',
            '{"license": {"type": 3}}',
            "[package]\nlicense = { workspace = true }\n",
            '[project]\nlicense = { file = 3 }\nlicense-files = "LICENSE"\n',
            "# SPDX-" + "License-Identifier: ((MIT\n",
        ]
    ),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(MANIFEST_NAMES, CONTENT, min_size=1, max_size=4))
def test_arbitrary_files_never_raise(files):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for rel, content in files.items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            data = content if isinstance(content, bytes) else content.encode("utf-8", "replace")
            (root / rel).write_bytes(data)
        report = check(root)
        assert all(f.line >= 1 and f.path for f in report.findings)


def test_licence_paths_may_not_leave_the_tree(write, lic):
    root = write(
        {
            "a/package.json": '{"name": "a", "license": "SEE LICENSE IN ../../../etc/passwd"}',
            "b/pyproject.toml": lic.pyproject("b", "MIT", ["../LICENSE"]),
            "LICENSE": lic.MIT,
        }
    )
    found = by_path(check(root))
    assert found["a/package.json"].message == (
        "licence file `../../../etc/passwd` lies outside the checked tree"
    )
    assert found["b/pyproject.toml"].rule == "license-files-glob"
