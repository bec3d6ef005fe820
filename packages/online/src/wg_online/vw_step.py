"""The compiled float32 step of ``--vwcompat``: Vowpal Wabbit 9's gd reduction, logistic loss.

Every rounding follows VW (``../shared/research/vw-exact-learner.md``, checked against the
``vowpalwabbit`` wheel): float32 arithmetic in VW's order, glibc's ``expf``/``logf``/``powf``
(called through ctypes so that no other libm or vector library stands in), the clipped
prediction, the zero-loss skip, the adaptive/normalized/invariant updates, VW's approximate
Lambert W, lazy L1/L2. A separate loop from :mod:`wg_online.adagrad`, whose speed it must not
cost.
"""

from __future__ import annotations

import ctypes
import ctypes.util

import numpy as np

from wg_online import adagrad
from wg_online.adagrad import cross
from wg_online.lean_numba import nb, njit_keyed

_f32 = nb.types.float32
# glibc's own functions, bound by symbol name (libm is loaded in every CPython process)
_expf = nb.types.ExternalFunction("expf", _f32(_f32))
_logf = nb.types.ExternalFunction("logf", _f32(_f32))
_powf = nb.types.ExternalFunction("powf", _f32(_f32, _f32))
_LIBM = ctypes.CDLL(ctypes.util.find_library("m") or "libm.so.6")
powf = _LIBM.powf
powf.argtypes, powf.restype = [ctypes.c_float, ctypes.c_float], ctypes.c_float

F = np.float32
CONSTANT_HASH = 11650396
XMIN = F(1.084202e-19)
X2MIN = F(XMIN * XMIN)

# indices into the float64 state vector ``gs``
T_, S_, TW_, M_, C_, GAMMA_, H_, U_, LO_, HI_ = range(10)
# indices into the float64 hyperparameter vector ``hp``
ETA, POWER_T, L1, L2 = range(4)
# indices into the int flag vector ``fl``
ADAPTIVE, NORMALIZED, INVARIANT, LEARN = range(4)


@nb.njit(cache=True, inline="always")
def wexpmx(z):
    """VW's approximation of ``W(e**z) - z`` (Lambert W), in float64 rounded to float32.

    Examples
    --------
    The default mode's first update of the research note's worked example (section 9):

    >>> float(wexpmx(np.float32(2.7320509)))
    -0.7060551643371582
    """
    z = np.float64(z)
    if z >= 1.0:
        w0 = 0.86 * z + 0.01
        rho = z - np.log(w0) - w0
    else:
        w0 = np.exp(0.8 * z - 0.65)
        rho = 0.2 * z + 0.65 - w0
    k = 1.0 + w0
    m = 2.0 * k * (k + 2.0 * rho / 3.0)
    return F(w0 * (1.0 + (rho / k) * (m - rho) / (m - 2.0 * rho)) - z)


@nb.njit(cache=True, inline="always")
def _gather(s, e, idx, val, ns, active, mask, pairs, add_constant, gi, gx, gg):
    """One example's features in VW's order into gi/gx (gg: their group); return the count.

    Namespaces are grouped by first byte in order of first appearance, features keep their
    input order within a group, then the constant, then the interactions (groups -1).
    """
    k, ngroups = 0, 0
    for t in range(s, e):
        c = ns[t]
        if not active[c]:
            continue
        first = True
        for u in range(s, t):
            if ns[u] == c:
                first = False
                break
        if not first:
            continue
        for u in range(t, e):
            if ns[u] == c:
                gi[k] = np.uint64(idx[u]) & mask
                gx[k] = val[u]
                gg[k] = ngroups
                k += 1
        ngroups += 1
    if add_constant:
        gi[k] = np.uint64(CONSTANT_HASH) & mask
        gx[k] = F(1.0)
        gg[k] = ngroups
        k += 1
    return cross(s, e, (idx, val, ns), (active, pairs, mask), (gi, gx, gg), k, -1)


@nb.njit(cache=True, inline="always")
def _trunc(w, g):
    if w > g:
        return F(w - g)
    if w < -g:
        return F(w + g)
    return F(0.0)


@nb.njit(cache=True, inline="always")
def _predict(k, gi, gx, w, gs, l1_on):
    gamma = F(gs[GAMMA_])
    s = F(0.0)
    for j in range(k):
        wj = _trunc(w[gi[j]], gamma) if l1_on else w[gi[j]]
        s = F(s + F(wj * gx[j]))
    s = F(s * F(gs[C_]))
    if np.isnan(s):
        return F(0.0)
    return min(max(s, F(gs[LO_])), F(gs[HI_]))


@nb.njit(cache=True, inline="always")
def _loss_grad(p, a):
    """Float32 logistic loss and derivative at prediction p for the standardised label a."""
    lp = _logf(F(1.0) + _expf(F(-p)))
    ln = _logf(F(1.0) + _expf(p))
    loss = F(F(a * lp) + F(F(F(1.0) - a) * ln))
    dp = F(F(-1.0) / F(F(1.0) + _expf(p)))
    dn = F(F(1.0) / F(F(1.0) + _expf(F(-p))))
    g = F(F(a * dp) + F(F(F(1.0) - a) * dn))
    return loss, g


