"""wg_convnet against a plain NumPy reference and PyTorch CPU (the issue's speed targets).

Targets (1 thread, same run): Conv2D forward+backward <= 1.5 x torch at both sizes; the training
step <= 1.3 x torch (both as ``targets``, read by the headline table); the training step 1 -> 2
threads (``--threads 2``) >= 1.6 x faster.

JAX (``jax_jit``): the same convolution and network with ``jax.lax.conv_general_dilated`` and
``reduce_window`` under ``jax.jit`` (``_jax.py``), float32, on the cell's device; its compile is
the first call.

``--threads N`` reaches the cell process as ``OMP_NUM_THREADS=N``; the wg training step then runs
``Sequential(threads=N)`` (the batch split into N shards on N threads, BLAS pinned to one thread
per shard), torch ``set_num_threads(N)`` through the same variable.

The NumPy reference is written independently of wg_convnet: convolution as a sum over kernel
offsets of ``einsum`` contractions, pooling by reshaping into windows. Every implementation must
match it (ADBench's rho within the benchmark's ``tolerance``) before it is timed.

``--device cuda``: the NumPy reference stays on the CPU (the harness gates on host copies); wg runs
the same layers through the array API on CuPy arrays (array-api-compat), or on torch CUDA tensors
when CuPy is not installed; torch runs on CUDA tensors with TF32 off (plain float32, like the
others). The inputs are moved to the GPU in ``setup_<impl>``, so the timed calls never copy them.
On a GPU machine where neither CuPy nor a CUDA torch is installed, the wg cuda cells are skipped
with what to install (a setup raising NotImplementedError, as in asv).

TF32 is switched off, but cuDNN's float32 gradients of a convolution may still miss the
tolerance (``fp32_precision`` and deterministic algorithms do not change that): the gate then
reports the torch cuda cell as a ``mismatch`` rather than timing it. Which cells, and by how
much, is recorded with each published GPU run (docs/benchmarks/RUNS.md).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from wg_bench.discovery import load_module

_jax = load_module(Path(__file__).with_name("_jax.py"))

TORCH = ("torch", "pip install torch (CPU wheel; a CUDA build for --device cuda)")
PEERS = {"torch": TORCH, "jax_jit": _jax.JAX}

#: name -> (batch, in channels, side, filters): the two sizes the issue names
CONV_SIZES = {"1x28x28->32": (64, 1, 28, 32), "32x13x13->64": (64, 32, 13, 64)}


# ---------------------------------------------------------------- devices
def wg_namespace(device: str) -> tuple[Any, Any]:
    """(array namespace, device) that wg_convnet runs on for a cell of ``device``: NumPy on the
    CPU; on CUDA, CuPy through array-api-compat, else torch CUDA tensors."""
    if device == "cpu":
        return np, None
    try:
        import array_api_compat.cupy as xp
        import cupy  # noqa: F401  (array_api_compat.cupy imports lazily)

        return xp, None  # CuPy's current device
    except ImportError:
        pass
    try:
        return torch_namespace(device)
    except (ImportError, NotImplementedError) as exc:
        raise NotImplementedError(
            f"wg on {device} needs CuPy (pip install cupy-cuda12x) or a CUDA build of torch: {exc}"
        ) from exc


def torch_namespace(device: str) -> tuple[Any, Any]:
    """(array_api_compat.torch, torch.device(device)); on CUDA with TF32 off (plain float32)."""
    import array_api_compat.torch as xp
    import torch

    if device == "cuda":
        if not torch.cuda.is_available():
            raise NotImplementedError(f"torch {torch.__version__} sees no CUDA device")
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    return xp, torch.device(device)


def on_device(xp: Any, dev: Any, *arrays: np.ndarray) -> list[Any]:
    """Copies of host ``arrays`` in namespace ``xp`` on ``dev`` (NumPy: the arrays themselves)."""
    if xp is np:
        return list(arrays)
    return [xp.asarray(a.copy(), **({"device": dev} if dev is not None else {})) for a in arrays]


def torch_tensors(device: str, *arrays: np.ndarray) -> list[Any]:
    """torch tensors on ``device`` holding copies of host ``arrays``."""
    import torch

    dev = torch_namespace(device)[1]
    return [torch.tensor(a, device=dev) for a in arrays]


# ---------------------------------------------------------------- the independent NumPy reference
def ref_conv_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Stride 1, no padding: y = sum over offsets (i, j) of W[:, :, i, j] . x shifted."""
    k = w.shape[2]
    oh, ow = x.shape[2] - k + 1, x.shape[3] - k + 1
    y = np.zeros((x.shape[0], w.shape[0], oh, ow), dtype=x.dtype)
    for i in range(k):
        for j in range(k):
            y += np.einsum("nchw,fc->nfhw", x[:, :, i : i + oh, j : j + ow], w[:, :, i, j])
    return y + b[None, :, None, None]


