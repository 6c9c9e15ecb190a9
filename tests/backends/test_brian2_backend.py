"""Brian2-only behaviour: options, chunking, global state, the generated equations."""

from __future__ import annotations

import re

import numpy as np
import pytest

from neuroattn.backends import simulate
from neuroattn.exceptions import BackendUnavailable, ValidationError
from neuroattn.model import Drive, Network, OneToOne, Population, Probe, Projection, Stimulus
from neuroattn.neurons import EscapeParams, LIFParams
from neuroattn.neurons.brian2_eqs import brian2_model, quiet_brian2

with quiet_brian2():
    import brian2


def _net_and_stim(trials=3):
    """Deterministic (noiseless) two-population chain with per-trial currents."""
    net = Network([Population("a", 4, LIFParams()), Population("b", 4, LIFParams())],
                  [Projection("a", "b", 2e-9, rule=OneToOne(), delay=0.5e-3)],
                  probes=[Probe("a", "rate", 0.01), Probe("b", "rate", 0.01),
                          Probe("b", "spikes"), Probe("b", "v", neurons=(3, 1))])
    vals = np.linspace(0.5, 1.0, trials)[:, None, None] * np.ones((trials, 20, 1))
    return net, Stimulus(vals, 1e-3, [Drive(0, "a", gain=800e-12)])


def test_batch_size_chunks_give_the_same_deterministic_result():
    net, stim = _net_and_stim()
    whole = simulate(net, stim, dt=1e-4, seed=0)
    chunked = simulate(net, stim, dt=1e-4, seed=0, batch_size=2)
    assert (whole.meta["batch_size"], chunked.meta["batch_size"]) == (3, 2)
    assert whole.unit("b").sum() > 0
    np.testing.assert_array_equal(whole.rates, chunked.rates)
    np.testing.assert_array_equal(whole.v["b"], chunked.v["b"])
    assert whole.v["b"].shape == (3, 200, 2)
    for s1, s2 in zip(whole.spikes, chunked.spikes):
        np.testing.assert_array_equal(s1["b"][0], s2["b"][0])
        np.testing.assert_array_equal(s1["b"][1], s2["b"][1])
    # Stronger drive, more spikes: the trials are told apart by the block layout.
    assert whole.unit("a")[2].sum() > whole.unit("a")[0].sum()


def test_run_leaves_numpy_random_state_and_prefs_untouched():
    net, stim = _net_and_stim(1)
    target = brian2.prefs.codegen.target
    np.random.seed(123)
    before = np.random.random(3)
    np.random.seed(123)
    simulate(net, stim, dt=1e-4, seed=0)
    np.testing.assert_array_equal(np.random.random(3), before)
    assert brian2.prefs.codegen.target == target


def test_bad_options_are_rejected():
    net, stim = _net_and_stim(1)
    with pytest.raises(ValidationError, match=re.escape(
            "brian2 backend option batch_size: expected an integer >= 1 or None (got 0)")):
        simulate(net, stim, batch_size=0)
    with pytest.raises(BackendUnavailable, match="'cpp_standalone' is not supported"):
        simulate(net, stim, target="cpp_standalone")


def test_progress_bar_runs(capsys):
    net, stim = _net_and_stim(2)
    rec = simulate(net, stim, dt=1e-4, seed=0, progress=True)
    assert rec.rates.shape == (2, 2, 2)
    assert "trial" in capsys.readouterr().err


def test_equations_of_lif_and_escape():
    lif = brian2_model(LIFParams(sigma=1e-3), [("i_syn0", 5e-3), ("i_syn1", 10e-3)])
    # by default the noisy LIF is integrated exactly: noiseless equations, the exact
    # Ornstein-Uhlenbeck increment added after each update
    assert lif.method == "exact" and lif.ports == ("i_syn0", "i_syn1")
    assert "xi" not in lif.equations and "sqrt(1 - exp(-2*dt/tau_mem))" in lif.noise_code
    euler = brian2_model(LIFParams(sigma=1e-3), [("i_syn0", 5e-3)], noise="euler")
    assert euler.method == "euler" and euler.noise_code is None
    assert "sigma*sqrt(2/tau_mem)*xi" in euler.equations
    assert "(unless refractory)" in lif.equations
    assert lif.namespace["tau_i_syn1"] == 10 * brian2.ms
    esc = brian2_model(EscapeParams(), [("i_syn0", 10e-3)])  # tau == tau_mem, no reset
    assert esc.method == "exact" and esc.reset is None and esc.refractory is False
    assert "di_syn0/dt = -i_syn0/tau_mem : amp" in esc.equations
    assert "unless refractory" not in esc.equations
    assert esc.threshold == "rand() < 1 - exp(-rho0*exp((v - theta)/delta_u)*dt)"
    held = brian2_model(EscapeParams(reset=True, t_ref=1e-3), [("i_syn0", 10e-3)])
    assert held.reset == "v = v_reset" and held.refractory == "t_ref"
    assert float(held.namespace["tau_i_syn0"]) == pytest.approx(10e-3 * (1 + 1e-6))


def test_equations_reject_bad_ports():
    with pytest.raises(ValidationError, match=re.escape(
            "brian2_model.ports: expected distinct identifiers not in")):
        brian2_model(LIFParams(), [("v", 5e-3)])
    with pytest.raises(ValidationError, match=re.escape(
            "brian2_model.ports: tau of 'i_syn0' must be > 0 s (got 0.0)")):
        brian2_model(LIFParams(), [("i_syn0", 0.0)])


def test_noisy_groups_are_integrated_exactly_by_default():
    """The reference runs the model the other engines run unless told otherwise."""
    net, stim = _net_and_stim(1)
    assert simulate(net, stim, dt=1e-4, seed=0).meta["noise"] == "exact"


@pytest.mark.parametrize("noise", ["euler", "exact"])
def test_noise_options_give_the_ou_stationary_std(noise):
    """Free membrane (threshold out of reach): std across 400 neurons -> sigma (sd ~3.5 %)."""
    p = LIFParams(sigma=2e-3, v_th=1.0)
    net = Network([Population("a", 400, p)], probes=[Probe("a", "v", neurons=tuple(range(400)))])
    rec = simulate(net, duration=0.1, dt=1e-4, seed=4, noise=noise)
    assert rec.meta["noise"] == noise
    v_end = rec.v["a"][0, -1]
    assert np.std(v_end) == pytest.approx(2e-3, rel=0.15)
    assert np.mean(v_end) == pytest.approx(p.v_rest, abs=0.5e-3)
    with pytest.raises(ValidationError, match=re.escape(
            "brian2 backend option noise: expected 'euler' or 'exact' (got 'ito')")):
        simulate(net, duration=0.01, noise="ito")
