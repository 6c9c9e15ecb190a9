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
lowered exactly but cheaply: an exponential one adds ``w * (spikes of the source)`` to a
conductance shared by the target population (``GS``, decaying like the per-neuron ones);
a saturating one adds ``w * sum_j s_j`` to a shared term each step. Other projections
use CSR rows (event-driven for exponential receptors, a sum over synapses each step
for saturating ones).

Each trial runs on one thread from start to end with its own splitmix64 stream seeded
from ``trial_rng(seed, t)`` (after the initial potentials), so trial t's result does
not depend on the batch or the thread; trials run in parallel threads (no GIL).
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import numpy as np
from numba import njit

from neuroattn.backends._common import bin_counts, trial_rng
from neuroattn.exceptions import BackendUnavailable, SimulationError
from neuroattn.model import AllToAll, Recording
from neuroattn.neurons.conductance import MG_SCALE, MG_SLOPE, describe

__all__ = ["is_conductance", "run_conductance", "ConductanceLayout", "build_conductance"]

# pop_f columns
P_CM, P_GL, P_EL, P_VTH, P_VRESET, P_IBIAS, P_GADEC, P_DGA, P_EA = range(9)
# pop_i columns
Q_OFF, Q_SIZE, Q_NREF, Q_NREC, Q_REC = range(5)
# rec_f columns [P, R, 4]: reversal, Euler decay factor (exponential), mg, saturating flag
R_E, R_DEC, R_MG, R_SAT = range(4)
_U = np.uint64


def is_conductance(network) -> bool:
    """Whether any population of ``network`` is conductance-based."""
    return any(getattr(p.params, "kind", None) == "conductance" for p in network.populations)


class ConductanceLayout(NamedTuple):
    """The network as flat arrays (module docstring)."""

    pop_f: np.ndarray    # [P, 9]
    pop_i: np.ndarray    # [P, 5] int64
    rec_f: np.ndarray    # [P, R, 4]
    gs_i: np.ndarray     # [Gn, 3] gating sets: population, offset in X/S, size
    gs_f: np.ndarray     # [Gn, 3]: x decay factor, dt/tau_decay, alpha dt
    pj_i: np.ndarray     # [J, 6]: source, target, slot, dense, gating set (-1: exponential),
                         #  rowptr offset
    rowptr: np.ndarray   # concatenated CSR row pointers (global synapse indices)
    post: np.ndarray     # int64 target (local to the target population)
    w: np.ndarray        # float64 weight, S
    pd_i: np.ndarray     # [D, 4] poisson drives: channel, population, slot, drive gate or -1
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
    rec_f = np.zeros((len(pops), max(n_r, 1), 4))
    spiking = {pb.population for pb in net.probes if pb.kind == "spikes"}
    off = 0
    for k, p in enumerate(pops):
        par = p.params
        pop_f[k] = (par.c_m, par.g_l, par.e_l, par.v_th, par.v_reset, par.i_bias,
                    1.0 - dt / par.tau_adapt, par.delta_g_adapt, par.e_adapt)
        pop_i[k] = (off, p.size, int(round(par.t_ref / dt)), len(par.receptors),
                    int(p.name in spiking))
        for s, r in enumerate(par.receptors):
            rec_f[k, s] = (r.e_rev, 1.0 - dt / r.tau_decay, r.mg, float(r.kind == "saturating"))
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
        dense = isinstance(pr.rule, AllToAll) and np.ndim(pr.weight) == 0 and (
            pr.rule.autapses or pr.source != pr.target)
        pre, post, w = pr.connections(n_s, n_t)
        rowptr = np.concatenate(([0], np.cumsum(np.bincount(pre, minlength=n_s))))
        pj_i.append((s, t, slots[t][pr.receptor], int(dense), g, nrp))
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
        pd_i.append((d.channel, k, slots[k][d.receptor], gate))
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
        cat(ws, np.float64), arr(pd_i, np.int64, 4), arr(pd_f, np.float64, 2),
        arr(dg_i, np.int64, 1), arr(dg_f, np.float64, 3), tuple(cd),
        np.asarray(vcols, np.int64), tuple((n, len(i)) for n, i in v_neurons.items()),
        off, n_x, n_xd, int(sum(p.size for p in pops if p.name in spiking)), flds)


@njit(cache=True, nogil=True, inline="always")
def _next_u01(rng):
    """splitmix64 (Steele, Lea & Flood 2014): the next uniform in [0, 1)."""
    rng[0] = rng[0] + _U(0x9E3779B97F4A7C15)
    z = rng[0]
    z = (z ^ (z >> _U(30))) * _U(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> _U(27))) * _U(0x94D049BB133111EB)
    z = z ^ (z >> _U(31))
    return float(z >> _U(11)) * (1.0 / 9007199254740992.0)


