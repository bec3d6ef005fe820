"""wg_convnet at a git revision vs the working tree vs PyTorch CPU, interleaved block by block.

The revision's ``wg_convnet`` is extracted with ``git archive`` into a temporary folder and
imported as ``wg_convnet_<short hash>`` beside the working tree's, so both run in one process
and load from other work on a shared machine hits them alike. Prints, for the bench suite's
Conv2D forward+backward cells and its training step, the median of each and the ratios to torch.

Usage (from the repository root):
    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 \\
        python packages/convnet/tools/compare_revision.py REV [rounds]

Default 40 rounds; each round times every call in a block of 3 after one untimed call.
"""

from __future__ import annotations

import importlib
import io
import re
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from torch_timing import load_suite

ROOT = Path(__file__).resolve().parents[3]
PACKAGE = "packages/convnet/src/wg_convnet"


def import_revision(rev: str, folder: Path):
    """Import wg_convnet as it was at ``rev`` under the name wg_convnet_<hash>."""
    sha = subprocess.run(["git", "rev-parse", "--short", rev], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout.strip()  # fmt: skip
    name = f"wg_convnet_{sha}"
    blob = subprocess.run(["git", "archive", rev, PACKAGE], cwd=ROOT, check=True,
                          capture_output=True).stdout  # fmt: skip
    with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
        tar.extractall(folder, filter="data")
    target = folder / name
    (folder / PACKAGE).rename(target)
    for path in target.rglob("*.py"):
        path.write_text(re.sub(r"\bwg_convnet\b", name, path.read_text()))
    sys.path.insert(0, str(folder))
    return importlib.import_module(name)


def interleaved(calls: dict, rounds: int, repeat: int = 3) -> dict[str, tuple[float, float]]:
    """Median (wall ms, process CPU ms) of each call, timed in blocks taken in turn.

    Each block is one untimed call, then ``repeat`` timed calls back to back, as the harness
    times a cell: a call timed right after a different one pays for that one's cache footprint,
    which biased the per-call interleaving this replaced (~10% between identical code on the
    1x28x28 Conv2D cell, in favour of whichever call came second).
    """
    times: dict[str, tuple[list[float], list[float]]] = {key: ([], []) for key in calls}
    for _ in range(rounds):
        for key, call in calls.items():
            call()
            start, start_cpu = time.perf_counter(), time.process_time()
            for _ in range(repeat):
                call()
            times[key][0].append((time.perf_counter() - start) / repeat)
            times[key][1].append((time.process_time() - start_cpu) / repeat)
    return {
        key: (float(np.median(w)) * 1e3, float(np.median(c)) * 1e3) for key, (w, c) in times.items()
    }


def old_step(old, bench):
    net = old.Sequential(
        [old.Conv2D(1, 16, 3), old.ReLU(), old.MaxPool2D(2), old.Conv2D(16, 32, 3), old.ReLU(),
         old.MaxPool2D(2), old.Flatten(), old.Dense(800, 10)]
    ).build(0)  # fmt: skip
    for index, k in ((0, 0), (3, 2), (7, 4)):
        net.layers[index].params["W"] = bench.weights[k].copy()
        net.layers[index].params["b"] = bench.weights[k + 1].copy()
    opt = old.SGD(bench.lr)

    def step() -> None:
        out = net.forward(bench.x, training=True)
        _, grad = old.softmax_cross_entropy(out, bench.y)
        net.backward(grad)
        opt.step(*net.parameters())

    return step


def report(label: str, m: dict[str, tuple[float, float]], rev: str) -> None:
    for kind, k in (("wall", 0), ("cpu", 1)):
        old, new, torch = m["old"][k], m["new"][k], m["torch"][k]
        print(
            f"{label} [{kind}]: {rev} {old:.2f} ms ({old / torch:.2f}x torch), "
            f"working tree {new:.2f} ms ({new / torch:.2f}x torch), torch {torch:.2f} ms"
        )


def main() -> None:
    import torch

    rev = sys.argv[1]
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 40
    torch.set_num_threads(1)
    suite = load_suite()
    with tempfile.TemporaryDirectory() as tmp:
        old = import_revision(rev, Path(tmp))
        for shape in suite.CONV_SIZES:
            new = suite.Conv2DForwardBackward()
            new.setup("cpu", shape)
            new.setup_wg()
            new.setup_torch()
            layer = old.Conv2D(new.x.shape[1], new.w.shape[0], 3)
            layer.params = {"W": new.w, "b": new.b}

            def old_conv(layer=layer, new=new) -> None:
                layer.forward(new.x, training=True)
                layer.backward(new.dy)

            calls = {"old": old_conv, "new": new.impl_wg, "torch": new.impl_torch}
            report(f"Conv2D {shape}", interleaved(calls, rounds), rev)
        new = suite.TrainingStep()
        new.setup("cpu", 64)
        new.setup_wg()
        new.setup_torch()
        calls = {"old": old_step(old, new), "new": new.impl_wg, "torch": new.impl_torch}
        report("TrainingStep(64)", interleaved(calls, rounds), rev)


if __name__ == "__main__":
    main()
