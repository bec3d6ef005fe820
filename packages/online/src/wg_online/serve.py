"""A line-protocol prediction server on 127.0.0.1 with hot model swap ("hogwild loading").

Protocol: the client sends one VW example per line; the server answers one line per request:
the probability with six decimals, or ``error: <message>`` for a bad line. A watcher thread
polls the model file; when it changes (our writer replaces it atomically) the new model is
loaded completely and then swapped in with one reference assignment, so every request is
answered by exactly one whole model.
"""

from __future__ import annotations

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


class ModelHolder:
    """The model being served and the file signature it was loaded from."""

    def __init__(self, path: str | Path, log: Callable[[str], None] = lambda _: None) -> None:
        self.path, self.log = Path(path), log
        self.signature = self._signature()
        self.model: Model = load_model(self.path)
        self.swaps = 0

    def _signature(self) -> tuple[int, int, int]:
        st = os.stat(self.path)
        return st.st_ino, st.st_size, st.st_mtime_ns

    def refresh(self) -> bool:
        """Load and swap in the model file if it changed; True when a swap happened."""
        try:
            sig = self._signature()
            if sig == self.signature:
                return False
            model = load_model(self.path)
        except (OSError, ModelFileError) as exc:
            self.log(f"keeping the current model: {exc}")
            return False
        self.model, self.signature = model, sig
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
            data = parse_bytes(text, "<request>", 1, namespace_map=model.options.namespace_map)
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
    if not line.isascii():
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
        for line in self.rfile:
            self.wfile.write(holder.answer(line).encode() + b"\n")
            self.wfile.flush()


class PredictionServer(socketserver.ThreadingTCPServer):
    """Threaded TCP server; ``serve_forever`` answers, a daemon thread watches the model file."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, holder: ModelHolder, port: int, poll_seconds: float = 0.2) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.holder, self.poll_seconds = holder, poll_seconds
        self._stop = threading.Event()
        self._watcher = threading.Thread(target=self._watch, daemon=True)
        self._watcher.start()

    def _watch(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            self.holder.refresh()

    def server_close(self) -> None:
        self._stop.set()
        super().server_close()


def serve(
    model_path: str | Path,
    port: int,
    poll_seconds: float = 0.2,
    log: Callable[[str], None] = lambda _: None,
) -> None:
    """Serve predictions of ``model_path`` on 127.0.0.1:``port`` until interrupted."""
    holder = ModelHolder(model_path, log)
    holder.model.run(parse_bytes(b"| warmup\n"), learn=False)  # compile before the first client
    with PredictionServer(holder, port, poll_seconds) as server:
        log(f"serving {model_path} on 127.0.0.1:{server.server_address[1]}")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            log("stopped")
