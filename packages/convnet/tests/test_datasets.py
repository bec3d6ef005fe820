"""Datasets: generator, parsers (hypothesis), downloads from a 127.0.0.1 server, safe extraction."""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import io
import os
import re
import struct
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from wg_convnet.datasets import load_dataset, load_digits, make_lines
from wg_convnet.datasets.formats import parse_cifar_batch, parse_idx, read_members
from wg_convnet.datasets.remote import (
    MNIST_FILES,
    REMOTE,
    RemoteDataset,
    RemoteFile,
    fetch,
    import_from,
    verify,
)
from wg_convnet.errors import DatasetError


def idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(np.uint8).tobytes()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ---------------------------------------------------------------- lines
def test_lines_is_deterministic_and_balanced() -> None:
    X1, y1 = make_lines(300, seed=3)
    X2, y2 = make_lines(300, seed=3)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    assert X1.dtype == np.float32
    assert X1.shape == (300, 1, 16, 16)
    assert min(np.bincount(y1, minlength=3)) > 70
    assert not np.array_equal(make_lines(10, seed=4)[0], make_lines(10, seed=3)[0])


def test_lines_edges_target_marks_exactly_the_line_pixels() -> None:
    X, mask = make_lines(50, noise=0.0, seed=1, target="edges")
    assert mask.shape == X.shape
    np.testing.assert_array_equal(X, mask)
    counts = mask.reshape(50, -1).sum(axis=1)
    assert counts.min() >= 8
    assert counts.max() <= 16


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 40), st.integers(4, 20), st.integers(0, 10**6))
def test_lines_orientation_matches_the_drawn_pixels(n, size, seed) -> None:
    X, y = make_lines(n, size=size, noise=0.0, seed=seed)
    for image, label in zip(X[:, 0], y, strict=True):
        rows, cols = np.nonzero(image)
        assert len(rows) >= size // 2
        if label == 0:
            assert len(set(rows)) == 1
        elif label == 1:
            assert len(set(cols)) == 1
        else:
            assert len(set(rows)) == len(rows)
            assert len(set(cols)) == len(cols)


def test_lines_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="size >= 4"):
        make_lines(5, size=2)
    with pytest.raises(ValueError, match="unknown target"):
        make_lines(5, target="corners")


def test_digits_split_is_stratified_and_scaled() -> None:
    data = load_digits()
    assert data.X_train.shape[1:] == (1, 8, 8)
    assert len(data.X_train) + len(data.X_test) == 1797
    assert data.X_train.min() >= 0.0
    assert data.X_train.max() <= 1.0
    assert np.bincount(data.y_test, minlength=10).min() >= 30


def test_unknown_dataset_name_is_a_clear_error() -> None:
    with pytest.raises(DatasetError, match=r"unknown dataset 'mnits'; choose one of lines, digits"):
        load_dataset("mnits")


# ---------------------------------------------------------------- parsers
@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 5), min_size=1, max_size=3), st.integers(0, 2**31))
def test_idx_roundtrip(shape, seed) -> None:
    array = np.random.default_rng(seed).integers(0, 256, size=shape).astype(np.uint8)
    np.testing.assert_array_equal(parse_idx(idx_bytes(array)), array)


@settings(max_examples=40, deadline=None)
@given(st.binary(max_size=64))
def test_idx_parser_never_crashes_on_garbage(data) -> None:
    """Garbage either parses (it happens to be valid IDX) or raises DatasetError naming the file."""
    message = ""
    try:
        parse_idx(data, "garbage.idx")
    except DatasetError as exc:
        message = str(exc)
    assert message == "" or message.startswith("garbage.idx: ")


def test_idx_truncated_file_names_file_and_sizes() -> None:
    raw = idx_bytes(np.zeros((3, 4), np.uint8))[:-2]
    with pytest.raises(
        DatasetError, match=r"x\.idx: IDX header announces shape \(3, 4\) \(12 bytes"
    ):
        parse_idx(raw, "x.idx")


def test_cifar_batch_parses_label_and_planes() -> None:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(3, 3, 32, 32), dtype=np.uint8)
    labels = np.array([0, 9, 4], dtype=np.uint8)
    raw = b"".join(bytes([lab]) + img.tobytes() for lab, img in zip(labels, images, strict=True))
    got_images, got_labels = parse_cifar_batch(raw)
    np.testing.assert_array_equal(got_images, images)
    assert got_labels.tolist() == [0, 9, 4]
    with pytest.raises(DatasetError, match="not a whole number of 3073-byte"):
        parse_cifar_batch(raw[:-1], "b.bin")


# ---------------------------------------------------------------- tar members
def _tar(path: Path, members: dict[str, bytes], symlink: str | None = None) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        if symlink:
            info = tarfile.TarInfo("link")
            info.type, info.linkname = tarfile.SYMTYPE, symlink
            tar.addfile(info)
    return path


def test_members_are_read_without_writing_anything(tmp_path: Path) -> None:
    archive = _tar(tmp_path / "evil.tar.gz", {"ok.txt": b"x", "../escape.txt": b"y"})
    assert read_members(archive, ["../escape.txt", "ok.txt"]) == {
        "../escape.txt": b"y",
        "ok.txt": b"x",
    }
    assert [p.name for p in tmp_path.iterdir()] == ["evil.tar.gz"]


