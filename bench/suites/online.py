"""wg_online against Vowpal Wabbit (the ``vowpalwabbit`` wheel, in-process) on the same data.

Targets (issue 5, same run, CPU time, ratio = VW time / ours): logistic regression text -> model
>= 5 x, with three interactions >= 4 x; FFM k=4 on 5 fields >= 8 x VW ``--lrqfa`` with test
logloss no worse than VW ``--lrq``; training from our cache >= 10 M examples/s (shown as the
``examples_per_s`` metric); single-example prediction (the serving path). The three ratios are
``targets`` (ours / VW <= 0.2, 0.25, 0.125), read by the headline table.

Peers: VW as configured for the targets (``--adaptive``, ``vw``) and in its default mode
(adaptive, normalized and invariant updates: ``vw_default``); River and scikit-learn in
:class:`LogisticPeers`.

Data: :func:`wg_online.datagen.ctr`, five Zipf-distributed namespaces with a known true model.
Every timed call trains from scratch and predicts a held-out test set; the gate compares test
logloss: an implementation may be timed only when its logloss is at most ``tolerance`` worse
than the oracle's.
"""

from __future__ import annotations

import atexit
import io
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

VW = ("vowpalwabbit", "pip install vowpalwabbit")
VW_LR = "--quiet --adaptive -l 0.5 --loss_function logistic -b 18"
#: VW's default update (adaptive, normalized, invariant), as a user who sets nothing runs it
VW_DEFAULT = "--quiet --loss_function logistic -b 18"
N_TEST = 10_000


def _probabilities(raw: np.ndarray) -> np.ndarray:
    """The first column (probabilities) of a predictions file given as its raw bytes."""
    return np.loadtxt(io.BytesIO(raw.tobytes()), usecols=0, ndmin=1)


def _logloss(raw: np.ndarray, labels: np.ndarray) -> float:
    """Test logloss of a predictions file given as its raw bytes."""
    p = np.clip(_probabilities(raw), 1e-15, 1 - 1e-15)
    return float(-np.mean(np.where(labels > 0, np.log(p), np.log1p(-p))))


class _Data:
    """Train/test files in a private temporary folder (built in setup, never timed).

    Timed in process CPU time (all threads), as the issue states its targets: VW and wg both
    parse on a second thread. ``metrics`` gives one call's wall time too (``wall_s``). A timed
    call ends with the bytes of the predictions file each tool wrote; reading the numbers out
    of them is the harness's work, done in ``error`` and ``metrics`` for both alike.
    """

    requires: ClassVar[Any] = {"vw": VW, "vw_default": VW, "vw_lrq": VW, "vw_lrqfa": VW}
    timeout = 600
    timer = "cpu"

    def _make(self, n: int, test_split: str = "") -> None:
        from wg_online.datagen import animals, ctr

        self.dir = Path(tempfile.mkdtemp(prefix="wg-bench-online-"))
        atexit.register(shutil.rmtree, self.dir, True)  # each cell is its own process
        self.train_path, self.test_path = self.dir / "train.vw", self.dir / "test.vw"
        self.train_path.write_bytes((animals(n) if test_split else ctr(n, seed=1)).text)
        test = animals(N_TEST, split=test_split) if test_split else ctr(N_TEST, seed=2)
        self.test_path.write_bytes(test.text)
        self.test_labels, self.oracle = test.labels, test.oracle_logloss
        self.n = n

    def _vw(self, flags: str, cache: bool = False, name: str = "vw") -> np.ndarray:
        import vowpalwabbit

        self.last = name
        model, preds = self.dir / "vw.model", self.dir / "vw.preds"
        source = f"--cache_file {self.dir / 'vw.cache'}" if cache else f"-d {self.train_path}"
        ws = vowpalwabbit.Workspace(f"{source} {flags} -f {model}")
        ws.run_parser()
        ws.finish()
        ws = vowpalwabbit.Workspace(
            f"--quiet -t -i {model} -d {self.test_path} --link logistic -p {preds}"
        )
        ws.run_parser()
        ws.finish()
        return np.frombuffer(preds.read_bytes(), np.uint8)

    def _wg(self, name: str = "wg", **options: Any) -> np.ndarray:
        from wg_online.model import Options
        from wg_online.training import predict, train

        self.last = name
        model, preds = self.dir / "wg.wgm", self.dir / "wg.preds"
        train(self.train_path, model, Options(bit_precision=18, **options))
        predict(model, self.test_path, preds)
        return np.frombuffer(preds.read_bytes(), np.uint8)

    def error(self, output: np.ndarray, expected: np.ndarray) -> float:
        """How much worse (absolute test logloss) the output is than the oracle's."""
        return max(0.0, _logloss(output, self.test_labels) - _logloss(expected, self.test_labels))

    def metrics(self, output: np.ndarray) -> dict[str, float]:
        """Test logloss, and the CPU time (all threads of this process) and wall time of one more
        call."""
        impl = getattr(self, f"impl_{self.last}")
        start, wall = time.process_time(), time.perf_counter()
        impl()
        cpu, wall = time.process_time() - start, time.perf_counter() - wall
        return {
            "test_logloss": _logloss(output, self.test_labels),
            "oracle_logloss": self.oracle,
            "cpu_s": cpu,
            "wall_s": wall,
            "train_examples_per_cpu_s": self.n / cpu,
        }


