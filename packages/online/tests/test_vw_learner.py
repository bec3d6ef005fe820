"""--vwcompat is Vowpal Wabbit's own learner: VW's flags, defaults and predictions.

The worked examples are the ``vowpalwabbit`` wheel's full-precision predictions from
``../shared/research/vw-exact-learner.md`` (section 9); the acceptance tables compare each
example's prediction with the wheel's, run one example at a time through its Python API.
"""

from __future__ import annotations

import itertools
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from wg_online.datagen import ctr
from wg_online.learner import OnlineLearner
from wg_online.model import Model, Options, OptionsError
from wg_online.model_file import load_model
from wg_online.parsing import parse_bytes
from wg_online.vw_format import VWFormatError
from wg_online.vw_learner import VWFlags, VWLearner, parse_vw

from wg.cli import main

D6 = (
    b"1 |user u0 |ad a1\n-1 |user u43 |ad a0\n1 |user u7 |ad a1\n"
    b"-1 |user u0 |ad a0\n1 |user u43 |ad a1\n-1 |user u7 |ad a1\n"
)
DV4 = (
    b"1 |user u0 |ad a1 |num len:2.5\n-1 |user u43 |ad a0 |num len:0.5\n"
    b"1 |user u0 |ad a0 |num len:4\n-1 0.5 |user u7 |ad a1 |num len:1\n"
)

MODES = {
    "": {},
    "--sgd": {"sgd": True},
    "--adaptive": {"adaptive": True},
    "--normalized": {"normalized": True},
    "--invariant": {"invariant": True},
    "--adaptive --normalized": {"adaptive": True, "normalized": True},
    "--adaptive --invariant": {"adaptive": True, "invariant": True},
    "--normalized --invariant": {"normalized": True, "invariant": True},
    "--adaptive --normalized --invariant": {
        "adaptive": True,
        "normalized": True,
        "invariant": True,
    },
    "--adaptive --sgd": {"adaptive": True, "sgd": True},
}
RATES = (0.05, 0.5, 10.0)


def margins(text: bytes, flags: VWFlags, **options) -> np.ndarray:
    learner = VWLearner(Options(vwcompat=True, **options), flags)
    out, _, bad = learner.run(parse_vw(text)[0])
    assert bad == -1
    return out.astype(np.float64)


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (VWFlags(), [0, 0.235351726, 0.289427608, 0.167434976, 0.1914372, 0.927806914]),
        (
            VWFlags(adaptive=True, sgd=True),
            [0, 10, 11.055809, 1.05595028, -4.47311354, 30.3828621],
        ),
        (
            VWFlags(learning_rate=10),
            [0, 1.15701127, 1.1245811, 0.0954867005, -0.0462183356, 4.80073595],
        ),
        (VWFlags(sgd=True), [0, 3.53553391, 1.46105909, -3.20742273, -2.43980551, 11.6219711]),
    ],
)
def test_worked_example_d6(flags: VWFlags, expected: list[float]) -> None:
    np.testing.assert_allclose(margins(D6, flags), expected, rtol=2e-7, atol=0)


def test_worked_example_with_values_and_importance() -> None:
    np.testing.assert_allclose(
        margins(DV4, VWFlags()), [0, 0.237616718, 0.237479687, 0.418844938], rtol=2e-7
    )
    np.testing.assert_allclose(
        margins(DV4, VWFlags(sgd=True)), [0, 7.95495129, 19.3404999, 7.25268745], rtol=2e-7
    )


@pytest.mark.parametrize(
    ("flags", "eta"),
    [
        (VWFlags(), 0.5),
        (VWFlags(sgd=True), 10.0),
        (VWFlags(adaptive=True), 10.0),
        (VWFlags(adaptive=True, sgd=True), 10.0),
        (VWFlags(normalized=True), 10.0),
        (VWFlags(invariant=True), 10.0),
        (VWFlags(adaptive=True, normalized=True), 0.5),
        (VWFlags(adaptive=True, invariant=True), 10.0),
        (VWFlags(normalized=True, invariant=True), 10.0),
        (VWFlags(sgd=True, learning_rate=3, initial_t=4), 6.0),
        (VWFlags(sgd=True, learning_rate=0.05), np.float32(0.05)),
    ],
)
def test_vw_default_learning_rates(flags: VWFlags, eta: float) -> None:
    assert flags.eta == pytest.approx(float(eta), rel=1e-7)


