"""Hostile input through ``wg online``: each case exits with a one-line error, never a traceback.

Every case states its exit code and the exact last line of the output (issue 18).
"""

from __future__ import annotations

import gzip
import json
import os
import socket
import stat
from pathlib import Path

import pytest
import zstandard
from click.testing import CliRunner
from wg_io.checksum import digest
from wg_online.datagen import ctr
from wg_online.model_file import load_model

from wg.cli import main

DAMAGED = "the file is damaged or was not written by `wg online train -f`: train the model again"
RECOPY = "the file is incomplete or damaged: copy or download it again"


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["online", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output
    return result.exit_code, result.output.rstrip("\n").splitlines()[-1] if result.output else ""


@pytest.fixture
def data(tmp_path: Path) -> Path:
    path = tmp_path / "d.vw"
    path.write_bytes(ctr(300, seed=2).text)
    return path


@pytest.fixture
def model(tmp_path: Path, data: Path) -> Path:
    path = tmp_path / "m.wgm"
    assert run("train", "-d", str(data), "-f", str(path), "-b", "8", "--quiet")[0] == 0
    return path


def edit_header(path: Path, edit) -> None:
    """Apply ``edit`` to a version-3 model's JSON header and seal the file with a new checksum."""
    raw = path.read_bytes()
    size = int.from_bytes(raw[12:16], "little")
    header = json.loads(raw[32 : 32 + size])
    edit(header)
    new = json.dumps(header).encode()
    body = new + b"\0" * (-(32 + len(new)) % 64) + raw[(32 + size + 63) // 64 * 64 :]
    path.write_bytes(raw[:12] + len(new).to_bytes(4, "little") + digest([body]).encode() + body)


def test_predictions_to_dev_null_are_written_in_place(data: Path, model: Path) -> None:
    code, _ = run("predict", "-i", str(model), "-d", str(data), "-p", os.devnull, "--quiet")
    assert code == 0
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)


def test_model_through_a_link_writes_its_target(tmp_path: Path, data: Path, model: Path) -> None:
    target, link = tmp_path / "target.wgm", tmp_path / "link.wgm"
    target.write_bytes(b"old")
    link.symlink_to(target)
    assert run("train", "-d", str(data), "-f", str(link), "-b", "6", "--quiet")[0] == 0
    assert link.is_symlink()
    assert load_model(target).options.bit_precision == 6


@pytest.mark.parametrize("flag", ["-f", "-p"])
def test_train_refuses_to_overwrite_its_data(data: Path, flag: str) -> None:
    before = data.read_bytes()
    code, last = run("train", "-d", str(data), flag, str(data), "--quiet")
    assert code == 1
    assert last == (
        f"Error: cannot write {data}: it is also an input of this command "
        "(choose another output path)"
    )
    assert data.read_bytes() == before


@pytest.mark.parametrize("which", ["data", "model"])
def test_predict_refuses_to_overwrite_an_input(data: Path, model: Path, which: str) -> None:
    out = data if which == "data" else model
    before = out.read_bytes()
    code, last = run("predict", "-i", str(model), "-d", str(data), "-p", str(out), "--quiet")
    assert code == 1
    assert last.endswith(
        f"cannot write {out}: it is also an input of this command (choose another output path)"
    )
    assert out.read_bytes() == before


def test_model_equal_to_the_cache_is_refused(data: Path, tmp_path: Path) -> None:
    cache = tmp_path / "c.cache"
    assert run("train", "-d", str(data), "--cache_file", str(cache), "--quiet")[0] == 0
    code, last = run("train", "-d", str(data), "--cache_file", str(cache), "-f", str(cache))
    assert (code, last) == (
        1,
        f"Error: cannot write {cache}: it is also an input of this command "
        "(choose another output path)",
    )


@pytest.mark.parametrize(
    ("suffix", "compress", "problem"),
    [
        (
            ".zst",
            lambda b: zstandard.ZstdCompressor().compress(b),
            "the zstd stream ends mid-frame",
        ),
        (".gz", gzip.compress, "the gzip stream is truncated"),
    ],
)
def test_truncated_compressed_input_writes_no_model(
    tmp_path: Path, suffix: str, compress, problem: str
) -> None:
    packed = compress(ctr(20000, seed=1).text)
    path, out = tmp_path / f"d.vw{suffix}", tmp_path / "m.wgm"
    path.write_bytes(packed[: len(packed) // 2])
    code, last = run("train", "-d", str(path), "-f", str(out), "--quiet")
    assert (code, last) == (1, f"Error: {path}: {problem}; {RECOPY}")
    assert not out.exists()


def test_gzip_with_a_bad_header(tmp_path: Path) -> None:
    path = tmp_path / "d.vw.gz"
    path.write_bytes(b"\x1f\x8b\x08\xff" + b"\0" * 40)
    code, last = run("train", "-d", str(path), "--quiet")
    assert code == 1
    assert last.startswith(f"Error: {path}: corrupt gzip data (")
    assert last.endswith(RECOPY)


AT_MOST = ", at most 3.402823e+38"  # float32's largest: the kernels hold rates in float32


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["-l", "nan"],
            "-l/--learning_rate nan is out of range: use a finite number > 0.0" + AT_MOST,
        ),
        (
            ["-l", "inf"],
            "-l/--learning_rate inf is out of range: use a finite number > 0.0" + AT_MOST,
        ),
        (
            ["-l", "1e39"],
            "-l/--learning_rate 1e+39 is out of range: use a finite number > 0.0" + AT_MOST,
        ),
        (
            ["-l", "0"],
            "-l/--learning_rate 0.0 is out of range: use a finite number > 0.0" + AT_MOST,
        ),
        (
            ["--power_t", "nan"],
            "--power_t nan is out of range: use a finite number >= 0.0" + AT_MOST,
        ),
        (
            ["--l2", "-1"],
            "--l2 -1.0 is out of range: use a finite number >= 0.0" + AT_MOST,
        ),
        (
            ["--l2", "inf"],
            "--l2 inf is out of range: use a finite number >= 0.0" + AT_MOST,
        ),
        (
            ["--ffm_learning_rate", "nan"],
            "--ffm_learning_rate nan is out of range: use a finite number > 0.0" + AT_MOST,
        ),
        (["-b", "0"], "-b/--bit_precision 0 is out of range: use a whole number from 1 to 30"),
        (
            ["--ffm_bit_precision", "31"],
            "--ffm_bit_precision 31 is out of range: use a whole number from 1 to 30",
        ),
        (
            ["--ffm_k", "5000", "--ffm_field", "a"],
            "--ffm_k 5000 is out of range: use a whole number from 0 to 1024",
        ),
    ],
)
def test_hyperparameters_are_usage_errors_naming_the_flag(
    data: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    out = tmp_path / "m.wgm"
    assert run("train", "-d", str(data), "-f", str(out), *args) == (2, f"Error: {message}")
    assert not out.exists()


def test_poll_must_be_a_positive_finite_number(model: Path) -> None:
    code, last = run("serve", "-i", str(model), "--poll", "nan")
    assert (code, last) == (
        2,
        "Error: Invalid value for '--poll': nan is not a finite number of seconds > 0",
    )


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (lambda h: h.pop("arrays"), "the model header has no 'arrays' field"),
        (lambda h: h.pop("options"), "the model header has no 'options' field"),
        (lambda h: h.update(arrays=5), "the model header's 'arrays' is not of type list"),
        (lambda h: h["arrays"].pop(0), "the model header lists no 'w' or no 'v' array"),
        (
            lambda h: h["arrays"][0].update(offset=-64),
            "the model header's arrays[0] needs dtype '<f4' and a non-negative offset and count",
        ),
        (
            lambda h: h["arrays"][1].update(count="7"),
            "the model header's arrays[1] has no 'count' of type int",
        ),
        (
            lambda h: h["options"].update(bit_precision=1.5),
            "bad options in header: -b/--bit_precision 1.5: expected an int",
        ),
        (
            lambda h: h["options"].update(learning_rate=float("nan")),
            "bad options in header: -l/--learning_rate nan is out of range: "
            "use a finite number > 0.0" + AT_MOST,
        ),
    ],
)
@pytest.mark.parametrize("command", ["predict", "train", "serve"])
def test_model_headers_with_missing_or_mistyped_fields(
    data: Path, model: Path, edit, problem: str, command: str
) -> None:
    edit_header(model, edit)
    args = {
        "predict": ["predict", "-i", str(model), "-d", str(data), "--quiet"],
        "train": ["train", "-i", str(model), "-d", str(data), "--quiet"],
        "serve": ["serve", "-i", str(model), "--port", "0"],
    }[command]
    assert run(*args) == (1, f"Error: {model}: {problem}; {DAMAGED}")


