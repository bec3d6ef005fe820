"""Standard output that cannot be written (a full disk, a closed pipe) ends a command cleanly.

Python flushes ``sys.stdout`` at exit and, when that fails, prints a traceback-like "Exception
ignored" message. :func:`run_command` flushes first and turns the failure into one line.
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Callable

from wg_io.output import describe_os_error


def run_command(main: Callable[[], object], name: str) -> None:
    """Run a console-script entry point; a failed write to stdout is a one-line error (exit 1).

    A closed pipe (``wg ... | head``) is not an error: the command exits quietly, as ``cat`` does.
    """
    code: str | int | None = 0
    try:
        main()
    except SystemExit as done:
        code = done.code
    except OSError as exc:
        if exc.errno not in (errno.EPIPE, errno.ENOSPC, errno.EDQUOT, errno.EIO):
            raise
        _give_up_on_stdout(exc, name)
    try:
        sys.stdout.flush()
    except OSError as exc:
        _give_up_on_stdout(exc, name)
    sys.exit(code)


def _give_up_on_stdout(exc: OSError, name: str) -> None:
    # Point stdout at /dev/null so the interpreter's own flush at exit has nothing left to fail on.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    if exc.errno == errno.EPIPE:
        sys.exit(0)
    problem, hint = describe_os_error(exc)
    print(f"{name}: cannot write standard output: {problem} ({hint})", file=sys.stderr)
    sys.exit(1)