def test_zero_loss_skips_the_update() -> None:
    # p = 20 is confidently right: the float32 loss is 0 and VW leaves w and G alone
    learner = VWLearner(Options(vwcompat=True), VWFlags(adaptive=True, sgd=True, learning_rate=20))
    learner.run(parse_vw(b"1 |a x\n1 |a x\n")[0])
    before = learner.w.copy(), learner.G.copy()
    out, _, _ = learner.run(parse_vw(b"1 |a x\n")[0])
    assert out[0] >= 16.6356
    np.testing.assert_array_equal(learner.w, before[0])
    np.testing.assert_array_equal(learner.G, before[1])


def test_vw_number_rounding() -> None:
    parsed, _ = parse_vw(b"1 |f a:0.001 b:6.2699720e-02 c:413.419811 d:1e+3 e:0.10\n")
    assert parsed.val.tolist() == [
        0.0009999999310821295,
        0.06269971281290054,
        413.4197692871094,
        1000.0,
        0.09999999403953552,
    ]


@pytest.mark.parametrize("token", ["1E40", "-1e39", "1e" + "9" * 5000])
def test_out_of_range_numbers_are_one_line_errors(token: str) -> None:
    with pytest.raises(VWFormatError) as info:
        parse_vw(f"1 | a\n1 | a x:{token}\n".encode(), "d.vw", 7)
    assert str(info.value).startswith(f"d.vw:8: bad feature 'x:{token}'")


def test_invalid_flags_explain_themselves() -> None:
    with pytest.raises(OptionsError, match=r"--learning_rate -1: use a value > 0"):
        VWFlags(learning_rate=-1)
    with pytest.raises(OptionsError, match=r"^--threads 2 with --vwcompat"):
        VWFlags().check(Options(), 2, None)
    with pytest.raises(OptionsError, match=r"^-i with --vwcompat"):
        VWFlags().check(Options(), 1, "m.wgm")
    with pytest.raises(OptionsError, match=r"^--invariant without --adaptive or --normalized"):
        VWFlags(invariant=True).check(Options(interactions=("ab",)), 1, None)


def test_without_vwcompat_labels_zero_are_negative() -> None:
    text = "0 | a\n1 | b\n" * 20
    plain = Model.new(Options())
    compat = Model.new(Options(vwcompat=True))
    plain.run(parse_bytes(text.encode()), learn=True)
    compat.run(parse_bytes(text.encode()), learn=True)
    p_plain, _, _ = plain.run(parse_bytes(b"| a\n"), learn=False)
    p_compat, _, _ = compat.run(parse_bytes(b"| a\n"), learn=False)
    assert p_plain[0] < 0.2  # learned from label 0 as the negative class
    assert p_compat[0] > 0.5  # VW's logistic loss has no gradient at label 0


# --- acceptance: per-example predictions within 1e-6 of the wheel -------------------------

vowpalwabbit = pytest.importorskip(
    "vowpalwabbit", reason="the VW reference is absent: pip install vowpalwabbit"
)


def vw_margins(text: bytes, flags: str) -> np.ndarray:
    """The wheel's prediction for each line before learning from it."""
    ws = vowpalwabbit.Workspace(f"--quiet --loss_function logistic {flags}")
    out = []
    for line in text.decode().splitlines():
        if not line.strip():
            continue
        ex = ws.parse(line)
        ws.learn(ex)
        out.append(ex.get_simplelabel_prediction())
        ws.finish_example(ex)
    ws.finish()
    return np.array(out)


def ctr_text(n: int) -> bytes:
    """CTR lines with importance weights, a namespace scale and VW-rounded values."""
    rows = []
    for i, line in enumerate(ctr(n, seed=3).lines()):
        label, rest = line.split(" ", 1)
        imp = f" {1 + i % 3}" if i % 4 == 0 else ""
        rows.append(f"{label}{imp} 't{i}{rest.replace('|c', '|c:0.5').replace(' e', ' e:2.5')}")
    return ("\n".join(rows) + "\n").encode()


def assert_like_vw(text: bytes, mode: str, rate: float, extra: str = "", **options) -> None:
    flags = VWFlags(learning_rate=rate, **MODES[mode], **_extra_flags(extra))
    want = vw_margins(text, f"{mode} -l {rate} {extra}")
    got = margins(text, flags, **options)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, atol=1e-6, rtol=0, err_msg=f"{mode} -l {rate} {extra}")


