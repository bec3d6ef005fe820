"""Cargo workspaces as cargo package and crates.io see them: a crate ships only its own folder
(plus a ``license-file`` that cargo copies in), ``license.workspace = true`` and
``license-file.workspace = true`` inherit from ``[workspace.package]``, ``publish = false``
crates reach users only inside their repository, and the slash form is deprecated, not invalid.

Each tree is a small synthetic one with the *shape* of a real repository of the group
(a single crate, a workspace of crates under ``algorithms/``, a repository with a second,
unlicensed crate in a subfolder); see the table in license/README.md."""

from __future__ import annotations

import json
import os
import posixpath

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wg_license.cargo import read_cargo
from wg_license.check import run_check

from wg.cli import main

AGPL = "GNU AFFERO GENERAL PUBLIC LICENSE\nVersion 3, 19 November 2007\n\nPreamble ...\n"
BSD3 = (
    "Copyright (c) 2020 Example Inc.\n\nRedistribution and use in source and binary forms, with "
    "or without modification, are permitted ...\n3. Neither the name of the copyright holder "
    "...\n"
)
WORKSPACE = '[workspace]\nmembers = ["algorithms/*"]\n'


def crate(name: str, *lines: str) -> str:
    return "\n".join(["[package]", f'name = "{name}"', 'version = "0.1.0"', *lines]) + "\n"


def check(root):
    return run_check(root, site_paths=[])


def found(report):
    return [(f.rule, f.severity.value, f.path, f.line, f.message, f.fix) for f in report.findings]


def test_single_crate_declaring_mit_but_shipping_agpl(write, lic):
    root = write({"Cargo.toml": crate("one", 'license = "MIT"'), "LICENSE": AGPL})
    report = check(root)
    assert found(report) == [
        (
            "missing-file",
            "error",
            "Cargo.toml",
            4,
            "declares MIT but ships no MIT licence text",
            "add LICENSE-MIT with the MIT text beside Cargo.toml",
        ),
        (
            "undeclared-file",
            "error",
            "LICENSE",
            1,
            "ships the AGPL-3.0 text, which `MIT` does not declare",
            "add AGPL-3.0 to Cargo.toml or remove the file",
        ),
    ]
    assert report.exit_code == 2


def test_workspace_texts_at_the_root_do_not_ship_with_member_crates(write, lic):
    root = write(
        {
            "Cargo.toml": crate("top", 'license = "MIT OR Apache-2.0"') + WORKSPACE,
            "LICENSE-MIT": lic.MIT,
            "LICENSE-APACHE2": lic.APACHE,
            "algorithms/a/Cargo.toml": crate("a", 'license = "MIT OR Apache-2.0"'),
        }
    )
    report = check(root)
    assert [(f.package, f.rule, f.path, f.line, f.fix) for f in report.findings] == [
        (
            "a",
            "missing-file",
            "algorithms/a/Cargo.toml",
            4,
            f"copy or link {name} into algorithms/a/ (a package ships only the files inside "
            "its folder)",
        )
        for name in ("LICENSE-APACHE2", "LICENSE-MIT")
    ]
    assert report.exit_code == 2


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symbolic links")
def test_a_member_linking_to_the_workspace_texts_ships_them(write, lic):
    root = write(
        {
            "Cargo.toml": WORKSPACE + '[workspace.package]\nlicense = "MIT OR Apache-2.0"\n',
            "LICENSE-MIT": lic.MIT,
            "LICENSE-APACHE2": lic.APACHE,
            "algorithms/a/Cargo.toml": crate("a", "license.workspace = true"),
        }
    )
    for name in ("LICENSE-MIT", "LICENSE-APACHE2"):
        os.symlink(f"../../{name}", root / "algorithms" / "a" / name)
    report = check(root)
    assert report.findings == []
    assert report.packages[0].parsed.text == "MIT OR Apache-2.0"


def test_root_crate_inherits_from_the_workspace_table_of_its_own_manifest(write, lic):
    manifest = crate("top", "license.workspace = true") + "[workspace]\n[workspace.package]\n"
    root = write({"Cargo.toml": manifest + 'license = "MIT"\n', "LICENSE": lic.MIT})
    report = check(root)
    assert report.findings == []
    assert report.packages[0].parsed.text == "MIT"


def test_inherited_licence_file_is_relative_to_the_workspace_and_copied_in(write, lic):
    root = write(
        {
            "Cargo.toml": WORKSPACE + '[workspace.package]\nlicense-file = "LICENSE.md"\n',
            "LICENSE.md": BSD3,
            "algorithms/a/Cargo.toml": crate("a", "license-file.workspace = true"),
            "algorithms/b/Cargo.toml": crate("b", 'license-file = "../../LICENSE.md"'),
        }
    )
    report = check(root)
    assert report.findings == []
    assert [(s.package.name, s.parsed.text, list(s.shipped)) for s in report.packages] == [
        ("a", "BSD-3-Clause", ["LICENSE.md"]),
        ("b", "BSD-3-Clause", ["LICENSE.md"]),
    ]


