"""Fwumious Wabbit's feature transforms (``--transform``): binners, ``Combine`` and ``Weight``.

A transform ``target=Func(src1[,src2...])(p1[,p2...])`` reads the features of its source
namespaces (by full name, or other targets) and emits new features into the namespace
``target``, hashed as FW hashes them (``feature_transform_executor.rs``): a bin number ``n``
becomes ``murmur3(n as int32 LE, seed_s) & 0x7FFFFFFF``, where ``seed_s`` depends on the
target's position in the resolution order and on the output kind ``s``.

A binner's sources are *float* namespaces: the feature's name is the number (``NONE`` or an
empty name is NaN), as in FW's ``F32`` namespaces. ``Combine`` and ``Weight`` read a
feature's hash and value (the namespace weight times the feature's value).

Where we differ from FW: FW lets a target be used only through verbose-name options; here its
features take a namespace letter like any other namespace (the namespace map's letter for the
target's name if it declares one, else the target's first character), so ``--keep``, ``-q``
and ``--ffm_field`` can use it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from wg_online.combos import (
    LINEAR_LETTER0,
    LINEAR_PREFIX,
    MAX_LINEAR,
    Linear,
    cross,
    cross_v,
    parse_linear,
)
from wg_online.hashing import hash_namespace, hash_token, murmur3_32
from wg_online.vw_format import Example, parse_number

BINNERS = ("BinnerSqrt", "BinnerLog")
FUNCTIONS = (
    *BINNERS,
    *(f"{b}Plain" for b in BINNERS),
    "BinnerLogRatio",
    "BinnerLogRatioPlain",
    "Combine",
    "Weight",
)
#: FW's seed keys K_0..K_3 (``feature_transform_executor.rs:17-27``).
_SEED_KEYS = (bytes([214, 231, 1, 55]), bytes([255, 6, 14, 69]), bytes([50, 6, 71, 123]),
              bytes([10, 3, 0, 43]))  # fmt: skip
_MASK31 = 0x7FFFFFFF
_I32_MIN, _I32_MAX = -(2**31), 2**31 - 1
_IDENT = r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*"
_SYNTAX = re.compile(rf"^{_IDENT}={_IDENT}\(([^()]*)\)\s*\(([^()]*)\)\s*$")

Feature = tuple[int, float]  # (32-bit hash, value)


class TransformError(ValueError):
    """A malformed ``--transform``; the message names the flag, the bad part and the fix."""


@dataclass(frozen=True)
class Transform:
    """One parsed ``--transform``: ``target = function(sources)(params)``."""

    target: str
    function: str
    sources: tuple[str, ...]
    params: tuple[float, ...]

    @property
    def is_float_input(self) -> bool:
        """Binners read numbers from feature names; Combine and Weight read hashes."""
        return self.function.startswith("Binner")


def _fail(spec: str, problem: str, fix: str) -> TransformError:
    return TransformError(f"--transform {spec!r}: {problem}. {fix}")


def _parse_params(spec: str, raw: str) -> tuple[float, ...]:
    if not raw.strip():
        return ()
    params = []
    for part in raw.split(","):
        value = parse_number(part.strip().encode())
        if value is None or not math.isfinite(value):
            raise _fail(spec, f"parameter {part.strip()!r} is not a finite number",
                        "Write numbers, e.g. (40, 10)")  # fmt: skip
        params.append(value)
    return tuple(params)


def _check_arity(spec: str, t: Transform) -> None:
    n_src, n_par, f = len(t.sources), len(t.params), t.function
    if f == "Combine" and not (2 <= n_src <= 4 and n_par == 0):
        raise _fail(spec, f"Combine takes 2 to 4 namespaces and no numbers, not {n_src} and "
                    f"{n_par}", "e.g. ab=Combine(a,b)()")  # fmt: skip
    if f == "Weight" and not (n_src == 1 and n_par == 1):
        raise _fail(spec, f"Weight takes 1 namespace and 1 number, not {n_src} and {n_par}",
                    "e.g. w=Weight(a)(2.5)")  # fmt: skip
    if t.is_float_input:
        want = 2 if "LogRatio" in f else 1
        if n_src != want or n_par > 2:
            raise _fail(spec, f"{f} takes {want} namespace(s) and at most 2 numbers "
                        f"(greater_than, resolution), not {n_src} and {n_par}",
                        f"e.g. x={f}({','.join('ab'[:want])})(0, 1)")  # fmt: skip
        if n_par and t.params[0] < 0:
            raise _fail(spec, f"greater_than {t.params[0]:g} is negative", "Use a value >= 0")


def parse_transform(spec: str) -> Transform:
    """Parse one ``--transform`` value (FW's syntax, ``feature_transform_parser.rs``).

    Raises
    ------
    TransformError
        For bad syntax, an unknown function, or the wrong number of sources or numbers.

    Examples
    --------
    >>> parse_transform("bp = BinnerSqrt(price)(40, 1)")
    Transform(target='bp', function='BinnerSqrt', sources=('price',), params=(40.0, 1.0))
    >>> parse_transform("x=Nope(a)()")
    Traceback (most recent call last):
    wg_online.transforms.TransformError: --transform 'x=Nope(a)()': unknown function 'Nope'. \
Use one of BinnerSqrt, BinnerLog, BinnerSqrtPlain, BinnerLogPlain, BinnerLogRatio, \
BinnerLogRatioPlain, Combine, Weight
    """
    m = _SYNTAX.match(spec)
    if m is None:
        raise _fail(spec, "not of the form target=Function(sources)(numbers)",
                    "e.g. --transform 'bp=BinnerLog(price)(0, 10)'")  # fmt: skip
    target, function, raw_src, raw_par = m.groups()
    if function not in FUNCTIONS:
        raise _fail(spec, f"unknown function {function!r}", f"Use one of {', '.join(FUNCTIONS)}")
    sources = tuple(s.strip() for s in raw_src.split(","))
    for src in sources:
        if not re.fullmatch(_IDENT, src):
            raise _fail(spec, f"source {src!r} is not a namespace name",
                        "Name namespaces with letters, digits and _")  # fmt: skip
    if len(set(sources)) < len(sources):
        raise _fail(spec, "a source namespace is repeated", "Name each source once")
    result = Transform(target, function, sources, _parse_params(spec, raw_par))
    _check_arity(spec, result)
    return result


def resolve(specs: tuple[str, ...]) -> list[Transform]:
    """The transforms in FW's order: targets sorted by name, each after the targets it reads.

    A transform's index in this list seeds its hashes.

    Examples
    --------
    >>> [t.target for t in resolve(("z=Weight(a)(2)", "b=Combine(z,c)()", "a2=Weight(c)(1)"))]
    ['a2', 'z', 'b']
    """
    parsed = [parse_transform(s) for s in specs]
    by_target: dict[str, Transform] = {}
    for spec, t in zip(specs, parsed, strict=True):
        if t.target in by_target:
            raise _fail(spec, f"target {t.target!r} is already defined", "Give it a new name")
        by_target[t.target] = t
    order: list[Transform] = []
    state: dict[str, int] = {}  # 1 = on the current path, 2 = placed

    def visit(name: str, path: tuple[str, ...]) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            raise TransformError(f"--transform: the targets {' -> '.join((*path, name))} form "
                                 "a cycle. Remove one of these transforms")  # fmt: skip
        state[name] = 1
        for src in by_target[name].sources:
            if src in by_target:
                visit(src, (*path, name))
        state[name] = 2
        order.append(by_target[name])

    for name in sorted(by_target):
        visit(name, ())
    return order


def seeds(index: int) -> tuple[int, int, int, int]:
    """The four hash seeds of the transform at ``index`` in the resolution order.

    Examples
    --------
    >>> len(seeds(0)), seeds(0) != seeds(1)
    (4, True)
    """
    salt = (index ^ 0x80000000) & 0xFFFFFFFF
    s0, s1, s2, s3 = (murmur3_32(key, salt) for key in _SEED_KEYS)
    return s0, s1, s2, s3


def _i32(x: float) -> int:
    """Rust's ``f32 as i32``: toward zero, saturating, NaN to 0."""
    if math.isnan(x):
        return 0
    if math.isinf(x):
        return _I32_MIN if x < 0 else _I32_MAX
    return max(_I32_MIN, min(_I32_MAX, int(x)))


def _le(n: int) -> bytes:
    return (n & 0xFFFFFFFF).to_bytes(4, "little")


def emit(n: int, value: float, seed: int) -> Feature:
    """FW's ``emit_i32``: the feature for bin ``n`` (an int32) under ``seed``."""
    return murmur3_32(_le(n), seed) & _MASK31, value


def emit_f32(y: float, value: float, seed: int, interp: bool) -> list[Feature]:
    """FW's ``emit_f32``: non-finite ``y`` by its bits; else the bin, or the two nearest bins
    weighted by closeness (the upper one first, with the fraction ``y - floor(y)``).

    Examples
    --------
    >>> [(n, round(v, 4)) for n, v in emit_f32(5.4, 20.0, 0, True)] == [
    ...     (emit(6, 0, 0)[0], 8.0), (emit(5, 0, 0)[0], 12.0)]
    True
    """
    y32 = np.float32(y)
    if not np.isfinite(y32):
        return [emit(int(y32.view(np.int32)), value, seed)]
    if not interp:
        return [emit(_i32(float(y32)), value, seed)]
    fl = np.floor(y32)
    r = np.float32(y32 - fl)
    out = []
    v32 = np.float32(value)
    if r != 0:
        out.append(emit(_i32(float(fl)) + 1, float(v32 * r), seed))
    if np.float32(1) - r != 0:
        out.append(emit(_i32(float(fl)), float(v32 * (np.float32(1) - r)), seed))
    return out


def _binner(t: Transform, xs: list[float], s: tuple[int, ...]) -> list[Feature]:
    gt = np.float32(t.params[0] if t.params else 0.0)
    res = np.float32(t.params[1] if len(t.params) > 1 else 1.0)
    interp, out = not t.function.endswith("Plain"), []
    fn = np.sqrt if t.function.startswith("BinnerSqrt") else np.log
    with np.errstate(all="ignore"):  # log(0) is FW's -inf bin, log of a negative its NaN bin
        for x in map(np.float32, xs):
            if x < gt:
                out.append(emit(_i32(float(x)), 1.0, s[0]))
            else:
                out.extend(emit_f32(float(fn(x - gt) * res), 1.0, s[1], interp))
    return out


def _log_ratio(t: Transform, x1s: list[float], x2s: list[float], s: tuple[int, ...]):
    gt = np.float32(t.params[0] if t.params else 0.0)
    res = np.float32(t.params[1] if len(t.params) > 1 else 1.0)
    interp, out = not t.function.endswith("Plain"), []
    with np.errstate(all="ignore"):
        for x1 in map(np.float32, x1s):
            for x2 in map(np.float32, x2s):
                if x1 + x2 < gt:
                    inner = murmur3_32(_le(_i32(float(x1))), s[1])
                    out.append((murmur3_32(_le(_i32(float(x2))), inner) & _MASK31, 1.0))
                elif x1 == 0:
                    out.extend(emit_f32(float(np.log(x2 - gt)), 1.0, s[2], interp))
                elif x2 == 0:
                    out.extend(emit_f32(float(np.log(x1 - gt)), 1.0, s[3], interp))
                else:
                    out.extend(emit_f32(float(np.log(x1 / x2) * res), 1.0, s[0], interp))
    return out


def _combine(inputs: list[list[Feature]], seed: int) -> list[Feature]:
    combos: list[Feature] = [(0, 1.0)]
    for feats in inputs:
        combos = [(h ^ h2, float(np.float32(v) * np.float32(v2))) for h, v in combos
                  for h2, v2 in feats]  # fmt: skip
    return [emit(h, v, seed) for h, v in combos]


def float_of_name(name: str) -> float | None:
    """A float namespace's value: the feature name as a number; NaN for ``NONE`` or empty.

    Examples
    --------
    >>> float_of_name("2.5"), float_of_name("NONE"), float_of_name("x")
    (2.5, nan, None)
    """
    if name in ("", "NONE"):
        return math.nan
    if name.lower() in ("inf", "+inf", "-inf", "nan"):
        return float(name)
    return parse_number(name.encode())


@dataclass
class TransformSet:
    """Resolved transforms with their seeds and output namespace letters."""

    transforms: list[Transform]
    letters: list[int]
    float_sources: frozenset[str] = frozenset()
    #: ``--linear`` combos (given among the specs with :data:`LINEAR_PREFIX`), after the
    #: transforms; combo i's features take letter ``LINEAR_LETTER0 + i``
    linears: tuple[Linear, ...] = ()

    @classmethod
    def build(cls, specs: tuple[str, ...], namespace_map: tuple[str, ...] = ()) -> TransformSet:
        declared = {entry[1:]: entry[0] for entry in namespace_map}
        linears = tuple(parse_linear(s[len(LINEAR_PREFIX) :]) for s in specs
                        if s.startswith(LINEAR_PREFIX))  # fmt: skip
        if len(linears) > MAX_LINEAR:
            raise TransformError(f"--linear given {len(linears)} times; at most {MAX_LINEAR}")
        order = resolve(tuple(s for s in specs if not s.startswith(LINEAR_PREFIX)))
        letters = [ord(declared.get(t.target, t.target[0])) for t in order]
        if any(code > 127 for code in letters):
            raise TransformError("--transform: a target's namespace letter must be ASCII")
        floats = frozenset(s for t in order if t.is_float_input for s in t.sources)
        return cls(order, letters, floats, linears)

    def apply(self, example: Example) -> tuple[list[Feature], list[int]]:
        """The features all transforms emit for one example, and each feature's letter."""
        names = {ns.name: ns for ns in example.namespaces}
        made: dict[str, list[Feature]] = {}
        feats: list[Feature] = []
        letters: list[int] = []
        for i, t in enumerate(self.transforms):
            s = seeds(i)
            if t.is_float_input:
                xs = [self._floats(names, src) for src in t.sources]
                out = _log_ratio(t, xs[0], xs[1], s) if len(xs) == 2 else _binner(t, xs[0], s)
            else:
                inputs = [made[src] if src in made else self._hashed(names, src)
                          for src in t.sources]  # fmt: skip
                if t.function == "Weight":
                    m = np.float32(t.params[0])
                    out = [emit(h, float(np.float32(v) * m), s[0]) for h, v in inputs[0]]
                else:
                    out = _combine(inputs, s[0])
            made[t.target] = out
            feats.extend(out)
            letters.extend([self.letters[i]] * len(out))
        for i, lin in enumerate(self.linears):
            inputs = [made[src] if src in made else self._hashed(names, src)
                      for src in lin.sources]  # fmt: skip
            out = cross(inputs, lin.weight)
            feats.extend(out)
            letters.extend([LINEAR_LETTER0 + i] * len(out))
        return feats, letters

    @staticmethod
    def _floats(names: dict, src: str) -> list[float]:
        ns = names.get(src)
        if ns is None:
            return []
        values = []
        for fname, _ in ns.features:
            x = float_of_name(fname)
            if x is None:
                raise ValueError(f"feature {fname!r} of namespace {src!r} is not a number; "
                                 "a binner's namespace holds numbers as feature names, e.g. "
                                 f"|{src} 2.5 (NONE for missing)")  # fmt: skip
            values.append(x)
        return values

    def _hashed(self, names: dict, src: str) -> list[Feature]:
        ns = names.get(src)
        if ns is None:
            return []
        seed = hash_namespace(ns.name)
        w = np.float32(ns.weight)
        if src in self.float_sources:  # FW: a float namespace's features have value 1
            return [(hash_token(f, seed) & 0xFFFFFFFF, 1.0) for f, _ in ns.features]
        return [(hash_token(f, seed) & 0xFFFFFFFF, float(w * np.float32(v)))
                for f, v in ns.features]  # fmt: skip


def _emit_v(n: np.ndarray, seed: np.ndarray | int, mask: int = _MASK31) -> np.ndarray:
    """:func:`emit`'s hash for arrays (``seed``: one per value, or one for all)."""
    from wg_online.transform_scan import emit_hashes

    seeds_ = np.atleast_1d(np.asarray(seed, np.uint64))
    return emit_hashes(np.asarray(n, np.int64), seeds_, np.uint64(mask))


def _i32_v(x: np.ndarray) -> np.ndarray:
    """:func:`_i32` for float32 arrays, as int64."""
    from wg_online.transform_scan import trunc_i32

    return trunc_i32(np.asarray(x, np.float32))


# A transform's output for a block: (example, 31-bit hash, float32 value) arrays, by example.
_Out = tuple[np.ndarray, np.ndarray, np.ndarray]


class _Slots(NamedTuple):
    """Each input's up to two features: the upper bin (``a``) first, then the lower (``b``)."""

    ha: np.ndarray
    va: np.ndarray
    ok_a: np.ndarray
    hb: np.ndarray
    vb: np.ndarray
    ok_b: np.ndarray


def _emit_f32_v(y: np.ndarray, seed: np.ndarray, interp: bool) -> _Slots:
    """:func:`emit_f32` (value 1) for a float32 array."""
    finite = np.isfinite(y)
    bits = y.view(np.int32).astype(np.int64)  # a non-finite y is its own bin, by its bits
    one = np.float32(1.0)
    if not interp:
        n = np.where(finite, _i32_v(y), bits)
        ha, va, no = _emit_v(n, seed), np.ones(len(y), np.float32), np.zeros(len(y), bool)
        return _Slots(ha, va, ~no, ha, va, no)
    with np.errstate(invalid="ignore"):
        fl = np.floor(y)
        r = (y - fl).astype(np.float32)
        rest = (one - r).astype(np.float32)
    low = _i32_v(fl)
    return _Slots(
        _emit_v(low + 1, seed), r, finite & (r != 0),
        _emit_v(np.where(finite, low, bits), seed), np.where(finite, rest, one),
        ~finite | (rest != 0),
    )  # fmt: skip


def _direct(slots: _Slots, where: np.ndarray, h: np.ndarray) -> _Slots:
    """``slots`` with one feature of value 1 and hash ``h`` where ``where``."""
    return _Slots(
        np.where(where, h, slots.ha), np.where(where, np.float32(1.0), slots.va),
        slots.ok_a | where, slots.hb, slots.vb, slots.ok_b & ~where,
    )  # fmt: skip


def _flatten(ex: np.ndarray, slots: _Slots) -> _Out:
    from wg_online.transform_scan import interleave

    return interleave(ex, *slots)


def _params(t: Transform) -> tuple[np.float32, np.float32, bool]:
    gt = np.float32(t.params[0] if t.params else 0.0)
    res = np.float32(t.params[1] if len(t.params) > 1 else 1.0)
    return gt, res, not t.function.endswith("Plain")


def _binner_v(t: Transform, ex: np.ndarray, x: np.ndarray, s: tuple[int, ...]) -> _Out:
    """:func:`_binner` for a block's values (``ex``: each value's example)."""
    gt, res, interp = _params(t)
    fn = np.sqrt if t.function.startswith("BinnerSqrt") else np.log
    below = x < gt
    with np.errstate(all="ignore"):
        y = (fn(x - gt) * res).astype(np.float32)
    slots = _emit_f32_v(y, np.full(len(x), s[1], np.uint64), interp)
    return _flatten(ex, _direct(slots, below, _emit_v(_i32_v(x), s[0])))


def _pairs(ex_a: np.ndarray, ex_b: np.ndarray, n_ex: int) -> tuple[np.ndarray, ...]:
    """Per example, every (a, b) index pair, a outer: (example, ia, ib)."""
    from wg_online.transform_scan import pairs

    return pairs(ex_a, ex_b, n_ex)


def _log_ratio_v(
    t: Transform, a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray],
    s: tuple[int, ...], n_ex: int,
) -> _Out:  # fmt: skip
    """:func:`_log_ratio` for a block: every pair of an example's two values."""
    gt, res, interp = _params(t)
    ex, ia, ib = _pairs(a[0], b[0], n_ex)
    x1, x2 = a[1][ia], b[1][ib]
    with np.errstate(all="ignore"):
        low = (x1 + x2) < gt
        z1, z2 = ~low & (x1 == 0), ~low & (x1 != 0) & (x2 == 0)
        y = np.where(z1, np.log(x2 - gt), np.where(z2, np.log(x1 - gt), np.log(x1 / x2) * res))
    seed = np.select([z1, z2], [s[2], s[3]], s[0]).astype(np.uint64)
    slots = _emit_f32_v(y.astype(np.float32), seed, interp)
    pair = _emit_v(_i32_v(x2), _emit_v(_i32_v(x1), s[1], 0xFFFFFFFF))
    return _flatten(ex, _direct(slots, low, pair))


