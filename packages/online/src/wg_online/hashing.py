"""Vowpal Wabbit's feature hashing: murmur3 (x86, 32 bit) with the namespace hash as seed.

These are the pure-Python reference functions; :mod:`wg_online.kernels` holds the same
rules compiled with numba for the parser's hot loop, and the tests check one against the other.

Rules (from VW's ``hashstring`` and text parser):

* a namespace ``|name`` hashes to ``hash_token(name, 0)``; the default namespace ``| `` to 0;
* a feature ``name`` in a namespace with hash ``h`` hashes to ``hash_token(name, h)``;
* a token made only of ASCII digits is its integer value plus the seed, not a murmur hash;
* a quadratic interaction of feature hashes ``a`` and ``b`` is ``(FNV_PRIME * a) ^ b``;
* the weight used is the hash masked to ``-b`` bits.
"""

from __future__ import annotations

#: VW's multiplier for interaction hashing (the 32-bit FNV prime).
FNV_PRIME = 16777619
#: Hash of VW's constant (bias) feature.
CONSTANT_HASH = 11650396
_M32 = 0xFFFFFFFF
_M64 = 0xFFFFFFFFFFFFFFFF


def _rotl32(x: int, r: int) -> int:
    return ((x << r) | (x >> (32 - r))) & _M32


def murmur3_32(data: bytes, seed: int = 0) -> int:
    """Murmur3 x86 32-bit hash of ``data`` (unsigned result), as in VW's ``uniform_hash``.

    Examples
    --------
    >>> murmur3_32(b"a")
    1009084850
    >>> murmur3_32(b"x", 1009084850)
    3378043016
    """
    c1, c2 = 0xCC9E2D51, 0x1B873593
    h = seed & _M32
    n_blocks = len(data) // 4
    for i in range(n_blocks):
        k = int.from_bytes(data[4 * i : 4 * i + 4], "little")
        k = _rotl32((k * c1) & _M32, 15)
        h ^= (k * c2) & _M32
        h = (_rotl32(h, 13) * 5 + 0xE6546B64) & _M32
    tail = data[4 * n_blocks :]
    k = 0
    for i in reversed(range(len(tail))):
        k = (k << 8) | tail[i]
    if tail:
        k = _rotl32((k * c1) & _M32, 15)
        h ^= (k * c2) & _M32
    h ^= len(data)
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & _M32
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & _M32
    return h ^ (h >> 16)


def hash_token(token: str | bytes, seed: int = 0) -> int:
    """VW's ``hashstring``: digits-only tokens hash to their value plus ``seed`` (64-bit wrap).

    Examples
    --------
    >>> hash_token("13", 1328615756)
    1328615769
    >>> hash_token("foo") == murmur3_32(b"foo")
    True
    """
    data = token.encode() if isinstance(token, str) else token
    if data and data.isdigit() and data.isascii():
        return (int(data) + seed) & _M64
    return murmur3_32(data, seed & _M32)


def hash_namespace(name: str | bytes) -> int:
    """The seed of a namespace: 0 for the default namespace (empty name).

    Examples
    --------
    >>> hash_namespace("")
    0
    >>> hash_namespace("a")
    1009084850
    """
    return hash_token(name, 0) if name else 0


def interaction_hash(first: int, second: int) -> int:
    """Hash of the quadratic feature made of two (masked) feature hashes.

    Examples
    --------
    >>> interaction_hash(55432, 69977) & (2**18 - 1)
    118593
    """
    return ((FNV_PRIME * first) ^ second) & _M64
