"""Arrays built from traced values and traced writes into arrays the function creates
(``wg_autodiff.construct``): derivatives against central differences (first and second order,
forward and reverse) and JAX, plain results untouched, NumPy restored, threads kept apart."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pytest
import wg_autodiff as ad
from numpy import zeros as bound_zeros  # bound before any trace: never intercepted
from wg_autodiff import construct
from wg_autodiff.buffer import Buffer

X = np.array([0.7, -1.3, 0.4])
ORIGINALS = {name: getattr(np, name) for name in ("array", "asarray", "zeros", "mean", "full")}


def build_array(x: np.ndarray) -> Any:
    return np.sum(np.sin(np.array([x[0], x[1] * 2.0, 3.0, x[2] * x[0]])) ** 2)


def build_nested(x: np.ndarray) -> Any:
    m = np.asarray([[x[0], 1.0], [x[1] ** 2, x[2]]])
    return np.sum(np.exp(m @ m))


def build_asanyarray(x: np.ndarray) -> Any:
    a = np.asanyarray([x[0] ** 2, x[1]])
    return np.sum(np.ascontiguousarray([a, [x[2], 1.0]], dtype=np.float64) ** 3)


def build_r(x: np.ndarray) -> Any:
    return np.sum(np.r_[x, 2.0, x[:2] ** 2] ** 2)


def build_c(x: np.ndarray) -> Any:
    m = np.c_[x, np.cos(x), np.ones(3)]
    return np.sum(m @ m.T)


def mean_of_list(x: np.ndarray) -> Any:
    return np.mean([x[0], x[1] ** 2, 4.0]) * np.sum([x[2], x[0]])


def stack_mixed(x: np.ndarray) -> Any:
    return np.sum(np.stack([x, np.ones(3), x**2]) ** 2) + np.sum(np.stack([x[0], 2.0]) ** 3)


def zeros_writes(x: np.ndarray) -> Any:
    y = np.zeros(4)
    y[3] = 1.5
    for i in range(3):
        y[i] = x[i] ** 2
    return np.sum(y * np.arange(4.0)) + y[3] * y[0]


def empty_writes(x: np.ndarray) -> Any:
    y = np.empty((2, 3))
    y[0] = np.sin(x)
    y[1, :] = x * 2.0
    return np.sum(y**2) + y.sum(axis=0) @ x


def ones_and_full(x: np.ndarray) -> Any:
    a = np.ones(3)
    a[1:] = x[1:] * x[0]
    b = np.full((2, 3), x[2])
    return np.sum(a * b) + np.sum(b.T @ b)


def in_place_ops(x: np.ndarray) -> Any:
    y = np.zeros(3)
    y += x
    y *= 2.0
    np.exp(x, out=(z := np.zeros(3)))
    w = np.zeros(3)
    np.copyto(w, x**2)
    return np.sum(y * z) + np.sum(w)


def buffer_methods(x: np.ndarray) -> Any:
    y = np.zeros((3, 2))
    y[:, 0] = x
    y[:, 1] = x**3
    return y.T.sum() + y.reshape(6).max() + np.linalg.norm(y) + y.copy()[0, 1]


def tracer_left_of_buffer(x: np.ndarray) -> Any:
    y = np.zeros(3)
    y[1] = x[1]
    return np.sum(x * y + (x - y) ** 2) + x @ y + np.sum(np.maximum(x, y)) + np.sum(x / (y + 2.0))


def rotation(x: np.ndarray) -> Any:
    r = np.eye(3)
    c, s = np.cos(x[0]), np.sin(x[0])
    r[0, 0], r[0, 1], r[1, 0], r[1, 1] = c, -s, s, c
    a = np.array([[1.0, 0.5], [0.0, 2.0]])
    a[0, 1] = x[1] * x[2]
    b = np.zeros_like(a)
    b[1] = np.copy(x[:2])
    return np.sum(r @ x) + np.sum(a @ a) + np.sum(b * a)


def simulate(theta: np.ndarray, steps: int = 12, dt: float = 0.05) -> Any:
    """A damped pendulum, integrated into a preallocated trajectory (real-world style)."""
    states = np.zeros((steps + 1, 2))
    states[0] = [theta[0], 0.0]
    for t in range(steps):
        angle, speed = states[t]
        accel = -theta[1] * np.sin(angle) - theta[2] * speed
        states[t + 1] = states[t] + dt * np.array([speed, accel])
    return np.sum(states[:, 0] ** 2) + np.mean(states[-3:, 1])


CASES = [
    build_array,
    build_nested,
    build_asanyarray,
    build_r,
    build_c,
    mean_of_list,
    stack_mixed,
    zeros_writes,
    empty_writes,
    ones_and_full,
    in_place_ops,
    buffer_methods,
    tracer_left_of_buffer,
    rotation,
    simulate,
]


@pytest.mark.parametrize("fn", CASES, ids=lambda f: f.__name__)
def test_derivatives_match_central_differences(fn: Any) -> None:
    ad.check_grads(fn, (X,), order=2, modes=("fwd", "rev"))


@pytest.mark.parametrize("fn", CASES, ids=lambda f: f.__name__)
def test_optimize_and_compile_agree_with_plain_tracing(fn: Any) -> None:
    expected = ad.grad(fn)(X)
    np.testing.assert_allclose(ad.grad(fn, optimize=True)(X), expected, rtol=1e-12)
    np.testing.assert_allclose(ad.grad(fn, optimize=True)(X * 0.5), ad.grad(fn)(X * 0.5))
    np.testing.assert_allclose(ad.compile(fn)(X), fn(X), rtol=1e-12)


def test_second_derivative_of_a_build_through_grad_of_grad() -> None:
    def f(x: float) -> Any:
        y = np.zeros(2)
        y[0] = x**3
        return np.sum(np.array([y[0], x * y[0]]))

    assert ad.grad(ad.grad(f))(2.0) == pytest.approx(6 * 2.0 + 12 * 2.0**2)


def test_jacobians_of_builds_agree_in_both_modes() -> None:
    def f(x: np.ndarray) -> Any:
        out = np.zeros(4)
        out[:3] = np.cumsum(x)
        out[3] = x[0] * x[2]
        return np.array([out[0], out[3] ** 2, np.sum(out)])

    np.testing.assert_allclose(ad.jacrev(f)(X), ad.jacfwd(f)(X), rtol=1e-12)


def test_builds_agree_with_jax() -> None:
    jax = pytest.importorskip("jax", reason="jax is not installed")
    jnp = jax.numpy
    jax.config.update("jax_enable_x64", True)

    def zeros_writes_jax(x: Any) -> Any:
        y = jnp.zeros(4).at[3].set(1.5)
        for i in range(3):
            y = y.at[i].set(x[i] ** 2)
        return jnp.sum(y * jnp.arange(4.0)) + y[3] * y[0]

    def simulate_jax(theta: Any, steps: int = 12, dt: float = 0.05) -> Any:
        states = jnp.zeros((steps + 1, 2)).at[0].set(jnp.array([theta[0], 0.0]))
        for t in range(steps):
            angle, speed = states[t]
            accel = -theta[1] * jnp.sin(angle) - theta[2] * speed
            states = states.at[t + 1].set(states[t] + dt * jnp.array([speed, accel]))
        return jnp.sum(states[:, 0] ** 2) + jnp.mean(states[-3:, 1])

    def build_array_jax(x: Any) -> Any:
        return jnp.sum(jnp.sin(jnp.array([x[0], x[1] * 2.0, 3.0, x[2] * x[0]])) ** 2)

    for ours, theirs in (
        (zeros_writes, zeros_writes_jax),
        (simulate, simulate_jax),
        (build_array, build_array_jax),
    ):
        np.testing.assert_allclose(ad.grad(ours)(X), jax.grad(theirs)(X), rtol=1e-10)
        np.testing.assert_allclose(ad.hessian(ours)(X), jax.hessian(theirs)(X), rtol=1e-9)


def test_plain_arrays_inside_a_trace_keep_numpy_results() -> None:
    seen: dict[str, Any] = {}

    def f(x: np.ndarray) -> Any:
        counts = np.zeros(3)
        counts[1] += 2.0
        seen["float"] = float(counts[1])
        seen["int_zeros"] = np.zeros(2, dtype=int)
        seen["list"] = np.array([1.0, 2.0])
        seen["sum"] = np.sum(np.arange(4.0).reshape(2, 2) @ counts[:2])
        return np.sum(x * counts)

    assert ad.grad(f)(X).tolist() == [0.0, 2.0, 0.0]
    assert seen["float"] == 2.0
    assert type(seen["int_zeros"]) is np.ndarray
    assert isinstance(seen["list"], np.ndarray)
    assert seen["list"].tolist() == [1.0, 2.0]
    assert seen["sum"] == 8.0


def test_outputs_and_aux_are_plain_arrays() -> None:
    def f(x: np.ndarray) -> Any:
        y = np.zeros(3)
        y[0] = x[0]
        return np.sum(y), (y, np.ones(2))

    g, (y, ones) = ad.grad(f, has_aux=True)(X)
    assert g.tolist() == [1.0, 0.0, 0.0]
    assert type(y) is np.ndarray
    assert y.tolist() == [0.7, 0.0, 0.0]
    assert type(ones) is np.ndarray
    assert ones.tolist() == [1.0, 1.0]
    out, tangent = ad.jvp(lambda x: f(x)[1][0], (X,), (np.ones(3),))
    assert type(out) is np.ndarray
    assert tangent.tolist() == [1.0, 0.0, 0.0]


def test_numpy_is_restored_after_an_exception() -> None:
    def f(x: np.ndarray) -> Any:
        np.zeros(2)[0] = x[0]
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        ad.grad(f)(X)
    assert construct.depth() == 0
    assert {name: getattr(np, name) for name in ORIGINALS} == ORIGINALS
    assert type(np.zeros(2)) is np.ndarray


def test_a_thread_building_plain_arrays_is_untouched_while_another_traces() -> None:
    stop = threading.Event()
    failures: list[str] = []

    def plain_worker() -> None:
        while not stop.is_set():
            z = np.zeros(3)
            z[1] = 2.0
            a = np.array([1.0, 2.0])
            if type(z) is not np.ndarray or type(a) is not np.ndarray or z.sum() != 2.0:
                failures.append(f"{type(z)} {type(a)} {z}")

    worker = threading.Thread(target=plain_worker)
    worker.start()
    try:
        expected = ad.grad(simulate)(X)
        for _ in range(30):
            np.testing.assert_allclose(ad.grad(simulate)(X), expected, rtol=1e-13)
    finally:
        stop.set()
        worker.join()
    assert failures == []
    assert construct.depth() == 0
    assert np.zeros is ORIGINALS["zeros"]


def test_concurrent_traces_in_threads_are_correct() -> None:
    results: dict[int, Any] = {}

    def work(i: int) -> None:
        for _ in range(10):
            results[i] = ad.grad(zeros_writes)(X * (i + 1))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i in range(3):
        np.testing.assert_allclose(results[i], ad.grad(zeros_writes)(X * (i + 1)))
    assert np.array is ORIGINALS["array"]


def test_constructor_bound_before_the_call_raises_the_rewrite_hint() -> None:
    def f(x: np.ndarray) -> Any:
        y = bound_zeros(2)
        y[0] = x[0]
        return np.sum(y)

    with pytest.raises(ad.TracerConversionError, match=r"np\.stack\(\[\.\.\.\]\)"):
        ad.grad(f)(X)


GLOBAL = np.array([1.0, 2.0])


def write_into_a_global_through_asarray(x: np.ndarray) -> Any:
    z = np.asarray(GLOBAL)  # GLOBAL itself, as NumPy returns it: not the function's own array
    z[0] = x[0]
    return np.sum(z)


def view_read_after_write(x: np.ndarray) -> Any:
    y = np.zeros((2, 2))
    row = y[0]
    y[0, 0] = x[0]
    return np.sum(row)


def write_into_view(x: np.ndarray) -> Any:
    y = np.zeros((2, 2))
    y[0][1] = x[0]
    return np.sum(y)


def complex_into_real(x: np.ndarray) -> Any:
    y = np.zeros(2)
    y[0] = x[0] * 1j
    return np.sum(y)


@pytest.mark.parametrize(
    ("fn", "message"),
    [
        (view_read_after_write, r"view .* taken before"),
        (write_into_view, r"y\[i, j\] = v"),
        (complex_into_real, r"drops the imaginary part"),
        (write_into_a_global_through_asarray, r"array made before the traced call"),
    ],
    ids=lambda v: getattr(v, "__name__", ""),
)
def test_unsupported_buffer_uses_are_refused(fn: Any, message: str) -> None:
    with pytest.raises(ad.TracerConversionError, match=message):
        ad.grad(fn)(X)
    assert GLOBAL.tolist() == [1.0, 2.0]


def test_an_integer_array_of_traced_values_is_refused() -> None:
    with pytest.raises(ad.TracerConversionError, match=r"np\.array with dtype int64"):
        ad.grad(lambda x: np.sum(np.array([x[0]], dtype=np.int64)))(X)


def test_a_buffer_kept_after_the_call_holds_its_values() -> None:
    captured: list[Any] = []

    def f(x: np.ndarray) -> Any:
        y = np.zeros(2)
        y[1] = x[1]
        captured.append(y)
        assert np.isnan(np.ndarray.view(y, np.ndarray)).all()  # memory is not the value now
        return np.sum(y)

    ad.grad(f)(X)
    (y,) = captured
    assert type(y) is Buffer
    assert y._traced is None
    assert np.ndarray.view(y, np.ndarray).tolist() == [0.0, X[1]]


def test_an_inner_transform_writing_an_outer_array() -> None:
    # the inner grad writes its tracer into an array of the outer call: once the inner call
    # ends, the array holds the value, which the outer trace still follows
    def outer(x: np.ndarray) -> Any:
        y = np.zeros(2)

        def inner(z: np.ndarray) -> Any:
            y[0] = z[0] * x[1]
            return np.sum(y**2)

        return np.sum(ad.grad(inner)(x)) + np.sum(y)

    a, b = X[0], X[1]
    want = [2 * b**2 + b, 4 * a * b + a, 0.0]
    np.testing.assert_allclose(ad.grad(outer)(X), want, rtol=1e-12)
    np.testing.assert_allclose(ad.jacfwd(outer)(X), want, rtol=1e-12)
