"""The versioned results format ``wg-bench/1``: building, validating, reading and writing it.

The format is documented in ``bench/README.md`` ("Results format"). A reader refuses any other
``schema`` value with a message that says which version it found and which one it reads.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from wg_bench.atomic import write_json

SCHEMA = "wg-bench/1"
STATUSES = ("ok", "skipped", "mismatch", "error")


class SchemaError(Exception):
    """A results file is unreadable, of another schema version, or malformed."""


#: key -> accepted types, for the cell fields that every reader relies on
CELL_FIELDS: dict[str, tuple[type, ...]] = {
    "suite": (str,),
    "benchmark": (str,),
    "params": (dict,),
    "implementation": (str,),
    "reference": (bool,),
    "device": (str,),
    "status": (str,),
    "reason": (str,),
    "seconds": (dict, type(None)),
    "peak_memory_bytes": (int, type(None)),
    "metrics": (dict,),
}
SECONDS_FIELDS: dict[str, tuple[type, ...]] = {
    "median": (float, int),
    "q25": (float, int),
    "q75": (float, int),
    "ci95": (list,),
    "samples": (list,),
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
    if document["schema"] != SCHEMA:
        raise SchemaError(
            f"{source}: results schema {document['schema']!r} is not supported: this wg-bench "
            f"reads {SCHEMA!r}. Re-run `wg bench run` with this version, or use the wg-bench "
            "release that wrote the file"
        )
    for key, kind in (("machine", dict), ("results", list)):
        if not isinstance(document.get(key), kind):
            raise SchemaError(f"{source}: top-level {key!r} must be a JSON {kind.__name__}")
    for i, cell in enumerate(document["results"]):
        _check_cell(cell, f"{source}: results[{i}]")
    return document


def _check_cell(cell: Any, where: str) -> None:
    if not isinstance(cell, dict):
        raise SchemaError(f"{where} must be an object")
    for key, kinds in CELL_FIELDS.items():
        if key not in cell:
            raise SchemaError(f"{where} lacks the required field {key!r}")
        if not isinstance(cell[key], kinds) or (bool in kinds) != isinstance(cell[key], bool):
            raise SchemaError(f"{where}.{key} has type {type(cell[key]).__name__}")
    if cell["status"] not in STATUSES:
        raise SchemaError(f"{where}.status is {cell['status']!r}; expected one of {STATUSES}")
    seconds = cell["seconds"]
    if cell["status"] == "ok" and seconds is None:
        raise SchemaError(f"{where}: status 'ok' needs 'seconds'")
    for key, kinds in SECONDS_FIELDS.items() if seconds is not None else ():
        if not isinstance(seconds.get(key), kinds) or isinstance(seconds.get(key), bool):
            raise SchemaError(f"{where}.seconds.{key} is missing or not a number/list")


def load(path: Path) -> dict[str, Any]:
    """Read and validate one results file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise SchemaError(f"{path}: cannot read the results file: {exc.strerror}") from exc
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SchemaError(
            f"{path}:{exc.lineno}: not valid JSON ({exc.msg}); was the file truncated or edited?"
        ) from exc
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


def save(path: Path, document: dict[str, Any]) -> None:
    """Validate and write a results document atomically."""
    validate(document, str(path))
    write_json(path, document)
