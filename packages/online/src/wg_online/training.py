"""Training and prediction runs over files, with VW-style progress lines and a final summary."""

from __future__ import annotations

import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import numpy as np
from wg_io.output import write_bytes

from wg_online.model import Model, Options
from wg_online.model_file import check_compatible, load_model, save_model
from wg_online.parsing import Parsed, iter_file, read_cache, write_cache
from wg_online.schedule import Schedule
from wg_online.vw_learner import PassRunner, VWFlags, VWLearner, iter_vw_file

HEADER = (
    "average  since         example        example        current        current  current\n"
    "loss     last          counter         weight          label        predict features"
)


@dataclass
class RunStats:
    """Totals of a run: examples, summed importance, summed loss, skipped lines, seconds."""

    examples: int = 0
    weight: float = 0.0
    loss: float = 0.0
    skipped: int = 0
    seconds: float = 0.0

    @property
    def average_loss(self) -> float:
        return self.loss / self.weight if self.weight else float("nan")

    def summary(self) -> str:
        rate = self.examples / self.seconds if self.seconds else float("inf")
        loss = f"{self.average_loss:.6f}" if self.weight else "n.a."
        lines = [
            "finished run",
            f"number of examples = {self.examples}",
            f"weighted example sum = {self.weight:.6f}",
            f"average loss = {loss}",
            f"examples/s = {rate:.0f}",
        ]
        if self.skipped:
            lines.append(f"skipped bad lines = {self.skipped}")
        return "\n".join(lines)


class Progress:
    """Prints a VW-style line at examples 1, 2, 4, 8, ... (the run is cut at those counts)."""

    def __init__(self, out: TextIO | None, noconstant: bool = False) -> None:
        self.noconstant = noconstant
        self.out, self.next, self.since_loss, self.since_weight = out, 1, 0.0, 0.0
        self.stats = RunStats()

    def feed(self, model: Model, data: Parsed, learn: bool, threads: int) -> np.ndarray:
        n, start, parts = len(data), 0, []
        while start < n:
            stop = n if self.out is None else min(n, start + self.next - self.stats.examples)
            preds, loss, weight = model.run(_slice(data, start, stop), learn, threads)
            parts.append(preds)
            self.stats.examples += stop - start
            self.stats.loss += loss
            self.stats.weight += weight
            self.since_loss += loss
            self.since_weight += weight
            if self.out is not None and self.stats.examples == self.next:
                self._line(data, stop - 1, float(preds[-1]))
                self.next *= 2
            start = stop
        return np.concatenate(parts) if parts else np.empty(0, np.float32)

    def _line(self, data: Parsed, i: int, pred: float) -> None:
        s = self.stats
        if self.next == 1:
            print(HEADER, file=self.out)
        since = self.since_loss / self.since_weight if self.since_weight else float("nan")
        label = "unknown" if np.isnan(data.labels[i]) else f"{data.labels[i]:.4f}"
        nfeat = int(data.offsets[i + 1] - data.offsets[i]) + (not self.noconstant)
        print(
            f"{s.average_loss:<8.6f} {since:<8.6f} {s.examples:>12} {s.weight:>14.1f} "
            f"{label:>14} {pred:>14.4f} {nfeat:>8}",
            file=self.out,
        )
        self.since_loss = self.since_weight = 0.0


def _slice(data: Parsed, lo: int, hi: int) -> Parsed:
    if lo == 0 and hi == len(data):
        return data
    off = data.offsets[lo : hi + 1]
    a, b = int(off[0]), int(off[-1])
    return Parsed(
        data.labels[lo:hi],
        data.importances[lo:hi],
        off - a,
        data.idx[a:b],
        data.val[a:b],
        data.ns[a:b],
    )