def test_flipped_model_byte_is_refused(data: Path, model: Path) -> None:
    raw = bytearray(model.read_bytes())
    raw[-3] ^= 0x10
    model.write_bytes(bytes(raw))
    code, last = run("predict", "-i", str(model), "-d", str(data), "--quiet")
    assert (code, last) == (
        1,
        f"Error: {model}: checksum mismatch: the file was damaged after it was written; {DAMAGED}",
    )


def test_corrupted_cache_offsets_are_refused_not_trusted(data: Path, tmp_path: Path) -> None:
    cache = tmp_path / "c.cache"
    assert run("train", "-d", str(data), "--cache_file", str(cache), "--quiet")[0] == 0
    raw = bytearray(cache.read_bytes())
    size = int.from_bytes(raw[8:16], "little")
    header = json.loads(raw[32 : 32 + size])
    n = header["blocks"][0][0]
    offsets_at = 32 + size + 8 * n  # after labels and importances (float32 each)
    raw[offsets_at + 8 : offsets_at + 16] = (1 << 40).to_bytes(8, "little")
    raw[16:32] = digest([bytes(raw[32:])]).encode()
    cache.write_bytes(bytes(raw))
    code, last = run("train", "-d", str(data), "--cache_file", str(cache), "--quiet")
    assert (code, last) == (
        1,
        f"Error: {cache}: block 0: feature offsets are out of order or out of range; "
        "delete the cache file so that it is rebuilt",
    )


