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

#: check -> {rule: one-line description}; a rule is one way of failing its check.
_RULES_BY_CHECK: dict[str, dict[str, str]] = {
    "input-readable": {
        "bad-input": "a file could not be read or parsed",
        "field-type": "a manifest field has the wrong type",
    },
    "policy-valid": {
        "config": "[tool.wg.license] configuration problem",
    },
    "licence-declared": {
        "missing-declaration": "package declares no licence",
        "legacy-metadata": "deprecated licence metadata form",
    },
    "expression-valid": {
        "expression-syntax": "licence expression does not parse",
        "unknown-id": "licence id is neither SPDX nor a known LicenseRef",
        "alias": "licence written as an alias of a known id",
        "id-case": "licence id differs from its canonical spelling in case",
        "npm-licenseref": "npm does not accept LicenseRef- ids in package.json",
    },
    "classifiers-agree": {
        "classifier": "License :: classifier disagrees with the expression",
        "osi-classifier": "OSI Approved classifier on a non-OSI licence",
    },
    "custom-licence-caveats": {
        "permissive-alternative": "custom licence under OR with a permissive one",
        "unstable-licence": "licence calls itself unstable; not acknowledged",
    },
    "declared-vs-shipped": {
        "missing-file": "declared licence has no shipped licence file",
        "undeclared-file": "shipped licence file is not in the declared expression",
        "license-files-glob": "license-files glob matches no file",
        "licenses-dir": "LICENSES/ file name is not a licence id or is unused",
    },
    "text-matches-version": {
        "text-mismatch": "licence text does not hash to a known version",
        "version-mismatch": "version in the text differs from the id's version",
        "template-as-standard": "Extended template passed off as the standard licence",
    },
    "placeholder-filled": {
        "placeholders": "<YEAR> / <COPYRIGHT HOLDER> left unfilled",
    },
    "headers-agree": {
        "header-mismatch": "SPDX-License-Identifier header disagrees with the package",
    },
    "propagation": {
        "not-declared": "dependent does not declare the propagating licence",
        "notice-not-shipped": "dependent does not ship the propagating notice",
    },
    "artifact-notice": {
        "no-notice": "artifact does not carry the licence notice",
    },
    "dependency-allowed": {
        "dependency-denied": "dependency licence is not allowed by the policy",
        "dependency-unknown": "dependency licence cannot be determined",
        "clarification-stale": "clarification's pinned file hash changed",
    },
}

#: rule -> (check, one-line description), flattened from the table above
RULES: dict[str, tuple[str, str]] = {
    rule: (check, text) for check, rules in _RULES_BY_CHECK.items() for rule, text in rules.items()
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
