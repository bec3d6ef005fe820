"""`wg convnet`: train convolutional networks and manage their datasets.

Callbacks parse options, call one plain function of wg_convnet, and turn its domain errors into
click errors (exit 1); NumPy and the library are imported only when a command runs.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import click

DATASET_NAMES = ("lines", "digits", "mnist", "fashion-mnist", "cifar10")
REMOTE_NAMES = ("mnist", "fashion-mnist", "cifar10")


def _write_json(path: Path, payload: Any) -> None:
    """Write JSON atomically: a temporary file in the same folder, then os.replace."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(payload, fh, indent=2)
            fh.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@click.group()
def convnet() -> None:
    """Train convolutional networks and manage their datasets."""


@convnet.command()
@click.option(
    "--dataset", required=True, type=click.Choice(DATASET_NAMES), help="Dataset to train on."
)
@click.option("--epochs", required=True, type=click.IntRange(min=1), help="Passes over the data.")
@click.option("--batch-size", default=32, show_default=True, type=click.IntRange(min=1))
@click.option("--lr", default=2e-3, show_default=True, type=click.FloatRange(min=0, min_open=True))
@click.option("--seed", default=0, show_default=True, type=int, help="Seed: same seed, same run.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the summary and per-epoch history as JSON here.")  # fmt: skip
@click.option("--save", type=click.Path(dir_okay=False, path_type=Path),
              help="Save the trained model (wg-convnet model format) here.")  # fmt: skip
@click.option("--threads", default=1, show_default=True, type=click.IntRange(min=1),
              help="Split each batch over this many threads (networks without BatchNorm2D or "
                   "Dropout; reproducible for a fixed seed and thread count).")  # fmt: skip
@click.option("--quiet", is_flag=True, help="No progress bar.")
def train(
    dataset: str,
    epochs: int,
    batch_size: int,
    lr: float,
    seed: int,
    json_path: Path | None,
    save: Path | None,
    threads: int,
    quiet: bool,
) -> None:
    """Train the default network of a dataset and report its test accuracy.

    Example: wg convnet train --dataset digits --epochs 25 --json digits.json
    """
    from wg_convnet.errors import ConvnetError
    from wg_convnet.training import train as run_training

    try:
        result = run_training(
            dataset, epochs=epochs, batch_size=batch_size, lr=lr, seed=seed, save=save,
            threads=threads, verbose=not quiet,
        )  # fmt: skip
    except (ConvnetError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        f"{dataset}: test accuracy {result['test_accuracy']:.4f}, test loss "
        f"{result['test_loss']:.4f} after {epochs} epochs in {result['seconds']:.1f} s"
    )
    if json_path is not None:
        _write_json(json_path, result)
        click.echo(f"wrote {json_path}")
    if save is not None:
        click.echo(f"saved model to {save}")


@convnet.group()
def datasets() -> None:
    """List, download and verify datasets."""


@datasets.command("list")
def list_datasets() -> None:
    """List the datasets and whether downloadable ones are in the cache."""
    from wg_convnet.datasets import DATASETS
    from wg_convnet.datasets.remote import REMOTE, cache_root, verify

    click.echo(f"cache: {cache_root()}")
    for name, description in DATASETS.items():
        if name in REMOTE:
            states = set(verify(REMOTE[name]).values())
            state = "cached" if states == {"ok"} else "not cached"
        else:
            state = "built in"
        click.echo(f"{name:<14} {state:<11} {description}")


@datasets.command()
@click.argument("name", type=click.Choice(REMOTE_NAMES))
@click.option(
    "--from",
    "source",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Import the files from this folder instead of downloading (offline); MNIST also "
    "from its uncompressed IDX files.",
)
def fetch(name: str, source: Path | None) -> None:
    """Download a dataset into the cache (SHA-256 verified), or import it with --from DIR."""
    from wg_convnet.datasets.remote import fetch as download
    from wg_convnet.datasets.remote import import_from, spec_for
    from wg_convnet.errors import ConvnetError

    try:
        spec = spec_for(name)
        lines = import_from(spec, source) if source is not None else download(spec)
    except (ConvnetError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
    for line in lines:
        click.echo(line)


@datasets.command("verify")
@click.argument("name", type=click.Choice(REMOTE_NAMES))
def verify_dataset(name: str) -> None:
    """Check the SHA-256 of every cached file of a dataset; exit 1 if any is missing or corrupt."""
    from wg_convnet.datasets.remote import dataset_dir, spec_for, verify

    spec = spec_for(name)
    status = verify(spec)
    for file_name, state in status.items():
        click.echo(f"{file_name}: {state}")
    if set(status.values()) != {"ok"}:
        raise click.ClickException(
            f"{name} in {dataset_dir(spec)} is incomplete or corrupt; "
            f"run `wg convnet datasets fetch {name}`"
        )
