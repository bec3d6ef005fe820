"""Findings, their families and the exit-code bitmask."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Family(enum.IntFlag):
    """Each family of checks owns one bit of the exit code, so CI can tell them apart."""

    DECLARATION = 1
    TEXT = 2
    PROPAGATION = 4
    ARTIFACTS = 8
    DEPENDENCIES = 16


class Severity(enum.Enum):
    """Errors set the family's exit-code bit; warnings never change the exit code."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Finding:
    """One problem: what, where (path relative to the checked root, 1-based line) and the fix."""

    rule: str
    family: Family
    severity: Severity
    path: str
    line: int
    message: str
    fix: str = ""
    package: str = ""

    def sort_key(self) -> tuple[str, str, int, str, str]:
        return (self.package, self.path, self.line, self.rule, self.message)


#: rule id -> (family, one-line description); the SARIF rule table and the docs come from it.
RULES: dict[str, tuple[Family, str]] = {
    "bad-input": (Family.DECLARATION, "a file could not be read or parsed"),
    "field-type": (Family.DECLARATION, "a manifest field has the wrong type"),
    "expression-syntax": (Family.DECLARATION, "licence expression does not parse"),
    "unknown-id": (Family.DECLARATION, "licence id is neither SPDX nor a known LicenseRef"),
    "alias": (Family.DECLARATION, "licence written as an alias of a known id"),
    "id-case": (Family.DECLARATION, "licence id differs from its canonical spelling in case"),
    "npm-licenseref": (Family.DECLARATION, "npm does not accept LicenseRef- ids in package.json"),
    "missing-declaration": (Family.DECLARATION, "package declares no licence"),
    "legacy-metadata": (Family.DECLARATION, "deprecated licence metadata form"),
    "classifier": (Family.DECLARATION, "License :: classifier disagrees with the expression"),
    "osi-classifier": (Family.DECLARATION, "OSI Approved classifier on a non-OSI licence"),
    "permissive-alternative": (Family.DECLARATION, "custom licence under OR with a permissive one"),
    "unstable-licence": (Family.DECLARATION, "licence calls itself unstable; not acknowledged"),
    "config": (Family.DECLARATION, "[tool.wg.license] configuration problem"),
    "missing-file": (Family.TEXT, "declared licence has no shipped licence file"),
    "undeclared-file": (Family.TEXT, "shipped licence file is not in the declared expression"),
    "text-mismatch": (Family.TEXT, "licence text does not hash to the declared version"),
    "version-mismatch": (Family.TEXT, "version in the text differs from the id's version"),
    "template-as-standard": (Family.TEXT, "Extended template passed off as the standard licence"),
    "placeholders": (Family.TEXT, "<YEAR> / <COPYRIGHT HOLDER> left unfilled"),
    "license-files-glob": (Family.TEXT, "license-files glob matches no file"),
    "header-mismatch": (Family.TEXT, "SPDX-License-Identifier header disagrees with the package"),
    "licenses-dir": (Family.TEXT, "LICENSES/ file name is not a licence id or is unused"),
    "propagation": (Family.PROPAGATION, "dependent does not declare the propagating licence"),
    "propagation-notice": (Family.PROPAGATION, "dependent does not ship the propagating notice"),
    "artifact-notice": (Family.ARTIFACTS, "artifact does not carry the licence notice"),
    "dependency-denied": (Family.DEPENDENCIES, "dependency licence is not allowed by the policy"),
    "dependency-unknown": (Family.DEPENDENCIES, "dependency licence cannot be determined"),
    "clarification-stale": (Family.DEPENDENCIES, "clarification's pinned file hash changed"),
}


def make(
    rule: str,
    severity: Severity,
    path: str,
    line: int,
    message: str,
    fix: str = "",
    package: str = "",
) -> Finding:
    """Build a finding whose family comes from the rule table.

    Examples
    --------
    >>> make("alias", Severity.ERROR, "pyproject.toml", 3, "m").family.name
    'DECLARATION'
    """
    return Finding(rule, RULES[rule][0], severity, path, max(1, line), message, fix, package)


def exit_code(findings: list[Finding]) -> int:
    """OR of the family bits of every error; 0 when clean (warnings never count).

    Examples
    --------
    >>> f = make("propagation", Severity.ERROR, "a", 1, "m")
    >>> w = make("alias", Severity.WARNING, "a", 1, "m")
    >>> exit_code([f, w])
    4
    """
    code = 0
    for f in findings:
        if f.severity is Severity.ERROR:
            code |= int(f.family)
    return code
