"""The registry of checks: every rule belongs to one named check, and the reports and the README
use the same names."""

from __future__ import annotations

import json
import re
from pathlib import Path

from click.testing import CliRunner
from wg_license.findings import CHECKS, RULES, Family, Severity, make, rule_id

from wg.cli import main

README = Path(__file__).resolve().parents[1] / "README.md"


def test_every_rule_belongs_to_a_check_and_every_check_has_a_rule():
    assert {check for check, _ in RULES.values()} == set(CHECKS)
    assert not set(RULES) & set(CHECKS)


def test_checks_are_named_not_numbered():
    for name in [*CHECKS, *RULES]:
        assert re.fullmatch(r"[a-z]+(-[a-z]+)*", name), name


def test_every_family_has_a_check():
    assert {family for family, _ in CHECKS.values()} == set(Family)


def test_readme_table_lists_every_check_with_its_family_and_rules():
    rows = {}
    for line in README.read_text(encoding="utf-8").splitlines():
        found = re.fullmatch(r"\| `([a-z-]+)` \| (\w+) \((\d+)\) \| .* \| (.*) \|", line)
        if found:
            check, family, bit, rules = found.groups()
            rows[check] = (family, int(bit), set(re.findall(r"`([a-z-]+)`", rules)))
    assert rows == {
        check: (
            family.name.lower(),
            int(family),
            {rule for rule, (owner, _) in RULES.items() if owner == check},
        )
        for check, (family, _) in CHECKS.items()
    }


def test_a_finding_names_its_check():
    finding = make("placeholders", Severity.ERROR, "LICENSE", 1, "m")
    assert (finding.check, finding.rule_id, finding.family) == (
        "placeholder-filled",
        "placeholder-filled/placeholders",
        Family.TEXT,
    )


def test_reports_use_check_slash_rule(write):
    root = write({"pyproject.toml": '[project]\nname = "p"\nlicense = "MIT"\n'})
    args = ["license", "check", str(root), "--site-packages", str(root)]
    human = CliRunner().invoke(main, args).output.splitlines()
    assert human[1] == (
        "  pyproject.toml:3: error[declared-vs-shipped/missing-file] declares MIT but ships no "
        "MIT licence text"
    )
    github = CliRunner().invoke(main, [*args, "--format", "github"]).output
    assert github.startswith(
        "::error file=pyproject.toml,line=3,title=wg license declared-vs-shipped/missing-file::"
    )
    document = json.loads(CliRunner().invoke(main, [*args, "--format", "json"]).output)
    assert [(f["check"], f["rule"]) for f in document["findings"]] == [
        ("declared-vs-shipped", "missing-file")
    ]
    sarif = json.loads(CliRunner().invoke(main, [*args, "--format", "sarif"]).output)
    run = sarif["runs"][0]
    assert [r["ruleId"] for r in run["results"]] == ["declared-vs-shipped/missing-file"]
    assert {r["id"] for r in run["tool"]["driver"]["rules"]} == {rule_id(r) for r in RULES}
