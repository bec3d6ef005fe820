"""The compiled deep learner (numba, ``nogil=True``): Fwumious Wabbit's deep FFM, per example.

:func:`deep_block` is :func:`wg_online.adagrad.train_block` with dense layers between the
LR/FFM parts and the logit (geometry in :mod:`wg_online.nn`). Per example: the LR sum of each
combo and the FFM score of each field pair make ``x0``; the layers and the final neuron make
the logit z; then, learning, FW's backward pass: each layer's input gradient from its
pre-update weights, the layer's AdaGrad (FW's ``AdagradFlex``) step, then LR and FFM steps
with the gradient that reaches each combo and each field pair.
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import numpy as np

from wg_online import adagrad
from wg_online import nn as graph
from wg_online.adagrad import _ffm_collect, _ffm_step, _gather, _rate, new_scratch
from wg_online.lean_numba import njit_keyed
from wg_online.nn import IN_OFF, N_IN, N_OUT, NORM, OUT_OFF, PRE_OFF, RELU, W_OFF

#: numba's cached kernels, also keyed on the modules they compile in (adagrad's helpers, the
#: graph's column numbers): numba's own key would miss an edit there.
_njit = partial(njit_keyed, adagrad, graph)


class NetArrays(NamedTuple):
    """A deep model's layers (built by :meth:`wg_online.model.Model.kernel_state`)."""

    rows: np.ndarray  # int64 per dense layer, then the final neuron (wg_online.nn columns)
    maxnorm: np.ndarray  # float32 per dense layer, 0 for none
    nn: np.ndarray  # float32 weights of every layer
    nnacc: np.ndarray  # float32 their AdaGrad sums (from --nn_init_acc_gradient)


class NetHyper(NamedTuple):
    """Scalars of the deep layers; one type per field whoever builds it."""

    topology: int  # 1, 2, 4 or 5 (wg_online.nn.TOPOLOGIES)
    n_combos: int
    n0: int  # inputs of the first layer: combos, then field pairs
    tape: int
    eta: np.float32
    power_t: np.float32
    first_example: int  # the block's first example, counted from 1 (maxnorm every 10th)


class NetScratch(NamedTuple):
    tape: np.ndarray  # float32 values: x0, [x0 normalised], each layer's pre-ReLU and output
    grad: np.ndarray  # float32 their gradients
    g0: np.ndarray  # float32 the gradient reaching x0
    stats: np.ndarray  # float32 per layer, the norms' divisors (before, after)


@_njit(inline="always", error_model="numpy")
def _normalize(x, train):
    """FW's BlockNormalize in place; returns its divisor s. FW computes s from (mu^2 - x)^2, not
    (mu - x)^2, and subtracts the mean only when training: kept, for FW's predictions."""
    n = x.shape[0]
    mu = np.float32(0.0)
    for i in range(n):
        mu += x[i]
    mu /= np.float32(n)
    ss = np.float32(0.01)
    for i in range(n):
        ss += (mu * mu - x[i]) * (mu * mu - x[i])
    s = np.sqrt(ss / np.float32(n))
    for i in range(n):
        x[i] = (x[i] - mu) / s if train else x[i] / s
    return s


@_njit(inline="always", error_model="numpy")
def _flex(nn, nnacc, j, grad, eta, power_t):
    """FW's AdagradFlex: acc += grad^2, w -= grad * eta * acc^-power_t, no step if not finite."""
    a = nnacc[j] + grad * grad
    nnacc[j] = a
    step = grad * eta * _rate(a, power_t)
    if np.isfinite(step):
        nn[j] -= step