def test_inheriting_what_the_workspace_does_not_define(write, lic):
    root = write(
        {
            "ws/Cargo.toml": WORKSPACE,
            "ws/algorithms/a/Cargo.toml": crate("a", "license.workspace = true"),
            "solo/Cargo.toml": crate("solo", "license.workspace = true"),
        }
    )
    assert found(check(root / "solo")) == [
        (
            "missing-declaration",
            "error",
            "Cargo.toml",
            4,
            "`license.workspace = true` but no enclosing Cargo.toml has a [workspace] table",
            'write `license = "..."` in the package, or add it to a [workspace] root above it',
        )
    ]
    assert found(check(root / "ws")) == [
        (
            "missing-declaration",
            "error",
            "algorithms/a/Cargo.toml",
            4,
            "`license.workspace = true` but [workspace.package] of Cargo.toml has no `license` "
            "(a non-empty string)",
            'add `license = "..."` to [workspace.package] of Cargo.toml',
        ),
    ]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            '""',
            "`license-file.workspace = true` but [workspace.package] of Cargo.toml has no "
            "`license-file` (a non-empty string)",
        ),
        ('"/etc/passwd"', "licence file `/etc/passwd` lies outside the checked tree"),
        ('"../LICENSE"', "licence file `../../../LICENSE` lies outside the checked tree"),
    ],
)
def test_inherited_licence_file_that_is_empty_or_outside(write, lic, value, message):
    root = write(
        {
            "ws/Cargo.toml": WORKSPACE + f"[workspace.package]\nlicense-file = {value}\n",
            "ws/algorithms/a/Cargo.toml": crate("a", "license-file.workspace = true"),
            "LICENSE": lic.MIT,
        }
    )
    ((path, line, found_message),) = [
        (f.path, f.line, f.message) for f in check(root / "ws").findings
    ]
    assert (path, line, found_message) == ("algorithms/a/Cargo.toml", 4, message)


@pytest.mark.parametrize("publish", ["publish = false", "publish = []"])
def test_unpublished_member_is_covered_by_the_repository_texts(write, lic, publish):
    root = write(
        {
            "Cargo.toml": WORKSPACE,
            "LICENSE-MIT": lic.MIT,
            "LICENSE-APACHE": lic.APACHE,
            "algorithms/private/Cargo.toml": crate("private", 'license = "MIT"', publish),
            "algorithms/public/Cargo.toml": crate("public", 'license = "MIT"'),
        }
    )
    report = check(root)
    # The root's Apache text is the repository's, not an undeclared text of the private crate.
    assert [(f.package, f.rule) for f in report.findings] == [("public", "missing-file")]
    private = next(s for s in report.packages if s.package.name == "private")
    assert (private.package.published, list(private.shipped)) == (False, [])
    assert sorted(private.inherited) == ["LICENSE-APACHE", "LICENSE-MIT"]


def test_publish_inherited_and_wrongly_typed(write, lic):
    root = write(
        {
            "Cargo.toml": WORKSPACE + "[workspace.package]\npublish = false\n",
            "LICENSE": lic.MIT,
            "algorithms/a/Cargo.toml": crate("a", 'license = "MIT"', "publish.workspace = true"),
            "algorithms/b/Cargo.toml": crate("b", 'license = "MIT"', 'publish = "no"'),
        }
    )
    report = check(root)
    assert [(f.package, f.rule, f.path, f.line, f.message) for f in report.findings] == [
        (
            "",
            "field-type",
            "algorithms/b/Cargo.toml",
            5,
            "`publish` must be a boolean or an array of registry names, not a string",
        ),
        (
            "b",
            "missing-file",
            "algorithms/b/Cargo.toml",
            4,
            "declares MIT but ships no MIT licence text",
        ),
    ]


def test_slash_form_is_a_warning_in_cargo_and_an_error_in_pyproject(write, lic):
    root = write(
        {
            "Cargo.toml": '[package]\nname = "c"\nlicense = "MIT/Apache-2.0"\n',
            "LICENSE-MIT": lic.MIT,
            "LICENSE-APACHE": lic.APACHE,
            "py/pyproject.toml": lic.pyproject("p", "MIT/Apache-2.0"),
            "py/LICENSE-MIT": lic.MIT,
            "py/LICENSE-APACHE": lic.APACHE,
        }
    )
    report = check(root)
    assert [(f.rule, f.severity.value, f.path, f.line, f.fix) for f in report.findings] == [
        ("legacy-metadata", "warning", "Cargo.toml", 3, 'license = "MIT OR Apache-2.0"'),
        ("expression-syntax", "error", "py/pyproject.toml", 4, 'license = "MIT OR Apache-2.0"'),
    ]
    assert report.findings[0].message == (
        "`MIT/Apache-2.0` uses the slash form, deprecated by crates.io (which reads it as OR)"
    )
    (root / "py" / "pyproject.toml").unlink()
    assert check(root).exit_code == 0


