"""What crosses the process boundary between the harness and a cell: a spec in, a result out.

Both are frozen dataclasses from the plan to the worker and back; they become JSON only at the
boundary (:meth:`CellSpec.to_json` / :meth:`CellSpec.from_json` for the spec file the worker
reads, :meth:`CellResult.to_dict` / :meth:`CellResult.from_dict` for the result file it writes),
and are pickled as they are by the Dask executor.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

#: (import name, install hint) of an implementation's optional library
Requirement = tuple[str, str]


def _requirement(value: Any) -> Requirement | None:
    return (str(value[0]), str(value[1])) if value else None


@dataclass(frozen=True)
class CellSpec:
    """Everything a worker needs to measure one cell for one round."""

    suite_path: str
    benchmark: str
    param_index: tuple[int, ...]
    implementation: str
    oracle: str
    reference: str
    device: str = "cpu"
    tolerance: float = 0.0
    samples: int = 10
    min_time: float = 0.1
    memory_limit: int | None = None  # bytes of address space (RLIMIT_AS)
    timer: str = "wall"
    requires: Requirement | None = None  # of the implementation
    oracle_requires: Requirement | None = None
    reference_requires: Requirement | None = None
    oracle_cache: str | None = None  # file prefix of the group's cached oracle output
    python_path: tuple[str, ...] = ()  # folders put first on the cell's PYTHONPATH (--against)

    def to_json(self) -> str:
        """The spec as the JSON text the worker reads.

        Examples
        --------
        >>> spec = CellSpec("s.py", "B", (0, 1), "wg", "numpy", "numpy", requires=("m", "pip i m"))
        >>> CellSpec.from_json(spec.to_json()) == spec
        True
        """
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, text: str) -> CellSpec:
        """The spec :meth:`to_json` wrote."""
        data = json.loads(text)
        data["param_index"] = tuple(data["param_index"])
        data["python_path"] = tuple(data.get("python_path") or ())
        for key in ("requires", "oracle_requires", "reference_requires"):
            data[key] = _requirement(data.get(key))
        return cls(**data)


@dataclass(frozen=True)
class CellResult:
    """One round of one cell as measured (or why not): ``status`` is ok, skipped, mismatch or
    error; the timing fields are set for ``ok`` only."""

    status: str
    reason: str = ""
    metrics: Mapping[str, float] = field(default_factory=dict)
    timer: str = "wall"
    samples: tuple[float, ...] = ()  # seconds per call
    warmup: tuple[float, ...] = ()
    loops: int = 0
    first_call: float | None = None
    setup_seconds: float | None = None
    peak_memory_bytes: int | None = None
    peak_memory_scope: str | None = None  # "cell" or "process"
    baseline_memory_bytes: int | None = None
    threads: tuple[Mapping[str, Any], ...] = ()
    oracle: str | None = None  # the oracle the cell was gated against
    wall_seconds: float | None = None  # the cell process's wall time
    machine_fingerprint: Mapping[str, Any] | None = None  # set by a remote executor

    def to_dict(self) -> dict[str, Any]:
        """The result as JSON-ready data (the worker's result file).

        Examples
        --------
        >>> result = CellResult("ok", samples=(1.0, 2.0), loops=3)
        >>> CellResult.from_dict(result.to_dict()) == result
        True
        """
        data = dataclasses.asdict(self)
        data["metrics"] = dict(self.metrics)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CellResult:
        """The result :meth:`to_dict` wrote (unknown keys are ignored)."""
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        for key in ("samples", "warmup", "threads"):
            values[key] = tuple(values.get(key) or ())
        return cls(**values)

    def replace(self, **changes: Any) -> CellResult:
        """A copy with ``changes`` applied."""
        return dataclasses.replace(self, **changes)
