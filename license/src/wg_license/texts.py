"""The declared-vs-shipped, text-matches-version, placeholder-filled and headers-agree checks:
shipped licence texts and headers match the declaration (ids, hash, version, placeholders)."""

from __future__ import annotations

import posixpath
import re

from wg_license.context import Context, PackageState
from wg_license.declarations import fix_line
from wg_license.expressions import DeclarationError, resolve, safe_id, spdx_exceptions
from wg_license.findings import Finding, Severity, make
from wg_license.fingerprints import Identified, has_fingerprint, matches
from wg_license.manifests import Package


def glob_regex(pattern: str) -> re.Pattern[str]:
    """A regex for a ``license-files`` glob: ``*`` and ``?`` stay in one folder, ``**`` crosses
    folders, ``[...]`` is a character class.

    Examples
    --------
    >>> [bool(glob_regex("**/LICEN[CS]E*").match(p)) for p in ("LICENSE", "a/b/LICENCE.md", "x")]
    [True, True, False]
    >>> bool(glob_regex("*.txt").match("a/b.txt"))
    False
    """
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:[^/]*/)*")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] in "*?":
            out.append("[^/]*" if pattern[i] == "*" else "[^/]")
            i += 1
        elif pattern[i] == "[" and (end := pattern.find("]", i + 2)) > 0:
            body = pattern[i + 1 : end]
            negate = body.startswith("!")
            body = re.escape(body[1:] if negate else body).replace("\\-", "-")
            out.append(f"[{'^' if negate else ''}{body}]")
            i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + r"\Z", re.S)


def _glob(ctx: Context, pkg: Package, pattern: str) -> list[str]:
    """Files matching a package's glob, among the files the walk found (so a glob never leaves
    the checked tree nor follows a link the walk refused)."""
    matcher = glob_regex(posixpath.normpath(pattern))
    return sorted(pkg.path(rel) for rel in ctx.files_under(pkg.folder) if matcher.match(rel))


def _globbed(ctx: Context, pkg: Package) -> list[str]:
    """Files matched by the package's ``license-files`` globs; a bad glob is a finding."""
    wanted: list[str] = []
    for g in pkg.licence_globs:
        if ".." in g.value.split("/") or g.value.startswith("/"):
            message = (
                f"license-files pattern `{g.value}` leaves the package folder (PEP 639 forbids "
                "`..` and absolute paths)"
            )
            fix = "copy the licence file into the package"
        elif hits := _glob(ctx, pkg, g.value):
            wanted += hits
            continue
        else:
            message = f"license-files pattern `{g.value}` matches no file (PEP 639: builds fail)"
            fix = "fix the pattern or add the file"
        ctx.findings.append(
            make("license-files-glob", Severity.ERROR, pkg.manifest, g.line, message, fix, pkg.name)
        )
    return wanted


def _named(ctx: Context, pkg: Package) -> list[str]:
    """The files a manifest names (Cargo ``license-file``, npm ``SEE LICENSE IN``, legacy
    ``license = {file}``) that exist inside the checked tree; others are findings."""
    wanted: list[str] = []
    root = ctx.root.resolve()
    for f in [*pkg.licence_files, *([pkg.npm_file] if pkg.npm_file else [])]:
        rel = pkg.path(f.value)
        try:
            target = (ctx.root / rel).resolve()
        except (OSError, RuntimeError):  # a symlink loop: Path.resolve raises RuntimeError
            target = ctx.root / rel
        if target.is_relative_to(root) and target.is_file():
            wanted.append(rel)
            continue
        message = (
            f"licence file `{f.value}` does not exist"
            if target.is_relative_to(root)
            else f"licence file `{f.value}` lies outside the checked tree"
        )
        fix = (
            "add the file or fix the path"
            if target.is_relative_to(root)
            else "ship the licence file inside the package"
        )
        _missing_file(ctx, pkg, f.line, message, fix)
    return wanted


