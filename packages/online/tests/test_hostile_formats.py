"""Fuzzing the model and cache readers: truncations, bit flips and header field edits.

A damaged file either raises the reader's one-line error or, where the edit is resealed with a
valid checksum and still describes a consistent file, loads into arrays the kernels can use
safely. Nothing crashes, nothing is a traceback of another kind, and no damaged (unsealed) file
loads silently.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wg_io.checksum import digest
from wg_online.model import Model, Options
from wg_online.model_file import ModelFileError, load_model, save_model
from wg_online.parsing import CacheFileError, parse_bytes, read_cache, write_cache

FIXTURES = Path(__file__).parent / "fixtures"
FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
JSON_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=5),
    st.lists(st.integers(-3, 70), max_size=3),
    st.dictionaries(
        st.sampled_from(["name", "count", "offset", "dtype"]), st.integers(), max_size=2
    ),
)


@lru_cache(maxsize=1)
def model_bytes() -> bytes:
    """A small version-3 model with every array (FFM, save_resume)."""
    import tempfile

    model = Model.new(Options(bit_precision=4, ffm_k=2, ffm_fields=("a", "b"), ffm_bit_precision=3))
    model.w[:] = np.arange(16, dtype=np.float32) / 7
    with tempfile.TemporaryDirectory() as tmp:
        save_model(model, Path(tmp) / "m.wgm", save_resume=True)
        return (Path(tmp) / "m.wgm").read_bytes()


@lru_cache(maxsize=1)
def cache_bytes() -> bytes:
    """A small version-2 cache of two blocks, written for the source ``-`` (no staleness)."""
    import tempfile

    blocks = [
        parse_bytes(b"1 |a x y:2 |b z\n-1 |a w\n| q\n"),
        parse_bytes(b"0 2 |b k:0.5\n1 |c m n o\n"),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        write_cache(Path(tmp) / "c", blocks, "-")
        return (Path(tmp) / "c").read_bytes()


def seal(raw: bytes) -> bytes:
    """The file with a checksum that matches its bytes (model and cache both hash from 32)."""
    return raw[:16] + digest([raw[32:]]).encode() + raw[32:]


def use(model: Model) -> None:
    """What predicting does with a loaded model: it must not crash whatever loaded."""
    model.run(parse_bytes(b"1 |a x |b y\n| z\n"), learn=True)


def load(tmp_path: Path, raw: bytes, **kwargs) -> Model | None:
    path = tmp_path / "fuzz.wgm"
    path.write_bytes(raw)
    try:
        return load_model(path, **kwargs)
    except ModelFileError as exc:
        message = str(exc)
        assert message.startswith(f"{path}")
        assert "\n" not in message
        return None


def flipped(data, raw: bytes) -> bytes:
    """``raw`` with one bit, drawn by hypothesis, flipped."""
    out = bytearray(raw)
    bit = data.draw(st.integers(0, len(out) * 8 - 1))
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


@FUZZ
@given(cut=st.integers(0, 2000))
def test_truncated_model_is_refused(tmp_path, cut: int) -> None:
    raw = model_bytes()
    if cut < len(raw):
        assert load(tmp_path, raw[:cut]) is None


@FUZZ
@given(data=st.data())
def test_flipped_model_bit_is_refused(tmp_path, data) -> None:
    raw = flipped(data, model_bytes())
    assert load(tmp_path, raw) is None
    assert load(tmp_path, raw, mmap=True) is None


@FUZZ
@given(data=st.data())
def test_flipped_bit_without_the_checksum_never_crashes(tmp_path, data) -> None:
    # Versions 1 and 2 have no checksum (nor does verify=False): a flip may load, never crash.
    source = data.draw(st.sampled_from(["model_v1.wgm", "model_v2.wgm", "v3"]))
    raw = model_bytes() if source == "v3" else (FIXTURES / source).read_bytes()
    for _ in range(data.draw(st.integers(1, 3))):
        raw = flipped(data, raw)
    loaded = load(tmp_path, raw, verify=False)
    if loaded is not None:
        use(loaded)


def edited_model(path_in_header: list, value) -> bytes:
    raw = model_bytes()
    size = int.from_bytes(raw[12:16], "little")
    header = json.loads(raw[32 : 32 + size])
    target = header
    for key in path_in_header[:-1]:
        target = target[key]
    target[path_in_header[-1]] = value
    new = json.dumps(header).encode()
    body = new + b"\0" * (-(32 + len(new)) % 64) + raw[(32 + size + 63) // 64 * 64 :]
    return seal(raw[:12] + len(new).to_bytes(4, "little") + b"\0" * 16 + body)


MODEL_FIELDS = [
    ["options"],
    ["arrays"],
    ["examples_seen"],
    ["save_resume"],
    ["options", "bit_precision"],
    ["options", "ffm_k"],
    ["options", "ffm_fields"],
    ["options", "ffm_bit_precision"],
    ["options", "learning_rate"],
    ["options", "interactions"],
    ["options", "namespace_map"],
    ["options", "keep"],
    ["arrays", 0],
    ["arrays", 0, "count"],
    ["arrays", 1, "offset"],
    ["arrays", 2, "name"],
    ["arrays", 3, "dtype"],
]


@FUZZ
@given(field=st.sampled_from(MODEL_FIELDS), value=JSON_VALUES)
def test_sealed_header_edits_load_consistently_or_are_refused(tmp_path, field, value) -> None:
    loaded = load(tmp_path, edited_model(field, value))
    if loaded is not None:
        assert loaded.w.size == 1 << loaded.options.bit_precision
        use(loaded)


def read(tmp_path: Path, raw: bytes):
    path = tmp_path / "fuzz.cache"
    path.write_bytes(raw)
    try:
        return read_cache(path)
    except CacheFileError as exc:
        message = str(exc)
        assert message.startswith(f"{path}")
        assert "\n" not in message
        return "refused"


def train_on(blocks) -> None:
    model = Model.new(Options(bit_precision=6, interactions=("ab",)))
    for block in blocks:
        model.run(block, learn=True)


def test_the_cache_fixture_loads() -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        blocks = read(Path(tmp), cache_bytes())
    assert [len(b) for b in blocks] == [3, 2]
    train_on(blocks)


@FUZZ
@given(cut=st.integers(0, 600))
def test_truncated_cache_is_refused(tmp_path, cut: int) -> None:
    raw = cache_bytes()
    if cut < len(raw):
        assert read(tmp_path, raw[:cut]) in ("refused", None)


@FUZZ
@given(data=st.data())
def test_flipped_cache_bit_is_refused(tmp_path, data) -> None:
    # refused, or None: a flip that makes it look like a format-1 cache, which is rebuilt
    assert read(tmp_path, flipped(data, cache_bytes())) in ("refused", None)


@FUZZ
@given(data=st.data())
def test_sealed_cache_array_edits_never_reach_the_kernels_unchecked(tmp_path, data) -> None:
    raw = bytearray(cache_bytes())
    start = 32 + int.from_bytes(raw[8:16], "little")
    at = data.draw(st.integers(start, len(raw) - 1))
    width = data.draw(st.sampled_from([1, 4, 8]))
    raw[at : at + width] = data.draw(st.binary(min_size=width, max_size=width))
    blocks = read(tmp_path, seal(bytes(raw[: len(cache_bytes())])))
    if isinstance(blocks, list):
        train_on(blocks)


@FUZZ
@given(
    field=st.sampled_from(
        ["format_version", "source", "namespace_map", "source_size", "source_mtime_ns", "blocks"]
    ),
    value=JSON_VALUES,
)
def test_sealed_cache_header_edits_are_refused_or_consistent(tmp_path, field, value) -> None:
    raw = cache_bytes()
    size = int.from_bytes(raw[8:16], "little")
    header = json.loads(raw[32 : 32 + size])
    header[field] = value
    new = json.dumps(header).encode()
    edited = seal(raw[:8] + len(new).to_bytes(8, "little") + b"\0" * 16 + new + raw[32 + size :])
    blocks = read(tmp_path, edited)
    if isinstance(blocks, list):
        train_on(blocks)


@pytest.mark.parametrize("name", ["model_v1.wgm", "model_v2.wgm"])
def test_old_fixtures_load_without_a_checksum(name: str) -> None:
    assert load_model(FIXTURES / name).options.bit_precision == 6