def test_a_linked_member_is_refused(tmp_path: Path) -> None:
    archive = _tar(tmp_path / "link.tar.gz", {"ok.txt": b"x"}, symlink="/etc/passwd")
    with pytest.raises(DatasetError) as caught:
        read_members(archive, ["link"])
    assert str(caught.value) == (
        f"{archive}: member 'link' is a link or device, not a file; delete the archive and "
        "fetch it again"
    )


def test_a_missing_member_or_a_damaged_archive_is_refused(tmp_path: Path) -> None:
    archive = _tar(tmp_path / "ok.tar.gz", {"d/a.bin": b"abc" * 1000})
    with pytest.raises(DatasetError) as caught:
        read_members(archive, ["d/a.bin", "d/b.bin"])
    assert str(caught.value) == f"{archive}: d/b.bin is missing from the archive"
    archive.write_bytes(archive.read_bytes()[:-20])
    with pytest.raises(DatasetError, match=r"ok\.tar\.gz: cannot read the archive \(.*\); delete"):
        read_members(archive, ["d/a.bin"])


# ---------------------------------------------------------------- downloads from 127.0.0.1
class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/", root
    httpd.shutdown()
    httpd.server_close()


def _mnist_like(root: Path, base: str, n_train: int = 20, n_test: int = 8) -> RemoteDataset:
    rng = np.random.default_rng(0)
    arrays = [
        rng.integers(0, 256, size=(n_train, 28, 28)),
        rng.integers(0, 10, size=n_train),
        rng.integers(0, 256, size=(n_test, 28, 28)),
        rng.integers(0, 10, size=n_test),
    ]
    files = []
    for name, array in zip(MNIST_FILES, arrays, strict=True):
        raw = idx_bytes(array)
        data = gzip.compress(raw)
        (root / name).write_bytes(data)
        files.append(RemoteFile(name, sha(data), (base + name,), sha(raw)))
    return RemoteDataset("tiny-mnist", "test", tuple(files), "idx")


def test_fetch_downloads_verifies_and_loads(server, tmp_path: Path) -> None:
    base, root = server
    spec = _mnist_like(root, base)
    cache = tmp_path / "cache"
    report = fetch(spec, cache)
    assert all("downloaded and verified" in line for line in report)
    assert set(verify(spec, cache).values()) == {"ok"}
    data = load_dataset("tiny-mnist", cache=cache, spec=spec)
    assert data.X_train.shape == (20, 1, 28, 28)
    assert data.X_test.shape == (8, 1, 28, 28)
    assert data.X_train.dtype == np.float32
    assert data.X_train.max() <= 1.0
    assert fetch(spec, cache)[0].endswith("already cached")


def test_downloads_and_imports_get_the_umask_mode_and_leave_no_temporary_file(
    server, tmp_path: Path
) -> None:
    base, root = server
    spec = _mnist_like(root, base)
    old = os.umask(0o027)
    try:
        fetch(spec, tmp_path / "down")
        import_from(spec, root, tmp_path / "copy")
    finally:
        os.umask(old)
    for cache in ("down", "copy"):
        files = sorted((tmp_path / cache / "tiny-mnist").iterdir())
        assert [p.name for p in files] == sorted(MNIST_FILES)
        assert {p.stat().st_mode & 0o777 for p in files} == {0o640}


def test_corrupt_download_is_detected_deleted_and_reported(server, tmp_path: Path) -> None:
    base, root = server
    spec = _mnist_like(root, base)
    # truncate one served file: its SHA-256 no longer matches
    victim = root / MNIST_FILES[0]
    victim.write_bytes(victim.read_bytes()[:100])
    cache = tmp_path / "cache"
    with pytest.raises(DatasetError, match=r"could not download train-images-idx3-ubyte\.gz"):
        fetch(spec, cache)
    leftovers = sorted(p.name for p in (cache / "tiny-mnist").iterdir())
    assert MNIST_FILES[0] not in leftovers
    assert not [name for name in leftovers if name.startswith("tmp")]


def test_corrupt_cached_file_is_replaced(server, tmp_path: Path) -> None:
    base, root = server
    spec = _mnist_like(root, base)
    cache = tmp_path / "cache"
    fetch(spec, cache)
    (cache / "tiny-mnist" / MNIST_FILES[1]).write_bytes(b"tampered")
    assert verify(spec, cache)[MNIST_FILES[1]] == "corrupt"
    report = fetch(spec, cache)
    assert report[1].startswith(f"{MNIST_FILES[1]}: replaced corrupt file")
    assert set(verify(spec, cache).values()) == {"ok"}


def test_unreachable_mirror_falls_through_to_the_next(server, tmp_path: Path) -> None:
    base, root = server
    spec = _mnist_like(root, base)
    dead = "http://127.0.0.1:9/"
    files = tuple(RemoteFile(f.name, f.sha256, (dead + f.name, *f.urls)) for f in spec.files)
    spec = RemoteDataset(spec.name, "", files, "idx")
    fetch(spec, tmp_path / "cache")
    assert set(verify(spec, tmp_path / "cache").values()) == {"ok"}


