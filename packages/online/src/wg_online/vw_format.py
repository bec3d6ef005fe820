"""Vowpal Wabbit's text format: the reference parser, the writer and input opening.

A line is ``[label [importance]] ['tag]|ns[:weight] feature[:value] ... |ns2 ...``:

* the label is ``1``, ``-1`` or ``0`` (``0`` is read as the negative class) or absent (test data);
* the tag is the last token before the first ``|`` when it starts with ``'`` or touches the bar;
* ``| `` (bar then space) opens the default namespace; ``|name:2.5`` scales every value in it;
* features are ``name`` (value 1), ``name:value`` or ``:value`` (anonymous); value 0 is dropped.

This module is the readable specification; :mod:`wg_online.kernels` parses the same language at
speed and the tests check that both accept, reject and hash every line alike.
"""

from __future__ import annotations

import gzip
import io
import re
import sys
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, cast

import numpy as np

_NUMBER = re.compile(rb"([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?")
_MAX_DIGITS = 18
_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


class VWFormatError(ValueError):
    """A line that is not valid VW text; the message names the file, line and offending text."""

    def __init__(self, source: str, lineno: int, what: str, text: str, fix: str) -> None:
        self.source, self.lineno, self.what, self.text = source, lineno, what, text
        shown = text if len(text) <= 120 else text[:117] + "..."
        super().__init__(f"{source}:{lineno}: {what}: {shown!r}. {fix}")


@dataclass(frozen=True)
class Namespace:
    """One ``|name:weight`` group of ``(feature name, value)`` pairs; name "" is the default."""

    name: str
    weight: float
    features: tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class Example:
    """One parsed line; ``label`` is None for unlabelled (test) lines."""

    label: float | None
    importance: float
    tag: str | None
    namespaces: tuple[Namespace, ...]


def parse_number(token: bytes) -> float | None:
    """Parse a decimal number exactly as the compiled parser does; None when it is not one.

    The result is a float32 value (returned as a Python float).

    Examples
    --------
    >>> parse_number(b"0.5"), parse_number(b"-2e3"), parse_number(b"1x")
    (0.5, -2000.0, None)
    """
    match = _NUMBER.fullmatch(token)
    if match is None:
        return None
    sign, whole, frac, exp = match.groups()
    frac = frac or b""
    if not whole and not frac:
        return None
    digits = (whole + frac).lstrip(b"0")
    exp10 = _exponent(exp) - len(frac)
    if len(digits) > _MAX_DIGITS:
        exp10 += len(digits) - _MAX_DIGITS
        digits = digits[:_MAX_DIGITS]
    exp10 = max(-400, min(400, exp10))
    value = float(int(digits or b"0"))
    while exp10 > 22:
        value, exp10 = value * 1e22, exp10 - 22
    while exp10 < -22:
        value, exp10 = value / 1e22, exp10 + 22
    value = value * 10.0**exp10 if exp10 >= 0 else value / 10.0 ** (-exp10)
    with np.errstate(over="ignore"):  # beyond float32's range is inf: not a number here
        result = float(np.float32(-value if sign == b"-" else value))
    return result if np.isfinite(result) else None


def _exponent(exp: bytes | None) -> int:
    """The exponent's value, saturated as the compiled parser saturates it (a long exponent
    would exceed Python's limit on the digits of an int conversion).

    Examples
    --------
    >>> _exponent(b"-05"), _exponent(None), _exponent(b"9" * 5000)
    (-5, 0, 10000000)
    """
    if not exp:
        return 0
    sign, digits = (-1, exp[1:]) if exp[:1] == b"-" else (1, exp.lstrip(b"+"))
    digits = digits.lstrip(b"0") or b"0"
    return sign * (10_000_000 if len(digits) > 7 else int(digits))


def _fail(source: str, lineno: int, what: str, text: str, fix: str) -> VWFormatError:
    return VWFormatError(source, lineno, what, text, fix)


