"""FW's FFM initialisation (--ffm_init_width, --ffm_init_center, --ffm_init_zero_band)."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from click.testing import CliRunner
from wg_online.ffm_init import fw_ffm_weights, merand48
from wg_online.model import Model, Options, OptionsError, ffm_geometry
from wg_online.model_file import load_model

from wg.cli import main


def _merand48(seed: int) -> float:
    """VW's merand48 with Python integers (the definition, written out again)."""
    x = (0xEECE66D5DEECE66D * seed + 2147483647) % 2**64
    bits = ((x >> 25) & 0x7FFFFF) | 0x3F800000
    return struct.unpack("<f", struct.pack("<I", bits))[0] - 1.0


def test_merand48_reference_values() -> None:
    got = merand48(np.array([0, 1, 2**40 + 7, 2**64 - 1], np.uint64))
    assert got[0] == np.float32(7.51018524e-06)  # the merand48 crate's tests
    assert got[1] == np.float32(0.401708484)
    assert got.tolist() == [_merand48(s) for s in (0, 1, 2**40 + 7, 2**64 - 1)]


def test_width_zero_is_fws_default_formula() -> None:
    n, k = 20, 4
    want = [(_merand48(n + i) - 0.5) * (1 / 2) / 50 for i in range(n)]
    assert fw_ffm_weights(n, k, 0.0, 5.0, 0.3).tolist() == pytest.approx(want, rel=1e-6)


def test_width_band_center_and_zero_band() -> None:
    width, center, zero_band = 0.2, 0.01, 0.25
    band, gap = width * (1 - zero_band), width * zero_band / 2
    want = []
    for i in range(50):
        w = _merand48(i) * band - band / 2
        want.append((w - gap if w <= 0 else w + gap) + center)
    got = fw_ffm_weights(50, 4, width, center, zero_band)
    assert got.tolist() == pytest.approx(want, abs=1e-7)
    assert np.all(np.abs(got - center) >= gap - 1e-7)  # nothing inside the zero band


def test_model_new_uses_fws_initialiser_only_when_asked() -> None:
    base = {"ffm_k": 4, "ffm_fields": ("a", "b"), "ffm_bit_precision": 6}
    fw = Model.new(Options(**base, ffm_init_width=0.0))
    n = ffm_geometry(fw.options)[2]
    assert fw.v.tolist() == fw_ffm_weights(n, 4, 0.0, 0.0, 0.0).tolist()
    ours = Model.new(Options(**base))
    assert ours.v.min() >= 0  # wg_online's initialiser: uniform in [0, ffm_init / sqrt(k))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"ffm_init_width": -2.0}, "--ffm_init_width -2.0 is out of range"),
        ({"ffm_init_zero_band": 2.0}, "--ffm_init_zero_band 2.0 is out of range"),
        ({"ffm_init_center": float("inf")}, "--ffm_init_center inf is out of range"),
    ],
)
def test_bad_values_name_the_flag(options: dict, message: str) -> None:
    assert Options().ffm_init_width == -1.0  # unset: wg_online's initialiser
    with pytest.raises(OptionsError, match=message):
        Options(**options)


def test_cli_stores_the_flags(tmp_path) -> None:
    data = tmp_path / "d.vw"
    data.write_text("1 |a x |b y\n-1 |a z |b y\n" * 20)
    args = ["online", "train", "-d", str(data), "-f", str(tmp_path / "m.wgm"), "--quiet",
            "--ffm_k", "2", "--ffm_field", "a", "--ffm_field", "b", "--ffm_bit_precision", "6",
            "--ffm_init_width", "0.2", "--ffm_init_center", "0.01",
            "--ffm_init_zero_band", "0.25"]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    o = load_model(tmp_path / "m.wgm").options
    assert (o.ffm_init_width, o.ffm_init_center, o.ffm_init_zero_band) == (0.2, 0.01, 0.25)
    bad = CliRunner().invoke(main, [*args[:6], "--ffm_init_width=-2"])
    assert bad.exit_code == 2
    assert "Invalid value for '--ffm_init_width': -2.0 is not in the range x>=0" in bad.output
