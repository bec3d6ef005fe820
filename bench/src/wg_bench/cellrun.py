"""Run one task in a fresh interpreter, with a timeout, and turn any failure into a result.

Used by both executors: the local one calls :func:`run_task` directly, the Dask one calls it on a
worker. A crash, a hang past the timeout or the kernel's out-of-memory killer never stops the run:
they become an ``error`` result with the reason.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from wg_bench.discovery import missing_requirement
from wg_bench.interruption import deferred
from wg_bench.machine import gpu_missing_reason
from wg_bench.protocol import CellResult, CellSpec

LOG_TAIL_LINES = 3


def precheck(spec: CellSpec) -> str | None:
    """Why this machine cannot run the cell (missing optional library, no GPU), or None."""
    missing = missing_requirement(spec.requires)
    if missing is not None:
        return missing
    if spec.device == "cuda":
        return gpu_missing_reason()
    return None


def resolve_oracle(spec: CellSpec) -> tuple[CellSpec, str]:
    """Gate against the reference when the oracle's library is missing here (with a note);
    raises LookupError when neither can run, since nothing could then be checked."""
    oracle_missing = missing_requirement(spec.oracle_requires)
    if oracle_missing is None:
        return spec, ""
    if missing_requirement(spec.reference_requires) is not None:
        raise LookupError(
            f"cannot check correctness here: neither the oracle {spec.oracle} nor the "
            f"reference {spec.reference} can run ({oracle_missing})"
        )
    note = f"gated against the reference {spec.reference}: the oracle {spec.oracle} cannot run "
    note += f"here ({oracle_missing})"
    return dataclasses.replace(spec, oracle=spec.reference), note


def run_task(spec: CellSpec, timeout: float, env: dict[str, str]) -> CellResult:
    """Measure one cell in a child process; never raises for a failing cell."""
    reason = precheck(spec)
    note = ""
    if reason is None:
        try:
            spec, note = resolve_oracle(spec)
        except LookupError as exc:
            reason = str(exc)
    if reason is not None:
        return CellResult("skipped", reason)
    result = _run_child(spec, timeout, env)
    if note:
        result = result.replace(reason=f"{result.reason}; {note}" if result.reason else note)
    return result.replace(oracle=spec.oracle)


def cell_env(spec: CellSpec, env: dict[str, str]) -> dict[str, str]:
    """``env`` with the spec's ``python_path`` folders first on ``PYTHONPATH``.

    Examples
    --------
    >>> spec = CellSpec("s.py", "B", (), "wg", "np", "np", python_path=("/rev/src",))
    >>> cell_env(spec, {"PYTHONPATH": "/x"})["PYTHONPATH"]
    '/rev/src:/x'
    """
    if not spec.python_path:
        return env
    path = [*spec.python_path, *([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])]
    return {**env, "PYTHONPATH": os.pathsep.join(path)}


def _run_child(spec: CellSpec, timeout: float, env: dict[str, str]) -> CellResult:
    env = cell_env(spec, env)
    with tempfile.TemporaryDirectory(prefix="wg-bench-cell-") as tmp:
        spec_path, result_path, log_path = (Path(tmp) / n for n in ("spec.json", "out.json", "log"))
        spec_path.write_text(spec.to_json())
        command = [sys.executable, "-m", "wg_bench.worker", str(spec_path), str(result_path)]
        started = time.perf_counter()
        process: subprocess.Popen[bytes] | None = None
        with open(log_path, "wb") as log:
            try:
                with deferred():
                    process = subprocess.Popen(
                        command, env=env, stdout=log, stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )  # fmt: skip
                returncode = process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                _kill(process)
                return _failed(
                    f"timed out after {timeout:g} s (the per-cell timeout; raise the "
                    "benchmark's `timeout` or pass --timeout)",
                    log_path,
                )
            except BaseException:
                _kill(process)
                raise
        wall = time.perf_counter() - started
        if result_path.exists() and returncode == 0:
            result = CellResult.from_dict(json.loads(result_path.read_text()))
            return result.replace(wall_seconds=wall)
        return _failed(_exit_reason(returncode), log_path)


def _kill(process: subprocess.Popen[bytes] | None) -> None:
    """Kill the cell and everything it started (its own session), then reap it (if started)."""
    if process is None:
        return
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        process.kill()
    process.wait()


def _exit_reason(returncode: int) -> str:
    if returncode < 0:
        name = signal.Signals(-returncode).name
        if -returncode == signal.SIGKILL:
            return f"killed by {name} (most likely out of memory: the kernel's OOM killer)"
        return f"crashed with signal {name}"
    return f"the cell process exited with status {returncode} before writing a result"


def _failed(reason: str, log_path: Path) -> CellResult:
    try:
        lines = log_path.read_text(errors="replace").strip().splitlines()
    except OSError:
        lines = []
    tail = " | ".join(line.strip() for line in lines[-LOG_TAIL_LINES:])
    return CellResult("error", f"{reason}; output: {tail}" if tail else reason)
