"""``wg-meetings`` and ``python -m wg_meetings``: the meeting-notes tool on its own.

The same commands as ``wg meetings`` in the workspace, for an install of this member alone.
"""

from __future__ import annotations


def main() -> None:
    """The ``wg-meetings`` console script; a failed write to stdout is one line."""
    from wg_io.streams import run_command

    from wg_meetings.cli import meetings

    run_command(lambda: meetings.main(prog_name="wg-meetings"), "wg-meetings")


if __name__ == "__main__":
    main()
