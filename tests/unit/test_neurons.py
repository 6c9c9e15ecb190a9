"""The numpy neuron steps (the specification) against their analytic oracles."""

from __future__ import annotations

import dataclasses
import math
import re

import numpy as np
import pytest

from neuroattn.exceptions import ValidationError
from neuroattn.neurons import (
    EscapeParams,
    LIFParams,
    escape_init,
    escape_rate,
    escape_step,
    lif_init,
    lif_rate,
    lif_rate_noisy,
    lif_step,
)
from neuroattn.neurons._membrane import (
    integrate_membrane,
    ou_noise_scale,
    refractory_steps,
    synaptic_kernel,
)


def _isi_rates(params, currents, dt, duration):
    """Simulate lif_step (no synapses) and return 1 / mean ISI per neuron."""
    state = lif_init(len(currents), params)
    first = np.full(len(currents), np.nan)
    last = np.full(len(currents), np.nan)
    count = np.zeros(len(currents))
    for n in range(int(round(duration / dt))):
        spikes, state = lif_step(currents, np.zeros((0, len(currents))), (), state, params, dt)
        t = n * dt
        first = np.where(spikes & np.isnan(first), t, first)
        last = np.where(spikes, t, last)
        count += spikes
    return (count - 1) / (last - first)


def test_lif_step_rate_matches_lif_rate_within_1_percent():
    p = LIFParams()
    currents = np.array([210e-12, 300e-12, 500e-12, 1000e-12])
    measured = _isi_rates(p, currents, dt=2e-5, duration=0.6)
    expected = lif_rate(currents, p)
    assert expected.max() > 150.0
    np.testing.assert_allclose(measured, expected, rtol=0.01)


def test_lif_rate_is_zero_at_and_below_rheobase():
    p = LIFParams()
    assert lif_rate(200e-12, p) == 0.0 and lif_rate(-1e-9, p) == 0.0
    assert lif_rate(np.array([100e-12, 300e-12]), p)[0] == 0.0
    assert lif_rate(300e-12, p) == pytest.approx(1 / (2e-3 + 20e-3 * math.log(3)))


@pytest.mark.parametrize("tau_syn", [5e-3, 20e-3, 40e-3])  # 20 ms: degenerate kernel
def test_exact_integration_matches_fine_euler(tau_syn):
    """One step of integrate_membrane vs 20000 Euler sub-steps of the same ODE system."""
    tau_mem, v_rest, r_m, dt = 20e-3, -70e-3, 1e8, 1e-3
    v0, i_ext, i0 = -60e-3, 150e-12, 400e-12
    exact = integrate_membrane(np.array([v0]), i_ext, np.array([[i0]]), [tau_syn],
                               tau_mem=tau_mem, v_rest=v_rest, r_m=r_m, dt=dt)[0]
    v, i, h = v0, i0, dt / 20000
    for _ in range(20000):
        v, i = v + h * (v_rest - v + r_m * (i_ext + i)) / tau_mem, i - h * i / tau_syn
    assert exact == pytest.approx(v, abs=1e-7)  # Euler error here is ~1e-8 V
    assert abs(exact - v0) > 1e-3


def test_synaptic_kernel_is_continuous_at_tau_mem():
    k = synaptic_kernel(20e-3, 20e-3, 1e-4)
    assert k == pytest.approx(synaptic_kernel(20e-3 * (1 + 1e-7), 20e-3, 1e-4), rel=1e-6)
    assert k == pytest.approx(1e-4 / 20e-3 * math.exp(-1e-4 / 20e-3))


def test_lif_noise_gives_stationary_std_sigma():
    """With no threshold in reach the free membrane is an OU process of std sigma."""
    p = LIFParams(sigma=2e-3, v_th=1.0)
    rng = np.random.default_rng(0)
    dt, n = 1e-4, 4000
    state = lif_init(n, p)
    for _ in range(1000):  # 5 tau_mem
        _, state = lif_step(0.0, np.zeros((0, n)), (), state, p, dt, noise=rng.standard_normal(n))
    assert np.std(state.v) == pytest.approx(2e-3, rel=0.05)  # sd of the sd: ~1.1 %
    assert np.mean(state.v) == pytest.approx(p.v_rest, abs=1e-4)
    assert ou_noise_scale(2e-3, 20e-3, dt) == pytest.approx(2e-3 * math.sqrt(1 - math.exp(-0.01)))


