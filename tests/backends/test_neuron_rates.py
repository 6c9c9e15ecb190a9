"""Single populations against their analytic rates (f-I curves, escape rate, Siegert)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from neuroattn.model import Drive, Network, Population, Probe, Stimulus
from neuroattn.neurons import EscapeParams, LIFParams, escape_rate, lif_rate, lif_rate_noisy

# |zeta(1/2)|: with a step dt, threshold crossings between steps are missed, which acts
# like threshold and reset raised by |zeta(1/2)| sigma sqrt(dt/tau_mem) (Brunel, Chance,
# Fourcaud & Abbott 2001).
_ZETA_HALF = 1.4603545


def _constant_current(currents, duration):
    """A [trials, 1, 1] stimulus: trial k receives currents[k] amperes throughout."""
    vals = np.asarray(currents, dtype=np.float64)[:, None, None]
    return Stimulus(vals, duration, [Drive(0, "a", "current", gain=1.0)])


@pytest.mark.features("lif", "spikes_probe")
def test_lif_f_i_curve_matches_lif_rate_within_2_percent(sim):
    """Issue acceptance: noiseless LIF, dt = 0.05 ms, ISI rate over 1 s within 2 %."""
    p = LIFParams()
    currents = np.array([205e-12, 250e-12, 300e-12, 400e-12, 600e-12, 1000e-12])
    net = Network([Population("a", 1, p)], probes=[Probe("a", "spikes")])
    rec = sim(net, _constant_current(currents, 1.0), dt=5e-5, seed=0)
    measured = []
    for trial in rec.spikes:
        _, times = trial["a"]
        assert times.size >= 10
        measured.append((times.size - 1) / (times[-1] - times[0]))
    expected = lif_rate(currents, p)
    assert expected.min() > 10.0 and expected.max() > 150.0  # spans the range
    np.testing.assert_allclose(measured, expected, rtol=0.02)


@pytest.mark.features("lif")
def test_lif_subthreshold_current_gives_no_spikes(sim):
    net = Network([Population("a", 4, LIFParams())], probes=[Probe("a", "rate", 0.05)])
    rec = sim(net, _constant_current([195e-12], 0.2), dt=1e-4, seed=0)
    assert rec.rates.shape == (1, 4, 1)
    assert np.all(rec.rates == 0.0)


@pytest.mark.features("escape")
@pytest.mark.parametrize("t_ref", [0.0, 2e-3])
def test_escape_rate_at_fixed_potential(sim, t_ref):
    """Escape neurons held at v = 0 (no input, reset=False): count within 4 Poisson sigma."""
    p = EscapeParams(theta=-4e-3, t_ref=t_ref)  # rho = rho0 e^2 ~ 74 Hz
    n, duration, dt = 200, 0.5, 1e-4
    net = Network([Population("a", n, p)], probes=[Probe("a", "rate", duration)])
    rec = sim(net, duration=duration, dt=dt, seed=1)
    count = rec.rates[0, 0, 0] * n * duration
    expected = escape_rate(0.0, p, dt) * n * duration
    # Refractoriness makes the count less variable than Poisson: 4 sigma is conservative.
    assert abs(count - expected) < 4.0 * np.sqrt(expected)
    if t_ref > 0:  # the dead time is visible: 2 ms at ~74 Hz lowers the rate ~13 %
        free = escape_rate(0.0, dataclasses.replace(p, t_ref=0.0), dt) * n * duration
        assert count < free - 4.0 * np.sqrt(free)


@pytest.mark.features("lif", "noise")
def test_noisy_lif_matches_siegert(sim):
    """Noisy LIF vs Siegert with the discrete-time threshold correction.

    Tolerance: 5 % (model error of the dt correction and Brian2's Euler noise) plus 3
    Poisson sigma of the count (200 neurons x 1 s).
    """
    sigma, dt, n = 4e-3, 1e-4, 200
    p = LIFParams(sigma=sigma)
    currents = np.array([180e-12, 220e-12])  # mean input 2 mV below / at threshold
    net = Network([Population("a", n, p)], probes=[Probe("a", "rate", 1.0)])
    rec = sim(net, _constant_current(currents, 1.0), dt=dt, seed=2)
    measured = rec.rates[:, 0, 0]
    shift = _ZETA_HALF * sigma * np.sqrt(dt / p.tau_mem)
    q = dataclasses.replace(p, v_th=p.v_th + shift, v_reset=p.v_reset + shift)
    expected = lif_rate_noisy(currents, q)
    tol = 0.05 * expected + 3.0 * np.sqrt(expected / n)
    assert np.all(np.abs(measured - expected) < tol), (measured, expected, tol)
    # The noise matters: the noiseless neuron at 180 pA is silent.
    assert lif_rate(currents[0], p) == 0.0 and measured[0] > 5.0


@pytest.mark.features("lif", "spikes_probe")
def test_refractoriness_caps_rate_at_one_over_t_ref(sim):
    """Under a huge current the neuron fires once every round(t_ref/dt) steps."""
    dt, t_ref = 1e-4, 5e-3
    p = LIFParams(t_ref=t_ref)
    net = Network([Population("a", 3, p)], probes=[Probe("a", "spikes"),
                                                    Probe("a", "rate", 0.1)])
    rec = sim(net, _constant_current([1e-6], 0.1), dt=dt, seed=0)
    _, times = rec.spikes[0]["a"]
    isi = np.diff(np.unique(times))
    np.testing.assert_allclose(isi, t_ref, rtol=1e-9)
    assert rec.rates[0, 0, 0] == pytest.approx(1.0 / t_ref, rel=1e-9)