@njit(cache=True, nogil=True)
def _poisson(lam, p0, pieces, rng):
    """A Poisson count of mean ``lam * pieces`` by inversion, piece by piece."""
    total = 0
    for _ in range(pieces):
        u = _next_u01(rng)
        k = 0
        p = p0
        cdf = p0
        while u >= cdf and p > 0.0:
            k += 1
            p *= lam / k
            cdf += p
        total += k
    return total


@njit(cache=True, nogil=True)
def _advance(n0, n1, dt, spb, rows, vals, iext, pop_f, pop_i, rec_f, gs_i, gs_f, pj_i, rowptr,
             post, w, pd_i, pd_f, dg_i, dg_f, vcols,
             v, ref, G, GS, GN, GSH, GA, X, S, XD, SD, sums, spk, cnt, rng, counts, vrec,
             rec_idx, rec_step, rec_n):
    """Advance one trial from step n0 to at most n1 (arrays: ``ConductanceLayout`` and
    ``_trial_state``). Returns ``(reached, bad_population)``; ``reached < n1`` when the
    spike record is nearly full (grow it and call again) or a potential became NaN/Inf
    (``bad_population >= 0``)."""
    n_pop = pop_i.shape[0]
    n_r = rec_f.shape[1]
    n_total = v.shape[0]
    cap = rec_idx.shape[0]
    any_sat = gs_i.shape[0] > 0 or dg_i.shape[0] > 0
    for n in range(n0, n1):
        if rec_n[0] + n_total > cap:
            return n, -1
        for c in range(vcols.shape[0]):
            vrec[n, c] = v[vcols[c]]
        row = rows[n]
        # saturating conductances of this step: shared (dense) and per neuron
        if any_sat:
            for g in range(gs_i.shape[0]):
                o, m = gs_i[g, 1], gs_i[g, 2]
                acc = 0.0
                for i in range(m):
                    acc += S[o + i]
                sums[g] = acc
            GSH[:, :] = 0.0
            GN[:, :] = 0.0
            for j in range(pj_i.shape[0]):
                g = pj_i[j, 4]
                if g < 0:
                    continue
                src, tgt, slot, rp = pj_i[j, 0], pj_i[j, 1], pj_i[j, 2], pj_i[j, 5]
                if pj_i[j, 3]:
                    GSH[tgt, slot] += w[rowptr[rp]] * sums[g]
                    continue
                o, toff = gs_i[g, 1], pop_i[tgt, Q_OFF]
                for pre in range(pop_i[src, Q_SIZE]):
                    sv = S[o + pre]
                    for syn in range(rowptr[rp + pre], rowptr[rp + pre + 1]):
                        GN[toff + post[syn], slot] += w[syn] * sv
            for d in range(pd_i.shape[0]):
                k = pd_i[d, 3]
                if k < 0:
                    continue
                p, slot, o = pd_i[d, 1], pd_i[d, 2], dg_i[k, 0]
                off, wd = pop_i[p, Q_OFF], pd_f[d, 1]
                for i in range(pop_i[p, Q_SIZE]):
                    GN[off + i, slot] += wd * SD[o + i]
        # membranes (Euler), thresholds, resets; decay of the conductances
        for p in range(n_pop):
            cm, gl, el = pop_f[p, P_CM], pop_f[p, P_GL], pop_f[p, P_EL]
            vth, vreset, gadec, dga, ea = (pop_f[p, P_VTH], pop_f[p, P_VRESET], pop_f[p, P_GADEC],
                                           pop_f[p, P_DGA], pop_f[p, P_EA])
            base = pop_f[p, P_IBIAS] + (iext[row, p] if row >= 0 else 0.0)
            off, size, nref, nrec = pop_i[p, Q_OFF], pop_i[p, Q_SIZE], pop_i[p, Q_NREF], \
                pop_i[p, Q_NREC]
            c = 0
            bad = False
            for i in range(size):
                gi = off + i
                vv = v[gi]
                cur = gl * (el - vv) + base + GA[gi] * (ea - vv)
                for r in range(nrec):
                    if rec_f[p, r, R_SAT] > 0.0:
                        g = GN[gi, r] + GSH[p, r]
                    else:
                        g = G[gi, r] + GS[p, r]
                        G[gi, r] = G[gi, r] * rec_f[p, r, R_DEC]
                    mg = rec_f[p, r, R_MG]
                    if mg > 0.0:
                        g = g / (1.0 + mg * math.exp(-MG_SLOPE * vv) / MG_SCALE)
                    cur += g * (rec_f[p, r, R_E] - vv)
                left = ref[gi]
                left = left - 1 if left > 0 else 0
                vn = vv + dt * cur / cm if left == 0 else vv
                if not abs(vn) <= 1.7976931348623157e308:
                    bad = True
                fire = left == 0 and vn > vth
                ga = GA[gi] * gadec
                if fire:
                    vn = vreset
                    left = nref
                    ga += dga
                    c += 1
                    if pop_i[p, Q_REC]:
                        rec_idx[rec_n[0]] = gi
                        rec_step[rec_n[0]] = n
                        rec_n[0] += 1
                GA[gi] = ga
                v[gi] = vn
                ref[gi] = left
                spk[gi] = fire
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
                GS[tgt, slot] += w[rowptr[rp]] * cnt[src]
                continue
            soff, toff = pop_i[src, Q_OFF], pop_i[tgt, Q_OFF]
            for pre in range(pop_i[src, Q_SIZE]):
                if spk[soff + pre]:
                    for syn in range(rowptr[rp + pre], rowptr[rp + pre + 1]):
                        G[toff + post[syn], slot] += w[syn]
        # Poisson input of this step
        if row >= 0:
            for d in range(pd_i.shape[0]):
                mean = max(pd_f[d, 0] * vals[row, pd_i[d, 0]], 0.0) * dt
                if mean <= 0.0:
                    continue
                pieces = max(1, int(math.ceil(mean / 10.0)))
                lam = mean / pieces
                p0 = math.exp(-lam)
                p, slot, k = pd_i[d, 1], pd_i[d, 2], pd_i[d, 3]
                off, wd = pop_i[p, Q_OFF], pd_f[d, 1]
                o = dg_i[k, 0] if k >= 0 else 0
                for i in range(pop_i[p, Q_SIZE]):
                    hits = _poisson(lam, p0, pieces, rng)
                    if hits == 0:
                        continue
                    if k < 0:
                        G[off + i, slot] += wd * hits
                    else:
                        XD[o + i] += hits
    return n1, -1


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


