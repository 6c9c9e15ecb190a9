"""The Numba engine against the numpy specification (``lif_step``) and its own promises.

The reference below steps ``neuroattn.neurons.lif_step`` in a plain loop with the
package's schedule: update every population with the currents at the start of the
step, decay every current, then add the weights of spikes emitted ``delay`` steps ago
(in presynaptic order, as the engine does). For a deterministic network the engine's
spikes and potentials must equal it bit for bit.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from neuroattn.backends import simulate, trial_rng
from neuroattn.exceptions import SimulationError, ValidationError
from neuroattn.model import (
    AllToAll, Drive, Explicit, FixedIndegree, FixedProbability, Network, OneToOne,
    Population, Probe, Projection, Stimulus,
)
from neuroattn.neurons import (
    EscapeParams, LIFParams, escape_init, escape_step, lif_init, lif_step,
)

DT = 1e-4


def _reference(net, stim, n_steps, dt, seed, trial):
    """Spikes (population -> (index, step)) and potentials of one trial, with lif_step."""
    pops = net.populations
    gen = trial_rng(seed, trial)
    state = {p.name: (lif_init if p.params.kind == "lif" else escape_init)(
        p.size, p.params, p.initial_v(gen)) for p in pops}
    taus = {p.name: [] for p in pops}
    for pr in net.projections:  # one current per distinct tau (the engine's ports)
        if pr.tau_syn not in taus[pr.target]:
            taus[pr.target].append(pr.tau_syn)
    isyn = {p.name: np.zeros((len(taus[p.name]), p.size)) for p in pops}
    conns = [(pr, *pr.connections(net.population(pr.source).size,
                                  net.population(pr.target).size)) for pr in net.projections]
    sizes = {p.name: p.size for p in pops}
    history = {p.name: [] for p in pops}
    vneurons = {}  # 'v' probes of one population record the union of their neurons
    for pb in net.probes:
        if pb.kind == "v":
            have = vneurons.setdefault(pb.population, [])
            have.extend(i for i in pb.neurons if i not in have)
    vs = {name: [] for name in vneurons}
    k = stim.steps_per_row(dt)
    values = stim.trial_values(trial)
    for n in range(n_steps):
        for name, idx in vneurons.items():
            vs[name].append(state[name].v[idx].copy())
        row = n // k
        for p in pops:
            iext = 0.0
            for d in stim.drives:
                if d.population == p.name and row < values.shape[0]:
                    iext += d.gain * values[row, d.channel]
            if p.params.kind == "lif":
                spikes, state[p.name] = lif_step(iext, isyn[p.name], taus[p.name],
                                                 state[p.name], p.params, dt)
            else:  # deterministic limit (see _deterministic_net): fire iff p > 1/2
                with np.errstate(over="ignore"):
                    spikes, state[p.name] = escape_step(iext, isyn[p.name], taus[p.name],
                                                        state[p.name], p.params, dt,
                                                        uniform=np.full(p.size, 0.5))
            history[p.name].append(spikes)
        for p in pops:
            decay = np.array([math.exp(-dt / t) for t in taus[p.name]])
            isyn[p.name] = isyn[p.name] * decay[:, None]
        for pr, pre, post, w in conns:
            d = int(round(pr.delay / dt))
            if n >= d:
                fired = history[pr.source][n - d]
                sel = fired[pre]
                np.add.at(isyn[pr.target][taus[pr.target].index(pr.tau_syn)], post[sel], w[sel])
    spikes = {}
    for name in sizes:
        steps, idx = np.nonzero(np.array(history[name]))
        spikes[name] = (idx, steps)
    return spikes, {name: np.array(v) for name, v in vs.items()}


def _deterministic_net():
    """Every rule, a weight matrix, equal and distinct taus, delays, refractoriness.

    The escape populations are deterministic: with delta_u = 1 pV the firing probability
    ``1 - exp(-rho dt)`` is 1 or below 1e-40 unless v is within ~1e-10 V of theta, so the
    engine's uniform draw and the reference's 1/2 decide alike.
    """
    rng = np.random.default_rng(5)
    lif = LIFParams(t_ref=2e-3)
    fast = LIFParams(t_ref=0.0, v_reset=-60e-3, tau_mem=10e-3)
    sharp = dict(v_rest=-70e-3, v_reset=-65e-3, theta=-52e-3, delta_u=1e-12, rho0=1e3,
                 tau_mem=15e-3)
    pops = [Population("a", 30, lif, v_init=(-70e-3, -52e-3)),
            Population("b", 20, LIFParams(t_ref=3e-3, i_bias=150e-12)),
            Population("c", 40, fast, v_init=-55e-3),
            Population("e", 15, EscapeParams(t_ref=1.5e-3, reset=True, **sharp),
                       v_init=(-70e-3, -60e-3)),
            Population("f", 9, EscapeParams(t_ref=1e-3, reset=False, i_bias=190e-12, **sharp))]
    projs = [
        Projection("a", "b", 40e-12, FixedProbability(0.3, seed=1), delay=1.5e-3),
        Projection("b", "a", 20e-12, FixedIndegree(4, seed=2), tau_syn=10e-3, sign="inh"),
        Projection("a", "a", 15e-12, FixedProbability(0.2, seed=3, autapses=True)),
        Projection("c", "b", rng.uniform(0, 8e-12, (40, 20)), AllToAll(), tau_syn=5e-3),
        Projection("b", "c", 30e-12, Explicit((0, 0, 3, 19), (1, 2, 2, 31)), delay=0.7e-3),
        Projection("c", "c", 20e-12, OneToOne(), tau_syn=2e-3, sign="inh", delay=0.3e-3),
        Projection("a", "e", 60e-12, FixedIndegree(6, seed=4), tau_syn=3e-3),
        Projection("e", "a", 4e-12, AllToAll(), tau_syn=10e-3, sign="inh", delay=2e-3),
        Projection("f", "e", 30e-12, FixedProbability(0.5, seed=6), tau_syn=3e-3),
        # a port fed only by dense projections: one shared current per trial
        Projection("e", "c", 6e-12, AllToAll(), tau_syn=7e-3),
        Projection("f", "c", 5e-12, AllToAll(), tau_syn=7e-3, sign="inh", delay=0.4e-3),
        # the only port of 'f', shared: the membrane pass adds it in the same loop
        Projection("c", "f", 3e-12, AllToAll(), tau_syn=4e-3),
    ]
    probes = [Probe(p.name, "spikes") for p in pops] + [
        Probe("b", "v", neurons=(0, 4, 7)), Probe("c", "v", neurons=(1,)),
        Probe("b", "v", neurons=(7, 2)), Probe("e", "v", neurons=(0, 3)),
        Probe("f", "v", neurons=(8,))]
    return Network(pops, projs, probes, name="deterministic")


def _ramp_stimulus(trials, steps=300):
    rng = np.random.default_rng(11)
    vals = rng.uniform(0.0, 1.0, (trials, steps, 2))
    return Stimulus(vals, 1e-3, [Drive(0, "a", gain=600e-12), Drive(1, "a", gain=50e-12),
                                 Drive(1, "c", gain=1500e-12), Drive(0, "e", gain=120e-12)])


def test_spikes_and_potentials_equal_the_numpy_specification():
    net, stim = _deterministic_net(), _ramp_stimulus(2)
    rec = simulate(net, stim, dt=DT, seed=3, backend="numba")
    n_steps = rec.meta["n_steps"]
    total = 0
    for trial in range(2):
        ref_spikes, ref_v = _reference(net, stim, n_steps, DT, 3, trial)
        for name, (idx, steps) in ref_spikes.items():
            got_idx, got_t = rec.spikes[trial][name]
            order = np.lexsort((idx, steps))
            np.testing.assert_array_equal(got_idx, idx[order])
            np.testing.assert_array_equal(np.round(got_t / DT).astype(int), steps[order])
            total += idx.size
        for name, v in ref_v.items():
            np.testing.assert_array_equal(rec.v[name][trial], v)  # bit for bit
    assert rec.v["b"].shape == (2, n_steps, 4)  # union of two probes, first-seen order
    # the reference is not trivial: every population fires, and each trial spikes more
    # often than the engine's spike record holds (4 per recorded neuron + 4096), so the
    # record is drained mid-run
    assert all(rec.spikes[t][p][0].size > 50 for p in "abcef" for t in range(2))
    assert total > 2 * (4 * net.n_neurons + 4096)


def test_uniform_all_to_all_projections_take_the_dense_path():
    """The layout flags exactly the uniform all-to-all projections as dense; the kernel
    adds their spikes as masked vector adds (bit for bit the reference, tested above
    with 'e' -> 'a', whose neurons often spike together). A port that only dense
    projections feed ('c' at 7 ms, 'f' at 4 ms) holds one current per trial (also
    tested above)."""
    from neuroattn.backends import check_run
    from neuroattn.backends.numba._layout import build_layout

    net = _deterministic_net()
    layout = build_layout(check_run(net, _ramp_stimulus(1), dt=DT))
    dense = [(pr.source, pr.target) for pr, flag in zip(net.projections, layout.pj_i[:, 4])
             if flag]
    # not 'c' -> 'b': all-to-all with a weight matrix
    assert dense == [("e", "a"), ("e", "c"), ("f", "c"), ("c", "f")]
    sizes = {p.name: p.size for p in net.populations}
    ports = {(pr.target, pr.tau_syn): int(layout.port_n[layout.pj_i[j, 1]])
             for j, pr in enumerate(net.projections)}
    # 'a' at 10 ms also gets 'b' (fixed in-degree): one current per neuron
    assert ports == {**{key: sizes[key[0]] for key in ports}, ("c", 7e-3): 1, ("f", 4e-3): 1}
    assert layout.n_rows == sum(ports.values())
    pops = [Population("x", 3, LIFParams()), Population("y", 2, LIFParams())]
    flags = build_layout(check_run(Network(pops, [
        Projection("x", "y", 1e-12, AllToAll()),
        Projection("x", "x", 1e-12, AllToAll(autapses=False)),  # rows skip a target
        Projection("y", "x", 1e-12, FixedProbability(0.5, seed=0))]), duration=1e-3,
        dt=DT)).pj_i[:, 4]
    assert flags.tolist() == [1, 0, 0]


def _noisy_net():
    """Noisy LIF, escape neurons with and without reset, delays, current and Poisson input."""
    pops = [Population("exc", 41, LIFParams(sigma=3e-3), v_init=(-70e-3, -55e-3)),
            Population("inh", 10, LIFParams(sigma=1e-3, t_ref=1e-3)),
            Population("soft", 13, EscapeParams(rho0=20.0, t_ref=2e-3, reset=True)),
            Population("pois", 7, EscapeParams(rho0=40.0))]
    projs = [Projection("exc", "soft", 50e-12, FixedProbability(0.3, seed=1)),
             Projection("exc", "inh", 40e-12, FixedProbability(0.3, seed=2), delay=0.5e-3),
             Projection("inh", "exc", 5e-12, sign="inh", tau_syn=10e-3),
             Projection("soft", "exc", 3e-12, sign="inh", tau_syn=10e-3, delay=1e-3),
             Projection("pois", "inh", 30e-12)]
    probes = [Probe(p.name, "rate", 0.01) for p in pops] + [
        Probe(p.name, "spikes") for p in pops] + [Probe("exc", "v", neurons=(0, 5, 40))]
    net = Network(pops, projs, probes, name="noisy")
    vals = np.random.default_rng(3).uniform(0.5, 1.5, (5, 20, 2))
    stim = Stimulus(vals, 5e-3, [Drive(0, "exc", gain=260e-12),
                                 Drive(1, "soft", "poisson", gain=300.0, weight=40e-12),
                                 Drive(1, "inh", "poisson", gain=150e3, weight=2e-12,
                                       tau_syn=2e-3)])  # 15 input spikes per step: 2 pieces
    return net, stim


def _assert_same(r1, r2, trials=slice(None)):
    np.testing.assert_array_equal(r1.rates[trials], r2.rates)
    np.testing.assert_array_equal(r1.v["exc"][trials], r2.v["exc"])
    for s1, s2 in zip(r1.spikes[trials], r2.spikes):
        assert s1.keys() == s2.keys()
        for pop in s1:
            np.testing.assert_array_equal(s1[pop][0], s2[pop][0])
            np.testing.assert_array_equal(s1[pop][1], s2[pop][1])


def test_fixed_seed_is_bit_identical_whatever_the_batch_and_threads():
    net, stim = _noisy_net()
    ref = simulate(net, stim, dt=DT, seed=9, backend="numba")  # 5 trials, 2 threads
    assert all(ref.spikes[0][p][0].size > 10 for p in ("exc", "inh", "soft", "pois"))
    _assert_same(ref, simulate(net, stim, dt=DT, seed=9, backend="numba"))
    _assert_same(ref, simulate(net, stim, dt=DT, seed=9, backend="numba", threads=1))
    _assert_same(ref, simulate(net, stim, dt=DT, seed=9, backend="numba", batch_size=1,
                               threads=2))
    _assert_same(ref, simulate(net, stim, dt=DT, seed=9, backend="numba", batch_size=2,
                               threads=3))
    sub = Stimulus(stim.values[3:4], stim.dt, stim.drives)  # trial 3 alone is trial 0 here
    one = simulate(net, sub, dt=DT, seed=9, backend="numba")
    assert not np.array_equal(one.rates[0], ref.rates[3])  # trial index enters the seed
    other = simulate(net, stim, dt=DT, seed=10, backend="numba")
    assert not np.array_equal(other.rates, ref.rates)
    assert not np.array_equal(ref.rates[0], ref.rates[1])


def test_stages_follow_the_network_and_change_no_result(monkeypatch):
    """Each network gets the stages it needs (absent features get none; one shared port
    per population and dense projections get the stages with less code); the most
    general stages give the same results bit for bit."""
    from neuroattn.backends import check_run
    from neuroattn.backends.numba import _engine, _kernel, _layout

    def chosen(net, stim, single=False):
        return _kernel.stages(_layout.build_layout(check_run(net, stim, 0.05, dt=DT)), single)

    net, stim = _noisy_net()
    assert chosen(net, stim) == (
        _kernel._membrane, _kernel._poisson_in, _kernel._noise_add, _kernel._fire_lif,
        _kernel._fire_escape, _kernel._spikes, _kernel._propagate)
    assert chosen(net, stim, single=True).noise is _kernel._noise_add_single
    det = chosen(_deterministic_net(), _ramp_stimulus(2))
    assert (det.poisson, det.noise) == (_kernel.ABSENT.poisson, _kernel.ABSENT.noise)
    assert det.fire_escape is _kernel._fire_escape
    # two noisy LIF populations, all-to-all: one shared port each, dense projections
    pops = [Population("exc", 40, LIFParams(sigma=4e-3, i_bias=240e-12)),
            Population("inh", 10, LIFParams(sigma=2e-3, i_bias=200e-12))]
    simple = Network(pops, [Projection("exc", "inh", 20e-12, AllToAll(), delay=0.5e-3),
                            Projection("inh", "exc", 10e-12, AllToAll(), sign="inh",
                                       tau_syn=10e-3)],
                     [Probe("exc", "spikes"), Probe("exc", "v", neurons=(0, 9))], name="simple")
    assert chosen(simple, None) == (
        _kernel._membrane_shared, _kernel.ABSENT.poisson, _kernel._noise_add,
        _kernel._fire_lif, _kernel.ABSENT.fire_escape, _kernel._spikes,
        _kernel._propagate_dense)
    cases = [(simple, None, 5), (net, stim, None)]
    # threads=5: five chunks of one trial (the one-trial noise stage); 2: chunks of 3 and 2
    runs = {(n.name, th): simulate(n, s, 0.05, dt=DT, seed=4, trials=t, backend="numba",
                                   threads=th) for n, s, t in cases for th in (2, 5)}
    assert all(r.spikes[0]["exc"][0].size > 20 for r in runs.values())
    general = _kernel.Stages(_kernel._membrane, _kernel._poisson_in, _kernel._noise_add,
                             _kernel._fire_lif, _kernel._fire_escape, _kernel._spikes,
                             _kernel._propagate)
    monkeypatch.setattr(_engine, "stages", lambda layout, single: general)
    for n, s, t in cases:
        for th in (2, 5):
            again = simulate(n, s, 0.05, dt=DT, seed=4, trials=t, backend="numba", threads=th)
            np.testing.assert_array_equal(again.rates, runs[n.name, th].rates)
            np.testing.assert_array_equal(again.v["exc"], runs[n.name, th].v["exc"])
            for s1, s2 in zip(again.spikes, runs[n.name, th].spikes):
                np.testing.assert_array_equal(s1["exc"][1], s2["exc"][1])


_FIRST_RUN = """
import json, subprocess, sys
from neuroattn.backends import simulate
from neuroattn.backends.numba import _kernel
from neuroattn.model import AllToAll, Network, Population, Probe, Projection
from neuroattn.neurons import LIFParams

