"""Peak memory of one training step (conv16-3 > pool > conv32-3 > pool > dense10) vs batch size.

Activations and gradients grow linearly with the batch; the im2col scratch must not. The script
measures the tracemalloc peak of one step (NumPy reports its buffers to tracemalloc) at several
batch sizes, fits the per-sample slope between the two largest, and prints the batch-independent
remainder ``peak - slope * batch``: the scratch the issue bounds by 64 MiB.

Usage: python tools/convnet_step_memory.py [batch ...]
"""

from __future__ import annotations

import sys
import tracemalloc

import numpy as np
from wg_convnet import SGD, Conv2D, Dense, Flatten, MaxPool2D, ReLU, Sequential
from wg_convnet.losses import softmax_cross_entropy


def step_peak(batch: int) -> int:
    net = Sequential(
        [Conv2D(1, 16, 3), ReLU(), MaxPool2D(2), Conv2D(16, 32, 3), ReLU(), MaxPool2D(2),
         Flatten(), Dense(800, 10)]
    ).build(0)  # fmt: skip
    rng = np.random.default_rng(0)
    x = rng.random((batch, 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, size=batch)
    opt = SGD(0.01)
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    out = net.forward(x, training=True)
    _, grad = softmax_cross_entropy(out, y)
    net.backward(grad)
    params, grads = net.parameters()
    opt.step(params, grads)
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return peak


def main() -> None:
    batches = [int(b) for b in sys.argv[1:]] or [64, 256, 1024, 2048]
    peaks = {b: step_peak(b) for b in batches}
    big, bigger = sorted(batches)[-2:]
    slope = (peaks[bigger] - peaks[big]) / (bigger - big)
    mib = 2**20
    print(f"per-sample activations + gradients: {slope / 1024:.1f} KiB")
    for b in batches:
        print(
            f"batch {b:5d}: peak {peaks[b] / mib:8.1f} MiB, "
            f"batch-independent part {(peaks[b] - slope * b) / mib:6.1f} MiB"
        )


if __name__ == "__main__":
    main()
