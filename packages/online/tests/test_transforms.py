"""FW's ``--transform``: syntax, resolution order, hashes (FW's test vectors) and training."""

from __future__ import annotations

import math

import numpy as np
import pytest
from click.testing import CliRunner
from wg_online.hashing import hash_namespace, hash_token, murmur3_32
from wg_online.model import Options, OptionsError
from wg_online.model_file import load_model
from wg_online.parsing import parse_lines
from wg_online.transforms import (
    FAST_MIN_EXAMPLES,
    TransformError,
    TransformSet,
    emit,
    emit_f32,
    parse_transform,
    resolve,
    seeds,
)
from wg_online.vw_format import parse_line

from wg.cli import main


def _h(n: int, seed: int) -> int:
    """FW's emit hash, written out independently: murmur3 of the int32's 4 LE bytes, 31 bits."""
    return murmur3_32((n & 0xFFFFFFFF).to_bytes(4, "little"), seed) & 0x7FFFFFFF


def _apply(spec: str, line: str) -> list[tuple[int, float]]:
    return TransformSet.build((spec,)).apply(parse_line(line))[0]


def test_seeds_follow_fw_keys() -> None:
    assert seeds(0)[0] == murmur3_32(bytes([214, 231, 1, 55]), 0x80000000)
    assert seeds(3)[3] == murmur3_32(bytes([10, 3, 0, 43]), 0x80000003)


def test_binner_sqrt_plain_fw_vector() -> None:
    # FW feature_transform_implementations.rs: gt 40, res 1: 3 -> bin 3 (s0), 300 -> 16 (s1)
    s = seeds(0)
    assert _apply("t=BinnerSqrtPlain(x)(40,1)", "1 |x 3 300") == [(_h(3, s[0]), 1.0),
                                                                   (_h(16, s[1]), 1.0)]  # fmt: skip


def test_binner_log_interpolates_upper_bin_first() -> None:
    # ln(e^2.25) = 2.25: bin 3 gets 0.25, bin 2 gets 0.75 (FW's emit_f32 with interpolation)
    s = seeds(0)
    got = _apply("t=BinnerLog(x)()", f"1 |x {math.exp(2.25):.9f}")
    assert [h for h, _ in got] == [_h(3, s[1]), _h(2, s[1])]
    assert [v for _, v in got] == pytest.approx([0.25, 0.75], abs=1e-5)


def test_emit_f32_fw_vector_and_specials() -> None:
    got = emit_f32(5.4, 20.0, 7, True)
    assert [h for h, _ in got] == [_h(6, 7), _h(5, 7)]
    assert [v for _, v in got] == pytest.approx([8.0, 12.0], rel=1e-5)
    assert emit_f32(5.0, 1.0, 7, True) == [(_h(5, 7), 1.0)]  # r = 0: one bin
    nan_bits = int(np.float32("nan").view(np.int32))
    assert emit_f32(math.nan, 1.0, 7, False) == [(_h(nan_bits, 7), 1.0)]
    assert emit(-(2**31), 1.0, 7) == (_h(-(2**31), 7), 1.0)


def test_binner_edge_cases() -> None:
    s = seeds(0)
    # below gt: truncated toward zero under s0; NONE is NaN, which fails x < gt -> NaN bin (s1)
    nan_bin = _h(int(np.float32("nan").view(np.int32)), s[1])
    assert _apply("t=BinnerSqrt(x)(1)", "1 |x -0.7 0.3 NONE") == [
        (_h(0, s[0]), 1.0), (_h(0, s[0]), 1.0), (nan_bin, 1.0)]  # fmt: skip
    # x = gt under BinnerLog is ln 0 = -inf: its own bin, by the bits of -inf
    neg_inf = int(np.float32("-inf").view(np.int32))
    assert _apply("t=BinnerLogPlain(x)(2)", "1 |x 2") == [(_h(neg_inf, s[1]), 1.0)]


@pytest.mark.parametrize(
    ("pair", "kind", "bin_of"),
    [
        ((3, 7), "pair", None),
        ((30, 0), "pair", None),  # 30 + 0 < 40: the pair bin, not the zero case
        ((30, 60), 0, 10 * math.log(0.5)),
        ((0, 50), 2, math.log(10)),
        ((50, 0), 3, math.log(10)),
    ],
)
def test_log_ratio_fw_vectors(pair: tuple[int, int], kind: object, bin_of: float | None) -> None:
    s = seeds(0)
    got = _apply("t=BinnerLogRatioPlain(a,b)(40,10)", f"1 |a {pair[0]} |b {pair[1]}")
    if kind == "pair":
        inner = murmur3_32(pair[0].to_bytes(4, "little"), s[1])
        assert got == [(murmur3_32(pair[1].to_bytes(4, "little"), inner) & 0x7FFFFFFF, 1.0)]
    else:
        assert got == [(_h(int(np.float32(bin_of)), s[kind]), 1.0)]  # type: ignore[index]


