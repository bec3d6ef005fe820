"""Stopping a run cleanly on SIGINT, SIGTERM or SIGHUP.

A cell runs in its own session (a terminal's Ctrl-C reaches only the harness, which decides), so
a signal that killed the harness outright would leave the cell process running without its
timeout, and its ``/tmp/wg-bench-cell-*`` folder behind. Instead, the first signal raises
:class:`Interrupted` in the harness while cells are running: the cell runner kills the cell's
process group and removes its folder, and the runner writes the finished cells. A signal that
arrives while the harness is already stopping (or writing the last results) is only recorded.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType

#: the signals that stop a run; each ends it with exit status 128 + its number
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Interrupted(KeyboardInterrupt):
    """A stop signal arrived while cells were running (a KeyboardInterrupt, so Ctrl-C and a
    signal are handled alike)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@dataclass
class Interruption:
    """What the handler saw: the first stop signal, and whether it may raise now."""

    signum: int | None = None
    armed: bool = False

    def handle(self, signum: int, frame: FrameType | None) -> None:
        if self.signum is None:
            self.signum = signum
        if self.armed:
            self.armed = False
            raise Interrupted(signum)

    @property
    def name(self) -> str | None:
        """``SIGTERM``, ... or None when no signal arrived."""
        return None if self.signum is None else signal.Signals(self.signum).name


#: the Interruption of the run in progress in this process (None between runs)
_current: Interruption | None = None


@contextmanager
def deferred() -> Iterator[None]:
    """Hold a stop signal back until the block ends, then raise it.

    Around the start of a cell process: a signal that arrived inside ``subprocess.Popen`` would
    leave a process that nobody knows to kill. Only the main thread's run is affected.

    Examples
    --------
    >>> with deferred():
    ...     pass
    """
    seen = _current
    main = threading.current_thread() is threading.main_thread()
    if seen is None or not seen.armed or not main:
        yield
        return
    seen.armed = False
    try:
        yield
    finally:
        seen.armed = True
        if seen.signum is not None:
            seen.armed = False
            raise Interrupted(seen.signum)


@contextmanager
def stop_signals() -> Iterator[Interruption]:
    """Route the stop signals to an :class:`Interruption` for the duration of the block.

    The handlers are installed only in the main thread (Python delivers signals there), and the
    previous ones are restored on exit. Set ``armed`` where an :class:`Interrupted` may be raised.

    Examples
    --------
    >>> import os, signal
    >>> with stop_signals() as seen:
    ...     os.kill(os.getpid(), signal.SIGTERM)
    >>> seen.name
    'SIGTERM'
    """
    seen = Interruption()
    if threading.current_thread() is not threading.main_thread():
        yield seen
        return
    global _current
    previous = {s: signal.signal(s, seen.handle) for s in STOP_SIGNALS}
    _current = seen
    try:
        yield seen
    finally:
        _current = None
        for number, handler in previous.items():
            signal.signal(number, handler)
