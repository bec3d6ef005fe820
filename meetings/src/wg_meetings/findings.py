"""A finding of ``wg meetings check``: a problem at ``file:line``."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True, order=True)
class Finding:
    """One problem at ``path:line``; ``severity`` is ``"error"`` or ``"warning"``."""

    path: str
    line: int
    severity: str
    code: str
    message: str

    def format(self, root: Path | None = None) -> str:
        """``path:line: severity[code]: message``, the path relative to ``root`` if given."""
        path = os.path.relpath(self.path, root) if root is not None else self.path
        return f"{path}:{self.line}: {self.severity}[{self.code}]: {self.message}"

    def to_json(self) -> dict[str, Any]:
        """Every field by its name, in declaration order."""
        return asdict(self)
