"""Byte-level primitives of the compiled VW parser (numba, inlined into its line loop).

VW's murmur3 over a byte range (words read four bytes at a time), VW's token hash (all-digit
names hash to their value plus the seed), and a float parser with the rules of
:func:`wg_online.vw_format.parse_number`. The functions that scan the buffer are
``inline="always"``: a numba call with array arguments pays a reference-count update per array
(see :mod:`wg_online.kernels`). The four smallest (``rotl``, ``byte_at``, ``word_at``,
``is_space``) are plain calls that LLVM inlines anyway: numba's own inlining of their many call
sites was a third of the parser's cold compile (40.5 -> 28.5 s, same parsing speed).
"""

from __future__ import annotations

import numpy as np

from wg_online.lean_numba import nb

M32 = np.uint64(0xFFFFFFFF)
_POW10 = np.array([10.0**i for i in range(23)])


def _vw_pow10_table() -> np.ndarray:
    """VW's float32 powers of ten, 1e-37..1e38, each from the last by one float ``*10``/``/10``
    (not correctly rounded: VW's number parser multiplies by these)."""
    up, down = [np.float32(1.0)], [np.float32(1.0)]
    for _ in range(38):
        up.append(np.float32(up[-1] * np.float32(10.0)))
        down.append(np.float32(down[-1] / np.float32(10.0)))
    return np.array(down[37:0:-1] + up, np.float32)


VW_POW10 = _vw_pow10_table()


@nb.njit(cache=True, _nrt=False)
def rotl(x, r):
    return ((x << np.uint64(r)) | (x >> np.uint64(32 - r))) & M32


@nb.njit(cache=True, _nrt=False)
def byte_at(buf, i):
    """``buf[i]`` for ``i >= 0``: an unsigned index skips numba's negative-index wrap-around."""
    return buf[np.uint64(i)]


@nb.njit(cache=True, _nrt=False)
def word_at(buf, p):
    """The four bytes from ``p`` as a little-endian integer (LLVM merges them into one load)."""
    q = np.uint64(p)
    return (
        np.uint64(buf[q])
        | (np.uint64(buf[q + np.uint64(1)]) << np.uint64(8))
        | (np.uint64(buf[q + np.uint64(2)]) << np.uint64(16))
        | (np.uint64(buf[q + np.uint64(3)]) << np.uint64(24))
    )


@nb.njit(cache=True, inline="always")
def murmur(buf, s, e, seed):
    c1, c2 = np.uint64(0xCC9E2D51), np.uint64(0x1B873593)
    h = np.uint64(seed) & M32
    p = s
    while p + 4 <= e:
        k = rotl((word_at(buf, p) * c1) & M32, 15)
        h ^= (k * c2) & M32
        h = (rotl(h, 13) * np.uint64(5) + np.uint64(0xE6546B64)) & M32
        p += 4
    rem = e - p
    if rem > 0:
        if p + 4 <= buf.shape[0]:  # one load and a mask instead of a loop over the tail
            k = word_at(buf, p) & ((np.uint64(1) << np.uint64(8 * rem)) - np.uint64(1))
        else:
            k = np.uint64(0)
            for i in range(rem - 1, -1, -1):
                k = (k << np.uint64(8)) | np.uint64(buf[p + i])
        k = rotl((k * c1) & M32, 15)
        h ^= (k * c2) & M32
    h ^= np.uint64(e - s)
    h ^= h >> np.uint64(16)
    h = (h * np.uint64(0x85EBCA6B)) & M32
    h ^= h >> np.uint64(13)
    h = (h * np.uint64(0xC2B2AE35)) & M32
    return h ^ (h >> np.uint64(16))


@nb.njit(cache=True, inline="always")
def hash_token(buf, s, e, seed):
    if e == s:
        return murmur(buf, s, e, seed)
    acc = np.uint64(0)
    for i in range(s, e):
        c = buf[i]
        if c < 48 or c > 57:
            return murmur(buf, s, e, seed)
        acc = acc * np.uint64(10) + np.uint64(c - 48)
    return acc + np.uint64(seed)


