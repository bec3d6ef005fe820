from __future__ import annotations

import io

import numpy as np
import pytest
from wg_online.datagen import animals, ctr, logloss
from wg_online.learner import OnlineLearner
from wg_online.model import Model, Options, OptionsError
from wg_online.model_file import load_model
from wg_online.parsing import parse_bytes, read_cache
from wg_online.training import predict, train
from wg_online.vw_format import VWFormatError


@pytest.fixture(scope="module")
def ctr_data():
    return ctr(30000, seed=1), ctr(5000, seed=2)


def test_learns_ctr_close_to_oracle(ctr_data) -> None:
    tr, te = ctr_data
    clf = OnlineLearner().fit(tr.text.decode())
    loss = logloss(clf.predict_proba(te.text.decode())[:, 1], te.labels)
    base = logloss(np.full(len(te.labels), (tr.labels > 0).mean()), te.labels)
    assert te.oracle_logloss < loss < base - 0.05


def test_ffm_learns_the_animal_interaction_that_lr_cannot() -> None:
    tr, hard = animals(40000), animals(4000, split="hard")
    lr = OnlineLearner().fit(tr.text.decode())
    ffm = OnlineLearner(ffm_k=4, ffm_fields=("A", "B"), ffm_learning_rate=0.3, passes=3)
    ffm.fit(tr.text.decode())
    lr_loss = logloss(lr.predict_proba(hard.text.decode())[:, 1], hard.labels)
    ffm_loss = logloss(ffm.predict_proba(hard.text.decode())[:, 1], hard.labels)
    assert ffm_loss < lr_loss - 0.2


def test_hogwild_threads_within_half_percent(ctr_data) -> None:
    tr, te = ctr_data
    losses = []
    for threads in (1, 4):
        clf = OnlineLearner(threads=threads).fit(parse_bytes(tr.text))
        losses.append(logloss(clf.predict_proba(te.text.decode())[:, 1], te.labels))
    assert abs(losses[1] - losses[0]) / losses[0] < 0.005


def test_keep_ignore_and_l2() -> None:
    lines = ["1 |a x |b y", "-1 |a z |b y"] * 10
    kept = OnlineLearner(keep="a", noconstant=True).fit(lines)
    ignored = OnlineLearner(ignore="b", noconstant=True).fit(lines)
    np.testing.assert_array_equal(kept.weights_, ignored.weights_)
    plain = OnlineLearner().fit(lines)
    shrunk = OnlineLearner(l2=0.5).fit(lines)
    assert np.abs(shrunk.weights_).sum() < np.abs(plain.weights_).sum()


def test_bad_options_explain_themselves() -> None:
    with pytest.raises(OptionsError, match="two or three namespace characters"):
        Options(interactions=("abcd",))
    with pytest.raises(OptionsError, match="two or three namespace characters"):
        Options(interactions=("a",))
    with pytest.raises(OptionsError, match="--ffm_k needs"):
        Options(ffm_k=4)
    with pytest.raises(OptionsError, match="drop --l2"):
        Options(vwcompat=True, l2=0.1)
    with pytest.raises(OptionsError, match="out of range"):
        Options(bit_precision=40)
    with pytest.raises(RuntimeError, match="not fitted"):
        OnlineLearner().predict(["| a"])


def test_train_predict_cache_and_passes(tmp_path) -> None:
    data = tmp_path / "d.vw"
    data.write_bytes(ctr(3000, seed=4).text)
    model, cache = tmp_path / "m.wgm", tmp_path / "d.vw.cache"
    first = train(data, model, Options(), cache=cache, passes=2)
    assert first.examples == 6000
    assert read_cache(cache, data) is not None
    w_text = load_model(model).w.copy()
    second = train(data, model, Options(), cache=cache, passes=2)  # now read from the cache
    assert second.examples == 6000
    np.testing.assert_array_equal(load_model(model).w, w_text)
    out = io.StringIO()
    stats = predict(model, data, tmp_path / "p.txt", progress=out)
    assert stats.examples == 3000
    assert len((tmp_path / "p.txt").read_text().splitlines()) == 3000
    assert "finished run" in out.getvalue()


def test_stale_or_foreign_cache(tmp_path) -> None:
    data = tmp_path / "d.vw"
    data.write_text("1 | a\n")
    train(data, None, Options(), cache=tmp_path / "c")
    data.write_text("1 | a\n-1 | b\n")
    assert read_cache(tmp_path / "c", data) is None  # the data changed: rebuild
    (tmp_path / "c").write_bytes(b"junk")
    with pytest.raises(ValueError, match="not a wg_online cache file"):
        read_cache(tmp_path / "c", data)


def test_progress_lines_like_vw(tmp_path) -> None:
    data = tmp_path / "d.vw"
    data.write_text("1 | a b\n-1 | c\n" * 4)
    out = io.StringIO()
    train(data, None, Options(), progress=out)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("average  since")
    counters = [int(line.split()[2]) for line in lines[2:6]]
    assert counters == [1, 2, 4, 8]
    assert lines[2].split()[0] == "0.693147"
    assert "number of examples = 8" in lines


def test_bad_line_writes_no_model(tmp_path) -> None:
    data = tmp_path / "d.vw"
    data.write_text("1 | a\nmaybe | b\n")
    with pytest.raises(VWFormatError, match=r"d.vw:2: bad label 'maybe'"):
        train(data, tmp_path / "m.wgm", Options())
    assert not (tmp_path / "m.wgm").exists()
    stats = train(data, tmp_path / "m.wgm", Options(), skip_bad_lines=True)
    assert (stats.examples, stats.skipped) == (1, 1)
    assert "skipped bad lines = 1" in stats.summary()


def test_continue_training_from_model(tmp_path) -> None:
    data = tmp_path / "d.vw"
    data.write_text("1 | a\n-1 | b\n" * 3)
    train(data, tmp_path / "m1.wgm", Options(), save_resume=True)
    train(data, tmp_path / "m2.wgm", Options(), initial=tmp_path / "m1.wgm")
    assert load_model(tmp_path / "m2.wgm").examples_seen == 12


def test_partial_fit_equals_fit_on_concatenation() -> None:
    lines = ctr(200, seed=5).lines()
    whole = OnlineLearner().fit(lines)
    parts = OnlineLearner().partial_fit(lines[:77]).partial_fit(lines[77:])
    np.testing.assert_array_equal(whole.weights_, parts.weights_)
    assert OnlineLearner(passes=2).get_params()["passes"] == 2
    assert isinstance(Model.new(Options()).tables()["pairs"], np.ndarray)
