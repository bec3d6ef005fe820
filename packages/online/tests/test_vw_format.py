from __future__ import annotations

import gzip
import io
import sys

import numpy as np
import pytest
import zstandard
from hypothesis import example, given, settings
from hypothesis import strategies as st
from wg_online.hashing import hash_namespace, hash_token
from wg_online.parsing import iter_file, parse_bytes
from wg_online.vw_format import (
    Example,
    Namespace,
    VWFormatError,
    format_example,
    parse_line,
    parse_number,
    read_blocks,
)

NAME = st.text(alphabet="abcdefxyz0123456789_-.éß", min_size=1, max_size=8)
VALUE = st.floats(-1e6, 1e6, width=32, allow_subnormal=False).filter(lambda v: v != 0)
FEATURES = st.lists(st.tuples(NAME, VALUE), max_size=5).map(tuple)
NAMESPACE = st.builds(
    Namespace,
    st.one_of(st.just(""), NAME),
    st.floats(0.125, 8, width=32),
    FEATURES,
)
EXAMPLE = st.builds(
    Example,
    st.sampled_from([1.0, -1.0, 0.0, None]),
    st.floats(0, 100, width=32),
    st.one_of(st.none(), NAME),
    st.lists(NAMESPACE, min_size=1, max_size=4).map(tuple),
).map(lambda e: e if e.label is not None else Example(None, 1.0, e.tag, e.namespaces))


@settings(max_examples=150, deadline=None)
@given(EXAMPLE)
def test_written_examples_read_back_identically(example: Example) -> None:
    assert parse_line(format_example(example)) == example


def _reference_hashes(example: Example) -> list[tuple[int, int, float]]:
    out = []
    for ns in example.namespaces:
        seed, anon = hash_namespace(ns.name), 0
        for name, value in ns.features:
            v = float(np.float32(np.float32(value) * np.float32(ns.weight)))
            if v != 0:  # VW numbers anonymous features (":2") from the namespace hash up
                h = hash_token(name, seed) if name else seed + anon
                anon += not name
                out.append((ns.name.encode()[0] if ns.name else 32, h, v))
    return out


@settings(max_examples=150, deadline=None)
@given(EXAMPLE)
def test_compiled_parser_agrees_with_reference(example: Example) -> None:
    line = format_example(example)
    parsed = parse_bytes(line.encode() + b"\n", with_tags=True)
    expected = _reference_hashes(example)
    got = list(zip(parsed.ns.tolist(), parsed.idx.tolist(), parsed.val.tolist(), strict=True))
    assert got == [(c, h & 0xFFFFFFFF, v) for c, h, v in expected]
    label = example.label if example.label is not None else float("nan")
    np.testing.assert_equal(parsed.labels, [label])
    assert parsed.tags == [example.tag]


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="01|: abx.-'e\t", max_size=20))
def test_compiled_parser_accepts_and_rejects_like_reference(line: str) -> None:
    try:
        ref = parse_line(line)
        ref_ok = True
    except VWFormatError:
        ref_ok = False
    try:
        fast = parse_bytes(line.encode() + b"\n")
        fast_ok = True
    except VWFormatError:
        fast_ok = False
    assert fast_ok == ref_ok
    if ref_ok:
        assert len(fast) == (0 if ref is None else 1)


PLAIN_LINE = st.tuples(
    st.sampled_from(["1 ", "0 ", "-1 ", "", "1 2 ", " "]),
    st.text(alphabet="ab09_:.|- \t\x01é", max_size=24),
).map(lambda parts: f"{parts[0]}|{parts[1]}")


@settings(max_examples=300, deadline=None)
@given(st.lists(PLAIN_LINE, min_size=1, max_size=4), st.booleans())
@example(["1 |a :2 x :3 y:0 :-1", "-1 | :1.5 b |c"], False)
@example(["0 |ab 12 x:1e2 |a\x01 z", "|b x"], True)
@example(["1 |a x|b yy:3|c long_name_over_eight zzzzzzzzzzzzzzzzz\t:4"], False)
def test_one_pass_parser_agrees_with_reference(lines: list[str], crlf: bool) -> None:
    """Lines like ``1 |a x y:2`` take the one-pass path of the compiled parser; it must give
    exactly what the reference parser gives, and leave every other line to the general path."""
    end = "\r\n" if crlf else "\n"
    text = end.join(lines) + end
    try:
        examples = [parse_line(line) for line in lines]
    except VWFormatError:
        with pytest.raises(VWFormatError):
            parse_bytes(text.encode())
        return
    parsed = parse_bytes(text.encode())
    expected = [h for ex in examples if ex is not None for h in _reference_hashes(ex)]
    got = list(zip(parsed.ns.tolist(), parsed.idx.tolist(), parsed.val.tolist(), strict=True))
    assert got == [(c, h & 0xFFFFFFFF, v) for c, h, v in expected]
    labels = [np.nan if ex.label is None else ex.label for ex in examples if ex is not None]
    np.testing.assert_equal(parsed.labels, labels)


