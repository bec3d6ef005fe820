"""wg_autodiff on the ADBench objectives, against the objective itself, autograd and JAX.

The ratio column divides by the plain NumPy objective, so it reads as ADBench's "gradient time /
objective time". Targets (issue 3, BLAS pinned to one thread): GMM grad/f <= 4 eager and <= 3
optimised (d=10 K=5), <= 3 at d=64 K=10 and d=32 K=50; BA Jacobian/f <= 10; LSTM grad/f <= 5;
Hessian-vector product <= 6 x f; a chain of 200 small operations <= 5 us per primitive (the
``Chain200`` time divided by 200); checkpointed LSTM peak memory <= half (``peak_MiB`` metric).
Against JAX (issue 17; ``targets``, read by the headline table): wg's optimised gradient
<= 1.0 x ``jax_jit`` on the GMM, <= 1.2 x on the LSTM, and the BA Jacobian <= 1.2 x.

Every benchmark has a ``jax`` cell (eager) and a ``jax_jit`` cell (the same function under
``jax.jit``; its compile is the first call), in float64 on the benchmark's devices, gated
against the oracle like the others; ``_jax.py`` holds their objectives. The GMM, BA, LSTM and
chain benchmarks also have a ``wg_numba`` cell: wg's optimised gradient with ``backend="numba"``
(issue 17), whose first call starts from an empty kernel cache, so that it is numba's whole
compile, as ``jax_jit``'s first call is XLA's; skipped where numba is not installed.

Every implementation returns a dict; the gate compares the keys it shares with the oracle
(autograd), so the objective is checked on its value and the gradients on their entries.
``GmmGradientDevice`` also runs on ``--device cuda`` (wg on CuPy arrays, torch on CUDA tensors),
gated against wg on host NumPy copies (``wg_cpu``, whose time is the CPU one beside them); the
others stay on the CPU (autograd has no GPU, and the harness has no per-implementation skip).
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import tracemalloc
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import wg_autodiff as ad
from wg_autodiff import adbench as adb
from wg_autodiff import adbench_io as io
from wg_autodiff.gradcheck import rho
from wg_bench.discovery import load_module
from wg_io.corpus import corpus_path

_jax = load_module(Path(__file__).with_name("_jax.py"))

JAXES = {"jax": _jax.JAX, "jax_jit": _jax.JAX}
AUTOGRAD = {"autograd": ("autograd", "pip install autograd"), **JAXES}
WITH_TORCH = {**AUTOGRAD, "torch": ("torch", "pip install torch (CPU wheel)")}
NUMBA = {"wg_numba": ("numba", "pip install numba")}
CORPUS = corpus_path("adbench")
GMM = {"d10_K5": (10, 5), "d64_K10": (64, 10), "d32_K50": (32, 50)}


def _gmm_instance(name: str) -> tuple[Any, ...]:
    d, k = GMM[name]
    path = CORPUS / "gmm" / "1k" / f"gmm_d{d}_K{k}.txt"
    if path.exists():
        return io.read_gmm(path)
    return adb.gmm_random(d, k, 1000, np.random.default_rng(0))


def _torch_gmm(alphas: Any, means: Any, icf: Any, x: Any, gamma: float, m: float) -> Any:
    """The same GMM objective written with torch operations (for torch.autograd)."""
    import math

    import torch

    n, d = x.shape
    k = alphas.shape[0]
    q = icf[:, :d]
    qdiags = torch.exp(q)
    sum_qs = q.sum(1)
    padded = torch.cat([torch.zeros_like(icf[:, :1]), icf[:, d:]], 1)
    index = torch.as_tensor(adb._tril_gather_index(d), device=icf.device)
    eye = torch.eye(d, dtype=icf.dtype, device=icf.device)
    Ls = padded[:, index].reshape(k, d, d) + qdiags[:, :, None] * eye
    Lx = (x[None, :, :] - means[:, None, :]) @ Ls.transpose(1, 2)
    inner = (alphas + sum_qs)[:, None] - 0.5 * (Lx * Lx).sum(2)
    slse = torch.logsumexp(inner, 0).sum()
    prior = (0.5 * gamma**2 * ((qdiags**2).sum(1) + (icf[:, d:] ** 2).sum(1)) - m * sum_qs).sum()
    nw = d + m + 1
    c = nw * d * (math.log(gamma) - 0.5 * math.log(2)) - adb._log_gamma_distrib(0.5 * nw, d)
    constant = -n * d * 0.5 * math.log(2 * math.pi)
    return constant + slse - n * torch.logsumexp(alphas, 0) + prior - k * c


def _to_device(device: str, arrays: tuple[Any, ...]) -> tuple[Any, ...]:
    """``arrays`` as CuPy arrays on ``cuda`` (wg's rules use their namespace), else unchanged."""
    if device != "cuda":
        return arrays
    try:
        import cupy as cp
    except ImportError as exc:
        raise NotImplementedError(
            "the cuda cells of the wg implementations need CuPy: pip install cupy-cuda12x"
        ) from exc
    return tuple(cp.asarray(a) for a in arrays)


def _cold_kernel_cache() -> None:
    """Point wg's numba kernel cache at a new empty folder for this cell's process, so that its
    first call compiles every kernel (the figure to set beside ``jax_jit``'s compile)."""
    folder = tempfile.mkdtemp(prefix="wg-bench-numba-")
    atexit.register(shutil.rmtree, folder, True)
    os.environ["WG_AUTODIFF_CACHE"] = folder


def _autograd_fns() -> dict[str, Any]:
    import autograd.numpy as anp

    return adb.with_numpy(anp)


class _Shared:
    """Gate on the keys an output shares with the oracle's (ADBench rho); the JAX cells.

    ``jax`` is JAX's eager ``value_and_grad`` (or the transform the benchmark names), ``jax_jit``
    the same function under ``jax.jit``: its compile is the first call, never a timed one. Both
    run in float64 on the benchmark's device, on the objectives of ``_jax.py``; a benchmark
    gives ``_jax_problem(jax)`` -> (function returning the output dict, its host arguments).
    """

    #: Eager JAX compiles every operation in a fresh cell process (seconds a cell): full runs only.
    full_only: ClassVar[tuple[str, ...]] = ("jax",)

    oracle = "autograd"
    requires: ClassVar[dict[str, Any]] = AUTOGRAD
    device = "cpu"
    jax_cell = False

    def _jax_problem(self, jax: Any) -> tuple[Any, tuple[Any, ...]]:
        raise NotImplementedError(f"{type(self).__name__} has no JAX version")

    def _jax_setup(self, jit: bool) -> None:
        jax, dev = _jax.import_jax(self.device, x64=True)
        fn, args = self._jax_problem(jax)
        self.jax_fn = jax.jit(fn) if jit else fn
        self.jax_args = _jax.put(jax, dev, args)
        self.jax_cell = True

    def setup_jax(self) -> None:
        self._jax_setup(jit=False)

    def setup_jax_jit(self) -> None:
        self._jax_setup(jit=True)

    def impl_jax(self) -> dict[str, Any]:
        return self.jax_fn(*self.jax_args)

    def impl_jax_jit(self) -> dict[str, Any]:
        return self.jax_fn(*self.jax_args)

    def error(self, output: dict[str, Any], expected: dict[str, Any]) -> float:
        errs = [0.0]
        for key in set(output) & set(expected) - {"segment"}:
            got = output[key] if isinstance(output[key], tuple) else (output[key],)
            want = expected[key] if isinstance(expected[key], tuple) else (expected[key],)
            errs.extend(rho(g, w) for g, w in zip(got, want, strict=True))
        return max(errs)


class _Objective(_Shared):
    """Gated against, and timed beside, the objective's value alone: a baseline, never a peer."""

    reference = "objective"
    baselines: ClassVar[tuple[str, ...]] = ("objective",)
    tolerance = 1e-8


class _GmmBase(_Objective):
    """GMM n=1000 (Wishart prior): the objective and its full gradient, wg and torch."""

    params: ClassVar[list[Any]] = [list(GMM)]
    param_names: ClassVar[list[Any]] = ["instance"]
    quick_params: ClassVar[list[Any]] = [["d10_K5"]]
    requires: ClassVar[dict[str, Any]] = WITH_TORCH

    def setup(self, device: str, instance: str) -> None:
        alphas, means, icf, x, gamma, m = _gmm_instance(instance)
        self.device = device
        self.host = (alphas, means, icf, x)
        *self.params_, x_dev = _to_device(device, (alphas, means, icf, x))
        self.data = (x_dev, gamma, m)
        self.f = lambda *p: adb.gmm_objective(*p, *self.data)
        # plain NumPy calls cannot mix a device array with the objective's NumPy constants
        # (np.eye, np.zeros): on cuda the objective is wg's trace of it, replayed on CuPy
        self.objective = self.f if device == "cpu" else ad.compile(self.f)
        self.eager = ad.value_and_grad(self.f, argnums=(0, 1, 2))
        self.opt = ad.value_and_grad(self.f, argnums=(0, 1, 2), optimize=True)

    def impl_objective(self) -> dict[str, Any]:
        return {"f": self.objective(*self.params_)}

    def _jax_problem(self, jax: Any) -> tuple[Any, tuple[Any, ...]]:
        gmm, (_, gamma, m) = _jax.adbench_objectives(jax.numpy)["gmm_objective"], self.data
        vg = jax.value_and_grad(lambda a, mu, icf, x: gmm(a, mu, icf, x, gamma, m), (0, 1, 2))
        return lambda *args: dict(zip(("f", "grad"), vg(*args), strict=True)), self.host

    def impl_wg(self) -> dict[str, Any]:
        f, g = self.eager(*self.params_)
        return {"f": f, "grad": g}

    def impl_wg_optimized(self) -> dict[str, Any]:
        f, g = self.opt(*self.params_)
        return {"f": f, "grad": g}

    def setup_torch(self) -> None:
        import torch

        device = "cuda" if self.device == "cuda" else "cpu"
        self.t_params: list[Any] = [
            torch.tensor(p, requires_grad=True, device=device) for p in self.host[:3]
        ]
        self.t_x = torch.tensor(self.host[3], device=device)

    def impl_torch(self) -> dict[str, Any]:
        import torch

        alphas, means, icf = self.t_params
        f = _torch_gmm(alphas, means, icf, self.t_x, self.data[1], self.data[2])
        return {"f": f.detach(), "grad": tuple(torch.autograd.grad(f, self.t_params))}


class GmmGradient(_GmmBase):
    """GMM (Wishart prior) n=1000: full gradient vs the objective (ADBench sizes)."""

    targets: ClassVar[list[dict[str, Any]]] = [
        {"params": None, "ours": "wg_optimized", "peer": "jax_jit", "max_ratio": 1.0}
    ]
    requires: ClassVar[dict[str, Any]] = {**WITH_TORCH, **NUMBA}

    def setup_autograd(self) -> None:
        import autograd

        fns = _autograd_fns()
        self.ag = autograd.value_and_grad(
            lambda *p: fns["gmm_objective"](*p, *self.data), (0, 1, 2)
        )

    def setup_wg_numba(self) -> None:
        _cold_kernel_cache()
        self.numba = ad.value_and_grad(self.f, (0, 1, 2), optimize=True, backend="numba")

    def impl_wg_numba(self) -> dict[str, Any]:
        f, g = self.numba(*self.params_)
        return {"f": f, "grad": g}

    def impl_autograd(self) -> dict[str, Any]:
        f, g = self.ag(*self.params_)
        return {"f": f, "grad": tuple(g)}


class GmmGradientDevice(_GmmBase):
    """GMM n=1000 on cpu or cuda (CuPy for wg, CUDA tensors for torch); gated against wg_cpu."""

    devices: ClassVar[tuple[str, ...]] = ("cpu", "cuda")
    oracle = "wg_cpu"
    requires: ClassVar[dict[str, Any]] = {"torch": WITH_TORCH["torch"], **JAXES}

    def setup_wg_cpu(self) -> None:
        x, gamma, m = self.host[3], self.data[1], self.data[2]
        self.cpu = ad.value_and_grad(lambda *p: adb.gmm_objective(*p, x, gamma, m), (0, 1, 2))

    def impl_wg_cpu(self) -> dict[str, Any]:
        """wg eager on host NumPy copies: the oracle, and the CPU time beside the GPU ones."""
        f, g = self.cpu(*self.host[:3])
        return {"f": f, "grad": g}


class GmmMeansOnly(_Shared):
    """GMM d=10 K=5: gradient w.r.t. the means alone (activity analysis) vs the full gradient."""

    params: ClassVar[list[Any]] = [["d10_K5", "d64_K10"]]
    param_names: ClassVar[list[Any]] = ["instance"]
    quick_params: ClassVar[list[Any]] = [["d10_K5"]]
    reference = "full"
    oracle = "full"
    requires: ClassVar[dict[str, Any]] = JAXES
    tolerance = 1e-12

    def setup(self, device: str, instance: str) -> None:
        alphas, means, icf, x, gamma, m = _gmm_instance(instance)
        self.params_ = (alphas, means, icf)
        f = lambda *p: adb.gmm_objective(*p, x, gamma, m)  # noqa: E731
        self.full = ad.grad(f, argnums=(0, 1, 2))
        self.means = ad.grad(f, argnums=1)
        self.data = (x, gamma, m)

    def impl_full(self) -> dict[str, Any]:
        return {"means": self.full(*self.params_)[1]}

    def impl_means(self) -> dict[str, Any]:
        return {"means": self.means(*self.params_)}

    def _jax_problem(self, jax: Any) -> tuple[Any, tuple[Any, ...]]:
        gmm, (x, gamma, m) = _jax.adbench_objectives(jax.numpy)["gmm_objective"], self.data
        grad = jax.grad(lambda a, mu, icf, x: gmm(a, mu, icf, x, gamma, m), 1)
        return lambda *args: {"means": grad(*args)}, (*self.params_, x)


class GmmHvp(_Objective):
    """GMM d=10 K=5: Hessian-vector product (forward over reverse) vs the objective."""

    params: ClassVar[list[Any]] = [["d10_K5"]]
    param_names: ClassVar[list[Any]] = ["instance"]

    def setup(self, device: str, instance: str) -> None:
        alphas, means, icf, x, gamma, m = _gmm_instance(instance)
        self.params_ = (alphas, means, icf)
        rng = np.random.default_rng(1)
        self.v = tuple(rng.standard_normal(p.shape) for p in self.params_)
        self.data = (x, gamma, m)
        self.f = lambda *p: adb.gmm_objective(*p, *self.data)
        self.compiled = ad.compile(lambda p, v: ad.hvp(self.f, p, v))

    def impl_objective(self) -> dict[str, Any]:
        return {"f": self.f(*self.params_)}

    def impl_wg(self) -> dict[str, Any]:
        return {"hvp": tuple(ad.hvp(self.f, self.params_, self.v))}

    def impl_wg_optimized(self) -> dict[str, Any]:
        return {"hvp": tuple(self.compiled(self.params_, self.v))}

    def _jax_problem(self, jax: Any) -> tuple[Any, tuple[Any, ...]]:
        gmm, (x, gamma, m) = _jax.adbench_objectives(jax.numpy)["gmm_objective"], self.data
        grad = jax.grad(lambda a, mu, icf, x: gmm(a, mu, icf, x, gamma, m), (0, 1, 2))

        def hvp(a: Any, mu: Any, icf: Any, x: Any, *v: Any) -> dict[str, Any]:
            return {"hvp": jax.jvp(lambda *p: grad(*p, x), (a, mu, icf), v)[1]}

        return hvp, (*self.params_, x, *self.v)

    def setup_autograd(self) -> None:
        import autograd

        fns = _autograd_fns()
        anp = fns["np"]
        grad_f = autograd.grad(lambda *p: fns["gmm_objective"](*p, *self.data), (0, 1, 2))

        def directional(*p: Any) -> Any:
            return sum(anp.sum(g * v) for g, v in zip(grad_f(*p), self.v, strict=True))

        self.ag = autograd.grad(directional, (0, 1, 2))

    def impl_autograd(self) -> dict[str, Any]:
        return {"hvp": tuple(self.ag(*self.params_))}


class BaJacobian(_Objective):
    """Bundle adjustment: sparse Jacobian as per-observation 2x15 blocks (+ weight error)."""

    params: ClassVar[list[Any]] = [
        ["ba1_n49_m7776_p31843", "ba2_n21_m11315_p36455", "ba3_n161_m48126_p182072"]
    ]
    param_names: ClassVar[list[Any]] = ["instance"]
    quick_params: ClassVar[list[Any]] = [["ba1_n49_m7776_p31843"]]
    targets: ClassVar[list[dict[str, Any]]] = [
        {"params": None, "ours": "wg", "peer": "jax_jit", "max_ratio": 1.2}
    ]
    requires: ClassVar[dict[str, Any]] = {**AUTOGRAD, **NUMBA}
    #: the first call of a fresh process compiles every kernel (seconds): full runs only
    full_only: ClassVar[tuple[str, ...]] = ("jax", "wg_numba")

    def setup(self, device: str, instance: str) -> None:
        path = CORPUS / "ba" / f"{instance}.txt"
        if path.exists():
            cams, X, w, obs, feats = io.read_ba(path)
        else:
            n, m, p = (int(s[1:]) for s in instance.split("_")[1:])
            cams, X, w, obs, feats = adb.ba_random(n, m, p, np.random.default_rng(0))
        self.inputs = (cams, X, w, obs, feats)

    def impl_objective(self) -> dict[str, Any]:
        reproj, werr = adb.ba_objective(*self.inputs)
        return {"reproj": reproj, "werr": werr}

    def _jax_problem(self, jax: Any) -> tuple[Any, tuple[Any, ...]]:
        return _jax.ba_jacobian(jax, _jax.adbench_objectives(jax.numpy)), self.inputs

    def _blocks(self, pullback: Any, reproj: Any, werr: Any) -> Any:
        p = reproj.shape[0]
        zeros = np.zeros(p)
        rows = []
        for axis in range(2):
            ct = np.zeros((p, 2))
            ct[:, axis] = 1.0
            dc, dx, dw = pullback((ct, zeros))
            rows.append(np.concatenate([dc, dx, dw[:, None]], axis=1))
        dw_err = pullback((np.zeros((p, 2)), np.ones(p)))[2]
        return np.stack(rows, axis=1), dw_err

    def impl_wg(self) -> dict[str, Any]:
        cams, X, w, obs, feats = self.inputs
        (reproj, werr), pullback = ad.vjp(
            lambda c, x, v: adb.ba_residuals(c, x, v, feats), cams[obs[:, 0]], X[obs[:, 1]], w
        )
        blocks, dw_err = self._blocks(pullback, reproj, werr)
        return {"reproj": reproj, "werr": werr, "blocks": blocks, "dwerr": dw_err}

    def setup_wg_numba(self) -> None:
        _cold_kernel_cache()
        feats = self.inputs[4]

        def jacobian(c: Any, x: Any, w: Any) -> dict[str, Any]:
            (reproj, werr), pullback = ad.vjp(
                lambda c, x, v: adb.ba_residuals(c, x, v, feats), c, x, w
            )
            blocks, dw_err = self._blocks(pullback, reproj, werr)
            return {"reproj": reproj, "werr": werr, "blocks": blocks, "dwerr": dw_err}

        self.numba = ad.compile(jacobian, backend="numba")

    def impl_wg_numba(self) -> dict[str, Any]:
        cams, X, w, obs, _ = self.inputs
        return dict(self.numba(cams[obs[:, 0]], X[obs[:, 1]], w))

    def impl_autograd(self) -> dict[str, Any]:
        from autograd import make_vjp

        cams, X, w, obs, feats = self.inputs
        fns = _autograd_fns()

        anp = fns["np"]
        p = w.shape[0]

        def residuals(args: Any) -> Any:
            # autograd differentiates one array output: pack (reproj, werr) into a vector
            reproj, werr = fns["ba_residuals"](args[0], args[1], args[2], feats)
            return anp.concatenate([anp.ravel(reproj), werr])

        pull, flat = make_vjp(residuals)((cams[obs[:, 0]], X[obs[:, 1]], w))

        def pullback(ct: Any) -> Any:
            return tuple(np.asarray(g) for g in pull(np.concatenate([ct[0].ravel(), ct[1]])))

        reproj, werr = flat[: 2 * p].reshape(p, 2), flat[2 * p :]
        blocks, dw_err = self._blocks(pullback, reproj, werr)
        return {"reproj": reproj, "werr": werr, "blocks": blocks, "dwerr": dw_err}


def checkpoint_segment(steps: int) -> int:
    """sqrt(steps) steps per rematerialised segment (32 for ADBench's c=1024)."""
    return max(2, round(steps**0.5))


class LstmGradient(_Objective):
    """LSTM (ADBench): gradient w.r.t. main and extra parameters; peak_MiB with checkpoint."""

    params: ClassVar[list[Any]] = [["l2_c1024", "l4_c1024", "l2_c32"]]
    param_names: ClassVar[list[Any]] = ["instance"]
    quick_params: ClassVar[list[Any]] = [["l2_c32"]]
    targets: ClassVar[list[dict[str, Any]]] = [
        {"params": None, "ours": "wg_optimized", "peer": "jax_jit", "max_ratio": 1.2}
    ]
    timeout = 900
    requires: ClassVar[dict[str, Any]] = {**AUTOGRAD, **NUMBA}
    full_only: ClassVar[tuple[str, ...]] = ("jax", "wg_numba")

    def setup(self, device: str, instance: str) -> None:
        layers, steps = (int(s[1:]) for s in instance.split("_"))
        path = CORPUS / "lstm" / f"lstm_{instance}.txt"
        if path.exists():
            self.inputs = io.read_lstm(path)
        else:
            self.inputs = adb.lstm_random(layers, steps, 14, np.random.default_rng(0))
        _, _, state, seq = self.inputs
        self.f = lambda p, e: adb.lstm_objective(p, e, state, seq)
        self.eager = ad.value_and_grad(self.f, argnums=(0, 1))
        self.segment = checkpoint_segment(steps)
        self.remat = ad.value_and_grad(
            lambda p, e: adb.lstm_objective(p, e, state, seq, segment=self.segment), (0, 1)
        )
        self.opt = ad.value_and_grad(self.f, argnums=(0, 1), optimize=True)

    def impl_objective(self) -> dict[str, Any]:
        return {"f": self.f(*self.inputs[:2])}

    def impl_wg(self) -> dict[str, Any]:
        f, g = self.eager(*self.inputs[:2])
        return {"f": f, "grad": g}

    def impl_wg_optimized(self) -> dict[str, Any]:
        f, g = self.opt(*self.inputs[:2])
        return {"f": f, "grad": g}

    def setup_wg_numba(self) -> None:
        _cold_kernel_cache()
        self.numba = ad.value_and_grad(self.f, argnums=(0, 1), optimize=True, backend="numba")

    def impl_wg_numba(self) -> dict[str, Any]:
        f, g = self.numba(*self.inputs[:2])
        return {"f": f, "grad": g}

    def impl_wg_checkpoint(self) -> dict[str, Any]:
        f, g = self.remat(*self.inputs[:2])
        return {"f": f, "grad": g, "segment": self.segment}

    def _jax_problem(self, jax: Any) -> tuple[Any, tuple[Any, ...]]:
        objective = _jax.lstm_objective(jax, _jax.adbench_objectives(jax.numpy))
        vg = jax.value_and_grad(objective, (0, 1))
        return lambda *args: dict(zip(("f", "grad"), vg(*args), strict=True)), self.inputs

    def metrics(self, output: dict[str, Any]) -> dict[str, float]:
        """Peak traced memory of one wg gradient (eager, with or without checkpoint)."""
        if self.jax_cell or ("segment" not in output and "grad" not in output):
            return {}  # tracemalloc sees Python's allocations, not XLA's buffers
        fn = self.remat if "segment" in output else self.eager
        tracemalloc.start()
        fn(*self.inputs[:2])
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return {"peak_MiB": round(peak / 2**20, 2)}

    def setup_autograd(self) -> None:
        import autograd

        fns = _autograd_fns()
        _, _, state, seq = self.inputs
        self.ag = autograd.value_and_grad(
            lambda p, e: fns["lstm_objective"](p, e, state, seq), (0, 1)
        )

    def impl_autograd(self) -> dict[str, Any]:
        f, g = self.ag(*self.inputs[:2])
        return {"f": f, "grad": tuple(g)}


def _chain(x: Any) -> Any:
    for _ in range(50):
        x = np.tanh(np.sin(x) * 1.01 + x)
    return np.sum(x)


class Chain200(_Objective):
    """Gradient of a chain of 200 operations on 10 floats: time / 200 = cost per primitive."""

    params: ClassVar[list[Any]] = [[10]]
    param_names: ClassVar[list[Any]] = ["n"]
    tolerance = 1e-10
    requires: ClassVar[dict[str, Any]] = {**WITH_TORCH, **NUMBA}

    def setup(self, device: str, n: int) -> None:
        self.x = np.linspace(0.0, 1.0, n)
        self.eager = ad.value_and_grad(_chain)
        self.opt = ad.value_and_grad(_chain, optimize=True)

    def setup_wg_numba(self) -> None:
        _cold_kernel_cache()
        self.numba = ad.value_and_grad(_chain, optimize=True, backend="numba")

    def impl_wg_numba(self) -> dict[str, Any]:
        f, g = self.numba(self.x)
        return {"f": f, "grad": g}

    def impl_objective(self) -> dict[str, Any]:
        return {"f": _chain(self.x)}

    def impl_wg(self) -> dict[str, Any]:
        f, g = self.eager(self.x)
        return {"f": f, "grad": g}

    def impl_wg_optimized(self) -> dict[str, Any]:
        f, g = self.opt(self.x)
        return {"f": f, "grad": g}

    def setup_autograd(self) -> None:
        import autograd

        fns = _autograd_fns()
        anp = fns["np"]

        def chain(x: Any) -> Any:
            for _ in range(50):
                x = anp.tanh(anp.sin(x) * 1.01 + x)
            return anp.sum(x)

        self.ag = autograd.value_and_grad(chain)

    def impl_autograd(self) -> dict[str, Any]:
        f, g = self.ag(self.x)
        return {"f": f, "grad": g}

    def _jax_problem(self, jax: Any) -> tuple[Any, tuple[Any, ...]]:
        jnp = jax.numpy

        def chain(x: Any) -> Any:
            for _ in range(50):
                x = jnp.tanh(jnp.sin(x) * 1.01 + x)
            return jnp.sum(x)

        vg = jax.value_and_grad(chain)
        return lambda x: dict(zip(("f", "grad"), vg(x), strict=True)), (self.x,)

    def setup_torch(self) -> None:
        import torch

        self.t_x = torch.tensor(self.x, requires_grad=True)

    def impl_torch(self) -> dict[str, Any]:
        import torch

        x = self.t_x
        for _ in range(50):
            x = torch.tanh(torch.sin(x) * 1.01 + x)
        f = x.sum()
        return {"f": f.detach(), "grad": torch.autograd.grad(f, self.t_x)[0]}