def ref_conv_backward(x: np.ndarray, w: np.ndarray, dy: np.ndarray):
    """(dx, dW, db) of ref_conv_forward."""
    k = w.shape[2]
    oh, ow = dy.shape[2:]
    dx, dw = np.zeros_like(x), np.zeros_like(w)
    for i in range(k):
        for j in range(k):
            dw[:, :, i, j] = np.einsum("nfhw,nchw->fc", dy, x[:, :, i : i + oh, j : j + ow])
            dx[:, :, i : i + oh, j : j + ow] += np.einsum("nfhw,fc->nchw", dy, w[:, :, i, j])
    return dx, dw, dy.sum(axis=(0, 2, 3))


def ref_pool_forward(x: np.ndarray):
    """2x2 max pooling, floor mode; returns output and the (first) argmax of each window."""
    n, c, h, w = x.shape
    oh, ow = h // 2, w // 2
    win = x[:, :, : 2 * oh, : 2 * ow].reshape(n, c, oh, 2, ow, 2).transpose(0, 1, 2, 4, 3, 5)
    win = win.reshape(n, c, oh, ow, 4)
    arg = win.argmax(axis=-1)
    return np.take_along_axis(win, arg[..., None], axis=-1)[..., 0], arg


def ref_pool_backward(x_shape: tuple[int, ...], arg: np.ndarray, dy: np.ndarray) -> np.ndarray:
    n, c, oh, ow = dy.shape
    onehot = (arg[..., None] == np.arange(4)) * dy[..., None]
    win = (
        onehot.reshape(n, c, oh, ow, 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(n, c, 2 * oh, 2 * ow)
    )
    dx = np.zeros(x_shape, dtype=dy.dtype)
    dx[:, :, : 2 * oh, : 2 * ow] = win
    return dx


def ref_training_step(params: list[np.ndarray], x: np.ndarray, y: np.ndarray, lr: float):
    """conv16-3 -> relu -> pool -> conv32-3 -> relu -> pool -> dense10, SGD in place."""
    w1, b1, w2, b2, w3, b3 = params
    z1 = ref_conv_forward(x, w1, b1)
    a1 = np.maximum(z1, 0)
    p1, arg1 = ref_pool_forward(a1)
    z2 = ref_conv_forward(p1, w2, b2)
    a2 = np.maximum(z2, 0)
    p2, arg2 = ref_pool_forward(a2)
    flat = p2.reshape(len(x), -1)
    logits = flat @ w3 + b3
    shifted = logits - logits.max(axis=1, keepdims=True)
    prob = np.exp(shifted)
    prob /= prob.sum(axis=1, keepdims=True)
    loss = -np.mean(np.log(prob[np.arange(len(y)), y]))
    dlogits = prob
    dlogits[np.arange(len(y)), y] -= 1
    dlogits /= len(y)
    dw3, db3 = flat.T @ dlogits, dlogits.sum(axis=0)
    dp2 = (dlogits @ w3.T).reshape(p2.shape)
    dz2 = ref_pool_backward(a2.shape, arg2, dp2) * (z2 > 0)
    dp1, dw2, db2 = ref_conv_backward(p1, w2, dz2)
    dz1 = ref_pool_backward(a1.shape, arg1, dp1) * (z1 > 0)
    _, dw1, db1 = ref_conv_backward(x, w1, dz1)
    grads = [dw1, db1, dw2, db2, dw3, db3]
    for p, g in zip(params, grads, strict=True):
        p -= lr * g
    return np.float32(loss), grads


def _wg_step_model(weights: list[np.ndarray], xp: Any = np, dev: Any = None):
    from wg_convnet import Conv2D, Dense, Flatten, MaxPool2D, ReLU, Sequential

    threads = max(1, int(os.environ.get("OMP_NUM_THREADS", "1") or 1))
    net = Sequential(
        [Conv2D(1, 16, 3), ReLU(), MaxPool2D(2), Conv2D(16, 32, 3), ReLU(), MaxPool2D(2),
         Flatten(), Dense(32 * 5 * 5, 10)], threads=threads,
    ).build(0, xp, dev)  # fmt: skip
    for layer, (w, b) in zip([net.layers[0], net.layers[3], net.layers[7]],
                             [weights[0:2], weights[2:4], weights[4:6]], strict=True):  # fmt: skip
        layer.params["W"], layer.params["b"] = (  # copies: SGD updates them in place
            [w.copy(), b.copy()] if xp is np else on_device(xp, dev, w, b)
        )
    return net


# ---------------------------------------------------------------- benchmarks
class Conv2DForwardBackward:
    """Conv2D 3x3 forward + backward (dx, dW, db), batch 64, float32."""

    params: ClassVar[list[list[Any]]] = [list(CONV_SIZES)]
    param_names: ClassVar[list[str]] = ["shape"]
    reference = "numpy"
    # dW sums 43,264 float32 products per entry, and each library orders those sums its own
    # way: the tolerance is float32 rounding of such sums, not 1e-4; a real bug is far above it.
    tolerance = 1e-3
    timeout = 300
    requires: ClassVar[dict[str, tuple[str, str]]] = PEERS
    devices = ("cpu", "cuda")  # numpy stays on the CPU; see the module docstring
    targets: ClassVar[list[dict[str, Any]]] = [
        {"params": None, "ours": "wg", "peer": "torch", "max_ratio": 1.5}
    ]

    def setup(self, device: str, shape: str) -> None:
        n, c, side, f = CONV_SIZES[shape]
        rng = np.random.default_rng(0)
        self.x = rng.normal(size=(n, c, side, side)).astype(np.float32)
        self.w = (rng.normal(size=(f, c, 3, 3)) * np.sqrt(2 / (9 * c))).astype(np.float32)
        self.b = rng.normal(size=f).astype(np.float32)
        self.dy = rng.normal(size=(n, f, side - 2, side - 2)).astype(np.float32)
        self.device = device

    def impl_numpy(self) -> Any:
        y = ref_conv_forward(self.x, self.w, self.b)
        return (y, *ref_conv_backward(self.x, self.w, self.dy))

    def setup_wg(self) -> None:
        from wg_convnet import Conv2D

        xp, dev = wg_namespace(self.device)
        self.gx, w, b, self.gdy = on_device(xp, dev, self.x, self.w, self.b, self.dy)
        self.layer = Conv2D(self.x.shape[1], self.w.shape[0], 3)
        self.layer.params = {"W": w, "b": b}

    def impl_wg(self) -> Any:
        y = self.layer.forward(self.gx, training=True)
        dx = self.layer.backward(self.gdy)
        return y, dx, self.layer.grads["W"], self.layer.grads["b"]

    def setup_torch(self) -> None:
        self.tx, self.tw, self.tb, self.tdy = torch_tensors(
            self.device, self.x, self.w, self.b, self.dy
        )
        for t in (self.tx, self.tw, self.tb):
            t.requires_grad_(True)

    def impl_torch(self) -> Any:
        import torch

        y = torch.nn.functional.conv2d(self.tx, self.tw, self.tb)
        return (y, *torch.autograd.grad(y, (self.tx, self.tw, self.tb), self.tdy))

    def setup_jax_jit(self) -> None:
        jax, dev = _jax.import_jax(self.device)
        self.jfn = jax.jit(_jax.conv_forward_backward(jax))
        self.jargs = _jax.put(jax, dev, (self.x, self.w, self.b, self.dy))

    def impl_jax_jit(self) -> Any:
        return self.jfn(*self.jargs)


class TrainingStep:
    """One SGD step of conv16-3 > pool > conv32-3 > pool > dense10 on 64 MNIST-sized images."""

    params: ClassVar[list[list[Any]]] = [[64]]
    param_names: ClassVar[list[str]] = ["batch"]
    reference = "numpy"
    tolerance = 1e-3  # float32 gradient sums over 64 x 26 x 26 positions, as in Conv2D above
    timeout = 300
    requires: ClassVar[dict[str, tuple[str, str]]] = PEERS
    devices = ("cpu", "cuda")  # numpy stays on the CPU; see the module docstring
    targets: ClassVar[list[dict[str, Any]]] = [
        {"params": None, "ours": "wg", "peer": "torch", "max_ratio": 1.3}
    ]
    lr = 1e-3

    def setup(self, device: str, batch: int) -> None:
        rng = np.random.default_rng(1)
        self.x = rng.random((batch, 1, 28, 28), dtype=np.float32)
        self.y = rng.integers(0, 10, size=batch)
        shapes = [(16, 1, 3, 3), (16,), (32, 16, 3, 3), (32,), (800, 10), (10,)]
        fans = [9, 1, 144, 1, 800, 1]
        self.weights = [
            (rng.normal(size=s) * np.sqrt(2 / fan)).astype(np.float32)
            for s, fan in zip(shapes, fans, strict=True)
        ]
        self.device = device

    def setup_numpy(self) -> None:
        self.ref_params = [w.copy() for w in self.weights]

    def impl_numpy(self) -> Any:
        return ref_training_step(self.ref_params, self.x, self.y, self.lr)

    def setup_wg(self) -> None:
        from wg_convnet import SGD

        xp, dev = wg_namespace(self.device)
        self.gx, self.gy = on_device(xp, dev, self.x, self.y)
        self.net = _wg_step_model(self.weights, xp, dev)
        self.opt = SGD(self.lr)

    def impl_wg(self) -> Any:
        from wg_convnet import softmax_cross_entropy

        out = self.net.forward(self.gx, training=True)
        loss, grad = softmax_cross_entropy(out, self.gy)
        self.net.backward(grad)
        params, grads = self.net.parameters()
        self.opt.step(params, grads)
        return np.float32(loss), grads  # per layer, sorted by name: W then b

    def setup_torch(self) -> None:
        import torch

        nn = torch.nn
        self.tnet = nn.Sequential(
            nn.Conv2d(1, 16, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(16, 32, 3), nn.ReLU(),
            nn.MaxPool2d(2), nn.Flatten(), nn.Linear(800, 10),
        ).to(torch_namespace(self.device)[1])  # fmt: skip
        with torch.no_grad():
            tensors = torch_tensors(self.device, *self.weights)
            tensors[4] = tensors[4].T.contiguous()
            for p, t in zip(self.tnet.parameters(), tensors, strict=True):
                p.copy_(t)
        self.topt = torch.optim.SGD(self.tnet.parameters(), lr=self.lr)
        self.tx, self.ty = torch_tensors(self.device, self.x, self.y)

    def impl_torch(self) -> Any:
        import torch

        self.topt.zero_grad()
        loss = torch.nn.functional.cross_entropy(self.tnet(self.tx), self.ty)
        loss.backward()
        self.topt.step()
        grads = [p.grad for p in self.tnet.parameters()]
        grads[4] = grads[4].T
        return loss.detach(), grads

    def setup_jax_jit(self) -> None:
        jax, dev = _jax.import_jax(self.device)
        self.jstep = jax.jit(_jax.training_step(jax, self.lr))
        self.jparams = list(_jax.put(jax, dev, tuple(self.weights)))
        self.jx, self.jy = _jax.put(jax, dev, (self.x, self.y.astype(np.int32)))

    def impl_jax_jit(self) -> Any:
        self.jparams, loss, grads = self.jstep(self.jparams, self.jx, self.jy)
        return loss, grads


class MaxPoolForwardBackward:
    """MaxPool2D 2x2 forward + backward on (64, 32, 26, 26) float32."""

    params: ClassVar[list[list[Any]]] = [[64]]
    param_names: ClassVar[list[str]] = ["batch"]
    reference = "numpy"
    tolerance = 1e-6
    requires: ClassVar[dict[str, tuple[str, str]]] = {"torch": TORCH}
    devices = ("cpu", "cuda")  # numpy stays on the CPU; see the module docstring

    def setup(self, device: str, batch: int) -> None:
        rng = np.random.default_rng(2)
        self.x = rng.normal(size=(batch, 32, 26, 26)).astype(np.float32)
        self.dy = rng.normal(size=(batch, 32, 13, 13)).astype(np.float32)
        self.device = device

    def impl_numpy(self) -> Any:
        y, arg = ref_pool_forward(self.x)
        return y, ref_pool_backward(self.x.shape, arg, self.dy)

    def setup_wg(self) -> None:
        from wg_convnet import MaxPool2D

        self.gx, self.gdy = on_device(*wg_namespace(self.device), self.x, self.dy)
        self.pool = MaxPool2D(2)

    def impl_wg(self) -> Any:
        y = self.pool.forward(self.gx, training=True)
        return y, self.pool.backward(self.gdy)

    def setup_torch(self) -> None:
        self.tx, self.tdy = torch_tensors(self.device, self.x, self.dy)
        self.tx.requires_grad_(True)

    def impl_torch(self) -> Any:
        import torch

        y = torch.nn.functional.max_pool2d(self.tx, 2)
        return y, torch.autograd.grad(y, self.tx, self.tdy)[0]
