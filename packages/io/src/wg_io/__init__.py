"""What the wg libraries and tools share: the output-path policy, checksums, bounded parsing.

A small member that imports only the standard library (and xxhash, PyYAML where asked), so every
library and tool may depend on it without pulling in anything heavy.
"""

from wg_io.output import (
    OutputError,
    open_output,
    resolve_target,
    write_bytes,
    write_json,
    write_text,
)
from wg_io.structure import InputError

__all__ = [
    "InputError",
    "OutputError",
    "open_output",
    "resolve_target",
    "write_bytes",
    "write_json",
    "write_text",
]
