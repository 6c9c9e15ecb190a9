"""Conductance synapses (AMPA, NMDA with saturating gating and Mg block, GABA_A): the one
neuron/synapse description, its numpy specification, and the backends that lower it."""

from __future__ import annotations

import numpy as np
import pytest

from neuroattn.backends import simulate
from neuroattn.exceptions import BackendUnavailable, ValidationError
from neuroattn.model import (AllToAll, Drive, Explicit, Network, Population, Probe, Projection,
                             Stimulus)
from neuroattn.model.library import wang2002, wang2002_drives
from neuroattn.neurons import LIFParams
from neuroattn.neurons.conductance import (ConductanceLIFParams, Receptor, ampa,
                                           conductance_init, conductance_step, describe,
                                           gaba_a, mg_block, nmda, nmda_gating_mean)


def _recurrent_net(n=6, delta_g_adapt=0.3e-9):
    par = ConductanceLIFParams(receptors=(ampa(), nmda(), gaba_a()), delta_g_adapt=delta_g_adapt)
    pop = Population("a", n, par, v_init=(-60e-3, -51e-3))
    projs = [Projection("a", "a", 0.8e-9, AllToAll(), receptor="ampa"),
             Projection("a", "a", 0.6e-9, AllToAll(), receptor="nmda"),
             Projection("a", "a", 0.3e-9, AllToAll(), receptor="gaba")]
    return Network([pop], projs, [Probe("a", "rate", 1e-3), Probe("a", "v", 1e-3,
                                                                   tuple(range(n)))])


