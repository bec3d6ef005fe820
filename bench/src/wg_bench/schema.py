"""The versioned results format ``wg-bench/2``: building, validating, reading and writing it.

The format is documented in ``bench/README.md`` ("Results format"). A reader refuses any schema
version it does not know with a message that says which version it found and which ones it reads.
Results files are untrusted input (a pull request can carry one): they are parsed with bounded
nesting, and every field a reader relies on is checked, sample times included, before any figure
is computed from it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from wg_io.output import PathLike, write_json
from wg_io.structure import InputError, load_json

SCHEMA = "wg-bench/2"
#: versions this release reads; ``wg-bench/1`` has no ``headline`` (readers derive one)
READABLE = ("wg-bench/1", SCHEMA)
STATUSES = ("ok", "skipped", "mismatch", "error")
TIMERS = ("wall", "cpu")
VERDICTS = ("yes", "no", "-")
#: the longest time per call a results file may hold (about 11.6 days); more is a damaged file
MAX_SECONDS = 1e6
FIX = "re-run `wg bench run --json` to get a valid results file"


class SchemaError(Exception):
    """A results file is unreadable, of another schema version, or malformed."""


#: key -> accepted types, for the cell fields that every reader relies on: what identifies the
#: cell (:func:`cell_key`), then what the run found
CELL_FIELDS: dict[str, tuple[type, ...]] = {
    **dict.fromkeys(("suite", "benchmark", "implementation", "device"), (str,)),
    "params": (dict,),
    "reference": (bool,),
    **dict.fromkeys(("status", "reason"), (str,)),
    "seconds": (dict, type(None)),
    "peak_memory_bytes": (int, type(None)),
    "metrics": (dict,),
}
#: optional cell fields: when present, of these types
OPTIONAL_CELL_FIELDS: dict[str, tuple[type, ...]] = {
    **dict.fromkeys(("description", "oracle", "timer"), (str,)),
    "first_call_seconds": (int, float, type(None)),
    "ratio": (dict, type(None)),
    "rounds": (int,),
}
#: a headline row names its cells' group as the cells do, then the comparison it headlines
HEADLINE_FIELDS: dict[str, tuple[type, ...]] = {
    **{key: CELL_FIELDS[key] for key in ("suite", "benchmark", "params", "device")},
    **dict.fromkeys(("ours", "peer"), (str, type(None))),
    "ratio": OPTIONAL_CELL_FIELDS["ratio"],
    "target": (str,),
}


def cell_key(cell: dict[str, Any]) -> tuple[str, str, str, str, str]:
    """What identifies a cell across runs: suite, benchmark, params, implementation, device.

    Examples
    --------
    >>> cell_key({"suite": "s", "benchmark": "B", "params": {"n": 1}, "implementation": "numpy",
    ...           "device": "cpu"})
    ('s', 'B', 'n=1', 'numpy', 'cpu')
    """
    params = ", ".join(f"{k}={v}" for k, v in cell["params"].items())
    return (cell["suite"], cell["benchmark"], params, cell["implementation"], cell["device"])


def validate(document: Any, source: str = "<results>") -> dict[str, Any]:
    """Check a parsed results document; returns it, or raises :class:`SchemaError`.

    Examples
    --------
    >>> try:
    ...     validate({"schema": "wg-bench/9", "machine": {}, "results": []}, "old.json")
    ... except SchemaError as exc:
    ...     print(str(exc)[:69])
    old.json: results schema 'wg-bench/9' is not supported: this wg-bench
    """
    if not isinstance(document, dict) or "schema" not in document:
        raise SchemaError(
            f"{source}: not a wg-bench results file (no top-level 'schema' key); "
            "pass a file written by `wg bench run --json`"
        )
    if document["schema"] not in READABLE:
        raise SchemaError(
            f"{source}: results schema {document['schema']!r} is not supported: this wg-bench "
            f"reads {' and '.join(map(repr, READABLE))}. Re-run `wg bench run` with this "
            "version, or use the wg-bench release that wrote the file"
        )
    for key, kind in (("machine", dict), ("results", list)):
        if not isinstance(document.get(key), kind):
            raise SchemaError(f"{source}: top-level {key!r} must be a JSON {kind.__name__}")
    _check_top(document, source)
    for i, cell in enumerate(document["results"]):
        _check_cell(cell, f"{source}: results[{i}]")
    for i, row in enumerate(document.get("headline") or []):
        _check_row(row, f"{source}: headline[{i}]")
    return document


def _check_top(document: dict[str, Any], source: str) -> None:
    """The document fields that reports and comparisons read besides the cells."""
    machine = document["machine"]
    git = machine.get("git")
    checks: list[tuple[str, Any, tuple[type, ...]]] = [
        ("created", document.get("created"), (str, type(None))),
        ("machine.id", machine.get("id"), (str, type(None))),
        ("machine.git", git, (dict, type(None))),
        ("machine.blas", machine.get("blas", []), (list,)),
        ("machine.gpus", machine.get("gpus", []), (list,)),
        ("machine.memory_bytes", machine.get("memory_bytes"), (int, type(None))),
        ("headline", document.get("headline", []), (list,)),
    ]
    if isinstance(git, dict):
        checks += [("machine.git.commit", git.get("commit"), (str, type(None))),
                   ("machine.git.dirty", git.get("dirty"), (bool, type(None)))]  # fmt: skip
    for name, value, kinds in checks:
        if not isinstance(value, kinds):
            raise SchemaError(f"{source}: {name} has type {type(value).__name__}; {FIX}")
    if any(not isinstance(b, dict) for b in machine.get("blas", [])):
        raise SchemaError(f"{source}: machine.blas must be a list of objects; {FIX}")


def _check_fields(value: dict[str, Any], fields: dict[str, tuple[type, ...]], where: str,
                  required: bool) -> None:  # fmt: skip
    for key, kinds in fields.items():
        if key not in value:
            if required:
                raise SchemaError(f"{where} lacks the required field {key!r}")
            continue
        if not isinstance(value[key], kinds) or (bool in kinds) != isinstance(value[key], bool):
            raise SchemaError(f"{where}.{key} has type {type(value[key]).__name__}")


def _check_cell(cell: Any, where: str) -> None:
    if not isinstance(cell, dict):
        raise SchemaError(f"{where} must be an object")
    _check_fields(cell, CELL_FIELDS, where, required=True)
    suite, benchmark, params, impl, device = cell_key(cell)
    where = f"{where} ({suite}.{benchmark}({params}) {impl} [{device}])"
    _check_fields(cell, OPTIONAL_CELL_FIELDS, where, required=False)
    if cell["status"] not in STATUSES:
        raise SchemaError(f"{where}.status is {cell['status']!r}; expected one of {STATUSES}")
    if cell.get("timer", "wall") not in TIMERS:
        raise SchemaError(f"{where}.timer is {cell['timer']!r}; expected one of {TIMERS}")
    if cell.get("ratio") is not None:
        _check_ratio(cell["ratio"], f"{where}.ratio")
    seconds = cell["seconds"]
    if cell["status"] == "ok" and seconds is None:
        raise SchemaError(f"{where}: status 'ok' needs 'seconds'")
    if seconds is not None:
        _check_seconds(seconds, where, cell["status"] == "ok")


def _check_seconds(seconds: dict[str, Any], where: str, ok: bool) -> None:
    for key in ("median", "q25", "q75"):
        _check_time(seconds.get(key), f"{where}.seconds.{key}")
    for key, size in (("ci95", 2), ("samples", None)):
        values = seconds.get(key)
        if not isinstance(values, list) or (size is not None and len(values) != size):
            count = "a list of 2 numbers" if size else "a list of numbers"
            raise SchemaError(f"{where}.seconds.{key} is missing or not {count}; {FIX}")
        for i, value in enumerate(values):
            _check_time(value, f"{where}.seconds.{key}[{i}]")
    if ok and not seconds["samples"]:
        raise SchemaError(f"{where}.seconds.samples is empty but the status is 'ok'; {FIX}")


def _check_time(value: Any, where: str) -> None:
    """A time per call: a finite number of seconds in (0, MAX_SECONDS]."""
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if not (number and math.isfinite(value) and 0 < value <= MAX_SECONDS):
        shown = repr(value) if len(repr(value)) <= 40 else f"{repr(value)[:37]}..."
        raise SchemaError(
            f"{where} is {shown}; a time must be a number of seconds above 0 and at most "
            f"{MAX_SECONDS:g}; {FIX}"
        )


def _check_ratio(ratio: Any, where: str) -> None:
    """``{"value": x, "ci95": [low, high]}``; null figures are allowed (NaN is written as null)."""
    figures = [ratio.get("value"), *(ratio.get("ci95") or [])]
    shape_ok = isinstance(ratio.get("ci95"), list) and len(ratio["ci95"]) == 2
    numbers_ok = all(
        v is None or (isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v))
        for v in figures
    )
    if not (shape_ok and numbers_ok):
        raise SchemaError(f"{where} must be {{'value': number, 'ci95': [low, high]}}; {FIX}")


def _check_row(row: Any, where: str) -> None:
    if not isinstance(row, dict):
        raise SchemaError(f"{where} must be an object")
    _check_fields(row, HEADLINE_FIELDS, where, required=True)
    if row["target"] not in VERDICTS:
        raise SchemaError(f"{where}.target is {row['target']!r}; expected one of {VERDICTS}")
    if row["ratio"] is not None:
        _check_ratio(row["ratio"], f"{where}.ratio")


def load(path: Path) -> dict[str, Any]:
    """Read and validate one results file (bounded nesting: a hostile file is a SchemaError)."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise SchemaError(f"{path}: cannot read the results file: {exc.strerror}") from exc
    try:
        document = load_json(data, path, non_finite=True)  # checked per sample below
    except InputError as exc:
        where = f"{exc.path}:{exc.line}" if exc.line else exc.path
        problem = exc.problem.split(";", 1)[0]  # wg_io's own fix suits a config file, not ours
        raise SchemaError(
            f"{where}: {problem}; pass a results file written by `wg bench run --json` (this one "
            "may be truncated or edited)"
        ) from None
    return validate(document, str(path))


def load_many(paths: Iterable[Path]) -> list[tuple[Path, dict[str, Any]]]:
    """Results files, with folders expanded to the ``*.json`` files they hold (sorted by name)."""
    found: list[tuple[Path, dict[str, Any]]] = []
    for path in paths:
        files = sorted(Path(path).rglob("*.json")) if Path(path).is_dir() else [Path(path)]
        if not files:
            raise SchemaError(f"{path}: the folder holds no *.json results files")
        found.extend((f, load(f)) for f in files)
    return found


def save(path: Path, document: dict[str, Any], inputs: Iterable[PathLike] = ()) -> None:
    """Validate and write a results document under the output-path policy (``wg_io.output``);
    a missing folder is created. Raises :class:`wg_io.output.OutputError` naming ``path``."""
    validate(document, str(path))
    write_json(path, document, inputs=inputs, make_parents=True)
