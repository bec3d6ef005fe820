"""Downloaded datasets (MNIST, Fashion-MNIST, CIFAR-10): mirrors, SHA-256, cache, offline import.

Files land in ``cache_root() / <dataset>``: the folder named by the environment variable
``WG_CONVNET_CACHE``, else the platform cache folder (``pooch.os_cache("wg-convnet")``). Every file
is checked against its SHA-256 before it enters the cache: pooch's downloader writes through
``wg_io.output`` (a temporary file published by rename) and the file is published only when its
hash matches, so a corrupt or truncated download never stays.

A gzip file may also carry the SHA-256 of its decompressed content (``raw_sha256``): then
``--from DIR`` also takes the uncompressed file (``train-images-idx3-ubyte`` for
``train-images-idx3-ubyte.gz``, as torchvision's ``raw/`` folder and other copies hold it) and a
gzip file compressed differently; the cache keeps the copy that was checked against its hash.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

from wg_io.output import OutputError, open_output

from wg_convnet.errors import DatasetError

CACHE_ENV = "WG_CONVNET_CACHE"


@dataclass(frozen=True)
class RemoteFile:
    """One file of a dataset: its name in the cache, SHA-256 and the URLs to try in order.

    ``raw_sha256``, for a ``.gz`` file, is the SHA-256 of its decompressed content ("" if unknown).
    """

    name: str
    sha256: str
    urls: tuple[str, ...]
    raw_sha256: str = ""

    @property
    def raw_name(self) -> str:
        """The name of the decompressed file (the name without ``.gz``)."""
        return self.name.removesuffix(".gz")

    def located(self, folder: Path) -> tuple[Path, str] | None:
        """(path, expected SHA-256) of this file in ``folder``: the gzip file, else the
        decompressed one when its hash is known; None when neither is there."""
        if (folder / self.name).is_file():
            return folder / self.name, self.sha256
        if self.raw_sha256 and (folder / self.raw_name).is_file():
            return folder / self.raw_name, self.raw_sha256
        return None


@dataclass(frozen=True)
class RemoteDataset:
    """A downloadable dataset: its files and the format they are in."""

    name: str
    description: str
    files: tuple[RemoteFile, ...]
    fmt: Literal["idx", "cifar"]  # LeCun's IDX arrays, or the CIFAR binary batches


def _idx_files(
    urls: tuple[str, ...], hashes: dict[str, str], raw_hashes: tuple[str, ...] = ("",) * 4
) -> tuple[RemoteFile, ...]:
    return tuple(
        RemoteFile(name, sha, tuple(base + name for base in urls), raw)
        for (name, sha), raw in zip(hashes.items(), raw_hashes, strict=True)
    )


MNIST_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
               "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")  # fmt: skip

REMOTE: dict[str, RemoteDataset] = {
    "mnist": RemoteDataset(
        "mnist",
        "MNIST handwritten digits, 60000 + 10000 images 1x28x28 (11 MB)",
        _idx_files(
            (
                "https://ossci-datasets.s3.amazonaws.com/mnist/",
                "https://storage.googleapis.com/cvdf-datasets/mnist/",
            ),
            dict(
                zip(
                    MNIST_FILES,
                    (
                        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
                        "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
                        "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
                        "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
                    ),
                    strict=True,
                )
            ),
            (  # SHA-256 of the decompressed IDX files, for `--from DIR` with uncompressed copies
                "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
                "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
                "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
                "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
            ),
        ),
        "idx",
    ),
    "fashion-mnist": RemoteDataset(
        "fashion-mnist",
        "Fashion-MNIST clothing images, 60000 + 10000 images 1x28x28 (30 MB)",
        _idx_files(
            ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
            dict(
                zip(
                    MNIST_FILES,
                    (
                        "08dc20ab1689590a0bcd66e874647b6ee8464e2d501b5a3f1f78831db19a3fdc",
                        "b0197879cbda89f3dc7b894f9fd52b858e68ea4182b6947c9d8c2b67e5f18dcc",
                        "78dcbbfb5a27efaf1b6c1d616caca68560be8766c5bffcb2791df9273a534229",
                        "42bd18137a62d5998cdeae52bf3a0676ac6b706f5cf8439b47bb5b151ae3dccf",
                    ),
                    strict=True,
                )
            ),
            (
                "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
                "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
                "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
                "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
            ),
        ),
        "idx",
    ),
    "cifar10": RemoteDataset(
        "cifar10",
        "CIFAR-10 colour images in 10 classes, 50000 + 10000 images 3x32x32 (170 MB)",
        (
            RemoteFile(
                "cifar-10-binary.tar.gz",
                "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd",
                ("https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",),
            ),
        ),
        "cifar",
    ),
}


def cache_root() -> Path:
    """The cache folder: ``$WG_CONVNET_CACHE`` if set, else the platform cache dir."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env)
    import pooch

    return Path(pooch.os_cache("wg-convnet"))