class TextToModel(_Data):
    """Logistic regression, VW text file -> model (+ test predictions); wg vs VW --adaptive."""

    params: ClassVar[Any] = [["lr", "lr+3q"], [50_000, 1_000_000]]
    quick_params: ClassVar[Any] = [["lr", "lr+3q"], [50_000]]
    param_names: ClassVar[Any] = ["model", "examples"]
    reference = "vw"
    tolerance = 0.005
    targets: ClassVar[Any] = [
        {"params": {"model": model, "examples": n}, "ours": "wg", "peer": "vw", "max_ratio": r}
        for model, r in (("lr", 0.2), ("lr+3q", 0.25))
        for n in (50_000, 1_000_000)
    ]
    FLAGS: ClassVar[Any] = {"lr": "", "lr+3q": "-q ab -q cd -q ae"}
    PAIRS: ClassVar[Any] = {"lr": (), "lr+3q": ("ab", "cd", "ae")}

    def setup(self, device: str, model: str, n: int) -> None:
        self._make(n)
        self.model = model

    def impl_vw(self) -> np.ndarray:
        return self._vw(f"{VW_LR} {self.FLAGS[self.model]}")

    def impl_vw_default(self) -> np.ndarray:
        return self._vw(f"{VW_DEFAULT} {self.FLAGS[self.model]}", name="vw_default")

    def impl_wg(self) -> np.ndarray:
        return self._wg(interactions=self.PAIRS[self.model])


def _hashed(path: Path) -> tuple[np.ndarray, Any]:
    """Labels (0/1) and the hashed features (a CSR matrix of 2^18 columns, as VW's -b 18) of a
    VW text file, read as a River or scikit-learn user does: Python splits the lines, and
    scikit-learn's FeatureHasher hashes ``namespace^feature`` names (MurmurHash3)."""
    from sklearn.feature_extraction import FeatureHasher

    labels, rows = [], []
    for line in path.read_text().splitlines():
        head, _, features = line.partition("|")
        labels.append(float(head.split()[0]) > 0)
        row = []
        for group in features.split("|"):
            namespace, *names = group.split()
            for name in names:
                feature, _, value = name.partition(":")
                row.append((f"{namespace}^{feature}", float(value) if value else 1.0))
        rows.append(row)
    hasher = FeatureHasher(2**18, input_type="pair", alternate_sign=False)
    return np.array(labels, dtype=np.int8), hasher.transform(rows)


def _as_predictions_file(probabilities: Any) -> np.ndarray:
    """The bytes of a predictions file (one ``%.6f`` line per example), as VW and wg write."""
    text = "".join(f"{p:.6f}\n" for p in probabilities)
    return np.frombuffer(text.encode(), np.uint8)


