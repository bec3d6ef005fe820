"""The compiled parser (numba, ``cache=True``, ``nogil=True``): VW text lines to flat arrays.

One kernel, :func:`parse_block` (and :func:`parse_into`, into reused arrays), with the rules of
:mod:`wg_online.hashing` and :mod:`wg_online.vw_format`; :mod:`wg_online.bytescan` holds the
byte-level primitives (murmur3, numbers) and :mod:`wg_online.adagrad` the learning kernel. The
helpers are inlined: a numba call with array arguments pays a reference-count update per array,
which dominated the per-line cost.
"""

from __future__ import annotations

from enum import IntEnum
from functools import partial

import numpy as np

from wg_online import bytescan
from wg_online.bytescan import M32, byte_at, hash_token, is_space, murmur, scan_any
from wg_online.lean_numba import njit_keyed
from wg_online.parsing import ParsedBlock

# The bytes the parser looks for (numba freezes module-level ints as constants). The hot loops
# keep explicit == chains (noqa: SIM109): a tuple's `in` is a loop in numba's IR.
TAB, NEWLINE, CR, SPACE, QUOTE, MINUS, COLON, BAR = 9, 10, 13, 32, 39, 45, 58, 124
DIGIT_0, DIGIT_1, DIGIT_9 = 48, 49, 57
#: _fast_features's answer for a line that is not plain: the general path parses it.
NOT_PLAIN = 1

#: ``nb.njit(cache=True, ...)`` for this module: its kernels compile bytescan's primitives into
#: themselves, and numba's cache would not notice an edit of bytescan.py on its own.
_njit = partial(njit_keyed, bytescan)


class ParseError(IntEnum):
    """Why the compiled parser refused a line (its ``bad_codes``; 0 is no error). The reference
    parser, :func:`wg_online.vw_format.parse_line`, then says it in words with file:line."""

    BAD_LABEL = 2
    BAD_IMPORTANCE = 3
    BAD_VALUE = 4
    BAD_NS_WEIGHT = 5
    TOO_MANY_TOKENS = 6
    UNDECLARED_NS = 7


@_njit(inline="always")
def _parse_label_section(buf, s, bar, out, starts, ends, vw):
    """Fill out = [label, importance, tag_start, tag_end]; return an error code or 0."""
    ntok = 0
    i = s
    while i < bar:
        while i < bar and is_space(buf[i]):
            i += 1
        if i == bar:
            break
        j = i
        while j < bar and not is_space(buf[j]):
            j += 1
        if ntok == 4:
            return ParseError.TOO_MANY_TOKENS
        starts[ntok], ends[ntok] = i, j
        ntok += 1
        i = j
    out[0], out[1], out[2], out[3] = np.nan, 1.0, -1.0, -1.0
    if ntok > 0 and (not is_space(buf[bar - 1]) or buf[starts[ntok - 1]] == QUOTE):
        ntok -= 1
        ts = starts[ntok] + (1 if buf[starts[ntok]] == QUOTE else 0)
        out[2], out[3] = ts, ends[ntok]
    if ntok > 2:
        return ParseError.TOO_MANY_TOKENS
    if ntok >= 1:
        ok, v = scan_any(buf, starts[0], ends[0], vw)
        if not ok or not (vw or v == 1.0 or v == -1.0 or v == 0.0):  # VW: any label
            return ParseError.BAD_LABEL
        out[0] = v
    if ntok == 2:
        ok, v = scan_any(buf, starts[1], ends[1], vw)
        if not ok or v < 0:
            return ParseError.BAD_IMPORTANCE
        out[1] = v
    return 0


@_njit(inline="always")
def _namespace_hash(buf, s, e, cache):
    """Namespace names repeat on every line: remember the last one per first byte."""
    c = buf[s]
    if e - s == 1 and cache[c, 1] == 1:  # one-letter names (the usual case): no compare loop
        return np.uint64(cache[c, 2])
    start, length = cache[c, 0], cache[c, 1]
    if length == e - s and start >= 0:
        same = True
        for t in range(length):
            if buf[start + t] != buf[s + t]:
                same = False
                break
        if same:
            return np.uint64(cache[c, 2])
    h = hash_token(buf, s, e, np.uint64(0))
    cache[c, 0], cache[c, 1], cache[c, 2] = s, e - s, np.int64(h)
    return h


