"""Shared fixtures of the wg-meetings tests: the corpus folder and a group config on disk."""

from __future__ import annotations

from pathlib import Path

import pytest
from wg_io.corpus import corpus_dir

CORPUS = corpus_dir() / "rust-ml-meetings"

CONFIG = """\
group: Test WG
title: "{group} Meeting {number}"
number_width: 5
notes: notes
schedule:
  weekday: wednesday
  time: "17:00"
  timezone: Europe/Berlin
  every_weeks: 2
  first: 2027-03-10
  duration_minutes: 90
  cancelled: [2027-04-07]
roster:
  - name: Ada Lovelace
    github: ada
  - name: Grace
video: https://meet.example.org/test-wg
"""


@pytest.fixture
def corpus() -> Path:
    """The 36 Rust ML WG notes; tests using it skip when the shared corpus is absent."""
    if not CORPUS.is_dir():
        pytest.skip(f"the shared corpus is absent ({CORPUS}); set WG_CORPUS to its folder")
    return CORPUS


@pytest.fixture
def group(tmp_path: Path) -> Path:
    """A group folder with wg.yaml and an empty notes/ folder; returns the wg.yaml path."""
    (tmp_path / "notes").mkdir()
    config = tmp_path / "wg.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    return config
