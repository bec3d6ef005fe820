"""The licence-declared, expression-valid, classifiers-agree and custom-licence-caveats checks:
declared expressions parse, use canonical ids, agree with their classifiers, and the policy's
warnings about custom licences."""

from __future__ import annotations

from wg_license.context import Context, PackageState
from wg_license.expressions import (
    DeclarationError,
    Parsed,
    Resolution,
    or_alternatives,
    resolve,
    safe_id,
)
from wg_license.findings import Severity, make
from wg_license.manifests import Located, Package

#: ``License ::`` classifier suffix -> SPDX id (the unambiguous ones).
CLASSIFIERS = {
    "OSI Approved :: MIT License": "MIT",
    "OSI Approved :: Apache Software License": "Apache-2.0",
    "OSI Approved :: Mozilla Public License 2.0 (MPL 2.0)": "MPL-2.0",
    "OSI Approved :: ISC License (ISCL)": "ISC",
    "OSI Approved :: GNU General Public License v3 (GPLv3)": "GPL-3.0",
    "OSI Approved :: GNU General Public License v2 (GPLv2)": "GPL-2.0",
    "OSI Approved :: Python Software Foundation License": "PSF-2.0",
    "OSI Approved :: zlib/libpng License": "Zlib",
    "OSI Approved :: The Unlicense (Unlicense)": "Unlicense",
}
PERMISSIVE = frozenset(
    {
        "mit",
        "apache-2.0",
        "bsd-2-clause",
        "bsd-3-clause",
        "isc",
        "zlib",
        "0bsd",
        "unlicense",
        "mit-0",
        "bsl-1.0",
        "psf-2.0",
    }
)


def fix_line(pkg: Package, expression: str) -> str:
    """The manifest line that declares ``expression``, in the package's own syntax.

    Examples
    --------
    >>> fix_line(Package("a", "npm", "package.json", ""), "MIT")
    '"license": "MIT"'
    """
    if pkg.kind == "npm":
        return f'"license": "{expression}"'
    return f'license = "{expression}"'


def _preferred(state: PackageState) -> dict[str, str]:
    """Family -> version of the custom texts the package ships (to complete bare aliases)."""
    return {
        i.custom.title_family: i.custom.version_in_text
        for i in state.shipped.values()
        if i.custom.title_family and i.custom.version_in_text
    }


def _report(
    ctx: Context,
    pkg: Package,
    where: Located,
    problem: DeclarationError,
    severity: Severity = Severity.ERROR,
) -> None:
    """Report a problem of the declared expression where it is written: an inherited one
    (Cargo's ``license.workspace = true``) in the workspace manifest, whose line is the fix."""
    fix = problem.fix if problem.advice or not problem.fix else fix_line(pkg, problem.fix)
    path, line = pkg.manifest, where.line
    if pkg.expression_from is not None:
        path, line = pkg.expression_from.value, pkg.expression_from.line
        fix = fix if problem.advice else f"in [workspace.package]: {fix}"
    ctx.findings.append(make(problem.rule, severity, path, line, problem.message, fix, pkg.name))


def _suggestion(ctx: Context, state: PackageState) -> str:
    """The declaration to add: the ids of the shipped texts, else those of the nearest enclosing
    folder with licence texts (a package inside a licensed repository usually shares it)."""
    pkg = state.package
    ids = sorted({i.licence for i in state.shipped.values() if i.licence})
    if ids:
        return fix_line(pkg, " AND ".join(ids))
    enclosing = ctx.enclosing_texts(pkg.folder)
    nearest = enclosing[0][0].rpartition("/")[0] if enclosing else ""
    near = [(rel, i) for rel, i in enclosing if rel.rpartition("/")[0] == nearest]
    ids = sorted({i.licence for _, i in near if i.licence and safe_id(i.licence)})
    if not ids:
        return "declare the licence, e.g. " + fix_line(pkg, "MIT")
    files = ", ".join(sorted(rel for rel, i in near if i.licence in ids))
    ship = "" if pkg.kind == "cargo" and not pkg.published else f", and copy it into {pkg.folder}/"
    return f"{fix_line(pkg, ' AND '.join(ids))} (the licence of {files}){ship}"


def _as_fixed(ctx: Context, problem: DeclarationError) -> Parsed | None:
    """Keep checking with the corrected expression when the fix is certain (an alias or the
    slash form), so that one typo does not hide the package's other problems."""
    certain = problem.rule == "alias" or (
        problem.rule == "expression-syntax" and " OR " in problem.fix and not problem.advice
    )
    if not certain:
        return None
    try:
        return resolve(problem.fix, ctx.policy.licence_refs).parsed
    except DeclarationError:
        return None


def _resolve(ctx: Context, state: PackageState, where: Located) -> Resolution:
    """Resolve the declared expression. crates.io and cargo-deny still read Cargo's deprecated
    slash form (``MIT/Apache-2.0``) as OR, so in a Cargo.toml it is a warning, not an error;
    PEP 639 and npm reject it."""
    try:
        return resolve(where.value, ctx.policy.licence_refs, _preferred(state))
    except DeclarationError as problem:
        if state.package.kind != "cargo" or "/" not in where.value or problem.advice:
            raise
        if problem.rule != "expression-syntax":
            raise
        resolution = resolve(problem.fix, ctx.policy.licence_refs, _preferred(state))
        deprecated = DeclarationError(
            "legacy-metadata",
            f"`{where.value}` uses the slash form, deprecated by crates.io (which reads it as OR)",
            problem.fix,
        )
        _report(ctx, state.package, where, deprecated, Severity.WARNING)
        return resolution


