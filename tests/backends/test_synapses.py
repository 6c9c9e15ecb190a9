"""Exponential current synapses: one spike -> the analytic PSP; delays shift it."""

from __future__ import annotations

import numpy as np
import pytest

from neuroattn.model import Drive, Network, Population, Probe, Projection, Stimulus
from neuroattn.neurons import EscapeParams, LIFParams
from neuroattn.neurons._membrane import synaptic_kernel

DT = 1e-4
W = 100e-12  # 100 pA x 100 MOhm = 10 mV of drive


def _psp(tau_syn, tau_mem, t):
    """Analytic PSP per unit of r_m * w at times ``t`` (s) after the current jump."""
    t = np.asarray(t, dtype=np.float64)
    if abs(tau_syn - tau_mem) < 1e-12:
        k = t / tau_mem * np.exp(-t / tau_mem)
    else:
        k = tau_syn / (tau_syn - tau_mem) * (np.exp(-t / tau_syn) - np.exp(-t / tau_mem))
    return np.where(t > 0, k, 0.0)


def _one_spike_net(target_params, *, tau_syn, delay=0.0, sign="exc"):
    """'src' fires exactly once, at step 0 (a 1 uA pulse for one step); 'tgt' listens."""
    net = Network([Population("src", 1, LIFParams()), Population("tgt", 2, target_params)],
                  [Projection("src", "tgt", W, tau_syn=tau_syn, delay=delay, sign=sign)],
                  probes=[Probe("tgt", "v", neurons=(0, 1)), Probe("src", "spikes")])
    stim = Stimulus(np.ones((1, 1)), DT, [Drive(0, "src", "current", gain=1e-6)])
    return net, stim


@pytest.mark.features("lif", "v_probe", "spikes_probe")
@pytest.mark.parametrize("tau_syn", [5e-3, 20e-3])  # 20 ms == tau_mem: degenerate kernel
def test_single_spike_psp_matches_exact_kernel(sim, tau_syn):
    p = LIFParams(v_th=1.0)  # never fires
    net, stim = _one_spike_net(p, tau_syn=tau_syn)
    rec = sim(net, stim, duration=0.05, dt=DT, seed=0)
    idx, times = rec.spikes[0]["src"]
    np.testing.assert_array_equal(idx, [0])
    np.testing.assert_array_equal(times, [0.0])
    v = rec.v["tgt"]
    assert v.shape == (1, 500, 2)
    # The spike at step 0 reaches the current at the end of step 0, so the membrane
    # first moves during step 1: v at the start of step n is the PSP at (n - 1) dt.
    n = np.arange(500)
    expected = p.v_rest + p.r_m * W * _psp(tau_syn, p.tau_mem, (n - 1) * DT)
    peak = np.max(expected - p.v_rest)
    assert peak > 1.5e-3
    np.testing.assert_allclose(v[0, :, 0], expected, rtol=0, atol=1e-6 * peak)
    np.testing.assert_array_equal(v[0, :, 0], v[0, :, 1])
    # One exact step of the kernel (what lif_step integrates) at n = 2.
    assert v[0, 2, 0] - p.v_rest == pytest.approx(
        p.r_m * W * synaptic_kernel(tau_syn, p.tau_mem, DT), rel=1e-6)


@pytest.mark.features("lif", "v_probe", "delay")
@pytest.mark.parametrize("delay", [1e-3, 2.5e-3])
def test_delay_shifts_psp_by_whole_steps(sim, delay):
    p = LIFParams(v_th=1.0)
    net0, stim = _one_spike_net(p, tau_syn=5e-3)
    netd, _ = _one_spike_net(p, tau_syn=5e-3, delay=delay)
    v0 = sim(net0, stim, duration=0.03, dt=DT, seed=0).v["tgt"][0, :, 0]
    vd = sim(netd, stim, duration=0.03, dt=DT, seed=0).v["tgt"][0, :, 0]
    d = round(delay / DT)
    np.testing.assert_allclose(vd[d:], v0[:-d], rtol=0, atol=1e-12)
    np.testing.assert_array_equal(vd[:d + 2], p.v_rest)
    assert vd[d + 2] > p.v_rest


@pytest.mark.features("escape", "v_probe")
def test_inhibitory_psp_on_escape_neuron_is_negative_mirror(sim):
    p = EscapeParams(rho0=1e-9)  # practically never fires; membrane as LIF
    net_e, stim = _one_spike_net(p, tau_syn=5e-3)
    net_i, _ = _one_spike_net(p, tau_syn=5e-3, sign="inh")
    ve = sim(net_e, stim, duration=0.02, dt=DT, seed=0).v["tgt"][0, :, 0]
    vi = sim(net_i, stim, duration=0.02, dt=DT, seed=0).v["tgt"][0, :, 0]
    assert ve.max() > 1e-3
    np.testing.assert_allclose(vi - p.v_rest, -(ve - p.v_rest), rtol=0, atol=1e-12)
    n = np.arange(ve.size)
    expected = p.r_m * W * _psp(5e-3, p.tau_mem, (n - 1) * DT)
    np.testing.assert_allclose(ve - p.v_rest, expected, rtol=0, atol=1e-9)