def _extra_flags(extra: str) -> dict:
    words = extra.split()
    names = {"--power_t": "power_t", "--initial_t": "initial_t", "--l1": "l1", "--l2": "l2"}
    return {names[w]: float(v) for w, v in itertools.pairwise(words) if w in names}


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("mode", MODES)
def test_ctr_predictions_equal_vw(mode: str, rate: float) -> None:
    assert_like_vw(ctr_text(400), mode, rate)


@pytest.mark.parametrize(
    ("mode", "extra", "options"),
    [
        ("", "--power_t 0.3", {}),
        ("--normalized", "--power_t 0.3", {}),
        ("--adaptive", "--power_t 0.7", {}),
        ("--sgd", "--power_t 0", {}),
        ("", "--initial_t 3", {}),
        ("--adaptive", "--initial_t 3", {}),
        ("--sgd", "--initial_t 2", {}),
        ("", "--l2 0.001", {}),
        ("", "--l1 0.0001", {}),
        ("--sgd", "--l1 0.001 --l2 0.01", {}),
        ("--adaptive", "--l2 0.001", {}),
        ("", "--noconstant", {"noconstant": True}),
        ("", "-q ab --cubic cde --ignore d", {"interactions": ("ab", "cde"), "ignore": "d"}),
        ("--sgd", "-q aa --keep abc", {"interactions": ("aa",), "keep": "abc"}),
    ],
)
@pytest.mark.parametrize("rate", [0.5, 10.0])
def test_flag_combinations_equal_vw(mode: str, extra: str, options: dict, rate: float) -> None:
    assert_like_vw(ctr_text(300), mode, rate, extra, **options)


@pytest.mark.corpus
@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("mode", MODES)
def test_rcv1_predictions_equal_vw(vw_corpus, mode: str, rate: float) -> None:
    assert_like_vw((vw_corpus / "rcv1_small.dat").read_bytes(), mode, rate)


CORPUS_FILES = (
    "0001.dat",
    "0002.dat",
    "zero.dat",
    "xxor.dat",
    "multi_namespace.dat",
    "big_feature_poison.dat",
    "labeled-unlabeled-mix.dat",
    "dupeindex_self.dat",
)


@pytest.mark.corpus
@pytest.mark.parametrize("name", CORPUS_FILES)
def test_corpus_files_equal_vw(vw_corpus, name: str) -> None:
    text = (vw_corpus / name).read_bytes()
    for mode in MODES:
        for rate in RATES:
            assert_like_vw(text, mode, rate)


def vw_cli(*args: str) -> list[float]:
    run = subprocess.run(
        [sys.executable, "-m", "vowpalwabbit", "--quiet", "--loss_function", "logistic", *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return [float(line.split()[0]) for line in run.stdout.splitlines() if line.strip()]


@pytest.mark.parametrize(
    "flags",
    [
        ["--passes", "3"],
        ["--passes", "4", "--sgd", "--holdout_period", "4"],
        ["--passes", "3", "--holdout_off"],
        ["--passes", "12", "--adaptive", "-l", "10", "--early_terminate", "1"],
    ],
)
def test_passes_and_holdout_equal_vw(tmp_path, flags: list[str]) -> None:
    data = tmp_path / "d.vw"
    data.write_bytes(ctr_text(300))
    model, ours_p = tmp_path / "m.wgm", tmp_path / "p.txt"
    cache = str(tmp_path / "vw.cache")
    vw_model = str(tmp_path / "vw.model")
    want = vw_cli("-d", str(data), *flags, "-c", "--cache_file", cache, "-k",
                  "--link", "logistic", "-p", "stdout", "-f", vw_model)  # fmt: skip
    args = ["online", "train", "--vwcompat", "-d", str(data), "-f", str(model), "--quiet"]
    result = CliRunner().invoke(main, [*args, *flags, "-p", str(ours_p)])
    assert result.exit_code == 0, result.output
    got = np.loadtxt(ours_p)
    np.testing.assert_allclose(got, want, atol=1e-6, rtol=0)
    # the saved model predicts as `vw -t -i` (the last pass, or the best one after early stop)
    test_data = tmp_path / "t.vw"
    test_data.write_bytes(ctr(60, seed=9).text)
    want_t = vw_cli("-t", "-i", vw_model, "-d", str(test_data), "--link",
                    "logistic", "-p", "stdout")  # fmt: skip
    result = CliRunner().invoke(
        main, ["online", "predict", "-i", str(model), "-d", str(test_data), "--quiet"]
    )
    assert result.exit_code == 0, result.output
    np.testing.assert_allclose(np.array(result.output.split(), float), want_t, atol=2e-6)


def test_cli_defaults_are_vws(tmp_path) -> None:
    data, model = tmp_path / "d.vw", tmp_path / "m.wgm"
    data.write_bytes(D6)
    result = CliRunner().invoke(
        main, ["online", "train", "--vwcompat", "--sgd", "-d", str(data), "-f", str(model)]
    )
    assert result.exit_code == 0, result.output
    assert load_model(model).options.learning_rate == pytest.approx(10.0)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--sgd"], "Error: --sgd is a VW flag: it needs --vwcompat"),
        (["--vwcompat", "--threads", "2"], "Error: --threads 2 with --vwcompat: VW's updates"),
        (["--vwcompat", "--invariant", "-q", "ab"], "Error: --invariant without --adaptive"),
        (
            ["--vwcompat", "--ffm_k", "2", "--ffm_field", "a"],
            "Error: --ffm_k with --vwcompat: VW has no FFM; drop --ffm_k\n",
        ),
        (["--vwcompat", "--l1", "-1"], "Error: --l1 -1.0 --l2 0.0: use values >= 0"),
    ],
)
def test_refused_combinations_are_usage_errors(tmp_path, args: list[str], message: str) -> None:
    data = tmp_path / "d.vw"
    data.write_bytes(D6)
    result = CliRunner().invoke(main, ["online", "train", "-d", str(data), "--quiet", *args])
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_non_finite_weights_stop_training(tmp_path) -> None:
    data, model = tmp_path / "d.vw", tmp_path / "m.wgm"
    data.write_bytes(b"1 |a b:1e38\n1 |a b:1e38\n-1 |a c\n")
    for flags, where in (
        (["--vwcompat", "--sgd"], f"Error: {data}:1: the update of this example made a weight"),
        (["-l", "10"], f"Error: {data}: example 2 (from line 2 on) has a NaN prediction"),
    ):
        result = CliRunner().invoke(
            main, ["online", "train", "-d", str(data), "-f", str(model), "--quiet", *flags]
        )
        assert result.exit_code == 1, result.output
        assert where in result.output
        assert "No model was written" in result.output
        assert not model.exists()


