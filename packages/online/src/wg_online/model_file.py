"""Our versioned model file: magic, version, JSON header, raw little-endian arrays (mmap-able).

Layout (version 4; version 3 is the same without the deep model's arrays and graph)::

    8 bytes  b"WGONLINE"
    4 bytes  format version, uint32 little-endian
    4 bytes  header length H, uint32 little-endian
    16 bytes checksum: XXH3-64 (hexadecimal ASCII) of every byte after these 32
    H bytes  JSON header: options, examples_seen, save_resume, arrays [{name, dtype, offset, count}]
    ...      zero padding to a multiple of 64, then each array at its offset (64-byte aligned),
             zero padding between arrays; the file ends where the last array ends

Without ``save_resume`` only the weights are stored; the AdaGrad sums restart at zero on load
(a deep model's layer sums at ``--nn_init_acc_gradient``). A deep model (version 4) stores its
layers in ``nn`` (and ``nnacc``) and its graph in the header's ``graph`` field: topology, inputs,
each layer's options, inputs and offset (:meth:`wg_online.nn.Graph.describe`), checked against
the options on load. Each layer's weights are stored unit by unit, then its biases
(:func:`wg_online.nn.file_layout`); in memory the kernel keeps them input by input.

An inference model (:mod:`wg_online.inference`) has ``"inference": true`` and no AdaGrad sums;
with FW's ``--weight_quantization`` its ``v`` array is ``<f2`` bucket indices, decoded on load
with the header's ``"quantization": {"array": "v", "min", "inc"}``. Training refuses both.

Versions 1 and 2 have no checksum field (their header starts at byte 16) and still load. Version 1
stores its FFM weights in the ``"blocks"`` layout (a whole block per hash bucket, see
:func:`wg_online.model.ffm_geometry`) and its header has no ``ffm_layout``; later versions record
the layout, by default Fwumious Wabbit's ``"fw"`` table.

A model file is untrusted input: the header is checked against :data:`HEADER_SCHEMA` and every
array's offset and size against the file before any of them is used, and the checksum is
verified unless the caller opts out (``verify=False``, for mmap-speed loading of trusted files).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
from wg_io.checksum import digest
from wg_io.output import open_output
from wg_io.structure import InputError, load_json

from wg_online.model import Model, Options, OptionsError, ffm_geometry, nn_graph
from wg_online.nn import file_layout, kernel_layout

MAGIC = b"WGONLINE"
FORMAT_VERSION = 4
SUPPORTED_VERSIONS = (1, 2, 3, 4)
#: Bytes before the JSON header, by format version (version 3 adds the checksum).
PREAMBLE = {1: 16, 2: 16, 3: 32, 4: 32}
#: The JSON header of a real model is a few kB; a larger one is damage, not a model.
MAX_HEADER_BYTES = 1 << 20
ARRAY_NAMES = ("w", "acc", "v", "vacc", "nn", "nnacc")
#: Header fields: name -> (required, type). Checked before any offset or size is used.
HEADER_SCHEMA: dict[str, tuple[bool, type]] = {
    "options": (True, dict),
    "arrays": (True, list),
    "examples_seen": (False, int),
    "save_resume": (False, bool),
    "graph": (False, dict),
    "inference": (False, bool),
    "quantization": (False, dict),
}
#: Fields of each ``arrays`` entry: all required.
ARRAY_SCHEMA: dict[str, type] = {"name": str, "dtype": str, "offset": int, "count": int}
_DAMAGED = "the file is damaged or was not written by `wg online train -f`: train the model again"


class ModelFileError(ValueError):
    """A model file that cannot be used; the one-line message names the file and the fix."""


def _fail(path: str | os.PathLike[str], problem: str, fix: str = _DAMAGED) -> ModelFileError:
    return ModelFileError(f"{os.fspath(path)}: {problem}; {fix}")


def _align(n: int) -> int:
    return (n + 63) // 64 * 64


def _body(
    model: Model, save_resume: bool, quantized: bool = False
) -> tuple[bytes, list[bytes | memoryview]]:
    """The header bytes and every chunk after the header (padding and arrays), in file order."""
    names = ["w", "acc", "v", "vacc"] if save_resume else ["w", "v"]
    graph = nn_graph(model.options)
    if graph is not None:
        names += ["nn", "nnacc"] if save_resume else ["nn"]
    arrays = [np.ascontiguousarray(getattr(model, n), dtype="<f4") for n in names]
    if graph is not None:  # the layers in the file's order (unit by unit), not the kernel's
        for i in range(names.index("nn"), len(names)):
            arrays[i] = file_layout(graph, arrays[i]).astype("<f4", copy=False)
    extra: dict[str, Any] = {"inference": True} if model.inference or quantized else {}
    if quantized:
        from wg_online.inference import quantize

        low, inc, arrays[names.index("v")] = quantize(model.v)
        extra["quantization"] = {"array": "v", "min": low, "inc": inc}
    entries: list[dict[str, Any]] = []
    offset = 0
    for name, arr in zip(names, arrays, strict=True):
        dtype = arr.dtype.str
        entries.append({"name": name, "dtype": dtype, "offset": offset, "count": int(arr.size)})
        offset = _align(offset + arr.nbytes)
    header = {
        "options": model.options.to_json(),
        "examples_seen": model.examples_seen,
        "save_resume": save_resume,
        "arrays": entries,
        **extra,
    }
    if graph is not None:
        header["graph"] = graph.describe()
    raw = json.dumps(header, sort_keys=True).encode()
    pad = _align(PREAMBLE[FORMAT_VERSION] + len(raw)) - PREAMBLE[FORMAT_VERSION] - len(raw)
    chunks: list[bytes | memoryview] = [b"\0" * pad]
    position = 0
    for entry, arr in zip(entries, arrays, strict=True):
        chunks.append(b"\0" * (entry["offset"] - position))
        chunks.append(arr.data.cast("B"))  # the array itself: no copy of it first
        position = entry["offset"] + arr.nbytes
    return raw, chunks


def save_model(
    model: Model,
    path: str | os.PathLike[str],
    save_resume: bool = False,
    inputs: Iterable[str | os.PathLike[str]] = (),
    quantized: bool = False,
) -> None:
    """Write ``model`` to ``path`` under wg_io's output-path policy (atomic, never an input).

    ``quantized`` stores the FFM weights as FW's ``--weight_quantization`` does, in an inference
    model (:mod:`wg_online.inference`).

    Raises
    ------
    wg_io.output.OutputError
        When the file cannot be written or is one of ``inputs``; the message names ``path``.

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "m.wgm")
    >>> save_model(Model.new(Options(bit_precision=4)), path)
    >>> load_model(path).w.shape
    (16,)
    """
    raw, chunks = _body(model, save_resume, quantized)
    checksum = digest([raw, *chunks]).encode("ascii")
    preamble = MAGIC + FORMAT_VERSION.to_bytes(4, "little") + len(raw).to_bytes(4, "little")
    with open_output(path, inputs=inputs) as out:
        out.write(preamble + checksum + raw)
        for chunk in chunks:
            out.write(chunk)


def _file_chunks(handle: Any, start: int, size: int = 1 << 22) -> Iterator[bytes]:
    handle.seek(start)
    while chunk := handle.read(size):
        yield chunk


def _read_preamble(path: str | os.PathLike[str], verify: bool) -> tuple[int, bytes, int]:
    """(format version, raw JSON header, file size), the checksum verified if asked."""
    try:
        with open(path, "rb") as f:
            total = os.fstat(f.fileno()).st_size
            head = f.read(16)
            if len(head) < 16 or head[:8] != MAGIC:
                raise _fail(
                    path,
                    "not a wg_online model file (bad magic bytes)",
                    "pass a file written by `wg online train -f`",
                )
            version = int.from_bytes(head[8:12], "little")
            if version not in SUPPORTED_VERSIONS:
                raise _fail(
                    path,
                    f"model format version {version}; this wg_online reads versions "
                    f"{list(SUPPORTED_VERSIONS)}",
                    "upgrade wg_online, or train the model again if the file is damaged",
                )
            size = int.from_bytes(head[12:16], "little")
            start = PREAMBLE[version]
            if size > min(MAX_HEADER_BYTES, total - start):
                raise _fail(path, f"the header length {size} does not fit in {total} bytes")
            stored = f.read(start - 16)
            if verify and version >= 3 and digest(_file_chunks(f, start)).encode() != stored:
                raise _fail(path, "checksum mismatch: the file was damaged after it was written")
            f.seek(start)
            raw = f.read(size)
    except OSError as exc:
        raise _fail(path, f"cannot read model file: {exc.strerror}", "check the path") from None
    return version, raw, total


def _check_schema(header: Any, path: str | os.PathLike[str]) -> None:
    """Refuse a header whose fields are missing or of the wrong type (see HEADER_SCHEMA)."""
    if not isinstance(header, dict):
        raise _fail(path, "the model header is not a JSON object")
    for key, (required, kind) in HEADER_SCHEMA.items():
        if key not in header:
            if required:
                raise _fail(path, f"the model header has no {key!r} field")
            continue
        if not _is(header[key], kind):
            raise _fail(path, f"the model header's {key!r} is not of type {kind.__name__}")
    if header.get("examples_seen", 0) < 0:
        raise _fail(path, "the model header's 'examples_seen' is negative")
    seen: set[str] = set()
    for i, entry in enumerate(header["arrays"]):
        where = f"the model header's arrays[{i}]"
        if not isinstance(entry, dict):
            raise _fail(path, f"{where} is not a JSON object")
        for key, kind in ARRAY_SCHEMA.items():
            if not _is(entry.get(key), kind):
                raise _fail(path, f"{where} has no {key!r} of type {kind.__name__}")
        if entry["name"] not in ARRAY_NAMES or entry["name"] in seen:
            raise _fail(path, f"{where} has an unknown or repeated name {entry['name']!r}")
        half = entry["name"] == "v" and "quantization" in header  # FW's quantized FFM weights
        want = "<f2" if half else "<f4"
        if entry["dtype"] != want or entry["offset"] < 0 or entry["count"] < 0:
            raise _fail(path, f"{where} needs dtype {want!r} and a non-negative offset and count")
        seen.add(entry["name"])
    _check_quantization(header, path)
    if not {"w", "v"} <= seen:
        raise _fail(path, "the model header lists no 'w' or no 'v' array")


def _check_quantization(header: dict[str, Any], path: str | os.PathLike[str]) -> None:
    q = header.get("quantization")
    if q is None:
        return
    numbers = [q.get("min"), q.get("inc")]
    if (
        q.get("array") != "v"
        or not all(_is(x, float) and np.isfinite(x) for x in numbers)
        or q["inc"] < 0
        or header.get("inference") is not True
    ):
        raise _fail(path, "the model header's 'quantization' needs array 'v', a finite min and "
                    "inc >= 0, and 'inference': true")  # fmt: skip


def _is(value: Any, kind: type) -> bool:
    # JSON true/false are Python bools, which are ints too: an int field must not take them
    return isinstance(value, kind) and (kind is bool or not isinstance(value, bool))


def _check_layout(
    header: dict[str, Any], start: int, total: int, path: str | os.PathLike[str], version: int
) -> None:
    """Every array inside the file, 64-byte aligned, none overlapping; v3 ends at the last one."""
    end = start
    for entry in sorted(header["arrays"], key=lambda e: e["offset"]):
        first = start + entry["offset"]
        if first < end or first % 64:
            raise _fail(path, f"array {entry['name']!r} overlaps another or is not aligned")
        end = first + entry["count"] * np.dtype(entry["dtype"]).itemsize
        if end > total:
            raise _fail(
                path,
                f"truncated: {total} bytes, array {entry['name']!r} needs {end}",
                "train the model again or copy the file again",
            )
    if version >= 3 and end != total:
        raise _fail(path, f"{total - end} bytes after the last array")


def read_header(
    path: str | os.PathLike[str], verify: bool = True
) -> tuple[dict[str, Any], int, int]:
    """(JSON header, data start, file size) after checking the file, header and array layout.

    Raises
    ------
    ModelFileError
        For anything but a whole model file of a supported version; one line naming ``path``.
    """
    version, raw, total = _read_preamble(path, verify)
    try:
        header = load_json(raw, path, non_finite=True)  # Options names a NaN's flag and range
    except InputError as exc:
        raise _fail(path, f"the model header is truncated or corrupt ({exc.problem})") from None
    _check_schema(header, path)
    options = header["options"]
    if version == 1:  # before FW's table: a block per bucket
        options.setdefault("ffm_layout", "blocks")
    start = _align(PREAMBLE[version] + len(raw))
    _check_layout(header, start, total, path, version)
    return header, start, total


def _check_sizes(options: Options, counts: dict[str, int], path: str | os.PathLike[str]) -> None:
    """The arrays' lengths follow from the options: refuse a header where they do not."""
    n_w, n_v = 1 << options.bit_precision, ffm_geometry(options)[2]
    if counts["w"] != n_w or counts.get("acc", n_w) != n_w:
        raise _fail(path, f"{counts['w']} weights do not match -b {options.bit_precision}")
    if counts["v"] != n_v or counts.get("vacc", n_v) != n_v:
        raise _fail(
            path,
            f"{counts['v']} FFM weights do not match --ffm_k {options.ffm_k}, "
            f"{len(options.ffm_fields)} fields and --ffm_bit_precision "
            f"{options.ffm_bit_precision} ({n_v} expected)",
            "the file is corrupt or was edited: train the model again",
        )
    graph = nn_graph(options)
    n_nn = 0 if graph is None else graph.size
    if counts.get("nn", 0) != n_nn or counts.get("nnacc", n_nn) != n_nn:
        raise _fail(path, f"{counts.get('nn', 0)} layer weights; the options' graph has {n_nn}")


