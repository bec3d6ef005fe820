"""SPDX licence expressions: parse with license-expression, resolve ids, explain every fix.

license-expression parses the structure (AND / OR / WITH, parentheses); ids are resolved here,
case-insensitively (SPDX matching is case-insensitive), against the SPDX list that
license-expression bundles plus the custom ``LicenseRef-`` ids of ``license/terms/``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from wg_license.terms import LicenceTerms, load_terms

#: Frequent non-SPDX spellings seen in package metadata, keyed by their squashed form.
_COMMON = {
    "apache2": "Apache-2.0",
    "apachelicense2.0": "Apache-2.0",
    "apachesoftwarelicense": "Apache-2.0",
    "asl2.0": "Apache-2.0",
    "gplv2": "GPL-2.0-only",
    "gplv3": "GPL-3.0-only",
    "lgplv3": "LGPL-3.0-only",
    "mitlicense": "MIT",
    "expat": "MIT",
    "bsd3clauselicense": "BSD-3-Clause",
    "newbsdlicense": "BSD-3-Clause",
    "bsd2clauselicense": "BSD-2-Clause",
    "simplifiedbsd": "BSD-2-Clause",
    "mpl2.0": "MPL-2.0",
    "mozillapubliclicense2.0": "MPL-2.0",
    "publicdomain": "Unlicense",
    "psf": "PSF-2.0",
}


class DeclarationError(ValueError):
    """A declared expression is wrong; ``fix`` is the corrected expression or advice."""

    def __init__(self, rule: str, message: str, fix: str = "", advice: bool = False) -> None:
        super().__init__(message)
        self.rule = rule
        self.message = message
        self.fix = fix
        self.advice = advice  # ``fix`` is advice in words, not a corrected expression


@dataclass(frozen=True)
class Parsed:
    """A valid expression: canonical text, the licence ids and exceptions it names."""

    text: str
    keys: frozenset[str]
    exceptions: frozenset[str]
    tree: Any


@dataclass(frozen=True)
class Resolution:
    """A parsed expression plus warnings (valid but not canonical)."""

    parsed: Parsed
    warnings: tuple[DeclarationError, ...]


#: An id that may be written into a suggested fix: SPDX's idstring characters, a sane length.
#: Anything else (control bytes, a 10,000-character LicenseRef-) is described, never echoed.
_SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9.+-]{0,79}")


def safe_id(key: str) -> bool:
    """Whether ``key`` may be echoed into a suggested fix.

    Examples
    --------
    >>> safe_id("LicenseRef-St-Claire-0.3"), safe_id("LicenseRef-a\\x00b"), safe_id("x" * 81)
    (True, False, False)
    """
    return bool(_SAFE_ID.fullmatch(key))


def _squash(key: str) -> str:
    squashed = re.sub(r"[^a-z0-9.+]", "", key.lower()).replace("version", "")
    return re.sub(r"v(?=\d)", "", squashed)


@cache
def _spdx_ids() -> tuple[dict[str, str], dict[str, str]]:
    """Lower-cased id -> canonical id, for licences and for exceptions."""
    import license_expression

    licences: dict[str, str] = {}
    exceptions: dict[str, str] = {}
    for entry in license_expression.get_license_index():
        key = entry.get("spdx_license_key")
        if not key or key.startswith("LicenseRef-"):
            continue
        table = exceptions if entry.get("is_exception") else licences
        table[key.lower()] = key
    return licences, exceptions


@cache
def _squashed() -> dict[str, str]:
    licences, _ = _spdx_ids()
    table = {_squash(k): v for k, v in licences.items()}
    table.update({_squash(k): v for k, v in _COMMON.items()})
    return table


def spdx_exceptions() -> dict[str, str]:
    """Lower-cased SPDX exception id -> canonical id (e.g. ``llvm-exception``)."""
    return _spdx_ids()[1]


def known_ids(extra: Iterable[str] = ()) -> dict[str, str]:
    """Lower-cased id -> canonical id: SPDX licences, custom terms and configured extras.

    Examples
    --------
    >>> known_ids()["licenseref-st-claire-0.3"]
    'LicenseRef-St-Claire-0.3'
    """
    table = dict(_spdx_ids()[0])
    table.update({t.id.lower(): t.id for t in load_terms()})
    table.update({e.lower(): e for e in extra})
    return table


def _alias_regex(terms: LicenceTerms) -> re.Pattern[str]:
    return re.compile(
        rf"(?<![\w.-])(?:{terms.alias_pattern})(?:[-\s]*(?:version|v)?[-\s]*(\d+(?:\.\d+)+))?"
        r"(?![\w-]|\.\w)",
        re.I,
    )


@cache
def _families() -> tuple[tuple[re.Pattern[str], dict[str, LicenceTerms]], ...]:
    """One alias regex per licence family, Extended first so that it is not read as standard."""
    by_family: dict[str, dict[str, LicenceTerms]] = {}
    for t in load_terms():
        by_family.setdefault(t.family, {})[t.version] = t
    ordered = sorted(by_family.values(), key=lambda v: -len(next(iter(v.values())).alias_pattern))
    return tuple((_alias_regex(next(iter(v.values()))), v) for v in ordered)


def fix_aliases(text: str, preferred: Mapping[str, str] | None = None) -> str:
    """Replace aliases of custom licences (``St. Claire``, ``St-Clair-0.2``) by canonical ids.

    An alias without a version takes ``preferred[family]`` (the version of the shipped text),
    else the latest version of that family.

    Examples
    --------
    >>> fix_aliases("MIT AND St. Claire 0.2")
    'MIT AND LicenseRef-St-Claire-0.2'
    >>> fix_aliases("St-Clair", {"st-claire": "0.1"})
    'LicenseRef-St-Claire-0.1'
    """
    for regex, versions in _families():
        family = next(iter(versions.values())).family

        def replace(
            m: re.Match[str], versions: dict[str, LicenceTerms] = versions, family: str = family
        ) -> str:
            version = m.group(1) or (preferred or {}).get(family) or max(versions)
            chosen = versions.get(version)
            if not chosen or m.group(0).lower() == chosen.id.lower():
                return m.group(0)  # the id itself, perhaps in another case: see "id-case"
            return chosen.id

        text = regex.sub(replace, text)
    return text


def _render(node: Any, ids: Mapping[str, str], exc: Mapping[str, str], top: bool = True) -> str:
    op = getattr(node, "operator", None)
    if op is None:
        if hasattr(node, "exception_symbol"):
            lic = ids.get(node.license_symbol.key.lower(), node.license_symbol.key)
            name = node.exception_symbol.key
            return f"{lic} WITH {exc.get(name.lower(), name)}"
        return ids.get(node.key.lower(), node.key)
    inner = op.join(_render(a, ids, exc, top=False) for a in node.args)
    # SPDX: AND binds tighter than OR, so only an OR inside an AND needs parentheses.
    return inner if top or op.strip() == "AND" else f"({inner})"


def _walk(node: Any) -> Iterable[Any]:
    if getattr(node, "operator", None) is None:
        yield node
    else:
        for arg in node.args:
            yield from _walk(arg)


def suggest(key: str, ids: Mapping[str, str]) -> str | None:
    """The id a misspelt ``key`` most likely meant, or None.

    Examples
    --------
    >>> suggest("Apache 2.0", known_ids())
    'Apache-2.0'
    >>> suggest("MTI", known_ids())
    'MIT'
    """
    squashed = _squashed()
    if _squash(key) in squashed:
        return squashed[_squash(key)]
    ref = key.lower().startswith("licenseref-")
    pool = [k for k in ids if k.startswith("licenseref-") == ref]
    close = difflib.get_close_matches(key.lower(), pool, n=1, cutoff=0.8 if ref else 0.6)
    return ids[close[0]] if close else None


def _syntax(text: str) -> DeclarationError | None:
    if not text.strip():
        return DeclarationError(
            "expression-syntax",
            "empty licence expression",
            "write an SPDX expression such as `MIT`",
            advice=True,
        )
    if "/" in text:
        fixed = re.sub(r"\s*/\s*", " OR ", text.strip())
        return DeclarationError(
            "expression-syntax", f"`{text}` uses the old slash form; SPDX writes `OR`", fixed
        )
    depth = 0
    for ch in text:
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth < 0:
            break
    if depth:
        side = "a `)` has no matching `(`" if depth < 0 else f"{depth} `(` not closed"
        return DeclarationError(
            "expression-syntax",
            f"unbalanced parentheses in `{text}`: {side}",
            "balance the parentheses",
            advice=True,
        )
    return None


def _check_symbols(tree: Any, ids: Mapping[str, str], text: str) -> list[DeclarationError]:
    _, exc = _spdx_ids()
    problems = []
    for sym in _walk(tree):
        pairs = [(sym, ids)]
        if hasattr(sym, "exception_symbol"):
            pairs = [(sym.license_symbol, ids), (sym.exception_symbol, exc)]
        for s, table in pairs:
            if s.key.lower() in table:
                continue
            guess = suggest(s.key, table)
            # The corrected expression repeats the others ids: only when they are safe to echo.
            others_safe = all(safe_id(k.key) for k in _leaves(tree) if k is not s)
            fix = text.replace(s.key, guess) if guess and others_safe else ""
            what = "licence exception" if table is exc else "licence id"
            advice = (
                f"write {guess} for the misspelt id"
                if guess
                else (
                    "use an SPDX id (https://spdx.org/licenses/); a custom licence needs a "
                    "`LicenseRef-` id with a YAML file in license/terms/ or in `licence-refs`"
                )
            )
            problems.append(
                DeclarationError(
                    "unknown-id", f"unknown {what} `{s.key}`", fix or advice, advice=not fix
                )
            )
    return problems


def resolve(
    text: str, extra: Iterable[str] = (), preferred: Mapping[str, str] | None = None
) -> Resolution:
    """Parse ``text`` into a :class:`Resolution`, or raise :class:`DeclarationError`.

    Examples
    --------
    >>> resolve("mit OR Apache-2.0").parsed.text
    'MIT OR Apache-2.0'
    >>> resolve("MIT/Apache-2.0")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    wg_license.expressions.DeclarationError: `MIT/Apache-2.0` uses the old slash form; ...
    """
    aliased = fix_aliases(text, preferred)
    if aliased != text:
        raise DeclarationError(
            "alias", f"`{text}` names a custom licence by an alias, not its id", aliased
        )
    problem = _syntax(text)
    if problem:
        raise problem
    return _resolve_checked(text.strip(), tuple(sorted(extra)))


@cache
def _resolve_checked(text: str, extra: tuple[str, ...]) -> Resolution:
    import license_expression

    try:
        tree = license_expression.Licensing().parse(text)
    # boolean.py, under license-expression, raises IndexError on an empty group such as `()`.
    except (license_expression.ExpressionError, AttributeError, TypeError, IndexError) as exc:
        raise DeclarationError(
            "expression-syntax",
            f"`{text}` does not parse: {exc}",
            "write ids joined by AND, OR, WITH, e.g. `MIT OR Apache-2.0`",
            advice=True,
        ) from exc
    if tree is None:
        raise DeclarationError(
            "expression-syntax",
            "empty licence expression",
            "write an SPDX expression such as `MIT`",
            advice=True,
        )
    ids = known_ids(extra)
    problems = _check_symbols(tree, ids, text)
    if problems:
        raise problems[0]
    exc_ids = _spdx_ids()[1]
    canonical = _render(tree, ids, exc_ids)
    warnings = []
    keys = {ids[s.key.lower()] for s in _leaves(tree)}
    if canonical != _render(tree, {}, {}):
        warnings.append(
            DeclarationError(
                "id-case", f"`{text}` matches SPDX ids only case-insensitively", canonical
            )
        )
    excs = {
        exc_ids[s.exception_symbol.key.lower()]
        for s in _walk(tree)
        if hasattr(s, "exception_symbol")
    }
    return Resolution(Parsed(canonical, frozenset(keys), frozenset(excs), tree), tuple(warnings))


def _leaves(tree: Any) -> Iterable[Any]:
    for sym in _walk(tree):
        yield sym.license_symbol if hasattr(sym, "exception_symbol") else sym


def satisfies(tree: Any, allowed: Iterable[str]) -> bool:
    """Whether an expression is acceptable under an allow list (OR: any, AND: all).

    ``X WITH Y`` is allowed when ``X WITH Y`` itself or both ``X`` and ``Y`` are listed.

    Examples
    --------
    >>> tree = resolve("GPL-3.0-only OR (MIT AND Zlib)").parsed.tree
    >>> satisfies(tree, ["MIT", "Zlib"]), satisfies(tree, ["MIT"])
    (True, False)
    """
    allow = {a.lower() for a in allowed}
    return _satisfies(tree, allow)


def _satisfies(node: Any, allow: set[str]) -> bool:
    op = getattr(node, "operator", None)
    if op is None:
        if hasattr(node, "exception_symbol"):
            lic, exc = node.license_symbol.key.lower(), node.exception_symbol.key.lower()
            return f"{lic} with {exc}" in allow or (lic in allow and exc in allow)
        return bool(node.key.lower() in allow)
    results = (_satisfies(a, allow) for a in node.args)
    return all(results) if op.strip() == "AND" else any(results)


def or_alternatives(tree: Any) -> list[frozenset[str]]:
    """The id sets of the top-level ``OR`` branches (one branch when there is no ``OR``)."""
    if (getattr(tree, "operator", None) or "").strip() == "OR":
        return [frozenset(s.key.lower() for s in _leaves(a)) for a in tree.args]
    return [frozenset(s.key.lower() for s in _leaves(tree))]
