"""Errors a user can cause (each names file and line), and safe reading and writing of files."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


class MeetingsError(Exception):
    """Bad input from the user: says what failed, where (``file:line``) and how to fix it."""

    def __init__(self, message: str, path: str | os.PathLike[str] | None = None, line: int = 0):
        self.path = None if path is None else str(path)
        self.line = line
        where = ""
        if self.path is not None:
            where = f"{self.path}:{line}: " if line else f"{self.path}: "
        super().__init__(where + message)


def read_text(path: str | os.PathLike[str]) -> str:
    """Read a UTF-8 text file; invalid UTF-8 raises :class:`MeetingsError` with the line.

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
        data = Path(path).read_bytes()
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


def write_atomic(path: Path, text: str, *, overwrite: bool = True) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder.

    With ``overwrite=False`` an existing file is never replaced (``FileExistsError``), even when
    another process creates it between the check and the write.
    """
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise MeetingsError(
            f"cannot write here: {exc.strerror}; check that the folder exists and is writable",
            path,
        ) from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        if overwrite:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
