"""A line-protocol prediction server on 127.0.0.1 with hot model swap ("hogwild loading").

Protocol: the client sends one VW example per line; the server answers one line per request:
the probability with six decimals, or ``error: <message>`` for a bad line. A watcher thread
polls the model file; when it changes (our writer replaces it atomically) the new model is
loaded completely and then swapped in with one reference assignment, so every request is
answered by exactly one whole model.
"""

from __future__ import annotations

import errno
import os
import socketserver
import threading
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from wg_online.model import Model
from wg_online.model_file import ModelFileError, load_model
from wg_online.parsing import map_arrays, parse_bytes
from wg_online.vw_format import VWFormatError

#: The signature of a model file that cannot be found (logged once until it is back).
_MISSING = (-1, -1, -1)


def _describe(exc: Exception, path: Path) -> str:
    """One line naming the file: our errors say it already, anything else gets it added."""
    if isinstance(exc, ModelFileError):
        return str(exc)
    if isinstance(exc, OSError):
        return f"{path}: {exc.strerror or exc}"
    return f"{path}: {type(exc).__name__}: {exc}".splitlines()[0]


class ServeError(ValueError):
    """The server cannot start (busy port, no permission); the message names the port."""


class ModelHolder:
    """The model being served and the file signature it was loaded from.

    The watcher calls :meth:`refresh`; no file, however damaged, stops it: a file that fails
    to load is logged once (one line) and the current model keeps answering until the file
    changes again.
    """

    def __init__(self, path: str | Path, log: Callable[[str], None] = lambda _: None) -> None:
        self.path, self.log = Path(path), log
        try:
            self.signature = self._signature()
        except OSError:
            self.signature = _MISSING  # load_model says why, naming the file
        self.model: Model = load_model(self.path)
        self.swaps = 0
        self.refused: tuple[int, int, int] | None = None

    def _signature(self) -> tuple[int, int, int]:
        st = os.stat(self.path)
        return st.st_ino, st.st_size, st.st_mtime_ns

    def refresh(self) -> bool:
        """Load and swap in the model file if it changed; True when a swap happened."""
        sig = _MISSING
        try:
            sig = self._signature()
            if sig in (self.signature, self.refused):
                return False
            model = load_model(self.path)
        except Exception as exc:
            if sig != self.refused:
                self.log(f"keeping the current model: {_describe(exc, self.path)}")
            self.refused = sig
            return False
        self.model, self.signature, self.refused = model, sig, None
        self.swaps += 1
        self.log(f"swapped in {self.path} (swap {self.swaps})")
        return True

    def answer(self, line: bytes) -> str:
        """The reply to one request line."""
        model = self.model  # one reference read: the whole request uses this model
        fast = _answer_fast(model, line)
        if fast is not None:
            return fast
        try:
            text = line.rstrip(b"\r\n") + b"\n"
            o = model.options
            data = parse_bytes(text, "<request>", 1, namespace_map=o.namespace_map,
                               transforms=o.feature_specs)  # fmt: skip
        except VWFormatError as exc:
            return f"error: {exc}"
        if len(data) != 1:
            return "error: send exactly one example per line"
        preds, _, _ = model.run(data, learn=False)
        return f"{float(preds[0]):.6f}"


@lru_cache(maxsize=1)
def _parse_block() -> Callable[..., Any]:
    from wg_online.kernels import parse_block  # numba loads on the first request, not at import

    return parse_block


def _answer_fast(model: Model, line: bytes) -> str | None:
    """The reply for a well-formed ASCII line in two compiled calls; None sends it the slow way
    (non-ASCII text, bad lines and error messages go through :func:`parse_bytes`)."""
    if not line.isascii() or model.options.feature_specs:  # parse_bytes applies them
        return None
    text = line.rstrip(b"\r\n") + b"\n"
    map_hashes, map_letters = map_arrays(model.options.namespace_map)
    labels, imps, _, offsets, idx, val, ns, _, bad, _ = _parse_block()(
        np.frombuffer(text, np.uint8), False, map_hashes, map_letters
    )
    if len(bad) or len(labels) != 1:
        return None
    return f"{model.predict_one(labels, imps, offsets, idx, val, ns):.6f}"


class _Handler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        holder: ModelHolder = self.server.holder  # type: ignore[attr-defined]
        try:
            for line in self.rfile:
                self.wfile.write(holder.answer(line).encode() + b"\n")
                self.wfile.flush()
        except (ConnectionError, TimeoutError):
            pass  # the client went away mid-request: nothing to answer, nothing to report


class PredictionServer(socketserver.ThreadingTCPServer):
    """Threaded TCP server; ``serve_forever`` answers, a daemon thread watches the model file."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        holder: ModelHolder,
        port: int,
        poll_seconds: float = 0.2,
        log: Callable[[str], None] = lambda _: None,
    ) -> None:
        # socketserver calls server_close when binding fails: it needs the stop event
        self._stop = threading.Event()
        self.log = log
        try:
            super().__init__(("127.0.0.1", port), _Handler)
        except OSError as exc:
            raise ServeError(_bind_problem(port, exc)) from None
        self.holder, self.poll_seconds = holder, poll_seconds
        self._watcher = threading.Thread(target=self._watch, daemon=True)
        self._watcher.start()

    def _watch(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                self.holder.refresh()
            except Exception as exc:
                self.log(f"model watcher: {exc!r}")

    def handle_error(self, request: Any, client_address: Any) -> None:
        """One line per failed request instead of socketserver's traceback."""
        import sys

        exc = sys.exc_info()[1]
        self.log(f"request from {client_address[0]}:{client_address[1]} failed: {exc!r}")

    def server_close(self) -> None:
        self._stop.set()
        super().server_close()


def _bind_problem(port: int, exc: OSError) -> str:
    if exc.errno == errno.EADDRINUSE:
        return (
            f"cannot listen on 127.0.0.1:{port}: the port is in use; stop the program using it "
            "or choose another --port"
        )
    if exc.errno == errno.EACCES:
        return f"cannot listen on 127.0.0.1:{port}: permission denied; choose a port above 1023"
    return f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}; choose another --port"


def serve(
    model_path: str | Path,
    port: int,
    poll_seconds: float = 0.2,
    log: Callable[[str], None] = lambda _: None,
) -> None:
    """Serve predictions of ``model_path`` on 127.0.0.1:``port`` until interrupted."""
    holder = ModelHolder(model_path, log)
    holder.model.run(parse_bytes(b"| warmup\n"), learn=False)  # compile before the first client
    with PredictionServer(holder, port, poll_seconds, log) as server:
        log(f"serving {model_path} on 127.0.0.1:{server.server_address[1]}")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            log("stopped")