def test_lif_step_refractory_countdown():
    """After a spike at step 0 the neuron is held for round(t_ref/dt) - 1 steps."""
    p = LIFParams(t_ref=0.5e-3)
    dt = 1e-4
    assert refractory_steps(p.t_ref, dt) == 5
    state = lif_init(1, p)
    spikes_at, vs = [], []
    for n in range(12):
        s, state = lif_step(1e-6, np.zeros((0, 1)), (), state, p, dt)
        vs.append(state.v[0])
        if s[0]:
            spikes_at.append(n)
    assert spikes_at == [0, 5, 10]
    assert all(v == p.v_reset for v in vs[:5])


def test_lif_step_needs_noise_when_sigma_positive():
    p = LIFParams(sigma=1e-3)
    with pytest.raises(ValidationError, match=re.escape(
            "lif_step.noise: required when sigma > 0 (got None)")):
        lif_step(0.0, np.zeros((0, 2)), (), lif_init(2, p), p, 1e-4)


@pytest.mark.parametrize("t_ref, reset", [(0.0, False), (3e-3, True)])
def test_escape_step_rate_matches_escape_rate(t_ref, reset):
    p = EscapeParams(theta=-3e-3, t_ref=t_ref, reset=reset)  # rho(0) = 10 e^1.5 ~ 44.8 Hz
    dt, n, steps = 1e-4, 2000, 2000
    rng = np.random.default_rng(1)
    state = escape_init(n, p)
    count = 0
    for _ in range(steps):
        spikes, state = escape_step(0.0, np.zeros((0, n)), (), state, p, dt,
                                    uniform=rng.random(n))
        count += int(spikes.sum())
    expected = escape_rate(0.0, p, dt) * n * steps * dt
    assert abs(count - expected) < 4 * math.sqrt(expected)  # Poisson bound (conservative)
    if t_ref:
        assert expected < 0.9 * escape_rate(0.0, dataclasses.replace(p, t_ref=0.0), dt) \
            * n * steps * dt


def test_escape_rate_limits():
    p = EscapeParams(rho0=10.0, delta_u=2e-3, t_ref=2e-3)
    # Continuous time: 1 / (t_ref + 1/rho); discrete tends to it as dt -> 0.
    assert escape_rate(0.0, p) == pytest.approx(1 / (2e-3 + 0.1))
    assert escape_rate(0.0, p, 1e-6) == pytest.approx(escape_rate(0.0, p), rel=1e-4)
    # Very strong drive: one spike per round(t_ref/dt) steps.
    assert escape_rate(1.0, p, 1e-4) == pytest.approx(1 / 2e-3)
    with pytest.raises(ValidationError, match=re.escape("escape_step.uniform: required")):
        escape_step(0.0, np.zeros((0, 1)), (), escape_init(1, p), p, 1e-4)


def test_siegert_tends_to_lif_rate_as_sigma_vanishes():
    currents = np.array([220e-12, 300e-12, 600e-12])
    base = LIFParams()
    for sigma, rtol in [(1e-4, 2e-2), (1e-5, 2e-3)]:
        noisy = lif_rate_noisy(currents, dataclasses.replace(base, sigma=sigma), n_points=20000)
        np.testing.assert_allclose(noisy, lif_rate(currents, base), rtol=rtol)
    # Noise makes a subthreshold neuron fire, and more noise more so.
    r1 = lif_rate_noisy(180e-12, dataclasses.replace(base, sigma=2e-3))
    r2 = lif_rate_noisy(180e-12, dataclasses.replace(base, sigma=4e-3))
    assert 0.0 < r1 < r2
    assert lif_rate_noisy(300e-12, base) == lif_rate(300e-12, base)  # sigma = 0