def test_import_from_folder_checks_hashes(server, tmp_path: Path) -> None:
    _, root = server
    spec = _mnist_like(root, "http://unused/")
    cache = tmp_path / "cache"
    import_from(spec, root, cache)
    assert set(verify(spec, cache).values()) == {"ok"}
    (root / MNIST_FILES[2]).write_bytes(b"other")
    with pytest.raises(
        DatasetError, match=r"t10k-images-idx3-ubyte\.gz: SHA-256 [0-9a-f]{64} does"
    ):
        import_from(spec, root, tmp_path / "cache2")


def test_import_from_uncompressed_files_checks_their_own_hash(server, tmp_path: Path) -> None:
    _, root = server
    spec = _mnist_like(root, "http://unused/")
    raw_dir = tmp_path / "raw"
    raw_dir.mkdir()
    for f in spec.files:  # the decompressed copies, as torchvision's raw/ folder holds them
        (raw_dir / f.raw_name).write_bytes(gzip.decompress((root / f.name).read_bytes()))
    gz_cache, raw_cache = tmp_path / "gz", tmp_path / "rawcache"
    import_from(spec, root, gz_cache)
    report = import_from(spec, raw_dir, raw_cache)
    assert report[0] == f"train-images-idx3-ubyte: imported from {raw_dir} and verified"
    # a gzip file of the same content compressed differently: checked after decompression
    regz_dir, regz_cache = tmp_path / "regz", tmp_path / "regzcache"
    regz_dir.mkdir()
    for f in spec.files:
        data = gzip.compress((raw_dir / f.raw_name).read_bytes(), compresslevel=1, mtime=1)
        assert sha(data) != f.sha256
        (regz_dir / f.name).write_bytes(data)
    report = import_from(spec, regz_dir, regz_cache)
    assert report[1] == (
        f"train-labels-idx1-ubyte: decompressed from {regz_dir / MNIST_FILES[1]} and verified"
    )
    assert set(verify(spec, regz_cache)) == {f.raw_name for f in spec.files}
    assert set(verify(spec, regz_cache).values()) == {"ok"}
    assert set(verify(spec, raw_cache).values()) == {"ok"}
    from_gz = load_dataset("tiny-mnist", cache=gz_cache, spec=spec)
    from_raw = load_dataset("tiny-mnist", cache=raw_cache, spec=spec)
    np.testing.assert_array_equal(from_gz.X_train, from_raw.X_train)
    np.testing.assert_array_equal(from_gz.y_test, from_raw.y_test)
    np.testing.assert_array_equal(
        from_gz.X_test, load_dataset("tiny-mnist", cache=regz_cache, spec=spec).X_test
    )
    # a tampered uncompressed file is refused with its own name and nothing new enters the cache
    (raw_dir / "t10k-labels-idx1-ubyte").write_bytes(b"\x00\x00\x08\x01")
    with pytest.raises(DatasetError, match=r"t10k-labels-idx1-ubyte: SHA-256 [0-9a-f]{64} does"):
        import_from(spec, raw_dir, tmp_path / "cache3")
    assert not (tmp_path / "cache3").exists()
    (raw_dir / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(DatasetError, match=r"missing t10k-labels-idx1-ubyte\.gz \(or t10k-labels"):
        import_from(spec, raw_dir, tmp_path / "cache4")


def test_missing_dataset_says_how_to_fetch(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"run `wg convnet datasets fetch mnist`"):
        load_dataset("mnist", cache=tmp_path)


def test_cifar_archive_is_extracted_and_parsed(server, tmp_path: Path) -> None:
    base, root = server
    rng = np.random.default_rng(0)
    members = {}
    for name in [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]:
        labels = rng.integers(0, 10, size=2)
        members[f"cifar-10-batches-bin/{name}"] = b"".join(
            bytes([int(lab)]) + rng.integers(0, 256, 3072, dtype=np.uint8).tobytes()
            for lab in labels
        )
    archive = _tar(root / "cifar-10-binary.tar.gz", members)
    data = archive.read_bytes()
    spec = RemoteDataset(
        "tiny-cifar", "", (RemoteFile(archive.name, sha(data), (base + archive.name,)),), "cifar"
    )
    fetch(spec, tmp_path / "cache")
    split = load_dataset("tiny-cifar", cache=tmp_path / "cache", spec=spec)
    assert split.X_train.shape == (10, 3, 32, 32)
    assert split.X_test.shape == (2, 3, 32, 32)


def test_registry_pins_sha256_and_https_or_known_mirrors() -> None:
    for spec in REMOTE.values():
        for f in spec.files:
            assert re.fullmatch(r"[0-9a-f]{64}", f.sha256), f.name
            assert f.raw_sha256 == "" or re.fullmatch(r"[0-9a-f]{64}", f.raw_sha256), f.name
            assert f.urls
            assert all(url.endswith(f.name) for url in f.urls)
