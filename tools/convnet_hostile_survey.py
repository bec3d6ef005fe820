"""Issue 18's hostile cases for `wg convnet` and the model-file reader, at a git revision and in
the working tree: how many of them behave.

A case behaves when the command does what a user would want (writes the right file, keeps a link a
link and a device a device, gives the file the umask's mode) or refuses in one line of stderr that
names the path or flag, without a traceback, and leaves no NaN model and no temporary file. The
model-file reader behaves on a damaged file when it raises ModelFileError (or the damage did not
change the model).

Usage (from the repository root; as root, the read-only mount and device cases also run):
    python tools/convnet_hostile_survey.py REV [NAME]

NAME runs only the cases whose name contains it (and skips the reader). Device cases write
private devices made with mknod in a temporary folder, never /dev's own: the revision's code may
rename a regular file over its output.

The revision's ``src/wg`` and ``wg_convnet`` are extracted with ``git archive`` and put first on
PYTHONPATH; the working tree's are the editable installs.
"""

from __future__ import annotations

import io
import os
import stat
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TRAIN = ["convnet", "train", "--dataset", "lines", "--epochs", "1", "--batch-size", "256",
         "--quiet"]  # fmt: skip


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str


@dataclass(frozen=True)
class Case:
    name: str
    args: list[str]
    setup: Callable[[Path], None]
    check: Callable[[Path, Run], bool]
    needs_root: bool = False
    stdout_to: str | None = None


def _nothing(folder: Path) -> None:
    pass


def _refused(flag_or_path: str, code: int = 2, absent: tuple[str, ...] = ("m.wgc",)) -> Callable:
    def check(folder: Path, run: Run) -> bool:
        lines = [line for line in run.stderr.splitlines() if line.startswith("Error:")]
        return (
            run.code == code
            and "Traceback" not in run.stderr
            and len(lines) == 1
            and flag_or_path in lines[0]
            and ".wgtmp" not in lines[0]
            and not any((folder / name).exists() for name in absent)
            and not _temporaries(folder)
        )

    return check


def _temporaries(folder: Path) -> list[Path]:
    return [p for p in folder.rglob(".*") if p.is_file()]


def _symlink(folder: Path) -> None:
    (folder / "target.wgc").write_bytes(b"old")
    (folder / "link.wgc").symlink_to(folder / "target.wgc")


def _link_kept(folder: Path, run: Run) -> bool:
    target = folder / "target.wgc"
    return run.code == 0 and (folder / "link.wgc").is_symlink() and target.read_bytes() != b"old"


def _device(folder: Path) -> None:
    # Private devices: the revision's code may rename a file over them (never over /dev's).
    os.mknod(folder / "null", 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    os.mknod(folder / "full", 0o666 | stat.S_IFCHR, os.makedev(1, 7))


def _device_kept(folder: Path, run: Run) -> bool:
    return run.code == 0 and stat.S_ISCHR(os.stat(folder / "null").st_mode)


def _read_only(folder: Path) -> None:
    (folder / "ro").mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "ro", "tmpfs", str(folder / "ro")], check=True)


def _mode_is_umask(name: str) -> Callable[[Path, Run], bool]:
    def check(folder: Path, run: Run) -> bool:
        mask = os.umask(0)
        os.umask(mask)
        path = folder / name
        return run.code == 0 and path.exists() and (path.stat().st_mode & 0o777) == 0o666 & ~mask

    return check


def _one_model(folder: Path, run: Run) -> bool:
    if run.code == 2:
        return _refused("--save")(folder, run)
    return False  # the same path for both outputs: one of them overwrote the other


def _full_kept(folder: Path, run: Run) -> bool:
    return _refused("full", code=1, absent=())(folder, run) and _device_kept(folder, Run(0, "", ""))


def _one_line(folder: Path, run: Run) -> bool:
    return run.code == 1 and len(run.stderr.splitlines()) == 1 and "Traceback" not in run.stderr


CASES = [
    Case("--lr nan", ["--lr", "nan", "--save", "m.wgc"], _nothing, _refused("'--lr'")),
    Case("--lr inf", ["--lr", "inf", "--save", "m.wgc"], _nothing, _refused("'--lr'")),
    Case("--lr 1e308", ["--lr", "1e308", "--save", "m.wgc"], _nothing, _refused("'--lr'")),
    Case("--lr -1", ["--lr", "-1", "--save", "m.wgc"], _nothing, _refused("'--lr'")),
    Case("--seed -1", ["--seed", "-1", "--save", "m.wgc"], _nothing, _refused("'--seed'")),
    Case("--seed 1.5", ["--seed", "1.5", "--save", "m.wgc"], _nothing, _refused("'--seed'")),
    Case("--epochs 0", ["--epochs", "0", "--save", "m.wgc"], _nothing, _refused("'--epochs'")),
    Case("--save link", ["--save", "link.wgc"], _symlink, _link_kept),
    Case("--json link", ["--json", "link.wgc"], _symlink, _link_kept),
    Case("--save device", ["--save", "null"], _device, _device_kept, needs_root=True),
    Case("--json device", ["--json", "null"], _device, _device_kept, needs_root=True),
    Case("--save new file mode", ["--save", "m.wgc"], _nothing, _mode_is_umask("m.wgc")),
    Case("--json new file mode", ["--json", "r.json"], _nothing, _mode_is_umask("r.json")),
    Case("--save x --json x", ["--save", "x.wgc", "--json", "x.wgc"], _nothing, _one_model),
    Case(
        "--save missing folder", ["--save", "nope/m.wgc"], _nothing, _refused("nope/m.wgc", code=1)
    ),
    Case("--save folder", ["--save", "."], _nothing, _refused("'--save'")),
    *(
        Case(
            f"{flag} {path}",
            [flag, path],
            _read_only,
            _refused(path, code=1, absent=()),
            needs_root=True,
        )
        for flag, path in (("--json", "ro/r.json"), ("--save", "ro/m.wgc"))
    ),
    Case("--json full device", ["--json", "full"], _device, _full_kept, needs_root=True),
    Case("stdout > full device", [], _device, _one_line, needs_root=True, stdout_to="full"),
]


