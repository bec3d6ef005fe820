"""The import path of ``wg_autodiff.primitives.arith``, kept for callers not yet moved to it
(``transforms``): the primitives and their rules live in the family module."""

from wg_autodiff.primitives.arith import *  # noqa: F403
