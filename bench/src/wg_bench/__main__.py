"""``wg-bench`` and ``python -m wg_bench``: the benchmark tool on its own.

The same commands as ``wg bench`` in the workspace, for an install of this member alone.
"""

from __future__ import annotations


def main() -> None:
    """The ``wg-bench`` console script; a failed write to stdout is one line."""
    from wg_io.streams import run_command

    from wg_bench.cli import bench

    run_command(lambda: bench.main(prog_name="wg-bench"), "wg-bench")


if __name__ == "__main__":
    main()