class _Examples(_Data):
    """The synthetic CTR data (5 fields) at 50 000 and 1 000 000 examples (50 000 when quick)."""

    params: ClassVar[Any] = [[50_000, 1_000_000]]
    quick_params: ClassVar[Any] = [[50_000]]
    param_names: ClassVar[Any] = ["examples"]

    def setup(self, device: str, n: int) -> None:
        self._make(n)


class LogisticPeers(_Examples):
    """Logistic regression, one pass, text -> test predictions: wg and VW beside River and
    scikit-learn, each configured as its user would for online learning.

    River's ``LogisticRegression`` (AdaGrad, lr 0.1: the per-feature rate of VW's --adaptive)
    learns one dict of hashed features at a time; scikit-learn's ``SGDClassifier(loss=
    "log_loss")`` takes one ``partial_fit`` over the FeatureHasher's matrix (``adaptive``
    rate, eta0 0.1, no shuffling: one pass in file order). Both read the text in Python, as
    their users do. They do not share VW's hashing or update, so equal predictions cannot be
    the gate: the tolerance is 0.05 of test logloss worse than VW's (``test_logloss`` beside
    the time shows how far each is).
    """

    reference = "vw"
    tolerance = 0.05
    requires: ClassVar[Any] = {
        "vw": VW,
        "river": ("river", "pip install river"),
        "sklearn": ("sklearn", "pip install scikit-learn"),
    }

    def impl_vw(self) -> np.ndarray:
        return self._vw(VW_LR)

    def impl_wg(self) -> np.ndarray:
        return self._wg()

    def impl_river(self) -> np.ndarray:
        from river import linear_model, optim

        self.last = "river"
        model = linear_model.LogisticRegression(optimizer=optim.AdaGrad(0.1))
        for label, features in zip(*self._dicts(self.train_path), strict=True):
            model.learn_one(features, bool(label))
        return _as_predictions_file(
            model.predict_proba_one(x)[True] for x in self._dicts(self.test_path)[1]
        )

    @staticmethod
    def _dicts(path: Path) -> tuple[np.ndarray, list[dict[int, float]]]:
        labels, X = _hashed(path)
        pointers, columns, values = X.indptr, X.indices.tolist(), X.data.tolist()
        rows = [
            dict(zip(columns[a:b], values[a:b], strict=True))
            for a, b in zip(pointers[:-1].tolist(), pointers[1:].tolist(), strict=True)
        ]
        return labels, rows

    def impl_sklearn(self) -> np.ndarray:
        from sklearn.linear_model import SGDClassifier

        self.last = "sklearn"
        model = SGDClassifier(
            loss="log_loss", learning_rate="adaptive", eta0=0.1, alpha=1e-6, shuffle=False
        )
        model.partial_fit(*reversed(_hashed(self.train_path)), classes=[0, 1])
        return _as_predictions_file(model.predict_proba(_hashed(self.test_path)[1])[:, 1])


class _FfmOnFiveFields(_Examples):
    """FFM k=4 on the 5 fields against VW ``--lrqfa`` (the reference): the settings and VW side
    the FFM cells share."""

    reference = "vw_lrqfa"
    tolerance = 0.005
    # FW's table: 2^18 FFM weights in all, as VW's -b 18 holds its --lrqfa weights
    FFM: ClassVar[Any] = {
        "ffm_k": 4,
        "ffm_fields": tuple("abcde"),
        "ffm_learning_rate": 0.05,
        "ffm_bit_precision": 18,
    }

    def impl_vw_lrqfa(self) -> np.ndarray:
        return self._vw(f"{VW_LR} --lrqfa abcde4", name="vw_lrqfa")


class FfmTextToModel(_FfmOnFiveFields):
    """FFM k=4 on the 5 fields vs VW --lrqfa (reference); compare test_logloss with vw_lrq's.

    The gate is "no worse than --lrqfa"; the issue's accuracy target (no worse than VW --lrq)
    is read off the ``test_logloss`` metric of the ``vw_lrq`` row in the same table.
    """

    targets: ClassVar[Any] = [
        {"params": None, "ours": "wg", "peer": "vw_lrqfa", "max_ratio": 0.125}
    ]

    def impl_vw_lrq(self) -> np.ndarray:
        return self._vw(
            f"{VW_LR} --lrq ab4 --lrq ac4 --lrq ad4 --lrq ae4 --lrq bc4 --lrq bd4 "
            "--lrq be4 --lrq cd4 --lrq ce4 --lrq de4",
            name="vw_lrq",
        )

    def impl_wg(self) -> np.ndarray:
        return self._wg(**self.FFM)


