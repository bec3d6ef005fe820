"""The public transforms: values, pytrees, composition, custom rules, staging, optimize."""

from __future__ import annotations

import numpy as np
import pytest
import wg_autodiff as ad
from wg_autodiff.primitives.array import logsumexp_p
from wg_autodiff.simplify import simplify
from wg_autodiff.staging import GuardError


def quartic(x: np.ndarray) -> np.ndarray:
    return np.sum(x**4) / 4.0


X = np.array([1.0, -2.0, 0.5])


def test_grad_of_quartic_is_cube() -> None:
    np.testing.assert_allclose(ad.grad(quartic)(X), X**3)


def test_grad_of_grad_composes() -> None:
    assert ad.grad(ad.grad(lambda x: x**4))(2.0) == pytest.approx(48.0)
    assert ad.grad(ad.grad(ad.grad(lambda x: np.sin(x))))(0.3) == pytest.approx(-np.cos(0.3))


def test_hessian_jacfwd_of_jacrev_and_hvp_agree() -> None:
    h = ad.hessian(quartic)(X)
    np.testing.assert_allclose(h, np.diag(3 * X**2))
    v = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(ad.hvp(quartic, (X,), (v,)), h @ v)
    np.testing.assert_allclose(ad.jacfwd(ad.grad(quartic))(X), ad.jacrev(ad.grad(quartic))(X))


def test_jacobians_have_output_then_input_axes() -> None:
    a = np.arange(6.0).reshape(2, 3)
    j = ad.jacrev(lambda x: a @ x)(X)
    assert j.shape == (2, 3)
    np.testing.assert_allclose(j, a)
    np.testing.assert_allclose(ad.jacfwd(lambda x: a @ x)(X), a)


def test_pytree_arguments_and_argnums() -> None:
    def loss(params: dict, x: np.ndarray, scale: float) -> np.ndarray:
        w, (b,) = params["w"], params["b"]
        return scale * np.sum((x @ w + b) ** 2)

    params = {"w": np.ones((3, 2)), "b": [np.zeros(2)]}
    g = ad.grad(loss)(params, np.eye(3), 2.0)
    assert set(g) == {"w", "b"}
    np.testing.assert_allclose(g["w"], 4.0 * np.ones((3, 2)))
    np.testing.assert_allclose(g["b"][0], 12.0 * np.ones(2))
    gx, gs = ad.grad(loss, argnums=(1, 2))(params, np.eye(3), 2.0)
    assert gx.shape == (3, 3)
    assert gs == pytest.approx(6.0)


def test_value_and_grad_with_aux() -> None:
    (value, aux), g = ad.value_and_grad(lambda x: (np.sum(x**2), x.shape), has_aux=True)(X)
    assert value == pytest.approx(np.sum(X**2))
    assert aux == (3,)
    np.testing.assert_allclose(g, 2 * X)


def test_vjp_and_jvp_with_pytree_outputs() -> None:
    def f(x: np.ndarray) -> tuple:
        return np.sin(x), {"s": np.sum(x)}

    _, pullback = ad.vjp(f, X)
    (g,) = pullback((np.ones(3), {"s": 2.0}))
    np.testing.assert_allclose(g, np.cos(X) + 2.0)
    _, tangents = ad.jvp(f, (X,), (np.ones(3),))
    np.testing.assert_allclose(tangents[0], np.cos(X))
    assert tangents[1]["s"] == pytest.approx(3.0)


def test_linearize_matches_jvp() -> None:
    out, f_jvp = ad.linearize(np.exp, X)
    np.testing.assert_allclose(out, np.exp(X))
    np.testing.assert_allclose(f_jvp(np.ones(3)), np.exp(X))


def test_inactive_arguments_cost_no_tape() -> None:
    from wg_autodiff import core

    seen = []
    original = core.ReverseTrace.process

    def spy(self, prim, args, params):  # type: ignore[no-untyped-def]
        seen.append(prim.name)
        return original(self, prim, args, params)

    core.ReverseTrace.process = spy  # type: ignore[method-assign]
    try:
        ad.grad(lambda w, c: np.sum(w * np.exp(np.cos(c))), argnums=0)(X, X)
    finally:
        core.ReverseTrace.process = original  # type: ignore[method-assign]
    assert seen == ["multiply", "sum"]


