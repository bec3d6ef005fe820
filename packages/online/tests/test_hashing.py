from __future__ import annotations

import mmh3
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from wg_online.hashing import (
    CONSTANT_HASH,
    hash_namespace,
    hash_token,
    interaction_hash,
    murmur3_32,
)
from wg_online.parsing import parse_bytes


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=40), st.integers(0, 2**32 - 1))
def test_murmur_matches_reference_mmh3(data: bytes, seed: int) -> None:
    assert murmur3_32(data, seed) == mmh3.hash(data, seed, signed=False)


@settings(max_examples=100, deadline=None)
@given(
    st.text(alphabet="abcxyz019_-.é", min_size=1, max_size=12),
    st.text(alphabet="abcz01_", min_size=1, max_size=6),
)
def test_compiled_parser_hashes_like_reference(name: str, ns: str) -> None:
    parsed = parse_bytes(f"1 |{ns} {name}\n".encode())
    expected = hash_token(name, hash_namespace(ns)) & 0xFFFFFFFF
    assert parsed.idx.tolist() == [expected]
    assert parsed.ns.tolist() == [ord(ns[0])]


def test_numeric_tokens_hash_to_value_plus_seed() -> None:
    assert hash_token("13", 1000) == 1013
    assert hash_token("0013") == 13
    assert hash_token("13a") == murmur3_32(b"13a")


def test_default_namespace_seed_is_zero_and_anonymous_features_count_up() -> None:
    parsed = parse_bytes(b"1 | foo :2 :3\n")
    assert parsed.idx.tolist() == [murmur3_32(b"foo"), 0, 1]
    assert parsed.val.tolist() == [1.0, 2.0, 3.0]


def test_known_vw_indices() -> None:
    # From `vw --audit -b 18 -q ab` on "1 |a x y:2 |bc 13": a^x:55432, bc^13:69977, a^x*bc^13:118593
    mask = 2**18 - 1
    ax = hash_token("x", hash_namespace("a")) & mask
    bc13 = hash_token("13", hash_namespace("bc")) & mask
    assert (ax, bc13) == (55432, 69977)
    assert interaction_hash(ax, bc13) & mask == 118593
    assert CONSTANT_HASH & (2**24 - 1) == 11650396


def test_value_times_namespace_weight_and_zero_dropped() -> None:
    parsed = parse_bytes(b"1 |a:2 x:1.5 y:0 |b z\n")
    assert parsed.val.dtype == np.float32
    assert parsed.val.tolist() == [3.0, 1.0]