@_njit(inline="always", error_model="numpy")
def _unit_step(ws, qs, x, gin, d, gd, eta, power_t):
    """One unit: its input gradient ``gin += ws * d`` from the weights before the step, then
    AdagradFlex on ``ws`` with gradient ``gd * x``. Slices and a range() counter, no branch in
    the loop: LLVM vectorises it."""
    big = np.float32(3.4028235e38)  # abs(step) <= big: finite, and a compare LLVM vectorises
    if power_t == 0.5:
        for i in range(ws.shape[0]):
            gin[i] += ws[i] * d
            g = gd * x[i]
            a = qs[i] + g * g
            qs[i] = a
            step = g * eta / np.sqrt(a)
            ws[i] -= step if abs(step) <= big else np.float32(0.0)
        return
    for i in range(ws.shape[0]):
        gin[i] += ws[i] * d
        g = gd * x[i]
        a = qs[i] + g * g
        qs[i] = a
        step = g * eta * a ** np.float32(-power_t)
        ws[i] -= step if abs(step) <= big else np.float32(0.0)


@_njit(inline="always", error_model="numpy")
def _axpy(y, ws, x):
    for j in range(ws.shape[0]):
        y[j] += ws[j] * x


@_njit(inline="always", error_model="numpy")
def _row_step(ws, qs, d, gx, eta, power_t):
    """One input's row of a layer (input-major): returns ``ws . d`` from the weights before
    the step, then AdagradFlex on ``ws`` with gradient ``gx * d`` (``d`` is 0 for units ReLU
    switched off: their gradient is 0, and a zero gradient leaves weight and sum unchanged,
    so stepping them is FW's skip, without a branch in the loop)."""
    big = np.float32(3.4028235e38)
    s = np.float32(0.0)
    # two copies of the loop on purpose: with the power_t test inside one loop it no longer
    # vectorises, and deep FFM learned about a third slower
    if power_t == 0.5:
        for j in range(ws.shape[0]):
            w = ws[j]
            s += w * d[j]
            g = gx * d[j]
            a = qs[j] + g * g
            qs[j] = a
            step = g * eta / np.sqrt(a)
            ws[j] = w - (step if abs(step) <= big else np.float32(0.0))
        return s
    for j in range(ws.shape[0]):
        w = ws[j]
        s += w * d[j]
        g = gx * d[j]
        a = qs[j] + g * g
        qs[j] = a
        step = g * eta * a ** np.float32(-power_t)
        ws[j] = w - (step if abs(step) <= big else np.float32(0.0))
    return s


@_njit(inline="always", error_model="numpy")
def _dot(ws, x):
    y = np.float32(0.0)
    for i in range(ws.shape[0]):
        y += ws[i] * x[i]
    return y


@_njit(inline="always", error_model="numpy")
def _forward(net, nh, sc, train):
    """The dense layers and the final neuron over ``sc.tape`` (x0 filled); returns z."""
    tape, rows, nn = sc.tape, net.rows, net.nn
    if nh.topology == 4:
        for i in range(nh.n0):
            tape[nh.n0 + i] = tape[i]
        sc.stats[2 * (rows.shape[0] - 1)] = _normalize(tape[nh.n0 : 2 * nh.n0], train)
    for la in range(rows.shape[0] - 1):
        n_in, n_out, w0 = rows[la, N_IN], rows[la, N_OUT], rows[la, W_OFF]
        i0, p0, o0 = rows[la, IN_OFF], rows[la, PRE_OFF], rows[la, OUT_OFF]
        x, y = tape[i0 : i0 + n_in], tape[p0 : p0 + n_out]
        for j in range(n_out):
            y[j] = nn[w0 + n_in * n_out + j]  # the biases
        for i in range(n_in):
            if x[i] != 0:  # ReLU's zeros add nothing: skip their rows
                _axpy(y, nn[w0 + i * n_out : w0 + (i + 1) * n_out], x[i])
        if rows[la, NORM] == 1:
            sc.stats[2 * la] = _normalize(tape[p0 : p0 + n_out], train)
        for j in range(n_out):
            pre = tape[p0 + j]
            tape[o0 + j] = np.float32(0.0) if rows[la, RELU] != 0 and pre < 0 else pre
        if rows[la, NORM] == 2:
            sc.stats[2 * la + 1] = _normalize(tape[o0 : o0 + n_out], train)
    last = rows.shape[0] - 1
    n_in, w0, i0 = rows[last, N_IN], rows[last, W_OFF], rows[last, IN_OFF]
    main = n_in - (0 if nh.topology == 2 else nh.n0)
    z = nn[w0 + n_in] + _dot(nn[w0 : w0 + main], tape[i0 : i0 + main])
    return z + _dot(nn[w0 + main : w0 + n_in], tape[: n_in - main])


