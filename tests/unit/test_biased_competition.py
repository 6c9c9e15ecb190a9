"""Biased competition: the softmax layer, the mean field, the bridge and its targets."""

import math

import numpy as np
import pytest
import torch

from neuroattn.exceptions import ValidationError
from neuroattn.mechanisms import get_mechanism, js_divergence
from neuroattn.mechanisms.base import row_shares
from neuroattn.mechanisms.biased_competition import (
    EscapeCircuit,
    LIFCircuit,
    SoftmaxCompetition,
    SoftmaxParams,
    calibrate,
    equivalence,
    equivalence_from_shares,
    mean_field,
    spike_counts,
    to_softmax,
    to_spiking,
)
from neuroattn.model import TaskSpec
from neuroattn.neurons import lif_rate_noisy
from neuroattn.tasks import Posner


def test_js_divergence_oracles():
    assert js_divergence([0.5, 0.5], [0.5, 0.5]) == pytest.approx(0.0, abs=1e-15)
    assert js_divergence([1.0, 0.0], [0.0, 1.0]) == pytest.approx(math.log(2))
    p, q = np.array([0.2, 0.8]), np.array([0.6, 0.4])
    m = (p + q) / 2
    expected = 0.5 * np.sum(p * np.log(p / m)) + 0.5 * np.sum(q * np.log(q / m))
    assert js_divergence(p, q) == pytest.approx(expected, rel=1e-12)


def test_softmax_params_weights_are_softmax_with_null_slot():
    p = SoftmaxParams(k=3, temperature=0.5, rate=100.0, null_logit=1.0)
    u = np.array([0.3, 1.2, -0.4])
    e = np.exp(np.r_[u, 1.0] / 0.5)
    np.testing.assert_allclose(p.weights(u), (e / e.sum())[:3], rtol=1e-12)
    np.testing.assert_allclose(p.shares(u), np.exp(u / 0.5) / np.exp(u / 0.5).sum(), rtol=1e-12)


def test_softmax_module_relaxes_to_the_analytic_steady_state_with_tau():
    p = SoftmaxParams(k=2, temperature=0.7, rate=80.0, null_logit=0.5, tau=0.01)
    m = SoftmaxCompetition(p)
    x = torch.zeros(1, 400, 2, dtype=torch.float64)
    x[:, 100:, 0] = 1.0
    r = m(x, torch.zeros_like(x), dt=1e-3).detach().numpy()[0]
    steady = 80.0 * p.weights([1.0, 0.0])
    np.testing.assert_allclose(r[-1], steady, rtol=1e-9)
    # the filtered input after one tau is 1 - 1/e of the step: rates follow exactly
    v = 1.0 - math.exp(-10e-3 / 0.01)
    np.testing.assert_allclose(r[109], 80.0 * p.weights([v, 0.0]), rtol=1e-9)


