"""Statistics of timing samples: robust summaries, bootstrap intervals, and the change test.

Timings are skewed and heavy-tailed (a shared machine adds delays, never removes them), so every
summary is rank-based: the median and quartiles, a percentile-bootstrap interval of the median, and
Tukey's fences to flag outliers, which are kept and only flagged. Bootstraps use a fixed seed, so
the same samples always give the same interval.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: timing samples in seconds: any sequence of floats or a 1-D array
Samples = Sequence[float] | np.ndarray

BOOTSTRAP = 2000
SEED = 20240611


def summary(samples: Samples) -> dict[str, object]:
    """Median, quartiles, bootstrap 95% CI of the median and flagged outliers.

    Examples
    --------
    >>> s = summary([1.0, 2.0, 3.0, 4.0, 100.0])
    >>> s["median"], s["q25"], s["q75"], s["outliers"]
    (3.0, 2.0, 4.0, [4])
    """
    x = np.asarray(samples, dtype=np.float64)
    if x.size == 0:
        raise ValueError("no samples to summarise")
    q25, median, q75 = (float(v) for v in np.percentile(x, [25, 50, 75]))
    return {
        "median": median,
        "q25": q25,
        "q75": q75,
        "ci95": list(median_ci(x)),
        "samples": [float(v) for v in x],
        "outliers": outliers(x),
    }


def outliers(samples: Samples) -> list[int]:
    """Indices of samples outside Tukey's fences (1.5 IQR beyond the quartiles).

    Examples
    --------
    >>> outliers([10, 11, 12, 11, 10, 30])
    [5]
    """
    x = np.asarray(samples, dtype=np.float64)
    q25, q75 = np.percentile(x, [25, 75])
    iqr = q75 - q25
    low, high = q25 - 1.5 * iqr, q75 + 1.5 * iqr
    return [int(i) for i in np.flatnonzero((x < low) | (x > high))]


def _bootstrap_medians(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    index = rng.integers(0, x.size, size=(BOOTSTRAP, x.size))
    return np.median(x[index], axis=1)


def median_ci(samples: Samples, level: float = 0.95) -> tuple[float, float]:
    """Percentile-bootstrap confidence interval of the median.

    Examples
    --------
    >>> low, high = median_ci([1.0, 1.1, 0.9, 1.05, 0.95])
    >>> bool(0.9 <= low <= 1.0 <= high <= 1.1)
    True
    """
    x = np.asarray(samples, dtype=np.float64)
    medians = _bootstrap_medians(x, np.random.default_rng(SEED))
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(medians, [tail, 100 - tail])
    return float(low), float(high)


def ratio_ci(
    samples: Samples, reference: Samples, level: float = 0.95
) -> tuple[float, tuple[float, float]]:
    """Ratio of medians ``median(samples) / median(reference)`` and its bootstrap CI.

    The two sample sets are resampled independently (they come from different processes).

    Examples
    --------
    >>> ratio, (low, high) = ratio_ci([2.0, 2.1, 1.9, 2.0, 2.05], [1.0, 1.02, 0.98, 1.0, 1.01])
    >>> round(ratio, 3), bool(low <= ratio <= high)
    (2.0, True)
    """
    x = np.asarray(samples, dtype=np.float64)
    y = np.asarray(reference, dtype=np.float64)
    rng = np.random.default_rng(SEED)
    ratios = _bootstrap_medians(x, rng) / _bootstrap_medians(y, rng)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(ratios, [tail, 100 - tail])
    return float(np.median(x) / np.median(y)), (float(low), float(high))


@dataclass(frozen=True)
class Change:
    """The verdict on one cell between two runs."""

    ratio: float  # new median / old median
    p_value: float
    verdict: str  # "slower", "faster" or "same"


def change(old: Samples, new: Samples, *, alpha: float = 0.05, min_effect: float = 0.10) -> Change:
    """Two-sided Mann-Whitney U test plus a minimum effect size on the ratio of medians.

    A change counts only when it is both significant (``p < alpha``) and at least ``min_effect``
    (10% by default) in size, so noise-level differences between large samples do not fail CI.
    The U test needs no equal sample counts and no normality.

    Examples
    --------
    >>> change([1.0, 1.01, 0.99, 1.02, 0.98], [1.5, 1.52, 1.49, 1.51, 1.48]).verdict
    'slower'
    >>> change([1.0, 1.01, 0.99], [1.0, 1.02, 0.98, 1.01]).verdict
    'same'
    """
    from scipy.stats import mannwhitneyu

    x = np.asarray(old, dtype=np.float64)
    y = np.asarray(new, dtype=np.float64)
    ratio = float(np.median(y) / np.median(x))
    if np.all(x == x[0]) and np.all(y == x[0]):
        return Change(ratio, 1.0, "same")
    p_value = float(mannwhitneyu(x, y, alternative="two-sided").pvalue)
    verdict = "same"
    if p_value < alpha and ratio >= 1 + min_effect:
        verdict = "slower"
    elif p_value < alpha and ratio <= 1 / (1 + min_effect):
        verdict = "faster"
    return Change(ratio, p_value, verdict)
