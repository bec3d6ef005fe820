"""The wg-convnet model file format: a JSON header and raw little-endian arrays, never pickle.

Layout (format version 2)::

    bytes 0..7     magic  b"WGCONVNT"
    bytes 8..11    header length L, uint32 little-endian
    bytes 12..12+L UTF-8 JSON header:
                   {"format": "wg-convnet-model", "version": 2, "dtype": "float32" | "float64",
                    "loss": "cross_entropy" | "mse",
                    "checksum": {"algorithm": "xxh3_64", "digest": "<16 hex digits>"},
                    "layers": [{"type": "Conv2D", "config": {...},
                                "arrays": {"W": {"offset": 0, "shape": [32, 1, 3, 3]}, ...}}]}
    rest           the arrays, C order, little-endian float32/float64, at their byte offsets

The checksum is the XXH3-64 digest (:func:`wg_io.checksum.digest`) of the header without its
``checksum`` field, as canonical JSON (``json.dumps(..., sort_keys=True)``), followed by every byte
after the header: any change to a layer's settings, an offset or a weight is detected. Version 1 is
the same layout without ``checksum``; such files still load.

Loading trusts nothing in the file: the header must match :data:`~wg_convnet.schema.
MODEL_HEADER_SCHEMA` before any field is used, the arrays must match the checksum, layer types
come from a fixed table, every array's shape must be the one its layer expects, every offset must
lie inside the file, every weight must be finite, and a version newer than
:data:`FORMAT_VERSION` is refused with a message that says to upgrade.
"""

from __future__ import annotations

import json
import math
import os
import stat
import struct
from collections.abc import Iterable
from typing import Any

import numpy as np
from wg_io.checksum import ALGORITHM, digest
from wg_io.output import open_output

from wg_convnet.activations import LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from wg_convnet.errors import DivergenceError, ModelFileError
from wg_convnet.layer import Layer
from wg_convnet.layers import Conv2D, Dense, Dropout, Flatten
from wg_convnet.model import Sequential
from wg_convnet.normalization import BatchNorm2D
from wg_convnet.pooling import AvgPool2D, MaxPool2D
from wg_convnet.schema import MODEL_HEADER_SCHEMA, SchemaError, validate

MAGIC = b"WGCONVNT"
#: The version this module writes; it reads every version from 1 up to this one.
FORMAT_VERSION = 2
#: The first version whose header carries the arrays' checksum.
CHECKSUM_VERSION = 2
LAYER_TYPES: dict[str, type[Layer]] = {
    cls.__name__: cls
    for cls in (
        Conv2D, Dense, Flatten, Dropout, MaxPool2D, AvgPool2D, BatchNorm2D,
        ReLU, LeakyReLU, Sigmoid, Tanh, Softmax,
    )
}  # fmt: skip
_DTYPES = {"float32": "<f4", "float64": "<f8"}
_MAX_HEADER = 16 * 2**20
_PREFIX = len(MAGIC) + 4


def save_model(
    model: Sequential,
    path: str | os.PathLike[str],
    *,
    inputs: Iterable[str | os.PathLike[str]] = (),
) -> None:
    """Write ``model`` to ``path`` through the output-path policy of :mod:`wg_io.output`.

    A model holding a NaN or infinite weight is refused with :class:`DivergenceError` and nothing
    is written; a path that cannot be written (or is one of ``inputs``) raises
    :class:`wg_io.output.OutputError` naming ``path``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from wg_convnet import Dense
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "tiny.wgc"
    >>> save_model(Sequential([Dense(2, 3)]).build(0), path)
    >>> load_model(path).layers
    [Dense(in_features=2, out_features=3, init='glorot')]
    """
    dtype = np.dtype(_DTYPES[model.dtype])
    layers, blobs, offset = [], [], 0
    for index, layer in enumerate(model.layers):
        arrays = {}
        for name, value in {**layer.params, **layer.state}.items():
            host = np.ascontiguousarray(_to_numpy(value), dtype=dtype)
            if not np.isfinite(host).all():
                raise DivergenceError(
                    f"not saved: layer {index} ({type(layer).__name__}) array {name!r} holds NaN "
                    "or infinite values; train again with a lower learning rate"
                )
            arrays[name] = {"offset": offset, "shape": list(host.shape)}
            blobs.append(host)
            offset += host.nbytes
        layers.append({"type": type(layer).__name__, "config": layer.config(), "arrays": arrays})
    header: dict[str, Any] = {
        "format": "wg-convnet-model",
        "version": FORMAT_VERSION,
        "dtype": model.dtype,
        "loss": model.loss,
        "layers": layers,
    }
    header["checksum"] = {"algorithm": ALGORITHM, "digest": model_digest(header, blobs)}
    raw = json.dumps(header, sort_keys=True, allow_nan=False).encode()
    with open_output(path, inputs=inputs) as out:
        out.write(MAGIC + struct.pack("<I", len(raw)) + raw)
        for blob in blobs:
            out.write(blob.data)


def load_model(path: str | os.PathLike[str]) -> Sequential:
    """Read a model file written by :func:`save_model`, validating every field.

    Every problem is a :class:`ModelFileError` whose message starts with ``path``.
    """
    header, body = _split(path, _read(path))
    _check_checksum(path, header, body)
    dtype = np.dtype(_DTYPES[header["dtype"]])
    layers = [_layer(path, i, entry, body, dtype) for i, entry in enumerate(header["layers"])]
    try:
        model = Sequential(layers, loss=header.get("loss", "cross_entropy"), dtype=header["dtype"])
    except (TypeError, ValueError) as exc:
        raise ModelFileError(f"{path}: {exc}") from None
    model.built_ = True
    return model