@pytest.mark.parametrize(
    ("text", "value"),
    [("1", 1.0), ("-2.5", -2.5), ("1e3", 1000.0), ("+.5", 0.5), ("3.", 3.0), ("1E-2", 0.01)],
)
def test_numbers(text: str, value: float) -> None:
    assert parse_number(text.encode()) == np.float32(value)
    assert parse_bytes(f"1 | x:{text}\n".encode()).val.tolist() == [np.float32(value)]


@pytest.mark.parametrize(
    "text",
    ["", ".", "1x", "e5", "1e", "nan", "inf", "1e999", "--1", "1E40", "-3.5e38", "1e" + "9" * 5000],
)
def test_bad_numbers(text: str) -> None:
    # beyond float32's range: None, with no NumPy overflow warning (an error under pytest)
    assert parse_number(text.encode()) is None
    with pytest.raises(VWFormatError, match=r"^d\.vw:1: bad feature"):
        parse_bytes(f"1 | x:{text}\n".encode(), "d.vw")


@pytest.mark.parametrize("text", ["1e-" + "9" * 5000, "1e-50", "0e" + "9" * 5000])
def test_long_and_tiny_exponents_give_zero(text: str) -> None:
    assert parse_number(text.encode()) == 0.0
    # the compiled parser drops a zero-valued feature, as it drops x:0
    assert parse_bytes(f"1 | x:{text} y\n".encode()).val.tolist() == [1.0]
    assert parse_bytes(b"1 | x:0 y\n").val.tolist() == [1.0]


def test_tags_labels_and_importance() -> None:
    ex = parse_line("-1 3 'abc| x")
    assert (ex.label, ex.importance, ex.tag) == (-1.0, 3.0, "abc")
    assert parse_line(" unlabeled/2| a b c").tag == "unlabeled/2"
    assert parse_line("1 labeled/1| a").label == 1.0
    assert parse_line("   ") is None


@pytest.mark.parametrize(
    ("line", "what"),
    [
        ("yes | a", "bad label 'yes'"),
        ("2 | a", "bad label '2'"),
        ("1 -3 | a", "bad importance weight '-3'"),
        ("1 | a:b", "bad feature 'a:b'"),
        ("1 |ns:x a", "bad namespace weight 'ns:x'"),
        ("1 2 3 'x| a", "too many tokens"),
    ],
)
def test_errors_name_file_line_and_text(line: str, what: str) -> None:
    data = f"1 | ok\n\n{line}\n".encode()
    with pytest.raises(VWFormatError) as info:
        parse_bytes(data, "train.vw", 1)
    message = str(info.value)
    assert message.startswith(f"train.vw:3: {what}")
    assert repr(line) in message


def test_invalid_utf8_is_reported_or_skipped() -> None:
    data = b"1 | a\n-1 | \xff\xfe\n1 | b\n"
    with pytest.raises(VWFormatError, match=r"d.vw:2: invalid UTF-8"):
        parse_bytes(data, "d.vw")
    parsed = parse_bytes(data, "d.vw", skip_bad_lines=True)
    assert len(parsed) == 2
    assert parsed.skipped == 1


def test_skip_bad_lines_counts(vw_corpus) -> None:
    blocks = list(iter_file(vw_corpus / "malformed.dat", skip_bad_lines=True))
    assert sum(len(b) for b in blocks) == 5
    assert sum(b.skipped for b in blocks) == 6
    with pytest.raises(VWFormatError, match=r"malformed.dat:1: bad feature 'x:0.7\\x00'"):
        list(iter_file(vw_corpus / "malformed.dat"))


def test_corpus_files_parse(vw_corpus) -> None:
    n = sum(len(b) for b in iter_file(vw_corpus / "rcv1_small.dat", block_size=1 << 16))
    assert n == 1000
    mix = next(iter_file(vw_corpus / "labeled-unlabeled-mix.dat", with_tags=True))
    assert mix.tags == ["labeled/1", "unlabeled/2", "labeled/3", "unlabeled/4"]
    assert np.isnan(mix.labels[1])
    assert mix.labels[2] == -1


def test_gzip_zstd_and_stdin(tmp_path, monkeypatch) -> None:
    text = b"1 | a\n-1 | b c\n"
    (tmp_path / "d.gz").write_bytes(gzip.compress(text))
    (tmp_path / "d.zst").write_bytes(zstandard.ZstdCompressor().compress(text))
    for name in ("d.gz", "d.zst"):
        (block,) = iter_file(tmp_path / name)
        assert block.offsets.tolist() == [0, 1, 3]
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text)))
    (block,) = iter_file("-")
    assert len(block) == 2


def test_block_boundaries_keep_line_numbers(tmp_path) -> None:
    path = tmp_path / "d.vw"
    path.write_bytes(b"1 | a\n" * 1000 + b"1 | a:zz\n")
    with pytest.raises(VWFormatError, match=r"d.vw:1001: bad feature"):
        list(iter_file(path, block_size=100))


