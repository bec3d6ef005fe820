"""The compiled learner (numba, ``cache=True``, ``nogil=True`` so hogwild threads share weights).

One kernel, :func:`train_block`: predict and (optionally) learn over parsed examples for
logistic regression with interactions plus an optional field-aware factorization machine,
with AdaGrad in VW's ``--adaptive`` order. Helpers are inlined (see :mod:`wg_online.kernels`).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from wg_online.lean_numba import nb


class Examples(NamedTuple):
    """Parsed examples: features ``offsets[i]:offsets[i+1]`` of ``idx``/``val``/``ns`` are
    example ``i``'s (see :class:`wg_online.parsing.Parsed`)."""

    labels: np.ndarray  # float32, NaN for unlabelled
    imps: np.ndarray  # float32 importance weights
    offsets: np.ndarray  # int64, one more than there are examples
    idx: np.ndarray  # uint64 feature hashes
    val: np.ndarray  # float32 feature values
    ns: np.ndarray  # uint8 namespace letters


class ModelArrays(NamedTuple):
    """A model's tables and learned arrays (built by :meth:`wg_online.model.Model.kernel_state`)."""

    active: np.ndarray  # bool per namespace letter: --keep/--ignore
    pairs: np.ndarray  # int64 rows (a, b, -1) or (a, b, c): the interactions
    w: np.ndarray  # float32 logistic-regression weights
    acc: np.ndarray  # float32 AdaGrad sums of w
    field_of: np.ndarray  # int64 FFM field per namespace letter, -1 for none
    v: np.ndarray  # float32 FFM weights
    vacc: np.ndarray  # float32 AdaGrad sums of v
    combo_of: np.ndarray  # int64 LR combo (deep models' input) of each namespace letter


class Hyper(NamedTuple):
    """Scalars of one run; every field has one type whoever builds it, so numba compiles once."""

    add_constant: bool
    mask: np.uint64  # 2 ** bit_precision - 1
    nf: int  # FFM fields
    kk: int  # FFM k
    fmask: int  # FFM hash mask and block stride (see ``ffm_geometry``)
    fstride: int
    eta: np.float32
    power_t: np.float32
    l2: np.float32
    ffm_eta: np.float32
    learn: bool
    compat: bool  # --vwcompat's labels: passed on as they are
    n_lin: int  # LR combos of single features; interaction q is combo n_lin + q


class Scratch(NamedTuple):
    """Per-example buffers, sized by :func:`train_block` for its longest example."""

    gi: np.ndarray  # uint64 linear and interaction weight indices
    gx: np.ndarray  # float32 their values
    gc: np.ndarray  # int64 their LR combos (deep models)
    fb: np.ndarray  # int64 FFM block starts
    fi: np.ndarray  # int64 FFM fields
    fx: np.ndarray  # float32 FFM values
    grad: np.ndarray  # float32 FFM gradient blocks
    seen: np.ndarray  # int64 last example per FFM field


@nb.njit(cache=True, inline="always", error_model="numpy")
def _rate(a, power_t):
    if power_t == 0.5:
        return np.float32(1.0) / np.sqrt(a)
    return a ** np.float32(-power_t)