class DeepFfmTextToModel(_FfmOnFiveFields):
    """Deep FFM (issue 16): two ReLU layers of 32 over FFM k=4 on the 5 fields, against our FFM
    alone (``ffm``, a baseline: ours, so never the headline's fastest peer) and VW ``--lrqfa``
    (the reference for the logloss gate).

    Targets: at most 2 x the CPU time of our FFM, and faster than VW ``--lrqfa``.
    """

    targets: ClassVar[Any] = [
        {"params": None, "ours": "wg", "peer": "ffm", "max_ratio": 2.0},
        {"params": None, "ours": "wg", "peer": "vw_lrqfa", "max_ratio": 1.0},
    ]
    baselines: ClassVar[tuple[str, ...]] = ("ffm",)
    LAYERS = ("0:width:32", "0:activation:relu", "1:width:32", "1:activation:relu")

    def impl_ffm(self) -> np.ndarray:
        return self._wg("ffm", **self.FFM)

    def impl_wg(self) -> np.ndarray:
        return self._wg(nn_layers=2, nn=self.LAYERS, **self.FFM)


class AnimalsEatFood(_Data):
    """FW's "animal eats food": FFM vs VW --lrqfa, test logloss on the easy and the hard split.

    The hard split only holds animal-food pairs never seen in training: a model of the
    interaction generalises, a linear one cannot (compare ``test_logloss`` with the oracle's).
    """

    params: ClassVar[Any] = [["easy", "hard"], [50_000, 500_000]]
    quick_params: ClassVar[Any] = [["hard"], [50_000]]
    param_names: ClassVar[Any] = ["split", "examples"]
    reference = "vw_lrqfa"
    tolerance = 0.01

    def setup(self, device: str, split: str, n: int) -> None:
        self._make(n, test_split=split)

    def impl_vw_lrqfa(self) -> np.ndarray:
        return self._vw(f"{VW_LR} --lrqfa AB4", name="vw_lrqfa")

    def impl_wg(self) -> np.ndarray:
        return self._wg(ffm_k=4, ffm_fields=("A", "B"), ffm_learning_rate=0.5)


class TrainFromCache(_Data):
    """Logistic regression from each tool's binary cache (built in setup); test predictions."""

    params: ClassVar[Any] = [[100_000, 1_000_000]]
    quick_params: ClassVar[Any] = [[100_000]]
    param_names: ClassVar[Any] = ["examples"]
    reference = "vw"
    tolerance = 0.005

    def setup(self, device: str, n: int) -> None:
        from wg_online.parsing import iter_file, write_cache

        self._make(n)
        write_cache(self.dir / "wg.cache", list(iter_file(self.train_path)), self.train_path)
        import vowpalwabbit

        ws = vowpalwabbit.Workspace(
            f"-d {self.train_path} --cache_file {self.dir / 'vw.cache'} {VW_LR} --passes 1"
        )
        ws.run_parser()
        ws.finish()

    def impl_vw(self) -> np.ndarray:
        return self._vw(VW_LR, cache=True)

    def impl_wg(self) -> np.ndarray:
        from wg_online.model import Model, Options
        from wg_online.parsing import iter_file, read_cache

        self.last = "wg"
        model = Model.new(Options(bit_precision=18))
        blocks = read_cache(self.dir / "wg.cache")
        for block in blocks or []:
            model.run(block, learn=True)
        from wg_online.training import fixed6_lines

        test = list(iter_file(self.test_path))
        preds = np.concatenate([model.run(b, learn=False)[0] for b in test])
        return np.frombuffer(fixed6_lines(preds) or b"", np.uint8)  # as a predictions file

    def metrics(self, output: np.ndarray) -> dict[str, float]:
        from wg_online.model import Model, Options
        from wg_online.parsing import read_cache

        found = super().metrics(output)
        if self.last != "wg":
            return found
        blocks = read_cache(self.dir / "wg.cache") or []
        model = Model.new(Options(bit_precision=18))
        model.run(blocks[0], learn=True)  # compile (or load the numba cache) before timing
        model = Model.new(Options(bit_precision=18))
        start = time.process_time()
        for block in blocks:
            model.run(block, learn=True)
        rate = sum(len(b) for b in blocks) / (time.process_time() - start)
        return {**found, "wg_train_only_examples_per_cpu_s": rate}


