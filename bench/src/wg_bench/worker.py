"""The child process that measures one cell: ``python -m wg_bench.worker SPEC.json RESULT.json``.

Each cell runs in a fresh interpreter so that imports, JIT caches, allocator state and thread pools
of one implementation never leak into another's timing. The parent pins the thread-count environment
variables before this interpreter starts (BLAS libraries read them only when they load).

Steps: ``setup`` -> the oracle's output (from the run's cache when another cell already computed
it) -> ``setup_<impl>`` -> the first call, timed on its own (compile/JIT/trace time) and gated
against the oracle -> warm-up calls that calibrate the loop count so one sample lasts at least
``min_time`` -> ``samples`` timed samples. A mismatch is reported and not timed.
"""

from __future__ import annotations

import gc
import math
import pickle
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from wg_io.output import write_bytes, write_json

from wg_bench.discovery import load_module
from wg_bench.outputs import StructureError, block, device_sync, is_async, rho_error, to_host
from wg_bench.protocol import CellResult, CellSpec

Clock = Callable[[], float]


def _reset_peak_memory() -> bool:
    """Reset the kernel's resident-set high-water mark (Linux >= 4.0), so the peak is the cell's."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _status_bytes(field: str) -> int | None:
    """A ``/proc/self/status`` memory field (``VmHWM``, ``VmRSS``) in bytes, if there is one."""
    try:
        lines = Path("/proc/self/status").read_text().splitlines()
    except OSError:
        return None
    found = [int(line.split()[1]) * 1024 for line in lines if line.startswith(f"{field}:")]
    return found[0] if found else None


def _peak_memory_bytes(reset: bool) -> int:
    peak = _status_bytes("VmHWM") if reset else None
    if peak is not None:
        return peak
    import resource

    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(own) * (1 if sys.platform == "darwin" else 1024)


def _thread_pools() -> list[dict[str, Any]]:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    keys = ("internal_api", "num_threads", "version", "threading_layer", "architecture")
    return [{k: pool.get(k) for k in keys if k in pool} for pool in threadpool_info()]


def _error_reason(exc: BaseException, suite_path: str) -> str:
    if isinstance(exc, MemoryError):
        return f"out of memory (MemoryError) {exc}".strip()
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if f.filename == suite_path] or frames[-1:]
    where = f" at {ours[-1].filename}:{ours[-1].lineno}" if ours else ""
    return f"{type(exc).__name__}: {exc}{where}"


class Cell:
    """One benchmark instance with its implementation, ready to call and time."""

    def __init__(self, spec: CellSpec) -> None:
        self.spec = spec
        self.asynchronous = False
        module = load_module(Path(spec.suite_path))
        cls = getattr(module, spec.benchmark)
        values = [cls_params(cls)[k][i] for k, i in enumerate(spec.param_index)]
        self.bench = cls()
        if hasattr(self.bench, "setup"):
            self.bench.setup(spec.device, *values)
        user_sync = getattr(self.bench, "sync", None)
        if user_sync is not None:
            self.sync: Callable[[], Any] = user_sync
        else:
            self.sync = device_sync if spec.device == "cuda" else _nothing

    def prepare(self, implementation: str) -> Callable[[], Any]:
        return prepare(self.bench, implementation)

    def call(self, impl: Callable[[], Any], clock: Clock) -> tuple[Any, float]:
        self.sync()
        start = clock()
        out = block(impl())
        self.sync()
        elapsed = clock() - start
        self.asynchronous = is_async(out)
        return out, elapsed

    def sample(self, impl: Callable[[], Any], loops: int, clock: Clock) -> float:
        gc.collect()
        self.sync()
        start = clock()
        if self.asynchronous:
            for _ in range(loops):
                block(impl())
        else:  # no per-call pytree walk in the timed loop of a synchronous implementation
            for _ in range(loops):
                impl()
        self.sync()
        return (clock() - start) / loops


def prepare(bench: Any, implementation: str) -> Callable[[], Any]:
    """Run the benchmark's ``setup_<implementation>`` hook when it has one (asv's convention for
    per-implementation set-up, untimed); return its ``impl_<implementation>``."""
    hook = getattr(bench, f"setup_{implementation}", None)
    if hook is not None:
        hook()
    impl: Callable[[], Any] = getattr(bench, f"impl_{implementation}")
    return impl


def _nothing() -> None:
    return None


def cls_params(cls: type) -> list[list[Any]]:
    """``params`` of a class as a list of value lists (asv's flat single-parameter form too)."""
    params = getattr(cls, "params", None) or []
    if params and not all(isinstance(p, list | tuple) for p in params):
        return [list(params)]
    return [list(p) for p in params]


def expected_output(cell: Cell, spec: CellSpec) -> Any:
    """The oracle's output on this input, read from the run's cache or computed and cached."""
    cache = cache_path(spec)
    if cache and Path(cache).exists():
        with open(cache, "rb") as handle:
            return pickle.load(handle)
    oracle = cell.prepare(spec.oracle)
    out, _ = cell.call(oracle, time.perf_counter)
    host = to_host(out)
    if cache:
        write_bytes(Path(cache), pickle.dumps(host))
    return host


def cache_path(spec: CellSpec) -> str | None:
    """Where this group's oracle output is cached (one file per oracle: it may fall back)."""
    base = spec.oracle_cache
    return f"{base}.{spec.oracle}.pkl" if base else None


def _metrics(figures: Any) -> dict[str, float]:
    """``metrics()``'s figures as floats; anything else is the suite's error, said plainly."""
    if not isinstance(figures, dict):
        raise TypeError(
            f"metrics() must return a dict of name -> number, not {type(figures).__name__}"
        )
    try:
        return {str(k): float(v) for k, v in figures.items()}
    except (TypeError, ValueError) as exc:
        raise TypeError(f"metrics() must return a dict of name -> number: {exc}") from exc


def gate(cell: Cell, output: Any, expected: Any) -> float:
    """The benchmark's ``error`` (default: ADBench rho) between an output and the oracle's."""
    measure = getattr(cell.bench, "error", None) or rho_error
    return float(measure(output, expected))


def calibrate(
    cell: Cell, impl: Callable[[], Any], min_time: float, clock: Clock
) -> tuple[int, list[float]]:
    """Loops so one sample lasts >= ``min_time``; returns (loops, warm-up per-call times)."""
    _, once = cell.call(impl, clock)
    warmup = [once]
    if once >= min_time:  # one call fills a sample, and this call was the warm-up
        return 1, warmup
    loops = max(1, math.ceil(min_time * 1.1 / max(once, 1e-9)))
    for _ in range(4):
        per_call = cell.sample(impl, loops, clock)
        warmup.append(per_call)
        if per_call * loops >= min_time:
            break
        loops = max(loops + 1, math.ceil(min_time * 1.1 / max(per_call, 1e-9)))
    return loops, warmup


class CellUnavailableError(Exception):
    """``setup`` or ``setup_<impl>`` raised NotImplementedError: this cell cannot run here."""


def _setup_step(step: Callable[..., Any], *args: Any) -> Any:
    # airspeed velocity's convention: NotImplementedError from a setup means "skip", not "error"
    # (e.g. a cuda cell whose array library is not installed on this GPU machine).
    try:
        return step(*args)
    except NotImplementedError as exc:
        raise CellUnavailableError(
            str(exc) or f"{getattr(step, '__name__', 'setup')} is not available here"
        ) from exc


def measure(spec: CellSpec, clock: Clock = time.perf_counter) -> CellResult:
    """Run one cell as described by ``spec``; returns the worker's part of the result."""
    found: dict[str, Any] = {"status": "error", "reason": "", "metrics": {}, "timer": spec.timer}
    if spec.timer == "cpu":
        clock = time.process_time  # all threads of this process; a sleeping one counts nothing
    try:
        _measure_into(found, spec, clock)
    except CellUnavailableError as exc:
        found.update(status="skipped", reason=str(exc))
    except StructureError as exc:
        found.update(status="mismatch", reason=f"{exc} (oracle: {spec.oracle})")
    except Exception as exc:
        found["reason"] = _error_reason(exc, spec.suite_path)
    found["threads"] = _thread_pools()
    return CellResult.from_dict(found)


def _measure_into(found: dict[str, Any], spec: CellSpec, clock: Clock) -> None:
    """The steps of :func:`measure`; ``found`` keeps what was measured when a step raises."""
    started = time.perf_counter()
    cell = _setup_step(Cell, spec)
    is_oracle = spec.implementation == spec.oracle
    expected = None if is_oracle else expected_output(cell, spec)
    reset = _reset_peak_memory()
    found["baseline_memory_bytes"] = _status_bytes("VmRSS")
    impl = _setup_step(cell.prepare, spec.implementation)
    found["setup_seconds"] = time.perf_counter() - started
    out, found["first_call"] = cell.call(impl, clock)
    host = to_host(out)
    cache = cache_path(spec)
    if is_oracle and cache and not Path(cache).exists():
        write_bytes(Path(cache), pickle.dumps(host))
    error = 0.0 if is_oracle else gate(cell, host, expected)
    found["metrics"]["max_error"] = error
    if hasattr(cell.bench, "metrics"):
        found["metrics"].update(_metrics(cell.bench.metrics(host)))
    if not error <= spec.tolerance:  # NaN fails too
        found["status"] = "mismatch"
        found["reason"] = f"error {error:.3g} > tolerance {spec.tolerance:g} against {spec.oracle}"
        return
    loops, warmup = calibrate(cell, impl, spec.min_time, clock)
    samples = [cell.sample(impl, loops, clock) for _ in range(spec.samples)]
    found.update(status="ok", loops=loops, warmup=warmup, samples=samples)
    found["peak_memory_bytes"] = _peak_memory_bytes(reset)
    found["peak_memory_scope"] = "cell" if reset else "process"


def limit_memory(limit: int | None) -> None:
    """Cap the process's address space, so running out of memory is a clean MemoryError in this
    cell instead of the kernel's OOM killer picking a process on a shared machine."""
    if limit:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def main(argv: list[str]) -> int:
    """``python -m wg_bench.worker SPEC.json RESULT.json``: the process boundary, both ways."""
    spec_path, result_path = Path(argv[0]), Path(argv[1])
    spec = CellSpec.from_json(spec_path.read_text())
    limit_memory(spec.memory_limit)
    write_json(result_path, measure(spec).to_dict())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