# within float32's range: VW's fallback gives inf where our parser refuses the line
_NUMBER = r"-?[0-9]{1,8}(\.[0-9]{0,12})?([eE]-?[0-2]?[0-9])?"


@pytest.fixture(scope="module")
def parse_workspace():
    ws = vowpalwabbit.Workspace("--quiet")
    yield {"vw": ws}  # wrapped: hypothesis calls setup_example() on a first argument having one
    ws.finish()


@settings(max_examples=300, deadline=None)
@given(token=st.from_regex(_NUMBER, fullmatch=True))
def test_numbers_round_as_vw_parses_them(parse_workspace, token: str) -> None:
    line = f"1 |f x:{token} y"
    ws = parse_workspace["vw"]
    ex = ws.parse(line)
    want = [np.float32(ex.feature_weight(0, i)) for i in range(ex.num_features_in(0))]
    ws.finish_example(ex)
    parsed, _ = parse_vw(line.encode() + b"\n")
    assert parsed.val.tolist() == [float(v) for v in want]


# --- the estimator: OnlineLearner(vwcompat=True) is the same learner as the CLI's ----------


@pytest.mark.parametrize(
    ("args", "params"),
    [
        ([], {}),
        (["--passes", "3", "--l2", "1e-4"], {"l2": 1e-4}),
        (
            ["--passes", "4", "--sgd", "--holdout_period", "4", "-l", "2"],
            {"sgd": True, "holdout_period": 4, "learning_rate": 2.0},
        ),
        (
            ["--adaptive", "--l1", "1e-5", "-q", "ab", "--noconstant"],
            {"adaptive": True, "l1": 1e-5, "interactions": ["ab"], "noconstant": True},
        ),
    ],
)
def test_estimator_trains_as_the_cli(tmp_path, args: list[str], params: dict) -> None:
    data, model, preds = tmp_path / "d.vw", tmp_path / "m.wgm", tmp_path / "p.txt"
    text = ctr_text(300)
    data.write_bytes(text)
    cli = ["online", "train", "--vwcompat", "-d", str(data), "-f", str(model), "--quiet"]
    result = CliRunner().invoke(main, [*cli, *args])
    assert result.exit_code == 0, result.output
    passes = int(args[args.index("--passes") + 1]) if "--passes" in args else 1
    clf = OnlineLearner(vwcompat=True, passes=passes, **params).fit(text.decode().splitlines())
    saved = load_model(model)
    np.testing.assert_array_equal(clf.weights_, saved.w)
    assert clf.model_.options == saved.options
    test = ctr(60, seed=9).text
    (tmp_path / "t.vw").write_bytes(test)
    result = CliRunner().invoke(
        main,
        ["online", "predict", "-i", str(model), "-d", str(tmp_path / "t.vw"), "-p", str(preds)],
    )
    assert result.exit_code == 0, result.output
    got = clf.predict_proba(test.decode().splitlines())[:, 1]
    np.testing.assert_allclose(got, np.loadtxt(preds), atol=1e-6, rtol=0)


