"""``wg-license`` and ``python -m wg_license``: the licence tool on its own.

The same commands as ``wg license`` in the workspace, for an install of this member alone.
"""

from __future__ import annotations


def main() -> None:
    """The ``wg-license`` console script; a failed write to stdout is one line."""
    from wg_io.streams import run_command

    from wg_license.cli import license_group

    run_command(lambda: license_group.main(prog_name="wg-license"), "wg-license")


if __name__ == "__main__":
    main()
