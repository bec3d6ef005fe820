"""`wg convnet`: train convolutional networks and manage their datasets.

Callbacks parse options, call one plain function of wg_convnet, and turn its domain errors into
click errors (exit 1); NumPy and the library are imported only when a command runs, or when a
command's help lists the dataset names (which come from the library's own tables).
"""

from __future__ import annotations

import importlib
import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

#: Largest learning rate `train` accepts: Adam's steps are about lr in size, so a larger rate
#: throws the weights far beyond the data's scale.
MAX_LR = 1.0
#: Most threads `train` splits a batch over.
MAX_THREADS = 256


class LibraryChoice(click.Choice[str]):
    """A ``click.Choice`` over the keys of a table of wg_convnet (``"module:attribute"``).

    The table is imported when the option is parsed or its help is shown, not when ``wg`` starts.
    """

    def __init__(self, table: str) -> None:
        self.table = table
        self.case_sensitive = True

    def __getattr__(self, name: str) -> Any:
        # Called only for attributes not set yet: ``choices`` is filled on first use.
        if name != "choices":
            raise AttributeError(name)
        module, attribute = self.table.split(":")
        self.choices = tuple(getattr(importlib.import_module(module), attribute))
        return self.choices


class FiniteFloat(click.ParamType):
    """A float in ``(low, high]`` that is finite: ``nan``, ``inf`` and ``1e308`` are refused."""

    name = "float"

    def __init__(self, low: float, high: float, example: str) -> None:
        self.low, self.high, self.example = low, high, example

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        try:
            number = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number; give one such as {self.example}", param, ctx)
        if not math.isfinite(number):
            self.fail(
                f"{value} is not a finite number; give one such as {self.example}", param, ctx
            )
        if not self.low < number <= self.high:
            self.fail(
                f"{value} is not in the range {self.low:g} < x <= {self.high:g}; "
                f"give one such as {self.example}",
                param,
                ctx,
            )
        return number


@contextmanager
def domain_errors() -> Iterator[None]:
    """Turn the library's and wg_io's errors into one-line click errors (exit 1)."""
    from wg_convnet.errors import ConvnetError
    from wg_io.output import OutputError

    try:
        yield
    except (ConvnetError, OutputError) as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        raise click.ClickException(f"{where}{exc.strerror or exc}") from None


@click.group()
def convnet() -> None:
    """Train convolutional networks and manage their datasets."""


@convnet.command()
@click.option("--dataset", required=True, type=LibraryChoice("wg_convnet.datasets:DATASETS"),
              help="Dataset to train on.")  # fmt: skip
@click.option("--epochs", required=True, type=click.IntRange(min=1), help="Passes over the data.")
@click.option("--batch-size", default=32, show_default=True, type=click.IntRange(min=1))
@click.option("--lr", default=2e-3, show_default=True, type=FiniteFloat(0.0, MAX_LR, "0.002"),
              help=f"Adam's learning rate, finite, in (0, {MAX_LR:g}].")  # fmt: skip
@click.option("--seed", default=0, show_default=True, type=click.IntRange(min=0),
              help="Seed (>= 0): same seed, same run.")  # fmt: skip
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the summary and per-epoch history as JSON here.")  # fmt: skip
@click.option("--save", type=click.Path(dir_okay=False, path_type=Path),
              help="Save the trained model (wg-convnet model format) here.")  # fmt: skip
@click.option("--threads", default=1, show_default=True,
              type=click.IntRange(min=1, max=MAX_THREADS),
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
    from wg_convnet.training import train as run_training
    from wg_io.output import write_json

    inputs = _check_outputs(dataset, json_path, save)
    with domain_errors():
        result = run_training(
            dataset, epochs=epochs, batch_size=batch_size, lr=lr, seed=seed, save=save,
            threads=threads, verbose=not quiet,
        )  # fmt: skip
    click.echo(
        f"{dataset}: test accuracy {result['test_accuracy']:.4f}, test loss "
        f"{result['test_loss']:.4f} after {epochs} epochs in {result['seconds']:.1f} s"
    )
    if json_path is not None:
        with domain_errors():
            write_json(json_path, result, inputs=inputs, make_parents=True)
        click.echo(f"wrote {json_path}")
    if save is not None:
        click.echo(f"saved model to {save}")


def _check_outputs(dataset: str, json_path: Path | None, save: Path | None) -> list[Path]:
    """Refuse bad output paths before training, not after it: the same file twice, a folder,
    a missing folder for --save, or one of the dataset's own files. Returns the inputs."""
    from wg_convnet.datasets import input_files
    from wg_io.output import resolve_target

    inputs = input_files(dataset)
    with domain_errors():
        if json_path and save and os.path.realpath(json_path) == os.path.realpath(save):
            raise click.UsageError(
                f"--json and --save both write {json_path}; give them different paths"
            )
        if save is not None:
            resolve_target(save, inputs=inputs)
        # A missing --json folder is made after training, so that a failure leaves none behind.
        if json_path is not None and Path(os.path.realpath(json_path)).parent.is_dir():
            resolve_target(json_path, inputs=inputs)
    return inputs


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
            with domain_errors():
                states = set(verify(REMOTE[name]).values())
            state = "cached" if states == {"ok"} else "not cached"
        else:
            state = "built in"
        click.echo(f"{name:<14} {state:<11} {description}")


@datasets.command()
@click.argument("name", type=LibraryChoice("wg_convnet.datasets.remote:REMOTE"))
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

    with domain_errors():
        spec = spec_for(name)
        lines = import_from(spec, source) if source is not None else download(spec)
    for line in lines:
        click.echo(line)


@datasets.command("verify")
@click.argument("name", type=LibraryChoice("wg_convnet.datasets.remote:REMOTE"))
def verify_dataset(name: str) -> None:
    """Check the SHA-256 of every cached file of a dataset; exit 1 if any is missing or corrupt."""
    from wg_convnet.datasets.remote import dataset_dir, spec_for, verify

    spec = spec_for(name)
    with domain_errors():
        status = verify(spec)
    for file_name, state in status.items():
        click.echo(f"{file_name}: {state}")
    if set(status.values()) != {"ok"}:
        raise click.ClickException(
            f"{name} in {dataset_dir(spec)} is incomplete or corrupt; "
            f"run `wg convnet datasets fetch {name}`"
        )