def _combine_v(inputs: list[_Out], seed: int, n_ex: int) -> _Out:
    """:func:`_combine` for a block."""
    ex, h, v = inputs[0]  # combined with the empty combination (hash 0, value 1)
    h = h.astype(np.uint64)
    for ex_i, h_i, v_i in inputs[1:]:
        ex, ia, ib = _pairs(ex, ex_i, n_ex)
        h, v = h[ia] ^ h_i[ib].astype(np.uint64), v[ia] * v_i[ib]
    return ex, _emit_v(h, seed), v


def _fast_extra(block: bytes, lines: np.ndarray, tset: TransformSet) -> list[_Out] | int:
    """Each transform's features for the block (compiled scan plus NumPy), or the index of the
    first example whose line the rules reject."""
    from wg_online.transform_scan import BAD_LINE, scan_sources

    n_ex = len(lines)
    floats = sorted({s for t in tset.transforms if t.is_float_input for s in t.sources})
    targets = {t.target for t in tset.transforms}
    hashed = sorted(({s for t in tset.transforms if not t.is_float_input for s in t.sources}
                     | {s for lin in tset.linears for s in lin.sources}) - targets)  # fmt: skip
    names = sorted(set(floats) | set(hashed))
    code = {name: k for k, name in enumerate(names)}
    raw = [n.encode() for n in names]
    n, ex, src, x, h, v = scan_sources(
        np.frombuffer(block, np.uint8), lines, np.frombuffer(b"".join(raw), np.uint8),
        np.cumsum([0, *map(len, raw)]).astype(np.int64),
        np.array([hash_namespace(r) for r in raw], np.uint64),
        np.array([nm in floats for nm in names]), np.array([nm in hashed for nm in names]),
        np.array([nm in tset.float_sources for nm in names]),
    )  # fmt: skip
    if n < 0:
        return BAD_LINE - int(n)
    ex, src, x, h, v = ex[:n], src[:n], x[:n], h[:n], v[:n]

    groups = {name: np.flatnonzero(src == k) for name, k in code.items()}
    xs = {name: (ex[g], x[g]) for name, g in groups.items() if name in floats}
    hv = {name: (ex[g], h[g], v[g]) for name, g in groups.items() if name in hashed}

    made: dict[str, _Out] = {}
    outs: list[_Out] = []
    for i, t in enumerate(tset.transforms):
        s = seeds(i)
        if t.is_float_input:
            if len(t.sources) == 2:
                out = _log_ratio_v(t, xs[t.sources[0]], xs[t.sources[1]], s, n_ex)
            else:
                out = _binner_v(t, *xs[t.sources[0]], s)
        else:
            ins = [made[name] if name in made else hv[name] for name in t.sources]
            if t.function == "Weight":
                e0, h0, v0 = ins[0]
                out = e0, _emit_v(h0, s[0]), v0 * np.float32(t.params[0])
            else:
                out = _combine_v(ins, s[0], n_ex)
        made[t.target] = out
        outs.append(out)
    for lin in tset.linears:
        outs.append(cross_v([made[n] if n in made else hv[n] for n in lin.sources],
                             lin.weight, n_ex))  # fmt: skip
    return outs