@nb.njit(cache=True, inline="always")
def cross(s, e, feats, space, out, k, group0):
    """VW's quadratic and cubic features of one example, appended to gi/gx from ``k``; return
    the new count. Row q's features get group ``group0 + q`` in gg (-1 when group0 < 0).
    ``feats`` is the block's (idx, val, ns), ``space`` (active, pairs, mask), ``out``
    (gi, gx, gg); numba unpacks the tuples after inlining, at no cost.

    The one expansion of both learners (``--vwcompat``'s ``vw_step`` uses it too): VW's
    hashing, VW's order, and no repeated pair of a namespace crossed with itself.
    """
    idx, val, ns = feats
    active, pairs, mask = space
    gi, gx, gg = out
    fnv = np.uint64(16777619)
    for q in range(pairs.shape[0]):  # rows (a, b, -1) quadratic, (a, b, c) cubic
        a, b, c = pairs[q, 0], pairs[q, 1], pairs[q, 2]
        if not (active[a] and active[b] and (c < 0 or active[c])):
            continue
        group = group0 + q if group0 >= 0 else -1
        for t in range(s, e):
            if ns[t] != a:
                continue
            ha = fnv * (np.uint64(idx[t]) & mask)
            for u in range(t if a == b else s, e):
                if ns[u] != b:
                    continue
                hab = ha ^ (np.uint64(idx[u]) & mask)
                if c < 0:
                    gi[k], gx[k], gg[k] = hab & mask, val[t] * val[u], group
                    k += 1
                    continue
                habf = fnv * (hab & mask)
                for r in range(u if b == c else s, e):
                    if ns[r] == c:
                        gi[k] = (habf ^ (np.uint64(idx[r]) & mask)) & mask
                        gx[k], gg[k] = val[t] * val[u] * val[r], group
                        k += 1
    return k


@nb.njit(cache=True, inline="always")
def _gather(s, e, ex, arr, hp, sc):
    """Linear, interaction and constant features of one example into sc.gi/gx (their combos
    into sc.gc); return the count."""
    idx, val, ns, active, pairs, mask = ex.idx, ex.val, ex.ns, arr.active, arr.pairs, hp.mask
    gi, gx, gc = sc.gi, sc.gx, sc.gc
    k = 0
    for t in range(s, e):
        if active[ns[t]]:
            gi[k] = np.uint64(idx[t]) & mask
            gx[k] = val[t]
            gc[k] = arr.combo_of[ns[t]]
            k += 1
    k = cross(s, e, (idx, val, ns), (active, pairs, mask), (gi, gx, gc), k, hp.n_lin)
    if hp.add_constant:
        gi[k] = np.uint64(11650396) & mask
        gx[k] = np.float32(1.0)
        gc[k] = hp.n_lin + pairs.shape[0]
        k += 1
    return k


@nb.njit(cache=True, inline="always")
def _ffm_collect(s, e, ex, arr, hp, sc):
    """Collect one example's FFM features into sc.fb/fi/fx; return their count.

    A feature's nf * kk block starts at ``(hash & fmask) * fstride`` (see ``ffm_geometry``).
    """
    idx, val, ns, active, field_of = ex.idx, ex.val, ex.ns, arr.active, arr.field_of
    m = 0
    for t in range(s, e):
        if active[ns[t]] and field_of[ns[t]] >= 0:
            sc.fb[m] = np.int64(idx[t] & hp.fmask) * hp.fstride
            sc.fi[m] = field_of[ns[t]]
            sc.fx[m] = val[t]
            m += 1
    return m


@nb.njit(cache=True, inline="always")
def _ffm_predict(m, kk, v, fb, fi, fx):
    """The FFM part of the score of the m collected features."""
    p = np.float32(0.0)
    for a in range(m):
        for b in range(a + 1, m):
            va = v[fb[a] + fi[b] * kk : fb[a] + fi[b] * kk + kk]
            vb = v[fb[b] + fi[a] * kk : fb[b] + fi[a] * kk + kk]
            dot = np.float32(0.0)
            for c in range(kk):
                dot += va[c] * vb[c]
            p += dot * fx[a] * fx[b]
    return p


@nb.njit(cache=True, inline="always", error_model="numpy")
def _ffm_step(vs, qs, j, gr, eta, power_t):
    """AdaGrad on weight ``vs[j]`` (the accumulator floored at 1e-30: never a division by 0).

    Called with slices and a range() counter: no negative-index fix-up, so LLVM vectorises.
    """
    q = qs[j] + gr * gr
    qs[j] = q
    if power_t == 0.5:
        vs[j] -= eta * gr / np.sqrt(max(q, np.float32(1e-30)))
    else:
        vs[j] -= eta * gr * max(q, np.float32(1e-30)) ** np.float32(-power_t)


