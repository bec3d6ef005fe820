"""Conformance over NumPy's public API: every callable a tracer can meet is covered by a rule
that the spec table checks against finite differences, a constant, or listed as having no
derivative; the README's coverage table is the one the registry gives."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from wg_autodiff import core, coverage, primitives
from wg_autodiff import numpy_tables as tables
from wg_autodiff.core import Primitive
from wg_autodiff.primitives import RULES, register

sys.path.insert(0, str(Path(__file__).parent))
import test_rules

README = Path(__file__).resolve().parents[1] / "README.md"
FAMILIES = {*primitives.FAMILIES, "custom", "staging", "numpy_api"}
"""Where primitives are registered: the family modules, and the modules with internal ones."""


def test_no_numpy_callable_is_missing() -> None:
    missing = sorted(n for n, k in coverage.classify().items() if k == "missing")
    assert missing == []


def test_no_derivative_list_names_only_numpy_callables_without_rules() -> None:
    cats = coverage.classify()
    assert {n: cats.get(n) for n in coverage.NO_DERIVATIVE} == dict.fromkeys(
        coverage.NO_DERIVATIVE, "no derivative"
    )


def test_readme_coverage_table_is_up_to_date() -> None:
    text = README.read_text()
    start, end = "<!-- coverage:start -->\n", "<!-- coverage:end -->"
    section = text[text.index(start) + len(start) : text.index(end)]
    assert section == coverage.coverage_table(), (
        "README.md's coverage table is out of date: replace it with the output of "
        "`python -m wg_autodiff.coverage`"
    )


class _Recording(dict):  # type: ignore[type-arg]
    def __init__(self, table: dict[Any, Any], seen: set[Any]) -> None:
        super().__init__(table)
        self.seen = seen

    def get(self, key: Any, default: Any = None) -> Any:
        if key in self:
            self.seen.add(key)
        return super().get(key, default)


def _draw(spec: Any, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    def one(shape: tuple[int, ...]) -> np.ndarray:
        n = int(np.prod(shape)) * (2 if spec.complex else 1)
        v = test_rules._spread(spec, rng.uniform(spec.lo, spec.hi, n))
        return test_rules._from_parts(v, spec.complex).reshape(shape)

    return tuple(one(s) for s in spec.shapes)


def test_every_covered_callable_is_checked_against_finite_differences(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    categories = coverage.classify()
    seen: set[Any] = set()
    monkeypatch.setattr(tables, "FUNCTIONS", _Recording(tables.FUNCTIONS, seen))
    monkeypatch.setattr(tables, "UFUNCS", _Recording(tables.UFUNCS, seen))
    for spec in test_rules.SPECS:
        rng = np.random.default_rng(3)
        test_rules.check_first_order(spec.fn, _draw(spec, rng), rng)
    callables = coverage.public_callables()
    unchecked = sorted(
        n for n, k in categories.items() if k == "covered" and callables[n] not in seen
    )
    assert unchecked == [], " ".join(unchecked)


def test_every_registered_rule_runs_in_the_finite_difference_checks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each differentiable primitive of the registry is pulled back by some spec of the
    table (the fused ones are bound directly in test_rules; the custom-rule primitives, whose
    rules call the user's, in test_transforms)."""
    seen: set[Primitive] = set()
    backward = core.ReverseTrace.backward

    def recording(self: core.ReverseTrace, *args: Any, **kwargs: Any) -> None:
        seen.update(node.prim for node in self.tape if node.prim is not None)
        backward(self, *args, **kwargs)

    monkeypatch.setattr(core.ReverseTrace, "backward", recording)
    for spec in test_rules.SPECS:
        rng = np.random.default_rng(3)
        test_rules.check_first_order(spec.fn, _draw(spec, rng), rng)
    unchecked = sorted(
        r.name
        for p, r in RULES.items()
        if not p.nondiff
        and p not in seen
        and r.family != "custom"
        and r.name not in test_rules.FUSED
    )
    assert unchecked == [], " ".join(unchecked)


def test_registry_has_one_rule_per_primitive_with_its_tables() -> None:
    for prim, rule in RULES.items():
        assert rule.prim is prim
        assert rule.family in FAMILIES, rule.family
        assert (prim in core.vjp_rules) == (rule.vjp is not None)
        assert (prim in core.numpy_vjp) == (rule.numpy_vjp is not None)
    with pytest.raises(ValueError, match="registered twice"):
        register(next(iter(RULES.values())))