@_njit(inline="always", error_model="numpy")
def _final_backward(net, nh, sc, g, imp):
    """The final neuron's gradients (to the last layer's output and, by the skip, to g0) and
    its step, with the gradient times the importance ``imp``."""
    rows, nn, tape, grad = net.rows, net.nn, sc.tape, sc.grad
    last = rows.shape[0] - 1
    n_in, w0, i0 = rows[last, N_IN], rows[last, W_OFF], rows[last, IN_OFF]
    main = n_in - (0 if nh.topology == 2 else nh.n0)
    sc.g0[:] = 0.0
    gin = grad[i0 : i0 + main]
    gin[:] = 0.0
    eta, power_t, qs = nh.eta, nh.power_t, net.nnacc
    ws, x = nn[w0 : w0 + main], tape[i0 : i0 + main]
    _unit_step(ws, qs[w0 : w0 + main], x, gin, g, imp * g, eta, power_t)
    ws, x = nn[w0 + main : w0 + n_in], tape[: n_in - main]
    _unit_step(ws, qs[w0 + main : w0 + n_in], x, sc.g0[: n_in - main], g, imp * g, eta, power_t)
    _flex(nn, qs, w0 + n_in, imp * g, eta, power_t)


@_njit(inline="always", error_model="numpy")
def _layer_backward(net, nh, sc, la, imp, cap_norms):
    """Layer ``la``: the gradient of its input (from pre-update weights) into ``sc.grad`` at
    its input's place, then FW's per-unit steps (and maxnorm when ``cap_norms``)."""
    rows, nn, tape, grad = net.rows, net.nn, sc.tape, sc.grad
    n_in, n_out, w0 = rows[la, N_IN], rows[la, N_OUT], rows[la, W_OFF]
    i0, p0, o0 = rows[la, IN_OFF], rows[la, PRE_OFF], rows[la, OUT_OFF]
    relu, kind = rows[la, RELU] != 0, rows[la, NORM]
    for j in range(n_out):
        d = grad[o0 + j]
        if kind == 2:
            d /= sc.stats[2 * la + 1]
        d = np.float32(0.0) if relu and not tape[p0 + j] >= 0 else d
        if kind == 1:
            d /= sc.stats[2 * la]
        grad[p0 + j] = d
    gin, x, dd = grad[i0 : i0 + n_in], tape[i0 : i0 + n_in], grad[p0 : p0 + n_out]
    eta, power_t, bias = nh.eta, nh.power_t, w0 + n_in * n_out
    for i in range(n_in):
        lo, hi = w0 + i * n_out, w0 + (i + 1) * n_out
        if x[i] == 0:  # a zero input: no step in its row
            gin[i] = _dot(nn[lo:hi], dd)
        else:
            gin[i] = _row_step(nn[lo:hi], net.nnacc[lo:hi], dd, imp * x[i], eta, power_t)
    # the biases: a unit ReLU switched off has gradient 0, which leaves its bias as it is
    _row_step(nn[bias : bias + n_out], net.nnacc[bias : bias + n_out], dd, imp, eta, power_t)
    cap = net.maxnorm[la]
    for j in range(n_out):
        if cap_norms and cap > 0 and dd[j] != 0:  # FW skips a unit without gradient
            norm = np.float32(1e-6)
            for i in range(n_in):
                norm += nn[w0 + i * n_out + j] * nn[w0 + i * n_out + j]
            norm = np.sqrt(norm)
            if norm > cap:
                for i in range(n_in):
                    nn[w0 + i * n_out + j] *= cap / norm