def test_an_inherited_expression_is_reported_where_it_is_written(write, lic):
    root = write(
        {
            "Cargo.toml": WORKSPACE + '[workspace.package]\nlicense = "MIT/Apach-2.0"\n',
            "algorithms/a/Cargo.toml": crate("a", "license.workspace = true"),
            "algorithms/a/LICENSE": lic.MIT,
        }
    )
    ((rule, severity, path, line, message, fix),) = found(check(root))
    assert (rule, severity, path, line, message) == (
        "unknown-id",
        "error",
        "Cargo.toml",
        4,
        "unknown licence id `Apach-2.0`",
    )
    assert fix == 'in [workspace.package]: license = "MIT OR Apache-2.0"'


def test_missing_declaration_suggests_the_enclosing_licence(write, lic):
    root = write(
        {
            "Cargo.toml": crate("fw"),
            "LICENSE.md": BSD3,
            "tool/Cargo.toml": crate("tool"),
            "private/Cargo.toml": crate("private", "publish = false"),
        }
    )
    assert [(f.package, f.fix) for f in check(root).findings] == [
        ("fw", 'license = "BSD-3-Clause"'),
        ("private", 'license = "BSD-3-Clause" (the licence of LICENSE.md)'),
        ("tool", 'license = "BSD-3-Clause" (the licence of LICENSE.md), and copy it into tool/'),
    ]


def test_cli_annotates_the_member_that_ships_no_text(write, lic):
    root = write(
        {
            "Cargo.toml": WORKSPACE + '[workspace.package]\nlicense = "MIT"\n',
            "LICENSE": lic.MIT,
            "algorithms/a/Cargo.toml": crate("a", "license.workspace = true"),
        }
    )
    result = CliRunner().invoke(main, ["license", "check", str(root), "--format", "github"])
    assert result.exit_code == 2, result.output
    assert "file=algorithms/a/Cargo.toml,line=4" in result.output
    assert "copy or link LICENSE into algorithms/a/" in result.output


def test_the_root_reuse_folder_does_not_ship_with_a_published_member(write, lic):
    root = write(
        {
            "Cargo.toml": WORKSPACE,
            "LICENSES/MIT.txt": lic.MIT,
            "algorithms/public/Cargo.toml": crate("public", 'license = "MIT"'),
            "algorithms/private/Cargo.toml": crate("private", 'license = "MIT"', "publish = false"),
        }
    )
    assert [(f.package, f.rule, f.fix) for f in check(root).findings] == [
        (
            "public",
            "missing-file",
            "copy or link LICENSES/MIT.txt into algorithms/public/ as LICENSE-MIT",
        ),
    ]


printable = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=8)
paths = st.sampled_from(["", " ", "/etc/passwd", "LICENSE", "../LICENSE"])
scalars = st.one_of(
    st.booleans(), st.integers(-5, 5), printable, paths, st.just({"workspace": True})
)
values = st.one_of(
    scalars, st.lists(scalars, max_size=3), st.dictionaries(printable, scalars, max_size=2)
)


def toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
    return json.dumps(value)  # a JSON string or integer is a TOML one


def toml_table(header: str, fields: dict) -> str:
    return f"[{header}]\n" + "".join(f"{k} = {toml_value(v)}\n" for k, v in fields.items())


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(st.sampled_from(["license", "license-file", "publish"]), values),
    st.dictionaries(st.sampled_from(["license", "license-file", "publish"]), values),
)
def test_cargo_fields_of_any_type_are_read_or_reported(tmp_path_factory, member, workspace):
    root = tmp_path_factory.mktemp("cargo")
    (root / "m").mkdir()
    (root / "Cargo.toml").write_text(
        "[workspace]\n" + toml_table("workspace.package", workspace), encoding="utf-8"
    )
    (root / "m" / "Cargo.toml").write_text(toml_table("package", member), encoding="utf-8")
    findings = []
    pkg = read_cargo(root, "m/Cargo.toml", findings)
    assert pkg is not None
    assert {f.rule for f in findings} <= {"field-type", "missing-declaration"}
    inherited = {k: workspace.get(k) for k, v in member.items() if v == {"workspace": True}}
    licence = inherited["license"] if "license" in inherited else member.get("license")
    if "license" in inherited and not (isinstance(licence, str) and licence.strip()):
        licence = None  # an empty inherited value is no declaration
    if isinstance(licence, str):
        assert pkg.expression is not None
        assert pkg.expression.value == licence
    else:
        assert pkg.expression is None
        assert ("license" not in member) or pkg.bad_licence
    file = inherited.get("license-file")
    if isinstance(file, str) and file.strip():
        assert pkg.licence_files[0].value == posixpath.join("..", file)  # the crate is m/
    publish = inherited["publish"] if "publish" in inherited else member.get("publish", True)
    assert pkg.published == (publish if isinstance(publish, bool) else publish != [])