def test_softmax_module_gradients_reach_every_parameter():
    p = SoftmaxParams(k=2, temperature=0.7, rate=80.0, null_logit=0.5, tau=0.01, unit_gain=0.5,
                      unit_base=5.0, unit_inh=0.1)
    m = SoftmaxCompetition(p, values=[1.0, 0.2])
    x = torch.rand(3, 50, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    m(x, torch.zeros_like(x), dt=1e-3).sum().backward()
    for name, par in m.named_parameters():
        assert par.grad is not None and torch.isfinite(par.grad).all() and par.grad.abs() > 0, name


def test_mean_field_without_coupling_is_the_siegert_rate():
    c = LIFCircuit(k=2, w_ie=0.0, w_ei=0.0)
    u = np.array([[0.0, 1.0]])
    got = mean_field(c, u)["rates"][0]
    want = lif_rate_noisy(c.input_gain * u[0], c.exc)
    np.testing.assert_allclose(got, want, rtol=1e-3)


def test_escape_circuit_temperature_is_exact_and_to_spiking_inverts_it():
    c = EscapeCircuit(k=4, input_gain=40e-12)
    assert to_softmax(c).temperature == pytest.approx(2e-3 / (100e6 * 40e-12), rel=1e-12)
    back = to_spiking(SoftmaxParams(k=4, temperature=0.25, rate=50.0), EscapeCircuit(k=4))
    assert back.temperature == pytest.approx(0.25, rel=1e-12)


def test_to_spiking_lif_matches_the_requested_temperature():
    target = SoftmaxParams(k=2, temperature=0.6, rate=100.0)
    c = to_spiking(target)
    assert to_softmax(c).temperature == pytest.approx(0.6, rel=0.02)
    assert c.input_gain > LIFCircuit(k=2).input_gain  # a colder softmax needs more gain


def test_escape_wta_js_falls_as_one_over_window():
    """Issue target: stochastic WTA, K = 8: log-log slope of JS vs window in [-1.2, -0.8]."""
    c = EscapeCircuit(k=8)
    eq = equivalence(c, to_softmax(c), n_inputs=30, windows=(0.02, 0.04, 0.08, 0.16, 0.32),
                     seed=5)
    assert -1.2 <= eq.slope <= -0.8, eq
    assert np.all(np.diff(eq.js) < 0)


@pytest.mark.slow
def test_calibrated_lif_circuit_meets_the_js_targets():
    """Issue targets, K = 4: calibrated <= 0.005 nats and analytic <= 0.05 nats, 200 held-out."""
    c = LIFCircuit(k=4)
    cal = calibrate(c, n_inputs=30, seed=3)
    u, counts = spike_counts(c, n_inputs=200, windows=(0.5,), seed=4242)
    shares = {0.5: row_shares(counts[0.5])}
    calibrated = equivalence_from_shares(u, shares, cal.params).js_full
    analytic = equivalence_from_shares(u, shares, to_softmax(c)).js_full
    assert calibrated <= 0.005, calibrated
    assert analytic <= 0.05, analytic
    # and both are far better than ignoring the inputs
    assert equivalence_from_shares(u, shares, cal.params).js_uniform > 10 * calibrated


def test_agents_reject_mismatched_trials_and_bad_parameters():
    mech = get_mechanism("biased-competition")
    trials = Posner().make_trials(2, seed=0)
    agent = mech.agent("softmax", TaskSpec("space", 3),
                       fitted=SoftmaxParams(k=3, temperature=1.0, rate=10.0))
    with pytest.raises(ValidationError, match=r"SoftmaxAgent.run: the trials were made for "
                                              r"TaskSpec\(layout='space', n_items=2"):
        agent.run(trials)
    with pytest.raises(ValidationError, match=r"cannot run this task: competition needs at "
                                              r"least 2 items"):
        mech.agent("spiking", TaskSpec("space", 1))
    with pytest.raises(ValidationError, match=r"unknown parameter\(s\) \['w_xy'\]"):
        mech.agent("spiking", Posner().spec(), params={"w_xy": 1.0})
    with pytest.raises(ValidationError, match=r"SoftmaxParams.temperature: must be > 0"):
        SoftmaxParams(k=2, temperature=-1.0, rate=10.0).validate()
    with pytest.raises(ValidationError, match=r"expected 2 finite values >= 0"):
        LIFCircuit(k=2).network(values=[1.0])


def test_mechanism_parameters_reach_the_circuit():
    mech = get_mechanism("biased-competition")
    c = mech.circuit(TaskSpec("space", 3), input_gain=60e-12, **{"exc.sigma": 3e-3})
    assert (c.k, c.input_gain, c.exc.sigma) == (3, 60e-12, 3e-3)
    assert c.exc.tau_mem == LIFCircuit().exc.tau_mem
    model = mech.spiking(TaskSpec("space", 3))
    assert model.readout == {"items": ("E0", "E1", "E2")}
    # evidence of item k and its bias both drive location k, with the circuit's gain
    assert sorted((d.channel, d.population) for d in model.drives) == [
        (0, "E0"), (1, "E1"), (2, "E2"), (3, "E0"), (4, "E1"), (5, "E2")]


def test_softmax_layer_agrees_across_attention_backends_and_dtypes():
    p = SoftmaxParams(k=3, temperature=0.6, rate=90.0, null_logit=0.8, tau=0.004, unit_gain=0.4,
                      unit_base=2.0, unit_inh=0.05)
    g = torch.Generator().manual_seed(1)
    x = torch.rand(4, 60, 3, dtype=torch.float64, generator=g)
    b = torch.rand(4, 60, 3, dtype=torch.float64, generator=g) * 0.3
    with torch.no_grad():
        ref = SoftmaxCompetition(p, [1.0, 0.5, 0.1], "reference")(x, b, 1e-3)
        for backend in ("numba", "torch"):
            got = SoftmaxCompetition(p, [1.0, 0.5, 0.1], backend)(x, b, 1e-3)
            torch.testing.assert_close(got, ref, rtol=1e-9, atol=1e-9)
        low = SoftmaxCompetition(p, [1.0, 0.5, 0.1]).to(torch.float32)(x.float(), b.float(), 1e-3)
    assert low.dtype == torch.float32
    torch.testing.assert_close(low.double(), ref, rtol=1e-4, atol=1e-3)


def test_softmax_module_params_round_trip():
    p = SoftmaxParams(k=3, temperature=0.4, rate=70.0, null_logit=1.5, tau=0.02, unit_gain=0.3,
                      unit_base=4.0, unit_inh=0.05)
    back = SoftmaxCompetition(p).params()
    for name in ("temperature", "rate", "null_logit", "tau", "unit_gain", "unit_base", "unit_inh"):
        assert getattr(back, name) == pytest.approx(getattr(p, name), rel=1e-12), name
