"""``--vwcompat``: Vowpal Wabbit 9's logistic regression with VW's own flags and defaults.

:class:`VWFlags` resolves VW's modes (``--sgd``, ``--adaptive``, ``--normalized``,
``--invariant``; by default all three updates are on), its learning-rate and ``initial_t``
defaults, and refuses what it cannot reproduce exactly. :class:`VWLearner` holds VW's state
(weights, adaptive sums, normalizer maxima, the float64 globals) and runs
:func:`wg_online.vw_step.vw_block`. Predictions equal the ``vowpalwabbit`` wheel's within 1e-6
(``tests/test_vw_learner.py``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from wg_online.model import Model, Options, OptionsError, _interaction_rows
from wg_online.parsing import Parsed, map_arrays

DEFAULT_ETA = 0.5
SGD_ETA = 10.0
#: VWFlags fields that only ``--vwcompat`` takes (the rest are wg options too).
VW_ONLY = ("sgd", "adaptive", "normalized", "invariant", "initial_t", "l1", "holdout_off",
           "holdout_period", "early_terminate")  # fmt: skip


@dataclass(frozen=True)
class VWFlags:
    """VW's gd options as typed on VW's command line (None: not given, VW's default applies).

    Examples
    --------
    >>> VWFlags().mode, VWFlags().eta
    ((True, True, True), 0.5)
    >>> VWFlags(sgd=True).mode, VWFlags(sgd=True).eta
    ((False, False, False), 10.0)
    >>> VWFlags(normalized=True).eta
    10.0
    """

    sgd: bool = False
    adaptive: bool = False
    normalized: bool = False
    invariant: bool = False
    learning_rate: float | None = None
    power_t: float = 0.5
    initial_t: float | None = None
    l1: float = 0.0
    l2: float = 0.0
    holdout_off: bool = False
    holdout_period: int = 10
    early_terminate: int = 3

    def __post_init__(self) -> None:
        if self.learning_rate is not None and not self.learning_rate > 0:
            raise OptionsError(f"--learning_rate {self.learning_rate}: use a value > 0")
        if not self.power_t >= 0:
            raise OptionsError(f"--power_t {self.power_t}: use a value >= 0")
        if self.l1 < 0 or self.l2 < 0:
            raise OptionsError(f"--l1 {self.l1} --l2 {self.l2}: use values >= 0")
        if self.initial_t is not None and not self.initial_t >= 0:
            raise OptionsError(f"--initial_t {self.initial_t}: use a value >= 0")
        if self.holdout_period < 1 or self.early_terminate < 1:
            raise OptionsError("--holdout_period and --early_terminate must be >= 1")

    @property
    def mode(self) -> tuple[bool, bool, bool]:
        """(adaptive, normalized, invariant): all on unless one of the four flags is given."""
        if not (self.sgd or self.adaptive or self.normalized or self.invariant):
            return True, True, True
        return self.adaptive, self.normalized, self.invariant

    @property
    def start_t(self) -> float:
        """VW's starting example counter: ``--initial_t``, or 1 in plain SGD (VW's rule)."""
        adaptive, normalized, _ = self.mode
        if self.initial_t is not None:
            return self.initial_t
        return 1.0 if not (adaptive or normalized) else 0.0

    @property
    def eta(self) -> float:
        """The float32 learning rate VW trains with (its header's ``learning rate``)."""
        from wg_online.vw_step import powf

        adaptive, normalized, _ = self.mode
        eta = self.learning_rate
        if eta is None:
            eta = DEFAULT_ETA if adaptive and normalized else SGD_ETA
        eta32 = np.float32(eta)
        if not (adaptive or normalized):
            eta32 = np.float32(
                eta32 * np.float32(powf(float(np.float32(self.start_t)), self.power_t))
            )
        return float(eta32)

    def check(self, options: Options, threads: int, initial: object) -> None:
        """Refuse what ``--vwcompat`` cannot reproduce exactly, naming the flag."""
        adaptive, normalized, invariant = self.mode
        if threads > 1:
            raise OptionsError(
                f"--threads {threads} with --vwcompat: VW's updates are sequential; "
                "drop --threads to reproduce its predictions"
            )
        if initial is not None:
            raise OptionsError(
                "-i with --vwcompat: a wg model file does not keep VW's training state "
                "(normalizer sums, example counter); train in one run instead"
            )
        if options.ffm_k:
            raise OptionsError("--ffm_k with --vwcompat: VW has no FFM; drop --ffm_k")
        if options.namespace_map:
            raise OptionsError("--namespace_map with --vwcompat: VW has no namespace map")
        if invariant and not (adaptive or normalized) and options.interactions:
            raise OptionsError(
                "--invariant without --adaptive or --normalized, with interactions, under "
                "--vwcompat: VW's sum of squared interaction features is not reproduced; "
                "add --adaptive or drop the interactions"
            )


def _masked_options(options: Options, flags: VWFlags) -> Options:
    """The wg options a trained VW model is saved under (weights synced: no L1/L2 left)."""
    return dataclasses.replace(
        options, vwcompat=True, learning_rate=flags.eta, power_t=flags.power_t, l2=0.0
    )


class VWLearner:
    """VW's gd state for one run: weights, per-feature sums and float64 globals.

    Examples
    --------
    >>> from wg_online.parsing import parse_bytes
    >>> lrn = VWLearner(Options(vwcompat=True), VWFlags())
    >>> margins, _, bad = lrn.run(parse_bytes(b"1 |user u0 |ad a1\\n-1 |user u43 |ad a0\\n"))
    >>> [round(float(m), 6) for m in margins], bad
    ([0.0, 0.235352], -1)
    """

    def __init__(self, options: Options, flags: VWFlags) -> None:
        self.options, self.flags = options, flags
        size = 1 << options.bit_precision
        adaptive, normalized, invariant = flags.mode
        self.w = np.zeros(size, np.float32)
        start_t = flags.start_t
        g0 = np.float32(start_t) if adaptive and start_t > 0 else np.float32(0.0)
        self.G = np.full(size, g0, np.float32)
        self.N = np.zeros(size, np.float32)
        self.R = np.zeros(size, np.float32)
        # t, S, T, M, contraction, gravity, holdout importance, unlabelled importance, clip range
        self.gs = np.array([start_t, start_t, start_t, 1.0, 1.0, 0.0, 0.0, 0.0, -50.0, 50.0])
        l1, l2 = (float(np.float32(v)) for v in (flags.l1, flags.l2))
        self.hp = np.array([flags.eta, float(np.float32(flags.power_t)), l1, l2])
        self.fl = np.array([adaptive, normalized, invariant, 1], np.int64)
        active = np.ones(256, np.bool_)
        if options.keep:
            active[:] = False
            active[[ord(c) for c in options.keep]] = True
        active[[ord(c) for c in options.ignore]] = False
        self._active, self._pairs = active, _interaction_rows(options.interactions)

    def run(
        self, data: Parsed, holdout: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, int]:
        """Progressive margins of ``data`` (VW's clipped raw prediction before each update).

        Returns (margins, [loss, weight, holdout loss, holdout weight], index of the example
        whose update made a weight non-finite, or -1; the margins then stop at it).
        """
        from wg_online.vw_step import vw_block

        if holdout is None:
            holdout = np.zeros(len(data), np.bool_)
        from wg_online.adagrad import Examples

        mask = np.uint64((1 << self.options.bit_precision) - 1)
        preds, sums, bad = vw_block(
            Examples(data.labels, data.importances, data.offsets, data.idx, data.val, data.ns),
            (self._active, self._pairs, not self.options.noconstant, mask),
            (self.w, self.G, self.N, self.R, self.gs),
            self.hp,
            self.fl,
            holdout,
        )
        return preds, sums, int(bad)

    def to_model(self) -> Model:
        """A wg model predicting as ``vw -t -i``: weights synced with the L1/L2 state."""
        from wg_online.vw_step import synced

        model = Model.new(_masked_options(self.options, self.flags))
        model.w[:] = synced(self.w, self.gs, self.hp[2] > 0)
        if self.fl[0]:
            model.acc[:] = self.G
        return model

    def copy_state(self) -> tuple[np.ndarray, ...]:
        """The arrays that make up the state (for the best pass under early stopping)."""
        return self.w.copy(), self.G.copy(), self.N.copy(), self.gs.copy()

    def restore_state(self, saved: tuple[np.ndarray, ...]) -> None:
        """Go back to a state from :meth:`copy_state`."""
        self.w[:], self.G[:], self.N[:], self.gs[:] = saved


def parse_vw(
    block: bytes | memoryview,
    source: str = "<input>",
    first_line: int = 1,
    skip_bad_lines: bool = False,
) -> tuple[Parsed, np.ndarray]:
    """Parse whole lines as VW reads them: (examples, line number of each example).

    Numbers take VW's rounding and any finite label is accepted (VW's logistic loss reads a
    label between -1 and 1 as a soft target). A bad line raises a
    :class:`~wg_online.vw_format.VWFormatError` naming file:line, unless skipped.

    Examples
    --------
    >>> parsed, lines = parse_vw(b"0.5 | a:0.001\\n\\n-1 | b\\n")
    >>> parsed.labels.tolist(), parsed.val.tolist()[0], lines.tolist()
    ([0.5, -1.0], 0.0009999999310821295, [1, 3])
    """
    from wg_online.kernels import parse_block
    from wg_online.vw_format import VWFormatError, parse_line

    buf = np.frombuffer(block, np.uint8)
    buf.flags.writeable = False
    mh, ml = map_arrays(())
    labels, imps, _, offsets, idx, val, ns, lines, bad, _ = parse_block(
        buf, skip_bad_lines, mh, ml, True
    )
    if len(bad) and not skip_bad_lines:
        lineno = first_line + int(bad[0])
        text = bytes(block).split(b"\n")[int(bad[0])]
        parse_line(text, source, lineno)  # raises, saying what is wrong
        raise VWFormatError(source, lineno, "line rejected", text.decode(errors="replace"),
                            "Please report this line as a wg_online bug")  # fmt: skip
    parsed = Parsed(labels, imps, offsets, idx, val, ns, [], first_line, len(bad))
    return parsed, lines + first_line


def iter_vw_file(
    path: str | Path, skip_bad_lines: bool = False
) -> Iterator[tuple[Parsed, np.ndarray]]:
    """:func:`parse_vw` over a data file (plain, gzip, zstd, ``-``), block by block."""
    from wg_online.kernels import count_newlines
    from wg_online.vw_format import open_binary, read_blocks

    first = 1
    with open_binary(path) as stream:
        for block in read_blocks(stream):
            yield parse_vw(block, str(path), first, skip_bad_lines)
            first += int(count_newlines(np.frombuffer(block, np.uint8)))


def logistic(margins: np.ndarray) -> np.ndarray:
    """VW's ``--link logistic``: ``1 / (1 + expf(-p))`` in float32, as glibc computes it.

    Examples
    --------
    >>> [round(float(p), 6) for p in logistic(np.array([0.0, 0.235351726], np.float32))]
    [0.5, 0.558568]
    """
    from wg_online.vw_step import link_logistic

    return link_logistic(np.asarray(margins, np.float32))


class PassRunner:
    """Feeds blocks to a :class:`VWLearner` with VW's holdout and pass rules.

    Holdout is on when there is more than one pass and ``--holdout_off`` is not given: the
    example at 1-based position ``n`` of every pass with ``n % holdout_period == 0`` is
    predicted and never learned. :meth:`run` has the signature of
    :meth:`wg_online.model.Model.run` so that :class:`wg_online.training.Progress` can drive it.
    """

    def __init__(self, learner: VWLearner, passes: int, source: str) -> None:
        self.learner, self.source = learner, source
        self.holdout_on = passes > 1 and not learner.flags.holdout_off
        self.position, self.hold_loss, self.hold_weight = 0, 0.0, 0.0
        self.lines = np.empty(0, np.int64)
        self.cursor = 0
        self.best_loss, self.no_win, self.best_state = np.inf, 0, learner.copy_state()

    def start_block(self, lines: np.ndarray) -> None:
        self.lines, self.cursor = lines, 0

    def run(self, data: Parsed, learn: bool, threads: int = 1) -> tuple[np.ndarray, float, float]:
        """Probabilities (VW's logistic link), loss and weight of the non-holdout examples."""
        n, period = len(data), self.learner.flags.holdout_period
        pos = self.position + 1 + np.arange(n)
        holdout = (pos % period == 0) if self.holdout_on else np.zeros(n, np.bool_)
        margins, sums, bad = self.learner.run(data, holdout)
        if bad >= 0:
            line = int(self.lines[self.cursor + bad]) if len(self.lines) else bad + 1
            raise ValueError(
                f"{self.source}:{line}: the update of this example made a weight infinite or "
                f"NaN (learning rate {self.learner.flags.eta:g}); lower -l or scale the feature "
                "values down. No model was written"
            )
        self.position += n
        self.cursor += n
        self.hold_loss += float(sums[2])
        self.hold_weight += float(sums[3])
        return logistic(margins), float(sums[0]), float(sums[1])

    def end_pass(self) -> bool:
        """VW's end of a pass: track the best holdout loss; True when training must stop."""
        loss = np.float32(self.hold_loss / self.hold_weight) if self.hold_weight else None
        self.position, self.hold_loss, self.hold_weight = 0, 0.0, 0.0
        if loss is None:
            return False
        if loss < self.best_loss:
            self.best_loss, self.no_win = float(loss), 0
            self.best_state = self.learner.copy_state()
            return False
        self.no_win += 1
        if self.no_win >= self.learner.flags.early_terminate:
            self.learner.restore_state(self.best_state)  # VW keeps the best pass's model files
            return True
        return False
