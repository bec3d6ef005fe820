"""numba's on-disk cache notices an edit of a module whose functions a kernel compiles in."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

KERNEL = """
from wg_online.lean_numba import njit_keyed

import dep


@njit_keyed(dep)
def kernel(x):
    return dep.scale(x) + 1
"""


def _dep(factor: int) -> str:
    return textwrap.dedent(f"""
        from wg_online.lean_numba import nb


        @nb.njit(cache=True)
        def scale(x):
            return x * {factor}
    """)


def _run(folder: Path) -> str:
    env = {**os.environ, "PYTHONPATH": str(folder), "NUMBA_CACHE_DIR": str(folder / "cache")}
    done = subprocess.run(
        [sys.executable, "-c", "import kern; print(kern.kernel(10), kern.kernel.stats.cache_hits)"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return done.stdout.strip()


def test_an_edit_of_an_inlined_module_compiles_afresh(tmp_path: Path) -> None:
    (tmp_path / "kern.py").write_text(KERNEL)
    (tmp_path / "dep.py").write_text(_dep(2))
    assert _run(tmp_path) == "21 Counter()"  # compiled and cached
    assert _run(tmp_path) == "21 Counter({(int64,): 1})"  # loaded from the cache
    (tmp_path / "dep.py").write_text(_dep(3))  # kern.py, numba's key for kernel, is unchanged
    assert _run(tmp_path) == "31 Counter()"
    assert _run(tmp_path) == "31 Counter({(int64,): 1})"
