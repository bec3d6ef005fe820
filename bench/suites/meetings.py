"""``wg meetings check`` (parse every file, then check them) on the Rust ML working group's 36 real
notes files (issue 14, item 6), from the shared corpus (``wg_io.corpus``); skipped without it.

``wg`` is the check in this process (``check_dir``, then the JSON the command prints);
``wg_cli`` is the command a user runs, ``python -m wg meetings check DIR --json``, in a child
process (interpreter start and imports included; timed by the wall clock, which counts the
child's work). The gate: both report the same findings.
"""

from __future__ import annotations

import json
import sys
from typing import Any, ClassVar

import numpy as np
from wg_bench.outputs import command_output
from wg_io.corpus import corpus_path

NOTES = ("rust-ml-meetings",)


def _findings(raw: np.ndarray) -> list[tuple[Any, ...]]:
    """The JSON findings (given as their bytes) as sorted comparable tuples."""
    return sorted(
        (f["path"], f["line"], f["severity"], f["code"], f["message"])
        for f in json.loads(raw.tobytes())
    )


class CheckCorpus:
    """Parse and check the 36 Rust ML meeting notes: in process and as the command."""

    params: ClassVar[Any] = [list(NOTES)]
    param_names: ClassVar[Any] = ["corpus"]
    reference = "wg"
    tolerance = 0.0

    def setup(self, device: str, corpus: str) -> None:
        self.folder = corpus_path(corpus)
        if not self.folder.is_dir():
            # airspeed velocity's convention: NotImplementedError from setup skips the cell
            raise NotImplementedError(
                f"the corpus {self.folder} is absent; lay shared/corpus beside the checkout "
                "or set WG_CORPUS to its folder"
            )

    def impl_wg(self) -> np.ndarray:
        from wg_meetings.check import check_dir

        text = json.dumps([f.to_json() for f in check_dir(self.folder)], indent=2)
        return np.frombuffer(text.encode(), np.uint8)

    def impl_wg_cli(self) -> np.ndarray:
        command = [sys.executable, "-m", "wg", "meetings", "check", str(self.folder), "--json"]
        return command_output(command, lambda done: done.stdout.lstrip().startswith(b"["))

    def error(self, output: np.ndarray, expected: np.ndarray) -> float:
        """0 when both report the same findings, else 1."""
        return 0.0 if _findings(output) == _findings(expected) else 1.0

    def metrics(self, output: np.ndarray) -> dict[str, float]:
        found = _findings(output)
        return {
            "files": len(list(self.folder.glob("meeting_*.md"))),
            "errors": sum(f[2] == "error" for f in found),
            "warnings": sum(f[2] == "warning" for f in found),
        }
