"""Fast parsing of VW text into flat arrays, with file:line errors, and the binary cache (``-c``).

The compiled parser (:func:`wg_online.kernels.parse_block`) finds bad lines; the reference parser
(:func:`wg_online.vw_format.parse_line`) then explains them with file, line number and text.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
from wg_io.checksum import digest
from wg_io.output import open_output
from wg_io.structure import InputError, load_json

from wg_online.vw_format import (
    VWFormatError,
    namespace_map_arrays,
    open_binary,
    parse_line,
    read_blocks,
)

if TYPE_CHECKING:
    from wg_online.transforms import TransformSet

Block = bytes | bytearray | memoryview
CACHE_MAGIC = b"WGOCACHE"
CACHE_VERSION = 2
#: The arrays of each cached block, in file order, and their dtypes.
CACHE_FIELDS = _FIELDS = ("labels", "importances", "offsets", "idx", "val", "ns")
_DTYPES = ("<f4", "<f4", "<i8", "<u4", "<f4", "u1")


@dataclass
class Parsed:
    """Examples as flat arrays: feature ``offsets[i]:offsets[i+1]`` belong to example ``i``.

    ``idx`` holds 32-bit feature hashes (masked later, so one cache serves every ``-b``),
    ``ns`` the first byte of each feature's namespace, ``labels`` NaN for unlabelled lines.
    """

    labels: np.ndarray
    importances: np.ndarray
    offsets: np.ndarray
    idx: np.ndarray
    val: np.ndarray
    ns: np.ndarray
    tags: list[str | None] = field(default_factory=list)
    first_line: int = 1
    skipped: int = 0

    def __len__(self) -> int:
        return len(self.labels)


def _explain(
    block: Block,
    line_index: int,
    source: str,
    lineno: int,
    ns_map: tuple[str, ...] = (),
) -> VWFormatError:
    line = bytes(block).split(b"\n")[line_index]
    try:
        parse_line(line, source, lineno, ns_map)
    except VWFormatError as exc:
        return exc
    return VWFormatError(
        source,
        lineno,
        "line rejected by the fast parser",
        line.decode(errors="replace"),
        "Please report this line as a wg_online bug",
    )


def _drop_invalid_utf8(block: Block, source: str, first: int, skip: bool) -> tuple[Block, int]:
    if isinstance(block, memoryview):
        if not len(block) or np.frombuffer(block, np.uint8).max() < 128:
            return block, 0
        block = bytes(block)
    if block.isascii():  # the common case, checked at memory speed
        return block, 0
    try:
        block.decode()
        return block, 0
    except UnicodeDecodeError as exc:
        if not skip:
            raise _explain(
                block,
                block.count(b"\n", 0, exc.start),
                source,
                first + block.count(b"\n", 0, exc.start),
            ) from None
    kept, bad = [], 0
    for line in block.split(b"\n"):
        try:
            line.decode()
            kept.append(line)
        except UnicodeDecodeError:
            kept.append(b"")  # keeps the line numbers of the lines after it
            bad += 1
    return b"\n".join(kept), bad


@lru_cache(maxsize=8)
def map_arrays(namespace_map: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """The namespace map as the compiled parser's sorted hashes and letters (cached)."""
    return namespace_map_arrays(namespace_map)


@lru_cache(maxsize=8)
def transform_set(transforms: tuple[str, ...], namespace_map: tuple[str, ...]) -> TransformSet:
    """The resolved ``--transform`` values (cached: resolving hashes the seeds)."""
    from wg_online.transforms import TransformSet

    return TransformSet.build(transforms, namespace_map)


