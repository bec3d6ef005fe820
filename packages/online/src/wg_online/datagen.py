"""Synthetic data with a known answer: a Zipf click-through set and FW's "animal eats food".

Both return VW text plus the true probability of every example, so the best possible (oracle)
logloss is known and a learner's test logloss can be judged against it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Dataset:
    """VW text (one example per line), labels (1/-1) and the true P(label = 1) of each line."""

    text: bytes
    labels: np.ndarray
    true_prob: np.ndarray

    @property
    def oracle_logloss(self) -> float:
        """Logloss of the true probabilities on the drawn labels."""
        return logloss(self.true_prob, self.labels)

    def lines(self) -> list[str]:
        return self.text.decode().splitlines()


def logloss(prob: np.ndarray, labels: np.ndarray) -> float:
    """Mean logistic loss of probabilities against labels in {1, -1} (or {1, 0}).

    Examples
    --------
    >>> round(logloss(np.array([0.5, 0.5]), np.array([1, -1])), 4)
    0.6931
    """
    p = np.clip(np.asarray(prob, np.float64), 1e-15, 1 - 1e-15)
    y = np.asarray(labels) > 0
    return float(-np.mean(np.where(y, np.log(p), np.log1p(-p))))


def _text(labels: np.ndarray, columns: list[tuple[str, str, np.ndarray]]) -> bytes:
    parts = [np.where(labels > 0, "1", "-1").astype(object)]
    for ns, prefix, ids in columns:
        parts.append(f" |{ns} {prefix}" + ids.astype(str).astype(object))
    rows = parts[0]
    for col in parts[1:]:
        rows = rows + col
    return ("\n".join(rows.tolist()) + "\n").encode()


def ctr(n: int, seed: int = 0, vocab: int = 1000, zipf: float = 1.2, rank: int = 2) -> Dataset:
    """Five namespaces ``a``..``e`` with one Zipf-distributed categorical feature each.

    True model: logit = bias + sum of per-value weights + a rank-``rank`` interaction between
    ``a`` and ``b`` (what ``-q ab`` or an FFM can learn).

    Examples
    --------
    >>> d = ctr(3, seed=1)
    >>> d.lines()[0].count("|"), len(d.labels)
    (5, 3)
    """
    rng = np.random.default_rng(seed)
    true = np.random.default_rng(12345)  # the same true model for every seed
    weights = true.normal(0, 0.7, (5, vocab))
    ua, ub = true.normal(0, 0.6, (vocab, rank)), true.normal(0, 0.6, (vocab, rank))
    ids = (rng.zipf(zipf, (5, n)) - 1) % vocab
    logit = -1.0 + weights[np.arange(5)[:, None], ids].sum(0)
    logit += np.einsum("ij,ij->i", ua[ids[0]], ub[ids[1]])
    prob = 1 / (1 + np.exp(-logit))
    labels = np.where(rng.random(n) < prob, 1, -1)
    cols = [(ns, f"{ns}", ids[i]) for i, ns in enumerate("abcde")]
    return Dataset(_text(labels, cols), labels, prob)


def animals(
    n: int, seed: int = 0, split: str = "train", n_animals: int = 500, n_foods: int = 500
) -> Dataset:
    """FW's "animal eats food": ``|A animal |B food``; an animal eats food of its diet type.

    Animals and foods have hidden types; ``split="easy"`` draws pairs from the training
    distribution, ``"hard"`` only animal-food pairs that the training split never shows
    (animals with odd ids meet foods with odd ids only there), so only a model of the
    interaction generalises.

    Examples
    --------
    >>> animals(2, split="hard").lines()[0].split("|")[1].startswith("A animal")
    True
    """
    rng = np.random.default_rng({"train": seed, "easy": seed + 1, "hard": seed + 2}[split])
    types = np.random.default_rng(777)
    animal_type, food_type = types.integers(0, 4, n_animals), types.integers(0, 4, n_foods)
    a = rng.integers(0, n_animals, n)
    f = rng.integers(0, n_foods, n)
    unseen = (a % 2 == 1) & (f % 2 == 1)
    if split == "hard":
        a, f = a | 1, f | 1
    else:
        f = np.where(unseen, f - 1, f)
    eats = animal_type[a] == food_type[f]
    prob = np.where(eats, 0.95, 0.05)
    labels = np.where(rng.random(n) < prob, 1, -1)
    return Dataset(_text(labels, [("A", "animal", a), ("B", "food", f)]), labels, prob)


def pair_product(n: int, seed: int = 0, vocab: int = 50, strength: float = 2.0) -> Dataset:
    """Four namespaces ``a``..``d``, a uniform categorical feature each; the label depends on
    two pair interactions, ``p1 = e_a e_b`` and ``p2 = e_c e_d`` (hidden values ``e`` ~ N(0, 1)),
    through ``logit = p1 + p2 + strength * p1 * p2``.

    Logistic regression sees no main effect; an FFM learns the pairs ``p1 + p2`` but not their
    product, a four-way interaction; deep layers over the FFM's field-pair scores can.

    Examples
    --------
    >>> d = pair_product(4, seed=1)
    >>> d.lines()[0].count("|"), round(d.oracle_logloss, 3) < 0.7
    (4, True)
    """
    rng = np.random.default_rng(seed)
    hidden = np.random.default_rng(2024).normal(0, 1, (4, vocab))  # the same for every seed
    ids = rng.integers(0, vocab, (4, n))
    e = hidden[np.arange(4)[:, None], ids]
    p1, p2 = e[0] * e[1], e[2] * e[3]
    prob = 1 / (1 + np.exp(-(p1 + p2 + strength * p1 * p2)))
    labels = np.where(rng.random(n) < prob, 1, -1)
    return Dataset(_text(labels, [(ns, ns, ids[i]) for i, ns in enumerate("abcd")]), labels, prob)