def load_model(path: str | os.PathLike[str], mmap: bool = False, verify: bool = True) -> Model:
    """Load a model; ``mmap=True`` maps the weights (copy-on-write) instead of reading them.

    ``verify=False`` skips the checksum (version 3), so a mapped model of a file you trust loads
    without reading it all once; the header and layout are checked either way.

    Raises
    ------
    ModelFileError
        For a missing, damaged or foreign file; one line naming ``path`` and the fix.
    """
    header, start, _ = read_header(path, verify)
    try:
        options = Options.from_json(header["options"])
    except OptionsError as exc:
        raise _fail(path, f"bad options in header: {exc}") from None
    counts = {e["name"]: e["count"] for e in header["arrays"]}
    _check_sizes(options, counts, path)
    graph = nn_graph(options)
    if header.get("graph") != (None if graph is None else graph.describe()):
        raise _fail(path, "the header's graph does not match its --nn options")
    arrays: dict[str, np.ndarray] = {}
    try:
        for e in header["arrays"]:
            if e["dtype"] == "<f2":  # quantized: decoded into memory
                from wg_online.inference import dequantize

                half = np.fromfile(path, "<f2", e["count"], offset=start + e["offset"])
                q = header["quantization"]
                arrays[e["name"]] = dequantize(q["min"], q["inc"], half)
            elif mmap:
                shape = (e["count"],)
                arrays[e["name"]] = np.memmap(path, "<f4", "c", start + e["offset"], shape)
            else:
                arrays[e["name"]] = np.fromfile(path, "<f4", e["count"], offset=start + e["offset"])
    except OSError as exc:
        raise _fail(path, f"cannot read model file: {exc.strerror}", "check the path") from None
    w, v = arrays["w"], arrays["v"]
    acc = arrays.get("acc", np.zeros(w.size, np.float32))
    vacc = arrays.get("vacc", np.full(v.size, options.ffm_init_acc_gradient, np.float32))
    model = Model(options, w, acc, v, vacc, header.get("examples_seen", 0))
    model.inference = header.get("inference", False)
    if graph is not None:
        model.nn = kernel_layout(graph, arrays["nn"])
        if "nnacc" in arrays:
            model.nnacc = kernel_layout(graph, arrays["nnacc"])
        else:
            model.nnacc = np.full(graph.size, options.nn_init_acc_gradient, np.float32)
    return model


def check_compatible(model: Model, requested: dict, path: str | os.PathLike[str]) -> None:
    """Refuse continuing training with options that differ from the model's (VW-style -i),
    or an inference model (:mod:`wg_online.inference`)."""
    if model.inference:
        raise ModelFileError(
            f"{os.fspath(path)} is an inference model (--convert_inference_regressor): it has no "
            "optimiser state and cannot be trained further; train from the model it came from"
        )
    current = model.options.asdict()
    for key, value in requested.items():
        if key in current and current[key] != value:
            raise ModelFileError(
                f"{os.fspath(path)} was trained with {key}={current[key]!r} but you asked for "
                f"{value!r}; drop the option or train a new model"
            )
