"""Inference models: --convert_inference_regressor and FW's --weight_quantization."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from wg_online.datagen import ctr
from wg_online.inference import BUCKETS, ConversionError, convert, dequantize, quantize
from wg_online.model_file import ModelFileError, load_model
from wg_online.parsing import parse_lines
from wg_online.serve import ModelHolder

from wg.cli import main


def test_quantize_fw_vector() -> None:
    # FW quantization.rs: min 0.11, max 0.6123, round trip with sum |error| < 1e-4
    w = np.array([0.51, 0.12, 0.11, 0.1232, 0.6123, 0.23], np.float32)
    low, inc, idx = quantize(w)
    assert low == pytest.approx(0.11)
    assert inc == pytest.approx((0.6123 - 0.11) / BUCKETS)
    assert idx.dtype == np.dtype("<f2")
    assert idx.nbytes == 12
    back = dequantize(low, inc, idx)
    assert 0 < float(np.abs(back - w).sum()) < 1e-4
    assert int((back == w).sum()) >= 1  # the minimum is exact
    wide = np.array([-1e9, 1e9], np.float32)
    assert dequantize(*quantize(wide)) == pytest.approx(wide, rel=0.1)


def test_quantize_rounds_halves_away_and_keeps_equal_weights() -> None:
    # index 2.5 rounds to 3 as in Rust (NumPy's rint would give 2)
    w = np.array([0.0, 1.0, 2.5 / BUCKETS], np.float32)
    assert float(quantize(w)[2][2]) == 3.0
    same = np.full(4, 0.25, np.float32)
    assert dequantize(*quantize(same)).tolist() == same.tolist()


@pytest.fixture
def trained(tmp_path):
    data = tmp_path / "d.vw"
    data.write_bytes(ctr(4000, seed=5).text)
    test = tmp_path / "t.vw"
    test.write_bytes(ctr(500, seed=6).text)
    model = tmp_path / "full.wgm"
    args = ["online", "train", "-d", str(data), "-f", str(model), "--save_resume", "--quiet",
            "-b", "16", "--ffm_k", "4", "--ffm_bit_precision", "16",
            "--ffm_field", "a", "--ffm_field", "b", "--ffm_field", "c"]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    return model, test


def _predict(model, test, out) -> np.ndarray:
    args = ["online", "predict", "-i", str(model), "-d", str(test), "-p", str(out), "--quiet"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    return np.loadtxt(out)


def test_inference_model_is_half_the_size_and_predicts_identically(trained, tmp_path) -> None:
    model, test = trained
    out = tmp_path / "inf.wgm"
    args = ["online", "convert", "-i", str(model), "--convert_inference_regressor", str(out)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    ratio = out.stat().st_size / model.stat().st_size
    assert 0.45 < ratio < 0.55, ratio
    full, inf = _predict(model, test, tmp_path / "a.txt"), _predict(out, test, tmp_path / "b.txt")
    assert full.tolist() == inf.tolist()
    loaded = load_model(out)
    assert loaded.inference
    assert not loaded.acc.any()


def test_quantized_model_predicts_within_1e3(trained, tmp_path) -> None:
    model, test = trained
    out = tmp_path / "q.wgm"
    convert(model, out, quantized=True)
    full = load_model(model)
    quant = load_model(out)
    header = json.loads(out.read_bytes()[32:].split(b"\0")[0])
    assert header["quantization"]["array"] == "v"
    assert header["inference"] is True
    assert [a["dtype"] for a in header["arrays"]] == ["<f4", "<f2"]
    # half a bucket of rounding, and up to 16 more where a half-float spaces indices by 32
    assert np.abs(quant.v - full.v).max() <= 16.5 * header["quantization"]["inc"] + 1e-6
    assert np.array_equal(quant.w, full.w)
    a, b = _predict(model, test, tmp_path / "a.txt"), _predict(out, test, tmp_path / "b.txt")
    assert np.abs(a - b).max() < 1e-3
    # the FFM weights take 2 bytes instead of 8 (weight and sum) of the --save_resume model
    assert out.stat().st_size < model.stat().st_size - 6 * full.v.size - 4 * full.w.size + 256
    line = test.read_text().splitlines()[0].encode()
    assert abs(float(ModelHolder(out).answer(line)) - float(ModelHolder(model).answer(line))) < 1e-3


def test_inference_models_refuse_training_and_reconversion(trained, tmp_path) -> None:
    model, test = trained
    out = tmp_path / "q.wgm"
    convert(model, out, quantized=True)
    args = ["online", "train", "-d", str(test), "-i", str(out), "-f", str(tmp_path / "n.wgm")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1
    assert f"{out} is an inference model (--convert_inference_regressor)" in result.output
    with pytest.raises(ConversionError, match="holds quantized weights"):
        convert(out, tmp_path / "again.wgm")
    loaded, example = load_model(out), parse_lines(["1 |a x"])
    with pytest.raises(ValueError, match="cannot be trained"):
        loaded.run(example, learn=True)


def test_quantization_header_is_checked(trained, tmp_path) -> None:
    model, _ = trained
    out = tmp_path / "q.wgm"
    convert(model, out, quantized=True)
    raw = bytearray(out.read_bytes())
    start = raw.index(b'"inference": true')
    raw[start : start + len(b'"inference": true')] = b'"inference": 1111'
    bad = tmp_path / "bad.wgm"
    bad.write_bytes(bytes(raw))
    with pytest.raises(ModelFileError, match="'inference' is not of type bool"):
        load_model(bad, verify=False)
