from __future__ import annotations

import io

import numpy as np
import pytest
from wg_online.datagen import animals, ctr, logloss
from wg_online.learner import OnlineLearner
from wg_online.model import Model, Options, OptionsError, ffm_geometry
from wg_online.model_file import load_model
from wg_online.parsing import parse_bytes, read_cache
from wg_online.training import fixed6_lines, predict, train
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


def test_hogwild_threads_within_one_percent(ctr_data) -> None:
    tr, te = ctr_data
    losses = []
    for threads in (1, 4):
        clf = OnlineLearner(threads=threads).fit(parse_bytes(tr.text))
        losses.append(logloss(clf.predict_proba(te.text.decode())[:, 1], te.labels))
    # Hogwild updates race by design, so the loss moves with the threads' interleaving: on a
    # loaded 2-core machine 4 threads differed by 0.1-0.5% from one. A lost or doubled update
    # stream would differ by far more than 1%.
    assert abs(losses[1] - losses[0]) / losses[0] < 0.01


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
    with pytest.raises(
        OptionsError, match=r"^--ffm_k with --vwcompat: VW has no FFM; drop --ffm_k$"
    ):
        Options(vwcompat=True, ffm_k=2, ffm_fields=("a",))
    assert Options(vwcompat=True, l2=0.1).l2 == 0.1  # as `wg online train --vwcompat --l2 0.1`
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


def test_fixed6_lines_match_python_formatting() -> None:
    rng = np.random.default_rng(3)
    odd_128ths = np.arange(1, 128, 2) / 128  # the float32 values exactly halfway between digits
    edges = [0.0, 1.0, 0.5, 1e-7, 4.9999997e-07, 5e-07, np.nextafter(1, 0), 0.9999995]
    probs = np.concatenate([rng.random(20_000), odd_128ths, edges]).astype(np.float32)
    want = "".join(f"{float(p):.6f}\n" for p in probs).encode()
    assert fixed6_lines(probs) == want
    assert fixed6_lines(np.array([0.5, np.nan], np.float32)) is None
    assert fixed6_lines(np.array([1.5], np.float32)) is None
    assert fixed6_lines(np.array([0.5])) is None  # float64: not exact after scaling


def test_predictions_file_keeps_tags_and_formats_alike(tmp_path) -> None:
    train_path, test_path = tmp_path / "train.vw", tmp_path / "test.vw"
    train_path.write_bytes(ctr(500, seed=1).text)
    test_path.write_text("1 first|a a1 |b b2\n-1 |a a3\n1 'second|a a1\n")
    train(train_path, tmp_path / "m.wgm", Options(bit_precision=12))
    predict(tmp_path / "m.wgm", test_path, tmp_path / "tagged")
    predict(tmp_path / "m.wgm", tmp_path / "train.vw", tmp_path / "plain")
    tagged = (tmp_path / "tagged").read_text().splitlines()
    assert [line.split(" ")[1:] for line in tagged] == [["first"], [], ["second"]]
    plain = (tmp_path / "plain").read_text().splitlines()
    assert len(plain) == 500
    assert all(len(line) == 8 and line[1] == "." for line in plain)


def _reference_run(data, o: Options) -> np.ndarray:
    """Progressive predictions of LR + FFM with AdaGrad, written from the definitions in float64:
    score = sum w_j x_j + sum over pairs a < b of <v[a, field b], v[b, field a]> x_a x_b."""
    mask, (fmask, fstride, _), kk = (1 << o.bit_precision) - 1, ffm_geometry(o), o.ffm_k
    field = {ord(ch): f for f, chars in enumerate(o.ffm_fields) for ch in chars}
    w, acc = np.zeros(mask + 1), np.zeros(mask + 1)
    v = Model.new(o).v.astype(np.float64)
    vacc = np.full_like(v, o.ffm_init_acc_gradient)  # FW's AdagradFlex starts at init_acc
    preds = []
    for i, label in enumerate(data.labels):
        ts = range(data.offsets[i], data.offsets[i + 1])
        lin = [(int(data.idx[t]) & mask, float(data.val[t])) for t in ts]
        lin.append((11650396 & mask, 1.0))
        ffm = [
            ((int(data.idx[t]) & fmask) * fstride, field[data.ns[t]], float(data.val[t]))
            for t in ts
            if data.ns[t] in field
        ]
        score, grads = sum(w[j] * x for j, x in lin), {}
        for a, (base_a, field_a, xa) in enumerate(ffm):
            for base_b, field_b, xb in ffm[a + 1 :]:
                ia, ib = base_a + field_b * kk, base_b + field_a * kk
                score += xa * xb * float(v[ia : ia + kk] @ v[ib : ib + kk])
                for c in range(kk):
                    grads[ia + c] = grads.get(ia + c, 0.0) + xa * xb * v[ib + c]
                    grads[ib + c] = grads.get(ib + c, 0.0) + xa * xb * v[ia + c]
        score = min(max(score, -50.0), 50.0)
        preds.append(1 / (1 + np.exp(-score)))
        y = 1.0 if label > 0 else -1.0
        d = -y / (1 + np.exp(y * score))
        for j, x in lin:
            acc[j] += d * d * x * x
        for j, x in lin:
            w[j] -= o.learning_rate * d * x / np.sqrt(acc[j])
        for j, g in grads.items():
            vacc[j] += (d * g) ** 2
            v[j] -= o.ffm_learning_rate * d * g / np.sqrt(max(vacc[j], 1e-30))
    return np.array(preds)


