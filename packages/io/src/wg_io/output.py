"""The output-path policy of every wg command: one place that decides how a file is written.

Rules, in the order they are applied to the path the user gave:

1. A symbolic link is followed: the file it points to is written, and the link stays a link.
2. A character device or a FIFO (``/dev/null``, ``/dev/stdout``, a named pipe) is written directly,
   never renamed over: replacing ``/dev/null`` with a regular file would break the system.
3. A folder, a block device or a socket is refused.
4. An output that is one of the command's inputs is refused (same file, compared by device and
   inode, so links and ``..`` do not hide it): writing it would destroy the data being read.
5. A regular file is written atomically: into a hidden temporary file in the same folder
   (``.NAME.wgtmp-PID-*``), synced, then renamed over the target. A reader sees the old file or
   the new one, never half of one. Any failure removes the temporary file; one left by a process
   that was killed outright (SIGKILL) is removed by the next write to the same path.
6. A new file gets the mode the user's umask gives (``0o666 & ~umask``); a replaced file keeps its
   mode.
7. Every failure is an :class:`OutputError` that names the user's path (not the temporary file)
   and says what to do (full disk, read-only file system, permission, missing folder).
"""

from __future__ import annotations

import errno
import json
import os
import stat
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

PathLike = str | os.PathLike[str]

#: What to do about an OS error, by errno: the hint appended to the message.
_HINTS: dict[int, str] = {
    errno.ENOSPC: "the disk is full: free some space or write to another disk",
    errno.EDQUOT: "the disk quota is exhausted: free some space or write elsewhere",
    errno.EROFS: "the file system is read-only: choose a writable folder",
    errno.EACCES: "permission denied: choose a folder you can write to, or fix its permissions",
    errno.EPERM: "operation not permitted: choose a folder you can write to",
    errno.ENOENT: "the folder does not exist: create it first or choose another path",
    errno.ENOTDIR: "a part of the path is not a folder: check the path",
    errno.EISDIR: "the path is a folder: give a file name",
    errno.ENAMETOOLONG: "the file name is too long: choose a shorter name",
    errno.EFBIG: "the file is too large for this file system: write to another disk",
}


class OutputError(Exception):
    """A file could not be written; the message names the user's path and how to fix it."""

    def __init__(self, path: PathLike, problem: str, hint: str = "") -> None:
        self.path = os.fspath(path)
        self.problem = problem
        self.hint = hint
        text = f"cannot write {self.path}: {problem}"
        super().__init__(f"{text} ({hint})" if hint else text)


def describe_os_error(exc: OSError) -> tuple[str, str]:
    """Return ``(problem, hint)`` for an OS error, without the temporary file's name.

    Examples
    --------
    >>> describe_os_error(OSError(28, "No space left on device"))
    ('No space left on device', 'the disk is full: free some space or write to another disk')
    """
    problem = exc.strerror or str(exc) or type(exc).__name__
    return problem, _HINTS.get(exc.errno or -1, "")


@dataclass(frozen=True)
class Target:
    """Where an output really goes, once the policy has looked at the path.

    ``given`` is the path the user typed (used in messages), ``real`` the file that is written,
    ``direct`` is true for character devices and FIFOs (written in place), and ``mode`` is the
    permission bits the written file gets (``None`` for direct writes).
    """

    given: str
    real: Path
    direct: bool
    mode: int | None


def _umask() -> int:
    # os.umask is the only portable way to read the umask; it is set back at once.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _same_file(a: os.stat_result, b: os.stat_result) -> bool:
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def resolve_target(
    path: PathLike, *, inputs: Iterable[PathLike] = (), make_parents: bool = False
) -> Target:
    """Apply the policy's checks to ``path`` and say where and how it will be written.

    Raises :class:`OutputError` for a folder, block device or socket, for an output that is one of
    ``inputs``, and for a missing parent folder (unless ``make_parents``).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> data = folder / "data.vw"; _ = data.write_text("1 | a")
    >>> resolve_target(data, inputs=[data])
    Traceback (most recent call last):
    ...
    wg_io.output.OutputError: cannot write ...data.vw: it is also an input of this command \
(choose another output path)
    >>> resolve_target("/dev/null").direct
    True
    """
    given = os.fspath(path)
    if given == "":
        raise OutputError(given, "the path is empty", "give a file name")
    real = Path(os.path.realpath(given))
    try:
        info: os.stat_result | None = os.stat(real)
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise OutputError(given, *describe_os_error(exc)) from None
    for source in inputs:
        try:
            source_info = os.stat(source)
        except OSError:
            continue
        if info is not None and _same_file(info, source_info):
            raise OutputError(
                given, "it is also an input of this command", "choose another output path"
            )
    if info is not None:
        kind = info.st_mode
        if stat.S_ISCHR(kind) or stat.S_ISFIFO(kind):
            return Target(given, real, direct=True, mode=None)
        if stat.S_ISDIR(kind):
            raise OutputError(given, "it is a folder", "give a file name inside it")
        if not stat.S_ISREG(kind):
            raise OutputError(given, "it is not a regular file", "write to a regular file")
        mode: int = stat.S_IMODE(kind)
    else:
        mode = 0o666 & ~_umask()
    parent = real.parent
    if not parent.is_dir():
        if not make_parents:
            raise OutputError(given, "its folder does not exist", f"create {parent} first")
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(given, *describe_os_error(exc)) from None
    return Target(given, real, direct=False, mode=mode)


