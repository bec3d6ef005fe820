from __future__ import annotations

from pathlib import Path

import pytest
from wg_io.corpus import corpus_dir


@pytest.fixture
def vw_corpus() -> Path:
    folder = corpus_dir() / "vw"
    if not folder.is_dir():
        pytest.skip(f"VW corpus not found at {folder} (set WG_CORPUS to ../shared/corpus)")
    return folder
