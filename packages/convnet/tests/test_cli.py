"""`wg convnet` through the shared CLI, with click's CliRunner."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from wg_convnet import Sequential
from wg_convnet.datasets.remote import REMOTE

from wg.cli import main


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("WG_CONVNET_CACHE", str(tmp_path / "cache"))
    return CliRunner()


@pytest.mark.parametrize(
    "args",
    [
        ["convnet", "--help"],
        ["convnet", "train", "--help"],
        ["convnet", "datasets", "--help"],
        ["convnet", "datasets", "list", "--help"],
        ["convnet", "datasets", "fetch", "--help"],
        ["convnet", "datasets", "verify", "--help"],
    ],
)
def test_help_of_every_command(runner: CliRunner, args: list[str]) -> None:
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "Usage: main " + " ".join(args[:-1]) in result.output


def test_train_lines_writes_json_and_model(runner: CliRunner, tmp_path: Path) -> None:
    out, model = tmp_path / "out" / "run.json", tmp_path / "lines.wgc"
    result = runner.invoke(
        main,
        ["convnet", "train", "--dataset", "lines", "--epochs", "2", "--quiet",
         "--json", str(out), "--save", str(model)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.output.startswith("lines: test accuracy ")
    summary = json.loads(out.read_text())
    assert summary["dataset"] == "lines"
    assert len(summary["history"]) == 2
    assert summary["test_accuracy"] >= 0.99
    assert Sequential.load(model).predict(np.zeros((1, 1, 16, 16), np.float32)).shape == (1,)


def test_train_lines_on_two_threads(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "run.json"
    args = ["convnet", "train", "--dataset", "lines", "--epochs", "2", "--quiet", "--threads", "2"]
    result = runner.invoke(main, [*args, "--json", str(out)])
    assert result.exit_code == 0, result.output
    summary = json.loads(out.read_text())
    assert summary["threads"] == 2
    assert summary["test_accuracy"] >= 0.99


def test_train_zero_threads_is_a_usage_error(runner: CliRunner) -> None:
    result = runner.invoke(
        main, ["convnet", "train", "--dataset", "lines", "--epochs", "1", "--threads", "0"]
    )
    assert result.exit_code == 2
    assert "--threads" in result.output


def test_train_unknown_dataset_is_a_usage_error(runner: CliRunner) -> None:
    result = runner.invoke(main, ["convnet", "train", "--dataset", "mnits", "--epochs", "1"])
    assert result.exit_code == 2
    assert "Invalid value for '--dataset': 'mnits' is not one of" in result.output


def test_train_uncached_dataset_says_how_to_fetch(runner: CliRunner) -> None:
    result = runner.invoke(main, ["convnet", "train", "--dataset", "mnist", "--epochs", "1"])
    assert result.exit_code == 1
    assert "run `wg convnet datasets fetch mnist`" in result.output


def test_datasets_list_shows_every_dataset(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(main, ["convnet", "datasets", "list"])
    assert result.exit_code == 0
    assert f"cache: {tmp_path / 'cache'}" in result.output
    for name in ("lines", "digits", "mnist", "fashion-mnist", "cifar10"):
        assert name in result.output
    assert "not cached" in result.output


def test_fetch_from_folder_with_wrong_files_fails_cleanly(
    runner: CliRunner, tmp_path: Path
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    for f in REMOTE["mnist"].files:
        (src / f.name).write_bytes(gzip.compress(b"not mnist"))
    result = runner.invoke(main, ["convnet", "datasets", "fetch", "mnist", "--from", str(src)])
    assert result.exit_code == 1
    assert "does not match the expected" in result.output
    assert not (tmp_path / "cache" / "mnist").exists()


def test_verify_reports_missing_files(runner: CliRunner) -> None:
    result = runner.invoke(main, ["convnet", "datasets", "verify", "fashion-mnist"])
    assert result.exit_code == 1
    assert "train-images-idx3-ubyte.gz: missing" in result.output
    assert "run `wg convnet datasets fetch fashion-mnist`" in result.output
