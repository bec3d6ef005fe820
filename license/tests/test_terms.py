"""Licence terms as data: the YAML hashes are those of the real texts."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from wg_license.expressions import fix_aliases
from wg_license.terms import TermsError, digest, identify, load_terms, normalise, terms_by_id

IDS = [
    "LicenseRef-St-Claire-0.1",
    "LicenseRef-St-Claire-0.2",
    "LicenseRef-St-Claire-0.3",
    "LicenseRef-Extended-St-Claire-0.1",
]


def test_every_version_has_one_yaml_with_derived_terms():
    terms = terms_by_id()
    assert sorted(t.id for t in load_terms()) == sorted(IDS)
    v3 = terms["licenseref-st-claire-0.3"]
    assert v3.restrictions[-1] == "military-and-paramilitary-use"
    assert "military-and-paramilitary-use" not in terms["licenseref-st-claire-0.2"].restrictions
    assert not v3.osi_approved
    assert not v3.stable
    assert all(v3.obligations.values())
    assert set(v3.obligations) == {
        "notice_with_source",
        "notice_with_binaries",
        "notice_with_artifacts",
        "notice_with_network_access",
        "propagates_to_dependents",
    }
    assert terms["licenseref-extended-st-claire-0.1"].template


@pytest.mark.corpus
@pytest.mark.parametrize("licence_id", IDS)
def test_yaml_hash_is_the_hash_of_the_real_text(lic, licence_id):
    terms = terms_by_id()[licence_id.lower()]
    raw = lic.text(licence_id, fill=False)
    assert digest(raw, terms.variable_sections) == terms.sha256
    found = identify(lic.text(licence_id))
    assert found.licence_id == licence_id
    assert found.version_in_text == terms.version
    assert found.placeholders_left == ()
    assert identify(raw).placeholders_left == ("<YEAR>", "<COPYRIGHT HOLDER>")


@pytest.mark.corpus
def test_reformatted_text_still_identifies_but_an_edit_does_not(lic):
    text = lic.text("LicenseRef-St-Claire-0.3")
    plain = re.sub(r"\*+", "", text).replace("\n\n", "\n  \n").replace("\u2019", "'")
    assert identify(plain).licence_id == "LicenseRef-St-Claire-0.3"
    edited = text.replace("Military and Paramilitary Use", "Military Use")
    found = identify(edited)
    assert found.licence_id is None
    assert (found.title_family, found.version_in_text) == ("st-claire", "0.3")


@pytest.mark.corpus
def test_extended_template_with_own_clauses_is_still_the_extended_licence(lic):
    text = lic.text("LicenseRef-Extended-St-Claire-0.1")
    own = text.replace("< ETHICAL CLAUSE 1 >", "Weapons").replace(
        "< DESCRIPTION OF PURPOSE-SPECIFIC PROHIBITION >", "Guide a missile."
    )
    assert identify(own).licence_id == "LicenseRef-Extended-St-Claire-0.1"
    assert identify(own.replace("binary form", "any form")).licence_id is None


def test_normalise_masks_copyright_lines_and_folds_emphasis():
    a = "***Note***\n\nCopyright 2020 A\nCopyright 2021 B\n\nThe  above copyright notice"
    b = "Note\nCopyright <YEAR> <COPYRIGHT HOLDER>\nThe above copyright notice"
    assert normalise(a) == normalise(b) == "note <copyright line> the above copyright notice"


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=200))
def test_normalise_is_idempotent_and_never_fails(text):
    once = normalise(text)
    assert normalise(once) == once
    assert identify(text).licence_id is None


@pytest.mark.parametrize("terms", load_terms(), ids=lambda t: t.id)
def test_every_listed_alias_is_corrected_to_its_id(terms):
    assert terms.aliases
    assert {alias: fix_aliases(alias) for alias in terms.aliases} == dict.fromkeys(
        terms.aliases, terms.id
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "id: [unclosed\n",
            "bad.yaml:2: invalid YAML: expected ',' or ']', but got '<stream end>' (check the "
            "indentation, quoting and colons on that line)",
        ),
        ("- a list\n", "bad.yaml:1: licence terms must be a YAML mapping"),
        ("id: x\n", "bad.yaml:1: missing key(s) name, family, version, sha256, title; see "
                    "st-claire-0.3.yaml"),
    ],
)  # fmt: skip
def test_malformed_terms_file_names_its_line(tmp_path, text, message):
    (tmp_path / "bad.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(TermsError) as info:
        load_terms(tmp_path)
    assert str(info.value) == f"{tmp_path}/{message}"


def test_terms_file_with_an_alias_bomb_is_refused_at_its_size(tmp_path):
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    (tmp_path / "bomb.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(TermsError) as info:
        load_terms(tmp_path)
    assert str(info.value) == (
        f"{tmp_path}/bomb.yaml:4: aliases expand this file to more than 10000 values; "
        "write the values out"
    )
