"""Exceptions raised by wg_autodiff, and the user's source line they point at."""

from __future__ import annotations

import os
import sys
from types import FrameType

import numpy as np

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
_NUMPY_DIR = os.path.dirname(os.path.abspath(np.__file__))
_SKIP_DIRS = (_PACKAGE_DIR, _NUMPY_DIR)


class AutodiffError(Exception):
    """Base class of every error wg_autodiff raises on purpose."""


class UnsupportedOperationError(AutodiffError, TypeError):
    """A NumPy function or ufunc without a derivative rule was applied to a traced value."""


class TracerConversionError(AutodiffError, TypeError):
    """A traced value was turned into a plain Python or NumPy value the tracer cannot follow."""


class InputError(AutodiffError, ValueError):
    """A transform was called with arguments it cannot differentiate."""


def user_location() -> str:
    """Return ``file:line`` of the innermost frame outside wg_autodiff and NumPy."""
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        filename = os.path.abspath(frame.f_code.co_filename)
        if not filename.startswith(_SKIP_DIRS) and "<frozen" not in filename:
            return f"{frame.f_code.co_filename}:{frame.f_lineno}"
        frame = frame.f_back
    return "<unknown location>"


_pending: list[TracerConversionError] = []


def remember(err: TracerConversionError) -> TracerConversionError:
    """Keep ``err``: NumPy replaces it by its own ValueError when it happens inside an in-place
    write (``plain[i] = tracer``); the transforms re-raise it from there."""
    _pending[:] = [err]
    return err


def reraise_pending(exc: BaseException) -> None:
    """Raise the conversion error that NumPy's ``exc`` hides, if there is one."""
    if _pending and isinstance(exc, ValueError | TypeError):
        err = _pending.pop()
        raise err from exc


def forget_pending() -> None:
    _pending.clear()
