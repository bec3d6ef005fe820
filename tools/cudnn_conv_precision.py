"""Which output of torch's CUDA conv2d fwd+bwd (32x13x13->64, batch 64) drifts, and under which
switches.

Compares y, dx, dW and db in float32 on the GPU with float64 on the CPU (ADBench rho) under torch's
defaults, TF32 off, fp32_precision "ieee", deterministic algorithms and cuDNN disabled. Needs a CUDA
build of torch; run by tools/device_run.sh (lane gpu2).
"""

import numpy as np
import torch

rng = np.random.default_rng(0)
x = rng.normal(size=(64, 32, 13, 13)).astype(np.float32)
w = (rng.normal(size=(64, 32, 3, 3)) * np.sqrt(2 / 288)).astype(np.float32)
b = rng.normal(size=64).astype(np.float32)
dy = rng.normal(size=(64, 64, 11, 11)).astype(np.float32)


def run(dev, dtype):
    tx, tw, tb = (torch.tensor(a, device=dev, dtype=dtype, requires_grad=True) for a in (x, w, b))
    y = torch.nn.functional.conv2d(tx, tw, tb)
    g = torch.autograd.grad(y, (tx, tw, tb), torch.tensor(dy, device=dev, dtype=dtype))
    return [t.detach().cpu().double().numpy() for t in (y, *g)]


ref = run("cpu", torch.float64)
names = ["y", "dx", "dW", "db"]


def rho(a, r):
    return float(np.max(np.abs(a - r) / np.maximum(1, np.abs(a) + np.abs(r))))


def report(label):
    out = run("cuda", torch.float32)
    errs = [rho(a, r) for a, r in zip(out, ref, strict=True)]
    print(f"{label:<44}", "  ".join(f"{n}={e:.2e}" for n, e in zip(names, errs, strict=True)))


print("torch", torch.__version__, "cudnn", torch.backends.cudnn.version())
report("defaults")
torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
report("allow_tf32=False (bench before)")
torch.backends.cudnn.conv.fp32_precision = "ieee"
torch.backends.cuda.matmul.fp32_precision = "ieee"
report("+ fp32_precision='ieee'")
torch.backends.cudnn.deterministic = True
report("+ cudnn.deterministic")
torch.backends.cudnn.deterministic = False
torch.backends.cudnn.enabled = False
report("cudnn disabled")