def spec_for(name: str) -> RemoteDataset:
    """The registry entry of a downloadable dataset, or DatasetError listing the known names."""
    try:
        return REMOTE[name]
    except KeyError:
        raise DatasetError(
            f"unknown downloadable dataset {name!r}; choose one of {', '.join(sorted(REMOTE))}"
        ) from None


def sha256_of(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(2**20), b""):
            digest.update(block)
    return digest.hexdigest()


def dataset_dir(spec: RemoteDataset, cache: Path | None = None) -> Path:
    return (cache if cache is not None else cache_root()) / spec.name


def verify(spec: RemoteDataset, cache: Path | None = None) -> dict[str, str]:
    """Each file's state in the cache: ``"ok"``, ``"missing"`` or ``"corrupt"`` (bad SHA-256).

    One entry per file of ``spec``, in order, named as found in the cache.
    """
    folder = dataset_dir(spec, cache)
    status = {}
    for f in spec.files:
        found = f.located(folder)
        if found is None:
            status[f.name] = "missing"
        else:  # keyed by the file found: the gzip file or its decompressed copy
            status[found[0].name] = "ok" if sha256_of(found[0]) == found[1] else "corrupt"
    return status


def fetch(spec: RemoteDataset, cache: Path | None = None) -> list[str]:
    """Download every missing or corrupt file; return one line per file saying what happened.

    Each download is written through ``wg_io.output`` and published in the cache only once its
    SHA-256 matches; a corrupt, truncated or failed download leaves nothing behind. A cache that
    cannot be written raises ``wg_io.output.OutputError`` at once.
    """
    folder = dataset_dir(spec, cache)
    report = []
    for f, state in zip(spec.files, verify(spec, cache).values(), strict=True):
        if state == "ok":
            report.append(f"{f.name}: already cached")
            continue
        if state == "corrupt":
            (f.located(folder) or (folder / f.name,))[0].unlink()
        errors = []
        for url in f.urls:
            try:
                _download(url, folder / f.name, f.sha256)
                break
            except OutputError:
                raise  # the cache cannot be written: another mirror would not help
            except ValueError as exc:
                errors.append(f"{url}: {exc}")
            except Exception as exc:  # network errors of requests/urllib: try the next mirror
                errors.append(f"{url}: {type(exc).__name__}: {exc}")
        else:
            raise DatasetError(
                f"{spec.name}: could not download {f.name}:\n  "
                + "\n  ".join(errors)
                + f"\nIf you have the file, import it with `wg convnet datasets fetch {spec.name} "
                "--from DIR`."
            )
        prefix = "replaced corrupt file, " if state == "corrupt" else ""
        report.append(f"{f.name}: {prefix}downloaded and verified (sha256 {f.sha256[:12]}...)")
    return report


class _HashingWriter:
    """A file-like object that writes to ``out``, hashes what passes through, and keeps the
    error of a failed write (so it is told apart from the network's errors, also OSErrors)."""

    def __init__(self, out: BinaryIO) -> None:
        self.out = out
        self.sha256 = hashlib.sha256()
        self.error: OSError | None = None

    def write(self, data: bytes) -> int:
        self.sha256.update(data)
        try:
            return self.out.write(data)
        except OSError as exc:
            self.error = exc
            raise

    def flush(self) -> None:
        # pooch flushes after every chunk; wg_io flushes and syncs once, before publishing.
        pass