@_njit(inline="always")
def _parse_features(buf, bar, e, f, idx, val, ns, ns_cache, map_hashes, map_letters, vw):
    """Parse namespaces from the first bar to e; return (error code, new feature count)."""
    i = bar
    while i < e:
        i += 1  # skip the bar
        ns_char, ns_hash, weight = np.uint8(32), np.uint64(0), np.float32(1.0)
        if i < e and not is_space(buf[i]) and buf[i] != BAR:
            j = i
            colon = -1
            while j < e and not is_space(buf[j]) and buf[j] != BAR:
                if buf[j] == COLON and colon == -1:
                    colon = j
                j += 1
            name_end = j if colon == -1 else colon
            if name_end > i:
                ns_char = buf[i]
                ns_hash = _namespace_hash(buf, i, name_end, ns_cache)
                if map_hashes.shape[0] > 0:  # FW-style namespace map: declared names only
                    pos = np.searchsorted(map_hashes, ns_hash)
                    if pos == map_hashes.shape[0] or map_hashes[pos] != ns_hash:
                        return ParseError.UNDECLARED_NS, f
                    ns_char = map_letters[pos]
            if colon != -1:
                ok, weight = scan_any(buf, colon + 1, j, vw)
                if not ok:
                    return ParseError.BAD_NS_WEIGHT, f
            i = j
        anon = np.uint64(0)
        while i < e and buf[i] != BAR:
            if is_space(buf[i]):
                i += 1
                continue
            j = i
            colon = -1
            digits = True  # VW hashes digit-only names as numbers: note it in the same pass
            while j < e and not is_space(buf[j]) and buf[j] != BAR:
                c = buf[j]
                if c == COLON and colon == -1:
                    colon = j
                elif colon == -1 and (c < DIGIT_0 or c > DIGIT_9):
                    digits = False
                j += 1
            name_end = j if colon == -1 else colon
            v = np.float32(1.0)
            if colon != -1:
                ok, v = scan_any(buf, colon + 1, j, vw)
                if not ok:
                    return ParseError.BAD_VALUE, f
            v = np.float32(v * weight)
            if v != 0:
                if name_end == i:
                    h = ns_hash + anon
                    anon += np.uint64(1)
                elif digits:
                    h = hash_token(buf, i, name_end, ns_hash)
                else:
                    h = murmur(buf, i, name_end, ns_hash)
                idx[f], val[f], ns[f] = np.uint32(h & M32), v, ns_char
                f += 1
            i = j
    return 0, f


_STOP = np.zeros(256, np.bool_)  # bytes that end a name in the fast path: \t \n \r space : |
_STOP[[9, 10, 13, 32, 58, 124]] = True
_ONES, _HIGH = np.uint64(0x0101010101010101), np.uint64(0x8080808080808080)


@_njit(inline="always")
def _below(x, c):
    """The high bit of every byte of ``x`` that is below ``c`` (<= 128); no borrow between bytes."""
    return ~((x | _HIGH) - _ONES * np.uint64(c)) & ~x & _HIGH


@_njit(inline="always")
def _token_end(buf, i):
    """The first index from ``i`` holding a byte <= 32, ':' or '|', eight bytes at a time.

    Every byte below 32 stops the scan (the caller leaves the rare control characters other
    than tab, newline and carriage return to the general path).
    """
    while i + 8 <= buf.shape[0]:
        q = np.uint64(i)
        x = np.uint64(0)
        for b in range(8):  # LLVM merges these into one 8-byte load
            x |= np.uint64(buf[q + np.uint64(b)]) << np.uint64(8 * b)
        m = _below(x, 33) | _below(x ^ (_ONES * np.uint64(58)), 1)
        m |= _below(x ^ (_ONES * np.uint64(124)), 1)
        if m != 0:
            low = m & (~m + np.uint64(1))
            return i + np.int64((((low >> np.uint64(7)) - np.uint64(1)) & _ONES) % np.uint64(255))
        i += 8
    while byte_at(buf, i) > SPACE and byte_at(buf, i) != COLON and byte_at(buf, i) != BAR:
        i += 1
    return i


