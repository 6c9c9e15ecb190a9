"""The Numba engine's lowering of conductance-based networks (``ConductanceLIFParams``).

The state arrays come from the fields of ``neuroattn.neurons.conductance.describe``:
per neuron the potential ``v`` and refractory counter, one conductance per exponential
receptor (``G``), the adaptation conductance (``GA``); per presynaptic gating set (a
population's spikes gating one saturating kinetics) the pair ``X``/``S``; per Poisson
drive onto a saturating receptor a private pair ``XD``/``SD``. Receptors are numbered per
population in the order of ``params.receptors`` (the "slot"). The step is the
description's: forward Euler of every field from its value at the start of the step,
then thresholds, then the spikes' effects and the Poisson input, then the reset.

Dense projections (``AllToAll`` with one weight, every source onto every target) are
lowered exactly but cheaply: the weight depends only on the (source, target) population
pair, so the input is that weight times a sum over the source population. An
exponential one adds ``w * (spikes of the source)`` to a conductance shared by the
target population (``GS``, decaying like the per-neuron ones); a saturating one adds
``w * sum_j s_j`` to a shared term each step (``GSH``). The recurrent input of the Wang
network thus costs O(N) per step, not O(N^2). Other projections use CSR rows
(event-driven for exponential receptors, a sum over synapses each step for saturating
ones); a receptor that no CSR projection or Poisson drive reaches has no per-neuron
conductance at all (``R_PN``).

Speed (the inner loops are written so LLVM vectorises them): the synaptic current is
summed receptor by receptor over a whole population; the Mg block's exponential is a
polynomial with range reduction (``_exp``, within ~2 ulp of libm's, whose calls do not
vectorise); Poisson counts invert one uniform per neuron and step, the uniforms drawn
from the splitmix64 counter in one vectorised loop (``_uniforms``: the numbers of
sequential draws) and counts of 0 or 1 are added without a branch; Poisson drives onto
the same exponential receptor of a population with the same weight (the Wang network's
background and stimulus, both through g_ext,AMPA) draw one count from their summed rate,
which is the same Poisson process (a superposition of independent Poisson processes is
one); population sums run
in eight partial sums (the same result up to the order of float summation);
``error_model="numpy"`` removes the division-by-zero checks.

A trial may end early under a :class:`StopRule` (a reaction-time task's commitment:
a population's windowed rate reaches a bound); its later bins are NaN.

Each trial runs on one thread from start to end with its own splitmix64 stream seeded
from ``trial_rng(seed, t)`` (after the initial potentials), so trial t's result does
not depend on the batch or the thread; trials run in parallel threads (no GIL).
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import numpy as np
from numba import njit, types
from numba.extending import intrinsic

from neuroattn.backends._common import bin_counts, trial_rng
from neuroattn.exceptions import BackendUnavailable, SimulationError, ValidationError
from neuroattn.model import AllToAll, Recording
from neuroattn.neurons.conductance import MG_SCALE, MG_SLOPE, describe

__all__ = ["is_conductance", "run_conductance", "ConductanceLayout", "build_conductance",
           "StopRule"]

# pop_f columns
P_CM, P_GL, P_EL, P_VTH, P_VRESET, P_IBIAS, P_GADEC, P_DGA, P_EA = range(9)
# pop_i columns
Q_OFF, Q_SIZE, Q_NREF, Q_NREC, Q_REC = range(5)
# rec_f columns [P, R, 5]: reversal, Euler decay factor (exponential), mg, saturating flag,
# per-neuron flag (some input reaches the receptor neuron by neuron: a CSR projection or a
# Poisson drive; otherwise its conductance is the population's shared term alone)
R_E, R_DEC, R_MG, R_SAT, R_PN = range(5)
_U = np.uint64


def is_conductance(network) -> bool:
    """Whether any population of ``network`` is conductance-based."""
    return any(getattr(p.params, "kind", None) == "conductance" for p in network.populations)


class ConductanceLayout(NamedTuple):
    """The network as flat arrays (module docstring)."""

    pop_f: np.ndarray    # [P, 9]
    pop_i: np.ndarray    # [P, 5] int64
    rec_f: np.ndarray    # [P, R, 5]
    gs_i: np.ndarray     # [Gn, 3] gating sets: population, offset in X/S, size
    gs_f: np.ndarray     # [Gn, 3]: x decay factor, dt/tau_decay, alpha dt
    pj_i: np.ndarray     # [J, 6]: source, target, slot, dense (0: CSR, 1: every pair, 2: every
                         #  pair but the autapses), gating set (-1: exponential),
                         #  rowptr offset
    rowptr: np.ndarray   # concatenated CSR row pointers (global synapse indices)
    post: np.ndarray     # int64 target (local to the target population)
    w: np.ndarray        # float64 weight, S
    pd_i: np.ndarray     # [D, 5] poisson drives: channel, population, slot, drive gate or -1,
                         #  the earlier drive whose draw this one joins or -1 (see below)
    pd_f: np.ndarray     # [D, 2]: gain (Hz per unit), weight (S)
    dg_i: np.ndarray     # [K, 1]: offset of each drive gate in XD/SD
    dg_f: np.ndarray     # [K, 3]: x decay factor, dt/tau_decay, alpha dt
    cd: tuple            # (population index, channel, gain) of every current drive
    vcols: np.ndarray    # global neuron index of each recorded potential column
    v_units: tuple
    n_neurons: int
    n_x: int
    n_xd: int
    n_rec: int
    fields: dict         # population -> its Field tuple (describe)


def build_conductance(spec) -> ConductanceLayout:
    """Lower ``spec.network`` (every population conductance-based) to flat arrays."""
    net, dt = spec.network, spec.dt
    pops = net.populations
    bad = [p.name for p in pops if getattr(p.params, "kind", None) != "conductance"]
    if bad:
        raise BackendUnavailable(
            f"numba backend: a network mixing conductance-based and current-based "
            f"populations is not supported (current-based: {bad}); use the brian2 backend "
            "or make every population ConductanceLIFParams")
    index = {p.name: k for k, p in enumerate(pops)}
    slots = [{r.name: k for k, r in enumerate(p.params.receptors)} for p in pops]
    n_r = max(len(p.params.receptors) for p in pops)
    pop_f = np.zeros((len(pops), 9))
    pop_i = np.zeros((len(pops), 5), dtype=np.int64)
    rec_f = np.zeros((len(pops), max(n_r, 1), 5))
    spiking = {pb.population for pb in net.probes if pb.kind == "spikes"}
    off = 0
    for k, p in enumerate(pops):
        par = p.params
        pop_f[k] = (par.c_m, par.g_l, par.e_l, par.v_th, par.v_reset, par.i_bias,
                    1.0 - dt / par.tau_adapt, par.delta_g_adapt, par.e_adapt)
        pop_i[k] = (off, p.size, int(round(par.t_ref / dt)), len(par.receptors),
                    int(p.name in spiking))
        for s, r in enumerate(par.receptors):
            rec_f[k, s] = (r.e_rev, 1.0 - dt / r.tau_decay, r.mg, float(r.kind == "saturating"),
                           0.0)
        off += p.size
    # presynaptic gating sets: (source population, kinetics) of saturating projections
    sets, gs_i, gs_f, n_x = {}, [], [], 0
    pj_i, rowptrs, posts, ws, nsyn, nrp = [], [], [], [], 0, 0
    for pr in net.projections:
        s, t = index[pr.source], index[pr.target]
        rec = pops[t].params.receptor(pr.receptor)
        g = -1
        if rec.kind == "saturating":
            key = (s, rec.kinetics)
            if key not in sets:
                sets[key] = len(gs_i)
                gs_i.append((s, n_x, pops[s].size))
                gs_f.append((1.0 - dt / rec.tau_rise, dt / rec.tau_decay, rec.alpha * dt))
                n_x += pops[s].size
            g = sets[key]
        n_s, n_t = pops[s].size, pops[t].size
        dense = 0
        if isinstance(pr.rule, AllToAll) and np.ndim(pr.weight) == 0:
            # population-uniform: a weight times the source's sum (minus the neuron's own
            # term where a population projects onto itself without autapses)
            dense = 1 if pr.rule.autapses or pr.source != pr.target else 2
        if dense:  # one weight: the kernel reads w[rowptr[first row]]
            post, w = np.zeros(1, np.int64), np.full(1, float(pr.weight))
            rowptr = np.zeros(n_s + 1, np.int64)
        else:
            pre, post, w = pr.connections(n_s, n_t)
            rowptr = np.concatenate(([0], np.cumsum(np.bincount(pre, minlength=n_s))))
        pj_i.append((s, t, slots[t][pr.receptor], dense, g, nrp))
        if dense != 1:
            rec_f[t, slots[t][pr.receptor], R_PN] = 1.0
        rowptrs.append(nsyn + rowptr)
        posts.append(post)
        ws.append(np.abs(w))
        nsyn += post.size
        nrp += n_s + 1
    drives = spec.stimulus.drives if spec.stimulus is not None else ()
    pd_i, pd_f, dg_i, dg_f, cd, n_xd = [], [], [], [], [], 0
    gates = {p.name: [] for p in pops}
    for d in drives:
        k = index[d.population]
        if d.kind == "current":
            cd.append((k, d.channel, d.gain))
            continue
        rec = pops[k].params.receptor(d.receptor)
        gate = -1
        if rec.kind == "saturating":
            gate = len(dg_i)
            dg_i.append((n_xd,))
            dg_f.append((1.0 - dt / rec.tau_rise, dt / rec.tau_decay, rec.alpha * dt))
            gates[d.population].append(rec.name)
            n_xd += pops[k].size
        # Poisson drives onto the same exponential receptor of the same population with
        # the same weight are one Poisson train of the summed rate (a superposition of
        # independent Poisson processes is one): drawn once, by the first of them
        lead = -1
        if gate < 0:
            for e, (_, ke, se, ge, le) in enumerate(pd_i):
                if (ke, se, ge, le) == (k, slots[k][d.receptor], -1, -1) and \
                        pd_f[e][1] == d.weight:
                    lead = e
                    break
        pd_i.append((d.channel, k, slots[k][d.receptor], gate, lead))
        rec_f[k, slots[k][d.receptor], R_PN] = 1.0
        pd_f.append((d.gain, d.weight))
    kin = {k: [] for k in range(len(pops))}
    for (s, kinetics), _ in sorted(sets.items(), key=lambda kv: kv[1]):
        kin[s].append(kinetics)
    flds = {p.name: describe(p.params, kin[k], gates[p.name]) for k, p in enumerate(pops)}
    v_neurons = {}
    for pb in net.probes:
        if pb.kind == "v":
            seen = v_neurons.setdefault(pb.population, [])
            seen.extend(i for i in pb.neurons if i not in seen)
    vcols = [int(pop_i[index[name], Q_OFF]) + i for name, idx in v_neurons.items() for i in idx]

    def arr(x, dtype, width):
        return np.asarray(x, dtype=dtype).reshape(-1, width)

    def cat(parts, dtype):
        return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype)

    return ConductanceLayout(
        pop_f, pop_i, rec_f, arr(gs_i, np.int64, 3), arr(gs_f, np.float64, 3),
        arr(pj_i, np.int64, 6), cat(rowptrs, np.int64), cat(posts, np.int64),
        cat(ws, np.float64), arr(pd_i, np.int64, 5), arr(pd_f, np.float64, 2),
        arr(dg_i, np.int64, 1), arr(dg_f, np.float64, 3), tuple(cd),
        np.asarray(vcols, np.int64), tuple((n, len(i)) for n, i in v_neurons.items()),
        off, n_x, n_xd, int(sum(p.size for p in pops if p.name in spiking)), flds)


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _next_u01(rng):
    """splitmix64 (Steele, Lea & Flood 2014): the next uniform in [0, 1)."""
    rng[0] = rng[0] + _U(0x9E3779B97F4A7C15)
    z = rng[0]
    z = (z ^ (z >> _U(30))) * _U(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> _U(27))) * _U(0x94D049BB133111EB)
    z = z ^ (z >> _U(31))
    return float(z >> _U(11)) * (1.0 / 9007199254740992.0)


# exp by Cody-Waite range reduction and a degree-12 Taylor polynomial (error ~2 ulp,
# like libm's), written so LLVM vectorises it (libm's exp is a call per element): the
# scale 2**k is built from its bits.
_LOG2E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
_ROUND = 6755399441055744.0  # 1.5 * 2**52


@intrinsic
def _as_float(typingctx, bits):
    """The float64 whose IEEE-754 bits are the int64 ``bits`` (a bit cast)."""
    sig = types.float64(types.int64)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.float64))
    return sig, codegen


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _exp(x):
    """``exp(x)`` for |x| <= 700 (callers clip), within ~2 ulp of libm; vectorisable."""
    kf = (x * _LOG2E + _ROUND) - _ROUND   # nearest integer (|x| <= 700)
    r = (x - kf * _LN2_HI) - kf * _LN2_LO
    q = 1.0 / 479001600.0
    q = q * r + 1.0 / 39916800.0
    q = q * r + 1.0 / 3628800.0
    q = q * r + 1.0 / 362880.0
    q = q * r + 1.0 / 40320.0
    q = q * r + 1.0 / 5040.0
    q = q * r + 1.0 / 720.0
    q = q * r + 1.0 / 120.0
    q = q * r + 1.0 / 24.0
    q = q * r + 1.0 / 6.0
    q = q * r + 0.5
    q = q * r + 1.0
    return (q * r + 1.0) * _as_float((np.int64(kf) + 1023) << 52)


@njit(cache=True, nogil=True, error_model="numpy")
def _mg_current(cur, v, g, gsh, er, mg):
    """``cur += (g + gsh) B(v) (er - v)`` with the Mg block ``B`` (module
    ``neuroattn.neurons.conductance``); ``g`` may be empty (no per-neuron part)."""
    n = v.shape[0]
    if g.shape[0]:
        for i in range(n):
            vv = v[i]
            e = _exp(min(max(-MG_SLOPE * vv, -700.0), 700.0))
            cur[i] += (g[i] + gsh) / (1.0 + mg * e / MG_SCALE) * (er - vv)
    else:
        for i in range(n):
            vv = v[i]
            e = _exp(min(max(-MG_SLOPE * vv, -700.0), 700.0))
            cur[i] += gsh / (1.0 + mg * e / MG_SCALE) * (er - vv)


@njit(cache=True, nogil=True, error_model="numpy")
def _plain_current(cur, v, g, gsh, er):
    """``cur += (g + gsh) (er - v)``; ``g`` may be empty."""
    n = v.shape[0]
    if g.shape[0]:
        for i in range(n):
            cur[i] += (g[i] + gsh) * (er - v[i])
    else:
        for i in range(n):
            cur[i] += gsh * (er - v[i])


@njit(cache=True, nogil=True, error_model="numpy")
def _sum(x):
    """Sum of ``x`` in eight interleaved partial sums (not one latency-bound chain)."""
    acc = np.zeros(8)
    n8 = x.shape[0] // 8 * 8
    for i in range(0, n8, 8):
        for j in range(8):
            acc[j] += x[i + j]
    tail = 0.0
    for i in range(n8, x.shape[0]):
        tail += x[i]
    return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) \
        + tail


@njit(cache=True, nogil=True, error_model="numpy")
def _integrate(v, ref, spk, cur, dt, cm, vth, vreset, nref):
    """One Euler step of the membranes from ``cur`` (A), refractory hold, threshold and
    reset; returns (spikes, whether a potential is NaN/Inf)."""
    c = 0
    bad = False
    for i in range(v.shape[0]):
        vv = v[i]
        left = ref[i]
        left = left - 1 if left > 0 else 0
        vn = vv + dt * cur[i] / cm if left == 0 else vv
        bad |= not abs(vn) <= 1.7976931348623157e308
        fire = left == 0 and vn > vth
        c += fire
        v[i] = vreset if fire else vn
        ref[i] = nref if fire else left
        spk[i] = fire
    return c, bad


@njit(cache=True, nogil=True, error_model="numpy")
def _uniforms(rng, out, n):
    """The next ``n`` uniforms of the splitmix64 stream ``rng`` into ``out[:n]``: the same
    numbers as ``n`` calls of ``_next_u01``, computed from the counter (vectorisable)."""
    base = rng[0]
    for i in range(n):
        z = base + _U(i + 1) * _U(0x9E3779B97F4A7C15)
        z = (z ^ (z >> _U(30))) * _U(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> _U(27))) * _U(0x94D049BB133111EB)
        z = z ^ (z >> _U(31))
        out[i] = float(z >> _U(11)) * (1.0 / 9007199254740992.0)
    rng[0] = base + _U(n) * _U(0x9E3779B97F4A7C15)


@njit(cache=True, nogil=True, error_model="numpy")
def _advance(n0, n1, dt, spb, rows, vals, iext, pop_f, pop_i, rec_f, gs_i, gs_f, pj_i, rowptr,
             post, w, pd_i, pd_f, dg_i, dg_f, vcols, stop_i, stop_f,
             v, ref, G, GS, GN, GSH, GA, X, S, XD, SD, sums, spk, cnt, cur, poly, scale, rng,
             counts, vrec,
             rec_idx, rec_step, rec_n, halt):
    """Advance one trial from step n0 to at most n1 (arrays: ``ConductanceLayout``,
    ``StopRule`` and ``_trial_state``). Returns ``(reached, bad_population)``;
    ``reached < n1`` when the spike record is nearly full (grow it and call again), a
    potential became NaN/Inf (``bad_population >= 0``) or the stop rule ended the trial
    (``halt[1]`` holds the number of bins simulated)."""
    n_pop = pop_i.shape[0]
    n_total = v.shape[0]
    cap = rec_idx.shape[0]
    any_sat = gs_i.shape[0] > 0 or dg_i.shape[0] > 0
    pn_sat = False
    for p in range(n_pop):
        for r in range(pop_i[p, Q_NREC]):
            if rec_f[p, r, R_SAT] > 0.0 and rec_f[p, r, R_PN] > 0.0:
                pn_sat = True
    n_stop = stop_i.shape[0]
    for n in range(n0, n1):
        if rec_n[0] + n_total > cap:
            return n, -1
        for c in range(vcols.shape[0]):
            vrec[n, c] = v[vcols[c]]
        row = rows[n]
        # saturating conductances of this step: shared (dense: a population-pair weight
        # times the sum of the source's gating variables) and per neuron (CSR, drives)
        if any_sat:
            for g in range(gs_i.shape[0]):
                sums[g] = _sum(S[gs_i[g, 1]:gs_i[g, 1] + gs_i[g, 2]])
            GSH[:, :] = 0.0
            if pn_sat:
                GN[:, :] = 0.0
            for j in range(pj_i.shape[0]):
                g = pj_i[j, 4]
                if g < 0:
                    continue
                src, tgt, slot, rp = pj_i[j, 0], pj_i[j, 1], pj_i[j, 2], pj_i[j, 5]
                if pj_i[j, 3]:
                    wj = w[rowptr[rp]]
                    GSH[tgt, slot] += wj * sums[g]
                    if pj_i[j, 3] == 2:  # no autapses: take each neuron's own gating off
                        o, toff = gs_i[g, 1], pop_i[tgt, Q_OFF]
                        for i in range(pop_i[tgt, Q_SIZE]):
                            GN[slot, toff + i] -= wj * S[o + i]
                    continue
                o, toff = gs_i[g, 1], pop_i[tgt, Q_OFF]
                for pre in range(pop_i[src, Q_SIZE]):
                    sv = S[o + pre]
                    for syn in range(rowptr[rp + pre], rowptr[rp + pre + 1]):
                        GN[slot, toff + post[syn]] += w[syn] * sv
            for d in range(pd_i.shape[0]):
                k = pd_i[d, 3]
                if k < 0:
                    continue
                p, slot, o = pd_i[d, 1], pd_i[d, 2], dg_i[k, 0]
                off, wd = pop_i[p, Q_OFF], pd_f[d, 1]
                for i in range(pop_i[p, Q_SIZE]):
                    GN[slot, off + i] += wd * SD[o + i]
        # membranes (Euler), thresholds, resets; decay of the conductances. The synaptic
        # current is summed receptor by receptor over the whole population (branch-free
        # inner loops), then one pass applies the refractory state and the threshold.
        for p in range(n_pop):
            cm, gl, el = pop_f[p, P_CM], pop_f[p, P_GL], pop_f[p, P_EL]
            vth, vreset, gadec, dga, ea = (pop_f[p, P_VTH], pop_f[p, P_VRESET], pop_f[p, P_GADEC],
                                           pop_f[p, P_DGA], pop_f[p, P_EA])
            base = pop_f[p, P_IBIAS] + (iext[row, p] if row >= 0 else 0.0)
            off, size, nref, nrec = pop_i[p, Q_OFF], pop_i[p, Q_SIZE], pop_i[p, Q_NREF], \
                pop_i[p, Q_NREC]
            for i in range(size):
                cur[i] = gl * (el - v[off + i]) + base
            if dga > 0.0:
                for i in range(size):
                    cur[i] += GA[off + i] * (ea - v[off + i])
            vp = v[off:off + size]
            cp = cur[:size]
            for r in range(nrec):
                sat = rec_f[p, r, R_SAT] > 0.0
                own = rec_f[p, r, R_PN] > 0.0
                er, mg = rec_f[p, r, R_E], rec_f[p, r, R_MG]
                gsh = GSH[p, r] if sat else GS[p, r]
                if own:
                    gn = GN[r, off:off + size] if sat else G[r, off:off + size]
                elif gsh == 0.0:
                    continue
                else:
                    gn = G[r, :0]
                if mg > 0.0:
                    _mg_current(cp, vp, gn, gsh, er, mg)
                else:
                    _plain_current(cp, vp, gn, gsh, er)
                if own and not sat:
                    dec = rec_f[p, r, R_DEC]
                    for i in range(size):
                        gn[i] = gn[i] * dec
            c, bad = _integrate(v[off:off + size], ref[off:off + size], spk[off:off + size],
                                cp, dt, cm, vth, vreset, nref)
            if c and pop_i[p, Q_REC]:
                for i in range(size):
                    if spk[off + i]:
                        rec_idx[rec_n[0]] = off + i
                        rec_step[rec_n[0]] = n
                        rec_n[0] += 1
            if dga > 0.0:
                for i in range(size):
                    GA[off + i] = GA[off + i] * gadec + (dga if spk[off + i] else 0.0)
            if bad:
                return n, p
            cnt[p] = c
            counts[n // spb, p] += c
            for r in range(nrec):
                if rec_f[p, r, R_SAT] == 0.0:
                    GS[p, r] = GS[p, r] * rec_f[p, r, R_DEC]
        # gating variables (Euler from the values at the start of the step), then x += 1
        for g in range(gs_i.shape[0]):
            o, m = gs_i[g, 1], gs_i[g, 2]
            xdec, dtd, adt = gs_f[g, 0], gs_f[g, 1], gs_f[g, 2]
            soff = pop_i[gs_i[g, 0], Q_OFF]
            for i in range(m):
                x, s = X[o + i], S[o + i]
                S[o + i] = s - s * dtd + adt * x * (1.0 - s)
                X[o + i] = x * xdec + (1.0 if spk[soff + i] else 0.0)
        for d in range(pd_i.shape[0]):
            k = pd_i[d, 3]
            if k < 0:
                continue
            o = dg_i[k, 0]
            xdec, dtd, adt = dg_f[k, 0], dg_f[k, 1], dg_f[k, 2]
            for i in range(pop_i[pd_i[d, 1], Q_SIZE]):
                x, s = XD[o + i], SD[o + i]
                SD[o + i] = s - s * dtd + adt * x * (1.0 - s)
                XD[o + i] = x * xdec
        # spikes of this step onto exponential receptors
        for j in range(pj_i.shape[0]):
            if pj_i[j, 4] >= 0:
                continue
            src, tgt, slot, rp = pj_i[j, 0], pj_i[j, 1], pj_i[j, 2], pj_i[j, 5]
            if cnt[src] == 0:
                continue
            if pj_i[j, 3]:
                wj = w[rowptr[rp]]
                GS[tgt, slot] += wj * cnt[src]
                if pj_i[j, 3] == 2:  # no autapses: a neuron's own spike does not reach it
                    soff = pop_i[src, Q_OFF]
                    for i in range(pop_i[src, Q_SIZE]):
                        if spk[soff + i]:
                            G[slot, soff + i] -= wj
                continue
            soff, toff = pop_i[src, Q_OFF], pop_i[tgt, Q_OFF]
            for pre in range(pop_i[src, Q_SIZE]):
                if spk[soff + pre]:
                    for syn in range(rowptr[rp + pre], rowptr[rp + pre + 1]):
                        G[slot, toff + post[syn]] += w[syn]
        # Poisson input of this step: a count per neuron by inversion of one uniform
        # (a mean above 10 is split into pieces of at most 10, one uniform each); drives
        # joined to an earlier one add their mean to its draw
        if row >= 0:
            for d in range(pd_i.shape[0]):
                if pd_i[d, 4] >= 0:
                    continue
                mean = max(pd_f[d, 0] * vals[row, pd_i[d, 0]], 0.0) * dt
                for e in range(d + 1, pd_i.shape[0]):
                    if pd_i[e, 4] == d:
                        mean += max(pd_f[e, 0] * vals[row, pd_i[e, 0]], 0.0) * dt
                if mean <= 0.0:
                    continue
                pieces = max(1, int(math.ceil(mean / 10.0)))
                lam = mean / pieces
                p0 = math.exp(-lam)
                p, slot, k = pd_i[d, 1], pd_i[d, 2], pd_i[d, 3]
                size = pop_i[p, Q_SIZE]
                off, wd = pop_i[p, Q_OFF], pd_f[d, 1]
                o = dg_i[k, 0] if k >= 0 else 0
                c1 = p0 + p0 * lam
                for piece in range(pieces):
                    _uniforms(rng, poly, size)
                    if k < 0:
                        # counts 0 and 1 (all but ~lam^2/2 of the neurons) branch-free, the
                        # rest below
                        gd = G[slot, off:off + size]
                        more = 0
                        for i in range(size):
                            u = poly[i]
                            gd[i] += wd if u >= p0 else 0.0
                            more += 1 if u >= c1 else 0
                        if more == 0:
                            continue
                    for i in range(size):
                        u = poly[i]
                        if u < (c1 if k < 0 else p0):
                            continue
                        hits = 1
                        q = p0 * lam
                        cdf = p0 + q
                        while u >= cdf and q > 0.0:
                            hits += 1
                            q *= lam / hits
                            cdf += q
                        if k < 0:
                            G[slot, off + i] += wd * (hits - 1)
                        else:
                            XD[o + i] += hits
        # the stop rule, at the end of each bin: a population's spike count over the
        # last ``window`` bins at or above its threshold ends the trial ``margin`` bins on
        if n_stop and (n + 1) % spb == 0:
            b = n // spb
            if halt[0] < 0 and b >= stop_i[0, 1]:
                lo = max(0, b - stop_i[0, 2] + 1)
                for q in range(n_stop):
                    tot = 0
                    for bb in range(lo, b + 1):
                        tot += counts[bb, stop_i[q, 0]]
                    if tot >= stop_f[q]:
                        halt[0] = b + stop_i[0, 3]
                        break
            if halt[0] >= 0 and b >= halt[0]:
                halt[1] = b + 1
                return n + 1, -1
    return n1, -1


class StopRule(NamedTuple):
    """End a trial early once a population's rate crosses a bound (a reaction-time task's
    commitment): from bin ``onset`` on, when the mean rate over the last ``window`` bins
    of any of ``populations`` reaches ``threshold`` (Hz per neuron), the trial runs
    ``margin`` more bins and stops; later bins of its Recording are NaN (not simulated).
    Every bin up to the stop is the one a full run gives (trial t's random stream does
    not depend on how long it runs)."""

    populations: tuple   # names
    threshold: float     # Hz
    window: int          # bins
    onset: int           # bin
    margin: int = 1      # bins


def _stop_arrays(spec, stop):
    """(stop_i [Q, 4]: population, onset, window, margin; stop_f [Q]: spike-count bound)."""
    if stop is None:
        return np.zeros((0, 4), np.int64), np.zeros(0)
    index = {p.name: k for k, p in enumerate(spec.network.populations)}
    unknown = [q for q in stop.populations if q not in index]
    if unknown:
        raise ValidationError(f"StopRule.populations: {unknown} are not populations of the "
                              f"network; expected names from {list(index)}")
    for name in ("window", "onset", "margin"):
        val = getattr(stop, name)
        if isinstance(val, bool) or not isinstance(val, (int, np.integer)) or val < (
                1 if name == "window" else 0):
            raise ValidationError(f"StopRule.{name}: expected an integer number of bins >= "
                                  f"{1 if name == 'window' else 0} (got {val!r})")
    if not np.isfinite(stop.threshold) or stop.threshold <= 0:
        raise ValidationError(f"StopRule.threshold: expected a rate > 0 Hz (got "
                              f"{stop.threshold!r})")
    bw = spec.steps_per_bin * spec.dt
    sizes = [spec.network.population(q).size for q in stop.populations]
    # a count at or above this bound is a crossing for the readout too (1e-9: rounding)
    bound = [stop.threshold * stop.window * size * bw * (1.0 + 1e-9) for size in sizes]
    si = [(index[q], int(stop.onset), int(stop.window), int(stop.margin))
          for q in stop.populations]
    return np.asarray(si, np.int64).reshape(-1, 4), np.asarray(bound, np.float64)


def _iext_table(spec, layout, trial: int) -> np.ndarray:
    """Summed 'current' drive per stimulus row and population [rows + 1, P] (A)."""
    n_p = layout.pop_i.shape[0]
    if spec.stimulus is None:
        return np.zeros((1, n_p))
    vals = spec.stimulus.trial_values(trial)
    out = np.zeros((vals.shape[0] + 1, n_p))
    for p, ch, gain in layout.cd:
        out[:-1, p] += gain * vals[:, ch]
    return out


def _run_trial(spec, layout, rows, trial: int, stop=(np.zeros((0, 4), np.int64), np.zeros(0))):
    """Simulate one trial; return (counts [steps//spb + 1, P], spikes (idx, step), vrec,
    bins simulated or -1 for all)."""
    pops = spec.network.populations
    gen = trial_rng(spec.seed, trial)
    v = np.concatenate([p.initial_v(gen) for p in pops]).astype(np.float64)
    rng = np.array([gen.integers(0, 2**63, dtype=np.uint64)], dtype=np.uint64)
    n, n_p, n_r = layout.n_neurons, layout.pop_i.shape[0], layout.rec_f.shape[1]
    if spec.stimulus is not None:
        vals = np.ascontiguousarray(spec.stimulus.trial_values(trial), dtype=np.float64)
    else:
        vals = np.zeros((1, 1))
    iext = _iext_table(spec, layout, trial)
    rows = np.where(rows >= 0, rows, -1)
    cap = 4 * layout.n_rec + 4096 if layout.n_rec else n + 1
    rec_idx, rec_step = np.zeros(cap, np.int64), np.zeros(cap, np.int64)
    rec_n = np.zeros(1, np.int64)
    counts = np.zeros((spec.n_steps // spec.steps_per_bin + 1, n_p), np.int64)
    vrec = np.zeros((spec.n_steps if layout.vcols.size else 0, layout.vcols.size))
    size_max = int(layout.pop_i[:, Q_SIZE].max())
    state = (v, np.zeros(n, np.int64), np.zeros((n_r, n)), np.zeros((n_p, n_r)),
             np.zeros((n_r, n)), np.zeros((n_p, n_r)), np.zeros(n), np.zeros(layout.n_x),
             np.zeros(layout.n_x), np.zeros(layout.n_xd), np.zeros(layout.n_xd),
             np.zeros(layout.gs_i.shape[0]), np.zeros(n, np.bool_), np.zeros(n_p, np.int64),
             np.zeros(size_max), np.zeros(size_max), np.zeros(size_max), rng)
    halt = np.array([-1, -1], np.int64)
    chunks = []
    step = 0
    while step < spec.n_steps:
        step, bad = _advance(step, spec.n_steps, spec.dt, spec.steps_per_bin, rows, vals, iext,
                             layout.pop_f, layout.pop_i, layout.rec_f, layout.gs_i, layout.gs_f,
                             layout.pj_i, layout.rowptr, layout.post, layout.w, layout.pd_i,
                             layout.pd_f, layout.dg_i, layout.dg_f, layout.vcols, stop[0], stop[1],
                             *state, counts, vrec, rec_idx, rec_step, rec_n, halt)
        if bad >= 0:
            raise SimulationError(f"population {pops[bad].name!r}: NaN or Inf in the membrane "
                                  f"potential at step {step} (t = {step * spec.dt:g} s, trial "
                                  f"{trial}); check conductances and inputs for huge values")
        chunks.append((rec_idx[:rec_n[0]].copy(), rec_step[:rec_n[0]].copy()))
        rec_n[0] = 0
        if halt[1] >= 0:
            break
    return counts, chunks, vrec, int(halt[1])


def run_conductance(spec, threads: int, progress: bool = False,
                    stop: StopRule | None = None) -> Recording:
    """Simulate every trial of a conductance-based ``spec``; one trial per thread task.

    ``stop``: an optional :class:`StopRule` ending each trial at its commitment."""
    layout = build_conductance(spec)
    arrays = _stop_arrays(spec, stop)
    rows = spec.stimulus_row()
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=spec.trials, unit="trial", desc="numba", delay=1.0)

    def one(t):
        out = _run_trial(spec, layout, rows, t, arrays)
        if bar is not None:
            bar.update(1)
        return out

    try:
        if threads > 1 and spec.trials > 1:
            with ThreadPoolExecutor(max_workers=threads) as pool:
                results = list(pool.map(one, range(spec.trials)))
        else:
            results = [one(t) for t in range(spec.trials)]
    finally:
        if bar is not None:
            bar.close()
    return _recording(spec, layout, results, threads, stop)


def _recording(spec, layout, results, threads, stop=None) -> Recording:
    import numba

    net = spec.network
    index = {p.name: k for k, p in enumerate(net.populations)}
    bins = spec.n_steps // spec.steps_per_bin
    counts = np.stack([r[0][:bins] for r in results])           # [trials, bins, P]
    probes = spec.rate_probes
    sel = counts[:, :, [index[pb.population] for pb in probes]].astype(np.float64)
    sizes = [net.population(pb.population).size for pb in probes]
    rates = bin_counts(sel, 1, sizes, spec.steps_per_bin * spec.dt)
    simulated = np.array([r[3] for r in results])
    for t, b in enumerate(simulated):
        if b >= 0:
            rates[t, b:] = np.nan   # after the stop rule ended the trial: not simulated
    spikes = None
    spiking = [pb.population for pb in net.probes if pb.kind == "spikes"]
    if spiking:
        spikes = []
        for _, chunks, _, _ in results:
            idx = np.concatenate([c[0] for c in chunks])
            step = np.concatenate([c[1] for c in chunks])
            d = {}
            for name in spiking:
                off = layout.pop_i[index[name], Q_OFF]
                size = layout.pop_i[index[name], Q_SIZE]
                keep = (idx >= off) & (idx < off + size)
                d[name] = (idx[keep] - off, step[keep] * spec.dt)
            spikes.append(d)
    v = None
    if layout.vcols.size:
        allv = np.stack([r[2] for r in results])
        for t, b in enumerate(simulated):
            if b >= 0:
                allv[t, b * spec.steps_per_bin:] = np.nan
        v, col = {}, 0
        for name, count in layout.v_units:
            v[name] = np.ascontiguousarray(allv[:, :, col:col + count])
            col += count
    meta = {"backend": "numba", "tier": "spiking", "dt": spec.dt, "seed": spec.seed,
            "trials": spec.trials, "network": net.name, "duration": spec.duration,
            "n_steps": spec.n_steps, "threads": threads, "model": "conductance",
            "numba": numba.__version__}
    if stop is not None:
        meta["stop"] = dict(stop._asdict(), bins=simulated.tolist())
    return Recording(rates, spec.bin_width, net.rate_units(), spikes, v, meta)


# numba's disk cache, safe for processes compiling at once (see ``_cache``); the code
# holds the Mg-block constants of ``neuroattn.neurons.conductance``
def _guard_cache():
    from neuroattn.backends.numba import _cache
    from neuroattn.neurons import conductance

    _cache.guard_all(globals(), (conductance,))


_guard_cache()
