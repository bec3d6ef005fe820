"""Expression parsing: canonical ids, exact fixes, AND/OR/WITH allow-list semantics."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from wg_license.expressions import DeclarationError, fix_aliases, resolve, satisfies


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("MIT", "MIT"),
        ("MIT OR Apache-2.0", "MIT OR Apache-2.0"),
        (
            "(MIT OR Apache-2.0) AND LicenseRef-St-Claire-0.3",
            "(MIT OR Apache-2.0) AND LicenseRef-St-Claire-0.3",
        ),
        ("Apache-2.0 WITH LLVM-exception", "Apache-2.0 WITH LLVM-exception"),
        ("LicenseRef-Extended-St-Claire-0.1", "LicenseRef-Extended-St-Claire-0.1"),
    ],
)
def test_valid_expressions_resolve_unchanged(text, canonical):
    resolution = resolve(text)
    assert resolution.parsed.text == canonical
    assert resolution.warnings == ()


def test_case_insensitive_ids_are_valid_with_a_warning_and_fix():
    resolution = resolve("mit or apache-2.0 AND licenseref-st-claire-0.3")
    assert resolution.parsed.keys == {"MIT", "Apache-2.0", "LicenseRef-St-Claire-0.3"}
    (warning,) = resolution.warnings
    assert (warning.rule, warning.fix) == (
        "id-case",
        "MIT OR Apache-2.0 AND LicenseRef-St-Claire-0.3",
    )


@pytest.mark.parametrize(
    ("text", "rule", "fix"),
    [
        ("MIT/Apache-2.0", "expression-syntax", "MIT OR Apache-2.0"),
        ("St-Clair", "alias", "LicenseRef-St-Claire-0.3"),
        ("St. Claire", "alias", "LicenseRef-St-Claire-0.3"),
        ("MIT AND St. Claire License v0.2", "alias", "MIT AND LicenseRef-St-Claire-0.2"),
        ("LicenseRef-St-Clair-0.1", "alias", "LicenseRef-St-Claire-0.1"),
        ("Extended St. Claire 0.1", "alias", "LicenseRef-Extended-St-Claire-0.1"),
        ("Apache 2.0", "unknown-id", "Apache-2.0"),
        ("Apach-2.0 OR MIT", "unknown-id", "Apache-2.0 OR MIT"),
        ("GPLv3", "unknown-id", "GPL-3.0-only"),
        ("Apache-2.0 WITH LLVM-exceptoin", "unknown-id", "Apache-2.0 WITH LLVM-exception"),
    ],
)
def test_mistakes_get_the_exact_fix(text, rule, fix):
    with pytest.raises(DeclarationError) as info:
        resolve(text)
    assert (info.value.rule, info.value.fix, info.value.advice) == (rule, fix, False)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("(MIT OR Apache-2.0", "unbalanced parentheses in `(MIT OR Apache-2.0`: 1 `(` not closed"),
        ("MIT)", "unbalanced parentheses in `MIT)`: a `)` has no matching `(`"),
        ("", "empty licence expression"),
        ("LicenseRef-Ours", "unknown licence id `LicenseRef-Ours`"),
    ],
)
def test_unfixable_mistakes_get_advice(text, message):
    with pytest.raises(DeclarationError) as info:
        resolve(text)
    assert info.value.message == message
    assert info.value.advice


@pytest.mark.parametrize("text", ["()", "MIT OR ()", "(())"])
def test_empty_groups_are_syntax_errors_not_crashes(text):
    # Hypothesis found `()`: license-expression's boolean.py raised a bare IndexError.
    with pytest.raises(DeclarationError) as info:
        resolve(text)
    assert info.value.message.startswith(f"`{text}` does not parse")
    assert info.value.advice


def test_configured_licence_refs_are_known():
    assert resolve("LicenseRef-Ours", extra=["LicenseRef-Ours"]).parsed.keys == {"LicenseRef-Ours"}


def test_alias_without_version_takes_the_shipped_version():
    assert fix_aliases("St-Clair OR MIT", {"st-claire": "0.1"}) == "LicenseRef-St-Claire-0.1 OR MIT"


@pytest.mark.parametrize(
    ("text", "allow", "ok"),
    [
        ("MIT OR GPL-3.0-only", ["MIT"], True),
        ("MIT AND GPL-3.0-only", ["MIT"], False),
        ("MIT AND (Zlib OR GPL-3.0-only)", ["MIT", "Zlib"], True),
        ("(MIT OR GPL-3.0-only) AND (Zlib OR GPL-2.0-only)", ["MIT", "GPL-2.0-only"], True),
        ("Apache-2.0 WITH LLVM-exception", ["Apache-2.0"], False),
        ("Apache-2.0 WITH LLVM-exception", ["Apache-2.0", "LLVM-exception"], True),
        ("Apache-2.0 WITH LLVM-exception", ["apache-2.0 with llvm-exception"], True),
        ("LicenseRef-St-Claire-0.3", ["MIT"], False),
    ],
)
def test_allow_list_semantics(text, allow, ok):
    assert satisfies(resolve(text).parsed.tree, allow) is ok


IDS = st.sampled_from(["MIT", "Apache-2.0", "BSD-3-Clause", "Zlib", "LicenseRef-St-Claire-0.3"])


def _expressions():
    return st.recursive(
        IDS,
        lambda inner: st.tuples(inner, st.sampled_from([" AND ", " OR "]), inner).map(
            lambda t: f"({t[0]}{t[1]}{t[2]})"
        ),
        max_leaves=6,
    )


@settings(max_examples=60, deadline=None)
@given(_expressions())
def test_canonical_text_is_a_fixed_point_with_the_same_meaning(text):
    parsed = resolve(text).parsed
    again = resolve(parsed.text).parsed
    assert again.text == parsed.text
    assert again.keys == parsed.keys
    for allow in (["MIT"], ["MIT", "Zlib"], ["Apache-2.0", "LicenseRef-St-Claire-0.3"]):
        assert satisfies(again.tree, allow) == satisfies(parsed.tree, allow)


@settings(max_examples=80, deadline=None)
@given(st.text(alphabet="()/ ANDORWITHmitMIT-.0123,", max_size=30))
def test_any_text_resolves_or_raises_declaration_error(text):
    try:
        parsed = resolve(text).parsed
    except DeclarationError as problem:
        parsed = None
        message = problem.message
    else:
        message = parsed.text
    assert message