def _download(url: str, target: Path, sha256: str) -> None:
    """Download ``url`` to ``target``, published only when its SHA-256 is ``sha256``.

    Raises ``ValueError`` for a wrong hash or a network failure, ``OutputError`` when the
    cache cannot be written.
    """
    import pooch

    downloader = pooch.downloaders.choose_downloader(url, progressbar=False)
    with open_output(target, make_parents=True) as out:
        writer = _HashingWriter(out)
        try:
            downloader(url, writer, None)
        except OSError as exc:
            if exc is writer.error:
                raise  # the cache's disk: wg_io names the target and says what to do
            raise ValueError(f"{type(exc).__name__}: {exc}") from None
        found = writer.sha256.hexdigest()
        if found != sha256:  # raised inside the block: wg_io publishes nothing
            raise ValueError(
                f"corrupt or truncated download (SHA-256 {found}, expected {sha256}); deleted"
            )


def import_from(spec: RemoteDataset, source: Path, cache: Path | None = None) -> list[str]:
    """Copy the dataset's files from a local folder into the cache after checking their SHA-256.

    Where the SHA-256 of a gzip file's decompressed content is pinned, the folder may also hold the
    uncompressed file, or a gzip file compressed differently (Debian's dataset packages hold such
    copies): then the decompressed content is checked and cached.
    """
    folder = dataset_dir(spec, cache)
    located = [(f, f.located(source)) for f in spec.files]
    missing = [
        f.name + (f" (or {f.raw_name})" if f.raw_sha256 else "") for f, at in located if at is None
    ]
    if missing:
        raise DatasetError(f"{source}: missing {', '.join(missing)} for dataset {spec.name}")
    plan = [_checked(f, *at) for f, at in located if at is not None]
    report = []
    for f, (path, name, decompress) in zip(spec.files, plan, strict=True):
        target = folder / name
        if target.exists() and os.path.samefile(path, target):
            report.append(f"{name}: already in the cache and verified")
            continue
        _copy(path, target, decompress)
        other = folder / (f.raw_name if name == f.name else f.name)
        other.unlink(missing_ok=True)  # one copy per file: the one just verified
        how = f"decompressed from {path}" if decompress else f"imported from {path.parent}"
        report.append(f"{name}: {how} and verified")
    return report


def _checked(f: RemoteFile, path: Path, expected: str) -> tuple[Path, str, bool]:
    """(file to copy, its name in the cache, whether to decompress it) once its hash matches."""
    found = sha256_of(path)
    if found == expected:
        return path, path.name, False
    if path.name == f.name and f.raw_sha256 and _gunzip_sha256(path) == f.raw_sha256:
        return path, f.raw_name, True
    raise DatasetError(
        f"{path}: SHA-256 {found} does not match the expected {expected}"
        + (" (nor does its decompressed content)" if path.name == f.name and f.raw_sha256 else "")
        + "; the file is corrupt or a different version"
    )


def _gunzip_sha256(path: Path) -> str:
    """SHA-256 of a gzip file's decompressed content; "" if it is not a valid gzip file."""
    digest = hashlib.sha256()
    try:
        with gzip.open(path, "rb") as fh:
            for block in iter(lambda: fh.read(2**20), b""):
                digest.update(block)
    except (OSError, EOFError, zlib.error):
        return ""
    return digest.hexdigest()


def _copy(source: Path, target: Path, decompress: bool = False) -> None:
    """Copy (or gunzip) ``source`` to ``target`` through ``wg_io.output``."""
    with open_output(target, inputs=[source], make_parents=True) as out:
        if decompress:
            with gzip.open(source, "rb") as src:
                shutil.copyfileobj(src, out, 2**20)
        else:
            with open(source, "rb") as src:
                shutil.copyfileobj(src, out, 2**20)


def require_cached(spec: RemoteDataset, cache: Path | None = None) -> Path:
    """The dataset's cache folder, or DatasetError saying how to fetch what is missing."""
    bad = {name: state for name, state in verify(spec, cache).items() if state != "ok"}
    if bad:
        listing = ", ".join(f"{name} ({state})" for name, state in bad.items())
        raise DatasetError(
            f"dataset {spec.name} is not in the cache {dataset_dir(spec, cache)}: {listing}; "
            f"run `wg convnet datasets fetch {spec.name}` (or `--from DIR` for local files)"
        )
    return dataset_dir(spec, cache)
