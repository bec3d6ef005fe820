"""Which of NumPy's public callables a traced value can go through, and the primitives behind them.

NumPy hands a tracer every ufunc and every function that dispatches through
``__array_function__`` in ``numpy``, ``numpy.linalg`` and ``numpy.fft``. Each is *covered* (a
derivative rule), *constant* (integer, boolean or piecewise-constant results pass through as
plain arrays), *no derivative* (listed below with the reason; it raises
``UnsupportedOperationError``) or *missing*. ``python -m wg_autodiff.coverage`` prints the table
the README shows; a test keeps the two equal and checks every covered callable against finite
differences.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from wg_autodiff import numpy_tables as tables
from wg_autodiff.primitives import FAMILIES, RULES

NO_DERIVATIVE: dict[str, str] = {
    "np.unique": "which inputs are equal decides the output's length",
    "np.unique_all": "counts and indices are integers; equal inputs merge",
    "np.unique_counts": "counts are integers; equal inputs merge",
    "np.unique_inverse": "equal inputs merge",
    "np.unique_values": "equal inputs merge",
    "np.union1d": "set operations merge equal values",
    "np.intersect1d": "set operations merge equal values",
    "np.setdiff1d": "set operations merge equal values",
    "np.setxor1d": "set operations merge equal values",
    "np.histogram": "bin edges follow the data range; counts are integers",
    "np.histogram2d": "bin edges follow the data range; counts are integers",
    "np.histogramdd": "bin edges follow the data range; counts are integers",
    "np.histogram_bin_edges": "bin edges follow the data range",
    "np.polydiv": "the quotient's length depends on leading zeros",
    "np.nextafter": "steps of one unit in the last place",
    "np.i0": "needs the Bessel function I1, which NumPy lacks",
    "np.linalg.eig": "eigenvector derivatives are not implemented (as in JAX); np.linalg.eigvals "
    "differentiates the eigenvalues, np.linalg.eigh symmetric/Hermitian matrices",
    "np.save": "writes a file",
    "np.savetxt": "writes a file",
    "np.savez": "writes a file",
    "np.savez_compressed": "writes a file",
}
"""NumPy callables that raise instead of differentiating, with the reason."""


def public_callables() -> dict[str, Any]:
    """``{"np.name": callable}`` for every ufunc and dispatched function NumPy can hand a tracer.

    Examples
    --------
    >>> public_callables()["np.linalg.svd"] is np.linalg.svd
    True
    """
    found: dict[str, Any] = {}
    seen: set[int] = set()
    for prefix, module in (("np", np), ("np.linalg", np.linalg), ("np.fft", np.fft)):
        for name in sorted(dir(module)):
            obj = getattr(module, name)
            dispatched = type(obj).__name__ == "_ArrayFunctionDispatcher"
            if name.startswith("_") or not (isinstance(obj, np.ufunc) or dispatched):
                continue
            if id(obj) not in seen:
                seen.add(id(obj))
                found[f"{prefix}.{name}"] = obj
    return found


def _is_constant(fn: Any) -> bool:
    owner = getattr(fn, "__self__", None)
    return bool(getattr(fn, "constant", False) or getattr(owner, "nondiff", False))


def classify() -> dict[str, str]:
    """``{"np.name": "covered" | "constant" | "no derivative" | "missing"}``.

    Examples
    --------
    >>> c = classify()
    >>> c["np.sin"], c["np.argmax"], c["np.unique"]
    ('covered', 'constant', 'no derivative')
    """
    out = {}
    for name, obj in public_callables().items():
        fn = tables.UFUNCS.get(obj) if isinstance(obj, np.ufunc) else tables.FUNCTIONS.get(obj)
        if fn is not None:
            out[name] = "constant" if _is_constant(fn) else "covered"
        else:
            out[name] = "no derivative" if name in NO_DERIVATIVE else "missing"
    return out


def coverage_table() -> str:
    """The README's coverage section: counts per module, then the constant and no-derivative
    lists (everything else is covered)."""
    cats = classify()
    kinds = ("covered", "constant", "no derivative", "missing")
    lines = ["| module | " + " | ".join(kinds) + " |", "|---" * (len(kinds) + 1) + "|"]
    for module in ("np", "np.linalg", "np.fft"):
        names = [n for n in cats if n.rsplit(".", 1)[0] == module]
        counts = [sum(cats[n] == k for n in names) for k in kinds]
        lines.append(f"| `{module}` | " + " | ".join(str(c) for c in counts) + " |")
    constant = sorted(n for n, k in cats.items() if k == "constant")
    lines += [
        "",
        "Constant (pass through as plain arrays): " + ", ".join(f"`{n}`" for n in constant),
    ]
    lines += ["", "No derivative (raise `UnsupportedOperationError`):", ""]
    lines += [f"* `{n}`: {NO_DERIVATIVE[n]}" for n in sorted(NO_DERIVATIVE)]
    missing = sorted(n for n, k in cats.items() if k == "missing")
    if missing:
        lines += ["", "Missing: " + ", ".join(f"`{n}`" for n in missing)]
    return "\n".join(lines + primitive_lines()) + "\n"


def primitive_lines() -> list[str]:
    """The registry by family: each registered primitive (constant ones in italics).

    Examples
    --------
    >>> [line for line in primitive_lines() if line.startswith("* `linalg`")]
    ['* `linalg` (4): `inv`, `det`, `logabsdet`, `solve`']
    """
    families: dict[str, list[str]] = {}
    for prim, rule in RULES.items():
        families.setdefault(rule.family, []).append(
            f"*`{prim.name}`*" if prim.nondiff else f"`{prim.name}`"
        )
    order = [*FAMILIES, *sorted(set(families) - set(FAMILIES))]
    lines = ["", f"Primitives ({len(RULES)}, one registered rule each), by family:", ""]
    return lines + [f"* `{f}` ({len(families[f])}): " + ", ".join(families[f]) for f in order]


if __name__ == "__main__":
    print(coverage_table(), end="")
