"""Shared fixtures: the toy suites folder and a run of it, done once for the whole test session."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from wg_bench.discovery import discover
from wg_bench.plan import Settings
from wg_bench.runner import RunOutcome, run

TOY = Path(__file__).resolve().parent / "suites"


@pytest.fixture(scope="session")
def toy_dir() -> Path:
    return TOY


@pytest.fixture(scope="session")
def toy_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[RunOutcome, dict[str, Any], Path]:
    """One quick run of toy.Sum and toy.Failing (every failure mode), shared by many tests."""
    out = tmp_path_factory.mktemp("toy-run")
    settings = Settings.for_run(True, min_time=0.01)
    outcome = run(discover(TOY, ["toy"]), settings, json_path=out / "r.json",
                  history=out / "history")  # fmt: skip
    return outcome, json.loads((out / "r.json").read_text()), out
