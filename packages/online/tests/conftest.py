from __future__ import annotations

import os
from pathlib import Path

import pytest

CORPUS = Path(
    os.environ.get("WG_CORPUS", Path(__file__).resolve().parents[3] / ".." / "shared" / "corpus")
)


@pytest.fixture
def vw_corpus() -> Path:
    folder = CORPUS / "vw"
    if not folder.is_dir():
        pytest.skip(f"VW corpus not found at {folder} (set WG_CORPUS to ../shared/corpus)")
    return folder