@_njit(inline="always")
def _fast_features(buf, i, f, idx, val, ns, ns_cache, map_hashes, map_letters, vw):
    """One pass over the features of a line from its first bar (``buf`` ends with a newline).

    Returns (status, position of the newline, new feature count). Status 0: parsed exactly as
    :func:`_parse_features` would; 1: the line has something left to the general path (a
    carriage return, a namespace weight, a bad value or namespace), which then parses it again.
    Every scan stops at the last newline at the latest, so no index is checked against the end.
    """
    while True:  # buf[i] is a bar
        i += 1
        c = byte_at(buf, i)
        ns_char, ns_hash = np.uint8(32), np.uint64(0)
        if not _STOP[c]:
            j = i + 1
            while not _STOP[byte_at(buf, j)]:
                j += 1
            if byte_at(buf, j) == COLON or byte_at(buf, j) == CR:
                return NOT_PLAIN, i, f
            ns_char = c
            ns_hash = _namespace_hash(buf, i, j, ns_cache)
            if map_hashes.shape[0] > 0:
                pos = np.searchsorted(map_hashes, ns_hash)
                if pos == map_hashes.shape[0] or map_hashes[pos] != ns_hash:
                    return NOT_PLAIN, i, f
                ns_char = map_letters[pos]
            i = j
        elif c == COLON or c == CR:  # noqa: SIM109
            return NOT_PLAIN, i, f
        anon = np.uint64(0)
        while True:
            c = byte_at(buf, i)
            if c == SPACE or c == TAB:  # noqa: SIM109
                i += 1
                continue
            if c == NEWLINE:
                return 0, i, f
            if c == BAR:
                break
            if c == CR:
                return NOT_PLAIN, i, f
            j = _token_end(buf, i)
            c = byte_at(buf, j)
            if c < SPACE and c != TAB and c != NEWLINE and c != CR:
                return NOT_PLAIN, i, f
            name_end = j
            v = np.float32(1.0)
            if byte_at(buf, j) == COLON:
                j += 1
                c = byte_at(buf, j)
                while not (c == SPACE or c == TAB or c == BAR or c == NEWLINE or c == CR):  # noqa: SIM109
                    j += 1
                    c = byte_at(buf, j)
                ok, v = scan_any(buf, name_end + 1, j, vw)
                if not ok or c == CR:
                    return NOT_PLAIN, i, f
            if v != 0:
                if name_end == i:
                    h = ns_hash + anon
                    anon += np.uint64(1)
                else:
                    h = hash_token(buf, i, name_end, ns_hash)
                u = np.uint64(f)
                idx[u], val[u], ns[u] = np.uint32(h & M32), v, ns_char
                f += 1
            i = j


@_njit(inline="always")
def _fast_label(buf, s):
    """(label, position of the first bar) of a line ``1 |``, ``0 |``, ``-1 |`` or ``|``; else -1.

    ``buf`` ends with a newline and ``buf[s]`` is not one, so every index read exists.
    """
    c = byte_at(buf, s)
    if c == BAR:
        return np.float32(np.nan), s
    if (
        (c == DIGIT_1 or c == DIGIT_0)  # noqa: SIM109
        and byte_at(buf, s + 1) == SPACE
        and byte_at(buf, s + 2) == BAR
    ):
        return np.float32(c - 48), s + 2
    if (
        c == MINUS
        and byte_at(buf, s + 1) == DIGIT_1
        and byte_at(buf, s + 2) == SPACE
        and byte_at(buf, s + 3) == BAR
    ):
        return np.float32(-1.0), s + 3
    return np.float32(0.0), -1


@_njit(nogil=True)
def count_newlines(buf):
    """The number of newline bytes in ``buf`` (uint8), without holding the GIL.

    Examples
    --------
    >>> int(count_newlines(np.frombuffer(b"a\\nb\\n\\n", np.uint8)))
    3
    """
    n = 0
    for i in range(buf.shape[0]):
        n += buf[i] == NEWLINE
    return n


@_njit(inline="always")
def _add_example(out, n_ex, line, f, label, importance, tag_start, tag_end):
    """Record example ``n_ex`` (its features end at ``f``); return the example count."""
    out.labels[n_ex], out.imps[n_ex] = label, importance
    out.tags[n_ex, 0], out.tags[n_ex, 1] = tag_start, tag_end
    out.lines[n_ex] = line
    out.offsets[n_ex + 1] = f
    return n_ex + 1


