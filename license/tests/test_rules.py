"""The declaration and text checks (licence-declared, expression-valid, classifiers-agree,
custom-licence-caveats, declared-vs-shipped, text-matches-version, placeholder-filled,
headers-agree) on real trees built in tmp_path with the real St. Claire texts."""

from __future__ import annotations

import json

import pytest
from wg_license.check import run_check

V3 = "LicenseRef-St-Claire-0.3"
pytestmark = pytest.mark.corpus
ACK = '[tool.wg.license]\nacknowledge-unstable = ["LicenseRef-St-Claire-0.3"]\n'


def rules(report):
    return sorted((f.rule, f.path, f.line) for f in report.findings)


def check(root):
    return run_check(root, site_paths=[])


def test_consistent_st_claire_package_is_clean(write, lic):
    root = write(
        {
            "pyproject.toml": lic.pyproject("model", V3, ["LICENSE"], extra=ACK),
            "LICENSE": lic.text(V3),
            "src/model.py": "# SPDX-License-Identifier: LicenseRef-St-Claire-0.3\n",
        }
    )
    report = check(root)
    assert report.findings == []
    assert report.exit_code == 0
    assert report.packages[0].parsed.text == V3


def test_unacknowledged_instability_is_only_a_warning(write, lic):
    root = write({"pyproject.toml": lic.pyproject("m", V3, ["LICENSE"]), "LICENSE": lic.text(V3)})
    report = check(root)
    assert rules(report) == [("unstable-licence", "pyproject.toml", 4)]
    assert (
        report.findings[0].fix
        == f'acknowledge it: [tool.wg.license] acknowledge-unstable = ["{V3}"]'
    )
    assert report.exit_code == 0


def test_alias_gets_the_fix_with_the_shipped_version(write, lic):
    root = write(
        {
            "pyproject.toml": lic.pyproject(
                "m", "St-Clair", ["LICENSE"], extra=ACK.replace(f'["{V3}"]', "true")
            ),
            "LICENSE": lic.text("LicenseRef-St-Claire-0.2"),
        }
    )
    (finding,) = check(root).findings
    assert (finding.rule, finding.line) == ("alias", 4)
    assert finding.fix == 'license = "LicenseRef-St-Claire-0.2"'


def test_cargo_workspace_inheritance(write, lic):
    root = write(
        {
            "Cargo.toml": '[workspace]\nmembers = ["a"]\n[workspace.package]\nlicense = "MIT"\n',
            "a/Cargo.toml": '[package]\nname = "a"\nlicense.workspace = true\n',
            "a/LICENSE": lic.MIT,
        }
    )
    report = check(root)
    assert report.findings == []
    assert report.packages[0].parsed.text == "MIT"


def test_npm_licenseref_gets_see_license_in_and_that_form_is_identified(write, lic):
    root = write(
        {
            "package.json": json.dumps({"name": "n", "license": V3}),
            "LICENSE.md": lic.text(V3),
            "pyproject.toml": ACK,
        }
    )
    (finding,) = check(root).findings
    assert (finding.rule, finding.fix) == (
        "npm-licenseref",
        '"license": "SEE LICENSE IN LICENSE.md"',
    )
    (root / "package.json").write_text('{"name": "n",\n "license": "SEE LICENSE IN LICENSE.md"}')
    report = check(root)
    assert report.findings == []
    assert report.packages[0].parsed.text == V3


def test_wrong_version_text(write, lic):
    root = write(
        {
            "pyproject.toml": lic.pyproject("m", V3, ["LICENSE"], extra=ACK),
            "LICENSE": lic.text("LicenseRef-St-Claire-0.2"),
        }
    )
    (finding,) = [f for f in check(root).findings if f.rule == "version-mismatch"]
    assert finding.path == "LICENSE"
    assert finding.message == f"declares {V3} but the text is LicenseRef-St-Claire-0.2"


def test_edited_text_and_unfilled_placeholders(write, lic):
    edited = lic.text(V3).replace("lethal or non-lethal force", "lethal force")
    root = write(
        {
            "a/pyproject.toml": lic.pyproject("a", V3, ["LICENSE"]),
            "a/LICENSE": edited,
            "b/pyproject.toml": lic.pyproject("b", V3, ["LICENSE"]),
            "b/LICENSE": lic.text(V3, fill=False),
            "pyproject.toml": ACK,
        }
    )
    report = check(root)
    assert [(f.rule, f.path) for f in report.findings] == [
        ("text-mismatch", "a/LICENSE"),
        ("placeholders", "b/LICENSE"),
    ]
    assert report.exit_code == 2