def _blocks(
    data: str | Path,
    cache: str | Path | None,
    skip: bool,
    tags: bool,
    ns_map: tuple[str, ...],
    transforms: tuple[str, ...] = (),
) -> Iterator[Parsed]:
    if cache is not None and not tags:
        cached = read_cache(cache, data, ns_map, transforms)
        if cached is not None:
            yield from cached
            return
    kept: list[Parsed] = []
    # blocks are trained on and dropped unless a cache keeps them: then their arrays may be reused
    blocks = iter_file(data, skip, with_tags=tags, namespace_map=ns_map, reuse=cache is None,
                       transforms=transforms)  # fmt: skip
    for block in blocks:
        if cache is not None:
            kept.append(block)
        yield block
    if cache is not None and not tags:
        write_cache(cache, kept, data, ns_map, transforms)


def train(
    data: str | Path,
    model_out: str | Path | None,
    options: Options,
    initial: str | Path | None = None,
    passes: int = 1,
    cache: str | Path | None = None,
    threads: int = 1,
    skip_bad_lines: bool = False,
    save_resume: bool = False,
    predictions: str | Path | None = None,
    progress: TextIO | None = None,
    overrides: dict | None = None,
    vw: VWFlags | None = None,
    schedule: Schedule | None = None,
) -> RunStats:
    """Train on a VW text file and write the model (nothing is written if any line is bad).

    With ``vw`` (``--vwcompat``) training is Vowpal Wabbit's own learner with those flags
    (:mod:`wg_online.vw_learner`): same predictions as ``vw --loss_function logistic``.
    ``schedule`` holds FW's ``--holdout_after``, ``--predictions_after`` and
    ``--prediction_model_delay`` (:mod:`wg_online.schedule`).

    Examples
    --------
    >>> import tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> with open(os.path.join(d, "t.vw"), "w") as f:
    ...     _ = f.write("1 | a\\n-1 | b\\n" * 50)
    >>> stats = train(os.path.join(d, "t.vw"), os.path.join(d, "m.wgm"), Options())
    >>> stats.examples, stats.average_loss < 0.3
    (100, True)
    """
    if passes > 1 and str(data) == "-" and cache is None:
        raise ValueError("several passes over standard input need a cache: add -c")
    sched = schedule or Schedule()
    if vw is not None:
        _check_vw(vw, sched, options, threads, initial)
        return _train_vw(data, model_out, options, vw, passes, skip_bad_lines, save_resume,
                         predictions, progress)  # fmt: skip
    model = _start_model(options, initial, overrides)
    prog = Progress(progress, model.options.noconstant)
    begin = time.perf_counter()
    o = model.options
    each_pass = (_blocks(data, cache, skip_bad_lines, False, o.namespace_map, o.feature_specs)
                 for _ in range(passes))  # fmt: skip
    blocks = (block for one_pass in each_pass for block in one_pass)
    preds_out = [_train_block(model, block, prog, sched, data, threads) for block in blocks]
    prog.stats.seconds = time.perf_counter() - begin
    _check_weights(model, data)
    sources = [p for p in (data, cache) if p is not None and str(p) != "-"]
    if predictions is not None:
        read = [*sources, initial] if initial is not None else sources
        _write_predictions(predictions, sched.kept_predictions(_joined(preds_out)), None, read)
    if model_out is not None:  # -f may be the -i model (read whole, replaced atomically, as VW)
        save_model(model, model_out, save_resume, inputs=sources)
    if progress:
        print(prog.stats.summary(), file=progress)
    return prog.stats


def _check_vw(
    vw: VWFlags, sched: Schedule, options: Options, threads: int, initial: str | Path | None
) -> None:
    if sched != Schedule():
        raise ValueError(
            "--holdout_after, --predictions_after and --prediction_model_delay are "
            "FW's: drop them or --vwcompat (VW's holdout is --holdout_period)"
        )
    vw.check(options, threads, initial)


