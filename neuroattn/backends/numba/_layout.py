"""Flatten a RunSpec into the arrays the Numba kernel reads.

Neurons of all populations are numbered globally (population after population, in the
network's order). Each population has one synaptic current per distinct ``tau_syn`` of
the projections and 'poisson' drives onto it ("ports": currents with equal tau obey
one linear equation, so they can share one variable). A port fed only by dense
projections (see ``_is_dense``) holds one current per trial, not one per neuron: every
neuron of the population receives the same spikes and starts at zero, so all its
neurons' currents are equal at every step. Projections are stored in CSR form by
presynaptic neuron (the order of ``Projection.connections``). Spikes of each source population wait in a
ring of ``max_delay + 1`` slots, one list of spiking neurons per step and trial.
"""

from __future__ import annotations

import math
import weakref
from typing import NamedTuple

import numpy as np

from neuroattn.backends.numba import _rng
from neuroattn.neurons._membrane import ou_noise_scale, refractory_steps, synaptic_kernel

__all__ = []

# Columns of Layout.pop_f (float parameters per population).
F_EM, F_VREST, F_RM, F_IBIAS, F_VTH, F_VRESET, F_NOISE, F_THETA, F_DU, F_RHO0 = range(10)
# Columns of Layout.pop_i (integer parameters per population).
I_OFF, I_SIZE, I_KIND, I_NREF, I_RESET, I_Q0, I_Q1, I_CD0, I_CD1, I_PD0, I_PD1, I_RING, \
    I_RBASE, I_CBASE, I_REC = range(15)
LIF, ESCAPE = 0, 1


class Layout(NamedTuple):
    """The network as flat arrays (see the module docstring); shared by every batch."""

    pop_f: np.ndarray      # [P, 10] float64
    pop_i: np.ndarray      # [P, 15] int64
    port_row: np.ndarray   # [Q] first row of each port in the current array
    port_n: np.ndarray     # [Q] rows of each port: the population's size, or 1 if shared
    port_f: np.ndarray     # [Q, 2]: decay exp(-dt/tau), synaptic kernel K(tau, tau_mem, dt)
    cd_ch: np.ndarray      # [C] current drives (grouped by population): channel
    cd_gain: np.ndarray    # [C] A per unit
    pd_i: np.ndarray       # [D, 2] poisson drives (grouped by population): channel, port
    pd_f: np.ndarray       # [D, 2]: gain (Hz per unit), weight (A per input spike)
    pj_i: np.ndarray       # [J, 5] int64: source pop, target port, delay steps, rowptr offset,
                           # 1 if dense (see ``_is_dense``)
    rowptr: np.ndarray     # concatenated CSR row pointers (global synapse indices)
    post: np.ndarray       # int32 target neuron (local to the target population)
    w: np.ndarray          # float64 signed weight, A
    vcols: np.ndarray      # global neuron index of each recorded potential column
    n_neurons: int
    n_rows: int            # rows of the synaptic-current array
    ring_rows: int         # rows of the spike-ring index array
    ring_slots: int        # rows of the spike-ring count array
    n_rec: int             # neurons whose spikes are recorded
    v_units: tuple         # (population, number of recorded neurons) per 'v' population

    def kernel_args(self) -> tuple:
        """The arrays ``advance`` takes, in its order (plain arrays compile fast), and
        the ziggurat's lookup table (``_rng.ZIG_TABLE``, see ``_kernel._make_noise``)."""
        return (self.pop_f, self.pop_i, self.port_row, self.port_n, self.port_f, self.pd_i,
                self.pd_f, self.pj_i, self.rowptr, self.post, self.w, self.vcols,
                _rng.ZIG_TABLE)


