"""JAX as a peer in the suites: its import, its devices, and the ADBench objectives in jax.numpy.

Not a suite (the leading underscore keeps discovery away); suites load it with
``wg_bench.discovery.load_module``. JAX is imported inside these functions only, so a suite
loads, and ``wg bench list`` works, without it.

XLA reads ``XLA_FLAGS`` once, when its CPU client starts. The runner sets it in every cell's
environment with the other thread pins (``wg_bench.machine.thread_env``); :func:`import_jax`
sets the same value when it is missing (a suite used outside the runner, in a test), so JAX's
CPU cells run on ``OMP_NUM_THREADS`` threads like the BLAS under the other implementations.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

#: ``requires`` entry of a JAX implementation
JAX = ("jax", "pip install jax (a CUDA build for --device cuda: pip install 'jax[cuda12]')")


def import_jax(device: str = "cpu", x64: bool = False) -> tuple[Any, Any]:
    """``(jax, jax_device)`` for a cell on ``device``; float64 on when ``x64``.

    A cuda cell without a CUDA build of jaxlib raises NotImplementedError: the harness skips
    it with this message (airspeed velocity's convention).
    """
    from wg_bench.machine import thread_env

    threads = max(1, int(os.environ.get("OMP_NUM_THREADS") or 1))
    os.environ.setdefault("XLA_FLAGS", thread_env(threads)["XLA_FLAGS"])
    import jax

    # process-wide switches; every JAX cell is a process of its own. "highest": float32
    # convolutions and matmuls in float32 on a GPU too (no TF32), as the torch cells run
    jax.config.update("jax_enable_x64", x64)
    jax.config.update("jax_default_matmul_precision", "highest")
    platform = "cpu" if device == "cpu" else "gpu"
    try:
        return jax, jax.devices(platform)[0]
    except RuntimeError as exc:
        raise NotImplementedError(
            f"jax {jax.__version__} sees no {device} device here; install a CUDA build of "
            f"jaxlib: pip install 'jax[cuda12]' ({exc})"
        ) from exc


def put(jax: Any, device: Any, arrays: tuple[Any, ...]) -> tuple[Any, ...]:
    """Copies of host ``arrays`` on the JAX ``device`` (the timed calls never copy them)."""
    return tuple(jax.device_put(np.asarray(a), device) for a in arrays)


def adbench_objectives(jnp: Any) -> dict[str, Any]:
    """``wg_autodiff.adbench``'s own source compiled against ``jax.numpy``, as for autograd.

    The GMM's gather index is built by item assignment, which JAX arrays refuse; it is a
    constant of the dimension, so it stays NumPy's (a trace-time constant under ``jit``).
    The LSTM is :func:`lstm_objective` (``lax.scan``), not the unrolled Python loop.
    """
    from wg_autodiff import adbench as adb

    fns = adb.with_numpy(jnp)
    fns["_tril_gather_index"] = adb._tril_gather_index
    return fns


def lstm_objective(jax: Any, fns: dict[str, Any]) -> Any:
    """ADBench's LSTM loss with the time loop as ``lax.scan``, as a JAX user writes it.

    XLA's compile time of the NumPy source's unrolled loop grows faster than linearly with the
    sequence length, so nobody jits that form. Outside ``jit`` JAX traces and compiles the
    scan again on every call: that cost is part of the eager cell's time.
    """
    jnp, cell = jax.numpy, fns["_lstm_cell"]

    def objective(main: Any, extra: Any, state: Any, seq: Any) -> Any:
        def step(carry: Any, xs: Any) -> tuple[Any, None]:
            states, total = carry
            x = xs[0] * extra[0]
            new = []
            for layer in range(main.shape[0]):
                hidden, memory = cell(main[layer, 0], main[layer, 1], *states[layer], x)
                new.append((hidden, memory))
                x = hidden
            ypred = x * extra[1] + extra[2]
            ynorm = ypred - jnp.log(jnp.sum(jnp.exp(ypred)) + 2.0)
            return (tuple(new), total + jnp.sum(xs[1] * ynorm)), None

        init = tuple((state[i, 0], state[i, 1]) for i in range(state.shape[0]))
        zero = jnp.zeros((), dtype=seq.dtype)
        (_, total), _ = jax.lax.scan(step, (init, zero), (seq[:-1], seq[1:]))
        return -total / ((seq.shape[0] - 1) * seq.shape[1])

    return objective


def ba_jacobian(jax: Any, fns: dict[str, Any]) -> Any:
    """BA residuals and their Jacobian as per-observation 2x15 blocks, by three reverse
    passes (one per residual coordinate, one for the weight error), as the wg cell does."""
    jnp = jax.numpy

    def jacobian(cams: Any, X: Any, w: Any, obs: Any, feats: Any) -> dict[str, Any]:
        (reproj, werr), pull = jax.vjp(
            lambda c, x, v: fns["ba_residuals"](c, x, v, feats), cams[obs[:, 0]], X[obs[:, 1]], w
        )
        p = w.shape[0]
        zeros = jnp.zeros(p, dtype=w.dtype)
        rows = []
        for axis in range(2):
            ct = jnp.zeros((p, 2), dtype=w.dtype).at[:, axis].set(1.0)
            dc, dx, dw = pull((ct, zeros))
            rows.append(jnp.concatenate([dc, dx, dw[:, None]], axis=1))
        dw_err = pull((jnp.zeros((p, 2), dtype=w.dtype), jnp.ones(p, dtype=w.dtype)))[2]
        return {"reproj": reproj, "werr": werr, "blocks": jnp.stack(rows, 1), "dwerr": dw_err}

    return jacobian


def _conv(jax: Any, x: Any, w: Any, b: Any) -> Any:
    """Stride 1, no padding, NCHW input and OIHW kernel, as the convnet suite's reference."""
    y = jax.lax.conv_general_dilated(
        x, w, (1, 1), "VALID", dimension_numbers=("NCHW", "OIHW", "NCHW")
    )
    return y + b[None, :, None, None]


def conv_forward_backward(jax: Any) -> Any:
    """``(x, w, b, dy) -> (y, dx, dW, db)`` of a 3x3 convolution, for ``jax.jit``."""

    def forward_backward(x: Any, w: Any, b: Any, dy: Any) -> tuple[Any, ...]:
        y, pullback = jax.vjp(lambda *a: _conv(jax, *a), x, w, b)
        return (y, *pullback(dy))

    return forward_backward


def training_step(jax: Any, lr: float) -> Any:
    """``(params, x, y) -> (new params, loss, grads)``: one SGD step of the convnet suite's
    network (conv16-3 > relu > pool > conv32-3 > relu > pool > dense10), for ``jax.jit``."""
    jnp, lax = jax.numpy, jax.lax

    def pool(a: Any) -> Any:
        return lax.reduce_window(a, -jnp.inf, lax.max, (1, 1, 2, 2), (1, 1, 2, 2), "VALID")

    def loss(params: list[Any], x: Any, y: Any) -> Any:
        w1, b1, w2, b2, w3, b3 = params
        a = pool(jax.nn.relu(_conv(jax, x, w1, b1)))
        a = pool(jax.nn.relu(_conv(jax, a, w2, b2)))
        logits = a.reshape(x.shape[0], -1) @ w3 + b3
        logp = jax.nn.log_softmax(logits, axis=1)
        return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))

    def step(params: list[Any], x: Any, y: Any) -> tuple[list[Any], Any, list[Any]]:
        value, grads = jax.value_and_grad(loss)(params, x, y)
        return [p - lr * g for p, g in zip(params, grads, strict=True)], value, grads

    return step