def _parse_label_section(section: bytes, source: str, lineno: int, text: str):
    tokens = section.split()
    tag = None
    if tokens and (not section[-1:].isspace() or tokens[-1].startswith(b"'")):
        raw = tokens.pop()
        tag = (raw[1:] if raw.startswith(b"'") else raw).decode()
    if len(tokens) > 2:
        raise _fail(
            source,
            lineno,
            "too many tokens before the first '|'",
            text,
            "Write 'label [importance] [tag]|namespace features'",
        )
    label, importance = None, 1.0
    if tokens:
        label = parse_number(tokens[0])
        if label not in (-1.0, 0.0, 1.0):
            raise _fail(
                source,
                lineno,
                f"bad label {tokens[0].decode(errors='replace')!r}",
                text,
                "Labels are 1 (positive), -1 or 0 (negative), or nothing for test lines",
            )
    if len(tokens) == 2:
        value = parse_number(tokens[1])
        if value is None or value < 0:
            raise _fail(
                source,
                lineno,
                f"bad importance weight {tokens[1].decode(errors='replace')!r}",
                text,
                "The importance weight is a number >= 0 after the label",
            )
        importance = value
    return label, importance, tag


def _parse_namespace(
    chunk: bytes, source: str, lineno: int, text: str, declared: dict[str, str] | None
) -> Namespace:
    head_end = len(chunk)
    for sep in (b" ", b"\t"):
        pos = chunk.find(sep)
        if pos != -1:
            head_end = min(head_end, pos)
    head, body = chunk[:head_end], chunk[head_end:]
    name, weight = head, 1.0
    if b":" in head:
        name, _, raw = head.partition(b":")
        parsed = parse_number(raw)
        if parsed is None:
            raise _fail(
                source,
                lineno,
                f"bad namespace weight {head.decode(errors='replace')!r}",
                text,
                "Write |namespace:weight with a number, e.g. |user:0.5",
            )
        weight = parsed
    if declared is not None and name and name.decode(errors="replace") not in declared:
        raise _fail(
            source,
            lineno,
            f"undeclared namespace {name.decode(errors='replace')!r}",
            text,
            f"Declare it in the namespace map (declared: {', '.join(sorted(declared))})",
        )
    features = []
    for token in body.split():
        fname, colon, raw = token.partition(b":")
        value = 1.0
        if colon:
            parsed = parse_number(raw)
            if parsed is None:
                raise _fail(
                    source,
                    lineno,
                    f"bad feature {token.decode(errors='replace')!r}",
                    text,
                    "Write features as name or name:value with a number value, e.g. price:2.5",
                )
            value = parsed
        features.append((fname.decode(), value))
    return Namespace(name.decode(), weight, tuple(features))


def parse_line(
    line: str | bytes,
    source: str = "<input>",
    lineno: int = 1,
    namespace_map: tuple[str, ...] = (),
) -> Example | None:
    """Parse one line of VW text; None for a blank line.

    Raises
    ------
    VWFormatError
        For a bad label, importance, value, namespace weight, or invalid UTF-8.

    Examples
    --------
    >>> ex = parse_line("1 2.0 'id7|user age:3 |ad red")
    >>> ex.label, ex.importance, ex.tag, [ns.name for ns in ex.namespaces]
    (1.0, 2.0, 'id7', ['user', 'ad'])
    >>> ex.namespaces[0].features
    (('age', 3.0),)
    """
    raw = line.encode() if isinstance(line, str) else line
    raw = raw.rstrip(b"\r\n")
    try:
        text = raw.decode()
    except UnicodeDecodeError as exc:
        raise _fail(
            source,
            lineno,
            f"invalid UTF-8 at byte {exc.start}",
            raw.decode(errors="replace"),
            "Re-encode the file as UTF-8",
        ) from None
    if not raw.strip():
        return None
    bar = raw.find(b"|")
    section = raw if bar == -1 else raw[:bar]
    label, importance, tag = _parse_label_section(section, source, lineno, text)
    chunks = [] if bar == -1 else raw[bar + 1 :].split(b"|")
    declared = {entry[1:]: entry[0] for entry in namespace_map} if namespace_map else None
    namespaces = tuple(_parse_namespace(c, source, lineno, text, declared) for c in chunks)
    return Example(label, importance, tag, namespaces)