def test_control_flow_on_values_works_in_eager_mode() -> None:
    def relu_sum(x: np.ndarray) -> np.ndarray:
        if np.sum(x) > 0:
            return np.sum(np.maximum(x, 0.0))
        return np.sum(x * 0.5)

    np.testing.assert_allclose(ad.grad(relu_sum)(np.array([1.0, -2.0, 3.0])), [1.0, 0.0, 1.0])
    np.testing.assert_allclose(ad.grad(relu_sum)(-X - 3), [0.5, 0.5, 0.5])


def test_stop_gradient_blocks_the_derivative() -> None:
    assert ad.grad(lambda x: x * ad.stop_gradient(x**2))(3.0) == pytest.approx(9.0)


def test_custom_vjp_rule_is_used_and_composes_with_jvp() -> None:
    @ad.custom_vjp
    def f(x: np.ndarray) -> np.ndarray:
        return np.sin(x)

    f.defvjp(lambda x: (np.sin(x), np.cos(x)), lambda cos_x, g: (100.0 * g * cos_x,))
    np.testing.assert_allclose(ad.grad(lambda x: np.sum(f(x)))(X), 100.0 * np.cos(X))
    np.testing.assert_allclose(ad.jvp(f, (X,), (np.ones(3),))[1], np.cos(X))


def test_custom_jvp_rule_in_both_modes() -> None:
    @ad.custom_jvp
    def f(x: np.ndarray) -> np.ndarray:
        return np.exp(x)

    @f.defjvp
    def _(primals: tuple, tangents: tuple) -> tuple:
        return np.exp(primals[0]), 3.0 * tangents[0]

    np.testing.assert_allclose(ad.jvp(f, (X,), (np.ones(3),))[1], 3.0 * np.ones(3))
    np.testing.assert_allclose(ad.grad(lambda x: np.sum(f(x)))(X), 3.0 * np.ones(3))


def test_checkpoint_gives_the_same_gradient_with_pytree_outputs() -> None:
    @ad.checkpoint
    def block(w: np.ndarray, state: tuple) -> tuple:
        h, c = state
        return np.tanh(w * h + c), np.sin(c) * w

    def loss(w: np.ndarray) -> np.ndarray:
        state = (np.ones(3), np.zeros(3))
        for _ in range(4):
            state = block(w, state)
        return np.sum(state[0] * state[1])

    def plain(w: np.ndarray) -> np.ndarray:
        state = (np.ones(3), np.zeros(3))
        for _ in range(4):
            h, c = state
            state = (np.tanh(w * h + c), np.sin(c) * w)
        return np.sum(state[0] * state[1])

    np.testing.assert_allclose(ad.grad(loss)(X), ad.grad(plain)(X))
    pullback = ad.vjp(loss, X)[1]
    np.testing.assert_allclose(pullback(1.0)[0], pullback(1.0)[0])
    ad.check_grads(loss, (X,), order=2)


def test_make_trace_prints_a_program() -> None:
    prog = ad.make_trace(lambda x, y: np.sum(np.exp(x) * y))(X, 2.0)
    text = repr(prog)
    assert text.splitlines()[0] == "{ lambda a:f64[3], b:f64[] ."
    assert "c:f64[3] = exp a" in text
    np.testing.assert_allclose(prog(X, 2.0), np.sum(np.exp(X) * 2.0))


def test_simplify_fuses_logsumexp_and_removes_log_exp() -> None:
    def f(x: np.ndarray) -> np.ndarray:
        m = np.max(x, axis=1, keepdims=True)
        lse = np.log(np.sum(np.exp(x - m), axis=1, keepdims=True)) + m
        return np.sum(lse) + np.sum(np.log(np.exp(x)))

    x = np.arange(6.0).reshape(2, 3)
    prog = simplify(ad.make_trace(f)(x))
    names = [e.prim.name for e in prog.eqns]
    assert logsumexp_p.name in names
    assert "log" not in names
    assert prog(x) == pytest.approx(f(x))


def test_simplify_eliminates_common_subexpressions_and_dead_code() -> None:
    def f(x: np.ndarray) -> np.ndarray:
        unused = np.cos(x)  # noqa: F841
        return np.sum(np.sin(x[1:]) + np.sin(x[1:]))

    names = [e.prim.name for e in simplify(ad.make_trace(f)(X)).eqns]
    assert names == ["getitem", "sin", "add", "sum"]


