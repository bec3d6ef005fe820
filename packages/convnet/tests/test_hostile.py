"""Hostile input for wg_convnet's files and `wg convnet` (issue 18): damaged model files, bad
output paths, non-finite hyperparameters, wrongly typed options, unwritable outputs.

Every case ends in a refusal that names the user's path (or the flag) in one line, or in the
correct result; never a traceback, a silent load of a damaged file, or a NaN model on disk.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import os
import re
import stat
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wg_convnet import (
    SGD,
    Adam,
    BatchNorm2D,
    Conv2D,
    Dense,
    DivergenceError,
    Dropout,
    Flatten,
    LeakyReLU,
    MaxPool2D,
    ModelFileError,
    Sequential,
)
from wg_convnet.datasets.remote import MNIST_FILES, REMOTE, RemoteDataset, RemoteFile
from wg_convnet.schema import MODEL_HEADER_SCHEMA, SchemaError, validate
from wg_convnet.serialization import FORMAT_VERSION, MAGIC, load_model, model_digest

from wg.cli import main

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _tiny_net() -> Sequential:
    layers = [
        Conv2D(1, 2, 3, padding=1), BatchNorm2D(2), LeakyReLU(0.1), MaxPool2D(2), Flatten(),
        Dropout(0.25), Dense(2 * 2 * 2, 3),
    ]  # fmt: skip
    return Sequential(layers).build(0)


def _saved_bytes(tmp_path: Path) -> bytes:
    path = tmp_path / "tiny.wgc"
    _tiny_net().save(path)
    return path.read_bytes()


@pytest.fixture(scope="module")
def model_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return _saved_bytes(tmp_path_factory.mktemp("model"))


def _split(data: bytes) -> tuple[dict[str, Any], bytes]:
    (length,) = struct.unpack("<I", data[8:12])
    return json.loads(data[12 : 12 + length]), data[12 + length :]


def _join(header: dict[str, Any], body: bytes) -> bytes:
    raw = json.dumps(header, sort_keys=True).encode()
    return MAGIC + struct.pack("<I", len(raw)) + raw + body


def _same_model(a: Sequential, b: Sequential) -> bool:
    if [repr(x) for x in a.layers] != [repr(y) for y in b.layers] or a.dtype != b.dtype:
        return False
    pairs = [
        (x.params | x.state, y.params | y.state) for x, y in zip(a.layers, b.layers, strict=True)
    ]
    return all(set(p) == set(q) and all(np.array_equal(p[k], q[k]) for k in p) for p, q in pairs)


def _load(tmp_path: Path, data: bytes) -> Sequential:
    path = tmp_path / "fuzzed.wgc"
    path.write_bytes(data)
    return load_model(path)


def _outcome(tmp_path: Path, data: bytes) -> Sequential | str:
    """The model loaded from ``data``, or the message of the ModelFileError that refused it."""
    try:
        return _load(tmp_path, data)
    except ModelFileError as exc:
        return str(exc)


def _is_refusal(outcome: Sequential | str, folder: Path) -> bool:
    if not isinstance(outcome, str):
        return False
    assert outcome.startswith(f"{folder / 'fuzzed.wgc'}: ")
    assert "\n" not in outcome
    return True


# ---------------------------------------------------------------- the model-file reader, fuzzed
@FUZZ
@given(cut=st.integers(min_value=0, max_value=10**6))
def test_every_truncation_is_refused(
    model_bytes: bytes, tmp_path_factory: pytest.TempPathFactory, cut: int
) -> None:
    cut %= len(model_bytes)
    with pytest.raises(ModelFileError, match=r"fuzzed\.wgc: "):
        _load(tmp_path_factory.mktemp("cut"), model_bytes[:cut])


@FUZZ
@given(where=st.integers(min_value=0), bit=st.integers(min_value=0, max_value=7))
def test_a_flipped_bit_is_refused_or_changes_nothing(
    model_bytes: bytes, tmp_path_factory: pytest.TempPathFactory, where: int, bit: int
) -> None:
    data = bytearray(model_bytes)
    data[where % len(data)] ^= 1 << bit
    folder = tmp_path_factory.mktemp("flip")
    outcome = _outcome(folder, bytes(data))
    # Only a flip that leaves the JSON's meaning as it was may load (such a file is not damaged).
    assert _is_refusal(outcome, folder) or _same_model(outcome, _load(folder, model_bytes))


def test_every_single_bit_flip_of_the_arrays_is_refused(model_bytes: bytes, tmp_path: Path) -> None:
    body = _split(model_bytes)[1]
    start = len(model_bytes) - len(body)
    for where in range(start, len(model_bytes), 7):
        data = bytearray(model_bytes)
        data[where] ^= 1 << (where % 8)
        with pytest.raises(ModelFileError, match="does not match the checksum in its header"):
            _load(tmp_path, bytes(data))


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=6,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


def _edit(header: dict[str, Any], path: tuple[Any, ...], value: Any, delete: bool) -> Any:
    if not path:
        return value
    parent: Any = header
    for key in path[:-1]:
        parent = parent[key]
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return header


@FUZZ
@given(choice=st.integers(min_value=0), value=_JSON, delete=st.booleans(), resign=st.booleans())
def test_header_edits_are_refused_unless_resigned_and_valid(
    model_bytes: bytes,
    tmp_path_factory: pytest.TempPathFactory,
    choice: int,
    value: Any,
    delete: bool,
    resign: bool,
) -> None:
    header, body = _split(model_bytes)
    paths = _paths(header)
    edited = _edit(header, paths[choice % len(paths)], value, delete and choice % len(paths) > 0)
    if resign and isinstance(edited, dict):
        # An editor who recomputes the checksum: the schema and the layer checks still apply.
        # An edit holding NaN is not JSON that json.dumps(allow_nan=False) writes: left unsigned.
        with contextlib.suppress(ValueError):
            edited["checksum"] = {"algorithm": "xxh3_64", "digest": model_digest(edited, [body])}
    data = _join_lenient(edited, body)
    folder = tmp_path_factory.mktemp("edit")
    outcome = _outcome(folder, data)
    if not _is_refusal(outcome, folder) and not resign:
        assert _same_model(outcome, _load(folder, model_bytes))


def _join_lenient(header: Any, body: bytes) -> bytes:
    raw = json.dumps(header, sort_keys=isinstance(header, dict)).encode()
    return MAGIC + struct.pack("<I", len(raw)) + raw + body


def test_version_1_files_without_a_checksum_still_load(model_bytes: bytes, tmp_path: Path) -> None:
    header, body = _split(model_bytes)
    del header["checksum"]
    header["version"] = 1
    loaded = _load(tmp_path, _join(header, body))
    assert _same_model(loaded, _load(tmp_path, model_bytes))


def test_a_current_version_file_without_its_checksum_is_refused(
    model_bytes: bytes, tmp_path: Path
) -> None:
    header, body = _split(model_bytes)
    del header["checksum"]
    with pytest.raises(ModelFileError) as caught:
        _load(tmp_path, _join(header, body))
    assert str(caught.value) == (
        f"{tmp_path / 'fuzzed.wgc'}: invalid model header: version {FORMAT_VERSION} needs a "
        "checksum and this header has none; save the model again"
    )


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda h: h.pop("layers"), "invalid model header: header: missing field 'layers'"),
        (
            lambda h: h["layers"][0]["arrays"]["W"].update(offset="x"),
            "invalid model header: header.layers[0].arrays.W.offset: expected integer, got 'x'",
        ),
        (
            lambda h: h["layers"][0]["arrays"]["W"].update(offset=-8),
            "invalid model header: header.layers[0].arrays.W.offset: must be >= 0, got -8",
        ),
        (
            lambda h: h["layers"][6]["arrays"]["W"].update(shape=[2**40, 2**40]),
            "invalid model header: header.layers[6].arrays.W.shape[0]: must be <= 2147483648, "
            "got 1099511627776",
        ),
        (
            lambda h: h.update(dtype="float16"),
            "invalid model header: header.dtype: expected one "
            "of 'float32', 'float64', got 'float16'",
        ),
        (
            lambda h: h["layers"][0]["config"].update(in_channels=True),
            "layer 0 (Conv2D): invalid config: in_channels must be an integer >= 1, got True",
        ),
    ],
)
def test_resigned_header_edits_name_the_field(
    model_bytes: bytes, tmp_path: Path, edit: Any, message: str
) -> None:
    header, body = _split(model_bytes)
    edit(header)
    header["checksum"]["digest"] = model_digest(header, [body])
    with pytest.raises(ModelFileError) as caught:
        _load(tmp_path, _join(header, body))
    assert str(caught.value) == f"{tmp_path / 'fuzzed.wgc'}: {message}"


def test_nan_weights_in_a_version_1_file_are_refused(model_bytes: bytes, tmp_path: Path) -> None:
    header, body = _split(model_bytes)
    del header["checksum"]
    header["version"] = 1
    offset = header["layers"][6]["arrays"]["b"]["offset"]
    body = body[:offset] + np.array([np.nan], "<f4").tobytes() + body[offset + 4 :]
    with pytest.raises(ModelFileError) as caught:
        _load(tmp_path, _join(header, body))
    assert str(caught.value) == (
        f"{tmp_path / 'fuzzed.wgc'}: layer 6: array 'b' holds NaN or infinite values; the model "
        "is unusable, train and save it again"
    )


def test_a_fifo_or_folder_is_not_read_as_a_model(tmp_path: Path) -> None:
    import os

    fifo = tmp_path / "pipe.wgc"
    os.mkfifo(fifo)
    # Opening a FIFO for reading blocks until a writer comes; one that writes nothing is enough.
    writer = os.open(fifo, os.O_RDWR | os.O_NONBLOCK)
    try:
        with pytest.raises(ModelFileError) as caught:
            load_model(fifo)
    finally:
        os.close(writer)
    assert str(caught.value) == f"{fifo}: not a regular file; give the path of a model file"
    with pytest.raises(ModelFileError) as caught:
        load_model(tmp_path)
    assert str(caught.value) == f"{tmp_path}: cannot read the model file: Is a directory"


# ---------------------------------------------------------------- numerics: no NaN network
def _xor_like() -> tuple[np.ndarray, np.ndarray]:
    X = np.random.default_rng(0).normal(size=(16, 2)).astype(np.float32)
    return X, (X[:, 0] > 0).astype(np.int64)


@pytest.mark.parametrize(
    ("batch_size", "message"),
    [
        (4, "training diverged at epoch 1, batch 2: the loss is nan; train again with a "
            "learning rate below 1e+308"),
        (16, "training diverged at epoch 1, batch 1: layer 0 (Dense) 'W' is not finite; train "
             "again with a learning rate below 1e+308"),
    ],
)  # fmt: skip
def test_training_that_diverges_stops_and_names_the_batch(batch_size: int, message: str) -> None:
    X, y = _xor_like()
    net = Sequential([Dense(2, 4), LeakyReLU(0.1), Dense(4, 2)])
    with pytest.raises(DivergenceError) as caught:
        net.fit(X, y, epochs=2, batch_size=batch_size, optimizer=Adam(1e308), verbose=False)
    assert str(caught.value) == message


def test_a_model_with_nan_weights_is_not_saved(tmp_path: Path) -> None:
    net = Sequential([Dense(2, 3)]).build(0)
    net.layers[0].params["b"][1] = np.inf
    with pytest.raises(DivergenceError) as caught:
        net.save(tmp_path / "nan.wgc")
    assert str(caught.value) == (
        "not saved: layer 0 (Dense) array 'b' holds NaN or infinite values; train again with "
        "a lower learning rate"
    )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("lr", [float("nan"), float("inf"), -1.0, 0.0, "x"])
def test_optimisers_refuse_a_learning_rate_that_is_not_finite_and_positive(lr: Any) -> None:
    with pytest.raises(ValueError, match=rf"needs a finite lr > 0.*got lr={lr!r}"):
        Adam(lr)
    with pytest.raises(ValueError, match=rf"needs a finite lr > 0.*got lr={lr!r}"):
        SGD(lr)


# ---------------------------------------------------------------- `wg convnet train`, hostile
TRAIN = ["convnet", "train", "--dataset", "lines", "--epochs", "1", "--quiet"]


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("WG_CONVNET_CACHE", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    return CliRunner()


def _bad_lr(value: str, why: str) -> tuple[list[str], str]:
    """(arguments, message) of a refused --lr, whose message always suggests a valid value."""
    return ["--lr", value], f"Invalid value for '--lr': {why}; give one such as 0.002"


def _last_line(output: str) -> str:
    lines = output.rstrip("\n").split("\n")
    return lines[-1]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        _bad_lr("nan", "nan is not a finite number"),
        _bad_lr("inf", "inf is not a finite number"),
        _bad_lr("1e308", "1e308 is not in the range 0 < x <= 1"),
        _bad_lr("-1", "-1 is not in the range 0 < x <= 1"),
        _bad_lr("0", "0 is not in the range 0 < x <= 1"),
        _bad_lr("fast", "'fast' is not a number"),
        (["--seed", "-1"], "Invalid value for '--seed': -1 is not in the range x>=0."),
        (["--seed", "1.5"], "Invalid value for '--seed': '1.5' is not a valid integer range."),
        (["--batch-size", "0"], "Invalid value for '--batch-size': 0 is not in the range x>=1."),
        (["--threads", "100000"], "Invalid value for '--threads': 100000 is not in the range "
                                  "1<=x<=256."),
        (["--json", "./m.wgc"], "--json and --save both write m.wgc; give them different "
                                "paths"),
        (["--dataset", "lines;rm"], "Invalid value for '--dataset': 'lines;rm' is not one of "
                                    "'lines', 'digits', 'mnist', 'fashion-mnist', 'cifar10'."),
    ],
)  # fmt: skip
def test_bad_options_are_usage_errors_naming_the_flag(
    runner: CliRunner, tmp_path: Path, args: list[str], message: str
) -> None:
    result = runner.invoke(main, [*TRAIN, *args, "--save", "m.wgc"])
    assert result.exit_code == 2
    assert _last_line(result.output) == f"Error: {message}"
    assert not (tmp_path / "m.wgc").exists()


def test_a_missing_save_folder_is_refused_before_training(runner: CliRunner) -> None:
    result = runner.invoke(main, [*TRAIN, "--save", "nope/m.wgc"])
    assert result.exit_code == 1
    assert result.output == (
        f"Error: cannot write nope/m.wgc: its folder does not exist (create {Path.cwd()}/nope "
        "first)\n"
    )


def test_a_save_path_that_is_a_folder_is_refused(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "models").mkdir()
    result = runner.invoke(main, [*TRAIN, "--save", "models"])
    assert result.exit_code == 2
    assert _last_line(result.output) == (
        "Error: Invalid value for '--save': File 'models' is a directory."
    )


def _require_dev_full() -> None:
    # Another process replacing /dev/full with a regular file would make a write succeed.
    if not stat.S_ISCHR(os.stat("/dev/full").st_mode):
        pytest.skip("/dev/full is not the full device on this machine")


def test_json_to_a_full_disk_is_one_line(runner: CliRunner) -> None:
    _require_dev_full()
    result = runner.invoke(main, [*TRAIN, "--json", "/dev/full"])
    assert result.exit_code == 1
    assert _last_line(result.output) == (
        "Error: cannot write /dev/full: No space left on device (the disk is full: free some "
        "space or write to another disk)"
    )


def test_save_through_a_symlink_writes_its_target_and_keeps_the_link(
    runner: CliRunner, tmp_path: Path
) -> None:
    target = tmp_path / "target.wgc"
    target.write_bytes(b"old")
    target.chmod(0o640)
    link = tmp_path / "link.wgc"
    link.symlink_to(target)
    result = runner.invoke(main, [*TRAIN, "--save", "link.wgc", "--json", "out/run.json"])
    assert result.exit_code == 0, result.output
    assert link.is_symlink()
    assert Sequential.load(target).layers[0].config()["out_channels"] == 8
    assert (target.stat().st_mode & 0o777) == 0o640
    assert json.loads((tmp_path / "out" / "run.json").read_text())["dataset"] == "lines"


def test_new_outputs_get_the_umask_mode(runner: CliRunner, tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        result = runner.invoke(main, [*TRAIN, "--save", "m.wgc", "--json", "r.json"])
    finally:
        os.umask(old)
    assert result.exit_code == 0, result.output
    assert {(tmp_path / name).stat().st_mode & 0o777 for name in ("m.wgc", "r.json")} == {0o640}


def test_training_that_diverges_saves_no_model(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A learning rate far beyond what --lr accepts, as a bug elsewhere could make it.
    monkeypatch.setattr("wg_convnet.training.Adam", lambda lr: Adam(lr * 1e307))
    args = [*TRAIN, "--lr", "1", "--save", "m.wgc", "--json", "out/r.json"]
    result = runner.invoke(main, args)
    assert result.exit_code == 1
    assert re.fullmatch(
        r"Error: training diverged at epoch 1, batch \d+: (the loss is nan|layer \d .* is not "
        r"finite); train again with a learning rate below 1e\+307\n",
        result.output,
    )
    assert list(tmp_path.iterdir()) == []


def test_save_over_a_dataset_file_is_refused(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    victim = _fake_mnist(tmp_path / "cache" / "mnist", monkeypatch) / MNIST_FILES[0]
    before = victim.read_bytes()
    result = runner.invoke(main, [*TRAIN[:3], "mnist", *TRAIN[4:], "--save", str(victim)])
    assert result.exit_code == 1
    assert result.output == (
        f"Error: cannot write {victim}: it is also an input of this command (choose another "
        "output path)\n"
    )
    assert victim.read_bytes() == before


def test_stdout_on_a_full_disk_is_one_line(tmp_path: Path) -> None:
    _require_dev_full()
    env = {**os.environ, "WG_CONVNET_CACHE": str(tmp_path)}
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            [sys.executable, "-m", "wg", *TRAIN], stdout=full, stderr=subprocess.PIPE,
            text=True, env=env, timeout=600, check=False,
        )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr == (
        "wg: cannot write standard output: No space left on device (the disk is full: free some "
        "space or write to another disk)\n"
    )


# ---------------------------------------------------------------- `wg convnet datasets`, hostile
def _fake_mnist(folder: Path, monkeypatch: pytest.MonkeyPatch, url: str = "") -> Path:
    """Files of a stand-in for MNIST in ``folder``, registered under the name ``mnist``."""
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for name in MNIST_FILES:
        data = gzip.compress(name.encode())
        (folder / name).write_bytes(data)
        files.append(RemoteFile(name, hashlib.sha256(data).hexdigest(), (url + name,)))
    monkeypatch.setitem(REMOTE, "mnist", RemoteDataset("mnist", "", tuple(files), "idx"))
    return folder


def test_import_from_the_cache_itself_changes_nothing(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _fake_mnist(tmp_path / "cache" / "mnist", monkeypatch)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    result = runner.invoke(main, ["convnet", "datasets", "fetch", "mnist", "--from", str(folder)])
    assert result.exit_code == 0, result.output
    assert result.output == "".join(
        f"{name}: already in the cache and verified\n" for name in MNIST_FILES
    )
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


def test_a_cache_that_cannot_be_written_is_one_line(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_mnist(tmp_path / "source", monkeypatch, url="http://127.0.0.1:9/")
    blocked = tmp_path / "cache" / "mnist" / MNIST_FILES[0]
    blocked.mkdir(parents=True)
    for args in (["--from", str(tmp_path / "source")], []):
        result = runner.invoke(main, ["convnet", "datasets", "fetch", "mnist", *args])
        assert result.exit_code == 1
        assert result.output == (
            f"Error: cannot write {blocked}: it is a folder (give a file name inside it)\n"
        )


# ---------------------------------------------------------------- the header schema itself
@FUZZ
@given(choice=st.integers(min_value=0), value=_JSON, delete=st.booleans())
def test_the_schema_validator_agrees_with_jsonschema(
    model_bytes: bytes, choice: int, value: Any, delete: bool
) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    header = _split(model_bytes)[0]
    paths = _paths(header)
    edited = _edit(header, paths[choice % len(paths)], value, delete and choice % len(paths) > 0)
    reference = jsonschema.Draft202012Validator(MODEL_HEADER_SCHEMA).is_valid(edited)
    problem = _schema_problem(edited)
    # Stricter in one way only: JSON Schema counts 2.0 as an integer, an offset may not be.
    assert (problem is None) == reference or "expected integer" in (problem or "")


def _schema_problem(header: Any) -> str | None:
    try:
        validate(header, MODEL_HEADER_SCHEMA, "header")
    except SchemaError as exc:
        return exc.problem
    return None