def collect_shipped(ctx: Context, state: PackageState) -> None:
    """Find and identify the package's licence files: declared ones, LICENSE*, LICENSES/.

    A package ships only the files inside its folder (wheels, crates and npm tarballs alike),
    plus a Cargo ``license-file`` outside it, which ``cargo package`` copies in. A crate with
    ``publish = false`` is never uploaded: it reaches users only inside its repository, so the
    licence texts of its enclosing folders count for it as :attr:`PackageState.inherited`.
    """
    pkg = state.package
    wanted = [*_globbed(ctx, pkg), *_named(ctx, pkg)]
    if not pkg.licence_globs:  # an explicit license-files list is the whole truth (PEP 639)
        wanted += ctx.tree.licence_files_in(pkg.folder)
    reuse = f"{pkg.folder}/LICENSES/" if pkg.folder else "LICENSES/"
    # The root's REUSE folder covers the repository, but not a published crate in a subfolder.
    shared = pkg.folder and not (pkg.kind == "cargo" and pkg.published)
    wanted += [
        p
        for p in ctx.tree.reuse_licences
        if p.startswith(reuse) or (shared and p.startswith("LICENSES/"))
    ]
    for rel in dict.fromkeys(wanted):
        identified = ctx.identify(rel)
        if identified is not None:
            state.shipped[rel] = identified
    if pkg.kind == "cargo" and not pkg.published:
        state.inherited = dict(ctx.enclosing_texts(pkg.folder))


def _check_custom(ctx: Context, state: PackageState, key: str) -> None:
    terms = ctx.custom[key.lower()]
    pkg = state.package
    line = pkg.expression.line if pkg.expression else 1
    exact = [rel for rel, i in state.shipped.items() if i.custom.licence_id == terms.id]
    if not exact and terms.id in state.notices():
        return  # the repository's text, which an unpublished crate ships
    for rel in exact:
        left = state.shipped[rel].custom.placeholders_left
        if left:
            ctx.findings.append(
                make(
                    "placeholders",
                    Severity.ERROR,
                    rel,
                    1,
                    f"{terms.name} text still has the placeholder(s) {', '.join(left)}",
                    "fill in the year and the copyright holder",
                    pkg.name,
                )
            )
    if exact:
        return
    same_family = [(rel, i) for rel, i in state.shipped.items() if i.custom.title_family]
    if not same_family:
        _missing_file(
            ctx,
            pkg,
            line,
            f"declares {terms.id} but ships no {terms.name} text",
            f"add the licence text (placeholders filled) as LICENSE beside {pkg.manifest}"
            + (" and list it in license-files" if pkg.licence_globs else ""),
        )
        return
    for rel, i in same_family:
        ctx.findings.append(_mismatch(terms.id, terms.family, terms.version, rel, i, pkg))


def _mismatch(
    declared: str, family: str, version: str, rel: str, i: Identified, pkg: Package
) -> Finding:
    shipped_id = i.custom.licence_id
    if i.custom.title_family != family and i.custom.title_family == "extended-st-claire":
        return make(
            "template-as-standard",
            Severity.ERROR,
            rel,
            1,
            f"declares {declared} but ships the Extended St. Claire template",
            fix_line(pkg, shipped_id or "LicenseRef-Extended-St-Claire-0.1")
            + " (the Extended licence must be declared as such)",
            pkg.name,
        )
    if shipped_id and shipped_id != declared:
        return make(
            "version-mismatch",
            Severity.ERROR,
            rel,
            1,
            f"declares {declared} but the text is {shipped_id}",
            f"{fix_line(pkg, shipped_id)}, or ship the {declared} text",
            pkg.name,
        )
    if i.custom.version_in_text and i.custom.version_in_text != version:
        return make(
            "version-mismatch",
            Severity.ERROR,
            rel,
            1,
            f"declares {declared} but the text says version {i.custom.version_in_text}"
            " and is not its canonical text",
            f"ship the canonical {declared} text",
            pkg.name,
        )
    return make(
        "text-mismatch",
        Severity.ERROR,
        rel,
        1,
        f"text does not match {declared} (normalised SHA-256 {i.custom.digest[:12]}…"
        " is no known version): it was edited",
        f"ship the unmodified {declared} text with only the placeholders filled",
        pkg.name,
    )


