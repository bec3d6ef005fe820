"""Hostile input to `wg license` (issue 18): outputs, links, deep and wrongly typed manifests,
control bytes, full disks. Each case asserts the exit code and the exact one-line message."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wg_license.check import READERS, run_check

from wg.cli import main

MIT_PROJECT = '[project]\nname = "p"\nlicense = "MIT"\n'


def wg(*args: str) -> tuple[int, str]:
    """Run ``wg ARGS`` in-process; return the exit code and everything it printed."""
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def check_lines(root: Path, *extra: str) -> tuple[int, list[str]]:
    code, out = wg("license", "check", str(root), "--site-packages", str(root), *extra)
    return code, out.splitlines()


@pytest.fixture
def tree(write, lic):
    return write({"pyproject.toml": MIT_PROJECT, "LICENSE": lic.MIT})


# Item 1 and 20: -o and sbom -o go through the output-path policy.


def test_output_through_a_symlink_writes_its_target_and_keeps_the_link(tree, tmp_path):
    target = tmp_path / "out" / "report.json"
    target.parent.mkdir()
    target.write_text("old")
    link = tmp_path / "out" / "link.json"
    link.symlink_to(target)
    code, _ = wg("license", "check", str(tree), "--site-packages", str(tree), "-o", str(link))
    assert code == 0
    assert link.is_symlink()
    assert target.read_text().endswith("0 error(s), 0 warning(s)\n")


def test_output_to_a_fifo_is_written_in_place(tree, tmp_path):
    # A FIFO stands for /dev/null here: a regressed writer must not replace a real device.
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    code, out = wg("license", "check", str(tree), "--site-packages", str(tree), "-o", str(fifo))
    reader.join(timeout=60)
    assert (code, out) == (0, "")
    assert received == [b"1 package(s) checked: 0 error(s), 0 warning(s)\n"]
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


def test_a_replaced_report_keeps_its_mode_and_a_new_one_takes_the_umask(tree, tmp_path):
    old = tmp_path / "old.txt"
    old.write_text("x")
    old.chmod(0o640)
    new = tmp_path / "new.txt"
    mask = os.umask(0o022)
    try:
        for out in (old, new):
            assert (
                wg("license", "check", str(tree), "--site-packages", str(tree), "-o", str(out))[0]
                == 0
            )
    finally:
        os.umask(mask)
    assert (stat.S_IMODE(old.stat().st_mode), stat.S_IMODE(new.stat().st_mode)) == (0o640, 0o644)


def test_sbom_through_a_symlink_and_with_the_umask(tree, tmp_path):
    target = tmp_path / "sbom.json"
    link = tmp_path / "link.json"
    link.symlink_to(target)
    mask = os.umask(0o022)
    try:
        code, out = wg("license", "sbom", str(tree), "-o", str(link))
    finally:
        os.umask(mask)
    assert (code, out) == (0, f"wrote {link}: SPDX 2.3, 1 package(s), validated\n")
    assert link.is_symlink()
    assert json.loads(target.read_text())["spdxVersion"] == "SPDX-2.3"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644


# Item 2: an output that is one of the files read is refused, and the file is left alone.


@pytest.mark.parametrize("name", ["pyproject.toml", "LICENSE"])
def test_check_refuses_to_write_over_a_file_it_reads(tree, name):
    before = (tree / name).read_bytes()
    code, lines = check_lines(tree, "-o", str(tree / name))
    assert (code, lines) == (
        1,
        [
            f"Error: cannot write {tree / name}: it is also an input of this command "
            "(choose another output path)"
        ],
    )
    assert (tree / name).read_bytes() == before


def test_sbom_refuses_to_write_over_a_manifest_through_a_link(tree, tmp_path):
    link = tmp_path / "innocent.json"
    link.symlink_to(tree / "pyproject.toml")
    code, out = wg("license", "sbom", str(tree), "-o", str(link))
    assert (code, out) == (
        1,
        f"Error: cannot write {link}: it is also an input of this command "
        "(choose another output path)\n",
    )
    assert (tree / "pyproject.toml").read_text() == MIT_PROJECT


# Item 15: write errors name the user's path and say what to do; no temporary file is left.


def test_output_in_a_missing_folder_names_the_path(tree, tmp_path):
    out = tmp_path / "missing" / "r.json"
    code, lines = check_lines(tree, "-o", str(out))
    assert (code, lines) == (
        1,
        [f"Error: cannot write {out}: its folder does not exist (create {out.parent} first)"],
    )


def test_output_to_a_full_disk_names_the_path(tree, tmp_path):
    # Through a link, so that a regressed writer replaces the link, not the device.
    full = tmp_path / "full"
    full.symlink_to("/dev/full")
    code, lines = check_lines(tree, "-o", str(full))
    assert (code, lines) == (
        1,
        [
            f"Error: cannot write {full}: No space left on device "
            "(the disk is full: free some space or write to another disk)"
        ],
    )


def test_output_onto_a_folder_is_refused(tree, tmp_path):
    code, lines = check_lines(tree, "-o", str(tmp_path))
    assert (code, lines) == (
        2,
        [
            "Usage: main license check [OPTIONS] [PATH]",
            "Try 'main license check --help' for help.",
            "",
            f"Error: Invalid value for '-o' / '--output': File '{tmp_path}' is a directory.",
        ],
    )


# Item 14: standard output on a full disk is one line, not a traceback.


def test_stdout_to_a_full_disk_is_one_line(tree):
    script = Path(sys.executable).with_name("wg")
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            [str(script), "license", "check", str(tree), "--site-packages", str(tree)],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            check=False,
        )
    assert (done.returncode, done.stderr) == (
        1,
        "wg: cannot write standard output: No space left on device "
        "(the disk is full: free some space or write to another disk)\n",
    )


# Item 8: the walk never leaves the tree, never loops, and its work is bounded.


def test_a_link_to_the_file_system_root_is_not_followed(tree):
    (tree / "everything").symlink_to("/")
    code, lines = check_lines(tree)
    assert (code, lines) == (
        0,
        [
            "(tree)",
            "  everything:1: warning[input-readable/bad-input] symlink to a path outside the "
            "checked tree; not followed",
            "      fix: check the tree the link points into separately, or remove the link",
            "1 package(s) checked: 0 error(s), 1 warning(s)",
        ],
    )


def test_packages_outside_the_tree_are_not_reported(write, lic, tmp_path):
    root = write(
        {
            "in/pyproject.toml": MIT_PROJECT,
            "in/LICENSE": lic.MIT,
            "out/pyproject.toml": '[project]\nname = "outside"\nlicense = "GPLv3"\n',
        }
    )
    (root / "in" / "vendored").symlink_to(root / "out")
    (root / "in" / "LICENSE-GPL").symlink_to(root / "out" / "pyproject.toml")
    report = run_check(root / "in", site_paths=[])
    assert [s.package.name for s in report.packages] == ["p"]
    assert sorted((f.path, f.message) for f in report.findings) == [
        ("LICENSE-GPL", "symlink to a path outside the checked tree; not followed"),
        ("vendored", "symlink to a path outside the checked tree; not followed"),
    ]


def test_links_doubling_at_every_level_list_each_folder_once(tree):
    # 24 levels, each with two links to the next: 2**24 paths, 25 real folders.
    for level in range(24):
        (tree / f"l{level}").mkdir()
        for name in ("a", "b"):
            (tree / f"l{level}" / name).symlink_to(tree / f"l{level + 1}")
    (tree / "l24").mkdir()
    (tree / "l24" / "pyproject.toml").write_text('[project]\nname = "deep"\nlicense = "MIT"\n')
    (tree / "l24" / "LICENSE").write_text((tree / "LICENSE").read_text())
    report = run_check(tree, site_paths=[])
    assert sorted(s.package.manifest for s in report.packages) == [
        "l24/pyproject.toml",
        "pyproject.toml",
    ]


def test_a_link_cycle_between_two_folders_is_reported(tree):
    (tree / "x").mkdir()
    (tree / "x" / "y").mkdir()
    (tree / "x" / "y" / "back").symlink_to(tree / "x")
    report = run_check(tree, site_paths=[])
    assert [(f.path, f.message) for f in report.findings] == [
        ("x/y/back", "symlink loop: this folder links back to one of its parents; not followed")
    ]


def test_folders_nested_deeper_than_the_recursion_limit(tree):
    # 600 levels: a walk that recursed twice per level would pass Python's limit of 1,000
    # frames, while pytest's own clean-up (shutil.rmtree, once per level) stays under it.
    deep = tree
    for _ in range(600):
        deep = deep / "d"
        deep.mkdir()
    (deep / "pyproject.toml").write_text(MIT_PROJECT.replace('"p"', '"deep"'))
    report = run_check(tree, site_paths=[])
    assert [s.package.name for s in report.packages] == ["deep", "p"]


def test_license_files_glob_does_not_leave_the_tree(write, lic):
    root = write(
        {"pyproject.toml": lic.pyproject("g", "MIT", files=["**/LICENSE*"]), "LICENSE": lic.MIT}
    )
    (root / "up").symlink_to("/")
    report = run_check(root, site_paths=[])
    assert [(f.path, f.rule) for f in report.findings] == [("up", "bad-input")]


def test_a_huge_sparse_manifest_is_not_read(tmp_path):
    with open(tmp_path / "pyproject.toml", "wb") as fh:
        fh.truncate(65 * 2**20)
    code, lines = check_lines(tmp_path)
    assert (code, lines[1]) == (
        1,
        "  pyproject.toml:1: error[input-readable/bad-input] larger than 64 MiB; not read",
    )


# Item 12: deep documents are one finding naming the file, not a RecursionError.

DEEP = "nested more than 200 levels deep; flatten the document"


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("pyproject.toml", MIT_PROJECT + "x = " + "[" * 5000 + "]" * 5000 + "\n"),
        ("Cargo.toml", "a = " + "{b = " * 5000 + "1" + "}" * 5000 + "\n"),
        ("package.json", '{"license": "MIT", "x": ' + "[" * 5000 + "]" * 5000 + "}"),
        ("uv.lock", "version = 1\nx = " + "[" * 5000 + "]" * 5000 + "\n[[package\n"),
    ],
)
def test_deep_documents_are_one_finding(write, name, text):
    root = write({name: text})
    code, lines = check_lines(root)
    assert code == 1
    assert f"  {name}:1: error[input-readable/bad-input] {DEEP}" in lines


# Items 13 and 17: wrongly typed fields are findings at their own line.


@pytest.mark.parametrize(
    ("name", "text", "line", "message"),
    [
        (
            "pyproject.toml",
            '[project]\nname = "p"\nlicense = 5\n',
            3,
            "`license` must be a string (an SPDX expression), not a number",
        ),
        (
            "pyproject.toml",
            '[project]\nname = "p"\nlicense = ["MIT"]\n',
            3,
            "`license` must be a string (an SPDX expression), not an array",
        ),
        (
            "pyproject.toml",
            '[project]\nname = "p"\nlicense = {text = 5}\n',
            3,
            "`license` must be a string, not a number",
        ),
        (
            "pyproject.toml",
            '[project]\nname = "p"\n\nlicense = {a = 1}\n',
            4,
            "`license` must be a string (an SPDX expression), not a table",
        ),
        (
            "Cargo.toml",
            '[package]\nname = "c"\nlicense = {a = 1}\n',
            3,
            "`license` must be a string or `{ workspace = true }`, not a table",
        ),
        (
            "package.json",
            '{"name": "n",\n "license": {"type": 5}}',
            2,
            "`license` must be a string (an SPDX expression), not an object",
        ),
        (
            "package.json",
            '{"name": "n",\n\n "license": 5}',
            3,
            "`license` must be a string (an SPDX expression), not a number",
        ),
    ],
)
def test_a_wrongly_typed_licence_is_not_a_missing_licence(write, name, text, line, message):
    root = write({name: text})
    report = run_check(root, site_paths=[])
    assert [(f.rule, f.path, f.line, f.message) for f in report.findings] == [
        ("field-type", name, line, message)
    ]
    assert report.exit_code == 1


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (
            '[project]\nname = "p"\nlicense = "MIT"\nclassifiers = 5\n',
            4,
            "`classifiers` must be an array of strings, not a number",
        ),
        (
            '[project]\nname = "p"\nlicense = "MIT"\nclassifiers = ["a", 1]\n',
            4,
            "`classifiers` must be an array of strings, not an array",
        ),
        (
            '[project]\nname = "p"\nlicense = "MIT"\ndependencies = "numpy"\n',
            4,
            "`dependencies` must be an array of strings, not a string",
        ),
        (
            '[project]\nname = "p"\nlicense = "MIT"\nlicense-files = "LICENSE"\n',
            4,
            "`license-files` must be an array of strings, not a string",
        ),
        ('[project]\nname = 5\nlicense = "MIT"\n', 2, "`name` must be a string, not a number"),
        (
            '[project]\nname = "p"\nlicense = "MIT"\ndynamic = 1\n',
            4,
            "`dynamic` must be an array of strings, not a number",
        ),
        ("tool = 1\n", 1, "`tool` must be a table, not a number"),
    ],
)
def test_wrongly_typed_pyproject_fields(write, lic, text, line, message):
    root = write({"pyproject.toml": text, "LICENSE": lic.MIT})
    found = [(f.rule, f.line, f.message) for f in run_check(root, site_paths=[]).findings]
    assert found == [("field-type", line, message)]


def test_project_that_is_not_a_table_fails_the_check(write):
    root = write({"pyproject.toml": "x = 1\nproject = [1, 2]\n"})
    code, lines = check_lines(root)
    assert (code, lines[1], lines[-1]) == (
        1,
        "  pyproject.toml:2: error[input-readable/field-type] `project` must be a table, "
        "not an array",
        "0 package(s) checked: 1 error(s), 0 warning(s); exit code 1 (declaration)",
    )


def test_sbom_with_wrongly_typed_classifiers_is_written(write, lic, tmp_path):
    root = write({"pyproject.toml": MIT_PROJECT + "classifiers = 5\n", "LICENSE": lic.MIT})
    code, out = wg("license", "sbom", str(root), "-o", str(tmp_path / "s.json"))
    assert (code, out) == (0, f"wrote {tmp_path / 's.json'}: SPDX 2.3, 1 package(s), validated\n")


def test_sbom_of_a_tree_without_packages_says_so(tmp_path):
    (tmp_path / "empty").mkdir()
    code, out = wg("license", "sbom", str(tmp_path / "empty"), "-o", str(tmp_path / "s.json"))
    assert (code, out) == (
        1,
        f"Error: no package under {tmp_path / 'empty'}: found no pyproject.toml, Cargo.toml or "
        "package.json that declares a package; run it on the root of a workspace\n",
    )
    assert not (tmp_path / "s.json").exists()


# Item 17: hostile ids and control bytes.


def test_a_hostile_licenceref_is_not_echoed_into_the_fix(write):
    hostile = "LicenseRef-" + "A" * 300
    licence = f"LicenseRef-St-Claire-0.3x AND {hostile}"
    root = write({"pyproject.toml": f'[project]\nname = "p"\nlicense = "{licence}"\n'})
    fixes = {f.message.split("`")[1][:14]: f.fix for f in run_check(root, site_paths=[]).findings}
    assert fixes == {
        "LicenseRef-St-": "write LicenseRef-St-Claire-0.3 for the misspelt id",
    }


def test_a_long_licenceref_defined_by_licenses_is_not_echoed_into_the_fix(write):
    ref = "LicenseRef-" + "B" * 100
    root = write(
        {
            "pyproject.toml": f'[project]\nname = "p"\nlicense = "{ref}"\n',
            f"LICENSES/{ref}.txt": "Our own terms.\n",
        }
    )
    fixes = [f.fix for f in run_check(root, site_paths=[]).findings if ref in f.message]
    assert fixes
    assert all(ref not in fix for fix in fixes)


NUL_PACKAGE = '[project]\nname = "p"\nlicense = "MIT AND LicenseRef-a\\u0000b"\n'


def test_control_bytes_are_escaped_in_human_output(write):
    root = write({"pyproject.toml": NUL_PACKAGE, "LICENSES/LicenseRef-\x1b[2J.txt": "x"})
    code, out = wg("license", "check", str(root), "--site-packages", str(root))
    assert code == 3
    assert "\x00" not in out
    assert "\x1b" not in out
    assert "  LICENSES/LicenseRef-\\x1b[2J.txt:1: error[declared-vs-shipped/licenses-dir] " in out
    assert "`MIT AND LicenseRef-a\\x00b` does not parse" in out


def test_control_bytes_are_escaped_in_github_output(write):
    root = write({"pyproject.toml": NUL_PACKAGE, "LICENSES/LicenseRef-x\ny.txt": "x"})
    code, out = wg(
        "license", "check", str(root), "--site-packages", str(root), "--format", "github"
    )
    assert code == 3
    lines = out.splitlines()
    assert len(lines) == 2
    assert all(line.startswith("::error file=") for line in lines)
    assert "\x00" not in out
    assert lines[0].startswith("::error file=LICENSES/LicenseRef-x\\x0ay.txt,line=1,")


# The manifest readers on random, deep and wrongly typed documents: findings, never exceptions.

scalars = st.one_of(
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=8),
    st.floats(allow_nan=False, allow_infinity=False),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(["license", "name", "type", "text", "file", "a"]), inner, max_size=3
        )
    ),
    max_leaves=12,
)
KEYS = [
    "license",
    "name",
    "classifiers",
    "dependencies",
    "license-files",
    "dynamic",
    "license-file",
    "workspace",
    "type",
    "poetry",
]
documents = st.dictionaries(
    st.sampled_from(["project", "package", "tool", "workspace", "dependencies", "license", "name"]),
    st.dictionaries(st.sampled_from(KEYS), values, max_size=5) | values,
    max_size=4,
)


def toml_string(text: str) -> str:
    escaped = (
        f"\\u{ord(c):04x}" if c in '"\\' or ord(c) < 0x20 or ord(c) == 0x7F else c for c in text
    )
    return '"' + "".join(escaped) + '"'


def toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return "{" + ", ".join(f"{toml_string(k)} = {toml_value(v)}" for k, v in value.items()) + "}"


def toml_document(doc: dict) -> str:
    return "".join(f"{toml_string(k)} = {toml_value(v)}\n" for k, v in doc.items())


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(documents, st.sampled_from(sorted(READERS)), st.integers(0, 400))
def test_readers_never_raise(tmp_path, doc, name, depth):
    root = tmp_path
    nest = "[" * depth + "]" * depth
    if name == "package.json":
        text = json.dumps(doc)[:-1] + (", " if doc else "") + f'"deep": {nest or 0}}}'
    else:
        text = toml_document(doc) + f"deep = {nest or 0}\n"
    (root / name).write_text(text, encoding="utf-8")
    findings = []
    READERS[name](root, name, findings)
    assert {f.rule for f in findings} <= {"bad-input", "field-type", "missing-declaration"}
    assert all(f.line >= 1 for f in findings)
    if depth > 200:
        assert [f.message for f in findings] == [DEEP]