class ParsedBlock(NamedTuple):
    """What the compiled parser writes (:func:`wg_online.kernels.parse_block`): per example,
    per feature and per bad line; ``lines`` and ``bad_lines`` count from the block's first."""

    labels: np.ndarray  # float32, NaN for unlabelled
    imps: np.ndarray  # float32 importance weights
    tags: np.ndarray  # int64 [n, 2]: the tag's byte range in the block, -1 for none
    offsets: np.ndarray  # int64 [n + 1]: example i's features are offsets[i]:offsets[i+1]
    idx: np.ndarray  # uint32 feature hashes
    val: np.ndarray  # float32 feature values
    ns: np.ndarray  # uint8 namespace letters
    lines: np.ndarray  # int64 line of each example
    bad_lines: np.ndarray  # int64
    bad_codes: np.ndarray  # int64 wg_online.kernels.ParseError values


class ParseBuffers:
    """Output arrays that :func:`parse_bytes` fills block after block instead of fresh ones.

    Every 4 KiB page of a fresh array costs a page fault when first written, which on a virtual
    machine took about as long as parsing the text that fills it. What ``parse_bytes`` returns
    with buffers is a view of them, overwritten by the next call with the same buffers.
    """

    def __init__(self) -> None:
        self.arrays: ParsedBlock | None = None

    def grow(self, n_bytes: int, n_lines: int) -> ParsedBlock:
        """Room for a block of ``n_bytes`` with ``n_lines`` lines, and a quarter more."""
        from wg_online.kernels import new_block

        n = n_lines + n_lines // 4 + 16
        self.arrays = new_block(n, n_bytes // 2 + n_bytes // 8 + n)
        return self.arrays


class ScratchPool:
    """Parse and read buffers that a run hands back for the next one (see :func:`iter_file`).

    A run's buffers hold some 10 MB of address space; each fresh 4 KiB page of them costs a page
    fault when first written: 1.4-3k faults, a fifth of a 50k-example FFM run's CPU time on our
    virtual machines, spent again by every run in a process (``partial_fit`` loops, the
    benchmarks). At most ``keep`` sets are kept; runs at the same time each take their own.
    """

    def __init__(self, keep: int = 2) -> None:
        self.keep, self._lock = keep, threading.Lock()
        self._free: list[tuple[list[ParseBuffers], list[bytearray]]] = []

    @contextlib.contextmanager
    def take(self) -> Iterator[tuple[list[ParseBuffers], list[bytearray]]]:
        """Two parse-buffer sets and a read-buffer ring, returned to the pool afterwards."""
        with self._lock:
            item = self._free.pop() if self._free else ([ParseBuffers(), ParseBuffers()], [])
        try:
            yield item
        finally:
            with self._lock:
                if len(self._free) < self.keep:
                    self._free.append(item)


SCRATCH = ScratchPool()


def _parse_into(
    buf: np.ndarray, skip: bool, ns_map: tuple[str, ...], buffers: ParseBuffers
) -> ParsedBlock:
    from wg_online.kernels import parse_into, trim

    map_hashes, map_letters = map_arrays(ns_map)
    out = buffers.arrays or buffers.grow(len(buf), 0)
    while True:
        n_lines, n_ex, n_bad, f = parse_into(buf, skip, map_hashes, map_letters, out)
        if n_ex >= 0:
            break
        out = buffers.grow(len(buf), n_lines)
    return trim(out, n_ex, f, n_bad)


def parse_bytes(
    block: Block,
    source: str = "<input>",
    first_line: int = 1,
    skip_bad_lines: bool = False,
    with_tags: bool = False,
    namespace_map: tuple[str, ...] = (),
    buffers: ParseBuffers | None = None,
    transforms: tuple[str, ...] = (),
) -> Parsed:
    """Parse whole lines of VW text (``namespace_map``: see ``vw_format.load_namespace_map``).

    With ``buffers`` the arrays of the result are views of them (see :class:`ParseBuffers`).
    ``transforms`` (``--transform`` values, :mod:`wg_online.transforms`) append each example's
    transformed features after its own (a compiled scan of their sources, then NumPy).

    Raises
    ------
    VWFormatError
        At the first bad line unless ``skip_bad_lines`` (then ``Parsed.skipped`` counts them).

    Examples
    --------
    >>> p = parse_bytes(b"1 | a b:2\\n-1 'x| c\\n", with_tags=True)
    >>> p.labels.tolist(), p.offsets.tolist(), p.val.tolist(), p.tags
    ([1.0, -1.0], [0, 2, 3], [1.0, 2.0, 1.0], [None, 'x'])
    """
    from wg_online.kernels import parse_block

    block, skipped = _drop_invalid_utf8(block, source, first_line, skip_bad_lines)
    buf = np.frombuffer(block, np.uint8)
    buf.flags.writeable = False  # one compiled parser for bytes and views of buffers
    if buffers is None:
        map_hashes, map_letters = map_arrays(namespace_map)
        result = parse_block(buf, skip_bad_lines, map_hashes, map_letters)
    else:
        result = _parse_into(buf, skip_bad_lines, namespace_map, buffers)
    labels, imps, tags, offsets, idx, val, ns, lines, bad_lines, _ = result
    if len(bad_lines) and not skip_bad_lines:
        line = int(bad_lines[0])
        raise _explain(block, line, source, first_line + line, namespace_map)
    if transforms:
        from wg_online.transforms import extend_parsed

        offsets, idx, val, ns = extend_parsed(
            bytes(block), lines, (offsets, idx, val, ns), transform_set(transforms, namespace_map),
            source, first_line,
        )  # fmt: skip
    tag_list: list[str | None] = []
    if with_tags and len(tags) and tags[:, 0].max() >= 0:  # most files have no tags at all
        tag_list = [None if s < 0 else bytes(block[s:e]).decode() for s, e in tags.tolist()]
    elif with_tags:
        tag_list = [None] * len(tags)
    return Parsed(
        labels, imps, offsets, idx, val, ns, tag_list, first_line, skipped + len(bad_lines)
    )


def parse_lines(
    lines: Iterator[str] | list[str] | str,
    skip_bad_lines: bool = False,
    namespace_map: tuple[str, ...] = (),
    transforms: tuple[str, ...] = (),
) -> Parsed:
    """Parse Python strings (one example each, or one multi-line string) with tags.

    Examples
    --------
    >>> len(parse_lines(["1 | a", "", "-1 | b"]))
    2
    """
    text = lines if isinstance(lines, str) else "\n".join(lines)
    return parse_bytes(text.encode() + b"\n", "<lines>", 1, skip_bad_lines, True, namespace_map,
                       transforms=transforms)  # fmt: skip


def iter_file(
    path: str | Path,
    skip_bad_lines: bool = False,
    with_tags: bool = False,
    block_size: int = 1 << 20,
    namespace_map: tuple[str, ...] = (),
    reuse: bool = False,
    transforms: tuple[str, ...] = (),
) -> Iterator[Parsed]:
    """Parse a text file (plain, gzip, zstd or ``-`` for stdin) block by block.

    Like VW's parser thread, a worker thread parses the next block while the caller trains on
    this one (the compiled parser releases the GIL); blocks and errors arrive in file order.
    The worker also numbers the lines, so the caller's thread only reads and trains. With
    ``reuse`` a block's arrays are overwritten once the block after next is asked for: for
    callers that are done with a block when they ask for the next one (no page faults).
    """
    from concurrent.futures import Future, ThreadPoolExecutor

    from wg_online.kernels import count_newlines

    source, next_line = str(path), 1

    def parse(block: Block, buffers: ParseBuffers | None) -> Parsed:
        nonlocal next_line  # the one worker runs the blocks in file order
        first = next_line
        next_line += int(count_newlines(np.frombuffer(block, np.uint8)))
        return parse_bytes(block, source, first, skip_bad_lines, with_tags, namespace_map, buffers,
                           transforms)  # fmt: skip

    # two sets of buffers suffice: block k + 2 is read (and parsed) only after the caller
    # asked for block k + 1, so it is done with block k; the sets outlive the run in SCRATCH
    with contextlib.ExitStack() as stack:
        kept, read_ring = stack.enter_context(SCRATCH.take())
        ring = kept if reuse else [None, None]
        stream = stack.enter_context(open_binary(path))
        pool = stack.enter_context(ThreadPoolExecutor(1, "wg-online-parse"))
        pending: Future[Parsed] | None = None
        for k, block in enumerate(read_blocks(stream, block_size, reuse=2, ring=read_ring)):
            ahead = pool.submit(parse, block, ring[k % 2])
            if pending is not None:
                yield pending.result()
            pending = ahead
        if pending is not None:
            yield pending.result()


class CacheFileError(ValueError):
    """A cache file that cannot be used; the one-line message names it and says what to do."""


def _cache_error(path: str | Path, problem: str) -> CacheFileError:
    return CacheFileError(f"{path}: {problem}; delete the cache file so that it is rebuilt")


def write_cache(
    path: str | Path,
    blocks: list[Parsed],
    source: str | Path,
    namespace_map: tuple[str, ...] = (),
    transforms: tuple[str, ...] = (),
) -> None:
    """Write parsed blocks as our binary cache under wg_io's output-path policy.

    Layout: ``WGOCACHE``, the header length H (uint64 little-endian), the XXH3-64 checksum
    (16 hexadecimal ASCII bytes) of everything after it, H bytes of JSON header, then each
    block's arrays (:data:`CACHE_FIELDS`) packed in order. The source is an input: a cache
    path equal to the data file is refused (``wg_io.output.OutputError``).
    """
    st = os.stat(source) if str(source) != "-" else None
    header = {
        "format_version": CACHE_VERSION,
        "source": str(source),
        "namespace_map": list(namespace_map),
        "transforms": list(transforms),
        "source_size": st.st_size if st else None,
        "source_mtime_ns": st.st_mtime_ns if st else None,
        "blocks": [[len(getattr(b, f)) for f in _FIELDS] for b in blocks],
    }
    raw = json.dumps(header).encode()
    chunks = [raw] + [
        np.ascontiguousarray(getattr(b, name), dtype=dtype).data.cast("B")
        for b in blocks
        for name, dtype in zip(_FIELDS, _DTYPES, strict=True)
    ]
    inputs = [] if st is None else [source]
    with open_output(path, inputs=inputs) as out:
        out.write(CACHE_MAGIC + len(raw).to_bytes(8, "little") + digest(chunks).encode())
        for chunk in chunks:
            out.write(chunk)


#: Cache header fields and their JSON types (checked before any count is used).
CACHE_SCHEMA: dict[str, tuple[type, ...]] = {
    "format_version": (int,),
    "source": (str,),
    "namespace_map": (list,),
    "source_size": (int, type(None)),
    "source_mtime_ns": (int, type(None)),
    "blocks": (list,),
}


def _cache_header(data: bytearray, path: str | Path) -> dict | None:
    """The checked header of a cache read into ``data``; None for an older format (rebuild)."""
    if data[:8] != CACHE_MAGIC:
        raise CacheFileError(
            f"{path} is not a wg_online cache file; delete it or pick another -c path"
        )
    if data[16:17] == b"{":  # format 1: the header right after its length, no checksum
        return None
    size = int.from_bytes(data[8:16], "little")
    if len(data) < 32 or size > len(data) - 32:
        raise _cache_error(path, f"truncated ({len(data)} bytes, header of {size})")
    if digest([memoryview(data)[32:]]).encode() != bytes(data[16:32]):
        raise _cache_error(path, "checksum mismatch: the file was damaged after it was written")
    try:
        header = load_json(bytes(data[32 : 32 + size]), path)
    except InputError as exc:
        raise _cache_error(path, f"the cache header is corrupt ({exc.problem})") from None
    if not isinstance(header, dict):
        raise _cache_error(path, "the cache header is not a JSON object")
    for key, kinds in CACHE_SCHEMA.items():
        value = header.get(key)
        if not isinstance(value, kinds) or isinstance(value, bool):
            raise _cache_error(path, f"the cache header's {key!r} is missing or mistyped")
    if header["format_version"] > CACHE_VERSION:
        raise _cache_error(path, f"cache format {header['format_version']} is newer than ours")
    if header["format_version"] < CACHE_VERSION:
        return None
    for counts in header["blocks"]:
        if not (
            isinstance(counts, list)
            and len(counts) == len(_FIELDS)
            and all(type(c) is int and c >= 0 for c in counts)
        ):
            raise _cache_error(path, f"the cache header's block counts {counts!r} are corrupt")
    expected = sum(
        c * np.dtype(t).itemsize
        for counts in header["blocks"]
        for c, t in zip(counts, _DTYPES, strict=True)
    )
    if 32 + size + expected != len(data):
        raise _cache_error(path, f"{len(data)} bytes where the header needs {32 + size + expected}")
    return header


def _check_block(block: Parsed, path: str | Path, number: int) -> None:
    """Refuse a block whose offsets would send the compiled kernels outside its arrays."""
    labels, off = block.labels, block.offsets
    n = len(labels)
    problem = ""
    if len(block.importances) != n or len(off) != n + 1:
        problem = "array lengths disagree"
    elif off[0] != 0 or np.any(off[1:] < off[:-1]) or off[-1] != len(block.idx):
        problem = "feature offsets are out of order or out of range"
    elif not len(block.idx) == len(block.val) == len(block.ns):
        problem = "feature array lengths disagree"
    elif not np.all(np.isnan(labels) | (labels == -1) | (labels == 0) | (labels == 1)):
        problem = "a label is not -1, 0, 1 or none"
    elif not (np.all(np.isfinite(block.val)) and np.all(np.isfinite(block.importances))):
        problem = "a value or importance is not finite"
    elif np.any(block.importances < 0):
        problem = "an importance is negative"
    if problem:
        raise _cache_error(path, f"block {number}: {problem}")


def read_cache(
    path: str | Path,
    source: str | Path | None = None,
    namespace_map: tuple[str, ...] = (),
    transforms: tuple[str, ...] = (),
) -> list[Parsed] | None:
    """Blocks from a cache file; None when it is missing, of an older format or stale for
    ``source`` (then it is rebuilt).

    The header is checked against :data:`CACHE_SCHEMA`, the checksum verified and every
    block's offsets checked before any array reaches the compiled kernels.

    Raises
    ------
    CacheFileError
        When the file is not a cache, is damaged, truncated or of a newer format.
    """
    try:
        with open(path, "rb") as f:
            data = bytearray(os.fstat(f.fileno()).st_size)
            f.readinto(data)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise _cache_error(path, f"cannot read the cache: {exc.strerror}") from None
    header = _cache_header(data, path)
    if header is None:
        return None
    if source is not None and str(source) != "-":
        st = os.stat(source)
        if (header["source_size"], header["source_mtime_ns"]) != (st.st_size, st.st_mtime_ns):
            return None
    if header["namespace_map"] != list(namespace_map):
        return None  # parsed with another namespace map: rebuild
    if header.get("transforms", []) != list(transforms):
        return None  # caches before --transform hold untransformed examples
    pos, blocks = 32 + int.from_bytes(data[8:16], "little"), []
    for number, counts in enumerate(header["blocks"]):
        arrays = []
        for count, dtype in zip(counts, _DTYPES, strict=True):
            arrays.append(np.frombuffer(data, dtype, count, pos))
            pos += count * np.dtype(dtype).itemsize
        labels, imps, offsets, idx, val, ns = arrays
        blocks.append(Parsed(labels, imps, offsets, idx, val, ns))
        _check_block(blocks[-1], path, number)
    return blocks