class PredictOne:
    """One example in, one probability out (the serving path) with the same model in both.

    Both models are trained in setup with VW --adaptive semantics (ours with --vwcompat), so
    their predictions must agree within 1e-6 before either is timed.
    """

    params: ClassVar[Any] = [["ctr"]]
    param_names: ClassVar[Any] = ["data"]
    reference = "vw"
    tolerance = 1e-6
    requires: ClassVar[Any] = {"vw": VW}

    def setup(self, device: str, data: str) -> None:
        import vowpalwabbit
        from wg_online.datagen import ctr
        from wg_online.learner import OnlineLearner
        from wg_online.serve import ModelHolder

        lines = ctr(20_000, seed=1).lines()
        self.query = "|" + ctr(1, seed=9).lines()[0].split("|", 1)[1]
        self.ws = vowpalwabbit.Workspace(f"{VW_LR} --link logistic")
        for line in lines:
            self.ws.learn(line)
        # The same flags as VW_LR: --adaptive alone, -l 0.5 (VW's defaults differ).
        learner = OnlineLearner(
            vwcompat=True, adaptive=True, learning_rate=0.5, bit_precision=18
        ).fit(lines)
        fd, path = tempfile.mkstemp(suffix=".wgm")
        os.close(fd)
        atexit.register(os.unlink, path)
        learner.save(path)
        self.holder = ModelHolder(path)
        self.query_bytes = self.query.encode()

    def impl_vw(self) -> np.ndarray:
        return np.array([self.ws.predict(self.query)])

    def impl_wg(self) -> np.ndarray:
        return np.array([float(self.holder.answer(self.query_bytes))])

    def error(self, output: np.ndarray, expected: np.ndarray) -> float:
        return float(np.max(np.abs(np.asarray(output) - np.asarray(expected))))


class ServeLoopback:
    """`wg online serve` over 127.0.0.1: one request line, one answer line (p50/p99 metrics).

    The issue's target is p99 < 1 ms per single-example request; ``metrics`` times 2000
    sequential requests on one connection and reports the percentiles in microseconds.
    """

    params: ClassVar[Any] = [["ctr"]]
    param_names: ClassVar[Any] = ["data"]
    reference = "wg"
    tolerance = 0.0

    def setup(self, device: str, data: str) -> None:
        import socket
        import threading

        from wg_online.datagen import ctr
        from wg_online.learner import OnlineLearner
        from wg_online.serve import ModelHolder, PredictionServer

        fd, path = tempfile.mkstemp(suffix=".wgm")
        os.close(fd)
        atexit.register(os.unlink, path)
        OnlineLearner(bit_precision=18).fit(ctr(20_000, seed=1).lines()).save(path)
        self.server = PredictionServer(ModelHolder(path), 0)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.sock = socket.create_connection(self.server.server_address)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.file = self.sock.makefile("rwb")
        self.request = ("|" + ctr(1, seed=9).lines()[0].split("|", 1)[1] + "\n").encode()
        self.impl_wg()

    def impl_wg(self) -> np.ndarray:
        self.file.write(self.request)
        self.file.flush()
        return np.array([float(self.file.readline())])

    def metrics(self, output: np.ndarray) -> dict[str, float]:
        times = []
        for _ in range(2000):
            start = time.perf_counter()
            self.impl_wg()
            times.append(time.perf_counter() - start)
        p50, p99 = np.percentile(times, [50, 99]) * 1e6
        return {"p50_us": float(p50), "p99_us": float(p99)}