def check_declaration(ctx: Context, state: PackageState) -> None:
    """Parse the package's expression; report syntax, ids, aliases and npm restrictions."""
    pkg = state.package
    where = pkg.expression
    if where is None and pkg.npm_file is not None:
        return  # `SEE LICENSE IN <file>`: the file decides (see texts.check_file_declaration)
    if where is None:
        if not pkg.licence_files and not pkg.bad_licence:
            ctx.findings.append(
                make(
                    "missing-declaration",
                    Severity.ERROR,
                    pkg.manifest,
                    1,
                    f"package {pkg.name} declares no licence",
                    _suggestion(ctx, state),
                    pkg.name,
                )
            )
        return
    try:
        resolution = _resolve(ctx, state, where)
    except DeclarationError as problem:
        _report(ctx, pkg, where, problem)
        state.parsed = _as_fixed(ctx, problem)
        return
    state.parsed = resolution.parsed
    for warning in resolution.warnings:
        _report(ctx, pkg, where, warning, Severity.WARNING)
    if pkg.kind == "npm" and any(k.lower().startswith("licenseref-") for k in state.keys):
        shipped = sorted(rel for rel, i in state.shipped.items() if i.custom.licence_id)
        name = shipped[0].rpartition("/")[2] if shipped else "LICENSE"
        target = name if safe_id(name) else "LICENSE"
        ctx.findings.append(
            make(
                "npm-licenseref",
                Severity.ERROR,
                pkg.manifest,
                where.line,
                f"npm rejects `{where.value}`: package.json may not name a LicenseRef- id",
                f'"license": "SEE LICENSE IN {target}"',
                pkg.name,
            )
        )


def check_legacy(ctx: Context, state: PackageState) -> None:
    """Deprecated forms: ``license = {text|file}`` and npm's ``{"type": ...}``."""
    pkg = state.package
    if not pkg.legacy or pkg.bad_licence:
        return
    line = (
        pkg.expression.line
        if pkg.expression
        else (pkg.licence_files[0].line if pkg.licence_files else 1)
    )
    expression = state.parsed.text if state.parsed else _suggestion(ctx, state).split('"')[1]
    if pkg.legacy == "file" and pkg.licence_files:
        fix = f'{fix_line(pkg, expression)} and license-files = ["{pkg.licence_files[0].value}"]'
    else:
        fix = fix_line(pkg, expression)
    ctx.findings.append(
        make(
            "legacy-metadata",
            Severity.WARNING,
            pkg.manifest,
            line,
            f"`license = {{{pkg.legacy} = ...}}` is deprecated (PEP 639)"
            if pkg.kind == "python"
            else "the object form of `license` is deprecated by npm",
            fix,
            pkg.name,
        )
    )


def check_classifiers(ctx: Context, state: PackageState) -> None:
    """Classifiers must agree with the expression; none may call a custom licence OSI approved."""
    pkg = state.package
    custom = [ctx.custom[k.lower()] for k in state.keys if k.lower() in ctx.custom]
    for c in pkg.classifiers:
        suffix = c.value.removeprefix("License ::").strip()
        non_osi = [t.id for t in custom if not t.osi_approved]
        if suffix.startswith("OSI Approved") and non_osi:
            ctx.findings.append(
                make(
                    "osi-classifier",
                    Severity.ERROR,
                    pkg.manifest,
                    c.line,
                    f"`{c.value}` claims OSI approval; {', '.join(non_osi)} is not OSI-approved",
                    "remove the classifier (PEP 639 replaces licence classifiers by `license`)",
                    pkg.name,
                )
            )
            continue
        mapped = CLASSIFIERS.get(suffix)
        if (
            mapped
            and state.parsed
            and not any(
                k.lower() == mapped.lower() or k.lower().startswith(mapped.lower() + "-")
                for k in state.keys
            )
        ):
            ctx.findings.append(
                make(
                    "classifier",
                    Severity.ERROR,
                    pkg.manifest,
                    c.line,
                    f"classifier `{c.value}` says {mapped}, the expression says "
                    f"`{state.parsed.text}`",
                    "remove the classifier or fix the expression",
                    pkg.name,
                )
            )


def check_policy_lints(ctx: Context, state: PackageState) -> None:
    """Warnings: a custom licence under OR with a permissive one; unacknowledged instability."""
    if state.parsed is None or state.package.expression is None:
        return
    pkg, line = state.package, state.package.expression.line
    custom = {k.lower() for k in state.keys if k.lower() in ctx.custom}
    branches = or_alternatives(state.parsed.tree)
    if custom and len(branches) > 1:
        escapes = [b for b in branches if not b & custom and b <= PERMISSIVE]
        if escapes:
            ctx.findings.append(
                make(
                    "permissive-alternative",
                    Severity.WARNING,
                    pkg.manifest,
                    line,
                    f"`{state.parsed.text}` lets users pick {' AND '.join(sorted(escapes[0]))} and "
                    "ignore the ethical clauses",
                    "use AND, or drop the custom licence",
                    pkg.name,
                )
            )
    for key in sorted(custom):
        terms = ctx.custom[key]
        if not terms.stable and not ctx.policy.acknowledges(terms.id):
            ctx.findings.append(
                make(
                    "unstable-licence",
                    Severity.WARNING,
                    pkg.manifest,
                    line,
                    f"{terms.id} says it is not stable and has had no legal review",
                    f'acknowledge it: [tool.wg.license] acknowledge-unstable = ["{terms.id}"]',
                    pkg.name,
                )
            )