def test_weight_and_combine_fw_vectors() -> None:
    s = seeds(0)
    cat = hash_token("u", hash_namespace("c"))
    flt = hash_token("5", hash_namespace("x"))
    both = TransformSet.build(("w=Weight(c)(40)", "f=BinnerSqrtPlain(x)()", "wf=Weight(x)(40)"))
    feats, letters = both.apply(parse_line("1 |c u:2 |x 5"))
    # order: f, w, wf (sorted targets); a float namespace's features have value 1
    assert feats[1] == (_h(cat, seeds(1)[0]), 80.0)
    assert feats[-1] == (_h(flt, seeds(2)[0]), 40.0)
    assert letters[1] == ord("w")
    got = _apply("t=Combine(c,d)()", "1 |c u:3 |d v w:2")
    hv, hw = hash_token("v", hash_namespace("d")), hash_token("w", hash_namespace("d"))
    assert got == [(_h(cat ^ hv, s[0]), 3.0), (_h(cat ^ hw, s[0]), 6.0)]


def test_combine_reads_other_targets_in_resolution_order() -> None:
    order = resolve(("z=Combine(bx,c)()", "bx=BinnerSqrtPlain(x)()"))
    assert [t.target for t in order] == ["bx", "z"]
    feats, _ = TransformSet.build(("z=Combine(bx,c)()", "bx=BinnerSqrtPlain(x)()")).apply(
        parse_line("1 |x 9 |c u")
    )
    bx = _h(3, seeds(0)[1])
    assert feats == [(bx, 1.0), (_h(bx ^ hash_token("u", hash_namespace("c")), seeds(1)[0]), 1.0)]


def test_parsed_arrays_get_transformed_features_after_their_own() -> None:
    spec = ("bp=BinnerSqrtPlain(price)(0,1)",)
    plain = parse_lines(["1 |price 16 |b x", "0 |b y", "1 |price 4"])
    got = parse_lines(["1 |price 16 |b x", "0 |b y", "1 |price 4"], transforms=spec)
    assert got.offsets.tolist() == [0, 3, 4, 6]
    assert got.idx[:2].tolist() == plain.idx[:2].tolist()
    assert got.idx.tolist()[2] == _h(4, seeds(0)[1]) == got.idx.tolist()[2]
    assert got.idx.tolist()[5] == _h(2, seeds(0)[1])
    assert got.ns.tolist() == [ord("p"), ord("b"), ord("b"), ord("b"), ord("p"), ord("b")]
    # the categorical hashes Combine reads are the parser's own
    assert plain.idx[1] == hash_token("x", hash_namespace("b"))


@pytest.mark.parametrize(
    ("spec", "part"),
    [
        ("bp=BinnerSqrt(price)", "not of the form target=Function(sources)(numbers)"),
        ("bp=Binner(price)()", "unknown function 'Binner'"),
        ("bp=BinnerSqrt(a,b)()", "BinnerSqrt takes 1 namespace(s)"),
        ("bp=BinnerLogRatio(a)()", "BinnerLogRatio takes 2 namespace(s)"),
        ("bp=BinnerLog(a)(1,2,3)", "at most 2 numbers"),
        ("bp=BinnerLog(a)(-1)", "greater_than -1 is negative"),
        ("bp=BinnerLog(a)(x)", "parameter 'x' is not a finite number"),
        ("c=Combine(a)()", "Combine takes 2 to 4 namespaces"),
        ("c=Combine(a,a)()", "a source namespace is repeated"),
        ("w=Weight(a)()", "Weight takes 1 namespace and 1 number"),
        ("w=Weight(a b)(1)", "source 'a b' is not a namespace name"),
    ],
)
def test_malformed_transform_names_the_part(spec: str, part: str) -> None:
    with pytest.raises(TransformError, match="--transform") as info:
        parse_transform(spec)
    assert part in str(info.value)