def _run_trial(spec, layout, rows, trial: int):
    """Simulate one trial; return (counts [steps//spb + 1, P], spikes (idx, step), vrec)."""
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
    state = (v, np.zeros(n, np.int64), np.zeros((n, n_r)), np.zeros((n_p, n_r)),
             np.zeros((n, n_r)), np.zeros((n_p, n_r)), np.zeros(n), np.zeros(layout.n_x),
             np.zeros(layout.n_x), np.zeros(layout.n_xd), np.zeros(layout.n_xd),
             np.zeros(layout.gs_i.shape[0]), np.zeros(n, np.bool_), np.zeros(n_p, np.int64), rng)
    chunks = []
    step = 0
    while step < spec.n_steps:
        step, bad = _advance(step, spec.n_steps, spec.dt, spec.steps_per_bin, rows, vals, iext,
                             layout.pop_f, layout.pop_i, layout.rec_f, layout.gs_i, layout.gs_f,
                             layout.pj_i, layout.rowptr, layout.post, layout.w, layout.pd_i,
                             layout.pd_f, layout.dg_i, layout.dg_f, layout.vcols, *state, counts,
                             vrec, rec_idx, rec_step, rec_n)
        if bad >= 0:
            raise SimulationError(f"population {pops[bad].name!r}: NaN or Inf in the membrane "
                                  f"potential at step {step} (t = {step * spec.dt:g} s, trial "
                                  f"{trial}); check conductances and inputs for huge values")
        chunks.append((rec_idx[:rec_n[0]].copy(), rec_step[:rec_n[0]].copy()))
        rec_n[0] = 0
    return counts, chunks, vrec


def run_conductance(spec, threads: int, progress: bool = False) -> Recording:
    """Simulate every trial of a conductance-based ``spec``; one trial per thread task."""
    layout = build_conductance(spec)
    rows = spec.stimulus_row()
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=spec.trials, unit="trial", desc="numba", delay=1.0)

    def one(t):
        out = _run_trial(spec, layout, rows, t)
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
    return _recording(spec, layout, results, threads)


def _recording(spec, layout, results, threads) -> Recording:
    import numba

    net = spec.network
    index = {p.name: k for k, p in enumerate(net.populations)}
    bins = spec.n_steps // spec.steps_per_bin
    counts = np.stack([r[0][:bins] for r in results])           # [trials, bins, P]
    probes = spec.rate_probes
    sel = counts[:, :, [index[pb.population] for pb in probes]].astype(np.float64)
    sizes = [net.population(pb.population).size for pb in probes]
    rates = bin_counts(sel, 1, sizes, spec.steps_per_bin * spec.dt)
    spikes = None
    spiking = [pb.population for pb in net.probes if pb.kind == "spikes"]
    if spiking:
        spikes = []
        for _, chunks, _ in results:
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
        v, col = {}, 0
        for name, count in layout.v_units:
            v[name] = np.ascontiguousarray(allv[:, :, col:col + count])
            col += count
    meta = {"backend": "numba", "tier": "spiking", "dt": spec.dt, "seed": spec.seed,
            "trials": spec.trials, "network": net.name, "duration": spec.duration,
            "n_steps": spec.n_steps, "threads": threads, "model": "conductance",
            "numba": numba.__version__}
    return Recording(rates, spec.bin_width, net.rate_units(), spikes, v, meta)