def test_numba_performs_the_numpy_specification_step_by_step():
    """A recurrent population with AMPA, NMDA (Mg block), GABA_A and adaptation under a
    current step: the engine's potentials equal the loop of ``conductance_step``."""
    net = _recurrent_net()
    dt, steps = 1e-4, 3000
    stim = Stimulus(np.full((steps // 10, 1), 1.0), 1e-3, [Drive(0, "a", gain=0.7e-9)])
    rec = simulate(net, stim, dt=dt, seed=5, backend="numba")
    par = net.populations[0].params
    from neuroattn.backends import trial_rng

    v0 = net.populations[0].initial_v(trial_rng(5, 0))
    kin = [par.receptor("nmda").kinetics]
    names = [f.name for f in describe(par, kin)[1:]]
    st = conductance_init(6, par, len(names), v0)
    vs, n_spk = [], 0
    for _ in range(steps):
        vs.append(st.v.copy())
        s_sum = st.extra[names.index("s0")].sum()
        spikes, st = conductance_step(st, par, dt, {"nmda": 0.6e-9 * s_sum}, 0.7e-9, kin)
        k = int(spikes.sum())
        n_spk += k
        st.extra[names.index("g_ampa")] += 0.8e-9 * k
        st.extra[names.index("g_gaba")] += 0.3e-9 * k
    assert n_spk > 20  # the population fires, so spikes, gating and adaptation are exercised
    np.testing.assert_allclose(rec.v["a"][0], np.array(vs), rtol=0, atol=1e-9)


def test_mg_block_is_the_jahr_stevens_curve():
    # Wang 2002: 1 / (1 + [Mg] exp(-0.062 V/mV) / 3.57); at -70 mV about 0.04, at 0 mV 0.78
    assert mg_block(-70e-3, 1.0) == pytest.approx(1 / (1 + np.exp(0.062 * 70) / 3.57))
    assert mg_block(0.0, 1.0) == pytest.approx(3.57 / 4.57)
    assert mg_block(-70e-3, 1.0) < 0.05 < mg_block(-20e-3, 1.0)


@pytest.mark.parametrize("backend", ["numba", "brian2"])
def test_nmda_gating_reaches_its_steady_state_under_poisson_input(backend):
    """Each neuron's NMDA gating driven by Poisson spikes of rate nu settles at
    <s> = a / (1 + a), a = alpha tau_decay nu tau_rise (mean field; alpha tau_rise = 0.01
    keeps the neglected covariance below 1 %). Read through a passive membrane:
    g_l (e_l - v) = w s v  ->  s = g_l (e_l - v) / (w v)."""
    rec_n = Receptor("nmda", 0.0, 100e-3, 2e-3, alpha=5.0, mg=0.0)
    par = ConductanceLIFParams(v_th=1.0, receptors=(rec_n,))
    n, w, nu = 40, 25e-9, 1000.0
    net = Network([Population("p", n, par)], [], [Probe("p", "rate", 1e-3),
                                                   Probe("p", "v", 1e-3, tuple(range(n)))])
    stim = Stimulus(np.ones((1500, 1)), 1e-3, [Drive(0, "p", "poisson", gain=nu, weight=w,
                                                     receptor="nmda")])
    rec = simulate(net, stim, dt=1e-4, seed=2, backend=backend)
    v = rec.v["p"][0, 8000:].mean(axis=0)  # after 0.8 s (tau_decay 100 ms, tau_m 20 ms)
    s = par.g_l * (par.e_l - v) / (w * v)
    expected = nmda_gating_mean(nu, rec_n)
    assert expected == pytest.approx(0.5)
    assert s.mean() == pytest.approx(expected, rel=0.03)
    # and the gating is nonlinear: the same input at a quarter of the rate gives more
    # than a quarter of the gating (saturation), as the formula says
    assert nmda_gating_mean(nu / 4, rec_n) / expected == pytest.approx(0.4, rel=1e-9)


def test_brian2_and_numba_agree_on_the_wang_network():
    """The Wang (2002) network (scaled to 240 neurons) in its spontaneous state and under
    a coherent stimulus: population rates of the two engines agree within their CIs."""
    net = wang2002(240)
    steps = 800
    vals = np.zeros((4, steps, 3))
    vals[:, :, 0] = 1.0
    vals[:, 300:, 1], vals[:, 300:, 2] = 60.0, 20.0
    stim = Stimulus(vals, 1e-3, wang2002_drives())
    out = {}
    for backend in ("numba", "brian2"):
        rec = simulate(net, stim, dt=1e-4, seed=3, backend=backend)
        spont = rec.rates[:, 20:60].mean(axis=1)     # 0.1-0.3 s: background only
        driven = rec.rates[:, 100:].mean(axis=1)     # 0.5-0.8 s: stimulus on
        out[backend] = (spont, driven)
    for k in range(2):
        a, b = out["numba"][k], out["brian2"][k]
        diff = a.mean(axis=0) - b.mean(axis=0)
        se = np.sqrt(a.var(axis=0, ddof=1) / len(a) + b.var(axis=0, ddof=1) / len(b))
        assert np.all(np.abs(diff) <= 3 * se + 0.15 * np.maximum(a.mean(0), b.mean(0)) + 0.5), \
            (k, a.mean(0), b.mean(0))
    # spontaneous state as published: pyramidal cells ~2 Hz, interneurons several Hz
    spont = out["numba"][0].mean(axis=0)
    assert 0.5 < spont[0] < 6 and 0.5 < spont[2] < 6 and spont[3] > spont[2]
    # the stimulus raises pool A above B
    assert out["numba"][1][:, 0].mean() > out["numba"][1][:, 1].mean()


def test_torch_refuses_conductance_networks_naming_the_feature():
    pytest.importorskip("torch")
    net = _recurrent_net()
    with pytest.raises(BackendUnavailable, match="conductance"):
        simulate(net, duration=0.01, backend="torch")


def test_conductance_descriptions_are_validated():
    par = ConductanceLIFParams()
    pop = Population("c", 5, par)
    lif = Population("l", 5, LIFParams())
    with pytest.raises(ValidationError, match=r"receptor.*conductance-based"):
        Network([pop], [Projection("c", "c", 1e-9)])
    with pytest.raises(ValidationError, match="no receptor 'kainate'"):
        Network([pop], [Projection("c", "c", 1e-9, receptor="kainate")])
    with pytest.raises(ValidationError, match="only a conductance-based target"):
        Network([pop, lif], [Projection("c", "l", 1e-9, receptor="ampa")])
    with pytest.raises(ValidationError, match="delay"):
        Network([pop], [Projection("c", "c", 1e-9, receptor="ampa", delay=1e-3)])
    with pytest.raises(ValidationError, match="two projections"):
        Network([pop], [Projection("c", "c", 1e-9, receptor="ampa"),
                        Projection("c", "c", 2e-9, receptor="ampa")])
    with pytest.raises(ValidationError, match="alpha"):
        Population("x", 2, ConductanceLIFParams(receptors=(Receptor("n", 0, 0.1, 2e-3),))
                   ).validate()
    with pytest.raises(ValidationError, match="weight"):
        Projection("c", "c", -1e-9, receptor="ampa").validate(5, 5)
    net = Network([pop], [Projection("c", "c", 1e-9, receptor="ampa")])
    stim = Stimulus(np.ones((10, 1)), 1e-3, [Drive(0, "c", "poisson", gain=10.0, weight=1e-9)])
    with pytest.raises(ValidationError, match="receptors"):
        simulate(net, stim, backend="numba")
    # AMPA and NMDA components of one pathway may share the pair
    both = Network([pop], [Projection("c", "c", 1e-9, receptor="ampa"),
                           Projection("c", "c", 1e-9, receptor="nmda")])
    assert len(both.graph.edges["c", "c"]["projections"]) == 2


def test_numba_conductance_trials_do_not_depend_on_threads():
    net = wang2002(120)
    stim = Stimulus(np.ones((200, 3)) * [1.0, 40.0, 40.0], 1e-3, wang2002_drives())
    a = simulate(net, stim, dt=1e-4, seed=9, trials=3, backend="numba", threads=1)
    b = simulate(net, stim, dt=1e-4, seed=9, trials=3, backend="numba", threads=2)
    np.testing.assert_array_equal(a.rates, b.rates)
    assert a.rates.sum() > 0


def test_numba_lowers_all_to_all_without_autapses_as_population_sums():
    """An all-to-all projection of a population onto itself without autapses is lowered
    as the population's sum minus each neuron's own term; its potentials equal those of
    the same connections listed pair by pair (CSR rows)."""
    n = 8
    par = ConductanceLIFParams(receptors=(ampa(), nmda(), gaba_a()))
    pairs = [(i, j) for i in range(n) for j in range(n) if i != j]
    pre, post = tuple(p for p, _ in pairs), tuple(q for _, q in pairs)

    def net(rule):
        pop = Population("a", n, par, v_init=(-60e-3, -51e-3))
        projs = [Projection("a", "a", 0.9e-9, rule, receptor="ampa"),
                 Projection("a", "a", 0.7e-9, rule, receptor="nmda"),
                 Projection("a", "a", 0.3e-9, rule, receptor="gaba")]
        return Network([pop], projs, [Probe("a", "rate", 1e-3),
                                      Probe("a", "v", 1e-3, tuple(range(n)))])

    stim = Stimulus(np.full((300, 1), 1.0), 1e-3, [Drive(0, "a", gain=0.6e-9)])
    dense = simulate(net(AllToAll(autapses=False)), stim, dt=1e-4, seed=4, backend="numba")
    listed = simulate(net(Explicit(pre, post)), stim, dt=1e-4, seed=4, backend="numba")
    assert dense.rates.sum() > 50   # the population fires: every path is exercised
    np.testing.assert_allclose(dense.v["a"], listed.v["a"], rtol=0, atol=1e-9)


def test_numba_stop_rule_is_validated_and_ends_trials():
    from neuroattn.backends import check_run
    from neuroattn.backends.numba._conductance import StopRule, run_conductance

    net = wang2002(120)
    stim = Stimulus(np.ones((300, 3)) * [1.0, 40.0, 40.0], 1e-3, wang2002_drives())
    spec = check_run(net, stim, dt=1e-4, seed=2)
    for rule, match in ((StopRule(("X",), 15.0, 10, 0), "StopRule.populations"),
                        (StopRule(("A",), -1.0, 10, 0), "StopRule.threshold"),
                        (StopRule(("A",), 15.0, 0, 0), "StopRule.window"),
                        (StopRule(("A",), 15.0, 10, -2), "StopRule.onset")):
        with pytest.raises(ValidationError, match=match):
            run_conductance(spec, 1, stop=rule)
    # a bound the interneurons pass at once (spontaneous ~8 Hz) ends the trial at bin 2
    rec = run_conductance(spec, 1, stop=StopRule(("I",), 1.0, 1, 1, margin=1))
    assert rec.meta["stop"]["bins"] == [3]
    assert np.all(np.isfinite(rec.rates[0, :3])) and np.all(np.isnan(rec.rates[0, 3:]))
