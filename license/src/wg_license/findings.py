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

    @property
    def check(self) -> str:
        """The check this finding fails (a key of :data:`CHECKS`)."""
        return RULES[self.rule][0]

    @property
    def rule_id(self) -> str:
        """``check/rule``, as the reports print it."""
        return rule_id(self.rule)

    def sort_key(self) -> tuple[str, str, int, str, str]:
        return (self.package, self.path, self.line, self.rule, self.message)


#: The checks, named for what they check: check -> (family, what a clean tree satisfies). The
#: README's table, the SARIF rule ids (``check/rule``) and every finding use these names.
CHECKS: dict[str, tuple[Family, str]] = {
    "input-readable": (
        Family.DECLARATION,
        "manifests, lock files and licence texts can be read and parsed, with well-typed fields",
    ),
    "policy-valid": (Family.DECLARATION, "[tool.wg.license] is well formed"),
    "licence-declared": (
        Family.DECLARATION,
        "every package declares its licence, not in a deprecated form",
    ),
    "expression-valid": (
        Family.DECLARATION,
        "declared expressions parse and name SPDX or known LicenseRef- ids, spelt canonically",
    ),
    "classifiers-agree": (
        Family.DECLARATION,
        "License :: classifiers agree with the expression; none calls a custom licence OSI "
        "approved",
    ),
    "custom-licence-caveats": (
        Family.DECLARATION,
        "warnings: a custom licence under OR with a permissive one, unacknowledged unstable terms",
    ),
    "declared-vs-shipped": (
        Family.TEXT,
        "every declared id has a shipped text and every shipped text is declared",
    ),
    "text-matches-version": (
        Family.TEXT,
        "a custom licence text hashes to the declared version, and no template passes as it",
    ),
    "placeholder-filled": (Family.TEXT, "<YEAR> and <COPYRIGHT HOLDER> are filled in"),
    "headers-agree": (Family.TEXT, "SPDX-License-Identifier headers agree with their package"),
    "propagation": (
        Family.PROPAGATION,
        "a dependent of a propagating licence declares it and ships its notice",
    ),
    "artifact-notice": (Family.ARTIFACTS, "model files and other artifacts carry the notice"),
    "dependency-allowed": (
        Family.DEPENDENCIES,
        "installed dependencies' licences are allowed by the policy",
    ),
}

#: rule -> (check, one-line description); a rule is one way of failing its check.
RULES: dict[str, tuple[str, str]] = {
    "bad-input": ("input-readable", "a file could not be read or parsed"),
    "field-type": ("input-readable", "a manifest field has the wrong type"),
    "config": ("policy-valid", "[tool.wg.license] configuration problem"),
    "missing-declaration": ("licence-declared", "package declares no licence"),
    "legacy-metadata": ("licence-declared", "deprecated licence metadata form"),
    "expression-syntax": ("expression-valid", "licence expression does not parse"),
    "unknown-id": ("expression-valid", "licence id is neither SPDX nor a known LicenseRef"),
    "alias": ("expression-valid", "licence written as an alias of a known id"),
    "id-case": ("expression-valid", "licence id differs from its canonical spelling in case"),
    "npm-licenseref": ("expression-valid", "npm does not accept LicenseRef- ids in package.json"),
    "classifier": ("classifiers-agree", "License :: classifier disagrees with the expression"),
    "osi-classifier": ("classifiers-agree", "OSI Approved classifier on a non-OSI licence"),
    "permissive-alternative": (
        "custom-licence-caveats",
        "custom licence under OR with a permissive one",
    ),
    "unstable-licence": (
        "custom-licence-caveats",
        "licence calls itself unstable; not acknowledged",
    ),
    "missing-file": ("declared-vs-shipped", "declared licence has no shipped licence file"),
    "undeclared-file": (
        "declared-vs-shipped",
        "shipped licence file is not in the declared expression",
    ),
    "license-files-glob": ("declared-vs-shipped", "license-files glob matches no file"),
    "licenses-dir": (
        "declared-vs-shipped",
        "LICENSES/ file name is not a licence id or is unused",
    ),
    "text-mismatch": ("text-matches-version", "licence text does not hash to a known version"),
    "version-mismatch": (
        "text-matches-version",
        "version in the text differs from the id's version",
    ),
    "template-as-standard": (
        "text-matches-version",
        "Extended template passed off as the standard licence",
    ),
    "placeholders": ("placeholder-filled", "<YEAR> / <COPYRIGHT HOLDER> left unfilled"),
    "header-mismatch": (
        "headers-agree",
        "SPDX-License-Identifier header disagrees with the package",
    ),
    "not-declared": ("propagation", "dependent does not declare the propagating licence"),
    "notice-not-shipped": ("propagation", "dependent does not ship the propagating notice"),
    "no-notice": ("artifact-notice", "artifact does not carry the licence notice"),
    "dependency-denied": ("dependency-allowed", "dependency licence is not allowed by the policy"),
    "dependency-unknown": ("dependency-allowed", "dependency licence cannot be determined"),
    "clarification-stale": ("dependency-allowed", "clarification's pinned file hash changed"),
}


def rule_id(rule: str) -> str:
    """The full name of a rule, ``check/rule`` (SARIF's hierarchical rule id).

    Examples
    --------
    >>> rule_id("missing-file")
    'declared-vs-shipped/missing-file'
    """
    return f"{RULES[rule][0]}/{rule}"


def make(
    rule: str,
    severity: Severity,
    path: str,
    line: int,
    message: str,
    fix: str = "",
    package: str = "",
) -> Finding:
    """Build a finding whose family comes from its rule's check.

    Examples
    --------
    >>> make("alias", Severity.ERROR, "pyproject.toml", 3, "m").family.name
    'DECLARATION'
    """
    family = CHECKS[RULES[rule][0]][0]
    return Finding(rule, family, severity, path, max(1, line), message, fix, package)


def exit_code(findings: list[Finding]) -> int:
    """OR of the family bits of every error; 0 when clean (warnings never count).

    Examples
    --------
    >>> f = make("not-declared", Severity.ERROR, "a", 1, "m")
    >>> w = make("alias", Severity.WARNING, "a", 1, "m")
    >>> exit_code([f, w])
    4
    """
    code = 0
    for f in findings:
        if f.severity is Severity.ERROR:
            code |= int(f.family)
    return code