#: Blocks with fewer examples take the Python path (the same features): see extend_parsed.
FAST_MIN_EXAMPLES = 4


def _reference_extra(
    block: bytes, lines: np.ndarray, tset: TransformSet, source: str, first_line: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each example's transformed features in Python, line by line (:meth:`TransformSet.apply`):
    (counts, hashes, values, letters). The reference, and the path that explains a line the
    rules reject."""
    from wg_online.vw_format import VWFormatError, parse_line

    text = block.split(b"\n")
    extra_h: list[int] = []
    extra_v: list[float] = []
    extra_ns: list[int] = []
    counts = np.zeros(len(lines), np.int64)
    for i, line in enumerate(lines.tolist()):
        example = parse_line(text[line], source, first_line + line)
        if example is None:
            continue
        try:
            feats, letters = tset.apply(example)
        except ValueError as exc:
            raise VWFormatError(source, first_line + line, str(exc).split(";")[0],
                                text[line].decode(errors="replace"),
                                str(exc).split("; ", 1)[-1].capitalize()) from None  # fmt: skip
        counts[i] = len(feats)
        extra_h.extend(h for h, _ in feats)
        extra_v.extend(v for _, v in feats)
        extra_ns.extend(letters)
    return (counts, np.array(extra_h, np.uint32), np.array(extra_v, np.float32),
            np.array(extra_ns, np.uint8))  # fmt: skip


def extend_parsed(
    block: bytes,
    lines: np.ndarray,
    arrays: tuple[np.ndarray, ...],
    tset: TransformSet,
    source: str,
    first_line: int,
    reference: bool | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Append each example's transformed features after its own.

    ``lines`` holds each example's line number within ``block``; ``arrays`` is the parser's
    (offsets, idx, val, ns). Returns the new (offsets, idx, val, ns). The features come from
    :func:`_fast_extra`; from the Python reference when ``reference`` (the tests' oracle), when
    a line breaks the rules (the reference then raises the file:line error), and by default for
    blocks of fewer than ``FAST_MIN_EXAMPLES`` (``serve``'s single lines): NumPy's fixed cost
    per call outweighs the Python loop there.
    """
    from wg_online.transform_scan import append_features

    offsets, idx, val, ns = arrays
    if reference is None:
        reference = len(lines) < FAST_MIN_EXAMPLES
    outs = None if reference else _fast_extra(bytes(block), lines, tset)
    if outs is None or isinstance(outs, int):
        counts, h, v, letters = _reference_extra(bytes(block), lines, tset, source, first_line)
        ex = np.repeat(np.arange(len(counts)), counts)
        return append_features(offsets, idx, val, ns, ex, h, v, np.array([0, len(h)]), letters)
    sizes = [len(o[0]) for o in outs]
    ex, h, v = (np.concatenate(part) for part in zip(*outs, strict=True))
    all_letters = [*tset.letters, *(LINEAR_LETTER0 + i for i in range(len(tset.linears)))]
    letters = np.repeat(np.array(all_letters, np.uint8), sizes)
    return append_features(offsets, idx, val, ns, ex, h.astype(np.uint32), v.astype(np.float32),
                           np.cumsum([0, *sizes]), letters)  # fmt: skip
