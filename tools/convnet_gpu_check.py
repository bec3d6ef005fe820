"""GPU check: the bench suite's training step on a GPU array namespace against NumPy.

Runs conv16-3 > pool > conv32-3 > pool > dense10 (batch 64, 1x28x28, float32) with the same
weights on NumPy and on CuPy (or torch-CUDA arrays through array-api-compat), checks that the
first step's loss and gradients agree within 1e-4 (ADBench rho), and prints the median step time
of each. Exit status 0 when they agree, 1 when they do not, 2 when no GPU backend is available.

Usage: python tools/convnet_gpu_check.py [--backend auto|cupy|torch] [--device cuda|cpu]
       [--steps 20]
(``--backend torch --device cpu`` is a dry run of the same code path on a machine without a GPU.)
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

import numpy as np

TOLERANCE = 1e-4


def make_inputs() -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    rng = np.random.default_rng(1)
    x = rng.random((64, 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, size=64)
    shapes = [(16, 1, 3, 3), (16,), (32, 16, 3, 3), (32,), (800, 10), (10,)]
    fans = [9, 1, 144, 1, 800, 1]
    scaled = zip(shapes, fans, strict=True)
    weights = [(rng.normal(size=s) * np.sqrt(2 / f)).astype(np.float32) for s, f in scaled]
    return x, y, weights


def build(weights: list[np.ndarray], xp: Any, device: Any):
    from wg_convnet import Conv2D, Dense, Flatten, MaxPool2D, ReLU, Sequential

    net = Sequential(
        [
            Conv2D(1, 16, 3),
            ReLU(),
            MaxPool2D(2),
            Conv2D(16, 32, 3),
            ReLU(),
            MaxPool2D(2),
            Flatten(),
            Dense(800, 10),
        ]
    ).build(0, xp, device)
    for layer, (w, b) in zip(
        [net.layers[0], net.layers[3], net.layers[7]],
        [weights[0:2], weights[2:4], weights[4:6]],
        strict=True,
    ):
        kwargs = {"device": device} if device is not None else {}
        # copies: asarray may share memory with the host array, and SGD updates in place
        layer.params["W"] = xp.asarray(w.copy(), dtype=xp.float32, **kwargs)
        layer.params["b"] = xp.asarray(b.copy(), dtype=xp.float32, **kwargs)
    return net


def step(net, x: Any, y: Any, opt) -> tuple[float, list[Any]]:
    from wg_convnet import softmax_cross_entropy

    out = net.forward(x, training=True)
    loss, grad = softmax_cross_entropy(out, y)
    net.backward(grad)
    params, grads = net.parameters()
    opt.step(params, grads)
    return loss, grads


def to_host(a: Any) -> np.ndarray:
    if hasattr(a, "get"):
        return a.get()
    if hasattr(a, "detach"):
        return a.detach().cpu().numpy()
    return np.asarray(a)


def backend(name: str, device: str) -> tuple[str, Any, Any, Any]:
    """(label, namespace, device, synchronize) of the requested GPU array library."""
    if name in ("auto", "cupy"):
        try:
            import array_api_compat.cupy as xp
            import cupy

            return "cupy", xp, None, cupy.cuda.Device().synchronize
        except ImportError:
            if name == "cupy":
                raise
    import array_api_compat.torch as xp
    import torch

    if device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("torch is installed but sees no CUDA device")
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    return f"torch-{device}", xp, torch.device(device), sync


def timed(run, sync, steps: int) -> float:
    times = []
    for _ in range(steps):
        sync()
        start = time.perf_counter()
        run()
        sync()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["auto", "cupy", "torch"], default="auto")
    parser.add_argument("--device", choices=["cuda", "cpu"], default="cuda")
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()
    from wg_convnet import SGD

    x, y, weights = make_inputs()
    try:
        label, xp, device, sync = backend(args.backend, args.device)
    except (ImportError, RuntimeError) as exc:
        print(f"no GPU backend: {exc}; install cupy-cuda12x or a CUDA torch", file=sys.stderr)
        return 2
    kwargs = {"device": device} if device is not None else {}
    gx, gy = xp.asarray(x, **kwargs), xp.asarray(y, **kwargs)

    cpu_net, gpu_net = build(weights, np, None), build(weights, xp, device)
    cpu_loss, cpu_grads = step(cpu_net, x, y, SGD(1e-3))
    gpu_loss, gpu_grads = step(gpu_net, gx, gy, SGD(1e-3))
    sync()
    errors = [abs(cpu_loss - gpu_loss) / max(1.0, abs(cpu_loss) + abs(gpu_loss))]
    for a, b in zip(cpu_grads, gpu_grads, strict=True):
        a, b = a.astype(np.float64), to_host(b).astype(np.float64)
        errors.append(float(np.max(np.abs(a - b) / np.maximum(1.0, np.abs(a) + np.abs(b)))))
    cpu_time = timed(lambda: step(cpu_net, x, y, SGD(1e-3)), lambda: None, args.steps)
    gpu_time = timed(lambda: step(gpu_net, gx, gy, SGD(1e-3)), sync, args.steps)
    print(f"numpy      training step: {cpu_time * 1e3:8.2f} ms (median of {args.steps})")
    print(f"{label:<10} training step: {gpu_time * 1e3:8.2f} ms (median of {args.steps})")
    print(
        f"first-step max error (rho, loss + 6 gradients): {max(errors):.2e} "
        f"(tolerance {TOLERANCE:g})"
    )
    if max(errors) > TOLERANCE:
        print("MISMATCH: GPU gradients differ from NumPy's", file=sys.stderr)
        return 1
    print("OK: gradients agree")
    return 0


if __name__ == "__main__":
    sys.exit(main())