@_njit(inline="always", error_model="numpy")
def _backward(net, nh, sc, g, imp, cap_norms):
    """Every layer's gradient and step (FW's: the loss gradient g times the importance);
    leaves in ``sc.g0`` the gradient of the loss reaching x0, without the importance."""
    _final_backward(net, nh, sc, g, imp)
    for la in range(net.rows.shape[0] - 2, -1, -1):
        _layer_backward(net, nh, sc, la, imp, cap_norms)
    n0 = nh.n0
    if nh.topology == 1 or nh.topology == 2:
        for i in range(n0):
            sc.g0[i] += sc.grad[i]
    elif nh.topology == 4:
        s = sc.stats[2 * (net.rows.shape[0] - 1)]
        for i in range(n0):
            sc.g0[i] += sc.grad[n0 + i] / s


@_njit(inline="always")
def _tri(a, b):
    """FW's triangle index of fields a and b."""
    return a * (a + 1) // 2 + b if a >= b else b * (b + 1) // 2 + a


@_njit(inline="always", error_model="numpy")
def _ffm_pairs(m, kk, v, sc, tape, n_combos):
    """Each pair of the m collected features adds its score to its fields' x0 slot."""
    fb, fi, fx = sc.fb, sc.fi, sc.fx
    for a in range(m):
        for b in range(a + 1, m):
            ia, ib = fb[a] + fi[b] * kk, fb[b] + fi[a] * kk
            dot = np.float32(0.0)
            for c in range(kk):
                dot += v[ia + c] * v[ib + c]
            tape[n_combos + _tri(fi[a], fi[b])] += dot * fx[a] * fx[b]


@_njit(inline="always", error_model="numpy")
def _ffm_learn(i, m, arr, hp, sc, g0, imp, n_combos, vgrad):
    """FFM steps of example ``i``: each pair's gradient is imp times what reaches its field
    pair's x0 slot. When no field holds two of the example's features (the usual case), each
    pair steps its own weights at once, as :func:`wg_online.adagrad._ffm_update_pairs` does;
    else every feature's block gets its summed gradient first."""
    fb, fi, fx, kk, v, vacc, eta = sc.fb, sc.fi, sc.fx, hp.kk, arr.v, arr.vacc, hp.ffm_eta
    single = True
    for a in range(m):
        single &= sc.seen[fi[a]] != i
        sc.seen[fi[a]] = i
    if single:
        for a in range(m):
            for b in range(a + 1, m):
                ia, ib = fb[a] + fi[b] * kk, fb[b] + fi[a] * kk
                xx = imp * g0[n_combos + _tri(fi[a], fi[b])] * fx[a] * fx[b]
                va, vb = v[ia : ia + kk], v[ib : ib + kk]
                qa, qb = vacc[ia : ia + kk], vacc[ib : ib + kk]
                for c in range(kk):
                    ga, gb = xx * vb[c], xx * va[c]
                    _ffm_step(va, qa, c, ga, eta, hp.power_t)
                    _ffm_step(vb, qb, c, gb, eta, hp.power_t)
        return
    blk = hp.nf * kk
    vgrad[: m * blk] = 0.0
    for a in range(m):
        for b in range(a + 1, m):
            ia, ib = fb[a] + fi[b] * kk, fb[b] + fi[a] * kk
            xx = imp * g0[n_combos + _tri(fi[a], fi[b])] * fx[a] * fx[b]
            ga, gb = a * blk + fi[b] * kk, b * blk + fi[a] * kk
            for c in range(kk):
                vgrad[ga + c] += xx * v[ib + c]
                vgrad[gb + c] += xx * v[ia + c]
    for a in range(m):
        vs, qs = v[fb[a] : fb[a] + blk], vacc[fb[a] : fb[a] + blk]
        gs = vgrad[a * blk : (a + 1) * blk]
        for j in range(blk):
            _ffm_step(vs, qs, j, gs[j], eta, hp.power_t)