@pytest.mark.parametrize(
    ("pieces", "fused"),
    [((slice(None, 2), slice(2, None)), True), ((slice(None, 3), slice(2, None)), False)],
)
def test_simplify_turns_tiling_scatter_adds_into_one_concatenate(
    pieces: tuple[slice, slice], fused: bool
) -> None:
    def f(x: np.ndarray) -> np.ndarray:
        return np.sum(np.sin(x[:, pieces[0]])) + np.sum(np.exp(x[:, pieces[1]]) * 2.0)

    x = np.arange(15.0).reshape(3, 5) / 10.0
    prog = simplify(ad.make_trace(ad.grad(f))(x))
    names = [e.prim.name for e in prog.eqns]
    assert ("scatter_add" not in names) is fused
    assert ("concatenate" in names) is fused
    np.testing.assert_allclose(prog(x), ad.grad(f)(x), rtol=1e-14)
    np.testing.assert_allclose(ad.grad(f, optimize=True)(x), ad.grad(f)(x), rtol=1e-14)


def test_optimize_matches_eager_and_reuses_the_trace() -> None:
    calls = []

    def f(w: np.ndarray, x: np.ndarray) -> np.ndarray:
        calls.append(1)
        return np.sum(np.log(np.exp(x @ w)) ** 2)

    w, x = np.ones(3), np.arange(6.0).reshape(2, 3)
    g_opt = ad.grad(f, optimize=True)
    np.testing.assert_allclose(g_opt(w, x), ad.grad(f)(w, x))
    traced = len(calls)
    np.testing.assert_allclose(g_opt(2 * w, x), ad.grad(f)(2 * w, x))
    assert len(calls) == traced + 1  # only the eager call ran f's Python code again


def test_optimize_retraces_when_a_branch_changes() -> None:
    def f(x: np.ndarray) -> np.ndarray:
        return np.sum(x**2) if np.sum(x) > 0 else np.sum(np.sin(x))

    g = ad.grad(f, optimize=True)
    np.testing.assert_allclose(g(np.ones(3)), 2 * np.ones(3))
    np.testing.assert_allclose(g(-np.ones(3)), np.cos(-np.ones(3)))
    np.testing.assert_allclose(g(np.ones(3)), 2 * np.ones(3))


def test_replaying_a_program_checks_its_guards() -> None:
    prog = ad.make_trace(lambda x: x * 2.0 if np.sum(x) > 0 else x)(X + 5)
    with pytest.raises(GuardError):
        prog(-X - 5)


def test_check_grads_detects_a_wrong_rule() -> None:
    @ad.custom_vjp
    def f(x: np.ndarray) -> np.ndarray:
        return x**2

    f.defvjp(lambda x: (x**2, x), lambda x, g: (3.0 * g * x,))
    with pytest.raises(AssertionError, match="reverse mode"):
        ad.check_grads(f, (X,), order=1, modes=("rev",))


def test_setitem_on_a_traced_array_is_a_functional_update() -> None:
    def f(x: np.ndarray) -> np.ndarray:
        y = x * 1.0
        y[0] = 10.0 * x[1]
        return np.sum(y**2)

    g = ad.grad(f)(X)
    np.testing.assert_allclose(g, [0.0, 2 * X[1] + 200 * X[1], 2 * X[2]])


def test_compile_stages_a_whole_hessian_vector_product() -> None:
    def f(x: np.ndarray) -> np.ndarray:
        return np.sum(np.exp(x) * x**2)

    fast = ad.compile(lambda x, v: ad.hvp(f, (x,), (v,)))
    v = np.array([1.0, 0.0, 2.0])
    np.testing.assert_allclose(fast(X, v), ad.hvp(f, (X,), (v,)))
    np.testing.assert_allclose(fast(2 * X, v), ad.hvp(f, (2 * X,), (v,)))
    assert len(next(iter(fast.cache.values()))) == 1


def test_optimized_grad_inside_another_transform_runs_eagerly() -> None:
    g = ad.grad(lambda x: np.sum(np.sin(x) ** 2), optimize=True)
    h = ad.jacfwd(g)(X)
    np.testing.assert_allclose(h, ad.hessian(lambda x: np.sum(np.sin(x) ** 2))(X))


