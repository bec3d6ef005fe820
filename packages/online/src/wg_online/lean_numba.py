"""Import numba without the two eager imports that cost most of a cold start.

``import numba`` also imports ``scipy.linalg`` (only to check that a BLAS exists for
``np.dot`` in compiled code; ~0.5 s) and ``coverage`` (to trace compiled lines when a coverage
run is active; ~0.15 s). Neither is needed by our kernels, so while numba loads those two
imports are refused, unless they are already loaded (a running coverage tool has imported
``coverage``, so tracing still works under it). Afterwards numba's BLAS flag is set from
whether SciPy is installed, so other numba code in the same process still gets BLAS: numba
imports SciPy itself when it compiles a function that needs it.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

_REFUSED = ("scipy.linalg", "coverage")


class _Refuse(importlib.abc.MetaPathFinder):
    def __init__(self, names: set[str]) -> None:
        self.names = names

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> None:
        if fullname in self.names:
            raise ImportError(f"{fullname} is not imported while numba loads")


def import_numba() -> Any:
    """The numba module, imported once without its eager SciPy and coverage imports.

    Examples
    --------
    >>> import_numba().__name__
    'numba'
    """
    if "numba.np.arraymath" in sys.modules:
        return sys.modules["numba"]
    finder = _Refuse({name for name in _REFUSED if name not in sys.modules})
    sys.meta_path.insert(0, finder)
    try:
        import numba
        import numba.np.arraymath as arraymath
    finally:
        sys.meta_path.remove(finder)
    if "scipy.linalg" in finder.names:
        arraymath._HAVE_BLAS = importlib.util.find_spec("scipy") is not None
    return numba


nb = import_numba()


def njit_keyed(*modules: ModuleType, **options: Any) -> Callable[[Callable[..., Any]], Any]:
    """``nb.njit(cache=True, **options)`` whose on-disk cache is also keyed on ``modules``.

    numba checks a cached function against its own file only (that file's time stamp and the
    function's bytecode), so a kernel compiled together with functions of another module would
    load stale machine code after that module changed. Each cache entry's key here also holds
    the XXH3 digest of the modules' sources: an edit there compiles afresh.

    Examples
    --------
    >>> import numpy as np
    >>> from wg_online.kernels import count_newlines  # keyed on bytescan.py
    >>> int(count_newlines(np.frombuffer(b"a\\nb\\n", np.uint8)))
    2
    >>> type(count_newlines._cache).__name__
    'KeyedCache'
    """
    from wg_io.checksum import digest

    key = digest(Path(str(m.__file__)).read_bytes() for m in modules)

    def wrap(func: Callable[..., Any]) -> Any:
        dispatcher = nb.njit(cache=True, **options)(func)
        dispatcher._cache = _keyed_cache(dispatcher.py_func, key)
        return dispatcher

    return wrap


def _keyed_cache(py_func: Callable[..., Any], key: str) -> Any:
    """numba's cache of ``py_func`` with ``key`` added to the key of every entry."""
    from numba.core.caching import FunctionCache

    class KeyedCache(FunctionCache):
        def _index_key(self, sig: Any, codegen: Any) -> tuple[Any, ...]:
            return (*super()._index_key(sig, codegen), key)

    return KeyedCache(py_func)
