"""Recognise the common SPDX licence texts by phrases, and custom ones by hash.

Phrases are matched against :func:`wg_license.terms.normalise` output. Custom licences are tried
first: the St. Claire License reuses the MIT grant word for word.
"""

from __future__ import annotations

from dataclasses import dataclass

from wg_license.terms import TextIdentity, identify, normalise

#: SPDX id (or id prefix, e.g. ``GPL-3.0`` for ``-only``/``-or-later``) -> (required, forbidden)
#: phrases. The GNU and Mozilla texts are told apart by their title, in the first 100 characters:
#: the GPL's body names the Lesser GPL too.
PHRASES: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("Apache-2.0", ("apache license", "version 2.0"), ()),
    ("MPL-2.0", ("mozilla public license version 2.0",), ()),
    ("LGPL-3.0", ("gnu lesser general public license", "version 3"), ()),
    ("LGPL-2.1", ("gnu lesser general public license", "version 2.1"), ()),
    ("AGPL-3.0", ("gnu affero general public license", "version 3"), ()),
    ("GPL-3.0", ("gnu general public license", "version 3"), ("lesser", "affero")),
    ("GPL-2.0", ("gnu general public license", "version 2"), ("lesser", "affero")),
    ("Unlicense", ("free and unencumbered software released into the public domain",), ()),
    (
        "ISC",
        ("permission to use, copy, modify, and/or distribute this software for any purpose",),
        (),
    ),
    ("Zlib", ("altered source versions must be plainly marked",), ()),
    ("BSD-3-Clause", ("redistribution and use in source and binary forms", "neither the name"), ()),
    ("BSD-2-Clause", ("redistribution and use in source and binary forms",), ("neither the name",)),
    (
        "MIT",
        (
            "permission is hereby granted, free of charge",
            "the above copyright notice and this permission notice shall be included",
        ),
        (),
    ),
)
_TITLED = frozenset(
    {"Apache-2.0", "MPL-2.0", "LGPL-3.0", "LGPL-2.1", "AGPL-3.0", "GPL-3.0", "GPL-2.0"}
)
_TITLE_SPAN = 100


@dataclass(frozen=True)
class Identified:
    """What a licence file is: an id (or id prefix), plus the custom-text details."""

    licence: str | None
    custom: TextIdentity


def identify_text(text: str) -> Identified:
    """Identify a licence text.

    Examples
    --------
    >>> text = ("MIT License\\n\\nPermission is hereby granted, free of charge, ... The above "
    ...         "copyright notice and this permission notice shall be included")
    >>> identify_text(text).licence
    'MIT'
    """
    folded = normalise(text)
    custom = identify(text, folded=folded)
    if custom.licence_id or custom.title_family:
        return Identified(custom.licence_id, custom)
    for licence, required, forbidden in PHRASES:
        scope = folded[:_TITLE_SPAN] if licence in _TITLED else folded
        if all(p in scope for p in required) and not any(p in scope for p in forbidden):
            return Identified(licence, custom)
    return Identified(None, custom)


def matches(identified: str, key: str) -> bool:
    """Whether an identified text covers a declared id (``GPL-3.0`` covers ``GPL-3.0-only``).

    Examples
    --------
    >>> matches("GPL-3.0", "GPL-3.0-or-later"), matches("MIT", "MIT-0")
    (True, False)
    """
    k, i = key.lower(), identified.lower()
    return k == i or k in (f"{i}-only", f"{i}-or-later", f"{i}+")


def has_fingerprint(key: str) -> bool:
    """Whether :func:`identify_text` can recognise the text of ``key`` at all."""
    return any(matches(lic, key) for lic, _, _ in PHRASES)
