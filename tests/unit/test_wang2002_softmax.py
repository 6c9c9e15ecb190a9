"""The softmax tier of the decision task (mechanism ``decision-attractor``): biased
competition's softmax with a slow recurrent trace, its bridge, the check of the fitted
time constant against Wong & Wang (2006), and how the task judges monotonic RTs."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from neuroattn.exceptions import ValidationError
from neuroattn.mechanisms import get_mechanism
from neuroattn.mechanisms.biased_competition.decision import (DecisionParams, constant_trials,
                                                              fit_decision_layer,
                                                              read_decisions, winner_rate,
                                                              wong_wang_time_constant)
from neuroattn.tasks.random_dots import RandomDots, WongWangAgent, _effects, _rt_rises

#: the parameters the bridge fitted to the published 2000-neuron network (numba; the
#: 120 calibration inputs of `neuroattn compare decision --seed 1`, R = 34.3 Hz read from
#: the network's committed winner; docs/tasks/decision.md): the layer's dynamics under
#: test (the fit itself takes minutes of spiking simulation)
FITTED = dict(temperature=2.3374, rate=34.3, null_logit=6.3729, tau=0.14704, w_self=0.44800,
              noise=1.7944)


def test_layer_computes_the_numba_reference_through_attention():
    """The torch layer (weights by scaled_dot_product_attention) and the bridge's numba
    kernel integrate the same equations: equal rates with the same noise draws."""
    import torch

    from neuroattn.mechanisms.biased_competition._decision_kernel import decision_rates

    p = DecisionParams(**FITTED)
    rng = np.random.default_rng(3)
    u = np.zeros((4, 200, 2))
    u[:, 60:] = 1.0 + np.array([[0.1, -0.1], [0.0, 0.0], [-0.3, 0.3], [0.05, -0.05]])[:, None]
    z = rng.standard_normal(u.shape)
    layer = get_mechanism("decision-attractor").softmax(RandomDots().spec(), p, "reference")
    with torch.no_grad():
        r = layer(torch.as_tensor(u), torch.zeros(u.shape, dtype=torch.float64), 5e-3,
                  noise=torch.as_tensor(z)).numpy()
    ref = decision_rates(u, z, 5e-3, p.temperature, p.rate, p.null_logit, p.tau, p.w_self,
                         p.noise, 0.0, 1)
    np.testing.assert_allclose(r, ref, rtol=0, atol=1e-9)
    with pytest.raises(ValidationError, match="noise"):
        layer(torch.as_tensor(u), torch.zeros(u.shape, dtype=torch.float64), 1e-3,
              noise=torch.zeros(2, 3, 2))


def test_symmetric_state_is_a_saddle_with_a_slow_time_constant():
    """At inputs (1, 1) the difference of the pools grows with tau / (G - 1) while their
    sum is stable (G (1 - 2 a*) < 1): the layer integrates a difference, then commits."""
    p = DecisionParams(**FITTED)
    s, a = p.symmetric_state()
    gain = p.w_self * p.rate * a / p.temperature
    assert 1.0 < gain and gain * (1 - 2 * a) < 1.0
    assert p.tau_eff == pytest.approx(p.tau / (gain - 1.0)) and p.tau_eff > 0
    assert 2.0 < s < 15.0                      # below the 15 Hz commitment
    # without recurrence there is no saddle and no integration time
    assert math.isnan(DecisionParams(**dict(FITTED, w_self=0.0)).tau_eff)


def test_fit_recovers_the_wong_wang_time_constant():
    """The check of the bridge: its fit, applied to the published rate reduction (Wong &
    Wang 2006) in place of the spiking network, finds the reduction's own slow time
    constant (tau_S = 100 ms, the NMDA gating) from its decisions alone: 70-112 ms in
    four fits (seeds 5-7, 48-60 inputs), held here within a factor 1.5."""
    u = get_mechanism("decision-attractor")._inputs(None, "test", 5)[:48]
    rec = WongWangAgent().run(constant_trials(u, seed=5))
    choice, time, pre = read_decisions(rec.rates)
    fitted = fit_decision_layer(u, choice, time, pre, seed=5, repeats=3, max_evals=120)
    assert WongWangAgent.TAU_S / 1.5 < fitted.tau < 1.5 * WongWangAgent.TAU_S, fitted
    # the symmetric state of the fit integrates (a saddle below the commitment)
    assert fitted.rate_symmetric < 15.0 and fitted.tau_eff > 0


def test_winner_rate_is_the_committed_pools_rate_at_the_end():
    """R of the layer: the leading pool's mean rate over the last 0.5 s of each run, averaged
    over runs, whichever pool won; bins after a stop (NaN) are left out."""
    rates = np.full((3, 400, 2), 2.0)           # 2 s in 5 ms bins, both pools at 2 Hz
    rates[0, 200:, 0] = 30.0                    # pool A wins at 30 Hz
    rates[1, 250:, 1] = 36.0                    # pool B wins at 36 Hz
    rates[2, 150:, 0] = 33.0
    rates[2, -20:] = np.nan                     # the last 100 ms not simulated
    assert winner_rate(rates) == pytest.approx((30.0 + 36.0 + 33.0) / 3)
    assert np.isnan(winner_rate(np.full((2, 100, 2), np.nan)))


def test_softmax_tier_reproduces_roitman_shadlen():
    """The layer with the fitted parameters on held-out trials: Weibull alpha and beta,
    monotonic RT, RT(3.2)/RT(51.2) and slower errors, through the task's own decision
    stage and non-decision time."""
    task = RandomDots()
    tr = task.make_trials(600, seed=11)
    m = get_mechanism("decision-attractor")
    agent = m.agent("softmax", task.spec(), "torch", fitted=DecisionParams(**FITTED))
    res = task.score(tr, agent.run(tr), seed=11)
    for e in res.effects:
        assert e.passed, e


def test_commitment_needs_the_recurrent_saddle():
    """The pools reach the commitment because they integrate away from a saddle (an
    unstable difference): with the recurrence weakened until the symmetric state is
    stable (a leaky low-pass of the input, no ``tau_eff``) the layer settles below the
    threshold and commits on no trial at any coherence (the fitted layer commits on
    nearly every one: test_softmax_tier_reproduces_roitman_shadlen). The leaky layer's
    errors cannot be compared with its correct responses at the task's threshold; read
    at 5 Hz, which it reaches on about half the trials or more from 3.2 %, its errors
    are slower too (docs/tasks/decision.md)."""
    task = RandomDots()
    tr = task.make_trials(120, seed=11)
    m = get_mechanism("decision-attractor")
    leaky = DecisionParams(**dict(FITTED, w_self=0.6 * FITTED["w_self"]))
    assert math.isnan(leaky.tau_eff)
    assert math.isfinite(DecisionParams(**FITTED).tau_eff)
    res = task.score(tr, m.agent("softmax", task.spec(), "torch", fitted=leaky).run(tr),
                     seed=11)
    assert res.table.timeout.all()
    assert np.isnan(res.effect("error_minus_correct_rt").estimate)


def _table(means, n=200, sd=0.3, seed=0):
    rng = np.random.default_rng(seed)
    cohs = [0.0, 3.2, 6.4, 12.8, 25.6, 51.2]
    rows = []
    for c, m in zip(cohs, means):
        for _ in range(n):
            rows.append(dict(coherence=c, correct=1.0, timeout=False,
                             rt=m + sd * rng.standard_normal(), target=0, choice=0))
    table = pd.DataFrame(rows)
    summary = pd.DataFrame({"coherence": cohs})
    return table, summary


def test_monotonic_rt_is_judged_against_the_noise_of_each_step():
    """Equal means at 0 and 3.2 % (a true difference far below the noise) are monotonic;
    a rise of ~5 standard errors at one step is not."""
    fall = [1.25, 1.25, 1.18, 1.10, 0.92, 0.74]
    t, s = _table(fall)
    rise = {e.name: e for e in _effects(t, s, np.random.default_rng(1))}["rt_monotonic"]
    assert rise.passed and rise.estimate < 2.33
    bump = [1.25, 1.20, 1.35, 1.10, 0.92, 0.74]    # +150 ms at 6.4 %: SE of a step 30 ms
    t, s = _table(bump)
    rise = {e.name: e for e in _effects(t, s, np.random.default_rng(1))}["rt_monotonic"]
    assert not rise.passed and rise.estimate > 3
    # the statistic: the largest standardised rise between successive coherences
    coh = t.coherence.to_numpy()
    rt = t.rt.to_numpy()
    assert _rt_rises(coh, rt, np.unique(coh)) == pytest.approx(rise.estimate)