@nb.njit(cache=True, inline="always")
def _sensitivity(k, gi, gx, w, G, N, R, q, imp, gs, hp, fl):
    """Adaptive/normalized accumulators of the features, then ppu (VW's pre-update pass)."""
    adaptive, normalized = fl[ADAPTIVE] != 0, fl[NORMALIZED] != 0
    power_t = F(hp[POWER_T])
    sqrt_path = power_t == F(0.5)
    neg_pt, pt_m1 = F(-power_t), F(power_t - F(1.0))
    ppu, nx = F(0.0), F(0.0)
    for j in range(k):
        i, x = gi[j], gx[j]
        x2 = F(x * x)
        if x2 < X2MIN:
            x = XMIN if x > 0 else -XMIN
            x2 = X2MIN
        ax = abs(x)
        if adaptive:
            G[i] = F(G[i] + F(q * x2))
        if normalized:
            if ax > N[i]:
                if N[i] > 0:
                    if sqrt_path:
                        rho = F(N[i] / ax)
                        w[i] = F(w[i] * rho) if adaptive else F(w[i] * F(rho * rho))
                    else:
                        rho = F(ax / N[i])
                        w[i] = F(w[i] * _powf(F(rho * rho), pt_m1))
                N[i] = ax
            nx = F(nx + F(1.0)) if np.isinf(x2) else F(nx + F(x2 / F(N[i] * N[i])))
        r = F(1.0)
        if adaptive:
            r = F(F(1.0) / np.sqrt(G[i])) if sqrt_path else _powf(G[i], neg_pt)
        if normalized:
            if sqrt_path:
                inv = F(F(1.0) / N[i])
                r = F(r * inv) if adaptive else F(r * F(inv * inv))
            else:
                r = F(r * _powf(F(N[i] * N[i]), pt_m1))
        R[i] = r
        ppu = F(ppu + F(x2 * r))
    if normalized:
        gs[S_] += np.float64(imp) * np.float64(nx)
        gs[TW_] += np.float64(imp)
        ratio = F(F(gs[TW_]) / F(gs[S_]))
        if sqrt_path:
            m = np.sqrt(ratio) if adaptive else ratio
        else:
            m = _powf(F(F(gs[S_]) / F(gs[TW_])), pt_m1)
        gs[M_] = m
        ppu = F(ppu * F(m))
    return ppu


@nb.njit(cache=True, inline="always")
def _plain_ppu(k, gx, gg):
    """Sum of x**2 as VW keeps it: float sums per namespace group, then over the groups."""
    total, part, cur = F(0.0), F(0.0), -2
    for j in range(k):
        if gg[j] != cur:
            if cur != -2:
                total = F(total + part)
            part, cur = F(0.0), gg[j]
        part = F(part + F(gx[j] * gx[j]))
    if cur != -2:
        total = F(total + part)
    return total


@nb.njit(cache=True, inline="always")
def _update_value(p, a, eta, ppu, invariant):
    """VW's update u: the importance-invariant closed form or the plain gradient step."""
    u2 = np.zeros(2, np.float32)
    for n in range(2):
        s = F(1.0) if n == 0 else F(-1.0)
        e = _expf(F(s * p))
        if invariant and F(eta * ppu) >= F(1e-6):
            z = F(F(F(eta * ppu) + F(s * p)) + e)
            u2[n] = F(-F(F(s * wexpmx(z)) + p) / ppu)
        else:
            u2[n] = F(F(s * eta) / F(F(1.0) + e))
    return F(F(a * u2[0]) + F(F(F(1.0) - a) * u2[1]))


@nb.njit(cache=True, inline="always")
def _regularise(u, g, gs, hp):
    """Lazy L2 contraction and L1 gravity from the scalar step (VW's ``--l1``/``--l2``)."""
    g64 = np.float64(g)
    eff = 0.0
    if abs(g64) > 1e-8:
        eff = -np.float64(u) / g64
        gs[C_] *= 1.0 - hp[L2] * eff
    u = F(u / F(gs[C_]))
    gs[GAMMA_] += eff * hp[L1]
    return u


@nb.njit(cache=True, inline="always")
def _sync(w, gs, l1_on):
    gamma, c = F(gs[GAMMA_]), F(gs[C_])
    for i in range(w.shape[0]):
        wi = _trunc(w[i], gamma) if l1_on else w[i]
        w[i] = F(wi * c)
    gs[GAMMA_], gs[C_] = 0.0, 1.0


