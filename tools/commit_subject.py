#!/usr/bin/env python3
"""Check commit subjects against CONTRIBUTING.md: at most 72 characters, starting with the area.

As a git hook (checks the message being committed)::

    ln -s ../../tools/commit_subject.py .git/hooks/commit-msg

As an audit of a range of commits::

    python tools/commit_subject.py --range origin/main..HEAD

Exit status 1 when a subject breaks the rule, with one line per subject saying which rule.
"""

from __future__ import annotations

import re
import subprocess
import sys

LIMIT = 72
#: "area: text", the area being a member or folder name ("wg_online", "bench tests", "docs")
AREA = re.compile(r"^[A-Za-z0-9_.\-/ ]+: \S")


def problems(subject: str) -> list[str]:
    """What is wrong with one subject line (empty when it follows the rule)."""
    found = []
    if len(subject) > LIMIT:
        found.append(f"{len(subject)} characters, over {LIMIT}: move detail into the body")
    if not AREA.match(subject):
        found.append("no area prefix: start with the area, e.g. 'wg_online: ...'")
    return found


def _subject_of(message: str) -> str:
    lines = [ln for ln in message.splitlines() if not ln.startswith("#")]
    return lines[0].rstrip() if lines else ""


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "--range":
        log = subprocess.run(
            ["git", "log", "--format=%h %s", argv[1]], capture_output=True, text=True, check=True
        )
        subjects = [tuple(line.split(" ", 1)) for line in log.stdout.splitlines()]
    elif len(argv) == 1:
        with open(argv[0], encoding="utf-8") as f:
            subjects = [("message", _subject_of(f.read()))]
    else:
        print(__doc__, file=sys.stderr)
        return 2
    bad = 0
    for where, subject in subjects:
        for problem in problems(subject):
            print(f"{where}: {problem}: {subject}")
            bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