@pytest.mark.parametrize(
    ("fields", "layout", "init_acc"),
    [
        (("a", "b", "c", "d"), "blocks", 0.0),  # one feature per field: the pair-by-pair step
        (("a", "b", "c", "d"), "fw", 0.0),
        (("ab", "cd", "e"), "blocks", 0.0),  # two features in a field: the gradient-buffer step
        (("ab", "cd", "e"), "fw", 0.0),
        (("ab", "cd", "e"), "fw", 0.25),  # --ffm_init_acc_gradient: the sums start there
    ],
)
def test_ffm_training_matches_a_float64_reference(fields, layout, init_acc) -> None:
    data = parse_bytes(ctr(400, seed=4).text)
    o = Options(
        bit_precision=16, ffm_k=3, ffm_fields=fields, ffm_bit_precision=16, ffm_layout=layout,
        ffm_init_acc_gradient=init_acc,
    )  # fmt: skip
    model = Model.new(o)
    got, _, _ = model.run(data, True)
    # FW's blocks overlap: a weight in two features' blocks gets two AdaGrad steps, not one
    # step of the summed gradient as in the reference (float32 drift alone stays below 2e-5)
    np.testing.assert_allclose(
        got, _reference_run(data, o), atol=2e-5 if layout == "blocks" else 1e-4
    )


def test_ffm_init_acc_gradient_is_kept_in_the_model(tmp_path) -> None:
    data = ctr(50, seed=3).text
    (tmp_path / "d.vw").write_bytes(data)
    o = Options(bit_precision=8, ffm_k=2, ffm_fields=("a", "b"), ffm_bit_precision=8,
                ffm_init_acc_gradient=3.0)  # fmt: skip
    assert np.all(Model.new(o).vacc == np.float32(3.0))
    train(tmp_path / "d.vw", tmp_path / "m.wgm", o)
    loaded = load_model(tmp_path / "m.wgm")  # no --save_resume: the sums restart at the option
    assert loaded.options.ffm_init_acc_gradient == 3.0
    assert np.all(loaded.vacc == np.float32(3.0))
    with pytest.raises(OptionsError, match="--ffm_init_acc_gradient"):
        Options(ffm_init_acc_gradient=-1.0)


def test_warm_up_tells_when_it_compiles(monkeypatch) -> None:
    import time

    from wg_online import training

    assert training.warm_up(None) < 5  # the kernels load (or compile once) and run

    def slow_train(*args, **kwargs):
        time.sleep(0.3)  # what a cold numba cache looks like from outside

    monkeypatch.setattr(training, "train", slow_train)
    out = io.StringIO()
    training.warm_up(out, after=0.05)
    assert out.getvalue() == training.COMPILING + "\n"
    quick = io.StringIO()
    training.warm_up(quick, after=5.0)
    assert quick.getvalue() == ""


@pytest.mark.corpus
def test_large_learning_rate_keeps_weights_finite(vw_corpus, tmp_path) -> None:
    # -l 10 on rcv1 once wrote a model whose every prediction was NaN: a confidently right
    # example's squared gradient underflowed to 0, so a fresh feature's rate was inf.
    # VW's loss gate (no step once the float32 loss is 0) never takes that step.
    model = tmp_path / "m.wgm"
    train(vw_corpus / "rcv1_small.dat", model, Options(learning_rate=10.0))
    assert np.isfinite(load_model(model).w).all()
    preds = tmp_path / "p.txt"
    predict(model, vw_corpus / "rcv1_small.dat", preds)
    values = np.loadtxt(preds)
    assert values.shape == (1000,)
    assert np.isfinite(values).all()