def _temporary_prefix(real: Path) -> str:
    return f".{real.name}.wgtmp-"


def _sweep_stale(real: Path) -> None:
    """Remove temporary files that killed writers (SIGKILL, power loss) left beside ``real``.

    A temporary name carries its writer's process id; a file whose writer no longer runs is stale.
    """
    prefix = _temporary_prefix(real)
    try:
        names = [n for n in os.listdir(real.parent) if n.startswith(prefix)]
    except OSError:
        return
    for name in names:
        pid_text = name[len(prefix) :].split("-", 1)[0]
        if not pid_text.isdigit() or int(pid_text) == os.getpid():
            continue
        try:
            os.kill(int(pid_text), 0)
        except ProcessLookupError:
            with suppress(OSError):
                os.unlink(real.parent / name)
        except OSError:
            continue  # alive but not ours (EPERM): leave it


def _open_temporary(real: Path) -> tuple[int, str]:
    """Create a hidden temporary file beside ``real``, named after it and this process."""
    _sweep_stale(real)
    fd, tmp = tempfile.mkstemp(dir=real.parent, prefix=f"{_temporary_prefix(real)}{os.getpid()}-")
    return fd, tmp


@contextmanager
def open_output(
    path: PathLike,
    *,
    inputs: Iterable[PathLike] = (),
    make_parents: bool = False,
    exclusive: bool = False,
) -> Iterator[BinaryIO]:
    """Yield a binary file to write ``path`` through, under the output-path policy (the module's).

    On success the file is synced and published; on any exception, ``KeyboardInterrupt``
    included, nothing is published, no temporary file is left, and OS errors become
    :class:`OutputError` naming ``path``. With ``exclusive``, an existing file is never replaced,
    not even one created while this file was being written (it is published with a hard link,
    which fails if the name exists).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "notes.txt"
    >>> with open_output(target) as out:
    ...     _ = out.write(b"hello")
    >>> target.read_text()
    'hello'
    """
    target = resolve_target(path, inputs=inputs, make_parents=make_parents)
    if exclusive and (target.direct or target.real.exists()):
        raise OutputError(target.given, "it exists already", "choose another path or remove it")
    if target.direct:
        try:
            with open(target.real, "wb") as out:
                yield out
        except OSError as exc:
            raise OutputError(target.given, *describe_os_error(exc)) from None
        return
    fd, tmp = _temporary_for(target)
    try:
        with os.fdopen(fd, "wb", closefd=False) as handle:
            yield handle
            handle.flush()
        _publish(fd, tmp, target, exclusive)
    except FileExistsError:
        problem, hint = "it exists already", "choose another path or remove it"
        raise OutputError(target.given, problem, hint) from None
    except OSError as exc:
        raise OutputError(target.given, *describe_os_error(exc)) from None
    finally:
        os.close(fd)
        with suppress(FileNotFoundError):
            os.unlink(tmp)


def _temporary_for(target: Target) -> tuple[int, str]:
    try:
        return _open_temporary(target.real)
    except OSError as exc:
        problem, hint = describe_os_error(exc)
        if exc.errno == errno.ENOENT:
            # The folder exists (resolve_target checked), yet takes no new file: /proc, /sys.
            hint = "this folder takes no new files (a special file system?): choose another"
        raise OutputError(target.given, problem, hint) from None


def _publish(fd: int, tmp: str, target: Target, exclusive: bool) -> None:
    """Sync the finished temporary file, give it its mode and put it at the target's name."""
    assert target.mode is not None
    os.fsync(fd)
    os.fchmod(fd, target.mode)
    if exclusive:
        os.link(tmp, target.real)  # fails if the name exists, even if it appeared meanwhile
    else:
        os.replace(tmp, target.real)


def write_bytes(
    path: PathLike,
    data: bytes | memoryview,
    *,
    inputs: Iterable[PathLike] = (),
    make_parents: bool = False,
) -> None:
    """Write ``data`` to ``path`` under the output-path policy.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "x.bin"
    >>> write_bytes(target, b"abc"); target.read_bytes()
    b'abc'
    """
    with open_output(path, inputs=inputs, make_parents=make_parents) as out:
        out.write(data)


def write_text(
    path: PathLike,
    text: str,
    *,
    inputs: Iterable[PathLike] = (),
    make_parents: bool = False,
    exclusive: bool = False,
) -> None:
    """Write UTF-8 ``text`` to ``path`` under the output-path policy (``open_output``'s options)."""
    with open_output(path, inputs=inputs, make_parents=make_parents, exclusive=exclusive) as out:
        out.write(text.encode("utf-8"))


def write_json(
    path: PathLike, document: Any, *, inputs: Iterable[PathLike] = (), make_parents: bool = False
) -> None:
    """Write ``document`` as indented JSON (NaN and infinities become ``null``) under the policy."""
    write_text(
        path,
        json.dumps(finite_json(document), indent=1) + "\n",
        inputs=inputs,
        make_parents=make_parents,
    )


def finite_json(value: Any) -> Any:
    """Return ``value`` with every non-finite float replaced by ``None`` (JSON has no NaN).

    Examples
    --------
    >>> finite_json({"a": [1.0, float("nan")], "b": float("inf")})
    {'a': [1.0, None], 'b': None}
    """
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return None
    if isinstance(value, dict):
        return {k: finite_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite_json(v) for v in value]
    return value