def load_namespace_map(path: str | Path) -> tuple[str, ...]:
    """Read an FW-style namespace map: lines ``letter,name`` (``#`` comments, blank lines ok).

    Returns entries ``letter + name``; with a map, every named namespace in the data must be
    declared, and features take the declared letter as their namespace (for -q, --keep, FFM).

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "map.csv")
    >>> with open(path, "w") as f:
    ...     _ = f.write("A,animal\\nB,food\\n")
    >>> load_namespace_map(path)
    ('Aanimal', 'Bfood')
    """
    entries: list[str] = []
    try:
        with open(path, "rb") as handle:
            raw_lines = handle.read().split(b"\n")
    except OSError as exc:
        raise DataFileError(
            path, f"cannot read the namespace map: {exc.strerror}", "check the path"
        ) from None
    for lineno, raw in enumerate(raw_lines, 1):
        try:
            text = raw.decode("utf-8").strip()
        except UnicodeDecodeError as exc:
            raise VWFormatError(
                str(path),
                lineno,
                f"invalid UTF-8 at byte {exc.start}",
                raw.decode(errors="replace"),
                "Re-encode the file as UTF-8",
            ) from None
        if not text or text.startswith("#"):
            continue
        letter, sep, name = text.partition(",")
        letter, name = letter.strip(), name.strip()
        if not sep or len(letter) != 1 or not letter.isascii() or not name:
            raise VWFormatError(
                str(path),
                lineno,
                "bad namespace map line",
                text,
                "Write one 'letter,namespace' per line, e.g. A,animal",
            )
        entries.append(letter + name)
    return tuple(entries)


