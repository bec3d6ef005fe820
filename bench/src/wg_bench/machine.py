"""The machine fingerprint stored with every result, and the id of its history folder.

A timing means nothing without the machine: CPU model, cores, memory, GPU, OS, Python, the version
of every library involved, the BLAS library and its kernel (threadpoolctl), the thread-related
environment variables, and the git commit and whether the tree was dirty.
"""

from __future__ import annotations

import hashlib
import json
import platform
import re
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

#: every distribution whose version can change a figure
LIBRARIES = (
    "wg-bench", "wg-autodiff", "wg-convnet", "wg-online", "numpy", "scipy", "autograd",
    "vowpalwabbit", "torch", "jax", "jaxlib", "cupy-cuda12x", "cupy", "threadpoolctl", "psutil",
    "dask", "distributed",
)  # fmt: skip
#: environment variables that change how fast code runs
ENV_PREFIXES = (
    "OMP_", "OPENBLAS_", "MKL_", "VECLIB_", "BLIS_", "NUMEXPR_", "XLA_", "JAX_", "CUDA_",
    "PYTORCH_", "NUMBA_", "PYTHONHASHSEED", "WG_",
)  # fmt: skip
#: the variables the runner pins in every cell process
THREAD_VARS = (
    "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS",
    "BLIS_NUM_THREADS", "NUMEXPR_NUM_THREADS",
)  # fmt: skip


def thread_env(threads: int) -> dict[str, str]:
    """The environment that pins BLAS/OpenMP/XLA thread pools to ``threads``.

    Examples
    --------
    >>> thread_env(1)["OPENBLAS_NUM_THREADS"]
    '1'
    """
    env = dict.fromkeys(THREAD_VARS, str(threads))
    env["XLA_FLAGS"] = (
        f"--xla_cpu_multi_thread_eigen={'true' if threads > 1 else 'false'} "
        f"intra_op_parallelism_threads={threads}"
    )
    return env


def cpu_model() -> str:
    """The CPU's marketing name (``/proc/cpuinfo`` on Linux, ``platform`` elsewhere)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or platform.machine()
    match = re.search(r"^model name\s*:\s*(.+)$", text, re.MULTILINE)
    return match.group(1).strip() if match else platform.machine()


def gpus() -> list[dict[str, str]]:
    """NVIDIA GPUs as reported by ``nvidia-smi`` (an empty list when there is none)."""
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return []
    query = "--query-gpu=name,memory.total,driver_version"
    try:
        out = subprocess.run(
            [exe, query, "--format=csv,noheader"], capture_output=True, text=True, timeout=20
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    rows = [[c.strip() for c in line.split(",")] for line in out.splitlines() if line.strip()]
    return [{"name": r[0], "memory": r[1], "driver": r[2]} for r in rows if len(r) == 3]


def gpu_missing_reason() -> str | None:
    """Why CUDA cells cannot run here, or None when an NVIDIA GPU is visible."""
    if shutil.which("nvidia-smi") is None:
        return "no CUDA GPU on this machine (nvidia-smi not found)"
    if not gpus():
        return "no CUDA GPU on this machine (nvidia-smi lists none)"
    return None


def versions() -> dict[str, str]:
    """Installed versions of :data:`LIBRARIES` (absent ones are left out)."""
    found = {}
    for name in LIBRARIES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def blas(env: dict[str, str]) -> list[dict[str, Any]]:
    """threadpoolctl's view of NumPy's BLAS/OpenMP pools in a child started with ``env``.

    A child, because thread counts are read when the libraries load: the parent's pools show
    the parent's environment, not the pinned one that every cell runs with.
    """
    keys = ["user_api", "internal_api", "version", "num_threads", "threading_layer",
            "architecture", "prefix"]  # fmt: skip
    code = (
        "import json, numpy, threadpoolctl; "
        f"print(json.dumps([{{k: p[k] for k in {keys!r} if k in p}} "
        "for p in threadpoolctl.threadpool_info()]))"
    )
    try:
        done = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
        )
        pools: list[dict[str, Any]] = json.loads(done.stdout)
    except (OSError, subprocess.SubprocessError, json.JSONDecodeError):
        return []
    return pools


def git_state(directory: Path) -> dict[str, Any]:
    """Commit and dirtiness of the repository holding ``directory`` (nulls outside a repo)."""

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", *args], cwd=directory, capture_output=True, text=True, timeout=20
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no") if commit else None
    return {"commit": commit, "dirty": bool(status) if status is not None else None}


def memory_bytes() -> int:
    """Total physical memory."""
    import psutil

    return int(psutil.virtual_memory().total)


def fingerprint(repo_dir: Path, env: dict[str, str]) -> dict[str, Any]:
    """The full machine description stored in every results file.

    ``env`` is the environment the cells run with (the pinned thread counts included).
    """
    import psutil

    info: dict[str, Any] = {
        "hostname": platform.node(),
        "cpu": cpu_model(),
        "cores_physical": psutil.cpu_count(logical=False),
        "cores_logical": psutil.cpu_count(logical=True),
        "memory_bytes": memory_bytes(),
        "gpus": gpus(),
        "os": f"{platform.system()} {platform.release()}",
        "platform": platform.platform(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "libraries": versions(),
        "blas": blas(env),
        "environment": {k: v for k, v in sorted(env.items()) if k.startswith(ENV_PREFIXES)},
        "git": git_state(repo_dir),
    }
    info["id"] = machine_id(info)
    return info


def machine_id(info: dict[str, Any]) -> str:
    """A file-name-safe id: the hostname plus a hash of the hardware, so history never mixes.

    Examples
    --------
    >>> machine_id({"hostname": "box 1", "cpu": "X", "gpus": []}).startswith("box-1-")
    True
    """
    hardware = [info.get(k) for k in ("cpu", "cores_logical", "memory_bytes", "gpus")]
    digest = hashlib.sha1(repr(hardware).encode()).hexdigest()[:8]
    host = re.sub(r"[^A-Za-z0-9_.-]+", "-", str(info.get("hostname") or "machine")).strip("-")
    return f"{host or 'machine'}-{digest}"
