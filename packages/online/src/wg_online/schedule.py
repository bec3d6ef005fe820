"""Fwumious Wabbit's run schedule: ``--holdout_after``, ``--predictions_after`` and
``--prediction_model_delay`` (``main.rs:234-269``), over the examples of a training run.

The example counter ``n`` is 1-based and runs over the whole run (every pass).

* ``holdout_after N`` (N > 0): only examples ``n < N`` update the model; later ones are
  predicted and counted in the loss (FW ignores it when a delay is set, and so do we);
* ``predictions_after N``: ``-p`` gets predictions of the examples ``n > N`` only;
* ``prediction_model_delay D`` (D > 0): example ``n`` is predicted by the model trained on
  examples ``1 .. n - D - 1``; the last D examples are never learned. The examples wait in a
  first-in first-out queue, so training runs an example at a time.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from wg_online.parsing import Parsed

#: (data, learn) -> predictions: the run's progress-counting feed.
Feed = Callable[[Parsed, bool], np.ndarray]


class ScheduleError(ValueError):
    """A schedule flag out of range; the message names the flag."""


@dataclass
class Schedule:
    """The three flags (0 = off) and the run's state: examples seen, the delay queue."""

    holdout_after: int = 0
    predictions_after: int = 0
    prediction_model_delay: int = 0
    seen: int = 0
    queue: deque[Parsed] = field(default_factory=deque)

    def __post_init__(self) -> None:
        for name in ("holdout_after", "predictions_after", "prediction_model_delay"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ScheduleError(f"--{name} {value!r}: use a whole number >= 0 (0: off)")

    @property
    def active(self) -> bool:
        return bool(self.holdout_after or self.prediction_model_delay)

    def run_block(self, progress: Any, model: Any, data: Parsed, threads: int) -> np.ndarray:
        """Train on one block through ``progress.feed`` (``training.Progress``) in order."""
        if not self.active:
            self.seen += len(data)
            return progress.feed(model, data, True, threads)
        return self.feed(
            data,
            lambda part, learn: progress.feed(model, part, learn, threads),
            lambda part: model.run(part, True, threads),
        )

    def feed(self, data: Parsed, feed: Feed, learn_only: Callable[[Parsed], None]) -> np.ndarray:
        """Predict (and learn) one block in the schedule's order; returns its predictions.

        ``feed(data, learn)`` predicts (learning when asked) and counts the loss;
        ``learn_only(data)`` learns without counting (the delayed examples).
        """
        n = len(data)
        first, self.seen = self.seen + 1, self.seen + n
        if self.prediction_model_delay:
            return self._delayed(data, feed, learn_only)
        if not self.holdout_after:
            return feed(data, True)
        cut = int(np.clip(self.holdout_after - first, 0, n))  # examples n < N are learned
        parts = [feed(take(data, 0, cut), True)] if cut else []
        if cut < n:
            parts.append(feed(take(data, cut, n), False))
        return np.concatenate(parts) if len(parts) > 1 else parts[0]

    def _delayed(self, data: Parsed, feed: Feed, learn_only: Callable[[Parsed], None]):
        preds = np.empty(len(data), np.float32)
        for i in range(len(data)):
            one = take(data, i, i + 1, copy=True)  # queued past this block's buffers
            preds[i] = feed(one, False)[0]
            self.queue.append(one)
            if len(self.queue) > self.prediction_model_delay:
                learn_only(self.queue.popleft())
        return preds

    def kept_predictions(self, preds: np.ndarray) -> np.ndarray:
        """The predictions ``-p`` writes: those of examples ``n > predictions_after``."""
        return preds[self.predictions_after :]


def take(data: Parsed, lo: int, hi: int, copy: bool = False) -> Parsed:
    """Examples ``lo:hi`` of ``data`` (views, or copies with ``copy``).

    Examples
    --------
    >>> from wg_online.parsing import parse_lines
    >>> part = take(parse_lines(["1 | a", "-1 | b c", "1 | d"]), 1, 3)
    >>> part.labels.tolist(), part.offsets.tolist()
    ([-1.0, 1.0], [0, 2, 3])
    """
    off = data.offsets[lo : hi + 1]
    a, b = int(off[0]), int(off[-1])
    arrays: tuple[np.ndarray, ...] = (data.labels[lo:hi], data.importances[lo:hi], off - a,
                                      data.idx[a:b], data.val[a:b], data.ns[a:b])  # fmt: skip
    if copy:
        arrays = tuple(np.array(x) for x in arrays)
    return Parsed(*arrays)