def namespace_map_arrays(entries: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """(sorted namespace hashes, their letters as bytes) for the compiled parser."""
    from wg_online.hashing import hash_namespace

    pairs = sorted((hash_namespace(e[1:]), ord(e[0])) for e in entries)
    return (
        np.array([p[0] for p in pairs], np.uint64).reshape(-1),
        np.array([p[1] for p in pairs], np.uint8).reshape(-1),
    )


def _format_number(value: float) -> str:
    return np.format_float_positional(np.float32(value), unique=True, trim="-")


def format_example(example: Example) -> str:
    """Write an example as one VW text line (no newline) that parses back to it.

    Examples
    --------
    >>> format_example(parse_line("-1 'a|x:2 b:0.5 c"))
    "-1 'a|x:2 b:0.5 c"
    """
    head = []
    if example.label is not None:
        head.append(_format_number(example.label))
        if example.importance != 1.0:
            head.append(_format_number(example.importance))
    out = " ".join(head)
    if example.tag is not None:
        out += (" " if out else "") + "'" + example.tag
    elif out:
        out += " "  # a token touching the bar would be read as the tag
    for ns in example.namespaces:
        out += "|" + ns.name
        if ns.weight != 1.0:
            out += ":" + _format_number(ns.weight)
        for fname, value in ns.features:
            out += " " + fname + ("" if value == 1.0 else ":" + _format_number(value))
    return out


class DataFileError(ValueError):
    """A data file that cannot be read to its end (missing, truncated, not what its magic says)."""

    def __init__(self, path: str | Path, problem: str, fix: str) -> None:
        self.path = str(path)
        super().__init__(f"{path}: {problem}; {fix}")


_RECOPY = "the file is incomplete or damaged: copy or download it again"


class _InnerStream(io.RawIOBase):
    """A read-only stream that decodes ``self.inner`` and closes it when closed."""

    inner: Any

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self.inner.close()
        super().close()


class _ZstdStream(_InnerStream):
    """zstd frames decompressed a little input at a time; ending mid-frame is an error.

    zstandard's ``stream_reader`` treats the end of a truncated file as the end of the data, so
    a cut download would train on the part that decompresses; this stream refuses it.
    """

    #: Input read per step: zstd expands a block up to ~32768 times, so this bounds the output.
    STEP = 1 << 12

    def __init__(self, handle: BinaryIO, path: str | Path) -> None:
        import zstandard

        self.inner, self.path, self.zstd = handle, path, zstandard
        self.frame = zstandard.ZstdDecompressor().decompressobj()
        self.pending, self.used, self.in_frame = b"", 0, False

    def readinto(self, buffer: Any) -> int:
        while self.used == len(self.pending):
            chunk = self.inner.read(self.STEP)
            if not chunk:
                if self.in_frame:
                    raise DataFileError(self.path, "the zstd stream ends mid-frame", _RECOPY)
                return 0
            self.pending, self.used = self._decompress(chunk), 0
        n = min(len(buffer), len(self.pending) - self.used)
        buffer[:n] = self.pending[self.used : self.used + n]
        self.used += n
        return n

    def _decompress(self, chunk: bytes) -> bytes:
        parts = []
        try:
            while chunk:
                parts.append(self.frame.decompress(chunk))
                self.in_frame, chunk = not self.frame.eof, b""
                if self.frame.eof:  # a next frame follows in the unused bytes
                    chunk = self.frame.unused_data
                    self.frame = self.zstd.ZstdDecompressor().decompressobj()
        except self.zstd.ZstdError as exc:
            raise DataFileError(self.path, f"corrupt zstd data ({exc})", _RECOPY) from None
        return b"".join(parts)


class _GzipStream(_InnerStream):
    """gzip members read by Python's gzip module, its errors turned into one-line errors."""

    def __init__(self, path: str | Path) -> None:
        self.path = path
        self.inner = gzip.open(path, "rb")  # noqa: SIM115 - closed by close()

    def readinto(self, buffer: Any) -> int:
        try:
            return self.inner.readinto(buffer)
        except EOFError:
            raise DataFileError(self.path, "the gzip stream is truncated", _RECOPY) from None
        except (OSError, zlib.error) as exc:  # BadGzipFile is an OSError
            raise DataFileError(self.path, f"corrupt gzip data ({exc})", _RECOPY) from None


def open_binary(path: str | Path) -> BinaryIO:
    """Open a data file for reading bytes: ``-`` is standard input; gzip and zstd by magic bytes.

    A compressed file that ends mid-stream or holds corrupt data raises :class:`DataFileError`
    when it is read, so a truncated download never trains a model on the part that decompresses.

    Examples
    --------
    >>> import gzip, tempfile, os
    >>> tmp = os.path.join(tempfile.mkdtemp(), "d.vw.gz")
    >>> with gzip.open(tmp, "wb") as f:
    ...     _ = f.write(b"1 | a\\n")
    >>> with open_binary(tmp) as f:
    ...     f.read()
    b'1 | a\\n'
    """
    if str(path) == "-":
        return sys.stdin.buffer
    try:
        handle = open(path, "rb")  # noqa: SIM115 - returned to the caller, who closes it
    except OSError as exc:
        raise FileNotFoundError(f"cannot read data file {path}: {exc.strerror}") from None
    magic = handle.peek(4)[:4] if hasattr(handle, "peek") else b""
    if magic.startswith(_GZIP_MAGIC):
        handle.close()
        return cast(BinaryIO, io.BufferedReader(_GzipStream(path)))
    if magic == _ZSTD_MAGIC:
        return cast(BinaryIO, io.BufferedReader(_ZstdStream(handle, path)))
    return handle


def read_blocks(
    stream: BinaryIO,
    block_size: int = 1 << 23,
    reuse: int = 0,
    ring: list[bytearray] | None = None,
) -> Iterator[memoryview | bytes]:
    """Yield chunks of whole lines (each ends with a newline), about ``block_size`` bytes each.

    Each chunk is read into a buffer and handed out as a view of it, never copied. With
    ``reuse=k`` the views come from k buffers taken in turn, so a chunk is overwritten when k
    more have been read (the caller must be done with it by then); a fresh buffer costs a page
    fault per 4 KiB, which on a virtual machine is as slow as parsing the page. A ``ring`` list
    passed in keeps those buffers for the caller's next call.

    Examples
    --------
    >>> [bytes(b) for b in read_blocks(io.BytesIO(b"a\\nb\\nc"), block_size=2)]
    [b'a\\n', b'b\\n', b'c\\n']
    """
    ring = [] if ring is None else ring
    rest, turn = b"", 0  # turn: chunks handed out; a read without a newline reuses its buffer
    while True:
        need, slot = len(rest) + block_size, turn % max(reuse, 1)
        if slot < len(ring) and len(ring[slot]) >= need:
            chunk = ring[slot]
        else:
            chunk = bytearray(need)
            if slot < len(ring):
                ring[slot] = chunk
            elif reuse:
                ring.append(chunk)  # slot == len(ring): the ring fills in turn order
        chunk[: len(rest)] = rest
        got = cast(io.BufferedIOBase, stream).readinto(memoryview(chunk)[len(rest) : need])
        if not got:
            break
        end = len(rest) + got
        cut = chunk.rfind(b"\n", 0, end)
        rest = bytes(chunk[cut + 1 : end])
        if cut >= 0:
            turn += 1
            yield memoryview(chunk)[: cut + 1]
    if rest:
        yield rest + b"\n"