def check_texts(ctx: Context, state: PackageState) -> None:
    """Every declared id has a shipped text, and every shipped text is declared."""
    pkg = state.package
    if state.parsed is None:
        return
    line = pkg.expression.line if pkg.expression else 1
    for key in sorted(state.keys):
        if key.lower() in ctx.custom:
            _check_custom(ctx, state, key)
        elif not _spdx_shipped(state, key):
            _missing_file(
                ctx,
                pkg,
                line,
                f"declares {key} but ships no {key} licence text",
                _missing_fix(ctx, pkg, key),
            )
    root_reuse = "LICENSES/"
    for rel, i in state.shipped.items():
        if i.licence is None or (pkg.folder and rel.startswith(root_reuse)):
            continue
        if not any(matches(i.licence, k) for k in state.keys):
            ctx.findings.append(
                make(
                    "undeclared-file",
                    Severity.ERROR,
                    rel,
                    1,
                    f"ships the {i.licence} text, which `{state.parsed.text}` does not declare",
                    f"add {i.licence} to {pkg.manifest} or remove the file",
                    pkg.name,
                )
            )


def _missing_file(ctx: Context, pkg: Package, line: int, message: str, fix: str) -> None:
    """A ``missing-file`` error on the package's manifest: a declared licence has no text."""
    ctx.findings.append(
        make("missing-file", Severity.ERROR, pkg.manifest, line, message, fix, pkg.name)
    )


def _missing_fix(ctx: Context, pkg: Package, key: str) -> str:
    """Point to the text in an enclosing folder when there is one: packages (wheels, crates,
    npm tarballs) ship only files inside their own folder."""
    listed = " and list it in license-files" if pkg.licence_globs else ""
    if not safe_id(key):
        return f"give the licence a valid id and add its text beside {pkg.manifest}{listed}"
    for rel, found in ctx.enclosing_texts(pkg.folder):
        if found.licence and matches(found.licence, key):
            how = (
                "copy or link"  # cargo package copies a link's target into the crate
                if pkg.kind == "cargo"
                else "copy"
            )
            return (
                f"{how} {rel} into {pkg.folder}/ (a package ships only the files inside "
                f"its folder){listed}"
            )
    for rel in ctx.tree.reuse_licences:
        if rel.startswith("LICENSES/") and rel[9:].rsplit(".", 1)[0].lower() == key.lower():
            return f"copy or link {rel} into {pkg.folder}/ as LICENSE-{key}"
    return f"add LICENSE-{key} with the {key} text beside {pkg.manifest}{listed}"


def _spdx_shipped(state: PackageState, key: str) -> bool:
    for rel, i in [*state.shipped.items(), *state.inherited.items()]:
        name = rel.rpartition("/")[2].lower()
        if (i.licence and matches(i.licence, key)) or key.lower() in name:
            return True
    # An id we cannot recognise by text is satisfied by any unrecognised licence file.
    return not has_fingerprint(key) and any(i.licence is None for i in state.shipped.values())


def check_file_declaration(ctx: Context, state: PackageState) -> None:
    """A licence declared only by a file (npm ``SEE LICENSE IN``, Cargo ``license-file``,
    legacy ``license = {file}``): the file's text decides the package's licence."""
    pkg = state.package
    declared = pkg.npm_file or (pkg.licence_files[0] if pkg.licence_files else None)
    if declared is None or pkg.expression is not None:
        return
    rel = pkg.path(declared.value)
    identified = state.shipped.get(rel)
    if identified is None:
        return  # missing or unreadable: already reported
    if identified.licence is None:
        what = "an edited or unknown licence text"
        if identified.custom.title_family:
            what = f"an edited {identified.custom.title_family} text (no known version hashes)"
        ctx.findings.append(
            make(
                "text-mismatch",
                Severity.ERROR,
                rel,
                1,
                f"the licence file `{declared.value}` holds {what}",
                "ship an unmodified licence text and declare its id",
                pkg.name,
            )
        )
        return
    licence_id = identified.custom.licence_id or identified.licence
    try:
        state.parsed = resolve(licence_id).parsed
    except DeclarationError:
        return  # an id prefix such as GPL-3.0: the package stays undetermined
    if identified.custom.placeholders_left:
        _check_custom(ctx, state, licence_id)


