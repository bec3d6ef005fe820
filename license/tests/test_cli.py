"""The `wg license` commands through the root CLI: help, formats, exit codes, sbom."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from wg.cli import main

REPO = Path(__file__).resolve().parents[2]
V3 = "LicenseRef-St-Claire-0.3"


@pytest.mark.parametrize(
    "args", [["license"], ["license", "check"], ["license", "sbom"], ["license", "terms"]]
)
def test_help(args):
    result = CliRunner().invoke(main, [*args, "--help"])
    assert result.exit_code == 0
    assert "Usage: main " + " ".join(args) in result.output


def test_terms_lists_every_licence():
    result = CliRunner().invoke(main, ["license", "terms"])
    assert result.exit_code == 0
    assert f"{V3}: St. Claire License 0.3; OSI approved: no; stable: no" in result.output
    assert "military-and-paramilitary-use" in result.output


@pytest.fixture
def broken(write, lic):
    return write(
        {
            "a/pyproject.toml": lic.pyproject("a", "MIT/Apache-2.0"),
            "a/LICENSE-MIT": lic.MIT,
            "a/LICENSE-APACHE": lic.APACHE,
            "b/Cargo.toml": '[package]\nname = "b"\nlicense = "ISC"\n',
            "m/model.onnx": b"x",
            "m/pyproject.toml": lic.pyproject("m", V3),
        }
    )


@pytest.mark.corpus
def test_human_output_groups_by_package_and_exit_code_is_a_bitmask(broken):
    result = CliRunner().invoke(
        main, ["license", "check", str(broken), "--site-packages", str(broken / "a")]
    )
    # declaration (1) + text (2) + artifacts (8)
    assert result.exit_code == 11
    lines = result.output.splitlines()
    assert lines[0] == "a"
    assert lines[1] == (
        "  a/pyproject.toml:4: error[expression-valid/expression-syntax] `MIT/Apache-2.0` uses the "
        "old slash form; SPDX writes `OR`"
    )
    assert lines[2] == '      fix: license = "MIT OR Apache-2.0"'
    assert "exit code 11 (declaration + text + artifacts)" in lines[-1]


@pytest.mark.corpus
def test_json_output(broken):
    result = CliRunner().invoke(main, ["license", "check", str(broken), "--format", "json"])
    doc = json.loads(result.output)
    assert doc["version"] == 1
    assert doc["exit_code"] == result.exit_code == 11
    assert doc["failed_families"] == ["declaration", "text", "artifacts"]
    assert {p["name"] for p in doc["packages"]} == {"a", "b", "m"}
    keys = {"check", "rule", "family", "severity", "package", "path", "line", "message", "fix"}
    assert keys == set(doc["findings"][0])


@pytest.mark.corpus
def test_sarif_output_every_result_has_a_location(broken, tmp_path):
    out = tmp_path / "out.sarif"
    result = CliRunner().invoke(
        main, ["license", "check", str(broken), "--format", "sarif", "-o", str(out)]
    )
    assert result.exit_code == 11
    assert result.output == ""
    doc = json.loads(out.read_text())
    assert doc["version"] == "2.1.0"
    run = doc["runs"][0]
    rules = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert run["results"]
    for res in run["results"]:
        assert rules[res["ruleIndex"]] == res["ruleId"]
        loc = res["locations"][0]["physicalLocation"]
        assert loc["artifactLocation"]["uri"]
        assert loc["region"]["startLine"] >= 1
        assert res["level"] in ("error", "warning")


@pytest.mark.corpus
def test_github_annotations(broken):
    result = CliRunner().invoke(main, ["license", "check", str(broken), "--format", "github"])
    first = result.output.splitlines()[0]
    assert first == (
        "::error file=a/pyproject.toml,line=4,title=wg license expression-valid/expression-syntax::"
        "`MIT/Apache-2.0` uses the old slash form; SPDX writes `OR` "
        'Fix: license = "MIT OR Apache-2.0"'
    )


def test_missing_path_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(main, ["license", "check", str(tmp_path / "nope")])
    assert result.exit_code == 2
    assert "is not a folder" in result.output


def test_this_repository_passes_its_own_check():
    result = CliRunner().invoke(main, ["license", "check", str(REPO)])
    assert result.exit_code == 0, result.output
    assert "error[" not in result.output


@pytest.mark.corpus
def test_sbom_is_valid_spdx_with_extracted_licence_refs(write, lic, tmp_path):
    from spdx_tools.spdx.parser.parse_anything import parse_file
    from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

    root = write(
        {
            "core/pyproject.toml": lic.pyproject("core", V3, ["LICENSE"]),
            "core/LICENSE": lic.text(V3),
            "app/package.json": (
                '{"name": "app", "license": "MIT OR Apache-2.0", "dependencies": {"core": "1"}}'
            ),
        }
    )
    out = tmp_path / "sbom.spdx.json"
    result = CliRunner().invoke(main, ["license", "sbom", str(root), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert result.output == f"wrote {out}: SPDX 2.3, 2 package(s), validated\n"
    document = parse_file(str(out))
    assert validate_full_spdx_document(document) == []
    declared = {p.name: str(p.license_declared) for p in document.packages}
    assert declared == {"core": V3, "app": "MIT OR Apache-2.0"}
    depends = [
        (r.spdx_element_id, r.relationship_type.name, r.related_spdx_element_id)
        for r in document.relationships
        if r.relationship_type.name == "DEPENDS_ON"
    ]
    assert depends == [("SPDXRef-Package-app", "DEPENDS_ON", "SPDXRef-Package-core")]
    (info,) = document.extracted_licensing_info
    assert info.license_id == V3
    assert info.cross_references == ["https://github.com/quietlychris/st-claire-license"]
    assert "ST. CLAIRE LICENSE, VERSION 0.3" in info.extracted_text
    assert not list(tmp_path.glob(".sbom*"))  # the temporary file was replaced
