"""FW's --holdout_after, --predictions_after and --prediction_model_delay."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner
from wg_online.datagen import ctr
from wg_online.model import Model, Options
from wg_online.model_file import load_model
from wg_online.parsing import parse_lines
from wg_online.schedule import Schedule, ScheduleError, take
from wg_online.training import train

from wg.cli import main

OPTS = Options(bit_precision=12, interactions=("ab",), learning_rate=0.3)


@pytest.fixture
def data(tmp_path):
    lines = ctr(40, seed=3, vocab=20).lines()
    path = tmp_path / "d.vw"
    path.write_text("\n".join(lines) + "\n")
    return path, parse_lines(lines)


def _trained_on(parsed, n: int) -> Model:
    model = Model.new(OPTS)
    if n > 0:
        model.run(take(parsed, 0, n), learn=True)
    return model


def test_holdout_after_learns_only_examples_before_n(data, tmp_path) -> None:
    path, parsed = data
    preds = tmp_path / "p.txt"
    train(path, tmp_path / "m.wgm", OPTS, predictions=preds, schedule=Schedule(holdout_after=25))
    got = load_model(tmp_path / "m.wgm")
    ref = _trained_on(parsed, 24)  # examples 1..24 are n < 25
    assert np.array_equal(got.w, ref.w)
    held = ref.run(take(parsed, 24, 40), learn=False)[0]
    assert np.loadtxt(preds)[24:] == pytest.approx(held, abs=1e-6)


def test_predictions_after_writes_the_tail(data, tmp_path) -> None:
    path, _ = data
    train(path, None, OPTS, predictions=tmp_path / "all.txt")
    train(path, None, OPTS, predictions=tmp_path / "t.txt", schedule=Schedule(predictions_after=30))
    assert np.loadtxt(tmp_path / "t.txt").tolist() == np.loadtxt(tmp_path / "all.txt")[30:].tolist()


@pytest.mark.parametrize("delay", [1, 3])
def test_prediction_model_delay(data, tmp_path, delay: int) -> None:
    path, parsed = data
    preds = tmp_path / "p.txt"
    sched = Schedule(prediction_model_delay=delay, holdout_after=5)  # holdout is ignored
    train(path, tmp_path / "m.wgm", OPTS, predictions=preds, schedule=sched)
    got = np.loadtxt(preds)
    for n in range(1, 41):  # example n is predicted by the model of examples 1..n-D-1
        model = _trained_on(parsed, max(n - delay - 1, 0))
        want = model.run(take(parsed, n - 1, n), learn=False)[0][0]
        assert got[n - 1] == pytest.approx(want, abs=1e-6), n
    assert np.array_equal(load_model(tmp_path / "m.wgm").w, _trained_on(parsed, 40 - delay).w)


def test_schedule_refuses_negative_and_vwcompat(data) -> None:
    with pytest.raises(ScheduleError, match=r"--holdout_after -1: use a whole number >= 0"):
        Schedule(holdout_after=-1)
    result = CliRunner().invoke(
        main, ["online", "train", "-d", str(data[0]), "--vwcompat", "--holdout_after", "3"]
    )
    assert result.exit_code == 1
    assert "--holdout_after, --predictions_after and --prediction_model_delay are FW's" in (
        result.output
    )


def test_cli_flags_and_minimum_learning_rate(data, tmp_path) -> None:
    args = ["online", "train", "-d", str(data[0]), "-f", str(tmp_path / "m.wgm"), "--quiet",
            "-b", "12", "-q", "ab", "-l", "0.3", "--minimum_learning_rate", "0.01",
            "--predictions_after", "38", "-p", str(tmp_path / "p.txt")]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert len(np.loadtxt(tmp_path / "p.txt")) == 2
    model = load_model(tmp_path / "m.wgm")
    assert model.options.minimum_learning_rate == 0.01
    # as in FW, no optimizer reads it: the weights are those of a run without it
    assert np.array_equal(model.w, _trained_on(data[1], 40).w)
