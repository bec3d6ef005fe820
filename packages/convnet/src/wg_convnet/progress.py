"""A rich progress bar for training that shows loss and accuracy, or nothing when quiet."""

from __future__ import annotations

from types import TracebackType
from typing import Any


class TrainingProgress:
    """Context manager around ``rich.progress.Progress``; a no-op when ``enabled`` is False.

    Examples
    --------
    >>> with TrainingProgress(epochs=1, batches=2, enabled=False) as bar:
    ...     bar.advance(loss=0.5, accuracy=0.75)
    """

    def __init__(self, epochs: int, batches: int, *, enabled: bool = True, console: Any = None):
        self.epochs, self.batches, self.enabled, self.console = epochs, batches, enabled, console
        self._progress: Any = None
        self._task: Any = None

    def __enter__(self) -> TrainingProgress:
        if self.enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            console = self.console if self.console is not None else Console(stderr=True)
            self._progress = Progress(
                TextColumn("epoch {task.fields[epoch]}/{task.fields[epochs]}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("loss {task.fields[loss]:.4f} acc {task.fields[accuracy]:.3f}"),
                TimeElapsedColumn(),
                console=console,
            )
            self._progress.__enter__()
            self._task = self._progress.add_task(
                "train", total=self.epochs * self.batches, epoch=1, epochs=self.epochs,
                loss=float("nan"), accuracy=float("nan"),
            )  # fmt: skip
        return self

    def advance(self, *, loss: float, accuracy: float, epoch: int = 1) -> None:
        """Record one finished batch with the running loss and accuracy of its epoch."""
        if self._progress is not None:
            self._progress.update(self._task, advance=1, loss=loss, accuracy=accuracy, epoch=epoch)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.__exit__(exc_type, exc, tb)
