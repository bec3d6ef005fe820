"""Speed figures for `wg license check` (issue 7's targets), measured, not asserted.

Targets: the check on this repository < 0.5 s wall (a fresh `wg license check .` process, so
imports count); a generated tree of 2,000 packages < 2 s; time linear in the number of packages.

Usage (from the repository root; pin threads, the machine is shared)::

    OPENBLAS_NUM_THREADS=1 uv run python license/scripts/timing.py [--sizes 500 1000 2000 4000]

The generated tree mixes ecosystems like a real monorepo: per 10 packages, 6 pyproject.toml
(`MIT OR Apache-2.0`, two licence files, `license-files`), 2 Cargo.toml, 1 package.json and 1
St. Claire package (real text from the corpus when present, placeholders filled) that the next
package depends on; every package has one source file with an SPDX header; a uv.lock chains
them all. Reported: the median of --repeats runs of `run_check` in-process (imports excluded)
and, for the repository, the median wall time of fresh processes.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CORPUS = Path(os.environ.get("WG_CORPUS", REPO / ".." / "shared" / "corpus"))
V3 = "LicenseRef-St-Claire-0.3"
MIT = (
    "MIT License\n\nCopyright (c) 2026 Gen\n\nPermission is hereby granted, free of charge, to "
    "any person obtaining a copy of this software.\n\nThe above copyright notice and this "
    "permission notice shall be included in all copies or substantial portions of the Software.\n"
)
APACHE = "Apache License\nVersion 2.0, January 2004\nhttp://www.apache.org/licenses/\n"
TAG = "SPDX-" + "License-Identifier"


def _st_claire() -> str | None:
    path = CORPUS / "st-claire-license" / "st-claire-license-v0.3.md"
    if not path.is_file():
        return None
    return path.read_text().replace("<YEAR>", "2026").replace("<COPYRIGHT HOLDER>", "Gen")


def _package(root: Path, i: int, st_claire: str | None) -> str:
    name = f"pkg{i:05d}"
    folder = root / "packages" / name
    (folder / "src").mkdir(parents=True)
    kind = i % 10
    if kind == 9 and st_claire is not None:
        licence = V3
        (folder / "LICENSE").write_text(st_claire)
    else:
        licence = "MIT OR Apache-2.0"
        (folder / "LICENSE-MIT").write_text(MIT)
        (folder / "LICENSE-APACHE").write_text(APACHE)
    deps = [f"pkg{i - 1:05d}"] if i % 10 == 0 and i else []
    if kind in (7, 8):
        (folder / "Cargo.toml").write_text(
            f'[package]\nname = "{name}"\nversion = "0.1.0"\nlicense = "{licence}"\n'
        )
    elif kind == 6:
        (folder / "package.json").write_text(json.dumps({"name": name, "license": licence}))
    else:
        files = '["LICENSE"]' if licence == V3 else '["LICENSE-MIT", "LICENSE-APACHE"]'
        (folder / "pyproject.toml").write_text(
            f'[project]\nname = "{name}"\nversion = "0.1.0"\nlicense = "{licence}"\n'
            f"license-files = {files}\ndependencies = {json.dumps(deps)}\n"
        )
        if deps and licence != V3:
            # The dependent of a St. Claire package declares and ships it: propagation passes.
            (folder / "pyproject.toml").write_text(
                f'[project]\nname = "{name}"\nversion = "0.1.0"\n'
                f'license = "(MIT OR Apache-2.0) AND {V3}"\n'
                f'license-files = ["LICENSE*"]\ndependencies = {json.dumps(deps)}\n'
            )
            (folder / "LICENSE").write_text(st_claire or MIT)
    (folder / "src" / "lib.py").write_text(f"# {TAG}: {licence}\n\nVALUE = {i}\n")
    return name


def generate(root: Path, n: int) -> None:
    """Write a tree of ``n`` packages under ``root``."""
    st_claire = _st_claire()
    names = [_package(root, i, st_claire) for i in range(n)]
    lock = ["version = 1"]
    for i, name in enumerate(names):
        lock.append(f'[[package]]\nname = "{name}"')
        if i % 10 == 0 and i:  # the same edges as the metadata: pkg(10k) -> pkg(10k - 1)
            lock.append(f'dependencies = [{{ name = "{names[i - 1]}" }}]')
    (root / "uv.lock").write_text("\n".join(lock) + "\n")
    (root / "pyproject.toml").write_text("[tool.wg.license]\nacknowledge-unstable = true\n")


def time_check(root: Path, repeats: int) -> tuple[float, float, int, int]:
    """Median wall and CPU seconds of run_check(root), with the package and finding counts."""
    from wg_license.check import run_check

    times, cpus = [], []
    for _ in range(repeats):
        start, cpu = time.perf_counter(), time.process_time()
        report = run_check(root)
        times.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
    return (
        statistics.median(times),
        statistics.median(cpus),
        len(report.packages),
        len(report.findings),
    )


def time_repo_cli(repeats: int, bytecode: bool) -> tuple[float, float]:
    """Median wall and CPU (user + system) seconds of a fresh `wg license check <repo>`.

    CPU time is reported too because the machine is shared: wall time includes waiting for a
    core, CPU time does not. With ``bytecode`` the modules' compiled bytecode is cached (in a
    temporary PYTHONPYCACHEPREFIX, after one warm-up run), as in a normal installation; without
    it every run compiles every module from source (PYTHONDONTWRITEBYTECODE=1).
    """
    wg = Path(sys.executable).with_name("wg")
    env = dict(os.environ)
    with tempfile.TemporaryDirectory() as cache:
        if bytecode:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = cache
        else:
            env["PYTHONDONTWRITEBYTECODE"] = "1"
        command = [str(wg), "license", "check", str(REPO)]
        subprocess.run(command, check=False, stdout=subprocess.DEVNULL, env=env)  # warm-up
        walls, cpus = [], []
        for _ in range(repeats):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            subprocess.run(command, check=False, stdout=subprocess.DEVNULL, env=env)
            walls.append(time.perf_counter() - start)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 1000, 2000, 4000])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--sbom",
        type=int,
        default=2000,
        help="also time one `sbom` (build + one full spdx-tools validation) of a "
        "tree this size; 0 to skip",
    )
    args = parser.parse_args()
    for bytecode, label in ((True, "bytecode cached"), (False, "no bytecode cache")):
        wall, cpu = time_repo_cli(args.repeats, bytecode)
        print(
            f"repository, fresh `wg license check` process ({label}): {wall:.3f} s wall, "
            f"{cpu:.3f} s CPU, medians of {args.repeats} (target < 0.5 s)"
        )
    rows = []
    for n in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            generate(Path(tmp), n)
            seconds, cpu, packages, findings = time_check(Path(tmp), args.repeats)
        rows.append((n, cpu))
        print(
            f"{n:6d} packages: {seconds:.3f} s wall, {cpu:.3f} s CPU, medians of {args.repeats} "
            f"({cpu / n * 1e6:.0f} us CPU/package; {packages} manifests, {findings} findings)"
        )
    if args.sbom:
        from wg_license.sbom import write_sbom

        with tempfile.TemporaryDirectory() as tmp:
            generate(Path(tmp), args.sbom)
            start, cpu = time.perf_counter(), time.process_time()
            count = write_sbom(Path(tmp), Path(tmp) / "sbom.spdx.json")
            print(
                f"sbom of {count} packages (validated once): {time.perf_counter() - start:.3f} s "
                f"wall, {time.process_time() - cpu:.3f} s CPU, single run"
            )
    if len(rows) > 1:
        (n0, t0), (n1, t1) = rows[0], rows[-1]
        print(
            f"scaling {n0} -> {n1} packages: x{t1 / t0:.2f} CPU time for x{n1 / n0:.1f} size "
            "(linear = equal factors)"
        )


if __name__ == "__main__":
    main()
