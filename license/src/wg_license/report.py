"""Render a check report: human text, JSON (versioned), SARIF 2.1.0, GitHub annotations.

JSON schema ``wg-license-check``, version 1 (a new version number for any incompatible change)::

    {"schema": "wg-license-check", "version": 1,
     "tool": {"name": "wg license", "version": str},
     "exit_code": int, "failed_families": [str],            # declaration, text, propagation, ...
     "packages": [{"name", "ecosystem", "manifest", "expression": str | null,
                   "licence_files": [str]}],
     "findings": [{"check", "rule", "family", "severity", "package", "path", "line": int,
                   "message", "fix"}]}                     # check: a key of findings.CHECKS
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from wg_license import __version__
from wg_license.check import Report
from wg_license.findings import CHECKS, RULES, Family, Finding, Severity, rule_id

JSON_SCHEMA = "wg-license-check"
JSON_VERSION = 1
FORMATS = ("human", "json", "sarif", "github")


def printable(text: str) -> str:
    r"""``text`` with control and format characters escaped, so that a hostile file name or
    value cannot move the cursor, hide text or end a line in a terminal or a CI log.

    Examples
    --------
    >>> print(printable("LicenseRef-a\x00b\x1b[31m\u202e"))
    LicenseRef-a\x00b\x1b[31m\u202e
    """
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() or c == " " else _escaped(c) for c in text)


def _escaped(char: str) -> str:
    code = ord(char)
    return (
        f"\\x{code:02x}"
        if code < 0x100
        else f"\\u{code:04x}"
        if code < 0x10000
        else f"\\U{code:08x}"
    )


def _families(code: int) -> list[str]:
    return [f.name.lower() for f in Family if code & f]


def human(report: Report) -> str:
    """Findings grouped by package, each with ``file:line``, the message and the fix."""
    groups: dict[str, list[Finding]] = defaultdict(list)
    for f in report.findings:
        groups[f.package or "(tree)"].append(f)
    lines = []
    for package in sorted(groups):
        lines.append(printable(package))
        for f in groups[package]:
            where = printable(f"{f.path}:{f.line}")
            lines.append(f"  {where}: {f.severity.value}[{f.rule_id}] {printable(f.message)}")
            if f.fix:
                lines.append(f"      fix: {printable(f.fix)}")
    errors = sum(f.severity is Severity.ERROR for f in report.findings)
    warnings = len(report.findings) - errors
    code = report.exit_code
    summary = f"{len(report.packages)} package(s) checked: {errors} error(s), {warnings} warning(s)"
    if code:
        summary += f"; exit code {code} ({' + '.join(_families(code))})"
    lines.append(summary)
    return "\n".join(lines) + "\n"


def _finding_json(f: Finding) -> dict[str, Any]:
    return {
        "check": f.check,
        "rule": f.rule,
        "family": f.family.name.lower(),
        "severity": f.severity.value,
        "package": f.package,
        "path": f.path,
        "line": f.line,
        "message": f.message,
        "fix": f.fix,
    }


def as_json(report: Report) -> str:
    """JSON document, schema version 1: packages, findings, exit code and its families."""
    doc = {
        "schema": JSON_SCHEMA,
        "version": JSON_VERSION,
        "tool": {"name": "wg license", "version": __version__},
        "exit_code": report.exit_code,
        "failed_families": _families(report.exit_code),
        "packages": [
            {
                "name": s.package.name,
                "ecosystem": s.package.kind,
                "manifest": s.package.manifest,
                "expression": s.parsed.text if s.parsed else None,
                "licence_files": sorted(s.shipped),
            }
            for s in report.packages
        ],
        "findings": [_finding_json(f) for f in report.findings],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def sarif(report: Report) -> str:
    """SARIF 2.1.0 for GitHub code scanning: one rule per way of failing a check, with the
    hierarchical id ``check/rule``, and a location on every result."""
    rule_ids = sorted(rule_id(r) for r in RULES)
    rules = [
        {
            "id": full,
            "name": full.replace("/", "-").replace("-", " ").title().replace(" ", ""),
            "shortDescription": {"text": RULES[full.partition("/")[2]][1]},
            "properties": {
                "check": full.partition("/")[0],
                "family": CHECKS[full.partition("/")[0]][0].name.lower(),
            },
        }
        for full in rule_ids
    ]
    results = []
    for f in report.findings:
        text = f.message + (f" Fix: {f.fix}" if f.fix else "")
        results.append(
            {
                "ruleId": f.rule_id,
                "ruleIndex": rule_ids.index(f.rule_id),
                "level": "error" if f.severity is Severity.ERROR else "warning",
                "message": {"text": text},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {"uri": f.path, "uriBaseId": "%SRCROOT%"},
                            "region": {"startLine": f.line},
                        }
                    }
                ],
            }
        )
    doc = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "wg-license",
                        "version": __version__,
                        "rules": rules,
                    }
                },
                "originalUriBaseIds": {"%SRCROOT%": {"uri": report.root.resolve().as_uri() + "/"}},
                "results": results,
            }
        ],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def _escape(value: str, prop: bool = False) -> str:
    value = value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return value.replace(":", "%3A").replace(",", "%2C") if prop else value


def github(report: Report) -> str:
    """GitHub Actions workflow commands: one ``::error``/``::warning`` annotation per finding."""
    lines = []
    for f in report.findings:
        level = "error" if f.severity is Severity.ERROR else "warning"
        title = _escape(f"wg license {f.rule_id}", prop=True)
        body = _escape(printable(f.message + (f" Fix: {f.fix}" if f.fix else "")))
        path = _escape(printable(f.path), True)
        lines.append(f"::{level} file={path},line={f.line},title={title}::{body}")
    return "\n".join(lines) + ("\n" if lines else "")


def render(report: Report, fmt: str) -> str:
    """Render in one of :data:`FORMATS`."""
    return {"human": human, "json": as_json, "sarif": sarif, "github": github}[fmt](report)