def test_parse_ahead_thread_keeps_block_order(tmp_path) -> None:
    path = tmp_path / "d.vw"
    path.write_bytes(b"".join(b"1 't%d |a f%d\n" % (i, i) for i in range(500)))
    whole = parse_bytes(path.read_bytes(), with_tags=True)
    blocks = list(iter_file(path, with_tags=True, block_size=64))
    assert len(blocks) > 50
    assert np.concatenate([b.idx for b in blocks]).tolist() == whole.idx.tolist()
    assert [t for b in blocks for t in b.tags] == whole.tags == [f"t{i}" for i in range(500)]


@settings(max_examples=50, deadline=None)
@given(st.binary(max_size=300).map(lambda b: b.replace(b"\r", b"")), st.integers(1, 40))
@example(b"xxx\nab\ny\nz\n", 2)  # a read without a newline between two blocks
def test_read_blocks_with_reused_buffers_cuts_the_same_lines(data: bytes, size: int) -> None:
    fresh = [bytes(b) for b in read_blocks(io.BytesIO(data), size)]
    reused, previous = [], None
    for block in read_blocks(io.BytesIO(data), size, reuse=2):
        if previous is not None:  # with two buffers, a chunk survives the next read
            assert bytes(previous) == reused[-1]
        reused.append(bytes(block))
        previous = block
    assert reused == fresh
    assert b"".join(fresh) == (data + b"\n" if data and not data.endswith(b"\n") else data)
    assert all(b.endswith(b"\n") for b in fresh)


def test_reused_parse_buffers_give_the_same_blocks(tmp_path) -> None:
    path = tmp_path / "d.vw"
    lines = [b"1 |a f%d |b g%d" % (i, i % 7) + b" x" * (i % 13) for i in range(3000)]
    path.write_bytes(b"\n".join(lines) + b"\n")
    fresh = list(iter_file(path, block_size=1000))
    step = [
        (b.labels.copy(), b.offsets.copy(), b.idx.copy(), b.val.copy(), b.ns.copy())
        for b in iter_file(path, block_size=1000, reuse=True)
    ]
    assert len(step) == len(fresh) > 50
    for b, (labels, offsets, idx, val, ns) in zip(fresh, step, strict=True):
        assert b.offsets.tolist() == offsets.tolist()
        assert (b.labels.tolist(), b.idx.tolist()) == (labels.tolist(), idx.tolist())
        assert (b.val.tolist(), b.ns.tolist()) == (val.tolist(), ns.tolist())


def test_runs_hand_their_buffers_to_the_next_run(tmp_path) -> None:
    from wg_online.parsing import ScratchPool

    path = tmp_path / "d.vw"
    path.write_bytes(b"".join(b"1 |a f%d |b g%d\n" % (i, i % 5) for i in range(2000)))
    pool = ScratchPool(keep=1)
    with pool.take() as first, pool.take() as second:  # runs at the same time: a set each
        assert second is not first
    with pool.take() as again:
        assert again is second  # handed back first, and kept: at most one, as asked
    runs = [
        [(b.offsets.copy(), b.idx.copy()) for b in iter_file(path, block_size=700, reuse=True)]
        for _ in range(2)  # the second run parses into the first run's buffers
    ]
    assert len(runs[0]) == len(runs[1]) > 20
    for (o1, i1), (o2, i2) in zip(*runs, strict=True):
        assert (o1.tolist(), i1.tolist()) == (o2.tolist(), i2.tolist())


def test_parse_into_asks_for_bigger_arrays() -> None:
    from wg_online.kernels import parse_into
    from wg_online.parsing import ParseBuffers, ParsedBlock

    buf = np.frombuffer(b"1 | a b\n\n-1 | c\n", np.uint8)
    small = ParseBuffers()
    small.grow(0, 0)
    small.arrays = ParsedBlock(*(a[:2] for a in small.arrays))  # room for 2 lines, not 4
    no_map = (np.zeros(0, np.uint64), np.zeros(0, np.uint8))
    assert parse_into(buf, False, *no_map, small.arrays)[:2] == (4, -1)
    parsed = parse_bytes(bytes(buf), buffers=small)
    assert (parsed.offsets.tolist(), len(small.arrays[0]) >= 4) == ([0, 2, 3], True)


def test_namespace_map_declares_names_and_letters(tmp_path) -> None:
    from wg_online.vw_format import load_namespace_map

    path = tmp_path / "map.csv"
    path.write_text("# FW-style map\nA,animal\nB,food\n")
    ns_map = load_namespace_map(path)
    parsed = parse_bytes(b"1 |animal cat |food fish\n", namespace_map=ns_map)
    assert parsed.ns.tolist() == [ord("A"), ord("B")]
    assert parsed.idx[0] == hash_token("cat", hash_namespace("animal")) & 0xFFFFFFFF
    with pytest.raises(VWFormatError) as info:
        parse_bytes(b"1 |animal cat\n-1 |fod fish\n", "d.vw", namespace_map=ns_map)
    assert str(info.value).startswith("d.vw:2: undeclared namespace 'fod'")
    assert "declared: animal, food" in str(info.value)
    path.write_text("A,animal\nBfood\n")
    with pytest.raises(VWFormatError, match=r"map.csv:2: bad namespace map line"):
        load_namespace_map(path)