def test_optimize_with_float_arguments_aux_and_argnums_order() -> None:
    def f(x: np.ndarray, s: float, w: np.ndarray) -> tuple:
        y = np.sum(np.exp(x * s) * w) + np.sum(s)
        return y, {"n": x.shape[0]}

    args = (X, 0.5, np.array([1.0, 2.0, 3.0]))
    want = ad.value_and_grad(f, argnums=(2, 0, 1), has_aux=True)(*args)
    got = ad.value_and_grad(f, argnums=(2, 0, 1), has_aux=True, optimize=True)(*args)
    assert got[0][1] == {"n": 3}
    assert got[0][0] == pytest.approx(want[0][0])
    for g, w in zip(got[1], want[1], strict=True):
        np.testing.assert_allclose(g, w)


def test_optimize_guards_values_that_become_indices() -> None:
    def f(x: np.ndarray) -> np.ndarray:
        return x[np.argmax(x)] ** 2

    g = ad.grad(f, optimize=True)
    np.testing.assert_allclose(g(np.array([1.0, 3.0, 2.0])), [0.0, 6.0, 0.0])
    np.testing.assert_allclose(g(np.array([5.0, 3.0, 2.0])), [10.0, 0.0, 0.0])


def test_replay_split_into_many_generated_functions(monkeypatch: pytest.MonkeyPatch) -> None:
    from wg_autodiff import replay

    monkeypatch.setattr(replay, "CHUNK", 3)

    def f(w: np.ndarray, x: np.ndarray) -> np.ndarray:
        h = np.tanh(x @ w)
        return np.sum(h * h) + np.sum(np.exp(w) * w) + np.sum(h)

    w, x = np.array([0.1, -0.2, 0.3]), np.arange(6.0).reshape(2, 3) / 6.0
    got = ad.value_and_grad(f, argnums=(0, 1), optimize=True)
    want = ad.value_and_grad(f, argnums=(0, 1))(w, x)
    for _ in range(2):
        value, grads = got(w, x)
        assert value == pytest.approx(want[0])
        for g, e in zip(grads, want[1], strict=True):
            np.testing.assert_allclose(g, e)
    prog = next(iter(got.cache.values()))[0]
    assert len(prog.chunks) > 3


@pytest.mark.parametrize("k", [-2, -1, 0, 1, 3])
def test_diag_of_a_traced_vector_matches_numpy(k: int) -> None:
    v = np.array([1.0, 2.0, 3.0])
    out, _ = ad.vjp(lambda x: np.diag(x, k), v)
    np.testing.assert_array_equal(out, np.diag(v, k))


A3 = np.arange(24.0).reshape(2, 3, 4) / 7.0
FRONT_END = {
    "diagonal": lambda a: np.diagonal(a[0], 1),
    "diagonal_axes": lambda a: np.diagonal(a, -1, 2, 1),
    "trace": lambda a: np.trace(a[1], -1),
    "tril_k": lambda a: np.tril(a[0], 1),
    "triu_k": lambda a: np.triu(a[1], -1),
    "moveaxis": lambda a: np.moveaxis(a, -1, 0),
    "swapaxes": lambda a: np.swapaxes(a, 0, -1),
    "expand_dims": lambda a: np.expand_dims(a, (-1, 0)),
    "squeeze": lambda a: np.squeeze(a[:, :1], axis=1),
    "stack_last": lambda a: np.stack([a[0], a[1]], axis=-1),
    "hstack": lambda a: np.hstack([a[0], a[1]]),
    "vstack": lambda a: np.vstack([a[0, 0], a[1, 0]]),
    "transpose_T": lambda a: a.T,
    "reshape_args": lambda a: a.reshape(4, -1),
    "take_axis": lambda a: np.take(a, [2, 0], axis=-1),
    "var_ddof": lambda a: np.var(a, axis=(0, 2), ddof=1),
    "prod_keep": lambda a: np.prod(a[:, :, 1:3], axis=-1, keepdims=True),
    "tensordot_pairs": lambda a: np.tensordot(a, a, axes=([0, 2], [0, 2])),
    "einsum_implicit": lambda a: np.einsum("ijk,ijl", a, a),
    "dot_nd": lambda a: np.dot(a, a[0].T),
    "inner": lambda a: np.inner(a[0], a[1]),
    "norm_inf": lambda a: np.linalg.norm(a[0, 0], np.inf),
    "cumsum_flat": lambda a: np.cumsum(a),
    "clip_kw": lambda a: np.clip(a, 0.5, 2.0),
}


