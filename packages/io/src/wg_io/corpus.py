"""Where the shared corpus of real data lives, for tests and benchmarks.

The corpus is ``../shared/corpus`` beside the repository checkout (CI lays it there), or the folder
named by the ``WG_CORPUS`` environment variable.
"""

from __future__ import annotations

import os
from pathlib import Path

#: The environment variable that overrides the corpus location.
ENVIRONMENT_VARIABLE = "WG_CORPUS"


def corpus_dir(start: Path | None = None) -> Path:
    """Return the corpus folder (which may not exist: callers skip when it is absent).

    Looks at ``$WG_CORPUS`` first, then for ``shared/corpus`` beside each folder above ``start``
    (default: this file), so a checkout anywhere finds the ``shared/`` laid beside it.

    Examples
    --------
    >>> corpus_dir().name
    'corpus'
    """
    override = os.environ.get(ENVIRONMENT_VARIABLE)
    if override:
        return Path(override)
    here = (start or Path(__file__)).resolve()
    for folder in here.parents:
        candidate = folder.parent / "shared" / "corpus"
        if candidate.is_dir():
            return candidate
    return here.parents[len(here.parents) - 1] / "shared" / "corpus"


def corpus_path(*parts: str) -> Path:
    """Return a path inside the corpus, e.g. ``corpus_path("vw", "rcv1_small.dat")``.

    Examples
    --------
    >>> corpus_path("vw", "zero.dat").parts[-2:]
    ('vw', 'zero.dat')
    """
    return corpus_dir().joinpath(*parts)
