"""The compiled half of ``--transform``: each example's source namespaces, read from the text.

The compiled parser keeps a feature's hash, value and namespace letter, not its name or its
namespace's full name; a binner needs the name (its number) and every transform names its
sources in full. :func:`scan_sources` reads them back from the block with the rules of
:func:`wg_online.vw_format.parse_line` (``|`` splits namespaces, a namespace's head ends at the
first space or tab, features split on ASCII whitespace, the last namespace of a name wins). It
checks only the source namespaces: the compiled parser has accepted the line, and its rules
(tokens end at a space or tab only) refuse every number that ``parse_line`` would.
:mod:`wg_online.transforms` applies the transforms to what it finds with NumPy.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from wg_online import bytescan
from wg_online.bytescan import M32, hash_token, scan_number
from wg_online.lean_numba import njit_keyed

_njit = partial(njit_keyed, bytescan)
SPACE, TAB, BAR, COLON = 32, 9, 124, 58
#: scan_sources's answer for a line the rules reject: the Python path then explains it.
BAD_LINE = -1


@_njit(inline="always")
def _py_space(c):
    """``bytes.split()``'s whitespace: space, \\t, \\n, \\r, \\v, \\f."""
    return c == 32 or (9 <= c <= 13)


@_njit(inline="always")
def _lower(c):
    return c + 32 if 65 <= c <= 90 else c


@_njit(inline="always")
def _name_float(buf, s, e):
    """(ok, value) of a float namespace's feature name (``transforms.float_of_name``)."""
    n = e - s
    if n == 0:
        return True, np.float32(np.nan)
    if n == 4 and buf[s] == 78 and buf[s + 1] == 79 and buf[s + 2] == 78 and buf[s + 3] == 69:
        return True, np.float32(np.nan)  # NONE
    sign, p = np.float32(1.0), s
    if n == 4 and (buf[s] == 43 or buf[s] == 45):  # +inf, -inf
        sign, p = (np.float32(-1.0) if buf[s] == 45 else np.float32(1.0)), s + 1
    if e - p == 3:
        a, b, c = _lower(buf[p]), _lower(buf[p + 1]), _lower(buf[p + 2])
        if a == 105 and b == 110 and c == 102:
            return True, sign * np.float32(np.inf)
        if a == 110 and b == 97 and c == 110 and p == s:
            return True, np.float32(np.nan)
    return scan_number(buf, s, e)


@_njit(nogil=True)
def scan_sources(buf, lines, names, name_off, seeds, want_float, want_hash, unit):
    """The features of the named source namespaces, example by example.

    ``lines``: each example's line number in ``buf`` (ascending);
    ``names[name_off[k]:name_off[k+1]]``: source k's full name, hashed with ``seeds[k]``.
    Returns (n, ex, src, x, h, v), entries ordered by example then source: ``x`` the name as a
    number where ``want_float[k]``, ``h``/``v`` the feature's 32-bit hash and value (1 where
    ``unit[k]``, else namespace weight times value) where ``want_hash[k]``; ``n`` is
    ``BAD_LINE - i`` at the first example i the rules reject.
    """
    n_src = name_off.shape[0] - 1
    cap = buf.shape[0] // 2 + lines.shape[0] + 16  # a token takes 2 bytes with its space
    ex = np.empty(cap, np.int32)  # small types: each page written costs a fault
    src = np.empty(cap, np.int16)
    xs = np.empty(cap, np.float32)
    hs = np.empty(cap, np.uint32)
    vs = np.empty(cap, np.float32)
    chunk_s = np.empty(n_src, np.int64)  # the source's last namespace: body start, end, weight
    chunk_e = np.empty(n_src, np.int64)
    chunk_w = np.empty(n_src, np.float32)
    n = 0
    line, s = 0, 0  # the line at byte s
    for i in range(lines.shape[0]):
        while line < lines[i]:
            while buf[s] != 10:
                s += 1
            s += 1
            line += 1
        e = s
        while e < buf.shape[0] and buf[e] != 10:
            e += 1
        while e > s and (buf[e - 1] == 13 or buf[e - 1] == 10):  # parse_line's rstrip(b"\r\n")
            e -= 1
        chunk_s[:] = -1
        bar = s
        while bar < e and buf[bar] != BAR:
            bar += 1
        c = bar
        while c < e:  # every namespace's head; the compiled parser has checked the rest
            cs = c + 1
            ce = cs
            while ce < e and buf[ce] != BAR:
                ce += 1
            head_end = cs
            while head_end < ce and buf[head_end] != SPACE and buf[head_end] != TAB:
                head_end += 1
            colon = cs
            while colon < head_end and buf[colon] != COLON:
                colon += 1
            for k in range(n_src):
                a, b = name_off[k], name_off[k + 1]
                if colon - cs != b - a:
                    continue
                same = True
                for t in range(b - a):
                    if buf[cs + t] != names[a + t]:
                        same = False
                        break
                if same:
                    weight = np.float32(1.0)
                    if colon < head_end:
                        ok, weight = scan_number(buf, colon + 1, head_end)
                        if not ok:
                            return BAD_LINE - i, ex, src, xs, hs, vs
                    chunk_s[k], chunk_e[k], chunk_w[k] = head_end, ce, weight
                    break
            c = ce
        for k in range(n_src):
            if chunk_s[k] < 0:
                continue
            p, ce = chunk_s[k], chunk_e[k]
            while p < ce:
                if _py_space(buf[p]):
                    p += 1
                    continue
                q = p
                while q < ce and not _py_space(buf[q]):
                    q += 1
                fc = p
                while fc < q and buf[fc] != COLON:
                    fc += 1
                value = np.float32(1.0)
                if fc < q:
                    ok, value = scan_number(buf, fc + 1, q)
                    if not ok:
                        return BAD_LINE - i, ex, src, xs, hs, vs
                x = np.float32(0.0)
                if want_float[k]:
                    ok, x = _name_float(buf, p, fc)
                    if not ok:
                        return BAD_LINE - i, ex, src, xs, hs, vs
                h = np.uint32(0)
                if want_hash[k]:
                    h = np.uint32(hash_token(buf, p, fc, seeds[k]) & M32)
                    value = np.float32(1.0) if unit[k] else np.float32(chunk_w[k] * value)
                ex[n], src[n], xs[n], hs[n], vs[n] = i, k, x, h, value
                n += 1
                p = q
    return n, ex, src, xs, hs, vs