def extract(rev: str, folder: Path) -> list[str]:
    """Extract the revision's src/wg and wg_convnet; return the PYTHONPATH entries."""
    archive = subprocess.run(
        ["git", "archive", rev, "src/wg", "packages/convnet/src"], cwd=ROOT, check=True,
        capture_output=True,
    ).stdout  # fmt: skip
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    return [str(folder / "packages/convnet/src"), str(folder / "src")]


def run_case(case: Case, pythonpath: list[str]) -> bool:
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        case.setup(folder)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(pythonpath)}
        out = open(folder / case.stdout_to, "w") if case.stdout_to else subprocess.PIPE  # noqa: SIM115
        try:
            done = subprocess.run(
                [sys.executable, "-m", "wg", *TRAIN, *case.args], cwd=folder, env=env,
                stdout=out, stderr=subprocess.PIPE, text=True, timeout=600, check=False,
            )  # fmt: skip
            return case.check(folder, Run(done.returncode, done.stdout or "", done.stderr))
        finally:
            if case.stdout_to:
                out.close()  # type: ignore[union-attr]
            if (folder / "ro").is_mount():
                subprocess.run(["umount", str(folder / "ro")], check=True)


READER = r"""
import json, struct, sys, tempfile, pathlib
from wg_convnet import Sequential, Conv2D, BatchNorm2D, ReLU, MaxPool2D, Flatten, Dense
from wg_convnet.errors import ModelFileError
folder = pathlib.Path(tempfile.mkdtemp())
good = folder / "good.wgc"
net = Sequential([Conv2D(1, 2, 3, padding=1), BatchNorm2D(2), ReLU(), MaxPool2D(2), Flatten(),
                  Dense(8, 3)]).build(0)
net.save(good)
data = good.read_bytes()
(length,) = struct.unpack("<I", data[8:12])
header = json.loads(data[12:12 + length])
def files():
    for cut in range(0, len(data), 13):
        yield data[:cut]
    for where in range(12 + length, len(data), 5):
        flipped = bytearray(data); flipped[where] ^= 1 << (where % 8); yield bytes(flipped)
    for key in ("arrays", "config", "type"):
        edited = json.loads(json.dumps(header)); del edited["layers"][0][key]
        raw = json.dumps(edited).encode()
        yield data[:8] + struct.pack("<I", len(raw)) + raw + data[12 + length:]
behaved = tried = 0
reference = [p.copy() for layer in net.layers for p in {**layer.params, **layer.state}.values()]
for blob in files():
    tried += 1
    path = folder / "bad.wgc"; path.write_bytes(blob)
    try:
        loaded = Sequential.load(path)
    except ModelFileError:
        behaved += 1
        continue
    except Exception:
        continue
    arrays = [p for layer in loaded.layers for p in {**layer.params, **layer.state}.values()]
    behaved += all((a == b).all() for a, b in zip(arrays, reference))
print(tried, behaved)
"""


def reader_cases(pythonpath: list[str]) -> tuple[int, int]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(pythonpath)}
    done = subprocess.run([sys.executable, "-c", READER], env=env, capture_output=True,
                          text=True, timeout=600, check=True)  # fmt: skip
    tried, behaved = done.stdout.split()
    return int(tried), int(behaved)


def _mark(result: bool) -> str:
    return "ok" if result else "BAD"


def main() -> None:
    rev = sys.argv[1]
    only = sys.argv[2] if len(sys.argv) > 2 else ""
    root = os.geteuid() == 0
    cases = [case for case in CASES if (root or not case.needs_root) and only in case.name]
    with tempfile.TemporaryDirectory() as name:
        before_path = extract(rev, Path(name))
        print(f"{'case':<24} {rev[:10]:>10} {'now':>6}")
        totals = [0, 0]
        for case in cases:
            results = [run_case(case, before_path), run_case(case, [])]
            totals = [t + bool(r) for t, r in zip(totals, results, strict=True)]
            print(f"{case.name:<24} {_mark(results[0]):>10} {_mark(results[1]):>6}")
        print(f"CLI: {len(cases)} cases, behaved {totals[0]} at {rev[:10]}, {totals[1]} now")
        if only:
            return
        for label, path in ((rev[:10], before_path), ("now", [])):
            tried, behaved = reader_cases(path)
            print(f"model reader at {label}: {tried} damaged files, {behaved} behaved")


if __name__ == "__main__":
    main()