def check_headers(ctx: Context) -> None:
    """``SPDX-License-Identifier`` headers parse and agree with their package's declaration."""
    for header in ctx.tree.headers:
        state = ctx.owner(header.path)
        pkg_name = state.package.name if state else ""
        try:
            parsed = resolve(header.expression, ctx.policy.licence_refs).parsed
        except DeclarationError as problem:
            fix = (
                problem.fix
                if problem.advice or not problem.fix
                else f"SPDX-License-Identifier: {problem.fix}"
            )
            ctx.findings.append(
                make(
                    problem.rule,
                    Severity.ERROR,
                    header.path,
                    header.line,
                    f"SPDX header: {problem.message}",
                    fix,
                    pkg_name,
                )
            )
            continue
        if state is None or state.parsed is None:
            continue
        extra = {k for k in parsed.keys if k not in state.keys}
        if extra:
            ctx.findings.append(
                make(
                    "header-mismatch",
                    Severity.ERROR,
                    header.path,
                    header.line,
                    f"header says `{parsed.text}`, but {state.package.manifest} declares "
                    f"`{state.parsed.text}` ({', '.join(sorted(extra))} undeclared)",
                    f"correct the header, or declare it: "
                    f"{fix_line(state.package, _and(state.parsed.text, sorted(extra)))}",
                    pkg_name,
                )
            )


def _used_ids(ctx: Context) -> set[str]:
    used = {k.lower() for s in ctx.states for k in s.keys}
    for header in ctx.tree.headers:
        try:
            parsed = resolve(header.expression, ctx.policy.licence_refs).parsed
        except DeclarationError:
            continue
        used |= {k.lower() for k in parsed.keys | parsed.exceptions}
    used |= {e.lower() for s in ctx.states if s.parsed for e in s.parsed.exceptions}
    return used


def _and(expression: str, extra: list[str]) -> str:
    base = f"({expression})" if " OR " in expression else expression
    return " AND ".join([base, *extra])


def _reuse_finding(ctx: Context, rel: str, used: set[str]) -> Finding | None:
    """What is wrong with one ``LICENSES/`` file, or None."""
    stem = rel.rpartition("/")[2].rsplit(".", 1)[0]
    exception = spdx_exceptions().get(stem.lower())
    if exception is not None:
        if exception.lower() in used:
            return None
        return make(
            "licenses-dir",
            Severity.WARNING,
            rel,
            1,
            f"no declaration or header uses {exception}",
            "remove the file, or use the exception with WITH",
        )
    try:
        parsed = resolve(stem, ctx.policy.licence_refs).parsed
    except DeclarationError as problem:
        fix = (
            f"rename it to LICENSES/{problem.fix}.txt"
            if not problem.advice and safe_id(problem.fix)
            else "name it after its SPDX id, e.g. LICENSES/MIT.txt"
        )
        message = f"`{stem}` is not a licence id: {problem.message}"
        return make("licenses-dir", Severity.ERROR, rel, 1, message, fix)
    (key,) = parsed.keys or {stem}
    found = ctx.identify(rel)
    shown = found.custom.licence_id or found.licence if found else None
    if shown and not matches(shown, key):
        return make(
            "licenses-dir",
            Severity.ERROR,
            rel,
            1,
            f"file is named {key} but holds the {shown} text",
            f"rename it to LICENSES/{shown}.txt or replace its text",
        )
    if key.lower() in used:
        return None
    return make(
        "licenses-dir",
        Severity.WARNING,
        rel,
        1,
        f"no declaration or header uses {key}",
        "remove the file, or declare the licence where it applies",
    )


def check_reuse_dir(ctx: Context) -> None:
    """Files in ``LICENSES/`` are named ``<licence id>.<ext>`` (REUSE), hold that licence's
    text, and are used by some declaration or header."""
    used = _used_ids(ctx)
    for rel in ctx.tree.reuse_licences:
        finding = _reuse_finding(ctx, rel, used)
        if finding is not None:
            ctx.findings.append(finding)
