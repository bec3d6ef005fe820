"""Bad input gets a clear error that names the operation and the user's line."""

from __future__ import annotations

import re

import numpy as np
import pytest
import wg_autodiff as ad


def _at(marker: str) -> str:
    """A pattern for the ``file:line`` an error must name: the line of this file with ``marker``."""
    with open(__file__, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if marker in line and "_at(" not in line:
                return re.escape(f"{__file__}:{n}")
    raise AssertionError(marker)


def test_uncovered_numpy_function_names_itself_and_the_line() -> None:
    def f(x: np.ndarray) -> np.ndarray:
        return np.sum(np.i0(x))  # uncovered-ufunc

    with pytest.raises(
        ad.UnsupportedOperationError,
        match=rf"np\.i0 has no derivative rule .*{_at('# uncovered-ufunc')}.*custom_vjp",
    ):
        ad.grad(f)(np.ones(3))


def test_value_returning_functions_are_not_silently_constant() -> None:
    with pytest.raises(ad.UnsupportedOperationError, match=r"np\.unique has no derivative"):
        ad.grad(lambda x: np.sum(np.unique(x)))(np.ones(3))


def test_uncovered_array_function_is_reported() -> None:
    with pytest.raises(ad.UnsupportedOperationError, match=r"np\.linalg\.eig has no derivative"):
        ad.grad(lambda x: np.sum(np.abs(np.linalg.eig(x)[1])))(np.eye(2) + np.tri(2))


def test_float_of_a_tracer_is_reported_with_the_line() -> None:
    def f(x: np.ndarray) -> float:
        return float(np.sum(x))  # float-of-tracer

    with pytest.raises(ad.TracerConversionError, match=rf"float\(\) .*{_at('# float-of-tracer')}"):
        ad.grad(f)(np.ones(2))


def test_writing_a_tracer_into_a_plain_array_is_reported() -> None:
    # an array made inside the call is traced once written (test_construct); one made before
    # the call is NumPy's own and cannot hold a tracer
    out = np.zeros(2)

    def f(x: np.ndarray) -> np.ndarray:
        out[0] = x[0]  # inplace-write
        return np.sum(out)

    with pytest.raises(ad.TracerConversionError, match=_at("# inplace-write")):
        ad.grad(f)(np.ones(2))


def test_out_argument_is_an_inplace_write() -> None:
    buf = np.zeros(2)

    def f(x: np.ndarray) -> np.ndarray:
        np.exp(x, out=buf)
        return np.sum(buf)

    with pytest.raises(ad.UnsupportedOperationError, match=r"out=\.\.\."):
        ad.grad(f)(np.ones(2))


def test_string_argument_is_rejected() -> None:
    with pytest.raises(ad.InputError, match=r"is a str, which cannot be differentiated"):
        ad.grad(lambda s: s)("x")


def test_object_array_is_rejected() -> None:
    with pytest.raises(ad.InputError, match=r"dtype object"):
        ad.grad(lambda a: np.sum(a))(np.array([1.0, None]))


def test_integer_only_argument_is_rejected() -> None:
    with pytest.raises(ad.InputError, match=r"only integer/boolean values .*astype\(float\)"):
        ad.grad(lambda n: np.sum(n * 2.0))(np.arange(3))


def test_integer_output_is_rejected() -> None:
    with pytest.raises(ad.InputError, match=r"integer-only function"):
        ad.grad(lambda x: np.argmax(x))(np.ones(3))


def test_non_scalar_output_of_grad_is_rejected() -> None:
    with pytest.raises(ad.InputError, match=r"scalar output, got shape \(3,\)"):
        ad.grad(np.sin)(np.ones(3))


def test_tangent_shape_mismatch_is_reported() -> None:
    with pytest.raises(
        ad.InputError,
        match=r"tangent leaf 0 has shape \(2,\) but its primal "
        r"has shape \(3,\)",
    ):
        ad.jvp(np.sin, (np.ones(3),), (np.ones(2),))


def test_cotangent_shape_mismatch_is_reported() -> None:
    _, pullback = ad.vjp(np.sin, np.ones(3))
    with pytest.raises(ad.InputError, match=r"cotangent leaf 0 has shape \(4,\)"):
        pullback(np.ones(4))


def test_bad_argnums_is_reported() -> None:
    with pytest.raises(ad.InputError, match=r"argnums=3 names argument 3"):
        ad.grad(lambda x: x, argnums=3)(1.0)


def test_custom_vjp_without_rule_is_reported() -> None:
    @ad.custom_vjp
    def f(x: np.ndarray) -> np.ndarray:
        return x

    with pytest.raises(ad.InputError, match=r"call f\.defvjp\(fwd, bwd\)"):
        ad.grad(lambda x: np.sum(f(x)))(np.ones(2))


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: np.max(x, initial=5.0),
        lambda x: np.sum(x, where=x > 1),
        lambda x: np.mean(x, where=x > 1),
        lambda x: np.std(x, where=x > 1),
    ],
    ids=["max-initial", "sum-where", "mean-where", "std-where"],
)
def test_value_changing_reduction_options_are_reported(fn: object) -> None:
    with pytest.raises(ad.UnsupportedOperationError, match=r"with (initial|where)="):
        ad.grad(fn)(np.array([1.0, 2.0]))  # type: ignore[arg-type]
