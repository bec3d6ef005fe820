from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from wg_io.checksum import digest
from wg_io.output import OutputError
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
    assert opts.ffm_layout == "blocks"  # format 1 predates FW's shared FFM table
    assert learner.model_.v.size == (1 << opts.ffm_bit_precision) * len(opts.ffm_fields) * 2


def test_version_1_model_saved_again_keeps_its_layout(tmp_path) -> None:
    learner = OnlineLearner.load(FIXTURES / "model_v1.wgm")
    learner.save(tmp_path / "again.wgm")
    assert read_header(tmp_path / "again.wgm")[0]["options"]["ffm_layout"] == "blocks"
    again = OnlineLearner.load(tmp_path / "again.wgm")
    np.testing.assert_array_equal(again.predict_proba(QUERIES), learner.predict_proba(QUERIES))


def fixture_predicts(name: str, queries: list[str], expected: list[float]) -> OnlineLearner:
    """The learner of fixture ``name``, after checking its probabilities on ``queries``."""
    learner = OnlineLearner.load(FIXTURES / name)
    np.testing.assert_allclose(learner.predict_proba(queries)[:, 1], expected, rtol=1e-6)
    return learner


#: Examples over five namespaces with names the fixtures' training data used.
FIVE_FIELDS = [
    "-1 |a a3 |b b2 |c c7 |d d1 |e e4",
    "1 |a a0 |b b3 |c c1 |d d0 |e e5",
    "-1 |a a12 |b b7 |c c16 |d d6 |e e0",
]


def test_version_2_fixture_still_loads_and_predicts_the_same() -> None:
    # Written by wg_online 0.2.0 (format version 2, FW's FFM table); never regenerate.
    queries = [
        "-1 |a a36 |b b20 |c c7 |d d1 |e e48",
        "-1 |a a0 |b b3 |c c1 |d d0 |e e543",
        "-1 |a a12 |b b798 |c c716 |d d36 |e e0",
    ]
    expected = [0.4147305488586426, 0.23199695348739624, 0.14933107793331146]
    learner = fixture_predicts("model_v2.wgm", queries, expected)
    opts = learner.model_.options
    assert (opts.ffm_k, opts.ffm_fields, opts.ffm_layout) == (2, ("a", "bc"), "fw")
    assert learner.model_.v.size == 2**5 + 2 * 2


def test_version_3_fixture_still_loads_and_predicts_the_same() -> None:
    # Written by wg_online before deep models (format version 3, checksummed); never regenerate.
    expected = [0.26954153180122375, 0.05106785520911217, 0.7338885068893433]
    learner = fixture_predicts("model_v3.wgm", FIVE_FIELDS, expected)
    opts = learner.model_.options
    assert (opts.interactions, opts.ffm_k, opts.ffm_fields) == (("cd",), 2, ("a", "bc"))
    assert learner.model_.acc.any()  # saved with --save_resume
    assert learner.model_.vacc.any()


def test_version_4_deep_fixture_still_loads_and_predicts_the_same() -> None:
    # Written by the first wg_online with deep models (format version 4); never regenerate.
    expected = [0.2739637792110443, 0.10213526338338852, 0.19778414070606232]
    learner = fixture_predicts("model_v4.wgm", FIVE_FIELDS, expected)
    opts = learner.model_.options
    assert (opts.nn_layers, opts.nn_topology) == (2, "one")
    assert opts.nn == ("0:width:4", "0:activation:relu", "1:width:3", "1:layernorm:after")
    assert read_header(FIXTURES / "model_v4.wgm")[0]["graph"]["weights"] == learner.model_.nn.size
    assert learner.model_.nnacc.any()  # saved with --save_resume


def test_ffm_weights_that_do_not_match_the_options_are_refused(tmp_path) -> None:
    path = tmp_path / "m.wgm"
    save_model(Model.new(Options(ffm_k=2, ffm_fields=("a", "b"), ffm_bit_precision=6)), path)
    raw = path.read_bytes().replace(b'"ffm_bit_precision": 6', b'"ffm_bit_precision": 7')
    path.write_bytes(raw)
    with pytest.raises(ModelFileError, match=r"checksum mismatch"):
        load_model(path)
    with pytest.raises(ModelFileError, match=r"68 FFM weights do not match --ffm_k 2, 2 fields"):
        load_model(path, verify=False)


def test_layout_magic_version_and_aligned_arrays(tmp_path) -> None:
    path = tmp_path / "m.wgm"
    model = Model.new(Options(bit_precision=5))
    model.w[:] = np.arange(32, dtype=np.float32)
    save_model(model, path)
    raw = path.read_bytes()
    assert raw[:8] == MAGIC == b"WGONLINE"
    assert int.from_bytes(raw[8:12], "little") == FORMAT_VERSION == 4
    assert raw[16:32] == digest([raw[32:]]).encode()
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
    with pytest.raises(ModelFileError, match=r"m.wgm: checksum mismatch"):
        load_model(path)
    with pytest.raises(ModelFileError, match=r"m.wgm: truncated: .*needs .*copy the file again"):
        load_model(path, verify=False)
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(ModelFileError, match=r"header length .* does not fit in 40 bytes"):
        load_model(path)


def test_other_version_and_other_files_are_refused(tmp_path) -> None:
    path = tmp_path / "m.wgm"
    save_model(Model.new(Options(bit_precision=4)), path)
    raw = bytearray(path.read_bytes())
    raw[8:12] = (7).to_bytes(4, "little")
    path.write_bytes(bytes(raw))
    with pytest.raises(
        ModelFileError, match=r"format version 7; this wg_online reads versions \[1, 2, 3, 4\]"
    ):
        load_model(path)
    path.write_bytes(b"1 | a\n")
    with pytest.raises(ModelFileError, match="not a wg_online model file"):
        load_model(path)
    with pytest.raises(ModelFileError, match="cannot read model file"):
        load_model(tmp_path / "missing.wgm")


def test_a_reader_of_versions_1_to_3_names_version_4(tmp_path, monkeypatch) -> None:
    from wg_online import model_file

    path = tmp_path / "m.wgm"
    save_model(Model.new(Options(bit_precision=4)), path)
    monkeypatch.setattr(model_file, "SUPPORTED_VERSIONS", (1, 2, 3))
    with pytest.raises(
        ModelFileError,
        match=r"m.wgm: model format version 4; this wg_online reads versions \[1, 2, 3\]; "
        "upgrade wg_online",
    ):
        load_model(path)


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
    with pytest.raises(OutputError, match=r"cannot write .*m.wgm: disk full$"):
        save_model(Model.new(Options(bit_precision=5)), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.wgm"]
