"""Our versioned model file: magic, version, JSON header, raw little-endian arrays (mmap-able).

Layout (version 2)::

    8 bytes  b"WGONLINE"
    4 bytes  format version, uint32 little-endian
    4 bytes  header length H, uint32 little-endian
    H bytes  JSON header: options, examples_seen, save_resume, arrays [{name, dtype, offset, count}]
    ...      zero padding to a multiple of 64, then each array at its offset (64-byte aligned)

Without ``save_resume`` only the weights are stored; the AdaGrad sums restart at zero on load.

Version 1 is the same bytes; its FFM weights are in the ``"blocks"`` layout (a whole block per
hash bucket, see :func:`wg_online.model.ffm_geometry`), and its header has no ``ffm_layout``.
Version 2 records the layout, by default Fwumious Wabbit's ``"fw"`` table.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from wg_online.atomic_file import atomic_file
from wg_online.model import Model, Options, OptionsError, ffm_geometry

MAGIC = b"WGONLINE"
FORMAT_VERSION = 2
SUPPORTED_VERSIONS = (1, 2)


class ModelFileError(ValueError):
    """A model file that cannot be used: wrong kind, version, truncated or mismatched."""


def _align(n: int) -> int:
    return (n + 63) // 64 * 64


def save_model(model: Model, path: str | Path, save_resume: bool = False) -> None:
    """Write ``model`` to ``path`` atomically (temp file in the same folder, then rename).

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "m.wgm")
    >>> save_model(Model.new(Options(bit_precision=4)), path)
    >>> load_model(path).w.shape
    (16,)
    """
    names = ["w", "acc", "v", "vacc"] if save_resume else ["w", "v"]
    arrays = {n: np.ascontiguousarray(getattr(model, n), dtype="<f4") for n in names}
    entries: list[dict[str, Any]] = []
    offset = 0
    for name, arr in arrays.items():
        entries.append({"name": name, "dtype": "<f4", "offset": offset, "count": int(arr.size)})
        offset = _align(offset + arr.nbytes)
    header = {
        "options": model.options.to_json(),
        "examples_seen": model.examples_seen,
        "save_resume": save_resume,
        "arrays": entries,
    }
    raw = json.dumps(header, sort_keys=True).encode()
    start = _align(16 + len(raw))
    with atomic_file(path, prefix=".wgmodel-") as out:
        out.write(MAGIC + FORMAT_VERSION.to_bytes(4, "little") + len(raw).to_bytes(4, "little"))
        out.write(raw + b"\0" * (start - 16 - len(raw)))
        for entry, arr in zip(entries, arrays.values(), strict=True):
            out.seek(start + entry["offset"])
            out.write(arr.data.cast("B"))  # from the array itself: no copy of it first


def read_header(path: str | Path) -> tuple[dict, int, int]:
    """(JSON header, data start, file size) after checking magic, version and size."""
    try:
        with open(path, "rb") as f:
            head = f.read(16)
            if len(head) < 16 or head[:8] != MAGIC:
                raise ModelFileError(
                    f"{path} is not a wg_online model file (bad magic bytes); "
                    "pass a file written by `wg online train -f`"
                )
            version = int.from_bytes(head[8:12], "little")
            if version not in SUPPORTED_VERSIONS:
                raise ModelFileError(
                    f"{path} has model format version {version}; this wg_online "
                    f"reads versions {list(SUPPORTED_VERSIONS)}: upgrade wg_online"
                )
            size = int.from_bytes(head[12:16], "little")
            raw = f.read(size)
            total = os.fstat(f.fileno()).st_size
    except OSError as exc:
        raise ModelFileError(f"cannot read model file {path}: {exc.strerror}") from None
    try:
        header = json.loads(raw)
    except ValueError:
        raise ModelFileError(f"{path}: the model header is truncated or corrupt") from None
    options = header.get("options") if isinstance(header, dict) else None
    if version == 1 and isinstance(options, dict):  # before FW's table: a block per bucket
        options.setdefault("ffm_layout", "blocks")
    start = _align(16 + size)
    for e in header["arrays"]:
        end = start + e["offset"] + e["count"] * 4
        if end > total:
            raise ModelFileError(
                f"{path} is truncated: {total} bytes, array {e['name']!r} "
                f"needs {end}; retrain or copy the file again"
            )
    return header, start, total


def load_model(path: str | Path, mmap: bool = False) -> Model:
    """Load a model; ``mmap=True`` maps the weights (copy-on-write) instead of reading them."""
    header, start, _ = read_header(path)
    try:
        options = Options.from_json(header["options"])
    except (OptionsError, TypeError) as exc:
        raise ModelFileError(f"{path}: bad options in header: {exc}") from None
    fresh = Model.new(Options(**{**options.asdict(), "ffm_k": 0}))
    arrays: dict[str, np.ndarray] = {}
    for e in header["arrays"]:
        if mmap:
            arrays[e["name"]] = np.memmap(path, "<f4", "c", start + e["offset"], (e["count"],))
        else:
            arrays[e["name"]] = np.fromfile(path, "<f4", e["count"], offset=start + e["offset"])
    w, v = arrays["w"], arrays["v"]
    if w.size != fresh.w.size:
        raise ModelFileError(f"{path}: {w.size} weights do not match -b {options.bit_precision}")
    n_v = ffm_geometry(options)[2]
    if v.size != n_v:
        raise ModelFileError(
            f"{path}: {v.size} FFM weights do not match --ffm_k {options.ffm_k}, "
            f"{len(options.ffm_fields)} fields and --ffm_bit_precision {options.ffm_bit_precision} "
            f"({n_v} expected); the file is corrupt or was edited"
        )
    acc = arrays.get("acc", np.zeros_like(fresh.w) if not mmap else fresh.acc)
    vacc = arrays.get("vacc", np.zeros(v.size, np.float32))
    return Model(options, w, acc, v, vacc, header.get("examples_seen", 0))


def check_compatible(model: Model, requested: dict, path: str | Path) -> None:
    """Refuse continuing training with options that differ from the model's (VW-style -i)."""
    current = model.options.asdict()
    for key, value in requested.items():
        if key in current and current[key] != value:
            raise ModelFileError(
                f"{path} was trained with {key}={current[key]!r} but you asked for {value!r}; "
                "drop the option or train a new model"
            )
