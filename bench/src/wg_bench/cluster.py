"""``--executor dask``: hand cells to an existing Dask distributed cluster.

Every cell still runs in a fresh process, now started by a Dask worker. A host-wide file lock
makes the cells of one machine run one at a time, whatever the number of workers or threads on
it, so two timings never share cores or a GPU. Each result carries the fingerprint of the machine
that ran it, and the runner writes one results document per machine.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from wg_bench.cellrun import run_task
from wg_bench.machine import fingerprint
from wg_bench.plan import Task
from wg_bench.protocol import CellResult, CellSpec
from wg_bench.runner import Callback, RunError

_FINGERPRINTS: dict[str, dict[str, Any]] = {}
#: how long to wait for the scheduler before giving up
CONNECT_TIMEOUT = "10s"


@contextmanager
def host_lock() -> Iterator[None]:
    """Exclusive, machine-wide: only one timing cell per host at a time."""
    path = Path(tempfile.gettempdir()) / f"wg-bench-timing-{os.getuid()}.lock"
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def remote_cell(spec: CellSpec, timeout: float, pins: dict[str, str]) -> CellResult:
    """The Dask task: one cell on the worker's machine, with its fingerprint attached."""
    env = {**os.environ, **pins}
    suite_dir = Path(spec.suite_path).parent
    key = str(suite_dir)
    if key not in _FINGERPRINTS:
        _FINGERPRINTS[key] = fingerprint(suite_dir, env)
    with host_lock():
        result = run_task(spec, timeout, env)
    return result.replace(machine_fingerprint=_FINGERPRINTS[key])


def dask_executor(scheduler: str) -> Any:
    """An executor for :func:`wg_bench.runner.run` that submits every task to ``scheduler``."""

    def execute(tasks: list[Task], pins: dict[str, str], done: Callback) -> None:
        try:
            from distributed import Client, as_completed
        except ImportError as exc:
            raise RunError(
                "--executor dask needs dask.distributed; install with pip install 'wg-bench[dask]'"
            ) from exc
        try:
            client = Client(scheduler, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError, ValueError) as exc:
            raise RunError(
                f"cannot reach the Dask scheduler at {scheduler!r}: {exc}. Start one with "
                "`dask scheduler` and workers with `dask worker ADDRESS`, or drop --executor"
            ) from exc
        try:
            futures = {
                client.submit(
                    remote_cell, t.spec, t.timeout, pins, pure=False, priority=len(tasks) - i
                ): t
                for i, t in enumerate(tasks)
            }
            for future in as_completed(futures):
                try:
                    result = future.result()
                except Exception as exc:  # the task itself failed: the cell is an error
                    reason = f"the Dask task failed: {type(exc).__name__}: {exc}"
                    result = CellResult("error", reason)
                done(futures[future], result)
        finally:
            client.close()

    return execute
