from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from wg_online.learner import OnlineLearner
from wg_online.model import Model, Options
from wg_online.model_file import (
    FORMAT_VERSION,
    MAGIC,
    ModelFileError,
    check_compatible,
    load_model,
    read_header,
    save_model,
)

FIXTURES = Path(__file__).parent / "fixtures"
QUERIES = ["|a x |b y", "|a w |b y", "|a x |b z"]


def test_version_1_fixture_still_loads_and_predicts_the_same() -> None:
    # Written by wg_online 0.1.0 (format version 1); never regenerate, add model_v2.wgm instead.
    learner = OnlineLearner.load(FIXTURES / "model_v1.wgm")
    np.testing.assert_allclose(
        learner.predict_proba(QUERIES)[:, 1],
        [0.9656628966331482, 0.9149114489555359, 0.07145345211029053],
        rtol=1e-6,
    )
    opts = learner.model_.options
    assert (opts.bit_precision, opts.interactions, opts.ffm_k) == (6, ("ab",), 2)
    assert learner.model_.acc.any()  # saved with --save_resume


def test_layout_magic_version_and_aligned_arrays(tmp_path) -> None:
    path = tmp_path / "m.wgm"
    model = Model.new(Options(bit_precision=5))
    model.w[:] = np.arange(32, dtype=np.float32)
    save_model(model, path)
    raw = path.read_bytes()
    assert raw[:8] == MAGIC == b"WGONLINE"
    assert int.from_bytes(raw[8:12], "little") == FORMAT_VERSION == 1
    header, start, _ = read_header(path)
    assert start % 64 == 0
    assert [a["name"] for a in header["arrays"]] == ["w", "v"]
    assert header["options"]["bit_precision"] == 5
    w = np.frombuffer(raw, "<f4", 32, start)
    assert w.tolist() == list(range(32))
    mapped = load_model(path, mmap=True)
    assert isinstance(mapped.w, np.memmap)
    assert mapped.w.tolist() == list(range(32))


def test_save_resume_keeps_adagrad_state(tmp_path) -> None:
    lines = ["1 | a b", "-1 | c"] * 5
    learner = OnlineLearner().fit(lines)
    learner.save(tmp_path / "plain.wgm")
    learner.save(tmp_path / "resume.wgm", save_resume=True)
    assert not load_model(tmp_path / "plain.wgm").acc.any()
    np.testing.assert_array_equal(load_model(tmp_path / "resume.wgm").acc, learner.model_.acc)
    resumed = OnlineLearner.load(tmp_path / "resume.wgm").partial_fit(lines)
    learner.partial_fit(lines)
    np.testing.assert_array_equal(resumed.weights_, learner.weights_)


def test_truncated_file_is_refused(tmp_path) -> None:
    path = tmp_path / "m.wgm"
    save_model(Model.new(Options(bit_precision=8)), path)
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(ModelFileError, match=r"m.wgm is truncated: .*retrain or copy"):
        load_model(path)
    path.write_bytes(path.read_bytes()[:20])
    with pytest.raises(ModelFileError, match="header is truncated or corrupt"):
        load_model(path)


def test_other_version_and_other_files_are_refused(tmp_path) -> None:
    path = tmp_path / "m.wgm"
    save_model(Model.new(Options(bit_precision=4)), path)
    raw = bytearray(path.read_bytes())
    raw[8:12] = (7).to_bytes(4, "little")
    path.write_bytes(bytes(raw))
    with pytest.raises(
        ModelFileError, match=r"format version 7; this wg_online reads versions \[1\]"
    ):
        load_model(path)
    path.write_bytes(b"1 | a\n")
    with pytest.raises(ModelFileError, match="not a wg_online model file"):
        load_model(path)
    with pytest.raises(ModelFileError, match="cannot read model file"):
        load_model(tmp_path / "missing.wgm")


def test_mismatched_options_are_refused(tmp_path) -> None:
    model = Model.new(Options(bit_precision=4))
    with pytest.raises(ModelFileError, match=r"trained with bit_precision=4 but you asked for 5"):
        check_compatible(model, {"bit_precision": 5}, "m.wgm")
    check_compatible(model, {"bit_precision": 4}, "m.wgm")


def test_writes_are_atomic_and_leave_no_temp_files(tmp_path, monkeypatch) -> None:
    path = tmp_path / "m.wgm"
    save_model(Model.new(Options(bit_precision=4)), path)
    before = path.read_bytes()

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("os.fsync", boom)
    with pytest.raises(OSError, match="disk full"):
        save_model(Model.new(Options(bit_precision=5)), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.wgm"]
