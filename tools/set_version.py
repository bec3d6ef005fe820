"""Set the version of every distribution of the workspace from the root ``VERSION`` file.

    python tools/set_version.py 0.2.0     # writes VERSION, then every pyproject and __version__

``VERSION`` is the one place a version is decided; the static copies that packaging needs
(``version = ...`` in each member's pyproject.toml, ``__version__`` in ``wg`` and ``wg_license``)
follow it, and ``tests/test_versions.py`` fails when one does not.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = r'(?m)^version = "([^"]+)"$'
#: The workspace's members, as the root pyproject.toml lists them.
MEMBERS = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["uv"]["workspace"]["members"]
#: Files holding a copy of the version, and the pattern of that copy.
COPIES = {
    **dict.fromkeys((ROOT / member / "pyproject.toml" for member in MEMBERS), PYPROJECT),
    ROOT / "src" / "wg" / "__init__.py": r'(?m)^__version__ = "([^"]+)"$',
    ROOT / "license" / "src" / "wg_license" / "__init__.py": r'(?m)^__version__ = "([^"]+)"$',
}


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not re.fullmatch(r"\d+\.\d+\.\d+([a-z0-9.+-]*)", argv[0]):
        print("usage: python tools/set_version.py X.Y.Z", file=sys.stderr)
        return 2
    version = argv[0]
    (ROOT / "VERSION").write_text(version + "\n")
    for path, pattern in COPIES.items():
        text = path.read_text()
        new = re.sub(pattern, lambda m: m.group(0).replace(m.group(1), version), text)
        path.write_text(new)
    print(f"version {version} in VERSION and {len(COPIES)} copies; run `uv lock` next")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
