"""Issue 13's silently wrong derivatives, each with the test that would have caught it.

Reference values come from JAX (float64) and autograd where they define the answer.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import wg_autodiff as ad
from wg_autodiff.core import Tracer

Z = np.array([1 + 2j, 3 - 1j])


@pytest.fixture(scope="module")
def jnp() -> Any:
    jax = pytest.importorskip("jax", reason="jax is not installed")
    jax.config.update("jax_enable_x64", True)
    import jax.numpy

    return jax.numpy


def test_complex_values_keep_their_imaginary_part() -> None:
    out, _ = ad.vjp(lambda z: np.sum(np.conj(z) * z), Z)
    assert out == 15.0 + 0.0j


def test_complex_gradient_is_the_conjugate_wirtinger_derivative(jnp: Any) -> None:
    import jax

    def f(z: Any) -> Any:
        return np.sum(np.abs(z) ** 2 + np.real(z * np.conj(z[::-1])))

    want = np.asarray(
        jax.grad(lambda z: jnp.sum(jnp.abs(z) ** 2 + jnp.real(z * jnp.conj(z[::-1]))))(Z)
    )
    got = ad.grad(f)(Z)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    np.testing.assert_allclose(got, 2 * np.conj(Z) + 2 * np.conj(Z[::-1]), rtol=1e-12)


def test_complex_abs_derivative_matches_jax(jnp: Any) -> None:
    import jax

    g = ad.grad(lambda z: np.sum(np.abs(np.exp(z) * z)))(Z)
    want = jax.grad(lambda z: jnp.sum(jnp.abs(jnp.exp(z) * z)))(Z)
    np.testing.assert_allclose(g, np.asarray(want), rtol=1e-12)


def test_python_complex_scalar_is_an_input() -> None:
    assert ad.grad(lambda z: np.abs(z) ** 2)(3 + 4j) == pytest.approx(6 - 8j)


def test_holomorphic_jacobians_match_jax(jnp: Any) -> None:
    import jax

    z = np.array([0.5 + 1j, -1 + 0.25j])
    want = np.asarray(jax.jacfwd(lambda z: jnp.sin(z) * z[::-1], holomorphic=True)(z))
    f = lambda z: np.sin(z) * z[::-1]  # noqa: E731
    np.testing.assert_allclose(ad.jacfwd(f, holomorphic=True)(z), want, rtol=1e-12)
    np.testing.assert_allclose(ad.jacrev(f, holomorphic=True)(z), want, rtol=1e-12)


def test_complex_output_of_grad_is_refused() -> None:
    with pytest.raises(ad.InputError, match=r"grad needs a real-valued output, got complex128"):
        ad.grad(lambda z: np.sum(z * z))(Z)
    with pytest.raises(ad.InputError, match=r"jacfwd with holomorphic=False needs real inputs"):
        ad.jacfwd(lambda z: z * z)(Z)


def test_astype_float_of_complex_raises() -> None:
    with pytest.raises(ad.UnsupportedOperationError, match=r"drops the imaginary part"):
        ad.grad(lambda z: np.sum(z.astype(np.float64)))(Z)


def _write_into_copy(a: Any) -> Any:
    a = a.copy()
    a[1] = a[0] * 2
    return a


def _write_into_input(a: Any) -> Any:
    b = np.copy(a)
    a[0] = 5.0
    return a + b


@pytest.mark.parametrize("f", [_write_into_copy, _write_into_input])
def test_writes_into_traced_arrays_agree_in_both_modes(f: Any) -> None:
    x = np.array([1.0, 2.0, 3.0])
    want = np.array([[1.0, 0, 0], [2, 0, 0], [0, 0, 1]])
    if f is _write_into_input:
        want = np.array([[1.0, 0, 0], [0, 2, 0], [0, 0, 2]])
    np.testing.assert_array_equal(ad.jacrev(f)(x), want)
    np.testing.assert_array_equal(ad.jacfwd(f)(x), want)
    ad.check_grads(f, (x,), order=2)


def test_aux_is_a_plain_array() -> None:
    _, aux = ad.grad(lambda x: (np.sum(x**2), {"double": x * 2}), has_aux=True)(np.ones(2))
    assert type(aux["double"]) is np.ndarray
    np.testing.assert_array_equal(aux["double"], [2.0, 2.0])
    (val, aux2), _ = ad.value_and_grad(lambda x: (np.sum(x), x), has_aux=True)(np.ones(2))
    _, _, aux3 = ad.vjp(lambda x: (x, x), np.ones(2), has_aux=True)
    assert not any(type(a) is Tracer for a in (val, aux2, aux3))


def test_std_and_var_of_one_element_have_derivative_zero() -> None:
    autograd_np = pytest.importorskip("autograd.numpy")
    import autograd

    x = np.array([2.0])
    for name in ("std", "var"):
        want = autograd.grad(lambda x, n=name: getattr(autograd_np, n)(x))(x)
        got = ad.grad(lambda x, n=name: getattr(np, n)(x))(x)
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(got, [0.0])
    np.testing.assert_array_equal(ad.hessian(np.std)(x), [[0.0]])


def test_power_zero_at_zero_is_constant(jnp: Any) -> None:
    import jax

    # x ** 0 is the constant 1, so its derivative is 0 even at 0 (JAX gives nan there)
    assert ad.grad(lambda x: x**0.0)(0.0) == 0.0
    np.testing.assert_array_equal(ad.grad(lambda x: np.sum(x**0.0))(np.zeros(2)), [0.0, 0.0])
    y = np.array([0.0, 2.0])
    got = ad.grad(lambda x, y: np.sum(x**y), argnums=(0, 1))(np.zeros(2), y)
    want = jax.grad(lambda x, y: jnp.sum(x**y), argnums=(0, 1))(np.zeros(2), y)
    np.testing.assert_array_equal(got[0], [0.0, 0.0])
    np.testing.assert_array_equal(got[1], np.asarray(want[1]))


def test_inner_of_scalars_and_hstack_of_one_array() -> None:
    assert ad.grad(lambda x: np.inner(x, 3.0))(2.0) == 3.0
    np.testing.assert_array_equal(ad.jacrev(np.hstack)(np.ones(2)), np.eye(2))


def test_prod_and_cumprod_at_zeros_match_jax(jnp: Any) -> None:
    import jax

    x = np.array([[0.0, 2.0, 3.0], [0.0, 0.0, 5.0]])
    got = ad.grad(lambda x: np.sum(np.prod(x, axis=1)) + np.sum(np.cumprod(x, axis=1)))(x)
    want = jax.grad(lambda x: jnp.sum(jnp.prod(x, axis=1)) + jnp.sum(jnp.cumprod(x, axis=1)))(x)
    np.testing.assert_allclose(got, np.asarray(want), rtol=1e-12)
    h = ad.hessian(np.prod)(np.array([0.0, 2.0, 3.0]))
    np.testing.assert_allclose(h, np.asarray(jax.hessian(jnp.prod)(np.array([0.0, 2.0, 3.0]))))
    fast = ad.grad(lambda x: np.prod(x), optimize=True)
    np.testing.assert_array_equal(fast(np.array([1.0, 2.0, 3.0])), [6.0, 3.0, 2.0])
    np.testing.assert_array_equal(fast(np.array([0.0, 2.0, 3.0])), [6.0, 0.0, 0.0])


def test_writes_into_zeros_like_follow_the_derivative() -> None:
    def simulate(x: Any) -> Any:
        y = np.zeros_like(x)
        for i in range(len(x)):
            y[i] = x[i] ** 2 + (y[i - 1] if i else 0.0)
        return y

    x = np.array([1.0, 2.0, 3.0])
    want = np.tril(np.broadcast_to(2 * x, (3, 3)))
    np.testing.assert_array_equal(ad.jacrev(simulate)(x), want)
    np.testing.assert_array_equal(ad.jacfwd(simulate)(x), want)
    ad.check_grads(simulate, (x,), order=2)


# bound before any trace: NumPy's own functions, which wg_autodiff.construct cannot intercept
_ARRAY, _ASARRAY, _ZEROS = np.array, np.asarray, np.zeros


@pytest.mark.parametrize(
    "build",
    [
        lambda x: _ARRAY([x[0], x[1] * 2]),
        lambda x: _ASARRAY([x[0], 1.0]),
    ],
)
def test_arrays_built_from_traced_values_say_how_to_rewrite(build: Any) -> None:
    with pytest.raises(
        ad.TracerConversionError, match=r"use np\.stack|with np\.stack\(\[\.\.\.\]\)"
    ):
        ad.grad(lambda x: np.sum(build(x)))(np.ones(2))


def test_writes_into_np_zeros_say_how_to_rewrite() -> None:
    def f(x: Any) -> Any:
        y = _ZEROS(2)
        y[0] = x[0]
        return np.sum(y)

    with pytest.raises(ad.TracerConversionError, match=r"np\.zeros_like\(x\) of a traced x"):
        ad.grad(f)(np.ones(2))


def test_clip_of_a_python_float_under_optimize() -> None:
    # the mask of a comparison with a Python float had no dtype to convert to while staging
    x = np.array([0.5, 2.0, -3.0])
    g = ad.grad(lambda x: np.sum(np.clip(x, -1.0, 1.0) ** 2), optimize=True)
    np.testing.assert_array_equal(g(x), [1.0, 0.0, 0.0])
    np.testing.assert_array_equal(
        ad.grad(lambda v: np.maximum(v, 0.0) * 2.0, optimize=True)(3.0), 2.0
    )


def test_real_values_meeting_made_complex_values_get_real_gradients(jnp: Any) -> None:
    import jax

    x = np.array([0.3, -1.2, 2.0, 0.7])

    def f(x: Any, xp: Any) -> Any:
        spectrum = xp.fft.fft(x) * x  # a real value meets one made complex by fft
        return xp.sum(xp.abs(spectrum) ** 2 + xp.real(x.astype(complex) * 1j * spectrum))

    got = ad.grad(lambda x: f(x, np))(x)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, np.asarray(jax.grad(lambda x: f(x, jnp))(x)), rtol=1e-12)


def test_more_ndarray_methods_follow_the_derivative() -> None:
    def f(x: Any) -> Any:
        y = x.copy()
        y.sort()
        _, r = divmod(x + 5.0, 0.7071)
        return y.cumprod() * x.repeat(2)[::2] + x.compress([True, False, True, True]).sum() + r

    x = np.array([0.3, -1.2, 2.0, 0.7])
    ad.check_grads(f, (x,), order=2)
    np.testing.assert_allclose(ad.jacrev(f)(x), ad.jacfwd(f)(x), rtol=1e-12)
