"""Parsers for the original dataset formats (IDX, CIFAR-10 binary) and reading tar members."""

from __future__ import annotations

import gzip
import os
import struct
import tarfile
import zlib
from collections.abc import Iterable

import numpy as np

from wg_convnet.errors import DatasetError

#: IDX type codes (third byte of the magic number) -> big-endian NumPy dtype
IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
CIFAR_RECORD = 1 + 3 * 32 * 32


def read_gzip(path: str | os.PathLike[str]) -> bytes:
    """The decompressed bytes of a gzip file, or DatasetError naming the file if it is corrupt."""
    try:
        with gzip.open(path, "rb") as fh:
            return fh.read()
    except (OSError, EOFError, zlib.error) as exc:
        raise DatasetError(
            f"{path}: not a valid gzip file ({exc}); delete it and fetch again"
        ) from None


def parse_idx(data: bytes, source: str = "<bytes>") -> np.ndarray:
    """Parse an (uncompressed) IDX file: magic 0 0 <type> <ndim>, big-endian uint32 dims, data.

    Examples
    --------
    >>> raw = bytes([0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3]) + bytes(range(6))
    >>> parse_idx(raw)
    array([[0, 1, 2],
           [3, 4, 5]], dtype=uint8)
    """
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise DatasetError(f"{source}: not an IDX file (the magic number must start with 0 0)")
    code, ndim = data[2], data[3]
    if code not in IDX_TYPES:
        raise DatasetError(f"{source}: unknown IDX element type 0x{code:02x}")
    if len(data) < 4 + 4 * ndim:
        raise DatasetError(f"{source}: truncated IDX header ({ndim} dimensions announced)")
    dims = struct.unpack(f">{ndim}I", data[4 : 4 + 4 * ndim])
    dtype = np.dtype(IDX_TYPES[code])
    expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    body = data[4 + 4 * ndim :]
    if len(body) != expected:
        raise DatasetError(
            f"{source}: IDX header announces shape {dims} ({expected} bytes of data) but the file "
            f"holds {len(body)} bytes; the file is truncated or corrupt"
        )
    return np.frombuffer(body, dtype=dtype).reshape(dims).astype(dtype.newbyteorder("="))


def parse_cifar_batch(data: bytes, source: str = "<bytes>") -> tuple[np.ndarray, np.ndarray]:
    """Parse a CIFAR-10 binary batch: records of 1 label byte + 3072 pixel bytes (R, G, B planes).

    Returns images (n, 3, 32, 32) uint8 and labels (n,) int64.

    Examples
    --------
    >>> images, labels = parse_cifar_batch(bytes([7]) + bytes(3072))
    >>> images.shape, labels.tolist()
    ((1, 3, 32, 32), [7])
    """
    if len(data) == 0 or len(data) % CIFAR_RECORD:
        raise DatasetError(
            f"{source}: {len(data)} bytes is not a whole number of {CIFAR_RECORD}-byte CIFAR-10 "
            "records; the file is truncated or not a CIFAR-10 binary batch"
        )
    records = np.frombuffer(data, dtype=np.uint8).reshape(-1, CIFAR_RECORD)
    labels = records[:, 0].astype(np.int64)
    if labels.max() > 9:
        raise DatasetError(f"{source}: label {labels.max()} out of range 0..9; not CIFAR-10 data")
    return records[:, 1:].reshape(-1, 3, 32, 32).copy(), labels


def read_members(archive: str | os.PathLike[str], names: Iterable[str]) -> dict[str, bytes]:
    """The contents of the regular-file members ``names`` of a tar archive, read in one pass.

    Nothing is extracted, so a member's path (absolute, ``..``) can write nothing anywhere; a
    wanted member that is a link or a device, a missing one, and a damaged archive are refused
    with a :class:`DatasetError` naming the archive.

    Examples
    --------
    >>> import io, tarfile, tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "a.tar.gz"
    >>> with tarfile.open(path, "w:gz") as tar:
    ...     info = tarfile.TarInfo("d/x.bin"); info.size = 3
    ...     tar.addfile(info, io.BytesIO(b"abc"))
    >>> read_members(path, ["d/x.bin"])
    {'d/x.bin': b'abc'}
    """
    wanted, found = set(names), {}
    try:
        with tarfile.open(archive, "r:*") as tar:
            for member in tar:
                if member.name not in wanted:
                    continue
                handle = tar.extractfile(member) if member.isfile() else None
                if handle is None:
                    raise DatasetError(
                        f"{archive}: member {member.name!r} is a link or device, not a file; "
                        "delete the archive and fetch it again"
                    )
                found[member.name] = handle.read()
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise DatasetError(
            f"{archive}: cannot read the archive ({exc}); delete it and fetch it again"
        ) from None
    missing = sorted(wanted - set(found))
    if missing:
        raise DatasetError(f"{archive}: {missing[0]} is missing from the archive")
    return found
