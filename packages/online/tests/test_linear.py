"""FW's ``--linear name1[,name2...][:w]``: LR combos of full namespace names."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner
from wg_online.combos import LINEAR_LETTER0, LINEAR_PREFIX
from wg_online.hashing import hash_namespace, hash_token
from wg_online.learner import OnlineLearner
from wg_online.model import Model, Options, OptionsError, lr_combos
from wg_online.model_file import load_model
from wg_online.parsing import parse_lines
from wg_online.serve import ModelHolder
from wg_online.transforms import FAST_MIN_EXAMPLES

from wg.cli import main

_LINE = "1 |user u0:2 v |ad x:3 |other z"


def _combo_features(line: str, linear: tuple[str, ...], copies: int) -> list[list[tuple]]:
    """Per ``--linear``, the (hash, value) features it adds to the last of ``copies`` lines."""
    got = parse_lines([line] * copies, transforms=tuple(LINEAR_PREFIX + s for s in linear))
    last = slice(got.offsets[-2], got.offsets[-1])
    feats = list(zip(got.idx[last].tolist(), got.val[last].tolist(), got.ns[last].tolist(),
                     strict=True))  # fmt: skip
    return [[(h, v) for h, v, ns in feats if ns == LINEAR_LETTER0 + i] for i in range(len(linear))]


@pytest.mark.parametrize("copies", [1, FAST_MIN_EXAMPLES])  # the Python and compiled paths
def test_one_and_two_namespace_combos_hash_as_fw(copies: int) -> None:
    hu = hash_token("u0", hash_namespace("user"))
    hv = hash_token("v", hash_namespace("user"))
    hx = hash_token("x", hash_namespace("ad"))
    assert (hu, hx) == (433798163, 1821890840)
    one, two = _combo_features(_LINE, ("user:2.5", "user,ad:0.5"), copies)
    # one namespace: its own hashes, values times w
    assert one == [(hu, 5.0), (hv, 2.5)]
    # two: h = h_ad ^ (h_user * 16777619 mod 2**32), values multiplied, times w
    assert ((hu * 16777619) % 2**32) ^ hx == 2877835505
    assert two == [(2877835505, 3.0), (((hv * 16777619) % 2**32) ^ hx, 1.5)]


def test_a_combo_reads_transform_targets_and_missing_namespaces() -> None:
    specs = ("cz=Weight(ad)(2)", LINEAR_PREFIX + "cz", LINEAR_PREFIX + "user,nothere")
    got = parse_lines([_LINE], transforms=specs)
    weighted = [v for v, ns in zip(got.val.tolist(), got.ns.tolist(), strict=True) if ns == 99]
    linear = [v for v, ns in zip(got.val.tolist(), got.ns.tolist(), strict=True)
              if ns == LINEAR_LETTER0]  # fmt: skip
    assert weighted == linear == [6.0]
    assert LINEAR_LETTER0 + 1 not in got.ns.tolist()  # a missing namespace: no features


@pytest.mark.parametrize(
    ("spec", "part"),
    [("a:b:1", "a ':' inside"), ("", "an empty namespace"), ("a,,b", "an empty namespace"),
     ("a:x", "weight 'x'"), ("a:inf", "weight 'inf'"), (":2", "an empty namespace")],
)  # fmt: skip
def test_malformed_linear_is_an_error_naming_the_flag(spec: str, part: str) -> None:
    with pytest.raises(OptionsError, match=f"--linear {spec!r}: {part}"):
        Options(linear=(spec,))
    result = CliRunner().invoke(main, ["online", "train", "-d", "x.vw", "--linear", spec])
    assert result.exit_code == 2
    assert f"--linear {spec!r}" in result.output


def test_each_linear_is_its_own_combo_after_the_keeps() -> None:
    o = Options(keep="ab", linear=("user", "user,ad:2"), ignore="u")
    assert lr_combos(o) == 2 + 2 + 1
    t = Model.new(o).tables()
    assert t["active"][[LINEAR_LETTER0, LINEAR_LETTER0 + 1]].all()  # whatever --keep/--ignore
    assert t["combo_of"][[97, 98, LINEAR_LETTER0, LINEAR_LETTER0 + 1]].tolist() == [0, 1, 2, 3]


def _pairs_data(n: int, seed: int) -> list[str]:
    """The label is the parity of user + ad: no single namespace tells it, their cross does."""
    rng = np.random.default_rng(seed)
    u, a = rng.integers(0, 6, n), rng.integers(0, 6, n)
    return [f"{1 if (i + j) % 2 else -1} |user u{i} |ad x{j}" for i, j in zip(u, a, strict=True)]


def _loss(p: np.ndarray, lines: list[str]) -> float:
    y = np.array([line.startswith("1") for line in lines])
    return float(-np.mean(np.where(y, np.log(p), np.log(1 - p))))


def test_a_crossed_combo_learns_saves_loads_and_serves_identically(tmp_path) -> None:
    train, test = _pairs_data(3000, 0), _pairs_data(500, 1)
    keep = {"keep": "uae", "bit_precision": 16}  # 'e': no such namespace, keeps the keep list
    plain = OnlineLearner(**keep).fit(train)
    crossed = OnlineLearner(linear=("user,ad:1",), **keep).fit(train)
    p = crossed.predict_proba(test)[:, 1]
    assert _loss(p, test) < _loss(plain.predict_proba(test)[:, 1], test) - 0.3
    crossed.save(tmp_path / "m.wgm")
    loaded = OnlineLearner.load(tmp_path / "m.wgm")
    assert loaded.model_.options.linear == ("user,ad:1",)
    assert np.array_equal(loaded.predict_proba(test)[:, 1], p)
    holder = ModelHolder(tmp_path / "m.wgm")
    assert [holder.answer(line.encode()) for line in test[:3]] == [f"{x:.6f}" for x in p[:3]]


def test_cli_trains_and_predicts_with_linear(tmp_path) -> None:
    data, test = tmp_path / "train.vw", tmp_path / "test.vw"
    data.write_text("\n".join(_pairs_data(2000, 2)) + "\n")
    test.write_text("\n".join(_pairs_data(300, 3)) + "\n")
    runner, model, out = CliRunner(), tmp_path / "m.wgm", tmp_path / "p.txt"
    args = ["online", "train", "-d", str(data), "-f", str(model), "--quiet", "--keep", "e",
            "--linear", "user,ad", "--linear", "user:0.5"]  # fmt: skip
    assert runner.invoke(main, args).exit_code == 0
    assert load_model(model).options.linear == ("user,ad", "user:0.5")
    args = ["online", "predict", "-i", str(model), "-d", str(test), "-p", str(out), "--quiet"]
    assert runner.invoke(main, args).exit_code == 0
    lines = test.read_text().splitlines()
    p = np.loadtxt(out)
    assert np.array_equal(p, np.round(OnlineLearner.load(model).predict_proba(lines)[:, 1], 6))
    assert _loss(p, lines) < 0.2


def test_a_deep_model_reads_each_linear_as_its_own_input(tmp_path) -> None:
    from wg_online.model import nn_graph

    kw = {"keep": "e", "linear": ("user,ad", "user:2"), "nn_layers": 1,
          "nn": ("0:width:8", "0:activation:relu")}  # fmt: skip
    assert nn_graph(Options(**kw)).n_combos == 1 + 2 + 1  # --keep, the two, the constant
    train, test = _pairs_data(3000, 4), _pairs_data(300, 5)
    learner = OnlineLearner(**kw).fit(train)
    p = learner.predict_proba(test)[:, 1]
    assert _loss(p, test) < 0.3
    learner.save(tmp_path / "d.wgm")
    assert np.array_equal(OnlineLearner.load(tmp_path / "d.wgm").predict_proba(test)[:, 1], p)


def test_compiled_combos_equal_the_python_reference() -> None:
    from wg_online.kernels import parse_block
    from wg_online.parsing import map_arrays
    from wg_online.transforms import TransformSet, extend_parsed

    rng = np.random.default_rng(7)
    parts = ("|user:0.5 u1 u2:3", "|ad x:-2 17", "|user v", "|price 5 NONE", "|other q")
    lines = [f"{rng.choice(['1', '-1'])} " + " ".join(rng.choice(parts, rng.integers(0, 4)))
             for _ in range(300)]  # fmt: skip
    data = ("\n".join(lines) + "\n").encode()
    specs = ("bp=BinnerLog(price)()", *(LINEAR_PREFIX + s for s in
             ("user", "ad,user:0.25", "user,ad,bp:-1", "price,ad", "bp:3")))  # fmt: skip
    block = parse_block(np.frombuffer(data, np.uint8), False, *map_arrays(()))
    tset = TransformSet.build(specs)
    arrays = (block.offsets, block.idx, block.val, block.ns)
    fast = extend_parsed(data, block.lines, arrays, tset, "<gen>", 1, reference=False)
    slow = extend_parsed(data, block.lines, arrays, tset, "<gen>", 1, reference=True)
    assert set(range(LINEAR_LETTER0, LINEAR_LETTER0 + 5)) <= set(fast[3].tolist())
    for got, want in zip(fast, slow, strict=True):
        assert got.dtype == want.dtype
        assert got.view(np.uint8).tobytes() == want.view(np.uint8).tobytes()


def test_fw_31_bit_inputs_give_the_same_masked_hashes() -> None:
    from wg_online.combos import cross

    rng = np.random.default_rng(3)
    ins = [[(int(h), 1.0) for h in rng.integers(0, 2**32, 5)] for _ in range(3)]
    fw = [[(h & 0x7FFFFFFF, v) for h, v in feats] for feats in ins]  # FW's parser's MASK31
    mask = 2**30 - 1  # the largest -b
    assert [h & mask for h, _ in cross(ins, 1.0)] == [h & mask for h, _ in cross(fw, 1.0)]
    assert [h for h, _ in cross(ins, 1.0)] != [h for h, _ in cross(fw, 1.0)]  # bit 31 differs


def test_the_cache_is_rebuilt_when_the_combos_change(tmp_path) -> None:
    data = tmp_path / "d.vw"
    data.write_text("\n".join(_pairs_data(500, 6)) + "\n")
    runner, weights = CliRunner(), {}
    for name, extra in (("crossed", ["--linear", "user,ad"]), ("plain", []),
                        ("fresh", ["--cache_file", str(tmp_path / "other.cache")])):  # fmt: skip
        model = tmp_path / f"{name}.wgm"
        args = ["online", "train", "-d", str(data), "-f", str(model), "--quiet", "-c",
                "--passes", "2", *extra]  # fmt: skip
        assert runner.invoke(main, args).exit_code == 0
        weights[name] = load_model(model).w
    # without --keep every letter is read: a stale cache would teach "plain" the crossed ones
    assert np.array_equal(weights["plain"], weights["fresh"])
    assert not np.array_equal(weights["plain"], weights["crossed"])