@_njit(inline="always", error_model="numpy")
def _lr_learn(k, arr, hp, sc, g0, imp):
    """LR steps in VW's AdaGrad order, each feature's gradient scaled by its combo's."""
    w, acc, gi, gx, gc = arr.w, arr.acc, sc.gi, sc.gx, sc.gc
    x2min = np.float32(1.084202e-19) * np.float32(1.084202e-19)
    for t in range(k):
        x2 = max(gx[t] * gx[t], x2min)
        d = g0[gc[t]]
        acc[gi[t]] += imp * d * d * x2
    for t in range(k):
        j = gi[t]
        d = g0[gc[t]]
        if d == 0 or acc[j] == 0:
            continue
        r = _rate(acc[j], hp.power_t)
        if hp.l2 > 0:
            w[j] *= max(np.float32(0.0), np.float32(1.0) - hp.eta * hp.l2 * r)
        w[j] -= hp.eta * imp * d * gx[t] * r


@_njit(nogil=True, error_model="numpy", _nrt=False, fastmath={"reassoc", "contract", "arcp", "nsz"})
def _deep_loop(ex, arr, hp, net, nh, preds, sc, ns):
    """The example loop of :func:`deep_block` with its scratch arrays."""
    loss_sum, weight_sum, loss_prod = 0.0, 0.0, 1.0
    for i in range(ex.labels.shape[0]):
        s, e = ex.offsets[i], ex.offsets[i + 1]
        k = _gather(s, e, ex, arr, hp, sc)
        ns.tape[: nh.n0] = 0.0
        for t in range(k):
            ns.tape[sc.gc[t]] += arr.w[sc.gi[t]] * sc.gx[t]
        m = 0
        if hp.kk > 0:
            m = _ffm_collect(s, e, ex, arr, hp, sc)
            _ffm_pairs(m, hp.kk, arr.v, sc, ns.tape, nh.n_combos)
        lab = ex.labels[i]
        train = hp.learn and not np.isnan(lab)
        z = _forward(net, nh, ns, train)
        wild = not abs(z) <= 50  # FW: no gradient at all for a NaN or |z| > 50
        zc = np.float32(0.0) if np.isnan(z) else min(max(z, np.float32(-50.0)), np.float32(50.0))
        ep = np.exp(zc)
        preds[i] = ep / (np.float32(1.0) + ep)
        if np.isnan(lab):
            continue
        y = np.float32(1.0 if lab > 0 else -1.0)
        imp = ex.imps[i]
        ez = ep if y == 1 else np.float32(1.0) / ep
        if imp == 1:  # as in adagrad._train_loop: one log per 1e200, not a log1p each
            loss_prod *= 1.0 + 1.0 / np.float64(ez)
            if loss_prod > 1e200:
                loss_sum += np.log(loss_prod)
                loss_prod = 1.0
        else:
            loss_sum += imp * np.log1p(np.float32(1.0) / np.float64(ez))
        weight_sum += imp
        if not train or wild or np.float32(1.0) + np.float32(1.0) / ez == np.float32(1.0):
            continue
        gz = -y / (np.float32(1.0) + ez)  # d loss / d z, before the importance weight
        number = nh.first_example + i
        _backward(net, nh, ns, gz, imp, number % 10 == 0)
        _lr_learn(k, arr, hp, sc, ns.g0, imp)
        if hp.kk > 0:
            _ffm_learn(i, m, arr, hp, sc, ns.g0, imp, nh.n_combos, sc.grad)
    return loss_sum + np.log(loss_prod), weight_sum


@_njit(nogil=True)
def deep_block(ex, arr, hp, net, nh, preds):
    """:func:`wg_online.adagrad.train_block` for a deep model (:class:`NetArrays`,
    :class:`NetHyper`): predict every example into ``preds``, learn from labelled ones when
    ``hp.learn``; returns (summed importance-weighted logistic loss, summed importance)."""
    sc = new_scratch(ex, arr, hp)
    ns = NetScratch(
        np.zeros(nh.tape, np.float32),
        np.zeros(nh.tape, np.float32),
        np.zeros(nh.n0, np.float32),
        np.ones(2 * net.rows.shape[0], np.float32),
    )
    return _deep_loop(ex, arr, hp, net, nh, preds, sc, ns)
