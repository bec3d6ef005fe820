"""A scikit-learn-style estimator over VW text lines."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from wg_online.model import Model, Options, OptionsError
from wg_online.model_file import load_model, save_model
from wg_online.parsing import Parsed, parse_lines

Lines = Iterable[str] | str


class OnlineLearner:
    """Logistic regression (plus optional FFM) trained online with AdaGrad on VW text lines.

    ``__init__`` only stores hyperparameters (the :class:`~wg_online.model.Options` fields plus
    ``threads``, ``passes`` and ``skip_bad_lines``); learned state lives in ``model_``.

    Examples
    --------
    >>> clf = OnlineLearner(learning_rate=0.5).fit(["1 | good", "-1 | bad"] * 20)
    >>> clf.predict_proba(["| good", "| bad"])[:, 1].round(2).tolist()
    [0.92, 0.09]
    >>> clf.predict(["| good"]).tolist()
    [1]
    """

    def __init__(
        self, *, threads: int = 1, passes: int = 1, skip_bad_lines: bool = False, **options: Any
    ) -> None:
        self.threads = threads
        self.passes = passes
        self.skip_bad_lines = skip_bad_lines
        self.options = options

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Hyperparameters, as scikit-learn's ``get_params``."""
        return {
            "threads": self.threads,
            "passes": self.passes,
            "skip_bad_lines": self.skip_bad_lines,
            **self.options,
        }

    def _parse(self, lines: Lines | Parsed) -> Parsed:
        if isinstance(lines, Parsed):
            return lines
        text = list(lines) if not isinstance(lines, str) else lines
        ns_map = tuple(self.options.get("namespace_map", ()))
        return parse_lines(text, self.skip_bad_lines, ns_map)

    def _checked_options(self) -> Options:
        """The hyperparameters as validated :class:`Options` (raises :class:`OptionsError`)."""
        for name in ("threads", "passes"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise OptionsError(f"{name}={value!r}: use a whole number >= 1")
        if not isinstance(self.skip_bad_lines, bool):
            raise OptionsError(f"skip_bad_lines={self.skip_bad_lines!r}: use True or False")
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in self.options.items()}
        try:
            return Options(**values)
        except TypeError as exc:  # an unknown keyword
            raise OptionsError(f"{exc}; see wg_online.model.Options for the names") from None

    def partial_fit(self, lines: Lines | Parsed) -> OnlineLearner:
        """Learn from one more batch of labelled lines (one pass); returns self."""
        if not hasattr(self, "model_"):
            self.model_ = Model.new(self._checked_options())
        self.model_.run(self._parse(lines), learn=True, threads=self.threads)
        return self

    def fit(self, lines: Lines | Parsed) -> OnlineLearner:
        """Start from scratch and learn ``passes`` passes over the lines; returns self."""
        options = self._checked_options()
        data = self._parse(lines)
        self.model_ = Model.new(options)
        for _ in range(self.passes):
            self.partial_fit(data)
        return self

    def predict_proba(self, lines: Lines | Parsed) -> np.ndarray:
        """Probabilities of (negative, positive) class, shape (n, 2)."""
        if not hasattr(self, "model_"):
            raise RuntimeError("this OnlineLearner is not fitted yet: call fit or partial_fit")
        p, _, _ = self.model_.run(self._parse(lines), learn=False)
        p64 = p.astype(np.float64)
        return np.column_stack([1.0 - p64, p64])

    def predict(self, lines: Lines | Parsed) -> np.ndarray:
        """Labels 1 or -1 (threshold 0.5)."""
        return np.where(self.predict_proba(lines)[:, 1] >= 0.5, 1, -1)

    @property
    def weights_(self) -> np.ndarray:
        """The logistic-regression weight table (``2 ** bit_precision`` floats)."""
        return self.model_.w

    def save(self, path: str | Path, save_resume: bool = False) -> None:
        """Write the model file (see :mod:`wg_online.model_file`)."""
        save_model(self.model_, path, save_resume)

    @classmethod
    def load(cls, path: str | Path) -> OnlineLearner:
        """A learner whose model is read from ``path``."""
        model = load_model(path)
        learner = cls(**model.options.asdict())
        learner.model_ = model
        return learner
