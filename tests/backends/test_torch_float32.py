"""The torch engine in its default float32 dtype: synaptic kernels with tau_syn = tau_mem.

Regression: the per-port kernel K(tau_syn, tau_mem) was computed from the port time
constants after their cast to float32. A float32 tau_syn of 5 ms differs from the float64
tau_mem of 5 ms by ~1e-10 s, so ``synaptic_kernel`` missed its equal-tau branch, and with
-dt/tau evaluated in float32 its difference formula gave K = -0.0196 instead of +0.0196:
an inhibitory projection onto neurons whose tau_mem equals its tau_syn acted as an
excitatory one. In the escape/LIF loop below (the precision mechanism's EP0/R0 pair) the
escape potentials rose above v_inf and the population ran away to ~7600 Hz (numba: ~75 Hz).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neuroattn.backends import simulate
from neuroattn.backends.torch import SpikingNetworkModule
from neuroattn.model import Drive, Network, Population, Probe, Projection, Stimulus
from neuroattn.neurons import EscapeParams, LIFParams

pytestmark = pytest.mark.usefixtures("torch_one_thread")

DT = 1e-4
V_INF = 8e-3  # EP's fixed point under the drives: r_m (20 + 60 pA) = 100 MOhm * 80 pA


def _loop():
    """Escape EP (tau_mem 5 ms) -> LIF R (exc, 60 ms) -> EP (inh, tau_syn 5 ms = EP's tau_mem)."""
    ep = EscapeParams(tau_mem=5e-3, v_rest=0.0, v_reset=0.0, r_m=100e6, theta=0.0,
                      delta_u=2e-3, rho0=4.0, t_ref=0.0, reset=False)
    r = LIFParams(tau_mem=20e-3, v_rest=-70e-3, v_reset=-60e-3, v_th=-50e-3, r_m=100e6,
                  t_ref=2e-3, sigma=3e-3, i_bias=140e-12)
    pops = [Population("EP", 40, ep), Population("R", 40, r, v_init=(-60e-3, -50e-3))]
    projs = [Projection("EP", "R", weight=1e-12, tau_syn=60e-3, sign="exc"),
             Projection("R", "EP", weight=2e-12, tau_syn=5e-3, sign="inh")]
    probes = (Probe("EP", "rate"), Probe("R", "rate"), Probe("EP", "v", neurons=tuple(range(40))))
    drives = (Drive(0, "EP", "current", gain=20e-12), Drive(1, "EP", "current", gain=60e-12))
    return Network(pops, projs, probes), drives


def test_float32_kernel_of_equal_taus_matches_float64():
    """rk (= r_m K) of every port and neuron agrees between float32 and float64."""
    net, drives = _loop()
    rk = {}
    for dtype in (torch.float32, torch.float64):
        m = SpikingNetworkModule(net, drives, DT, dtype=dtype, trainable=())
        rk[dtype] = m.coefficients().rk.double()
    assert bool((rk[torch.float64] > 0).all())
    np.testing.assert_allclose(rk[torch.float32].numpy(), rk[torch.float64].numpy(), rtol=1e-6)


def test_float32_escape_loop_stays_below_v_inf_and_matches_numba():
    """Only inhibition reaches EP, so its v (from 0) never exceeds v_inf; rates as numba's."""
    net, drives = _loop()
    stim = Stimulus(np.ones((2, 200, 2)), 1e-3, drives)  # 2 trials, 0.2 s
    torch32 = simulate(net, stim, dt=DT, seed=0, backend="torch")
    assert float(torch32.v["EP"].max()) <= V_INF + 1e-7  # before the fix: ~9.4 mV by 3 ms
    ref = simulate(net, stim, dt=DT, seed=0, backend="numba")
    got, want = torch32.rates.mean(axis=(0, 1)), ref.rates.mean(axis=(0, 1))
    # sampling noise of 2 trials x 0.2 s x 40 neurons is a few Hz at these rates (~10-80 Hz);
    # before the fix EP ran at thousands of Hz
    np.testing.assert_allclose(got, want, rtol=0.25, atol=5.0)
