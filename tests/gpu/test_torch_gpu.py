"""The torch engine on CUDA: same network as on the CPU, batched, sparse and differentiable.

Skipped without CUDA. Run with ``pytest -n 0 tests/gpu/test_torch_gpu.py`` (about a
minute on one GPU; ``benchmarks/gpu_torch.py`` prints the timings).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neuroattn.backends import simulate
from neuroattn.backends.torch import SpikingNetworkModule
from neuroattn.model import (AllToAll, Drive, FixedProbability, Network, Population, Probe,
                             Projection, Stimulus)
from neuroattn.model.library import cuba
from neuroattn.neurons import EscapeParams, LIFParams

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")]

DT = 1e-4


def _small_net():
    a = LIFParams(tau_mem=20e-3, t_ref=2e-3)
    b = LIFParams(tau_mem=10e-3, v_reset=-65e-3, t_ref=1e-3, i_bias=150e-12)
    pops = [Population("A", 12, a, v_init=(-70e-3, -52e-3)),
            Population("B", 7, b, v_init=(-70e-3, -55e-3))]
    projs = [Projection("A", "B", 60e-12, FixedProbability(0.5, seed=4), tau_syn=3e-3,
                        delay=0.5e-3),
             Projection("B", "A", 25e-12, AllToAll(), tau_syn=8e-3, sign="inh")]
    net = Network(pops, projs, [Probe("A", "spikes"), Probe("B", "spikes"), Probe("A"),
                                Probe("B")], name="small")
    vals = np.random.default_rng(11).uniform(250, 600, size=(2, 50, 1))
    return net, Stimulus(vals, 1e-3, [Drive(0, "A", gain=1e-12)])


def test_deterministic_float64_spikes_identical_on_cpu_and_cuda():
    net, stim = _small_net()
    kw = dict(duration=0.06, dt=DT, seed=5, backend="torch", dtype="float64")
    cpu = simulate(net, stim, device="cpu", **kw)
    gpu = simulate(net, stim, device="cuda", **kw)
    assert gpu.meta["device"].startswith("cuda")
    for t in range(2):
        for name in ("A", "B"):
            assert cpu.spikes[t][name][0].size > 5
            np.testing.assert_array_equal(gpu.spikes[t][name][0], cpu.spikes[t][name][0])
            np.testing.assert_array_equal(gpu.spikes[t][name][1], cpu.spikes[t][name][1])


def test_cuba_4000_runs_on_cuda_with_rates_close_to_cpu():
    net = cuba(4000, bin_width=0.05)
    gpu = simulate(net, duration=0.3, dt=DT, trials=8, seed=0, backend="torch", device="cuda")
    cpu = simulate(net, duration=0.3, dt=DT, trials=2, seed=0, backend="torch", device="cpu")
    # no noise: the trials differ only by their initial potentials, which both devices
    # draw from trial_rng; rounding makes the chaotic network diverge, so compare means
    g, c = gpu.rates[:, 1:].mean(axis=(0, 1)), cpu.rates[:, 1:].mean(axis=(0, 1))
    assert np.all(g > 1.0)
    np.testing.assert_allclose(g, c, rtol=0.25)


def test_trial_zero_same_for_batch_of_one_and_of_four_on_cuda():
    p = LIFParams(sigma=3e-3, i_bias=250e-12)
    esc = EscapeParams(rho0=20.0, t_ref=2e-3, reset=True)
    net = Network([Population("L", 50, p, v_init=(-70e-3, -50e-3)), Population("Z", 20, esc)],
                  [Projection("L", "Z", 15e-12), Projection("Z", "L", 10e-12, sign="inh")],
                  [Probe("L", "spikes"), Probe("Z", "spikes"), Probe("L")])
    stim = Stimulus(np.ones((50, 1)), 1e-3, [Drive(0, "Z", "poisson", gain=400.0,
                                                   weight=20e-12)])
    # float64: the draws are identical by construction; float64 keeps a different
    # reduction order of cuBLAS for another batch shape (1 ulp) from flipping a spike
    kw = dict(duration=0.05, dt=DT, seed=3, backend="torch", device="cuda", dtype="float64")
    one, four = simulate(net, stim, trials=1, **kw), simulate(net, stim, trials=4, **kw)
    assert one.spikes[0]["L"][0].size > 10
    for name in ("L", "Z"):
        np.testing.assert_array_equal(one.spikes[0][name][0], four.spikes[0][name][0])
        np.testing.assert_array_equal(one.spikes[0][name][1], four.spikes[0][name][1])
    np.testing.assert_array_equal(one.rates[0], four.rates[0])


def test_per_trial_draws_on_cuda_do_not_depend_on_the_batch():
    from neuroattn.backends.torch._random import draw_chunk, trial_streams

    pops = [Population("a", 30, LIFParams(), v_init=(-70e-3, -50e-3))]
    out = {}
    for trials in (range(1), range(4)):
        v0, gens = trial_streams(pops, 9, trials, torch.device("cuda"))
        lam = [torch.full((len(trials), 100, 30), 0.3, device="cuda")]
        nrm, uni, cnt = draw_chunk(gens, 100, 30, normal=True, uniform=True, poisson_rates=lam,
                                   dtype=torch.float32, device="cuda")
        out[len(trials)] = (v0[0], nrm[0].cpu(), uni[0].cpu(), cnt[0][0].cpu())
    for a, b in zip(out[1], out[4]):
        assert np.array_equal(np.asarray(a), np.asarray(b))


def test_gradients_on_cuda_match_cpu_in_float64():
    net = Network([Population("a", 30, LIFParams(i_bias=260e-12), v_init=(-70e-3, -50e-3)),
                   Population("b", 10, LIFParams(i_bias=150e-12), v_init=(-70e-3, -50e-3))],
                  [Projection("a", "b", 30e-12, tau_syn=4e-3),
                   Projection("b", "a", 20e-12, tau_syn=6e-3, sign="inh", delay=1e-3)])
    grads = {}
    for device in ("cpu", "cuda"):
        m = SpikingNetworkModule(net, [], dt=DT, dtype=torch.float64, device=device,
                                 trainable=("weights", "i_bias", "tau_mem", "tau_syn"))
        m(torch.zeros(2, 1000, 0), seed=1).sum().backward()
        grads[device] = {k: p.grad.detach().cpu() for k, p in m.named_parameters()}
    for k, g in grads["cpu"].items():
        assert g.abs().sum() > 0, k
        torch.testing.assert_close(grads["cuda"][k], g, rtol=1e-6, atol=1e-9 * g.abs().max())


def test_sparse_cuba_trains_on_cuda():
    net = cuba()
    m = SpikingNetworkModule(net, [], dt=DT, device="cuda", trainable=("weights", "i_bias"))
    assert all(g.sparse for g in m.groups)
    rates = m(torch.zeros(4, 300, 0, device="cuda"), seed=0)
    rates.mean().backward()
    for name, prm in m.named_parameters():
        assert torch.isfinite(prm.grad).all() and prm.grad.abs().sum() > 0, name
