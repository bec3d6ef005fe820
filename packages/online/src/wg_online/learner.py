"""A scikit-learn-style estimator over VW text lines."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from wg_online.model import Model, Options, OptionsError
from wg_online.model_file import load_model, save_model
from wg_online.parsing import Parsed, parse_lines
from wg_online.vw_learner import VW_ONLY, PassRunner, VWFlags, VWLearner, parse_vw

Lines = Iterable[str] | str


class OnlineLearner:
    """Logistic regression (plus optional FFM) trained online with AdaGrad on VW text lines.

    ``__init__`` only stores hyperparameters (the :class:`~wg_online.model.Options` fields plus
    ``threads``, ``passes`` and ``skip_bad_lines``); learned state lives in ``model_``.

    ``vwcompat=True`` trains with Vowpal Wabbit 9's own learner, as ``wg online train
    --vwcompat`` does (:class:`~wg_online.vw_learner.VWLearner`): VW's defaults, its flags as
    keywords (``sgd``, ``adaptive``, ``normalized``, ``invariant``, ``initial_t``, ``l1``,
    ``holdout_off``, ``holdout_period``, ``early_terminate``; ``learning_rate``, ``power_t``
    and ``l2`` as VW applies them), VW's number parsing, and with ``passes`` VW's holdout and
    early stopping. ``model_`` is then the model VW would save: it predicts as ``vw -t -i``.
    Training state that VW keeps but a model file does not (normalizer sums, example counter)
    lives in ``vw_``, so ``partial_fit`` goes on from a fitted learner, not a loaded one.

    Examples
    --------
    >>> clf = OnlineLearner(learning_rate=0.5).fit(["1 | good", "-1 | bad"] * 20)
    >>> clf.predict_proba(["| good", "| bad"])[:, 1].round(2).tolist()
    [0.92, 0.09]
    >>> clf.predict(["| good"]).tolist()
    [1]
    >>> vw = OnlineLearner(vwcompat=True).fit(["1 | good", "-1 | bad"] * 20)
    >>> vw.predict_proba(["| good", "| bad"])[:, 1].round(2).tolist()
    [0.86, 0.14]
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
        return self._parse_numbered(lines)[0]

    def _parse_numbered(self, lines: Lines | Parsed) -> tuple[Parsed, np.ndarray]:
        """The examples and each one's line number (VW's parsing rules with ``vwcompat``)."""
        if isinstance(lines, Parsed):
            return lines, lines.first_line + np.arange(len(lines))
        text = lines if isinstance(lines, str) else "\n".join(lines)
        if self.options.get("vwcompat") is True:
            return parse_vw(text.encode() + b"\n", "<lines>", 1, self.skip_bad_lines)
        options = self._checked_options()  # its --transform and --linear features too
        parsed = parse_lines(text, self.skip_bad_lines, options.namespace_map,
                             options.feature_specs)  # fmt: skip
        return parsed, np.empty(0, np.int64)

    def _checked_options(self) -> Options:
        """The hyperparameters as validated :class:`Options` (raises :class:`OptionsError`)."""
        return self._checked()[0]

    def _checked(self) -> tuple[Options, VWFlags | None]:
        """Validated :class:`Options`, and VW's flags with ``vwcompat`` (else None)."""
        for name in ("threads", "passes"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise OptionsError(f"{name}={value!r}: use a whole number >= 1")
        if not isinstance(self.skip_bad_lines, bool):
            raise OptionsError(f"skip_bad_lines={self.skip_bad_lines!r}: use True or False")
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in self.options.items()}
        vw = {k: values.pop(k) for k in VW_ONLY if k in values}
        try:
            options = Options(**values)
        except TypeError as exc:  # an unknown keyword
            raise OptionsError(f"{exc}; see wg_online.model.Options for the names") from None
        if not options.vwcompat:
            if vw:
                raise OptionsError(f"{next(iter(vw))} is a VW flag: it needs vwcompat=True")
            return options, None
        try:
            flags = VWFlags(**vw, learning_rate=values.get("learning_rate"),
                            power_t=options.power_t, l2=options.l2)  # fmt: skip
        except TypeError as exc:  # a VW flag of the wrong type
            raise OptionsError(f"VW flags {vw}: {exc}") from None
        flags.check(options, self.threads, None)
        return options, flags

    def partial_fit(self, lines: Lines | Parsed) -> OnlineLearner:
        """Learn from one more batch of labelled lines (one pass); returns self."""
        if not hasattr(self, "model_"):
            options, flags = self._checked()
            if flags is not None:
                return self._fit_vw(options, flags, lines, passes=1)
            self.model_ = Model.new(options)
        if hasattr(self, "vw_"):
            return self._fit_vw(self.vw_.options, self.vw_.flags, lines, passes=1)
        if self.model_.options.vwcompat:
            raise OptionsError(
                "partial_fit on a loaded vwcompat model: a model file does not keep VW's "
                "training state (normalizer sums, example counter); fit on all the data instead"
            )
        self.model_.run(self._parse(lines), learn=True, threads=self.threads)
        return self

    def fit(self, lines: Lines | Parsed) -> OnlineLearner:
        """Start from scratch and learn ``passes`` passes over the lines; returns self."""
        options, flags = self._checked()
        self.__dict__.pop("vw_", None)
        if flags is not None:
            return self._fit_vw(options, flags, lines, self.passes)
        data = self._parse(lines)
        self.model_ = Model.new(options)
        for _ in range(self.passes):
            self.partial_fit(data)
        return self

    def _fit_vw(
        self, options: Options, flags: VWFlags, lines: Lines | Parsed, passes: int
    ) -> OnlineLearner:
        """``passes`` passes of VW's learner (a new one unless ``vw_`` exists), with VW's
        holdout and early stopping; ``model_`` becomes the model VW would save."""
        data, numbers = self._parse_numbered(lines)
        if not hasattr(self, "vw_"):
            self.vw_ = VWLearner(options, flags)
        runner = PassRunner(self.vw_, passes, "<lines>")
        for _ in range(passes):
            runner.start_block(numbers)
            runner.run(data, learn=True)
            if runner.end_pass():
                break
        self.model_ = self.vw_.to_model()
        return self

    def predict_proba(self, lines: Lines | Parsed) -> np.ndarray:
        """Probabilities of (negative, positive) class, shape (n, 2)."""
        if not hasattr(self, "model_"):
            raise RuntimeError("this OnlineLearner is not fitted yet: call fit or partial_fit")
        p, _, _ = self.model_.run(self._parse(lines), learn=False)  # vwcompat: as `vw -t -i`
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
