"""np.einsum's subscript forms (explicit, implicit, '...', repeated indices, sublists) against
NumPy's own values, with derivatives against central differences (property-based)."""

from __future__ import annotations

from typing import Any

import numpy as np
import wg_autodiff as ad
from hypothesis import given, settings
from hypothesis import strategies as st

SIZES = {"i": 2, "j": 3, "k": 2, "l": 4}


@st.composite
def einsum_cases(draw: Any) -> tuple[str, tuple[np.ndarray, ...]]:
    n_ops = draw(st.integers(1, 3))
    batch = draw(st.integers(0, 2))  # axes under '...'
    specs, ops = [], []
    for _ in range(n_ops):
        letters = draw(st.lists(st.sampled_from("ijkl"), min_size=0, max_size=3))
        ellipsis = draw(st.booleans()) and batch > 0
        spec = ("..." if ellipsis else "") + "".join(letters)
        shape = ((2,) * batch if ellipsis else ()) + tuple(SIZES[c] for c in letters)
        specs.append(spec)
        ops.append(np.random.default_rng(len(specs)).standard_normal(shape))
    used = sorted(set("".join(specs).replace(".", "")))
    if draw(st.booleans()):
        out = draw(st.lists(st.sampled_from(used), unique=True)) if used else []
        lead = "..." if any("..." in s for s in specs) else ""  # NumPy requires it
        return ",".join(specs) + "->" + lead + "".join(out), tuple(ops)
    return ",".join(specs), tuple(ops)


@settings(max_examples=40, deadline=None)
@given(einsum_cases())
def test_einsum_forms_match_numpy_and_finite_differences(case: Any) -> None:
    subscripts, ops = case
    want = np.einsum(subscripts, *ops)
    out, _ = ad.vjp(lambda *o: np.einsum(subscripts, *o), *ops)
    np.testing.assert_allclose(out, want, rtol=1e-12, atol=1e-12)
    ad.check_grads(lambda *o: np.einsum(subscripts, *o), ops, order=1)


def test_sublist_form_matches_numpy() -> None:
    a = np.arange(6.0).reshape(2, 3)
    b = np.arange(12.0).reshape(3, 2, 2)
    f = lambda a, b: np.einsum(a, [0, 1], b, [1, Ellipsis], [0, Ellipsis])  # noqa: E731
    np.testing.assert_array_equal(ad.vjp(f, a, b)[0], f(a, b))
    ad.check_grads(f, (a, b), order=2)
