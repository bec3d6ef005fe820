"""The public transforms: grad, value_and_grad, vjp, jvp, linearize, jacobians, hvp."""

from __future__ import annotations

import contextlib
import functools
import gc
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from wg_autodiff.construct import settle_tree, tracing
from wg_autodiff.core import ForwardTrace, ReverseTrace, Tracer, is_complex
from wg_autodiff.errors import InputError, forget_pending, reraise_pending, user_location
from wg_autodiff.namespace import is_float_dtype, namespace, shape_of
from wg_autodiff.primitives.arith import convert_p, zeros_like
from wg_autodiff.pytree import tree_flatten, tree_unflatten


def _check_leaf(x: Any, where: str) -> bool:
    """True if ``x`` can be active; raises for values that cannot be differentiated at all."""
    if type(x) is Tracer:
        return True
    dtype = getattr(x, "dtype", None)
    if isinstance(x, str | bytes) or (dtype is not None and str(dtype) == "object"):
        raise InputError(
            f"{where} is a {type(x).__name__}{'' if dtype is None else f' of dtype {dtype}'}, "
            f"which cannot be differentiated (at {user_location()}). Pass floating-point arrays "
            "or floats; keep other data out of the differentiated arguments (closure or argnums)."
        )
    if dtype is None and not isinstance(x, int | float | complex | bool):
        raise InputError(
            f"{where} is a {type(x).__name__}, not an array or a number (at {user_location()}). "
            "Differentiated arguments must be arrays, floats, or tuples/lists/dicts of them."
        )
    return is_float_dtype(x)


