"""Stimulus drives reach the right population, the right trial, at the right time."""

from __future__ import annotations

import numpy as np
import pytest

from neuroattn.model import Drive, Network, Population, Probe, Stimulus
from neuroattn.neurons import LIFParams


@pytest.mark.features("lif", "poisson")
def test_current_and_poisson_drives_reach_only_their_population(sim):
    """Channel 0 (current) -> 'a', channel 1 (poisson) -> 'b'; 'c' gets nothing.

    The stimulus lasts 0.1 s of a 0.2 s run: after it ends the channels are 0.
    Trial 1 has channel 0 switched off: only trial 0's 'a' fires.
    """
    p = LIFParams()
    net = Network([Population(n, 20, p) for n in "abc"],
                  probes=[Probe(n, "rate", 0.05) for n in "abc"])
    vals = np.zeros((2, 10, 2))
    vals[0, :, 0] = 1.0
    vals[:, :, 1] = 1.0
    stim = Stimulus(vals, 0.01, [Drive(0, "a", "current", gain=400e-12),
                                 Drive(1, "b", "poisson", gain=2000.0, weight=100e-12,
                                       tau_syn=5e-3)])
    rec = sim(net, stim, duration=0.2, dt=1e-4, seed=0)
    assert rec.units == ("a", "b", "c")
    assert rec.rates.shape == (2, 4, 3)
    a, b, c = (rec.unit(n) for n in "abc")
    assert np.all(a[0, :2] > 30.0)           # 400 pA: about 60 Hz
    assert np.all(a[1] == 0.0)               # channel 0 off in trial 1
    assert np.all(b[:, :2] > 30.0)           # 2 kHz x 100 pA x 5 ms = 1 nA mean input
    assert np.all(c == 0.0)
    assert np.all(rec.rates[:, 3] == 0.0)    # 50 ms after the stimulus ended


@pytest.mark.features("lif", "poisson", "v_probe")
def test_poisson_drive_mean_current_is_rate_times_weight_times_tau(sim):
    """Campbell's theorem: mean v - v_rest = r_m * rate * weight * tau_syn (10 mV here).

    Tolerance 5 %: the standard error of the mean over 20 neurons x 0.3 s is ~1.2 %.
    """
    p = LIFParams(v_th=1.0)  # never fires
    rate, w, tau = 1000.0, 20e-12, 5e-3
    net = Network([Population("a", 20, p)], probes=[Probe("a", "v", neurons=tuple(range(20)))])
    stim = Stimulus(np.ones((1, 1)), 0.4, [Drive(0, "a", "poisson", gain=rate, weight=w,
                                                  tau_syn=tau)])
    rec = sim(net, stim, dt=1e-4, seed=3)
    v = rec.v["a"][0, 1000:]  # after 5 tau_mem of transient
    expected = p.r_m * rate * w * tau
    assert np.mean(v - p.v_rest) == pytest.approx(expected, rel=0.05)
    assert np.std(v) > 0.5e-3  # it is a noisy input, not a constant current


@pytest.mark.features("lif", "v_probe")
def test_current_drive_follows_stimulus_rows_and_gains(sim):
    """Two drives onto one population add; each row holds for stimulus.dt (2 steps)."""
    p = LIFParams(v_th=1.0)
    dt = 1e-4
    vals = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    stim = Stimulus(vals, 2 * dt, [Drive(0, "a", "current", gain=100e-12),
                                   Drive(1, "a", "current", gain=-50e-12)])
    net = Network([Population("a", 1, p)], probes=[Probe("a", "v")])
    v = sim(net, stim, duration=10 * dt, dt=dt, seed=0).v["a"][0, :, 0]
    em = np.exp(-dt / p.tau_mem)
    i_ext = np.array([100, 100, -50, -50, 50, 50, 0, 0, 0, 0]) * 1e-12
    expected = [p.v_rest]
    for i in i_ext[:-1]:
        v_inf = p.v_rest + p.r_m * i
        expected.append(v_inf + (expected[-1] - v_inf) * em)
    np.testing.assert_allclose(v, expected, rtol=0, atol=1e-12)
