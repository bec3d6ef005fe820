"""Sequential: a stack of layers with a scikit-learn-like fit / predict / score / save / load."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from wg_convnet import parallel
from wg_convnet.activations import Softmax, softmax
from wg_convnet.backend import array_namespace, device
from wg_convnet.errors import DivergenceError, ShapeError
from wg_convnet.layer import Array, Layer, check_int
from wg_convnet.layers import Conv2D, Dropout
from wg_convnet.losses import LOSSES, mean_squared_error, softmax_cross_entropy
from wg_convnet.optimizers import SGD, Optimizer
from wg_convnet.progress import TrainingProgress

DTYPES = ("float32", "float64")


class Sequential:
    """A network that applies ``layers`` in order.

    ``loss`` is ``"cross_entropy"`` (softmax cross-entropy on the last layer's scores; a final
    ``Softmax`` layer is folded into the loss during training) or ``"mse"``.

    ``threads`` > 1 splits each batch of NumPy arrays into that many shards that run forward and
    backward side by side (see :mod:`wg_convnet.parallel`; networks with BatchNorm2D or Dropout
    stay on one thread). Results are reproducible for a fixed seed and number of threads.

    Examples
    --------
    >>> import numpy as np
    >>> from wg_convnet import Dense, ReLU, SGD
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 2)).astype(np.float32)
    >>> y = (X[:, 0] > 0).astype(np.int64)
    >>> net = Sequential([Dense(2, 16), ReLU(), Dense(16, 2)])
    >>> net = net.fit(X, y, epochs=20, batch_size=20, optimizer=SGD(0.1), seed=0, verbose=False)
    >>> net.score(X, y) > 0.95
    True
    """

    def __init__(
        self,
        layers: Sequence[Layer],
        *,
        loss: str = "cross_entropy",
        dtype: str = "float32",
        threads: int = 1,
    ) -> None:
        if not layers or not all(isinstance(layer, Layer) for layer in layers):
            raise TypeError("Sequential needs a non-empty list of wg_convnet layers")
        if loss not in LOSSES:
            raise ValueError(f"unknown loss {loss!r}; use one of {', '.join(LOSSES)}")
        if dtype not in DTYPES:
            raise ValueError(f"unknown dtype {dtype!r}; use one of {', '.join(DTYPES)}")
        self.threads = threads
        self._shards: tuple[list[list[Layer]], list[tuple[int, int]]] | None = None
        self.layers = list(layers)
        self.loss = loss
        self.dtype = dtype
        self.history_: list[dict[str, float]] = []
        self.built_ = False

    @property
    def threads(self) -> int:
        """Threads that each batch is split over (1: no splitting)."""
        return self._threads

    @threads.setter
    def threads(self, threads: int) -> None:
        self._threads = check_int("threads", threads)

    # ------------------------------------------------------------------ forward / backward
    def _train_layers(self) -> list[Layer]:
        folds = self.loss == "cross_entropy" and isinstance(self.layers[-1], Softmax)
        return self.layers[:-1] if folds else self.layers

    def forward(self, X: Array, *, training: bool = False) -> Array:
        """Network output for a checked batch (scores before the loss when ``training``)."""
        layers = self._train_layers() if training else self.layers
        if not parallel.shardable(layers, X, self.threads):
            if training:
                self._shards = None
            return _forward_layers(layers, X, training)
        bounds = parallel.shard_bounds(X.shape[0], self.threads)
        shards = self._replicas(layers, len(bounds))

        def run(k: int) -> Array:
            return _forward_layers(shards[k], X[bounds[k][0] : bounds[k][1]], training)

        outs = parallel.run_sharded(run, len(bounds))
        if training:
            self._shards = (shards, bounds)
        return np.concatenate(outs, axis=0)

    def _replicas(self, layers: list[Layer], count: int) -> list[list[Layer]]:
        """Replicas of ``layers`` for ``count`` shards, kept between steps (with their buffers)."""
        key = (count, tuple(id(layer) for layer in layers))
        cached = self.__dict__.get("_replica_cache")
        if cached is None or cached[0] != key:
            cached = self._replica_cache = (key, parallel.replicas(layers, count))
        parallel.refresh(layers, cached[1])
        return cached[1]

    def backward(self, grad: Array) -> None:
        """Back-propagate d loss / d output, filling every layer's ``grads``."""
        layers = self._train_layers()
        if self._shards is None:
            _backward_layers(layers, grad)
            return
        shards, bounds = self._shards

        def run(k: int) -> None:
            _backward_layers(shards[k], grad[bounds[k][0] : bounds[k][1]])

        parallel.run_sharded(run, len(bounds))
        parallel.sum_grads(layers, shards)

    def parameters(self) -> tuple[list[Array], list[Array]]:
        """All trainable arrays and their gradients, in a fixed order."""
        params, grads = [], []
        for layer in self.layers:
            for name in sorted(layer.params):
                params.append(layer.params[name])
                grads.append(layer.grads.get(name))
        return params, grads

    def build(self, seed: int, xp: Any = np, dev: Any = None) -> Sequential:
        """(Re)initialise every parameter from ``seed`` as ``xp`` arrays on device ``dev``."""
        rng = np.random.default_rng(seed)
        dtype = getattr(xp, self.dtype)
        for layer in self.layers:
            layer.build(rng, xp=xp, dtype=dtype, device=dev)
            layer.grads = {}
            if isinstance(layer, Dropout):
                layer.rng = np.random.default_rng(rng.integers(2**63))
        self.built_ = True
        return self

    # ------------------------------------------------------------------ input checks
    def _check_inputs(self, X: Any) -> Array:
        X = _as_array(X, "X")
        xp = array_namespace(X)
        if X.dtype == xp.bool or not (
            xp.isdtype(X.dtype, "real floating") or xp.isdtype(X.dtype, "integral")
        ):
            raise ShapeError(f"X must hold real numbers, got dtype {X.dtype}")
        if len(X.shape) < 2 or X.shape[0] == 0:
            raise ShapeError(f"X must have shape (N, ...) with N >= 1, got {tuple(X.shape)}")
        X = xp.astype(X, getattr(xp, self.dtype), copy=False)
        bad = xp.isnan(X) | xp.isinf(X)
        if bool(xp.any(bad)):
            first = int(xp.argmax(xp.astype(xp.reshape(bad, (-1,)), xp.int8)))
            where = np.unravel_index(first, tuple(X.shape))
            raise ShapeError(f"X contains NaN or infinity, first at index {tuple(map(int, where))}")
        return X

    def _check_y(self, X: Array, y: Any) -> Array:
        xp = array_namespace(X)
        y = xp.asarray(_as_array(y, "y"), device=device(X))
        if y.shape[0] != X.shape[0]:
            raise ShapeError(f"X has {X.shape[0]} samples but y has {y.shape[0]}")
        if self.loss == "cross_entropy":
            if len(y.shape) != 1 or not xp.isdtype(y.dtype, "integral"):
                raise ShapeError(
                    f"y must be integer class labels of shape (N,), got dtype {y.dtype} "
                    f"and shape {tuple(y.shape)}"
                )
            if bool(xp.any(y < 0)):
                raise ShapeError("y holds negative class labels; labels must be 0 .. K-1")
            return y
        return self._check_inputs(y)

    def _require_built(self) -> None:
        if not self.built_:
            raise RuntimeError("this Sequential is not fitted yet: call fit() or load() first")

    # ------------------------------------------------------------------ training
    def fit(
        self,
        X: Any,
        y: Any,
        *,
        epochs: int,
        batch_size: int = 64,
        optimizer: Optimizer | None = None,
        seed: int = 0,
        validation_data: tuple[Any, Any] | None = None,
        verbose: bool = True,
    ) -> Sequential:
        """Initialise from ``seed`` and train; per-epoch figures land in ``history_``.

        The same seed gives the same weights, shuffling and dropout masks, so training is
        reproducible on one thread. ``verbose=False`` hides the progress bar. A NaN or infinite
        loss (checked every batch) or weight (checked every epoch) stops training with a
        :class:`~wg_convnet.errors.DivergenceError` naming the epoch and batch.
        """
        if epochs < 1 or batch_size < 1:
            raise ValueError(f"epochs and batch_size must be >= 1, got {epochs} and {batch_size}")
        X = self._check_inputs(X)
        y = self._check_y(X, y)
        xp = array_namespace(X)
        self.build(seed, xp, device(X))
        val = None
        if validation_data is not None:
            Xv = self._check_inputs(validation_data[0])
            val = (Xv, self._check_y(Xv, validation_data[1]))
        optimizer = optimizer if optimizer is not None else SGD(lr=0.01, momentum=0.9)
        order_rng = np.random.default_rng([seed, 1])
        n = X.shape[0]
        batches = -(-n // batch_size)
        self.history_ = []
        # Overflow is caught by the divergence checks, which name the epoch and batch; NumPy's
        # own warnings would only repeat it, once per operation.
        with (
            TrainingProgress(epochs, batches, enabled=verbose) as bar,
            np.errstate(over="ignore", invalid="ignore"),
        ):
            for epoch in range(1, epochs + 1):
                start = time.perf_counter()
                order = xp.asarray(order_rng.permutation(n), device=device(X))
                loss, acc = self._epoch(X, y, order, batch_size, optimizer, bar, epoch)
                self._check_weights(epoch, batches, optimizer)
                record = {"epoch": float(epoch), "loss": loss, "accuracy": acc}
                if val is not None:
                    record["val_loss"], record["val_accuracy"] = self.evaluate(*val)
                record["seconds"] = time.perf_counter() - start
                self.history_.append(record)
        return self

    def _epoch(self, X, y, order, batch_size, optimizer, bar, epoch) -> tuple[float, float]:
        xp = array_namespace(X)
        params, _ = self.parameters()
        total_loss = total_correct = seen = 0.0
        for start in range(0, X.shape[0], batch_size):
            idx = order[start : min(start + batch_size, X.shape[0])]
            xb, yb = xp.take(X, idx, axis=0), xp.take(y, idx, axis=0)
            out = self.forward(xb, training=True)
            loss, grad = self._loss(out, yb)
            if not math.isfinite(loss):
                raise _diverged(epoch, start // batch_size + 1, f"the loss is {loss}", optimizer)
            self.backward(grad)
            optimizer.step(params, self.parameters()[1])
            count = xb.shape[0]
            seen += count
            total_loss += loss * count
            total_correct += self._correct(out, yb)
            bar.advance(loss=total_loss / seen, accuracy=total_correct / seen, epoch=epoch)
        return total_loss / seen, total_correct / seen

    def _check_weights(self, epoch: int, batches: int, optimizer: Optimizer) -> None:
        """Refuse to go on from NaN or infinite weights (a step too large overflows them)."""
        for index, layer in enumerate(self.layers):
            for name, value in {**layer.params, **layer.state}.items():
                xp = array_namespace(value)
                if not bool(xp.all(xp.isfinite(value))):
                    problem = f"layer {index} ({type(layer).__name__}) {name!r} is not finite"
                    raise _diverged(epoch, batches, problem, optimizer)

    def _loss(self, out: Array, target: Array) -> tuple[float, Array]:
        if self.loss == "mse":
            return mean_squared_error(out, target)
        classes = out.shape[1] if len(out.shape) == 2 else 0
        if classes and bool(array_namespace(target).any(target >= classes)):
            raise ShapeError(
                f"y holds a class label >= {classes}, but the network outputs {classes} scores"
            )
        return softmax_cross_entropy(out, target)

    def _correct(self, out: Array, target: Array) -> float:
        if self.loss != "cross_entropy":
            return 0.0
        xp = array_namespace(out)
        return float(xp.sum(xp.astype(xp.argmax(out, axis=1) == target, xp.int64)))

    # ------------------------------------------------------------------ inference
    def _batched_output(self, X: Array, batch_size: int) -> Array:
        xp = array_namespace(X)
        parts = [
            self.forward(X[start : min(start + batch_size, X.shape[0]), ...])
            for start in range(0, X.shape[0], batch_size)
        ]
        return xp.concat(parts, axis=0)

    def predict_proba(self, X: Any, *, batch_size: int = 256) -> Array:
        """Class probabilities (N, K): the softmax of the scores (or the final Softmax output)."""
        self._require_built()
        out = self._batched_output(self._check_inputs(X), batch_size)
        return out if isinstance(self.layers[-1], Softmax) else softmax(out, axis=1)

    def predict(self, X: Any, *, batch_size: int = 256) -> Array:
        """Predicted class indices (N,) for cross-entropy models, raw outputs for MSE models."""
        self._require_built()
        out = self._batched_output(self._check_inputs(X), batch_size)
        return array_namespace(out).argmax(out, axis=1) if self.loss == "cross_entropy" else out

    def evaluate(self, X: Any, y: Any, *, batch_size: int = 256) -> tuple[float, float]:
        """(mean loss, accuracy) on a data set, without training."""
        self._require_built()
        X = self._check_inputs(X)
        y = self._check_y(X, y)
        out = self._batched_output(X, batch_size)
        if self.loss == "cross_entropy" and isinstance(self.layers[-1], Softmax):
            out = array_namespace(out).log(out)
        loss, _ = self._loss(out, y)
        return loss, self._correct(out, y) / X.shape[0]

    def score(self, X: Any, y: Any) -> float:
        """Accuracy of ``predict(X)`` against the labels ``y``."""
        return self.evaluate(X, y)[1]

    # ------------------------------------------------------------------ persistence
    def save(
        self, path: str | os.PathLike[str], *, inputs: Iterable[str | os.PathLike[str]] = ()
    ) -> None:
        """Write the model in the wg-convnet model format (see ``wg_convnet.serialization``).

        The file goes through ``wg_io.output``'s policy: ``path`` may not be one of ``inputs``,
        and a model with NaN or infinite weights is refused (``DivergenceError``).
        """
        from wg_convnet.serialization import save_model

        self._require_built()
        save_model(self, path, inputs=inputs)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Sequential:
        """Read a model written by :meth:`save`; never unpickles, refuses newer format versions."""
        from wg_convnet.serialization import load_model

        return load_model(path)


def _diverged(epoch: int, batch: int, problem: str, optimizer: Optimizer) -> DivergenceError:
    lr = getattr(optimizer, "lr", None)
    advice = f"a learning rate below {lr:g}" if isinstance(lr, float) else "a lower learning rate"
    return DivergenceError(
        f"training diverged at epoch {epoch}, batch {batch}: {problem}; train again with {advice}"
    )


def _forward_layers(layers: Sequence[Layer], X: Array, training: bool) -> Array:
    out = X
    for index, layer in enumerate(layers):
        try:
            out = layer.forward(out, training=training)
        except ShapeError as exc:
            raise ShapeError(f"layer {index} {exc}") from None
    return out


def _backward_layers(layers: Sequence[Layer], grad: Array) -> None:
    for layer in reversed(layers[1:]):
        grad = layer.backward(grad)
    if isinstance(layers[0], Conv2D):  # nothing consumes the input gradient of the first layer
        layers[0].backward(grad, input_grad=False)
    else:
        layers[0].backward(grad)


def _as_array(value: Any, name: str) -> Array:
    try:
        array_namespace(value)
        return value
    except TypeError:
        pass
    if isinstance(value, Iterable):
        return np.asarray(value)
    raise ShapeError(f"{name} must be an array, got {type(value).__name__}")