@_njit(nogil=True)
def emit_hashes(n, seed, mask):
    """Murmur3 of each int's 4 LE bytes under ``seed[i]`` (one per int, or one for all), masked
    (FW's ``emit_i32`` keeps 31 bits)."""
    c1, c2 = np.uint64(0xCC9E2D51), np.uint64(0x1B873593)
    out = np.empty(n.shape[0], np.uint32)
    one = seed.shape[0] == 1
    for i in range(n.shape[0]):
        k = np.uint64(n[i]) & M32
        k = (k * c1) & M32
        k = ((k << np.uint64(15)) | (k >> np.uint64(17))) & M32
        h = (np.uint64(seed[0] if one else seed[i]) & M32) ^ ((k * c2) & M32)
        h = ((h << np.uint64(13)) | (h >> np.uint64(19))) & M32
        h = (h * np.uint64(5) + np.uint64(0xE6546B64)) & M32
        h ^= np.uint64(4)
        h ^= h >> np.uint64(16)
        h = (h * np.uint64(0x85EBCA6B)) & M32
        h ^= h >> np.uint64(13)
        h = (h * np.uint64(0xC2B2AE35)) & M32
        out[i] = np.uint32((h ^ (h >> np.uint64(16))) & np.uint64(mask))
    return out


@_njit(nogil=True)
def pairs(ex_a, ex_b, n_ex):
    """Per example (both sorted by example), every (a, b) index pair, a outer."""
    ca = np.zeros(n_ex + 1, np.int64)
    cb = np.zeros(n_ex + 1, np.int64)
    for e in ex_a:
        ca[e + 1] += 1
    for e in ex_b:
        cb[e + 1] += 1
    total = 0
    for e in range(n_ex):
        total += ca[e + 1] * cb[e + 1]
        ca[e + 1] += ca[e]
        cb[e + 1] += cb[e]
    ex = np.empty(total, np.int64)
    ia = np.empty(total, np.int64)
    ib = np.empty(total, np.int64)
    t = 0
    for e in range(n_ex):
        for a in range(ca[e], ca[e + 1]):
            for b in range(cb[e], cb[e + 1]):
                ex[t], ia[t], ib[t] = e, a, b
                t += 1
    return ex, ia, ib


@_njit(nogil=True)
def interleave(ex, ha, va, ok_a, hb, vb, ok_b):
    """Each value's kept features, the ``a`` one first: (example, hash, value)."""
    n = 0
    for i in range(ex.shape[0]):
        n += int(ok_a[i]) + int(ok_b[i])
    oe = np.empty(n, np.int64)
    oh = np.empty(n, np.uint32)
    ov = np.empty(n, np.float32)
    t = 0
    for i in range(ex.shape[0]):
        if ok_a[i]:
            oe[t], oh[t], ov[t] = ex[i], ha[i], va[i]
            t += 1
        if ok_b[i]:
            oe[t], oh[t], ov[t] = ex[i], hb[i], vb[i]
            t += 1
    return oe, oh, ov


@_njit(nogil=True)
def append_features(offsets, idx, val, ns, ex, h, v, bounds, letters):
    """Each example's own features, then the transforms' (new arrays).

    Transform t's features are ``ex/h/v/letters[bounds[t]:bounds[t+1]]``, sorted by example; an
    example gets them in transform order.
    """
    n_ex, n_t = offsets.shape[0] - 1, bounds.shape[0] - 1
    counts = np.zeros(n_ex, np.int64)
    for e in ex:
        counts[e] += 1
    new_off = np.empty(n_ex + 1, np.int64)
    new_off[0] = 0
    for i in range(n_ex):
        new_off[i + 1] = new_off[i] + (offsets[i + 1] - offsets[i]) + counts[i]
    n = new_off[n_ex]
    oi = np.empty(n, np.uint32)
    ov = np.empty(n, np.float32)
    on = np.empty(n, np.uint8)
    ptr = bounds[:-1].copy()
    t = 0
    for i in range(n_ex):
        for f in range(offsets[i], offsets[i + 1]):
            oi[t], ov[t], on[t] = idx[f], val[f], ns[f]
            t += 1
        for k in range(n_t):
            p, end = ptr[k], bounds[k + 1]
            while p < end and ex[p] == i:
                oi[t], ov[t], on[t] = h[p], v[p], letters[p]
                t += 1
                p += 1
            ptr[k] = p
    return new_off, oi, ov, on


@_njit(nogil=True)
def trunc_i32(x):
    """Rust's ``f32 as i32`` for each value (toward zero, saturating, NaN to 0), as int64."""
    out = np.empty(x.shape[0], np.int64)
    for i in range(x.shape[0]):
        v = np.float64(x[i])
        if v != v:
            out[i] = 0
        elif v >= 2147483647.0:
            out[i] = 2147483647
        elif v <= -2147483648.0:
            out[i] = -2147483648
        else:
            out[i] = np.int64(v)
    return out