def test_extended_template_is_never_passed_off_as_standard(write, lic):
    root = write(
        {
            "pyproject.toml": lic.pyproject("m", V3, ["LICENSE"], extra=ACK),
            "LICENSE": lic.text("LicenseRef-Extended-St-Claire-0.1"),
        }
    )
    finding = next(f for f in check(root).findings if f.rule == "template-as-standard")
    assert finding.fix.startswith('license = "LicenseRef-Extended-St-Claire-0.1"')


def test_declared_and_shipped_must_agree(write, lic):
    root = write(
        {
            "pyproject.toml": lic.pyproject("m", "MIT", ["LICENSE*"]),
            "LICENSE-MIT": lic.MIT,
            "LICENSE-APACHE": lic.APACHE,
        }
    )
    (finding,) = check(root).findings
    assert (finding.rule, finding.path) == ("undeclared-file", "LICENSE-APACHE")
    root = write({"pyproject.toml": lic.pyproject("m", "MIT OR Apache-2.0", ["LICENSE-MIT"])})
    (finding,) = check(root).findings
    assert (finding.rule, finding.line) == ("missing-file", 4)
    root = write({"pyproject.toml": lic.pyproject("m", "MIT", ["COPYING*", "LICENSE-MIT"])})
    (finding,) = check(root).findings
    assert (finding.rule, finding.line) == ("license-files-glob", 5)


def test_headers_must_agree_with_the_package(write, lic):
    tag = "SPDX-" + "License-Identifier"
    root = write(
        {
            "pyproject.toml": lic.pyproject("m", "MIT", ["LICENSE"]),
            "LICENSE": lic.MIT,
            "src/a.py": f'"""doc"""\n# {tag}: Apache-2.0\n',
            "src/b.rs": f"// {tag}: (MIT\n",
            "src/c.py": f"# {tag}: MIT\n",
        }
    )
    assert rules(check(root)) == [
        ("expression-syntax", "src/b.rs", 1),
        ("header-mismatch", "src/a.py", 2),
    ]


def test_reuse_licenses_dir(write, lic):
    tag = "SPDX-" + "License-Identifier"
    root = write(
        {
            "LICENSES/MIT.txt": lic.MIT,
            "LICENSES/Apache2.txt": lic.APACHE,
            "LICENSES/ISC.txt": lic.APACHE,
            "LICENSES/Zlib.txt": "zlib text",
            "src/a.c": f"/* {tag}: MIT OR ISC */\n",
        }
    )
    found = {f.path: (f.severity.value, f.message, f.fix) for f in check(root).findings}
    assert found == {
        "LICENSES/Apache2.txt": (
            "error",
            "`Apache2` is not a licence id: unknown licence id `Apache2`",
            "rename it to LICENSES/Apache-2.0.txt",
        ),
        "LICENSES/ISC.txt": (
            "error",
            "file is named ISC but holds the Apache-2.0 text",
            "rename it to LICENSES/Apache-2.0.txt or replace its text",
        ),
        "LICENSES/Zlib.txt": (
            "warning",
            "no declaration or header uses Zlib",
            "remove the file, or declare the licence where it applies",
        ),
    }


def test_classifier_lints(write, lic):
    root = write(
        {
            "pyproject.toml": (
                f'[project]\nname = "m"\nlicense = "{V3}"\nlicense-files = ["LICENSE"]\n'
                'classifiers = [\n  "License :: OSI Approved :: MIT License",\n]\n' + ACK
            ),
            "LICENSE": lic.text(V3),
            "b/pyproject.toml": (
                '[project]\nname = "b"\nlicense = "MIT"\n'
                'classifiers = ["License :: OSI Approved :: Apache Software License"]\n'
            ),
            "b/LICENSE": lic.MIT,
        }
    )
    report = check(root)
    assert rules(report) == [
        ("classifier", "b/pyproject.toml", 4),
        ("osi-classifier", "pyproject.toml", 6),
    ]


def test_permissive_alternative_is_a_warning(write, lic):
    root = write(
        {
            "pyproject.toml": lic.pyproject("m", f"MIT OR {V3}", ["L*"], extra=ACK),
            "LICENSE": lic.text(V3),
            "LICENSE-MIT": lic.MIT,
        }
    )
    report = check(root)
    assert [f.rule for f in report.findings] == ["permissive-alternative"]
    assert report.exit_code == 0