@pytest.mark.parametrize(
    ("header", "problem"),
    [
        (b'{"format_version": 2}', "the cache header's 'source' is missing or mistyped"),
        (b'{"format_version": "2"', "the cache header is corrupt (invalid JSON: Expecting"),
    ],
)
def test_cache_headers_with_missing_fields(
    data: Path, tmp_path: Path, header: bytes, problem: str
) -> None:
    cache = tmp_path / "c.cache"
    body = header
    cache.write_bytes(
        b"WGOCACHE" + len(header).to_bytes(8, "little") + digest([body]).encode() + body
    )
    code, last = run("train", "-d", str(data), "--cache_file", str(cache), "--quiet")
    assert code == 1
    assert last.startswith(f"Error: {cache}: {problem}")
    assert last.endswith("delete the cache file so that it is rebuilt")


def test_namespace_map_that_is_not_utf8_names_the_file(data: Path, tmp_path: Path) -> None:
    ns_map = tmp_path / "map.csv"
    ns_map.write_bytes(b"A,animal\nB,f\xffood\n")
    code, last = run("train", "-d", str(data), "--namespace_map", str(ns_map), "--quiet")
    assert (code, last) == (
        1,
        f"Error: {ns_map}:2: invalid UTF-8 at byte 3: 'B,f\ufffdood'. Re-encode the file as UTF-8",
    )


def test_serve_on_a_busy_port_names_the_port(model: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, last = run("serve", "-i", str(model), "--port", str(port))
    assert (code, last) == (
        1,
        f"Error: cannot listen on 127.0.0.1:{port}: the port is in use; stop the program "
        "using it or choose another --port",
    )


def test_model_write_to_a_missing_folder_names_the_path(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "nowhere" / "m.wgm"
    code, last = run("train", "-d", str(data), "-f", str(out), "--quiet")
    assert (code, last) == (
        1,
        f"Error: cannot write {out}: its folder does not exist (create {out.parent} first)",
    )


def test_continuing_in_place_is_allowed_as_in_vw(data: Path, model: Path) -> None:
    before = load_model(model).examples_seen
    assert run("train", "-i", str(model), "-f", str(model), "-d", str(data), "--quiet")[0] == 0
    assert load_model(model).examples_seen == before + 300
    code, last = run("train", "-i", str(model), "-p", str(model), "-d", str(data), "--quiet")
    assert (code, last) == (
        1,
        f"Error: cannot write {model}: it is also an input of this command "
        "(choose another output path)",
    )
