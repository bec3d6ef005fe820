"""Statistics: summaries, bootstrap intervals, outliers and the change verdict."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from wg_bench.stats import change, median_ci, outliers, ratio_ci, summary

timings = st.lists(st.floats(1e-6, 10.0, allow_nan=False), min_size=1, max_size=40)


@settings(max_examples=40, deadline=None)
@given(timings)
def test_ci_and_quartiles_bracket_the_median(xs) -> None:
    s = summary(xs)
    assert s["q25"] <= s["median"] <= s["q75"]
    low, high = s["ci95"]
    assert min(xs) <= low <= s["median"] * (1 + 1e-12)
    assert s["median"] <= high * (1 + 1e-12)
    assert high <= max(xs)


@settings(max_examples=30, deadline=None)
@given(timings, st.floats(0.5, 4.0))
def test_ratio_of_scaled_samples(xs, factor) -> None:
    ratio, (low, high) = ratio_ci([x * factor for x in xs], xs)
    assert ratio == pytest.approx(factor)
    assert low <= ratio * (1 + 1e-9)
    assert ratio <= high * (1 + 1e-9)


def test_outliers_are_flagged_not_dropped() -> None:
    xs = [1.0, 1.1, 0.9, 1.0, 9.0]
    s = summary(xs)
    assert s["outliers"] == [4]
    assert s["samples"] == xs
    assert outliers([1.0, 1.0, 1.0]) == []


def test_ci_narrows_with_more_samples() -> None:
    rng = np.random.default_rng(0)
    few, many = rng.normal(1, 0.1, 6), rng.normal(1, 0.1, 200)
    assert np.ptp(median_ci(many)) < np.ptp(median_ci(few))


def test_change_detects_slowdown_with_unequal_counts() -> None:
    rng = np.random.default_rng(1)
    old = rng.normal(1.0, 0.02, 5)
    new = rng.normal(1.3, 0.02, 12)
    verdict = change(old, new)
    assert verdict.verdict == "slower"
    assert verdict.p_value < 0.01
    assert change(new, old).verdict == "faster"


def test_change_needs_minimum_effect_and_significance() -> None:
    rng = np.random.default_rng(2)
    old = rng.normal(1.0, 0.001, 50)
    assert change(old, old * 1.05).verdict == "same"  # significant but below 10%
    assert change(old, old * 1.05, min_effect=0.01).verdict == "slower"
    assert change([1.0, 2.0], [1.5, 3.0]).verdict == "same"  # 2 vs 2 samples: never significant
    assert change([1.0, 1.0], [1.0, 1.0]).p_value == 1.0


def test_summary_rejects_empty() -> None:
    with pytest.raises(ValueError, match="no samples"):
        summary([])