def test_cycles_and_duplicate_targets_are_refused() -> None:
    with pytest.raises(TransformError, match=r"a -> b -> a form a cycle"):
        resolve(("a=Weight(b)(1)", "b=Weight(a)(1)"))
    with pytest.raises(TransformError, match="target 't' is already defined"):
        resolve(("t=Weight(b)(1)", "t=Weight(c)(1)"))
    with pytest.raises(OptionsError, match="--transform 'x'"):
        Options(transforms=("x",))


def test_non_number_in_binned_namespace_names_file_and_line() -> None:
    with pytest.raises(ValueError, match=r"<lines>:2: feature 'abc' of namespace 'x'"):
        parse_lines(["1 |x 2", "1 |x abc"], transforms=("t=BinnerLog(x)()",))


def _price_data(path, n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    prices = rng.uniform(1, 400, n)
    labels = np.where(rng.random(n) < 1 / (1 + np.exp(-(np.log(prices) - 4) * 3)), 1, -1)
    path.write_text("".join(f"{y} |price {p:.2f}\n" for y, p in zip(labels, prices, strict=True)))


def test_cli_trains_and_predicts_with_a_binner(tmp_path) -> None:
    _price_data(tmp_path / "train.vw", 3000, 0)
    _price_data(tmp_path / "test.vw", 1000, 1)
    runner, losses = CliRunner(), {}
    for name, extra in (("plain", []), ("binned", ["--transform", "lp=BinnerLog(price)(0,4)",
                                                   "--keep", "l"])):  # fmt: skip
        model = tmp_path / f"{name}.wgm"
        args = ["online", "train", "-d", str(tmp_path / "train.vw"), "-f", str(model), "--quiet"]
        result = runner.invoke(main, args + extra)
        assert result.exit_code == 0, result.output
        out = tmp_path / f"{name}.txt"
        args = ["online", "predict", "-i", str(model), "-d", str(tmp_path / "test.vw"),
                "-p", str(out), "--quiet"]  # fmt: skip
        assert runner.invoke(main, args).exit_code == 0
        p = np.loadtxt(out)
        y = np.loadtxt(tmp_path / "test.vw", usecols=0) > 0
        losses[name] = -np.mean(np.where(y, np.log(p), np.log(1 - p)))
    assert load_model(tmp_path / "binned.wgm").options.transforms == ("lp=BinnerLog(price)(0,4)",)
    # each price is its own category without the binner: it cannot generalise to new prices
    assert losses["binned"] < losses["plain"] - 0.05, losses


def test_cli_refuses_a_malformed_transform() -> None:
    result = CliRunner().invoke(
        main, ["online", "train", "-d", "x.vw", "--transform", "t=Weight(a)()"]
    )
    assert result.exit_code == 2
    assert "--transform 't=Weight(a)()': Weight takes 1 namespace and 1 number" in result.output


def test_cache_records_the_transforms(tmp_path) -> None:
    from wg_online.parsing import iter_file, read_cache, write_cache

    data = tmp_path / "d.vw"
    data.write_text("1 |price 16 |b x\n0 |b y\n")
    spec = ("bp=BinnerSqrtPlain(price)(0,1)",)
    blocks = list(iter_file(data, transforms=spec))
    write_cache(tmp_path / "c", blocks, data, (), spec)
    cached = read_cache(tmp_path / "c", data, (), spec)
    assert cached is not None
    assert cached[0].idx.tolist() == blocks[0].idx.tolist()
    assert read_cache(tmp_path / "c", data, ()) is None  # other transforms: rebuilt


#: Every function, a transform of targets, a float namespace read as categories, 2-4 sources.
_ALL = ("bp=BinnerLog(price)(5,10)", "bq=BinnerSqrtPlain(cnt)(1)", "bs=BinnerSqrt(price)()",
        "bl=BinnerLogPlain(cnt)(2,3)", "lr=BinnerLogRatio(price,cnt)(0,4)",
        "lp=BinnerLogRatioPlain(cnt,price)(40,10)", "ab=Combine(a,b)()", "wa=Weight(ab)(0.5)",
        "c4=Combine(a,b,price,cnt)()", "cz=Combine(bq,a)()", "wp=Weight(price)(2)",
        "wb=Weight(b)(-3)")  # fmt: skip
_SPECIAL = ["NONE", "", "inf", "-INF", "+inf", "NaN", "0", "-0", "5", "40", "-3.5", "1e30",
            "2.718281828", "1e-40", "7:2", "12345678901"]  # fmt: skip


def _generated(n: int, seed: int) -> bytes:
    """Lines with every kind of float name, repeated and weighted namespaces, digit names."""
    rng = np.random.default_rng(seed)

    def num() -> str:
        if rng.random() < 0.3:
            return str(rng.choice(_SPECIAL))
        return f"{rng.uniform(-10, 500):.{rng.integers(0, 7)}f}"

    out = []
    for i in range(n):
        parts = [f"{rng.choice(['1', '-1', '0 2.5', ''])} 't{i}"]
        for _ in range(rng.integers(0, 6)):
            kind = rng.integers(0, 5)
            k = rng.integers(0, 4)
            if kind == 0:
                parts.append("|price " + " ".join(num() for _ in range(k)))
            elif kind == 1:
                parts.append(
                    f"|cnt:{rng.choice(['0.5', '2', '1e3'])} {' '.join(num() for _ in range(k))}"
                )
            elif kind == 2:
                parts.append(
                    "|a "
                    + " ".join(f"u{rng.integers(9)}:{rng.uniform(-2, 2):.3f}" for _ in range(k))
                )
            elif kind == 3:
                parts.append(
                    "|b:0.5 "
                    + " ".join(
                        str(rng.choice(["w", "17", ":3", "x:0", "y\x0bz"])) for _ in range(k)
                    )
                )
            else:
                parts.append("|other q r:2")
        out.append("".join(parts) + ("\r" if i % 7 == 0 else ""))
    return ("\n".join(out) + "\n").encode()  # fmt: skip


@pytest.mark.parametrize(
    "spec", [(s,) for s in _ALL if "(ab)" not in s and "(bq" not in s] + [_ALL[6:8], _ALL]
)
def test_compiled_transforms_equal_the_python_reference(spec: tuple[str, ...]) -> None:
    from wg_online.kernels import parse_block
    from wg_online.parsing import map_arrays
    from wg_online.transforms import extend_parsed

    data = _generated(600, len(spec))
    block = parse_block(np.frombuffer(data, np.uint8), True, *map_arrays(()))
    assert len(block.bad_lines) == 0
    tset = TransformSet.build(spec, ("Pprice",))
    arrays = (block.offsets, block.idx, block.val, block.ns)
    fast = extend_parsed(data, block.lines, arrays, tset, "<gen>", 1, reference=False)
    slow = extend_parsed(data, block.lines, arrays, tset, "<gen>", 1, reference=True)
    assert len(fast[1]) > len(block.idx)  # the transforms added features
    for got, want in zip(fast, slow, strict=True):
        assert got.dtype == want.dtype
        assert got.view(np.uint8).tobytes() == want.view(np.uint8).tobytes()  # NaN bits too


@pytest.mark.parametrize(
    ("spec", "line"),
    [
        ("t=BinnerSqrtPlain(x)(40,1)", "1 |x 3 300"),
        ("t=BinnerLog(x)()", f"1 |x {math.exp(2.25):.9f}"),
        ("t=BinnerSqrt(x)(1)", "1 |x -0.7 0.3 NONE"),
        ("t=BinnerLogPlain(x)(2)", "1 |x 2"),
        *[
            ("t=BinnerLogRatioPlain(a,b)(40,10)", f"1 |a {a} |b {b}")
            for a, b in ((3, 7), (30, 0), (30, 60), (0, 50), (50, 0))
        ],
        ("t=Combine(c,d)()", "1 |c u:3 |d v w:2"),
        ("w=Weight(c)(40)", "1 |c u:2 |x 5"),
    ],
)
def test_fw_vectors_through_the_compiled_path(spec: str, line: str) -> None:
    want = TransformSet.build((spec,)).apply(parse_line(line))[0]
    n = FAST_MIN_EXAMPLES  # a block this long takes the compiled path
    got = parse_lines([line] * n, transforms=(spec,))
    own = len(parse_lines([line]).idx)
    last = slice(got.offsets[n - 1] + own, got.offsets[n])
    assert list(zip(got.idx[last].tolist(), got.val[last].tolist(), strict=True)) == [
        (h, float(np.float32(v))) for h, v in want]  # fmt: skip


def test_a_line_the_compiled_scan_rejects_gets_the_reference_error() -> None:
    lines = ["1 |x 2"] * FAST_MIN_EXAMPLES + ["1 |x NONE", "1 |x 1e99"]
    with pytest.raises(
        ValueError, match=rf"<lines>:{FAST_MIN_EXAMPLES + 2}: feature '1e99' of namespace 'x'"
    ):
        parse_lines(lines, transforms=("t=BinnerLog(x)()",))
