"""Datasets: generated (``lines``), shipped with scikit-learn (``digits``), downloaded (the rest).

Every loader returns a :class:`Split`: float32 images in NCHW scaled to [0, 1] and int64 labels.

Examples
--------
>>> data = load_dataset("lines", n_train=100, n_test=20)
>>> data.X_train.shape, data.X_test.shape, data.num_classes
((100, 1, 16, 16), (20, 1, 16, 16), 3)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from wg_convnet.datasets.formats import (
    parse_cifar_batch,
    parse_idx,
    read_gzip,
    read_members,
)
from wg_convnet.datasets.lines import make_lines
from wg_convnet.datasets.remote import (
    REMOTE,
    RemoteDataset,
    dataset_dir,
    require_cached,
    spec_for,
)
from wg_convnet.errors import DatasetError

#: name -> one-line description, for `wg convnet datasets list`
DATASETS: dict[str, str] = {
    "lines": "synthetic horizontal/vertical/diagonal lines, 1x16x16, generated (no download)",
    "digits": "scikit-learn's 8x8 handwritten digits, 1797 images 1x8x8 (needs scikit-learn)",
    **{name: spec.description for name, spec in REMOTE.items()},
}


@dataclass(frozen=True)
class Split:
    """A train/test split of an image classification dataset."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    num_classes: int


def load_dataset(
    name: str,
    *,
    cache: Path | None = None,
    spec: RemoteDataset | None = None,
    n_train: int = 3000,
    n_test: int = 1000,
    seed: int = 0,
) -> Split:
    """Load dataset ``name`` (see :data:`DATASETS`); ``n_train``/``n_test`` size ``lines`` only."""
    if name == "lines":
        X, y = make_lines(n_train + n_test, seed=seed)
        return Split(X[:n_train], y[:n_train], X[n_train:], y[n_train:], 3)
    if name == "digits":
        return load_digits()
    if spec is None:
        if name not in DATASETS:
            raise DatasetError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
        spec = spec_for(name)
    folder = require_cached(spec, cache)
    return _load_cifar(folder, spec) if spec.fmt == "cifar" else _load_idx(folder, spec)


def input_files(name: str, *, cache: Path | None = None) -> list[Path]:
    """The cached files that loading dataset ``name`` reads (none for generated datasets).

    Commands pass them to ``wg_io.output`` as inputs, so no output can overwrite its own data.

    Examples
    --------
    >>> input_files("lines")
    []
    """
    if name not in REMOTE:
        return []
    folder = dataset_dir(REMOTE[name], cache)
    found = [f.located(folder) for f in REMOTE[name].files]
    return [at[0] for at in found if at is not None]


def load_digits(test_fraction: float = 0.2, seed: int = 0) -> Split:
    """scikit-learn's digits as (n, 1, 8, 8) in [0, 1], split by a seeded stratified shuffle."""
    try:
        from sklearn.datasets import load_digits as sk_digits
    except ImportError:
        raise DatasetError(
            "the digits dataset needs scikit-learn: pip install 'wg-convnet[digits]'"
        ) from None
    bunch = sk_digits()
    X = (bunch.images / 16.0).astype(np.float32)[:, None, :, :]
    y = bunch.target.astype(np.int64)
    rng = np.random.default_rng(seed)
    test = np.zeros(len(y), dtype=bool)
    for label in range(10):
        members = rng.permutation(np.flatnonzero(y == label))
        test[members[: round(len(members) * test_fraction)]] = True
    return Split(X[~test], y[~test], X[test], y[test], 10)


def _load_idx(folder: Path, spec: RemoteDataset) -> Split:
    arrays = []
    for f in spec.files:
        path, _ = f.located(folder) or (folder / f.name, "")
        data = read_gzip(path) if path.suffix == ".gz" else path.read_bytes()
        arrays.append(parse_idx(data, str(path)))
    train_x, train_y, test_x, test_y = arrays
    for images, labels, which in ((train_x, train_y, "train"), (test_x, test_y, "test")):
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise DatasetError(
                f"{folder}: {which} images {images.shape} and labels {labels.shape} do not match"
            )
    scale = lambda a: (a.astype(np.float32) / 255.0)[:, None, :, :]  # noqa: E731
    return Split(
        scale(train_x), train_y.astype(np.int64), scale(test_x), test_y.astype(np.int64), 10
    )


#: The members of the CIFAR-10 binary archive that hold the data, training batches first.
CIFAR_MEMBERS = tuple(
    f"cifar-10-batches-bin/{name}"
    for name in [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]
)


def _load_cifar(folder: Path, spec: RemoteDataset) -> Split:
    # Read from the verified archive itself: extracting would be a second, unverified copy.
    archive = folder / spec.files[0].name
    members = read_members(archive, CIFAR_MEMBERS)
    parts = [parse_cifar_batch(members[name], f"{archive}:{name}") for name in CIFAR_MEMBERS]
    train_x = np.concatenate([p[0] for p in parts[:-1]]).astype(np.float32) / 255.0
    train_y = np.concatenate([p[1] for p in parts[:-1]])
    test_x, test_y = parts[-1][0].astype(np.float32) / 255.0, parts[-1][1]
    return Split(train_x, train_y, test_x, test_y, 10)


__all__ = ["DATASETS", "Split", "input_files", "load_dataset", "load_digits", "make_lines"]