@pytest.mark.parametrize("name", sorted(FRONT_END))
def test_traced_numpy_functions_compute_what_numpy_computes(name: str) -> None:
    fn = FRONT_END[name]
    out, _ = ad.vjp(fn, A3)
    np.testing.assert_allclose(out, fn(A3), rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize(
    ("shape", "axis"),
    [
        ((5, 100, 10), (2,)),
        ((5, 100, 10), (1,)),
        ((5, 100, 10), (0, 1)),
        ((50, 100), (0,)),
        ((5, 100, 10), (-1, -2)),
        ((5, 100, 10), (0, 2)),
        ((1, 3000, 1), (1,)),
    ],
)
@pytest.mark.parametrize("keepdims", [False, True])
def test_large_sums_as_products_with_ones_match_numpy(
    shape: tuple[int, ...], axis: tuple[int, ...], keepdims: bool
) -> None:
    from wg_autodiff.primitives.arith import DOT_SUM_MIN, _sum_impl, dot_sum

    x = np.random.default_rng(0).standard_normal(shape)
    assert x.size >= DOT_SUM_MIN
    want = np.sum(x, axis=axis, keepdims=keepdims)
    got = _sum_impl(x, axis=axis, keepdims=keepdims)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    assert (dot_sum(shape, x.dtype, axis, keepdims) is None) == (axis == (0, 2))
    compiled = ad.compile(lambda y: np.sum(np.sin(y), axis=axis, keepdims=keepdims))
    np.testing.assert_allclose(compiled(x), np.sum(np.sin(x), axis=axis, keepdims=keepdims))
    # a non-contiguous input takes NumPy's own reduction
    np.testing.assert_allclose(compiled(x.T.copy().T), compiled(x), rtol=1e-12, atol=1e-12)


def test_numpy_fast_rules_equal_the_generic_rules_bit_for_bit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from wg_autodiff import core

    def f(x: np.ndarray, y: np.ndarray, b: np.ndarray) -> np.ndarray:
        u = np.tanh(np.sin(x) * y + x) - np.cos(y) / (x * x + 1.0)
        v = np.exp(-u) + np.log(np.sqrt(np.square(y) + 2.0)) + 1.0 / (1.0 + np.exp(-x))
        return np.sum(v * b - u / b)  # b broadcasts: its cotangent takes the generic rules

    rng = np.random.default_rng(3)
    args = (rng.standard_normal((4, 3)), rng.standard_normal((4, 3)), rng.random(3) + 1.0)
    fast = ad.grad(f, argnums=(0, 1, 2))(*args)
    hessian_row = ad.hvp(f, args, args)  # nested traces: generic rules only
    assert core.numpy_vjp
    monkeypatch.setattr(core, "numpy_vjp", {})
    generic = ad.grad(f, argnums=(0, 1, 2))(*args)
    for got, want in zip(fast, generic, strict=True):
        np.testing.assert_array_equal(got, want)
    for got, want in zip(hessian_row, ad.hvp(f, args, args), strict=True):
        np.testing.assert_array_equal(got, want)


def test_tracer_array_face_is_complete_at_class_definition() -> None:
    """Every name of the tracer's array face is on its class from definition (no module adds
    methods at import), with an implementation in tracer_api (FACE, OPERATORS)."""
    from wg_autodiff import core, tracer_api

    assert set(tracer_api.FACE) == set(core.FACE_NAMES)
    assert set(tracer_api.OPERATORS) == {*core.REFLECTED, *core.COMPARISONS, "neg", "square"}
    operators = [f"__{op}__" for op in (*core.REFLECTED, *core.COMPARISONS, "neg")]
    protocols = ["__array_ufunc__", "__array_function__"]
    names = [*core.FACE_NAMES, *operators, *(f"__r{op}__" for op in core.REFLECTED), *protocols]
    assert all(name in vars(core.ArrayFace) for name in names)
    assert core.Tracer.__mro__[1] is core.ArrayFace