@nb.njit(cache=True, inline="always", error_model="numpy")
def _ffm_update_pairs(m, kk, v, vacc, fb, fi, fx, g, eta, power_t):
    """The FFM step when no field has two of the example's features (the usual case).

    Then the k weights of a towards b's field and of b towards a's field get their gradient
    from this pair only, so the pair steps them at once, from the weights the prediction read.
    That is :func:`_ffm_update` without its gradient buffer and without the blocks' unused
    slots (a feature towards its own field): a third of the FFM training time on CTR data.
    """
    for a in range(m):
        for b in range(a + 1, m):
            ia, ib = fb[a] + fi[b] * kk, fb[b] + fi[a] * kk
            xx = g * fx[a] * fx[b]
            va, vb = v[ia : ia + kk], v[ib : ib + kk]
            qa, qb = vacc[ia : ia + kk], vacc[ib : ib + kk]
            for c in range(kk):
                ga, gb = xx * vb[c], xx * va[c]
                _ffm_step(va, qa, c, ga, eta, power_t)
                _ffm_step(vb, qb, c, gb, eta, power_t)


@nb.njit(cache=True, inline="always", error_model="numpy")
def _ffm_update(m, nf, kk, v, vacc, fb, fi, fx, g, eta, power_t, grad):
    """Accumulate the gradient of every feature's nf * kk block, then one AdaGrad step per block
    (a field with two of the example's features gives some weights two gradient terms).

    The step runs over each contiguous block; a zero gradient leaves the weight unchanged.
    """
    blk = nf * kk
    grad[: m * blk] = 0.0
    for a in range(m):
        for b in range(a + 1, m):
            ia, ib = fb[a] + fi[b] * kk, fb[b] + fi[a] * kk
            xx = g * fx[a] * fx[b]
            ga, gb = a * blk + fi[b] * kk, b * blk + fi[a] * kk
            va, vb = v[ia : ia + kk], v[ib : ib + kk]
            gra, grb = grad[ga : ga + kk], grad[gb : gb + kk]
            for c in range(kk):
                gra[c] += xx * vb[c]
                grb[c] += xx * va[c]
    for a in range(m):
        vs, qs = v[fb[a] : fb[a] + blk], vacc[fb[a] : fb[a] + blk]
        gs = grad[a * blk : (a + 1) * blk]
        for j in range(blk):
            _ffm_step(vs, qs, j, gs[j], eta, power_t)


