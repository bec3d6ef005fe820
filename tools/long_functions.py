"""List the functions of the tracked Python files that are longer than a limit, numba kernels apart.

    python tools/long_functions.py          # functions over 60 lines (CONTRIBUTING.md's ceiling)
    python tools/long_functions.py 40       # over 40, the size we aim for

A function's length runs from its ``def`` line to its last line, as ``ast`` reports them
(decorators not counted, the docstring counted). A numba kernel is marked as such: a function
with a decorator whose name holds ``jit`` (``njit``, ``_njit(...)``, ``njit_keyed(...)``) or is
``vectorize``/``guvectorize``. A kernel cannot call Python helpers freely, so its length is
judged on its own. Exit status 1 when a function that is not a kernel is over the limit, else 0.
Files that git tracks but the working tree no longer has are passed over.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VECTORIZERS = ("vectorize", "guvectorize")


def _is_kernel(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    for decorator in node.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
        if "jit" in name or name.lstrip("_") in VECTORIZERS:
            return True
    return False


def long_functions(limit: int) -> list[tuple[int, str, int, str, bool]]:
    """(length, path, line, name, is_kernel) of every function over ``limit`` lines, longest
    first, over the Python files git tracks."""
    listed = subprocess.run(["git", "ls-files", "*.py"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout.split()  # fmt: skip
    found = []
    for path in listed:
        if not (ROOT / path).is_file():
            continue
        tree = ast.parse((ROOT / path).read_text(encoding="utf-8"), filename=path)
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > limit:
                    found.append((length, path, node.lineno, node.name, _is_kernel(node)))
    return sorted(found, key=lambda row: (-row[0], row[1], row[2]))


def main(argv: list[str]) -> int:
    limit = int(argv[0]) if argv else 60
    rows = long_functions(limit)
    for length, path, line, name, kernel in rows:
        print(f"{length:4d} {path}:{line} {name}{' (numba kernel)' if kernel else ''}")
    others = sum(not kernel for *_, kernel in rows)
    print(f"{others} function(s) over {limit} lines outside numba kernels")
    return 1 if others else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