def build_layout(spec) -> Layout:
    """Resolve every rule and parameter of ``spec.network`` into a Layout."""
    net, dt = spec.network, spec.dt
    pops = net.populations
    index = {p.name: k for k, p in enumerate(pops)}
    drives = spec.stimulus.drives if spec.stimulus is not None else ()

    # ports: one per distinct tau onto each population, projections first, then drives;
    # a port is shared while every input to it is a dense projection
    taus = [[] for _ in pops]
    shared = {}
    csr = [_csr(pr, pops[index[pr.source]].size, pops[index[pr.target]].size)
           for pr in net.projections]
    dense = [_is_dense(*c, pops[index[pr.target]].size) for pr, c in zip(net.projections, csr)]
    for pr, is_dense in zip(net.projections, dense):
        key = (index[pr.target], pr.tau_syn)
        _port(taus[key[0]], pr.tau_syn)
        shared[key] = shared.get(key, True) and is_dense
    for d in drives:
        if d.kind == "poisson":
            _port(taus[index[d.population]], d.tau_syn)
            shared[(index[d.population], d.tau_syn)] = False

    pop_f = np.zeros((len(pops), 10))
    pop_i = np.zeros((len(pops), 15), dtype=np.int64)
    port_row, port_n, port_decay, port_k, q_of = [], [], [], [], []
    max_delay = [-1] * len(pops)
    for pr in net.projections:
        s = index[pr.source]
        max_delay[s] = max(max_delay[s], _delay_steps(pr.delay, dt))
    spiking = {pb.population for pb in net.probes if pb.kind == "spikes"}
    off = rows = ring_rows = ring_slots = 0
    for k, p in enumerate(pops):
        par = p.params
        pop_f[k, F_EM] = math.exp(-dt / par.tau_mem)
        pop_f[k, F_VREST], pop_f[k, F_RM], pop_f[k, F_IBIAS] = par.v_rest, par.r_m, par.i_bias
        pop_f[k, F_VRESET] = par.v_reset
        if par.kind == "lif":
            pop_f[k, F_VTH] = par.v_th
            pop_f[k, F_NOISE] = ou_noise_scale(par.sigma, par.tau_mem, dt)
            pop_i[k, I_KIND], pop_i[k, I_RESET] = LIF, 1
        else:
            pop_f[k, F_THETA], pop_f[k, F_DU], pop_f[k, F_RHO0] = par.theta, par.delta_u, par.rho0
            pop_i[k, I_KIND], pop_i[k, I_RESET] = ESCAPE, int(par.reset)
        pop_i[k, I_OFF], pop_i[k, I_SIZE] = off, p.size
        pop_i[k, I_NREF] = refractory_steps(par.t_ref, dt)
        pop_i[k, I_Q0] = len(port_row)
        q_of.append({})
        for tau in taus[k]:
            q_of[k][tau] = len(port_row)
            port_row.append(rows)
            port_n.append(1 if shared[(k, tau)] else p.size)
            port_decay.append(math.exp(-dt / tau))
            port_k.append(synaptic_kernel(tau, par.tau_mem, dt))
            rows += port_n[-1]
        pop_i[k, I_Q1] = len(port_row)
        slots = max_delay[k] + 1
        pop_i[k, I_RING], pop_i[k, I_RBASE], pop_i[k, I_CBASE] = slots, ring_rows, ring_slots
        ring_rows += slots * p.size
        ring_slots += slots
        pop_i[k, I_REC] = int(p.name in spiking)
        off += p.size

    cd = sorted((index[d.population], n, d) for n, d in enumerate(drives) if d.kind == "current")
    pd = sorted((index[d.population], n, d) for n, d in enumerate(drives) if d.kind == "poisson")
    for col0, col1, group in ((I_CD0, I_CD1, cd), (I_PD0, I_PD1, pd)):
        owners = np.array([g[0] for g in group], dtype=np.int64)
        pop_i[:, col0] = np.searchsorted(owners, np.arange(len(pops)), side="left")
        pop_i[:, col1] = np.searchsorted(owners, np.arange(len(pops)), side="right")

    pj_i = np.zeros((len(net.projections), 5), dtype=np.int64)
    rowptrs, posts, ws, nsyn, nrp = [], [], [], 0, 0
    for j, pr in enumerate(net.projections):
        s, t = index[pr.source], index[pr.target]
        rowptr, post, w = csr[j]
        rowptrs.append(nsyn + rowptr)
        posts.append(post)
        ws.append(w)
        pj_i[j] = (s, q_of[t][pr.tau_syn], _delay_steps(pr.delay, dt), nrp, dense[j])
        nsyn += post.size
        nrp += pops[s].size + 1

    v_neurons = {}  # population -> union of its 'v' probes' neurons, first-seen order
    for pb in net.probes:
        if pb.kind == "v":
            seen = v_neurons.setdefault(pb.population, [])
            seen.extend(i for i in pb.neurons if i not in seen)
    vcols = [int(pop_i[index[name], I_OFF]) + i for name, idx in v_neurons.items() for i in idx]
    return Layout(
        pop_f, pop_i, _arr(port_row, np.int64), _arr(port_n, np.int64), np.array([port_decay, port_k]).T.copy(),
        _arr([d.channel for _, _, d in cd], np.int64), _arr([d.gain for _, _, d in cd]),
        np.array([[d.channel, q_of[k][d.tau_syn]] for k, _, d in pd], np.int64).reshape(-1, 2),
        np.array([[d.gain, d.weight] for _, _, d in pd], np.float64).reshape(-1, 2), pj_i,
        _cat(rowptrs, np.int64), _cat(posts, np.int32), _cat(ws, np.float64),
        _arr(vcols, np.int64), off, rows, ring_rows, ring_slots,
        int(sum(p.size for p in pops if p.name in spiking)),
        tuple((name, len(idx)) for name, idx in v_neurons.items()))


# Projection (by id, checked through a weak reference) -> its CSR arrays. A Projection is
# frozen and its rule deterministic, so repeated runs of one network skip resolving it.
_CSR_CACHE: dict = {}


def _csr(proj, n_source: int, n_target: int):
    """``(rowptr int64 [n_source + 1], post int32, signed w float64)`` of a projection."""
    key = id(proj)
    hit = _CSR_CACHE.get(key)
    if hit is not None and hit[0]() is proj and hit[1] == (n_source, n_target):
        return hit[2]
    pre, post, w = proj.connections(n_source, n_target)
    rowptr = np.concatenate(([0], np.cumsum(np.bincount(pre, minlength=n_source))))
    value = (rowptr.astype(np.int64), post.astype(np.int32), w)
    ref = weakref.ref(proj, lambda _, k=key: _CSR_CACHE.pop(k, None))
    _CSR_CACHE[key] = (ref, (n_source, n_target), value)
    return value


def _is_dense(rowptr, post, w, n_target: int) -> bool:
    """Whether every source neuron reaches targets 0, 1, ..., n_target - 1 in order, all
    with one weight: the kernel then adds ``count * [w]`` per trial in a vector loop
    (the same sums, in the same order, as adding each spike's row)."""
    n_source = rowptr.size - 1
    return bool(post.size == n_source * n_target and post.size > 0
                and np.array_equal(np.diff(rowptr), np.full(n_source, n_target))
                and np.array_equal(post.reshape(n_source, n_target),
                                   np.broadcast_to(np.arange(n_target), (n_source, n_target)))
                and np.all(w == w[0]))


def _port(taus: list, tau: float) -> None:
    if tau not in taus:
        taus.append(tau)


def _delay_steps(delay: float, dt: float) -> int:
    return int(round(delay / dt))


def _arr(values, dtype=np.float64) -> np.ndarray:
    return np.asarray(values, dtype=dtype).reshape(-1)


def _cat(parts, dtype) -> np.ndarray:
    return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype=dtype)