@nb.njit(cache=True, inline="always")
def scan_number(buf, s, e):
    """(ok, float32 value); the same algorithm as vw_format.parse_number."""
    i = s
    neg = False
    if i < e and (buf[i] == 43 or buf[i] == 45):
        neg = buf[i] == 45
        i += 1
    mant, ndig, exp10, seen = np.int64(0), 0, 0, 0
    frac = False
    while i < e:
        c = buf[i]
        if c == 46 and not frac:
            frac = True
        elif 48 <= c <= 57:
            seen += 1
            if ndig == 0 and c == 48:
                if frac:
                    exp10 -= 1
            elif ndig < 18:
                mant = mant * 10 + (c - 48)
                ndig += 1
                if frac:
                    exp10 -= 1
            elif not frac:
                exp10 += 1
        else:
            break
        i += 1
    if seen == 0:
        return False, np.float32(0.0)
    if i < e:
        if buf[i] != 69 and buf[i] != 101:
            return False, np.float32(0.0)
        i += 1
        eneg = False
        if i < e and (buf[i] == 43 or buf[i] == 45):
            eneg = buf[i] == 45
            i += 1
        if i == e:
            return False, np.float32(0.0)
        ev = 0
        while i < e:
            c = buf[i]
            if c < 48 or c > 57:
                return False, np.float32(0.0)
            if ev < 100000:
                ev = ev * 10 + (c - 48)
            i += 1
        exp10 += -ev if eneg else ev
    exp10 = max(-400, min(400, exp10))
    v = float(mant)
    while exp10 > 22:
        v *= 1e22
        exp10 -= 22
    while exp10 < -22:
        v /= 1e22
        exp10 += 22
    v = v * _POW10[exp10] if exp10 >= 0 else v / _POW10[-exp10]
    r = np.float32(-v if neg else v)
    return np.isfinite(r), r


@nb.njit(cache=True, inline="always")
def scan_number_vw(buf, s, e):
    """(ok, float32 value) as Vowpal Wabbit's own parser computes it (``--vwcompat``).

    VW accumulates the digits in float32 (``acc = fl(fl(acc * 10) + d)``, at most 35 after the
    point) and multiplies once by :data:`VW_POW10`, which is not correctly rounded: ``0.001`` is
    0.00099999993; a power of ten below the table gives 0. Syntax outside that path (``+``,
    ``e+3``, no digits) takes VW's fallback, a correctly rounded ``strtof``: :func:`scan_number`.
    """
    i, neg = s, False
    if i < e and buf[i] == 45:
        neg, i = True, i + 1
    acc, digits, ndec = np.float32(0.0), 0, 0
    while i < e and 48 <= buf[i] <= 57:
        acc = np.float32(np.float32(acc * np.float32(10.0)) + np.float32(buf[i] - 48))
        digits, i = digits + 1, i + 1
    if i < e and buf[i] == 46:
        i += 1
        while i < e and 48 <= buf[i] <= 57:
            if ndec < 35:
                acc = np.float32(np.float32(acc * np.float32(10.0)) + np.float32(buf[i] - 48))
                ndec += 1
            digits, i = digits + 1, i + 1
    exp10 = 0
    if i < e and (buf[i] == 69 or buf[i] == 101):
        i += 1
        eneg = i < e and buf[i] == 45
        i += 1 if eneg else 0
        if i == e or not 48 <= buf[i] <= 57:
            return scan_number(buf, s, e)
        while i < e and 48 <= buf[i] <= 57 and exp10 < 1000:
            exp10, i = exp10 * 10 + (int(buf[i]) - 48), i + 1
        exp10 = -exp10 if eneg else exp10
    power = exp10 - ndec
    if i != e or digits == 0 or power > 38:
        return scan_number(buf, s, e)
    if power < -37:  # below VW's table: the value is 0 (a feature is then dropped)
        return True, np.float32(0.0)
    r = acc * VW_POW10[power + 37]
    r = -r if neg else r
    return np.isfinite(r), r


@nb.njit(cache=True, inline="always")
def scan_any(buf, s, e, vw):
    """:func:`scan_number_vw` when ``vw``, else the correctly rounded :func:`scan_number`."""
    if vw:
        return scan_number_vw(buf, s, e)
    return scan_number(buf, s, e)


@nb.njit(cache=True, _nrt=False)
def is_space(c):
    return c == 32 or c == 9