@nb.njit(cache=True, nogil=True, error_model="numpy", _nrt=False)
def _train_loop(ex, arr, hp, preds, scratch):
    """The example loop of :func:`train_block` with its scratch arrays.

    Compiled without numba's reference counting (``_nrt=False``): the FFM slices otherwise
    paid an atomic increment and decrement each, per pair of features and example.
    """
    labels, imps, offsets = ex.labels, ex.imps, ex.offsets
    w, acc, v, vacc = arr.w, arr.acc, arr.v, arr.vacc
    nf, kk, eta, power_t, l2, ffm_eta = hp.nf, hp.kk, hp.eta, hp.power_t, hp.l2, hp.ffm_eta
    learn, compat = hp.learn, hp.compat
    gi, gx, fb, fi, fx = scratch.gi, scratch.gx, scratch.fb, scratch.fi, scratch.fx
    grad, seen = scratch.grad, scratch.seen
    n = labels.shape[0]
    x2min = np.float32(1.084202e-19) * np.float32(1.084202e-19)
    loss_sum, weight_sum, loss_prod = 0.0, 0.0, 1.0
    for i in range(n):
        s, e = offsets[i], offsets[i + 1]
        k = _gather(s, e, ex, arr, hp, scratch)
        p = np.float32(0.0)
        for t in range(k):
            p += w[gi[t]] * gx[t]
        m = 0
        if kk > 0:
            m = _ffm_collect(s, e, ex, arr, hp, scratch)
            p += _ffm_predict(m, kk, v, fb, fi, fx)
        p = min(max(p, np.float32(-50.0)), np.float32(50.0))
        ep = np.exp(p)
        preds[i] = ep / (np.float32(1.0) + ep)
        lab = labels[i]
        if np.isnan(lab):
            continue
        y = np.float32(lab if compat else (1.0 if lab > 0 else -1.0))
        imp = imps[i]
        # one exp per example: exp(y p) is ep or 1 / ep (y is 1 or -1; 0 only in VW mode)
        ez = ep if y == 1 else (np.float32(1.0) / ep if y == -1 else np.float32(1.0))
        if imp == 1:  # a product of (1 + 1 / ez) and one log per 1e200: log1p took 1/5 of LR
            loss_prod *= 1.0 + 1.0 / np.float64(ez)
            if loss_prod > 1e200:
                loss_sum += np.log(loss_prod)
                loss_prod = 1.0
        else:
            loss_sum += imp * np.log1p(np.float32(1.0) / ez)
        weight_sum += imp
        # VW's loss gate: no step once the float32 loss is exactly 0 (the squared gradient
        # then underflows, a fresh feature's AdaGrad rate would be 1/sqrt(0) = inf)
        if not learn or np.float32(1.0) + np.float32(1.0) / ez == np.float32(1.0):
            continue
        d = -y / (np.float32(1.0) + ez)
        gsq = imp * d * d
        for t in range(k):
            x = gx[t]
            x2 = x * x
            if x2 < x2min:
                x2 = x2min
            acc[gi[t]] += gsq * x2
        update = eta * imp * y / (np.float32(1.0) + ez)
        for t in range(k if update != 0 else 0):  # VW skips the step when the update is 0
            j = gi[t]
            r = _rate(acc[j], power_t)
            if l2 > 0:
                w[j] *= max(np.float32(0.0), np.float32(1.0) - eta * l2 * r)
            w[j] += update * gx[t] * r
        if kk > 0:
            single = True  # no field holds two features (seen: last example per field)
            for a in range(m):
                single &= seen[fi[a]] != i
                seen[fi[a]] = i
            if single:
                _ffm_update_pairs(m, kk, v, vacc, fb, fi, fx, imp * d, ffm_eta, power_t)
            else:
                _ffm_update(m, nf, kk, v, vacc, fb, fi, fx, imp * d, ffm_eta, power_t, grad)
    return loss_sum + np.log(loss_prod), weight_sum


@nb.njit(cache=True, nogil=True)
def train_block(ex, arr, hp, preds):
    """Predict every example (probability into ``preds``) and learn from labelled ones when
    ``hp.learn``: :class:`Examples`, :class:`ModelArrays`, :class:`Hyper`.

    AdaGrad in VW's order: accumulate squared gradients of all features first, then step with
    acc ** -power_t. Returns (summed importance-weighted logistic loss, summed importance of
    labelled examples).
    """
    return _train_loop(ex, arr, hp, preds, new_scratch(ex, arr, hp))


@nb.njit(cache=True, inline="always")
def new_scratch(ex, arr, hp):
    """:class:`Scratch` for the longest example of ``ex`` and the model's interactions."""
    offsets, pairs, nf, kk = ex.offsets, arr.pairs, hp.nf, hp.kk
    mx = 1
    for i in range(ex.labels.shape[0]):
        mx = max(mx, offsets[i + 1] - offsets[i])
    cap = mx + 1
    for q in range(pairs.shape[0]):  # at most C(mx + 1, 2) pairs, C(mx + 2, 3) triples
        cap += mx * (mx + 1) // 2 if pairs[q, 2] < 0 else mx * (mx + 1) * (mx + 2) // 6
    return Scratch(
        np.empty(cap, np.uint64),
        np.empty(cap, np.float32),
        np.empty(cap, np.int64),
        np.empty(mx, np.int64),
        np.empty(mx, np.int64),
        np.empty(mx, np.float32),
        np.empty(max(1, mx * nf * kk), np.float32),
        np.full(max(1, nf), -1, np.int64),
    )
