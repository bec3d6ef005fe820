"""Custom licence terms as data: one YAML file per licence version in ``license/terms/``.

The project never ships the licence texts, only the SHA-256 of their normalised form (see
:func:`normalise`) and the obligations and restrictions derived from them.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

#: Markdown emphasis and heading marks that do not change the meaning of a licence text.
_EMPHASIS = re.compile(r"(\*+|(?<!\w)_+|_+(?!\w)|^#+\s*)", re.MULTILINE)
_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})
_WS = re.compile(r"\s+")
#: A copyright line: its year and holder are the template's placeholders, masked before hashing.
_COPYRIGHT_LINE = re.compile(r"^[ \t>*_]*copyright\b(?!\s+(?:notice|holders?\b)).*$", re.I | re.M)
_PLACEHOLDERS = ("<YEAR>", "<COPYRIGHT HOLDER>")
_MASK = "<copyright line>"
_VERSION_IN_TEXT = re.compile(r"\bversion\s+v?(\d+(?:\.\d+)+)", re.I)


class TermsError(ValueError):
    """A licence-terms YAML file is malformed."""


@dataclass(frozen=True)
class LicenceTerms:
    """The terms of one custom licence version, read from one YAML file."""

    id: str
    name: str
    family: str
    version: str
    sha256: str
    title: str
    aliases: tuple[str, ...]
    alias_pattern: str
    template: bool
    osi_approved: bool
    stable: bool
    obligations: dict[str, bool]
    restrictions: tuple[str, ...]
    variable_sections: tuple[tuple[str, str], ...] = ()
    source: str = ""


@dataclass(frozen=True)
class TextIdentity:
    """What a licence file turned out to be."""

    licence_id: str | None
    title_family: str | None
    version_in_text: str | None
    placeholders_left: tuple[str, ...]
    digest: str


def terms_dir() -> Path:
    """Return the folder holding the licence-terms YAML files.

    Examples
    --------
    >>> (terms_dir() / "st-claire-0.3.yaml").is_file()
    True
    """
    here = Path(__file__).resolve().parent
    for candidate in (here / "terms", here.parents[1] / "terms"):
        if candidate.is_dir():
            return candidate
    raise TermsError(f"no licence terms folder beside {here}; reinstall wg-license")


def normalise(text: str, variable_sections: tuple[tuple[str, str], ...] = ()) -> str:
    """Fold whitespace, Markdown emphasis, quotes and case; mask the copyright line.

    Sections between a ``(start, end)`` marker pair (in normalised text) are masked too: the
    Extended template leaves its ethical clauses to the copyright holder.

    Examples
    --------
    >>> normalise("***Note*** this\\n\\nCopyright 2024  Jane Doe\\nText  _here_")
    'note this <copyright line> text here'
    """
    text = text.replace("\r\n", "\n").translate(_QUOTES)
    text = _COPYRIGHT_LINE.sub(_MASK, text)
    text = _EMPHASIS.sub("", text)
    folded = _WS.sub(" ", text).strip().lower()
    folded = re.sub(rf"(?:{re.escape(_MASK)} ?)+", _MASK + " ", folded).strip()
    return mask_sections(folded, variable_sections)


def mask_sections(folded: str, variable_sections: tuple[tuple[str, str], ...]) -> str:
    """Mask what lies between each ``(start, end)`` marker pair of a normalised text."""
    for start, end in variable_sections:
        i = folded.find(start)
        j = folded.find(end, i + len(start)) if i >= 0 else -1
        if i >= 0 and j >= 0:
            folded = folded[: i + len(start)] + " <variable> " + folded[j:]
    return folded


def digest(text: str, variable_sections: tuple[tuple[str, str], ...] = ()) -> str:
    """SHA-256 (hex) of the normalised text."""
    return hashlib.sha256(normalise(text, variable_sections).encode()).hexdigest()


def _load_one(path: Path) -> LicenceTerms:
    from wg_io.structure import InputError, load_yaml

    try:
        data = load_yaml(path.read_text(encoding="utf-8"), path)
    except (OSError, UnicodeDecodeError) as exc:
        raise TermsError(f"{path}: cannot read licence terms: {exc}") from exc
    except InputError as exc:
        raise TermsError(str(exc)) from None
    if not isinstance(data, dict):
        raise TermsError(f"{path}:1: licence terms must be a YAML mapping")
    missing = [
        key for key in ("id", "name", "family", "version", "sha256", "title") if key not in data
    ]
    if missing:
        raise TermsError(f"{path}:1: missing key(s) {', '.join(missing)}; see st-claire-0.3.yaml")
    sections = tuple((str(a), str(b)) for a, b in data.get("variable_sections") or ())
    return LicenceTerms(
        id=str(data["id"]),
        name=str(data["name"]),
        family=str(data["family"]),
        version=str(data["version"]),
        sha256=str(data["sha256"]),
        title=str(data["title"]).lower(),
        aliases=tuple(str(a) for a in data.get("aliases") or ()),
        alias_pattern=str(data.get("alias_pattern") or re.escape(str(data["id"]))),
        template=bool(data.get("template", False)),
        osi_approved=bool(data.get("osi_approved", False)),
        stable=bool(data.get("stable", False)),
        obligations={str(k): bool(v) for k, v in (data.get("obligations") or {}).items()},
        restrictions=tuple(str(r) for r in data.get("restrictions") or ()),
        variable_sections=sections,
        source=str(data.get("source", "")),
    )


@cache
def load_terms(folder: Path | None = None) -> tuple[LicenceTerms, ...]:
    """Load every ``*.yaml`` licence-terms file, sorted by id.

    Examples
    --------
    >>> [t.id for t in load_terms()][:2]
    ['LicenseRef-Extended-St-Claire-0.1', 'LicenseRef-St-Claire-0.1']
    """
    folder = folder or terms_dir()
    return tuple(sorted((_load_one(p) for p in folder.glob("*.yaml")), key=lambda t: t.id))


def terms_by_id(folder: Path | None = None) -> dict[str, LicenceTerms]:
    """Terms keyed by lower-cased licence id (SPDX ids match case-insensitively)."""
    return {t.id.lower(): t for t in load_terms(folder)}


def identify(text: str, folder: Path | None = None, folded: str | None = None) -> TextIdentity:
    """Identify a licence text against the known custom licences.

    ``folded`` is ``normalise(text)`` when the caller has it already (texts are long).

    Examples
    --------
    >>> identify("MIT License\\n\\nPermission is hereby granted").licence_id is None
    True
    """
    terms = load_terms(folder)
    folded = normalise(text) if folded is None else folded
    head = folded[:700]
    family = next((t.family for t in terms if t.title in head), None)
    match = _VERSION_IN_TEXT.search(head) if family else None
    lowered = text.lower()
    left = tuple(p for p in _PLACEHOLDERS if p.lower() in lowered)
    plain = hashlib.sha256(folded.encode()).hexdigest()
    for t in terms:
        masked = mask_sections(folded, t.variable_sections) if t.variable_sections else None
        hashed = hashlib.sha256(masked.encode()).hexdigest() if masked is not None else plain
        if t.sha256 == hashed:
            return TextIdentity(t.id, family, match.group(1) if match else None, left, plain)
    return TextIdentity(None, family, match.group(1) if match else None, left, plain)