@contextlib.contextmanager
def no_cycle_collection() -> Iterator[None]:
    """Pause the cyclic garbage collector while tracing: tapes allocate many small objects but
    no reference cycles, and repeated full collections over them cost more than the tracing."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def call_user(f: Callable[..., Any], args: Any, trace: Any) -> Any:
    """Call the user's function under ``trace``; surface conversion errors that NumPy re-raised
    as its own. Arrays the call made and returns are settled while ``trace`` still follows them."""
    forget_pending()
    try:
        with no_cycle_collection(), tracing(trace):
            return settle_tree(f(*args))
    except (ValueError, TypeError) as exc:
        reraise_pending(exc)
        raise


def _unbox(x: Any, trace: Any) -> Any:
    return x._value if type(x) is Tracer and x._trace is trace else x


def vjp(f: Callable[..., Any], *primals: Any, has_aux: bool = False) -> Any:
    """Evaluate ``f(*primals)`` and return ``(out, vjp_fn)``; ``vjp_fn(ct)`` pulls back ``ct``.

    Examples
    --------
    >>> import numpy as np
    >>> out, pullback = vjp(lambda x: np.sin(x) * 2.0, np.array([0.0, 1.0]))
    >>> pullback(np.ones(2))[0].round(4)
    array([2.    , 1.0806])
    """
    trace = ReverseTrace()
    leaves, tdef = tree_flatten(primals)
    active = [_check_leaf(x, f"input leaf {i}") for i, x in enumerate(leaves)]
    boxed = [trace.new_input(x) if a else x for x, a in zip(leaves, active, strict=True)]
    # the input nodes, kept apart from the tracers: an in-place write (x[i] = v) rebinds those
    inputs = [b._node if type(b) is Tracer else None for b in boxed]
    result = call_user(f, tree_unflatten(tdef, boxed), trace)
    if has_aux:
        result, aux = result
        aux_leaves, aux_def = tree_flatten(aux)
        aux = tree_unflatten(aux_def, [_unbox(a, trace) for a in aux_leaves])
    out_leaves, out_def = tree_flatten(result)
    out = tree_unflatten(out_def, [_unbox(o, trace) for o in out_leaves])

    def vjp_fn(ct: Any, _release: bool = False) -> tuple[Any, ...]:
        ct_leaves, ct_def = tree_flatten(ct)
        if ct_def != out_def:
            raise InputError(f"cotangent structure {ct_def} does not match output {out_def}")
        for i, (c, o) in enumerate(zip(ct_leaves, out_leaves, strict=True)):
            if shape_of(c) != shape_of(o):
                raise InputError(
                    f"cotangent leaf {i} has shape {shape_of(c)} but the output has shape "
                    f"{shape_of(o)} (at {user_location()}); pass a cotangent shaped like the output"
                )
        with no_cycle_collection():
            trace.backward(out_leaves, ct_leaves, release=_release)
        grads = []
        for x, node in zip(leaves, inputs, strict=True):
            if node is not None and node.ct is not None:
                g = node.ct
                node.ct = None
                if hasattr(x, "dtype") and getattr(g, "dtype", x.dtype) != x.dtype:
                    g = convert_p.bind(g, dtype=x.dtype)
                grads.append(g)
            else:
                grads.append(zeros_like(x))
        return tuple(tree_unflatten(tdef, grads))

    return (out, vjp_fn, aux) if has_aux else (out, vjp_fn)


def _partial(
    f: Callable[..., Any], args: Sequence[Any], kwargs: dict[str, Any], argnums: tuple[int, ...]
) -> Callable[..., Any]:
    def f_dyn(*dyn: Any) -> Any:
        full = list(args)
        for i, a in zip(argnums, dyn, strict=True):
            full[i] = a
        return f(*full, **kwargs)

    return f_dyn


def _argnums(argnums: int | Sequence[int], nargs: int) -> tuple[int, ...]:
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    for n in nums:
        if not -nargs <= n < nargs:
            raise InputError(
                f"argnums={argnums!r} names argument {n}, but the function was called with "
                f"{nargs} positional arguments (at {user_location()})"
            )
    return tuple(n % nargs for n in nums)


def _scalar_seed(out: Any) -> Any:
    dtype = getattr(out, "dtype", None)
    if shape_of(out) != ():
        raise InputError(
            f"grad needs a function with a scalar output, got shape {shape_of(out)} "
            f"(at {user_location()}); use jacrev/jacfwd or vjp for non-scalar outputs"
        )
    if not is_float_dtype(out):
        raise InputError(
            f"grad needs a real floating-point output, got "
            f"{type(out).__name__ if dtype is None else dtype} (at {user_location()}): an "
            "integer-only function (comparisons, rounding, argmax) has no derivative"
        )
    if is_complex(out):
        raise InputError(
            f"grad needs a real-valued output, got {dtype or 'complex'} (at {user_location()}); "
            "take np.real, np.abs or np.abs(...) ** 2 of it, or use jacrev(f, holomorphic=True) "
            "for the complex derivative of a holomorphic function"
        )
    while type(out) is Tracer:
        out = out._value
    return 1.0 if isinstance(out, float) else namespace(out).ones_like(out)


def value_and_grad(
    f: Callable[..., Any],
    argnums: int | Sequence[int] = 0,
    has_aux: bool = False,
    optimize: bool = False,
    backend: str = "numpy",
) -> Callable[..., Any]:
    """Like :func:`grad`, but the function returns ``(value, gradient)``.

    Examples
    --------
    >>> import numpy as np
    >>> value_and_grad(lambda x: np.sum(x ** 2))(np.array([1.0, 2.0]))
    (np.float64(5.0), array([2., 4.]))
    """
    if optimize:
        from wg_autodiff.optimize import compiled_value_and_grad

        return compiled_value_and_grad(f, argnums, has_aux, backend)
    if backend != "numpy":
        raise InputError(
            f"backend={backend!r} applies to the optimising mode (at {user_location()}); "
            "pass optimize=True as well, or drop backend="
        )

    @functools.wraps(f)
    def vg(*args: Any, **kwargs: Any) -> Any:
        nums = _argnums(argnums, len(args))
        dyn = tuple(args[i] for i in nums)
        _check_any_active(dyn, nums)
        # one pause of the collector over trace and pullback, ended after the tape is freed:
        # re-enabling it between the two would make its next collection walk the whole tape
        with no_cycle_collection():
            res = vjp(_partial(f, args, kwargs, nums), *dyn, has_aux=has_aux)
            out, pullback = res[0], res[1]
            g = pullback(_scalar_seed(out), _release=True)
            aux = res[2] if has_aux else None
            del res, pullback
        g = g[0] if isinstance(argnums, int) else g
        return ((out, aux), g) if has_aux else (out, g)

    return vg


def _check_any_active(dyn: tuple[Any, ...], nums: tuple[int, ...]) -> None:
    for arg, n in zip(dyn, nums, strict=True):
        leaves, _ = tree_flatten(arg)
        flags = [_check_leaf(x, f"argument {n}") for x in leaves]
        if leaves and not any(flags):
            dtypes = sorted({str(getattr(x, "dtype", type(x).__name__)) for x in leaves})
            raise InputError(
                f"argument {n} has only integer/boolean values ({', '.join(dtypes)}), which are "
                f"never active (at {user_location()}); cast it with .astype(float) to "
                "differentiate with respect to it"
            )


def grad(
    f: Callable[..., Any],
    argnums: int | Sequence[int] = 0,
    has_aux: bool = False,
    optimize: bool = False,
    backend: str = "numpy",
) -> Callable[..., Any]:
    """Gradient of a scalar function with respect to the arguments named by ``argnums``.

    Only those arguments are active: everything computed from the others alone is a constant
    that costs no tape and no adjoint work. ``optimize=True`` traces once per input signature,
    simplifies the trace and replays it (see :mod:`wg_autodiff.optimize`); with it,
    ``backend="numba"`` fuses elementwise chains into numba kernels (:mod:`wg_autodiff.lowering`).

    Examples
    --------
    >>> import numpy as np
    >>> grad(lambda x: np.sum(np.exp(x)))(np.zeros(3))
    array([1., 1., 1.])
    >>> grad(grad(lambda x: x ** 3))(2.0)
    12.0
    """
    vg = value_and_grad(f, argnums, has_aux, optimize, backend)

    @functools.wraps(f)
    def g(*args: Any, **kwargs: Any) -> Any:
        res = vg(*args, **kwargs)
        return (res[1], res[0][1]) if has_aux else res[1]

    return g


def jvp(f: Callable[..., Any], primals: Sequence[Any], tangents: Sequence[Any]) -> Any:
    """Forward mode: ``(f(*primals), J(primals) @ tangents)``.

    Examples
    --------
    >>> import numpy as np
    >>> jvp(np.sin, (0.0,), (2.0,))
    (np.float64(0.0), np.float64(2.0))
    """
    p_leaves, p_def = tree_flatten(tuple(primals))
    t_leaves, t_def = tree_flatten(tuple(tangents))
    if p_def != t_def:
        raise InputError(
            f"tangents {t_def} do not match the structure of primals {p_def} (at {user_location()})"
        )
    trace = ForwardTrace()
    boxed = []
    for i, (p, t) in enumerate(zip(p_leaves, t_leaves, strict=True)):
        if shape_of(p) != shape_of(t):
            raise InputError(
                f"tangent leaf {i} has shape {shape_of(t)} but its primal has shape "
                f"{shape_of(p)} (at {user_location()}); tangents must be shaped like primals"
            )
        boxed.append(trace.new_input(p, t) if _check_leaf(p, f"primal leaf {i}") else p)
    out = call_user(f, tree_unflatten(p_def, boxed), trace)
    o_leaves, o_def = tree_flatten(out)
    values = [_unbox(o, trace) for o in o_leaves]
    tans = [
        o._tangent if type(o) is Tracer and o._trace is trace else zeros_like(o) for o in o_leaves
    ]
    return tree_unflatten(o_def, values), tree_unflatten(o_def, tans)


def linearize(f: Callable[..., Any], *primals: Any) -> tuple[Any, Callable[..., Any]]:
    """``(f(*primals), f_jvp)`` where ``f_jvp(*tangents)`` is the forward derivative.

    ``f_jvp`` re-runs forward mode at the stored primals on every call (no partial evaluation).

    Examples
    --------
    >>> import numpy as np
    >>> out, f_jvp = linearize(np.exp, 0.0)
    >>> f_jvp(3.0)
    np.float64(3.0)
    """
    out = f(*primals)
    return out, lambda *tangents: jvp(f, primals, tangents)[1]


def _basis(x: Any) -> Any:
    xp = namespace(x)
    n = int(np.prod(shape_of(x)))
    eye = xp.eye(n, dtype=x.dtype) if hasattr(x, "dtype") else np.eye(n)
    return [xp.reshape(eye[i], shape_of(x)) for i in range(n)]


def _check_holomorphic(x: Any, holomorphic: bool, fn: str, what: str) -> None:
    """JAX's rule: a Jacobian of complex values is the complex derivative of a holomorphic
    function, asked for explicitly; without the flag complex values are refused."""
    if is_complex(x) != holomorphic:
        dtype = getattr(x, "dtype", type(x).__name__)
        need = "complex" if holomorphic else "real"
        raise InputError(
            f"{fn} with holomorphic={holomorphic} needs {need} {what}, got {dtype} (at "
            f"{user_location()}); "
            + (
                "pass holomorphic=True for the complex derivative of a holomorphic function, "
                "or split real and imaginary parts into real arguments"
                if not holomorphic
                else "convert them with .astype(complex)"
            )
        )


def jacrev(
    f: Callable[..., Any], argnums: int = 0, holomorphic: bool = False
) -> Callable[..., Any]:
    """Jacobian by reverse mode, shaped ``out.shape + x.shape`` (one pullback per output).

    With ``holomorphic=True`` input and output are complex and the result is the complex
    derivative of a holomorphic ``f``.

    Examples
    --------
    >>> import numpy as np
    >>> jacrev(lambda x: x * x)(np.array([1.0, 2.0]))
    array([[2., 0.],
           [0., 4.]])
    >>> jacrev(lambda z: z ** 2, holomorphic=True)(np.array([1j]))
    array([[0.+2.j]])
    """

    def jac(*args: Any) -> Any:
        (n,) = _argnums(argnums, len(args))
        out, pullback = vjp(_partial(f, args, {}, (n,)), args[n])
        _check_holomorphic(out, holomorphic, "jacrev", "outputs")
        if holomorphic:
            _check_holomorphic(args[n], holomorphic, "jacrev", "inputs")
        rows = [pullback(e)[0] for e in _basis(_bottom_like(out))]
        return _stack(rows, shape_of(out) + shape_of(args[n]), out_first=True)

    return jac


def jacfwd(
    f: Callable[..., Any], argnums: int = 0, holomorphic: bool = False
) -> Callable[..., Any]:
    """Jacobian by forward mode (one push per input): the result :func:`jacrev` gives.

    The shape and ``holomorphic`` mean what they mean for :func:`jacrev`; forward mode is the
    cheaper of the two when ``x`` has fewer elements than the output.

    Examples
    --------
    >>> import numpy as np
    >>> jacfwd(lambda x: np.sum(x ** 2))(np.array([1.0, 2.0]))
    array([2., 4.])
    >>> jacfwd(np.exp, holomorphic=True)(np.array([0j]))
    array([[1.+0.j]])
    """

    def jac(*args: Any) -> Any:
        (n,) = _argnums(argnums, len(args))
        _check_holomorphic(args[n], holomorphic, "jacfwd", "inputs")
        fn = _partial(f, args, {}, (n,))
        cols = [jvp(fn, (args[n],), (e,))[1] for e in _basis(_bottom_like(args[n]))]
        out_shape = shape_of(cols[0])
        return _stack(cols, out_shape + shape_of(args[n]), out_first=False)

    return jac


def _bottom_like(x: Any) -> Any:
    while type(x) is Tracer:
        x = x._value
    return np.asarray(x) if isinstance(x, float | int) else x


def _stack(parts: list[Any], shape: tuple[int, ...], out_first: bool) -> Any:
    flat = [np.reshape(p, (-1,)) for p in parts]
    m = np.stack(flat, axis=0 if out_first else -1)
    return np.reshape(m, shape)


def hessian(f: Callable[..., Any], argnums: int = 0) -> Callable[..., Any]:
    """Hessian as ``jacfwd(jacrev(f))``.

    Examples
    --------
    >>> import numpy as np
    >>> hessian(lambda x: np.sum(x ** 3))(np.array([1.0, 2.0]))
    array([[ 6.,  0.],
           [ 0., 12.]])
    """
    return jacfwd(jacrev(f, argnums), argnums)


def hvp(f: Callable[..., Any], primals: Sequence[Any], tangents: Sequence[Any]) -> Any:
    """Hessian-vector product of a scalar ``f`` (forward over reverse), without the Hessian.

    Examples
    --------
    >>> import numpy as np
    >>> hvp(lambda x: np.sum(x ** 3), (np.array([1.0, 2.0]),), (np.array([1.0, 0.0]),))
    array([6., 0.])
    """
    argnums = tuple(range(len(primals)))
    g = grad(f, argnums=argnums)
    out = jvp(g, tuple(primals), tuple(tangents))[1]
    return out[0] if len(primals) == 1 else out