def test_legacy_forms_warn_with_the_pep_639_fix(write, lic):
    root = write(
        {
            "pyproject.toml": '[project]\nname = "m"\nlicense = { text = "MIT" }\n',
            "LICENSE": lic.MIT,
        }
    )
    (finding,) = check(root).findings
    assert (finding.rule, finding.severity.value, finding.fix) == (
        "legacy-metadata",
        "warning",
        'license = "MIT"',
    )


def test_missing_declaration_suggests_the_shipped_licence(write, lic):
    root = write({"pyproject.toml": '[project]\nname = "m"\n', "LICENSE": lic.MIT})
    (finding,) = check(root).findings
    assert (finding.rule, finding.fix) == ("missing-declaration", 'license = "MIT"')


def test_extended_licence_declared_as_such_with_own_clauses_is_clean(write, lic):
    text = (
        lic.text("LicenseRef-Extended-St-Claire-0.1")
        .replace("< ETHICAL CLAUSE 1 >", "Weapons")
        .replace("< DESCRIPTION OF PURPOSE-SPECIFIC PROHIBITION >", "Guide a missile.")
    )
    root = write(
        {
            "Cargo.toml": '[package]\nname = "x"\nlicense-file = "LICENSE"\n',
            "LICENSE": text,
            "pyproject.toml": ACK,
        }
    )
    report = check(root)
    assert report.findings == []
    assert report.packages[0].parsed.text == "LicenseRef-Extended-St-Claire-0.1"


def test_licence_file_that_does_not_exist(write, lic):
    root = write({"package.json": '{"name": "n", "license": "SEE LICENSE IN COPYING"}'})
    (finding,) = check(root).findings
    assert (finding.rule, finding.message) == (
        "missing-file",
        "licence file `COPYING` does not exist",
    )


def test_edited_text_declared_only_by_file(write, lic):
    edited = lic.text(V3).replace("Surveillance", "Snooping")
    root = write(
        {"package.json": '{"name": "n", "license": "SEE LICENSE IN LICENSE"}', "LICENSE": edited}
    )
    (finding,) = check(root).findings
    assert finding.rule == "text-mismatch"
    assert "edited st-claire text" in finding.message


def test_text_only_in_a_parent_folder_is_not_shipped_but_the_fix_points_to_it(write, lic):
    root = write(
        {
            "LICENSE-MIT": lic.MIT,
            "Cargo.toml": '[package]\nname = "top"\nlicense = "MIT"\n',
            "crates/sub/Cargo.toml": '[package]\nname = "sub"\nlicense = "MIT"\n',
        }
    )
    (finding,) = check(root).findings
    assert (finding.rule, finding.path) == ("missing-file", "crates/sub/Cargo.toml")
    assert finding.fix == (
        "copy or link LICENSE-MIT into crates/sub/ (a package ships only the files inside its "
        "folder)"
    )


def test_poetry_metadata_is_read(write, lic):
    root = write(
        {
            "pyproject.toml": (
                '[tool.poetry]\nname = "p"\nversion = "1"\nlicense = "MIT/ISC"\n'
                '[tool.poetry.dependencies]\npython = "^3.11"\n'
            ),
            "LICENSE": lic.MIT,
        }
    )
    report = check(root)
    assert [(f.rule, f.line) for f in report.findings] == [
        ("expression-syntax", 4),
        ("missing-file", 4),
    ]


def test_gpl_text_is_not_read_as_lgpl_and_reuse_licenses_may_define_refs(write):
    tag = "SPDX-" + "License-Identifier"
    gpl = (
        "GNU GENERAL PUBLIC LICENSE\nVersion 3, 29 June 2007\n\nCopyright (C) 2007 FSF\n"
        "Everyone is permitted to copy and distribute verbatim copies.\n\n... use the GNU "
        "Lesser General Public License instead of this License.\n"
    )
    root = write(
        {
            "pyproject.toml": '[project]\nname = "g"\nlicense = "GPL-3.0-or-later"\n',
            "LICENSES/GPL-3.0-or-later.txt": gpl,
            "LICENSES/Autoconf-exception-3.0.txt": "exception text",
            "LICENSES/LicenseRef-ours.txt": "our own terms",
            "src/a.py": f"# {tag}: GPL-3.0-or-later WITH Autoconf-exception-3.0\n",
            "src/b.py": f"# {tag}: LicenseRef-ours\n",
        }
    )
    found = [(f.rule, f.path, f.message) for f in check(root).findings]
    assert found == [
        (
            "header-mismatch",
            "src/b.py",
            "header says `LicenseRef-ours`, but pyproject.toml declares `GPL-3.0-or-later` "
            "(LicenseRef-ours undeclared)",
        )
    ]