@nb.njit(cache=True, inline="always")
def _learn(p, a, g, imp, k, feats, state, hp, fl):
    """One update of VW's gd for an example whose float32 loss is > 0 (``feats``: its ``k``
    gathered (gi, gx, gg); ``state``: as :func:`vw_block`'s)."""
    gi, gx, gg = feats
    w, G, N, R, gs = state
    adaptive, normalized = fl[ADAPTIVE] != 0, fl[NORMALIZED] != 0
    scratch = adaptive or normalized
    if scratch:
        q = F(imp * F(g * g))
        ppu = F(1.0) if q == 0 else _sensitivity(k, gi, gx, w, G, N, R, q, imp, gs, hp, fl)
    else:
        ppu = _plain_ppu(k, gx, gg)
    eta = F(F(hp[ETA]) * imp)
    if not adaptive:
        tau = F(gs[T_] + np.float64(imp) - gs[H_] - gs[U_])
        eta = F(eta * _powf(tau, F(-F(hp[POWER_T]))))
    u = _update_value(p, a, eta, ppu, fl[INVARIANT] != 0)
    if np.isnan(u):
        u = F(0.0)
    l1_on = hp[L1] > 0
    if (l1_on or hp[L2] > 0) and abs(u) > 1e-8:
        u = _regularise(u, g, gs, hp)
    if u != 0:
        if normalized:
            u = F(u * F(gs[M_]))
        for j in range(k):
            i, x = gi[j], gx[j]
            if np.isinf(x):
                continue
            if scratch:
                w[i] = F(w[i] + F(u * F(x * R[i])))
            else:
                w[i] = F(w[i] + F(u * x))
    if gs[C_] < 1e-9 or gs[GAMMA_] > 1000:
        _sync(w, gs, l1_on)


@njit_keyed(adagrad, nogil=True)  # compiles in adagrad.cross: its cache follows adagrad.py
def vw_block(ex, space, state, hp, fl, holdout):
    """Predict (raw margins, VW's clipped ``p``) and learn over parsed examples, as VW does.

    ``ex`` is an :class:`~wg_online.adagrad.Examples`; ``space`` is (active namespaces, the
    interaction rows, whether to add the constant, the hash mask). ``state`` is (w, G, N, R,
    gs): weights, adaptive sums, normalizer maxima, per-feature rates, and the float64 globals
    (t, S, T, M, contraction, gravity, holdout and unlabelled importance, clip range).
    ``holdout[i]`` marks examples that are predicted, never learned.
    Returns (margins, [loss, weight, holdout loss, holdout weight], index of the first example
    after whose update a weight was not finite, or -1).
    """
    labels, imps, offsets, idx, val, ns = ex
    active, pairs, add_constant, mask = space
    w, gs = state[0], state[4]
    n = labels.shape[0]
    mx = 1
    for i in range(n):
        mx = max(mx, offsets[i + 1] - offsets[i])
    cap = mx + 1
    for q in range(pairs.shape[0]):
        cap += mx * (mx + 1) // 2 if pairs[q, 2] < 0 else mx * (mx + 1) * (mx + 2) // 6
    gi, gx, gg = np.empty(cap, np.uint64), np.empty(cap, np.float32), np.empty(cap, np.int64)
    preds = np.empty(n, np.float32)
    sums = np.zeros(4)
    l1_on = hp[L1] > 0
    for i in range(n):
        k = _gather(
            offsets[i], offsets[i + 1], idx, val, ns, active, mask, pairs, add_constant, gi, gx, gg
        )
        p = _predict(k, gi, gx, w, gs, l1_on)
        preds[i] = p
        imp = F(imps[i])
        if np.isnan(labels[i]):
            gs[U_] += np.float64(imp)
            gs[T_] += np.float64(imp)
            continue
        y = F(labels[i])
        a = F(F(y + F(1.0)) / F(2.0))
        loss, g = _loss_grad(p, a)
        part = 2 if holdout[i] else 0
        sums[part] += np.float64(loss) * np.float64(imp)
        sums[part + 1] += np.float64(imp)
        if holdout[i]:
            gs[H_] += np.float64(imp)
        elif fl[LEARN] != 0 and imp > 0:
            gs[LO_], gs[HI_] = min(gs[LO_], np.float64(y)), max(gs[HI_], np.float64(y))
            if loss > 0:
                _learn(p, a, g, imp, k, (gi, gx, gg), state, hp, fl)
                for j in range(k):
                    if not np.isfinite(w[gi[j]]):
                        gs[T_] += np.float64(imp)
                        return preds[: i + 1], sums, i
        gs[T_] += np.float64(imp)
    return preds, sums, -1


@nb.njit(cache=True)
def synced(w, gs, l1_on):
    """VW's weights as ``-t -i`` loads them: ``fl(trunc(w, gravity) * contraction)``.

    Examples
    --------
    >>> gs = np.array([0, 0, 0, 1, 0.5, 0.25, 0, 0, -50, 50])
    >>> synced(np.array([1.0, -0.2, -2.0], np.float32), gs, True).tolist()
    [0.375, 0.0, -0.875]
    """
    out = w.copy()
    g2 = gs.copy()
    _sync(out, g2, l1_on)
    return out


@nb.njit(cache=True)
def link_logistic(p):
    """``fl(1 / fl(1 + expf(-p)))`` per margin (VW's ``--link logistic``).

    Examples
    --------
    >>> [round(float(p), 6) for p in link_logistic(np.array([0.0, 0.927806914], np.float32))]
    [0.5, 0.71663]
    """
    out = np.empty(p.shape[0], np.float32)
    for i in range(p.shape[0]):
        out[i] = F(F(1.0) / F(F(1.0) + _expf(F(-p[i]))))
    return out