def test_estimator_partial_fit_goes_on_from_vws_state() -> None:
    lines = ctr_text(200).decode().splitlines()
    whole = OnlineLearner(vwcompat=True).fit(lines)
    halves = OnlineLearner(vwcompat=True).partial_fit(lines[:77]).partial_fit(lines[77:])
    np.testing.assert_array_equal(whole.weights_, halves.weights_)
    assert np.count_nonzero(whole.weights_) > 100


def test_estimator_refuses_what_vwcompat_cannot_do(tmp_path) -> None:
    lines = ["1 | a", "-1 | b"]
    with pytest.raises(OptionsError, match=r"^sgd is a VW flag: it needs vwcompat=True$"):
        OnlineLearner(sgd=True).fit(lines)
    with pytest.raises(OptionsError, match=r"^--threads 2 with --vwcompat"):
        OnlineLearner(vwcompat=True, threads=2).fit(lines)
    with pytest.raises(OptionsError, match=r"^VW flags \{'l1': 'x'\}"):
        OnlineLearner(vwcompat=True, l1="x").fit(lines)
    OnlineLearner(vwcompat=True).fit(lines).save(tmp_path / "m.wgm")
    loaded = OnlineLearner.load(tmp_path / "m.wgm")
    with pytest.raises(OptionsError, match=r"^partial_fit on a loaded vwcompat model: a model"):
        loaded.partial_fit(lines)
    with pytest.raises(VWFormatError, match=r"^<lines>:2: bad feature 'x:1e40'"):
        OnlineLearner(vwcompat=True).fit(["1 | a", "1 | x:1e40"])


def model_margins(text: bytes, **options) -> np.ndarray:
    """``Model(Options(vwcompat=True))``'s progressive predictions (the learner in the model)."""
    model = Model.new(Options(vwcompat=True, **options))
    preds, _, _ = model.run(parse_bytes(text), learn=True)
    return preds.astype(np.float64)


# ``Model(Options(vwcompat=True, ...))`` against the wheel with --adaptive (its default update)
MODEL_CASES = [
    ("-l 0.5 -b 18", {"learning_rate": 0.5}),
    ("-l 0.3 --power_t 0.4 -b 20", {"learning_rate": 0.3, "power_t": 0.4, "bit_precision": 20}),
    ("-l 0.5 -q ab -q cd -b 18", {"interactions": ("ab", "cd")}),
    (
        "-l 1 --noconstant --ignore d -q aa -b 16",
        {
            "learning_rate": 1.0,
            "noconstant": True,
            "ignore": "d",
            "interactions": ("aa",),
            "bit_precision": 16,
        },
    ),
    # cubic, repeated namespaces, and VW's treatment of permutations (sorted once duplicated)
    ("-l 0.5 --interactions abc --cubic eed -b 18", {"interactions": ("abc", "eed")}),
    (
        "-l 0.5 -q ba -q ab --interactions aba --interactions cba -b 18",
        {"interactions": ("ba", "ab", "aba", "cba")},
    ),
]


@pytest.mark.parametrize(("flags", "options"), MODEL_CASES)
def test_model_vwcompat_equals_vw(flags: str, options: dict) -> None:
    text = ctr_text(1500)
    expected = vw_margins(text, f"--adaptive --link logistic {flags}")
    got = model_margins(text, **options)
    assert got.shape == expected.shape == (1500,)
    np.testing.assert_allclose(got, expected, atol=1e-6, rtol=0)


@pytest.mark.corpus
def test_model_vwcompat_rcv1_equals_vw(vw_corpus) -> None:
    text = (vw_corpus / "rcv1_small.dat").read_bytes()
    np.testing.assert_allclose(
        model_margins(text, learning_rate=0.5, bit_precision=18),
        vw_margins(text, "--adaptive --link logistic -l 0.5 -b 18"),
        atol=1e-6,
        rtol=0,
    )
