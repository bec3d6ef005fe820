"""The headline: our best against the fastest peer, declared targets, and its place in a run."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from wg_bench.discovery import SuiteError, benchmark_from_class
from wg_bench.headline import headline, of_document
from wg_bench.schema import validate
from wg_bench.targets import Target

from wg.cli import main

sys.path.insert(0, str(Path(__file__).parent))
from bench_documents import cell, document, noisy


def cells_of(**medians: float | None) -> list[dict]:
    """Cells of toy.Sum(n=10), one per implementation; None: a mismatch."""
    return [
        cell(impl, noisy(m, 5, i), reference=impl == "numpy") if m is not None
        else cell(impl, None, status="mismatch", reason="error 1 > tolerance 0")
        for i, (impl, m) in enumerate(medians.items())
    ]  # fmt: skip


def test_best_of_ours_against_fastest_peer() -> None:
    [row] = headline(cells_of(numpy=2.0, torch=1.0, wg=1.5, wg_fast=0.5))
    assert (row["ours"], row["peer"], row["target"]) == ("wg_fast", "torch", "-")
    assert row["ratio"]["value"] == pytest.approx(0.5, rel=0.05)
    low, high = row["ratio"]["ci95"]
    assert low <= row["ratio"]["value"] <= high
    assert row["targets"] == []


@pytest.mark.parametrize(
    ("targets", "verdict"),
    [
        ([Target("wg", "torch", 1.6)], "yes"),
        ([Target("wg", "torch", 1.4)], "no"),
        ([Target("wg", "torch", 1.6), Target("wg", "numpy", 0.5)], "no"),
        ([Target("wg", "torch", 1.6, (("n", 99),))], "-"),  # another parameter set
        ([Target("wg_broken", "torch", 9.0)], "no"),  # a mismatch meets no target
        ([Target("wg", "jax", 9.0)], "-"),  # the peer did not run
    ],
)
def test_targets(targets, verdict) -> None:
    cells = cells_of(numpy=2.0, torch=1.0, wg=1.5, wg_broken=None)
    [row] = headline(cells, {("toy", "Sum"): targets})
    assert row["target"] == verdict
    assert (row["ours"], row["peer"]) == ("wg", "torch")


def test_baselines_are_never_the_fastest_peer() -> None:
    cells = cells_of(numpy=2.0, objective=0.1, wg=1.0)
    [row] = headline(cells, baselines={("toy", "Sum"): ("objective",)})
    assert (row["ours"], row["peer"]) == ("wg", "numpy")
    assert headline(cells)[0]["peer"] == "objective"


def test_no_ours_or_no_peer_gives_no_ratio() -> None:
    [row] = headline(cells_of(numpy=2.0, torch=1.0))
    assert (row["ours"], row["peer"], row["ratio"]) == (None, "torch", None)


def test_old_documents_get_a_derived_headline() -> None:
    old = document(cells_of(numpy=2.0, wg=1.0))
    [row] = of_document(old)
    assert (row["ours"], row["peer"], row["target"]) == ("wg", "numpy", "-")
    assert of_document({**old, "headline": []}) == []


NOT_OURS = "must be one of ['numpy', 'torch'] (not one of ours)"


def _bench(**attributes):
    attributes.setdefault("params", ((1, 2),))
    attributes.setdefault("param_names", ("n",))
    methods = {f"impl_{n}": (lambda self: 0) for n in ("numpy", "wg", "torch")}
    return type("B", (), {"reference": "numpy", "tolerance": 0, **methods, **attributes})


@pytest.mark.parametrize(
    ("targets", "message"),
    [
        ({"ours": "wg"}, "targets must be a list of dicts, got dict"),
        ([5], "targets[0] must be a dict with keys params, ours, peer, max_ratio"),
        ([{"ours": "wg", "peer": "torch", "max": 1}],
         "targets[0] has unknown key(s) ['max']; use params, ours, peer, max_ratio"),
        ([{"ours": "torch", "peer": "numpy", "max_ratio": 1}],
         "targets[0]: ours = 'torch' must be one of our implementations ['wg']"),
        ([{"ours": "wg", "peer": "jax", "max_ratio": 1}],
         "targets[0]: peer = 'jax' must be one of the peers ['numpy', 'torch']"),
        ([{"ours": "wg", "peer": "torch", "max_ratio": float("nan")}],
         "targets[0]: max_ratio must be a number > 0, got nan"),
        ([{"ours": "wg", "peer": "torch", "max_ratio": True}],
         "targets[0]: max_ratio must be a number > 0, got True"),
        ([{"ours": "wg", "peer": "torch", "max_ratio": 1, "params": {"k": 1}}],
         "targets[0]: params names 'k'; the parameters are ['n']"),
        ([{"ours": "wg", "peer": "torch", "max_ratio": 1, "params": {"n": 3}}],
         "targets[0]: params n=3 is not one of [1, 2]"),
        ({"baselines": "numpy"},
         "baselines must be a list of implementation names, got 'numpy'"),
        ({"baselines": ["wg"]}, f"baselines: 'wg' {NOT_OURS}"),
        ({"baselines": ["jax"]}, f"baselines: 'jax' {NOT_OURS}"),
    ],
)  # fmt: skip
def test_malformed_targets_name_the_benchmark(targets, message) -> None:
    attributes = targets if isinstance(targets, dict) and "baselines" in targets else {
        "targets": targets}  # fmt: skip
    with pytest.raises(SuiteError) as info:
        benchmark_from_class("s", Path("s.py"), _bench(**attributes))
    assert str(info.value) == f"s.py:0: benchmark B: {message}"


def test_targets_are_read_from_the_class() -> None:
    declared = [{"ours": "wg", "peer": "torch", "max_ratio": 2, "params": {"n": 2}}]
    bench = benchmark_from_class("s", Path("s.py"), _bench(targets=declared))
    assert bench.targets == (Target("wg", "torch", 2.0, (("n", 2),)),)
    assert benchmark_from_class("s", Path("s.py"), _bench()).targets == ()
    assert benchmark_from_class("s", Path("s.py"), _bench(baselines=["torch"])).baselines == (
        "torch",
    )


@pytest.fixture(scope="module")
def race_run(toy_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("race") / "r.json"
    args = ["bench", "run", "race", "--suites", str(toy_dir), "--quick", "--min-time", "0.01",
            "--no-history", "--json", str(out)]  # fmt: skip
    return CliRunner().invoke(main, args), CliRunner().invoke(main, [*args, "--details"]), out


def test_run_ends_with_the_headline_only(race_run) -> None:
    plain, _, out = race_run
    assert plain.exit_code == 0, plain.output
    lines = plain.output.splitlines()
    assert max(len(line) for line in lines[lines.index(next(
        line for line in lines if line.startswith("headline"))):]) <= 100  # fmt: skip
    text = " ".join(plain.output.split())
    assert "headline: ours / fastest peer (< 1: ours is faster)" in text
    assert "race.Dot n=200 wg_fast numpy" in text
    assert "no (wg_slow/python" in text
    assert "> 0.001)" in text
    assert "IQR" not in plain.output
    doc = validate(json.loads(out.read_text()))
    rows = {row["params"]["n"]: row for row in doc["headline"]}
    assert (rows[200]["target"], rows[2000]["target"]) == ("yes", "no")
    assert [t["met"] for t in rows[2000]["targets"]] == [True, False]


def test_details_adds_the_wide_tables(race_run) -> None:
    _, detailed, _ = race_run
    assert detailed.exit_code == 0, detailed.output
    assert "IQR" in detailed.output
    assert "headline: ours / fastest peer" in detailed.output


ENTRY = st.fixed_dictionaries(
    {},
    optional={
        "ours": st.sampled_from(["wg", "wg_x", "numpy", "", 5]),
        "peer": st.sampled_from(["numpy", "torch", "wg", None]),
        "max_ratio": st.one_of(st.floats(allow_nan=True), st.integers(-2, 3), st.booleans()),
        "params": st.one_of(st.none(), st.dictionaries(st.sampled_from(["n", "k"]),
                                                       st.integers(0, 3), max_size=2)),
        "extra": st.just(1),
    },
)  # fmt: skip


@given(raw=st.one_of(st.lists(st.one_of(ENTRY, st.integers()), max_size=3), ENTRY, st.none()))
def test_any_targets_value_is_parsed_or_refused_in_one_line(raw) -> None:
    from wg_bench.targets import TargetError, parse_targets

    try:
        targets = parse_targets(raw, ["numpy", "wg", "wg_x", "torch"], {"n": (1, 2)})
        message = ""
    except TargetError as exc:
        targets, message = (), str(exc)
    assert "\n" not in message
    for target in targets:
        assert target.ours in ("wg", "wg_x")
        assert target.peer in ("numpy", "torch")
        assert 0 < target.max_ratio < float("inf")
        assert target.params is None or dict(target.params).keys() <= {"n"}
