"""Default architectures per dataset and the one-call training routine behind `wg convnet train`."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from wg_convnet.activations import ReLU
from wg_convnet.datasets import DATASETS, input_files, load_dataset
from wg_convnet.errors import DatasetError
from wg_convnet.layers import Conv2D, Dense, Dropout, Flatten
from wg_convnet.model import Sequential
from wg_convnet.normalization import BatchNorm2D
from wg_convnet.optimizers import Adam
from wg_convnet.parallel import batch_coupled
from wg_convnet.pooling import MaxPool2D


def default_model(name: str) -> Sequential:
    """The network `wg convnet train` uses for dataset ``name``.

    Examples
    --------
    >>> [type(layer).__name__ for layer in default_model("digits").layers]
    ['Conv2D', 'BatchNorm2D', 'ReLU', 'MaxPool2D', 'Flatten', 'Dropout', 'Dense', 'ReLU', 'Dense']
    """
    if name == "lines":
        return Sequential(
            [Conv2D(1, 8, 3, padding=1), ReLU(), MaxPool2D(4), Conv2D(8, 16, 3, padding=1),
             ReLU(), MaxPool2D(4), Flatten(), Dense(16, 3)]
        )  # fmt: skip
    if name == "digits":
        return Sequential(
            [Conv2D(1, 32, 3, padding=1), BatchNorm2D(32), ReLU(), MaxPool2D(2), Flatten(),
             Dropout(0.3), Dense(32 * 4 * 4, 64), ReLU(), Dense(64, 10)]
        )  # fmt: skip
    if name in ("mnist", "fashion-mnist"):
        # Keras' "simple MNIST convnet" (accuracy: packages/convnet/README.md). Not the bench
        # suite's training-step net (16/32 filters, no dropout): without dropout it overfits
        # MNIST, its test accuracy stalling while its training loss keeps falling.
        return Sequential(
            [Conv2D(1, 32, 3), ReLU(), MaxPool2D(2), Conv2D(32, 64, 3), ReLU(), MaxPool2D(2),
             Flatten(), Dropout(0.5), Dense(64 * 5 * 5, 10)]
        )  # fmt: skip
    if name == "cifar10":
        return Sequential(
            [Conv2D(3, 32, 3, padding=1), ReLU(), MaxPool2D(2), Conv2D(32, 64, 3, padding=1),
             ReLU(), MaxPool2D(2), Conv2D(64, 64, 3, padding=1), ReLU(), MaxPool2D(2), Flatten(),
             Dense(64 * 4 * 4, 128), ReLU(), Dense(128, 10)]
        )  # fmt: skip
    raise DatasetError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")


def train(
    dataset: str,
    *,
    epochs: int,
    batch_size: int = 32,
    lr: float = 2e-3,
    seed: int = 0,
    save: Path | None = None,
    cache: Path | None = None,
    threads: int = 1,
    verbose: bool = True,
) -> dict[str, Any]:
    """Train the default model on ``dataset``; return a JSON-ready summary with the history.

    ``threads`` > 1 splits each batch over that many threads (``Sequential(threads=...)``); the
    summary records the threads actually used (1 for networks with BatchNorm2D or Dropout).
    Training that diverges raises :class:`~wg_convnet.errors.DivergenceError` and saves nothing;
    ``save`` may not be one of the dataset's files (``wg_io.output.OutputError``).

    Examples
    --------
    >>> result = train("lines", epochs=1, verbose=False)
    >>> sorted(result)  # doctest: +NORMALIZE_WHITESPACE
    ['batch_size', 'dataset', 'epochs', 'history', 'lr', 'seconds', 'seed',
     'test_accuracy', 'test_loss', 'threads']
    """
    model = default_model(dataset)
    model.threads = threads
    data = load_dataset(dataset, cache=cache, seed=seed)
    start = time.perf_counter()
    model.fit(
        data.X_train, data.y_train, epochs=epochs, batch_size=batch_size, optimizer=Adam(lr),
        seed=seed, validation_data=(data.X_test, data.y_test), verbose=verbose,
    )  # fmt: skip
    seconds = time.perf_counter() - start
    test_loss, test_accuracy = model.evaluate(data.X_test, data.y_test)
    if save is not None:
        model.save(save, inputs=input_files(dataset, cache=cache))
    return {
        "dataset": dataset, "epochs": epochs, "batch_size": batch_size, "lr": lr, "seed": seed,
        "test_loss": test_loss, "test_accuracy": test_accuracy, "seconds": seconds,
        "threads": 1 if batch_coupled(model.layers) else threads, "history": model.history_,
    }  # fmt: skip
