"""Errors a user can cause (each names file and line), and bounded reading of text files.

Every file ``wg meetings`` writes goes through :mod:`wg_io.output` (the output-path policy).
"""

from __future__ import annotations

import os
import stat

#: Largest notes, agenda or configuration file read; real ones are a few kilobytes.
MAX_BYTES = 4 * 1024 * 1024


class MeetingsError(Exception):
    """Bad input from the user: says what failed, where (``file:line``) and how to fix it."""

    def __init__(self, message: str, path: str | os.PathLike[str] | None = None, line: int = 0):
        self.path = None if path is None else str(path)
        self.line = line
        self.problem = message
        where = ""
        if self.path is not None:
            where = f"{self.path}:{line}: " if line else f"{self.path}: "
        super().__init__(where + message)


def read_text(path: str | os.PathLike[str], limit: int = MAX_BYTES) -> str:
    """Read a UTF-8 text file of at most ``limit`` bytes; invalid UTF-8 raises
    :class:`MeetingsError` with the line.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = pathlib.Path(d, "bad.md")
    ...     _ = p.write_bytes(b"# ok\\n\\xff\\n")
    ...     try:
    ...         read_text(p)
    ...     except MeetingsError as exc:
    ...         print(str(exc).split(": ", 1)[1])
    invalid UTF-8 (byte 0xff at column 1); re-save the file as UTF-8
    """
    try:
        data = _read_regular(path, limit)
    except OSError as exc:
        raise MeetingsError(f"cannot read the file: {exc.strerror}", path) from exc
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        byte = data[exc.start]
        raise MeetingsError(
            f"invalid UTF-8 (byte 0x{byte:02x} at column {column}); re-save the file as UTF-8",
            path,
            line,
        ) from exc


def _read_regular(path: str | os.PathLike[str], limit: int) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes; FIFOs and devices are not read."""
    # O_NONBLOCK: opening a FIFO would otherwise wait for a writer forever.
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise MeetingsError("not a regular file; pass a text file", path)
        data = handle.read(limit + 1)
    if len(data) > limit:
        size = f"{limit // 2**20} MiB" if limit % 2**20 == 0 else f"{limit // 1024} KiB"
        raise MeetingsError(
            f"larger than {size}, the most read from such a file; check the path", path
        )
    return data
