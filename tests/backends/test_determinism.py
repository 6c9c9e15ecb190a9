"""Same seed, same result; another seed, another result; initial v from trial_rng."""

from __future__ import annotations

import numpy as np
import pytest

from neuroattn.backends import trial_rng
from neuroattn.model import (
    Drive,
    FixedProbability,
    Network,
    Population,
    Probe,
    Projection,
    Stimulus,
)
from neuroattn.neurons import EscapeParams, LIFParams


def _noisy_net():
    """Noisy LIF + escape neurons, recurrent projections, a poisson and a current drive."""
    pops = [Population("exc", 20, LIFParams(sigma=3e-3), v_init=(-70e-3, -55e-3)),
            Population("soft", 10, EscapeParams(rho0=20.0, t_ref=2e-3, reset=True))]
    projs = [Projection("exc", "soft", 50e-12, rule=FixedProbability(0.3, seed=1)),
             Projection("soft", "exc", 30e-12, sign="inh", tau_syn=10e-3, delay=1e-3)]
    probes = [Probe("exc", "rate", 0.01), Probe("soft", "rate", 0.01), Probe("exc", "spikes"),
              Probe("soft", "spikes"), Probe("exc", "v", neurons=(0, 5))]
    net = Network(pops, projs, probes, name="noisy")
    stim = Stimulus(np.ones((5, 2)), 0.01, [Drive(0, "exc", "current", gain=210e-12),
                                            Drive(1, "soft", "poisson", gain=300.0,
                                                  weight=40e-12)])
    return net, stim


def _same(r1, r2) -> bool:
    if not np.array_equal(r1.rates, r2.rates):
        return False
    for s1, s2 in zip(r1.spikes, r2.spikes):
        for pop in s1:
            if not (np.array_equal(s1[pop][0], s2[pop][0])
                    and np.array_equal(s1[pop][1], s2[pop][1])):
                return False
    return np.array_equal(r1.v["exc"], r2.v["exc"])


@pytest.mark.features("lif", "escape", "noise", "poisson", "delay", "spikes_probe", "v_probe")
def test_same_seed_identical_other_seed_different(sim):
    net, stim = _noisy_net()
    r1 = sim(net, stim, dt=1e-4, seed=7, trials=2)
    r2 = sim(net, stim, dt=1e-4, seed=7, trials=2)
    r3 = sim(net, stim, dt=1e-4, seed=8, trials=2)
    assert r1.rates.sum() > 0 and r1.spikes[0]["soft"][0].size > 0
    assert _same(r1, r2)
    assert not _same(r1, r3)
    assert not np.array_equal(r1.rates[0], r1.rates[1])  # trials are independent draws


@pytest.mark.features("lif", "escape", "v_probe")
def test_initial_potentials_come_from_trial_rng(sim):
    """v at step 0 of trial t: first draws of trial_rng(seed, t), in population order."""
    net, stim = _noisy_net()
    rec = sim(net, stim, duration=0.002, dt=1e-4, seed=11, trials=3)
    for t in range(3):
        rng = trial_rng(11, t)
        v_exc = net.population("exc").initial_v(rng)
        np.testing.assert_array_equal(rec.v["exc"][t, 0], v_exc[[0, 5]])


@pytest.mark.features("lif", "escape", "noise", "poisson", "batch_invariance")
def test_trial_result_does_not_depend_on_batch_size(sim):
    net, stim = _noisy_net()
    r4 = sim(net, stim, dt=1e-4, seed=5, trials=4)
    r2 = sim(net, stim, dt=1e-4, seed=5, trials=2)
    np.testing.assert_array_equal(r4.rates[:2], r2.rates)
    np.testing.assert_array_equal(r4.v["exc"][:2], r2.v["exc"])
