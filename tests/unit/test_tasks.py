"""Tasks: trial generation, readout, scoring, and the published effects on both tiers."""

import math

import numpy as np
import pytest

from neuroattn.exceptions import ValidationError
from neuroattn.mechanisms.biased_competition import (
    LIFCircuit,
    SoftmaxAgent,
    SpikingAgent,
    to_softmax,
)
from neuroattn.model import Recording
from neuroattn.tasks import Pair, Posner
from neuroattn.tasks.base import first_crossing, smooth
from neuroattn.tasks.stats import bootstrap_diff_ci, bootstrap_mean_ci


def test_posner_trials_are_seeded_per_trial_and_follow_validity():
    a = Posner().make_trials(400, seed=3)
    b = Posner().make_trials(10, seed=3)
    np.testing.assert_array_equal(a.stimulus[:10], b.stimulus)
    counts = a.conditions["condition"].value_counts()
    cued = counts["valid"] + counts["invalid"]
    assert counts["valid"] / cued == pytest.approx(0.8, abs=0.06)
    assert counts["neutral"] / 400 == pytest.approx(0.25, abs=0.06)
    assert not np.array_equal(Posner().make_trials(10, seed=4).stimulus, b.stimulus)


def test_posner_cue_bias_is_the_scaled_log_prior():
    task = Posner(k=2, validity=0.8, bias_gain=0.5)
    np.testing.assert_allclose(task.cue_bias(0), [0.5 * math.log(1.6), 0.5 * math.log(0.4)])
    np.testing.assert_array_equal(task.cue_bias(None), [0.0, 0.0])
    trials = task.make_trials(20, seed=1)
    row = trials.conditions.iloc[0]
    cue_row = int(task.cue_onset / task.dt)
    if row["cued"] >= 0:
        np.testing.assert_allclose(trials.stimulus[0, cue_row, 2:], task.cue_bias(row["cued"]),
                                   rtol=1e-6)
    assert np.all(trials.stimulus[:, : cue_row, 2:] == 0)


def test_posner_rejects_bad_parameters():
    with pytest.raises(ValidationError, match=r"Posner.validity: expected a probability in "
                                              r"\(1/K, 1\) = \(0.5, 1\) \(got 0.4\)"):
        Posner(validity=0.4).make_trials(5)
    with pytest.raises(ValidationError, match=r"make_trials.n: must be >= 1 \(got 0\)"):
        Posner().make_trials(0)


def test_smooth_and_first_crossing_oracles():
    x = np.arange(10, dtype=float)[None, :]
    np.testing.assert_allclose(smooth(x, 3)[0], [0, 0.5, 1, 2, 3, 4, 5, 6, 7, 8])
    assert first_crossing(np.array([0, 1, 5, 2, 7.0]), 5.0, 0, 5) == 2
    assert first_crossing(np.array([0, 1, 5, 2, 7.0]), 5.0, 3, 5) == 4
    assert first_crossing(np.array([0, 1, 2.0]), 5.0, 0, 3) == -1


def test_posner_readout_on_a_synthetic_recording():
    task = Posner(threshold=20.0, smoothing=0.005)
    bins = int(task.duration / 5e-3)
    rates = np.zeros((2, bins, 2))
    onset_bin = int(task.target_onset / 5e-3)
    rates[0, onset_bin + 4:, 1] = 30.0  # location 1 crosses 4 bins after target onset
    rec = Recording(rates, 5e-3, ("loc0", "loc1"))
    out = task.readout(rec)
    assert out["choice"].tolist() == [1, -1]
    assert out["rt"][0] == pytest.approx(5 * 5e-3)
    assert math.isnan(out["rt"][1])


def test_bootstrap_ci_covers_the_mean_with_the_normal_width():
    rng = np.random.default_rng(0)
    x = rng.normal(1.0, 2.0, 400)
    m, lo, hi = bootstrap_mean_ci(x, seed=1)
    assert lo < 1.0 < hi
    assert (hi - lo) == pytest.approx(2 * 1.96 * 2.0 / 20, rel=0.15)
    d, dlo, dhi = bootstrap_diff_ci(x + 0.5, x, seed=1)
    assert d == pytest.approx(0.5) and dlo < 0.5 < dhi


def _posner_effects(agent, task, n=200, seed=1):
    trials = task.make_trials(n, seed)
    return task.score(trials, agent.run(trials), seed)


def test_posner_softmax_tier_shows_ordered_rts_and_a_validity_effect_growing_with_validity():
    circuit = LIFCircuit(k=2)
    agent = SoftmaxAgent(to_softmax(circuit))
    res = _posner_effects(agent, Posner())
    for e in res.effects:
        assert e.passed, e
    means = res.summary.set_index("condition")["rt_mean"]
    assert means["valid"] < means["neutral"] < means["invalid"]
    effects = [_posner_effects(agent, Posner(validity=v), n=400).effect("validity_rt").estimate
               for v in (0.6, 0.7, 0.8)]
    assert effects[0] < effects[1] < effects[2], effects


@pytest.mark.slow
def test_posner_spiking_tier_shows_valid_neutral_invalid_with_cis_excluding_zero():
    res = _posner_effects(SpikingAgent(LIFCircuit(k=2), backend="brian2"), Posner())
    for e in res.effects:
        assert e.passed, e
    assert res.effect("cost_rt").estimate > 0.005


@pytest.mark.parametrize("tier", ["softmax", "spiking"])
def test_pair_response_is_a_weighted_average_pulled_toward_the_attended(tier):
    task = Pair()
    circuit = LIFCircuit(k=2)
    if tier == "softmax":
        agent = SoftmaxAgent(to_softmax(circuit, values=task.values, u_max=4.0),
                             values=task.values)
    else:
        agent = SpikingAgent(circuit, backend="brian2", values=task.values)
    trials = task.make_trials(100, seed=2)
    res = task.score(trials, agent.run(trials), seed=2)
    away = res.effect("weight_away")
    assert 0.2 < away.estimate < 0.95 and away.passed, away
    assert res.effect("attend_pref_shift").passed, res.effect("attend_pref_shift")
    assert res.effect("attend_poor_shift").passed, res.effect("attend_poor_shift")
    s = res.summary.set_index("condition")
    assert s.loc["poor", "response"] < s.loc["pair_away", "response"] < s.loc["pref", "response"]
