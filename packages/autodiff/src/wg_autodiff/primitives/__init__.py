"""The primitives and their derivative rules, one module per family, in dependency order.

Each family module defines its primitives and registers one
:class:`~wg_autodiff.primitives.registry.Rule` per primitive with
:func:`~wg_autodiff.primitives.registry.register`; :data:`~wg_autodiff.primitives.registry.RULES`
holds them all once this package is imported.
"""

from wg_autodiff.primitives import arith, unary  # noqa: I001  (dependency order, not sorted)
from wg_autodiff.primitives import array, complex, linalg, decomp, fft
from wg_autodiff.primitives.registry import RULES, Rule, register

FAMILIES = ("arith", "unary", "array", "complex", "linalg", "decomp", "fft")
"""The family modules, in the order they are imported (each uses only those before it)."""

__all__ = [
    "FAMILIES",
    "RULES",
    "Rule",
    "arith",
    "array",
    "complex",
    "decomp",
    "fft",
    "linalg",
    "register",
    "unary",
]