if sys.argv[1] == "no-helper":
    def refuse(*args, **kwargs):
        raise OSError("no new processes here")
    subprocess.Popen = refuse
net = Network([Population("a", 20, LIFParams(sigma=5e-3, i_bias=230e-12))],
              [Projection("a", "a", 2e-12, AllToAll())], [Probe("a", "spikes")])
rec = simulate(net, duration=0.05, dt=1e-4, seed=1, backend="numba")
stats = {name: (sum(getattr(_kernel, name).stats.cache_hits.values()),
                sum(getattr(_kernel, name).stats.cache_misses.values()))
         for name in ("_noise_add_single", "_propagate_dense", "_membrane_shared")}
idx, times = rec.spikes[0]["a"]
print(json.dumps({"stats": stats, "spikes": [idx.tolist(), times.tolist()]}))
"""


def test_a_first_run_shares_the_compile_with_a_helper_process(tmp_path):
    """From an empty cache, a helper process compiles the noise and propagation stages
    while the run's process compiles ``advance`` and the rest, then loads them from the
    cache; where no process can start, the run compiles them itself. Same spikes."""
    import json
    import os
    import subprocess
    import sys

    out = {}
    for mode in ("helper", "no-helper"):
        env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / mode)}
        run = subprocess.run([sys.executable, "-c", _FIRST_RUN, mode], env=env,
                             capture_output=True, text=True, timeout=600)
        assert run.returncode == 0, run.stderr
        out[mode] = json.loads(run.stdout)
    helper, alone = out["helper"]["stats"], out["no-helper"]["stats"]
    for name in ("_noise_add_single", "_propagate_dense"):
        assert helper[name] == [1, 0]  # loaded what the helper compiled
        assert alone[name] == [0, 1]
    assert helper["_membrane_shared"] == alone["_membrane_shared"] == [0, 1]
    assert len(out["helper"]["spikes"][0]) > 20
    assert out["helper"]["spikes"] == out["no-helper"]["spikes"]


def test_membrane_noise_is_gaussian_with_the_ou_stationary_std():
    """Free membranes (threshold out of reach) started at rest: v ~ N(v_rest, sigma^2)."""
    from scipy import stats

    sigma, n = 2e-3, 2000
    params = LIFParams(sigma=sigma, v_th=1.0, tau_mem=10e-3)
    net = Network([Population("m", n, params)], probes=[Probe("m", "v", neurons=range(n))])
    rec = simulate(net, duration=0.06, dt=DT, seed=2, backend="numba")
    v = rec.v["m"][0, -1] - params.v_rest  # 6 tau_mem in: variance 1 - e^-12 of stationary
    assert abs(v.mean()) < 3 * sigma / math.sqrt(n)
    assert v.std() == pytest.approx(sigma, rel=0.05)  # 5 % >> 1.6 % sampling error
    assert stats.kstest(v / sigma, "norm").pvalue > 1e-3
    later = rec.v["m"][0, -200] - params.v_rest  # 20 ms = 2 tau earlier: corr e^-2
    assert np.corrcoef(v, later)[0, 1] == pytest.approx(math.exp(-2.0), abs=0.06)


@pytest.mark.parametrize("lam", [0.02, 1.5, 37.0])
def test_poisson_input_counts_are_poisson(lam):
    """The kernel's Poisson pass (one piece or several) against the Poisson pmf."""
    from numba import njit
    from scipy import stats

    from neuroattn.backends.numba import _kernel, _rng

    @njit
    def counts(n_draws, lam, keys):
        pd_i, pd_f = np.zeros((1, 2), np.int64), np.array([[lam, 1.0]])  # mean lam per step
        vals, pois = np.ones((1, 1, 1)), np.empty((3, 1))
        words = np.empty(1000, np.uint64)
        cur = np.zeros(1000)
        for step in range(n_draws // 1000):
            _kernel._poisson_in(0, 1, step, 0, 1.0, 0, 1000, pd_i, pd_f, vals, 0, pois, words,
                                keys, cur)
        return cur

    k = counts(200_000, lam, np.array([[12], [34]], dtype=np.uint64))
    # each of the 1000 neurons sums its draws of 200 steps: Poisson(200 lam)
    total = 200 * lam
    assert k.mean() == pytest.approx(total, rel=4 / math.sqrt(total * 1000))
    assert k.var() == pytest.approx(total, rel=0.15)
    edges = np.unique(np.round(np.linspace(stats.poisson.ppf(1e-4, total),
                                           stats.poisson.ppf(1 - 1e-4, total) + 1, 25)))
    hist = np.histogram(k, bins=edges)[0]
    expect = np.diff(stats.poisson.cdf(edges - 1, total)) * k.size
    keep = expect > 5
    chi2 = stats.chisquare(hist[keep], expect[keep] * hist[keep].sum() / expect[keep].sum())
    assert chi2.pvalue > 1e-4


def test_philox_matches_the_random123_known_answers():
    """Philox4x32-10 known-answer vectors of Random123 (Salmon et al. 2011)."""
    from numba import njit

    from neuroattn.backends.numba import _rng

    @njit
    def words(c, k):
        return _rng.philox(c[0], c[1], c[2], c[3], k[0], k[1])

    cases = [((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
             ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2,
              (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
             ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
              (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1))]
    for ctr, key, want in cases:
        a, b = words(np.array(ctr, np.uint64), np.array(key, np.uint64))
        got = (int(a) & 0xFFFFFFFF, int(a) >> 32, int(b) & 0xFFFFFFFF, int(b) >> 32)
        assert got == want


def test_ziggurat_table_holds_the_exact_rectangle_test():
    """Each fast-path entry's bound k is the first 21-bit uniform whose candidate leaves
    the layer's rectangle, computed as ``zig_finish`` computes it; the entry read as a
    float is the signed layer width to 2^-30."""
    from numba import njit

    from neuroattn._bits import bits_to_f64
    from neuroattn.backends.numba import _rng

    zx, table = _rng.ZX, _rng.ZIG_TABLE
    assert table.shape == (2048,) and table.dtype == np.int64
    bound = table & _rng.ZIG_BOUND_BITS
    np.testing.assert_array_equal(bound[:1024], bound[1024:])
    layer = np.arange(1024)
    outside = (lambda u: u.astype(np.float64) * _rng.ZIG_INV_U * zx[layer] >= zx[layer + 1])
    assert outside(bound[:1024]).all() and not outside(bound[:1024] - 1).any()
    assert bound[1023] == 0  # the top layer's rectangle is empty
    # 0.43 % of candidates fall outside (the module docstring)
    assert 1 - bound[:1024].mean() / 2**21 == pytest.approx(0.0043, abs=0.0001)

    @njit
    def widths(t):
        return np.array([bits_to_f64(t[k]) for k in range(t.size)])

    want = np.concatenate([zx[:-1], -zx[:-1]]) * _rng.ZIG_INV_U
    np.testing.assert_allclose(widths(table), want, rtol=2.0**-30, atol=0)


def test_inf_names_the_population_and_the_step():
    """One spike of 'a' at step 0 carries 1e300 A into 'b': v of 'b' overflows at step 1."""
    net = Network([Population("a", 2, LIFParams(), v_init=-49e-3),
                   Population("b", 3, LIFParams())], [Projection("a", "b", 1e300)])
    with pytest.raises(SimulationError, match=r"population 'b': NaN or Inf in the membrane "
                                              r"potential at step 1 "):
        simulate(net, duration=0.01, dt=DT, backend="numba")


def test_options_are_validated():
    net = Network([Population("a", 2, LIFParams())])
    with pytest.raises(ValidationError, match=re.escape(
            "numba backend option threads: expected an integer >= 1 or None (got 0)")):
        simulate(net, duration=0.01, backend="numba", threads=0)
    with pytest.raises(ValidationError, match=re.escape(
            "numba backend option batch_size: expected an integer >= 1 or None (got 2.0)")):
        simulate(net, duration=0.01, backend="numba", batch_size=2.0)
    with pytest.raises(ValidationError, match=re.escape(
            "numba backend: unknown option(s) ['device']; expected 'threads' and/or "
            "'batch_size'")):
        simulate(net, duration=0.01, backend="numba", device="cuda")


def test_progress_bar_shows_steps_and_changes_nothing(capsys):
    net, stim = _noisy_net()
    quiet = simulate(net, stim, dt=DT, seed=4, backend="numba")
    shown = simulate(net, stim, dt=DT, seed=4, backend="numba", progress=True)
    _assert_same(quiet, shown)
    assert "numba" in capsys.readouterr().err
    assert shown.meta["backend"] == "numba" and shown.meta["n_steps"] == 1000
