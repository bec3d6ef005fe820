"""The wg-convnet model file format: a JSON header and raw little-endian arrays, never pickle.

Layout (format version 1)::

    bytes 0..7     magic  b"WGCONVNT"
    bytes 8..11    header length L, uint32 little-endian
    bytes 12..12+L UTF-8 JSON header:
                   {"format": "wg-convnet-model", "version": 1, "dtype": "float32" | "float64",
                    "loss": "cross_entropy" | "mse",
                    "layers": [{"type": "Conv2D", "config": {...},
                                "arrays": {"W": {"offset": 0, "shape": [32, 1, 3, 3]}, ...}}]}
    rest           the arrays, C order, little-endian float32/float64, at their byte offsets

Loading trusts nothing in the file: layer types come from a fixed table, every array's shape must
be the one its layer expects, every offset must lie inside the file, and a version newer than
:data:`FORMAT_VERSION` is refused with a message that says to upgrade.
"""

from __future__ import annotations

import json
import os
import struct
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from wg_convnet.activations import LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from wg_convnet.errors import ModelFileError
from wg_convnet.layer import Layer
from wg_convnet.layers import Conv2D, Dense, Dropout, Flatten
from wg_convnet.model import Sequential
from wg_convnet.normalization import BatchNorm2D
from wg_convnet.pooling import AvgPool2D, MaxPool2D

MAGIC = b"WGCONVNT"
FORMAT_VERSION = 1
LAYER_TYPES: dict[str, type[Layer]] = {
    cls.__name__: cls
    for cls in (
        Conv2D, Dense, Flatten, Dropout, MaxPool2D, AvgPool2D, BatchNorm2D,
        ReLU, LeakyReLU, Sigmoid, Tanh, Softmax,
    )
}  # fmt: skip
_DTYPES = {"float32": "<f4", "float64": "<f8"}
_MAX_HEADER = 16 * 2**20


def save_model(model: Sequential, path: str | os.PathLike[str]) -> None:
    """Write ``model`` to ``path`` atomically (temporary file in the same folder, then rename)."""
    dtype = np.dtype(_DTYPES[model.dtype])
    layers, blobs, offset = [], [], 0
    for layer in model.layers:
        arrays = {}
        for name, value in {**layer.params, **layer.state}.items():
            host = np.ascontiguousarray(_to_numpy(value), dtype=dtype)
            arrays[name] = {"offset": offset, "shape": list(host.shape)}
            blobs.append(host.tobytes())
            offset += host.nbytes
        layers.append({"type": type(layer).__name__, "config": layer.config(), "arrays": arrays})
    header = {
        "format": "wg-convnet-model",
        "version": FORMAT_VERSION,
        "dtype": model.dtype,
        "loss": model.loss,
        "layers": layers,
    }
    raw = json.dumps(header, sort_keys=True).encode()
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent or ".")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(MAGIC + struct.pack("<I", len(raw)) + raw)
            for blob in blobs:
                fh.write(blob)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_model(path: str | os.PathLike[str]) -> Sequential:
    """Read a model file written by :func:`save_model`, validating every field."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ModelFileError(f"{path}: cannot read the model file: {exc.strerror}") from None
    header, body = _split(path, data)
    version = header.get("version")
    if not isinstance(version, int) or version < 1:
        raise ModelFileError(f"{path}: the header has no valid format version (got {version!r})")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path}: model format version {version} is newer than this wg-convnet reads "
            f"(up to {FORMAT_VERSION}); upgrade wg-convnet to load it"
        )
    dtype_name, loss = header.get("dtype"), header.get("loss", "cross_entropy")
    if dtype_name not in _DTYPES:
        raise ModelFileError(f"{path}: unsupported dtype {dtype_name!r} (float32 or float64)")
    entries = header.get("layers")
    if not isinstance(entries, list) or not entries:
        raise ModelFileError(f"{path}: the header lists no layers")
    layers = [
        _layer(path, i, entry, body, np.dtype(_DTYPES[dtype_name]))
        for i, entry in enumerate(entries)
    ]
    try:
        model = Sequential(layers, loss=loss, dtype=dtype_name)
    except (TypeError, ValueError) as exc:
        raise ModelFileError(f"{path}: {exc}") from None
    model.built_ = True
    return model


def _split(path: Any, data: bytes) -> tuple[dict[str, Any], bytes]:
    if not data.startswith(MAGIC):
        raise ModelFileError(f"{path}: not a wg-convnet model file (bad magic bytes)")
    if len(data) < len(MAGIC) + 4:
        raise ModelFileError(f"{path}: truncated model file (no header length)")
    (length,) = struct.unpack("<I", data[len(MAGIC) : len(MAGIC) + 4])
    start = len(MAGIC) + 4
    if length > _MAX_HEADER or start + length > len(data):
        raise ModelFileError(f"{path}: truncated or corrupt model file (header of {length} bytes)")
    try:
        header = json.loads(data[start : start + length].decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"{path}: corrupt model header: {exc}") from None
    if not isinstance(header, dict) or header.get("format") != "wg-convnet-model":
        raise ModelFileError(f"{path}: the header does not describe a wg-convnet model")
    return header, data[start + length :]


def _layer(path: Any, index: int, entry: Any, body: bytes, dtype: np.dtype) -> Layer:
    where = f"{path}: layer {index}"
    if not isinstance(entry, dict) or entry.get("type") not in LAYER_TYPES:
        kind = entry.get("type") if isinstance(entry, dict) else entry
        raise ModelFileError(f"{where}: unknown layer type {kind!r}")
    config, arrays = entry.get("config", {}), entry.get("arrays", {})
    if not isinstance(config, dict) or not isinstance(arrays, dict):
        raise ModelFileError(f"{where}: 'config' and 'arrays' must be JSON objects")
    try:
        layer = LAYER_TYPES[entry["type"]](**config)
    except (TypeError, ValueError) as exc:
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


def _array(where: str, name: str, spec: Any, shape: tuple[int, ...], body: bytes, dtype: np.dtype):
    offset = spec.get("offset") if isinstance(spec, dict) else None
    found = tuple(spec.get("shape", ())) if isinstance(spec, dict) else None
    if found != shape:
        raise ModelFileError(f"{where}: array {name!r} has shape {found}, expected {shape}")
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if not isinstance(offset, int) or offset < 0 or offset + nbytes > len(body):
        raise ModelFileError(f"{where}: array {name!r} lies outside the file (truncated?)")
    return (
        np.frombuffer(body, dtype=dtype, count=nbytes // dtype.itemsize, offset=offset)
        .reshape(shape)
        .astype(dtype.newbyteorder("="))
    )


def _to_numpy(value: Any) -> np.ndarray:
    if hasattr(value, "get") and not isinstance(value, np.ndarray):
        return value.get()
    if hasattr(value, "detach"):
        return value.detach().cpu().numpy()
    return np.asarray(value)
