"""The import path of ``wg_autodiff.primitives.unary``, kept for callers not yet moved to it
(``lowering/``, ``transforms``): the primitives and their rules live in the family module."""

from wg_autodiff.primitives.unary import *  # noqa: F403