@_njit(nogil=True, _nrt=False)
def _parse_lines(buf, skip_bad, map_hashes, map_letters, out, head, starts, ends, ns_cache, vw):
    """The line loop of :func:`parse_block`, into its arrays: (examples, bad lines, features).

    Compiled without numba's reference counting (``_nrt=False``; it cannot allocate): each
    inlined helper that takes arrays otherwise pays an atomic increment and decrement per array
    and call, which took about a quarter of the parse time.
    """
    idx, val, ns, bad_lines, bad_codes = out.idx, out.val, out.ns, out.bad_lines, out.bad_codes
    n = buf.shape[0]
    n_ex, n_bad, f, pos, line = 0, 0, 0, 0, 0
    fast = n > 0 and buf[n - 1] == NEWLINE
    while pos < n:
        if fast and buf[pos] != NEWLINE:
            lab, bar = _fast_label(buf, pos)
            if bar >= 0:
                code, end, f_new = _fast_features(
                    buf, bar, f, idx, val, ns, ns_cache, map_hashes, map_letters, vw
                )
                if code == 0:
                    f = f_new
                    n_ex = _add_example(out, n_ex, line, f, lab, 1.0, -1, -1)
                    pos = end + 1
                    line += 1
                    continue
        end = pos
        while end < n and buf[end] != NEWLINE:
            end += 1
        e = end - 1 if end > pos and buf[end - 1] == CR else end
        s = pos
        blank = True
        for k in range(s, e):
            if not is_space(buf[k]):
                blank = False
                break
        if not blank:
            bar = s
            while bar < e and buf[bar] != BAR:
                bar += 1
            if bar - s == 2 and buf[s + 1] == SPACE and (buf[s] == DIGIT_1 or buf[s] == DIGIT_0):
                head[0], head[1], head[2], head[3] = buf[s] - DIGIT_0, 1.0, -1.0, -1.0  # "1 ", "0 "
                code = 0
            elif bar - s == 3 and buf[s] == MINUS and buf[s + 1] == DIGIT_1 and buf[s + 2] == SPACE:
                head[0], head[1], head[2], head[3] = -1.0, 1.0, -1.0, -1.0  # "-1 "
                code = 0
            else:
                code = _parse_label_section(buf, s, bar, head, starts, ends, vw)
            f_new = f
            if code == 0:
                code, f_new = _parse_features(
                    buf, bar, e, f, idx, val, ns, ns_cache, map_hashes, map_letters, vw
                )
            if code != 0:
                bad_lines[n_bad], bad_codes[n_bad] = line, code
                n_bad += 1
                if not skip_bad:
                    break
            else:
                f = f_new
                n_ex = _add_example(
                    out, n_ex, line, f, head[0], head[1], np.int64(head[2]), np.int64(head[3])
                )
        pos = end + 1
        line += 1
    return n_ex, n_bad, f


@_njit(nogil=True)
def parse_into(buf, skip_bad, map_hashes, map_letters, out, vw_numbers=False):
    """:func:`parse_block` into the caller's arrays ``out`` (a :class:`ParsedBlock`), reused
    from block to block.

    Returns (lines in ``buf``, examples, bad lines, features); examples is -1 (and nothing is
    parsed) when the arrays hold fewer than that many lines, or ``idx`` fewer than
    ``len(buf) // 2 + lines`` features.
    """
    n_lines = count_newlines(buf) + 1
    short = min(out.labels.shape[0], out.imps.shape[0], out.tags.shape[0], out.lines.shape[0])
    if (
        min(short, out.bad_lines.shape[0], out.bad_codes.shape[0]) < n_lines
        or out.offsets.shape[0] <= n_lines
        or min(out.idx.shape[0], out.val.shape[0], out.ns.shape[0]) < buf.shape[0] // 2 + n_lines
    ):
        return n_lines, -1, 0, 0
    out.offsets[0] = 0
    n_ex, n_bad, f = _parse_lines(
        buf,
        skip_bad,
        map_hashes,
        map_letters,
        out,
        np.empty(4, np.float64),
        np.empty(4, np.int64),
        np.empty(4, np.int64),
        np.full((256, 3), -1, np.int64),
        vw_numbers,
    )
    return n_lines, n_ex, n_bad, f


@_njit(nogil=True)
def parse_block(buf, skip_bad, map_hashes, map_letters, vw_numbers=False):
    """Parse whole lines of ``buf`` (uint8) into a :class:`ParsedBlock`. Blank lines are
    skipped; with skip_bad False parsing stops at the first bad line.

    ``vw_numbers``: numbers as VW's own parser rounds them (``--vwcompat``), else correctly.
    """
    n_lines = count_newlines(buf) + 1
    out = new_block(n_lines, buf.shape[0] // 2 + n_lines)
    _, n_ex, n_bad, f = parse_into(buf, skip_bad, map_hashes, map_letters, out, vw_numbers)
    return trim(out, n_ex, f, n_bad)


@_njit(nogil=True)
def new_block(n, cap):
    """Fresh arrays for ``n`` examples (and bad lines) and ``cap`` features."""
    return ParsedBlock(
        np.empty(n, np.float32),
        np.empty(n, np.float32),
        np.empty((n, 2), np.int64),
        np.empty(n + 1, np.int64),
        np.empty(cap, np.uint32),
        np.empty(cap, np.float32),
        np.empty(cap, np.uint8),
        np.empty(n, np.int64),
        np.empty(n, np.int64),
        np.empty(n, np.int64),
    )


@_njit(nogil=True)
def trim(out, n_ex, f, n_bad):
    """The parsed part of ``out``: ``n_ex`` examples, ``f`` features, ``n_bad`` bad lines."""
    return ParsedBlock(
        out.labels[:n_ex],
        out.imps[:n_ex],
        out.tags[:n_ex],
        out.offsets[: n_ex + 1],
        out.idx[:f],
        out.val[:f],
        out.ns[:f],
        out.lines[:n_ex],
        out.bad_lines[:n_bad],
        out.bad_codes[:n_bad],
    )