def _read(path: str | os.PathLike[str]) -> bytes:
    """The bytes of a regular file (a FIFO or a device would block or never end)."""
    try:
        with open(path, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                raise ModelFileError(f"{path}: not a regular file; give the path of a model file")
            return fh.read()
    except OSError as exc:
        raise ModelFileError(f"{path}: cannot read the model file: {exc.strerror or exc}") from None


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number JSON allows")


def _split(path: Any, data: bytes) -> tuple[dict[str, Any], bytes]:
    if not data.startswith(MAGIC):
        raise ModelFileError(f"{path}: not a wg-convnet model file (bad magic bytes)")
    if len(data) < _PREFIX:
        raise ModelFileError(f"{path}: truncated model file (no header length)")
    (length,) = struct.unpack("<I", data[len(MAGIC) : _PREFIX])
    if length > _MAX_HEADER or _PREFIX + length > len(data):
        raise ModelFileError(f"{path}: truncated or corrupt model file (header of {length} bytes)")
    try:
        text = data[_PREFIX : _PREFIX + length].decode("utf-8")
        header = json.loads(text, parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        problem = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise ModelFileError(f"{path}: corrupt model header: {problem}") from None
    if not isinstance(header, dict) or header.get("format") != "wg-convnet-model":
        raise ModelFileError(f"{path}: the header does not describe a wg-convnet model")
    version = header.get("version")
    if isinstance(version, int) and not isinstance(version, bool) and version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path}: model format version {version} is newer than this wg-convnet reads "
            f"(up to {FORMAT_VERSION}); upgrade wg-convnet to load it"
        )
    try:
        validate(header, MODEL_HEADER_SCHEMA, "header")
    except SchemaError as exc:
        raise ModelFileError(f"{path}: invalid model header: {exc}") from None
    return header, data[_PREFIX + length :]


def _check_checksum(path: Any, header: dict[str, Any], body: bytes) -> None:
    checksum = header.get("checksum")
    if checksum is None:
        if header["version"] >= CHECKSUM_VERSION:
            raise ModelFileError(
                f"{path}: invalid model header: version {header['version']} needs a checksum "
                "and this header has none; save the model again"
            )
        return  # version 1 files carry no checksum
    if model_digest(header, [body]) != checksum["digest"]:
        raise ModelFileError(
            f"{path}: the file does not match the checksum in its header: it is damaged "
            "(truncated or altered); copy or save the model again"
        )


def model_digest(header: dict[str, Any], blobs: Iterable[Any]) -> str:
    """The checksum a model file carries: XXH3-64 of its header without ``checksum`` in canonical
    JSON (sorted keys, so only the values count, not how the text is laid out), then the arrays.

    Examples
    --------
    >>> model_digest({"version": 2, "checksum": "ignored"}, [b"abc"]) == model_digest(
    ...     {"version": 2}, [b"ab", b"c"])
    True
    """
    fields = {key: value for key, value in header.items() if key != "checksum"}
    canonical = json.dumps(fields, sort_keys=True, allow_nan=False).encode()
    return digest([canonical, *(memoryview(blob) for blob in blobs)])


def _layer(path: Any, index: int, entry: dict[str, Any], body: bytes, dtype: np.dtype) -> Layer:
    where = f"{path}: layer {index}"
    if entry["type"] not in LAYER_TYPES:
        raise ModelFileError(f"{where}: unknown layer type {entry['type']!r}")
    config, arrays = entry["config"], entry["arrays"]
    try:
        layer = LAYER_TYPES[entry["type"]](**config)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ModelFileError(f"{where} ({entry['type']}): invalid config: {exc}") from None
    expected = layer.param_shapes()
    if set(arrays) != set(expected):
        raise ModelFileError(
            f"{where} ({layer!r}): arrays {sorted(arrays)} but the layer needs {sorted(expected)}"
        )
    values = {
        name: _array(where, name, arrays[name], expected[name], body, dtype) for name in arrays
    }
    layer.params = {k: v for k, v in values.items() if k not in ("running_mean", "running_var")}
    layer.state = {k: v for k, v in values.items() if k in ("running_mean", "running_var")}
    return layer


def _array(
    where: str, name: str, spec: dict[str, Any], shape: tuple[int, ...], body: bytes, dtype: Any
) -> np.ndarray:
    found = tuple(spec["shape"])
    if found != shape:
        raise ModelFileError(f"{where}: array {name!r} has shape {found}, expected {shape}")
    count = math.prod(shape)  # Python integers: a hostile shape cannot overflow the bound check
    offset = spec["offset"]
    if offset + count * dtype.itemsize > len(body):
        raise ModelFileError(f"{where}: array {name!r} lies outside the file (truncated?)")
    values = np.frombuffer(body, dtype=dtype, count=count, offset=offset).reshape(shape)
    if not np.isfinite(values).all():
        raise ModelFileError(
            f"{where}: array {name!r} holds NaN or infinite values; the model is unusable, "
            "train and save it again"
        )
    return values.astype(dtype.newbyteorder("="))


def _to_numpy(value: Any) -> np.ndarray:
    if hasattr(value, "get") and not isinstance(value, np.ndarray):
        return value.get()
    if hasattr(value, "detach"):
        return value.detach().cpu().numpy()
    return np.asarray(value)