def _joined(preds: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(preds) if preds else np.empty(0, np.float32)


def _train_block(
    model: Model, block: Parsed, prog: Progress, sched: Schedule, data: str | Path, threads: int
) -> np.ndarray:
    """Train on one block (its progressive predictions), stopping at non-finite weights."""
    prog.stats.skipped += block.skipped
    preds = sched.run_block(prog, model, block, threads)
    _check_finite(preds, block, data, prog.stats.examples)
    _check_layers(model, block, data, prog.stats.examples)
    return preds


def _start_model(options: Options, initial: str | Path | None, overrides: dict | None) -> Model:
    """A new model, or the ``-i`` model if its options agree with those typed."""
    if initial is None:
        return Model.new(options)
    model = load_model(initial)
    check_compatible(model, overrides or {}, initial)
    return model


def _check_weights(model: Model, data: str | Path) -> None:
    if not (np.isfinite(model.w).all() and np.isfinite(model.v).all()):
        raise ValueError(
            f"{data}: training made weights infinite or NaN (learning rate "
            f"{model.options.learning_rate:g}); lower -l. No model was written"
        )


def _check_layers(model: Model, block: Parsed, data: str | Path, seen: int) -> None:
    """Stop after the first block that leaves a deep model's layers non-finite (a deep model
    turns a NaN logit into p = 0.5, so its predictions do not show it)."""
    if model.nn.size and not np.isfinite(model.nn).all():
        o = model.options
        raise ValueError(
            f"{data}: deep training made layer weights infinite or NaN by example {seen} "
            f"(in the block from line {block.first_line}); lower "
            f"--nn_learning_rate ({o.nn_learning_rate:g}), --ffm_learning_rate or -l. "
            "No model was written"
        )


def _check_finite(preds: np.ndarray, block: Parsed, data: str | Path, seen: int) -> None:
    """Stop at the first example whose prediction is NaN (its weights are not finite)."""
    bad = np.flatnonzero(np.isnan(preds))
    if len(bad):
        k = int(bad[0])
        number = seen - len(preds) + k + 1
        raise ValueError(
            f"{data}: example {number} (from line {block.first_line + k} on) has a NaN "
            "prediction: training made its weights infinite or NaN; lower -l. "
            "No model was written"
        )


def _train_vw(
    data: str | Path,
    model_out: str | Path | None,
    options: Options,
    flags: VWFlags,
    passes: int,
    skip_bad_lines: bool,
    save_resume: bool,
    predictions: str | Path | None,
    progress: TextIO | None,
) -> RunStats:
    """``--vwcompat``: VW's learner, holdout and early stopping; progressive probabilities."""
    learner = VWLearner(options, flags)
    runner = PassRunner(learner, passes, str(data))
    prog = Progress(progress, options.noconstant)
    begin = time.perf_counter()
    preds_out: list[np.ndarray] = []
    kept: list[tuple[Parsed, np.ndarray]] | None = [] if passes > 1 else None
    for done in range(passes):
        blocks = iter_vw_file(data, skip_bad_lines) if not done else kept or []
        for block, lines in blocks:
            if kept is not None and not done:
                kept.append((block, lines))
            prog.stats.skipped += block.skipped if not done else 0
            runner.start_block(lines)
            preds_out.append(prog.feed(runner, block, True, 1))
        if runner.end_pass():
            break
    prog.stats.seconds = time.perf_counter() - begin
    sources = [data] if str(data) != "-" else []
    if predictions is not None:
        preds_all = np.concatenate(preds_out) if preds_out else np.empty(0, np.float32)
        _write_predictions(predictions, preds_all, None, sources)
    if model_out is not None:
        save_model(learner.to_model(), model_out, save_resume, inputs=sources)
    if progress:
        print(prog.stats.summary(), file=progress)
    return prog.stats


COMPILING = (
    "wg online: compiling the numba kernels (the first run after an install or an upgrade "
    "takes about a minute; later runs load them from numba's cache)"
)


def warm_up(notice: TextIO | None, after: float = 1.0) -> float:
    """Load the compiled kernels (numba compiles them on a cold cache), telling ``notice`` so.

    Trains a throwaway model on a two-line file through the path every run takes. With numba's
    cache warm that costs milliseconds; on a cold one the parser alone compiles for ~40 s, and
    if the warm-up runs longer than ``after`` seconds :data:`COMPILING` goes to ``notice`` once,
    so that a first run does not look hung. Returns the seconds it took.
    """
    start = time.perf_counter()
    timer = threading.Timer(after, lambda: print(COMPILING, file=notice, flush=True))
    if notice is not None:
        timer.start()
    try:
        with tempfile.TemporaryDirectory(prefix="wg-online-warm-up-") as tmp:
            path = Path(tmp) / "warm.vw"
            path.write_bytes(b"1 'tag|a x\n-1 |b y:2\n")
            train(path, None, Options(bit_precision=2))
    finally:
        timer.cancel()
    return time.perf_counter() - start


def predict(
    model_path: str | Path,
    data: str | Path,
    predictions: str | Path | None,
    skip_bad_lines: bool = False,
    progress: TextIO | None = None,
    on_model: Callable[[Model], None] | None = None,
) -> RunStats:
    """Write one probability per example (``-p``; ``-`` is stdout), with the tag if present."""
    model = load_model(model_path, mmap=True)
    if on_model:
        on_model(model)
    prog = Progress(progress, model.options.noconstant)
    begin = time.perf_counter()
    preds, tags = [], []
    o = model.options
    for block in _blocks(data, None, skip_bad_lines, True, o.namespace_map, o.feature_specs):
        prog.stats.skipped += block.skipped
        preds.append(prog.feed(model, block, False, 1))
        tags.extend(block.tags)
    prog.stats.seconds = time.perf_counter() - begin
    if predictions is not None:
        sources = [p for p in (model_path, data) if str(p) != "-"]
        _write_predictions(predictions, np.concatenate(preds) if preds else [], tags, sources)
    if progress:
        print(prog.stats.summary(), file=progress)
    return prog.stats


def fixed6_lines(preds: np.ndarray) -> bytes | None:
    """``f"{p:.6f}\\n"`` for every float32 probability in [0, 1], as Python writes it, in one go
    (Python's formatting took 0.6 us a line: 12 of the 16 ms of predicting 20k examples).

    A float32 times 10**6 is exact in float64 (24 + 14 significant bits), so rounding it half to
    even gives the digits of Python's correctly rounded ``.6f``. Anything else (other dtypes,
    NaN, values outside [0, 1]) gives None: the caller formats those one by one.

    Examples
    --------
    >>> fixed6_lines(np.array([0.25, 1 / 128, 1.0], np.float32))
    b'0.250000\\n0.007812\\n1.000000\\n'
    """
    if preds.dtype != np.float32 or not bool(np.all((preds >= 0) & (preds <= 1))):
        return None
    micro = np.rint(preds.astype(np.float64) * 1e6).astype(np.int64)
    out = np.empty((micro.size, 9), np.uint8)
    out[:, 0] = 48 + micro // 1_000_000
    out[:, 1] = ord(".")
    for i in range(6):
        out[:, 2 + i] = 48 + micro // 10 ** (5 - i) % 10
    out[:, 8] = ord("\n")
    return out.tobytes()


def _write_predictions(
    path: str | Path, preds, tags: list[str | None] | None, inputs: list[str | Path]
) -> None:
    preds = np.asarray(preds)
    if tags is not None and len(tags) != len(preds):
        raise ValueError(f"{len(preds)} predictions but {len(tags)} tags")
    fast = fixed6_lines(preds) if not tags or tags.count(None) == len(tags) else None
    if fast is not None:
        data = fast
    else:
        probs = np.asarray(preds, np.float64).tolist()  # Python floats format twice as fast
        data = "".join(
            f"{p:.6f}" + ("" if t is None else f" {t}") + "\n"
            for p, t in zip(probs, tags or [None] * len(probs), strict=True)
        ).encode()
    if str(path) == "-":
        buffer = getattr(sys.stdout, "buffer", None)
        if buffer is None:  # a text-only stream (some test runners, notebooks)
            sys.stdout.write(data.decode())
            return
        sys.stdout.flush()
        buffer.write(data)
        buffer.flush()
        return
    write_bytes(path, data, inputs=inputs)
