"""``wg online`` through the shared CLI (click's CliRunner on ``wg.cli:main``)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from wg_online.datagen import ctr
from wg_online.model_file import load_model

from wg.cli import main


@pytest.mark.parametrize(
    "args", [["online"], ["online", "train"], ["online", "predict"], ["online", "serve"]]
)
def test_help(args: list[str]) -> None:
    result = CliRunner().invoke(main, [*args, "--help"], prog_name="wg")
    assert result.exit_code == 0, result.output
    assert "Usage: wg " + " ".join(args) in result.output


def test_help_lists_vw_flag_names() -> None:
    out = CliRunner().invoke(main, ["online", "train", "--help"]).output
    for flag in (
        "-d, --data",
        "-f, --final_regressor",
        "-b, --bit_precision",
        "-q, --quadratic",
        "--ffm_k",
        "--ffm_field",
        "--passes",
        "--l2",
        "--power_t",
        "--vwcompat",
        "--save_resume",
        "--threads",
        "--skip-bad-lines",
        "--quiet",
    ):
        assert flag in out


def test_train_then_predict(tmp_path) -> None:
    data, model, preds = tmp_path / "d.vw", tmp_path / "m.wgm", tmp_path / "p.txt"
    data.write_bytes(ctr(500, seed=1).text)
    runner = CliRunner()
    result = runner.invoke(
        main,
        [
            "online",
            "train",
            "-d",
            str(data),
            "-f",
            str(model),
            "-q",
            "ab",
            "--cubic",
            "cde",
            "-b",
            "20",
            "-c",
            "--passes",
            "2",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "average  since" in result.output
    assert "number of examples = 1000" in result.output
    assert load_model(model).options.interactions == ("ab", "cde")
    assert (tmp_path / "d.vw.cache").exists()
    result = runner.invoke(
        main, ["online", "predict", "-i", str(model), "-d", str(data), "-p", str(preds), "--quiet"]
    )
    assert result.exit_code == 0, result.output
    assert result.output == ""
    values = [float(x) for x in preds.read_text().split()]
    assert len(values) == 500
    assert all(0 < v < 1 for v in values)


def test_predict_to_stdout_with_tags_and_stdin(tmp_path) -> None:
    model = tmp_path / "m.wgm"
    runner = CliRunner()
    result = runner.invoke(
        main, ["online", "train", "-d", "-", "-f", str(model), "--quiet"], input="1 | a\n-1 | b\n"
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        main,
        ["online", "predict", "-i", str(model), "-d", "-", "--quiet"],
        input="'first| a\n| b\n",
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].endswith(" first")
    assert len(lines) == 2


def test_bad_input_exit_codes(tmp_path) -> None:
    data = tmp_path / "d.vw"
    data.write_text("1 | a\n1 | a:x\n")
    runner = CliRunner()
    result = runner.invoke(main, ["online", "train", "-d", str(data), "-f", str(tmp_path / "m")])
    assert result.exit_code == 1
    assert f"Error: {data}:2: bad feature 'a:x'" in result.output
    assert not (tmp_path / "m").exists()
    result = runner.invoke(main, ["online", "train", "-d", str(data), "--skip-bad-lines"])
    assert result.exit_code == 0
    assert "skipped bad lines = 1" in result.output
    result = runner.invoke(main, ["online", "train", "-d", str(data), "--interactions", "abcd"])
    assert result.exit_code == 2
    assert "interaction 'abcd': interactions are of two or three namespace" in result.output
    result = runner.invoke(main, ["online", "predict", "-i", str(data), "-d", str(data)])
    assert result.exit_code == 1
    assert "not a wg_online model file" in result.output
    result = runner.invoke(main, ["online", "train", "-d", str(tmp_path / "none.vw")])
    assert result.exit_code == 1
    assert "cannot read data file" in result.output
    result = runner.invoke(main, ["online", "train", "-d", "-", "-c"])
    assert result.exit_code == 2
    assert "--cache_file" in result.output


def test_namespace_map_option(tmp_path) -> None:
    data, ns_map = tmp_path / "d.vw", tmp_path / "map.csv"
    data.write_text("1 |animal cat |food fish\n-1 |animal cat |food rock\n")
    ns_map.write_text("A,animal\nB,food\n")
    model = tmp_path / "m.wgm"
    args = ["online", "train", "-d", str(data), "-f", str(model), "--quiet"]
    result = CliRunner().invoke(main, [*args, "--namespace_map", str(ns_map), "-q", "AB"])
    assert result.exit_code == 0, result.output
    assert load_model(model).options.namespace_map == ("Aanimal", "Bfood")
    ns_map.write_text("A,animal\n")
    result = CliRunner().invoke(main, [*args, "--namespace_map", str(ns_map)])
    assert result.exit_code == 1
    assert "d.vw:1: undeclared namespace 'food'" in result.output


def test_continuing_with_other_options_is_refused(tmp_path) -> None:
    data, model = tmp_path / "d.vw", tmp_path / "m.wgm"
    data.write_text("1 | a\n-1 | b\n")
    runner = CliRunner()
    base = ["online", "train", "-d", str(data), "--quiet"]
    assert runner.invoke(main, [*base, "-f", str(model), "-b", "12"]).exit_code == 0
    ok = runner.invoke(main, [*base, "-i", str(model), "-b", "12", "-f", str(tmp_path / "n")])
    assert ok.exit_code == 0, ok.output
    assert load_model(tmp_path / "n").options.bit_precision == 12
    result = runner.invoke(main, [*base, "-i", str(model), "-b", "14"])
    assert result.exit_code == 1
    assert "was trained with bit_precision=12 but you asked for 14" in result.output


@pytest.mark.parametrize(("layout", "size"), [("fw", 2**10 + 2 * 4), ("blocks", 2**10 * 2 * 4)])
def test_ffm_layout_flag(tmp_path, layout: str, size: int) -> None:
    data, model = tmp_path / "d.vw", tmp_path / "m.wgm"
    data.write_bytes(ctr(200, seed=1).text)
    args = ["online", "train", "-d", str(data), "-f", str(model), "--quiet", "--ffm_k", "4"]
    args += ["--ffm_field", "a", "--ffm_field", "b", "--ffm_bit_precision", "10"]
    result = CliRunner().invoke(main, [*args, "--ffm_layout", layout])
    assert result.exit_code == 0, result.output
    loaded = load_model(model)
    assert (loaded.options.ffm_layout, loaded.v.size) == (layout, size)
    bad = CliRunner().invoke(main, [*args, "--ffm_layout", "tiles"])
    assert bad.exit_code == 2
    assert "'tiles' is not one of 'fw', 'blocks'" in bad.output


def test_deep_flags_train_and_predict(tmp_path) -> None:
    data, model, preds = tmp_path / "d.vw", tmp_path / "m.wgm", tmp_path / "p.txt"
    data.write_bytes(ctr(300, seed=1).text)
    args = ["online", "train", "-d", str(data), "-f", str(model), "--quiet", "--ffm_k", "2"]
    args += ["--ffm_field", "a", "--ffm_field", "b", "--nn_layers", "2", "--nn", "0:width:8"]
    args += ["--nn", "0:activation:relu", "--nn", "1:init:xavier", "--nn_topology", "two"]
    result = CliRunner().invoke(main, [*args, "--ffm_learning_rate", "0.05"])
    assert result.exit_code == 0, result.output
    opts = load_model(model).options
    assert (opts.nn_layers, opts.nn_topology, opts.nn_learning_rate) == (2, "two", 0.05)
    assert opts.nn == ("0:width:8", "0:activation:relu", "1:init:xavier")
    result = CliRunner().invoke(
        main, ["online", "predict", "-i", str(model), "-d", str(data), "-p", str(preds)]
    )
    assert result.exit_code == 0, result.output
    assert len(preds.read_text().splitlines()) == 300
    for flag, message in [
        (["--nn", "2:width:4"], "--nn '2:width:4': layer 2 is beyond --nn_layers 2"),
        (["--nn", "0:colour:red"], "--nn '0:colour:red': unknown key 'colour'"),
        (["--nn", "1:layernorm:middle"], "--nn '1:layernorm:middle': layernorm is one of"),
        (["--nn_topology", "six"], "--nn_topology 'six': use one of"),
    ]:
        bad = CliRunner().invoke(main, [*args, *flag])
        assert bad.exit_code == 2
        assert message in bad.output


def test_deep_training_that_leaves_a_nan_layer_weight_writes_no_model(tmp_path) -> None:
    from wg_online.model import Model, Options
    from wg_online.model_file import save_model

    data, start, out = tmp_path / "d.vw", tmp_path / "start.wgm", tmp_path / "out.wgm"
    data.write_bytes(ctr(50, seed=1).text)
    model = Model.new(Options(nn_layers=1, nn=("0:width:4",)))
    model.nn[0] = float("nan")  # a layer weight that no later step can make finite again
    save_model(model, start)
    result = CliRunner().invoke(
        main, ["online", "train", "-d", str(data), "-i", str(start), "-f", str(out), "--quiet"]
    )
    assert result.exit_code == 1
    assert f"Error: {data}: deep training made layer weights infinite or NaN by example 50" in (
        result.output
    )
    assert "lower --nn_learning_rate (0.1)" in result.output
    assert not out.exists()
