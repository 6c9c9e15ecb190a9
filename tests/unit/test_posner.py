"""Posner cueing: the decision stage, trial generation, the learned prior, scoring, and
the published effects on both tiers (at a seed and trial count the defaults were not
tuned on)."""

import math

import numpy as np
import pandas as pd
import pytest

from neuroattn.exceptions import ValidationError
from neuroattn.model import Recording
from neuroattn.tasks import Posner
from neuroattn.tasks.base import Effect, TaskResult
from neuroattn.tasks.decision import race_to_bound, uniform_nondecision
from neuroattn.tasks.posner import learned_validity, validity_series
from neuroattn.tasks.targets import TARGETS

W = 5e-3  # rate bin of every recording here (s)


# --------------------------------------------------------------------------- decision


@pytest.mark.parametrize("rate,criterion,bound,start", [(30.0, 10.0, 1.0, 0.0),
                                                        (47.3, 12.5, 5.0, 0.0123),
                                                        (18.0, 17.5, 0.01, 0.05)])
def test_race_crossing_time_equals_bound_over_excess_rate(rate, criterion, bound, start):
    rates = np.full((1, 400, 2), criterion - 5.0)
    rates[0, :, 1] = rate
    choice, t = race_to_bound(rates, W, criterion, bound, start=start)
    assert choice[0] == 1
    assert t[0] == pytest.approx(start + bound / (rate - criterion), rel=1e-12)


def test_leaky_race_matches_the_exponential_approach_and_never_crosses_below_its_guard():
    rates = np.zeros((2, 400, 2))
    rates[0, :, 0] = 60.0  # (60 - 12.5) * 0.2 = 9.5 > 5: crosses
    rates[1, :, 0] = 35.0  # (35 - 12.5) * 0.2 = 4.5 < 5: never, however long
    choice, t = race_to_bound(rates, W, 12.5, 5.0, leak=0.2)
    assert choice.tolist() == [0, -1]
    assert t[0] == pytest.approx(-0.2 * math.log(1 - 5.0 / (47.5 * 0.2)), rel=1e-12)
    assert math.isnan(t[1])


def test_race_is_exact_for_piecewise_constant_rates_and_the_first_to_cross_wins():
    # item 0 at 40 Hz from 0 (crossing would be 1/30 s); item 1 at 10 Hz, then 210 Hz
    # from 20 ms: it has 0 at 20 ms and crosses 1/200 s later, before item 0.
    rates = np.full((1, 40, 2), 10.0)
    rates[0, :, 0] = 40.0
    rates[0, 4:, 1] = 210.0
    choice, t = race_to_bound(rates, W, 10.0, 1.0)
    assert choice[0] == 1 and t[0] == pytest.approx(0.02 + 1.0 / 200.0)
    # a rate below the criterion is reflected at 0 rather than building a debt
    rates = np.full((1, 40, 1), 0.0)
    rates[0, 10:, 0] = 30.0
    _, t = race_to_bound(rates, W, 10.0, 1.0)
    assert t[0] == pytest.approx(0.05 + 1.0 / 20.0)


def test_race_stops_at_stop_and_rejects_bad_arguments():
    rates = np.full((1, 40, 2), 20.0)
    choice, t = race_to_bound(rates, W, 10.0, 1.0, stop=0.099)
    assert choice[0] == -1 and math.isnan(t[0])
    with pytest.raises(ValidationError, match=r"race_to_bound.rates: expected an array "
                                              r"\[trials, bins, items\] \(got shape \(40, 2\)\)"):
        race_to_bound(rates[0], W, 10.0, 1.0)
    bad = rates.copy()
    bad[0, 3, 1] = np.nan
    with pytest.raises(ValidationError, match="race_to_bound.rates: expected finite rates"):
        race_to_bound(bad, W, 10.0, 1.0)
    with pytest.raises(ValidationError, match=r"race_to_bound.bound: must be > 0 Hz s "
                                              r"\(got -1.0\)"):
        race_to_bound(rates, W, 10.0, -1.0)
    with pytest.raises(ValidationError, match=r"race_to_bound.leak: must be > 0 s or None"):
        race_to_bound(rates, W, 10.0, 1.0, leak=0.0)
    with pytest.raises(ValidationError, match=r"race_to_bound.start: expected a time in "
                                              r"\[0, 0.2\] s"):
        race_to_bound(rates, W, 10.0, 1.0, start=0.3)


def test_uniform_nondecision_covers_its_range_evenly():
    rng = np.random.default_rng(5)
    t = np.array([uniform_nondecision(rng, 0.2, 0.1) for _ in range(4000)])
    assert t.min() >= 0.15 and t.max() <= 0.25
    assert t.mean() == pytest.approx(0.2, abs=0.003)
    assert t.std() == pytest.approx(0.1 / math.sqrt(12), rel=0.05)


# --------------------------------------------------------------------------- trials


def test_trials_depend_on_seed_and_trial_index_only():
    big = Posner().make_trials(400, seed=3)
    small = Posner().make_trials(13, seed=3)
    np.testing.assert_array_equal(big.stimulus[:13], small.stimulus)
    pd.testing.assert_frame_equal(big.conditions.iloc[:13], small.conditions)
    np.testing.assert_array_equal(big.extra["t_nd"][:13], small.extra["t_nd"])
    again = Posner().make_trials(13, seed=3)
    np.testing.assert_array_equal(again.stimulus, small.stimulus)
    assert not np.array_equal(Posner().make_trials(13, seed=4).stimulus, small.stimulus)


@pytest.mark.parametrize("validity,catch,neutral", [(0.8, 0.1, 0.25), (0.65, 0.2, 0.1)])
def test_blocks_hold_the_set_proportions(validity, catch, neutral):
    task = Posner(validity=validity, catch_fraction=catch, neutral_fraction=neutral)
    c = task.make_trials(600, seed=8).conditions
    counts = c["condition"].value_counts()
    assert counts["catch"] / 600 == pytest.approx(catch, abs=0.01)
    assert counts["neutral"] / (600 - counts["catch"]) == pytest.approx(neutral, abs=0.02)
    assert counts["valid"] / (counts["valid"] + counts["invalid"]) == pytest.approx(
        validity, abs=0.02)
    catch_rows = c[c["condition"] == "catch"]
    assert (catch_rows["target"] == -1).all()
    assert (catch_rows["cued"] >= 0).any() and (catch_rows["cued"] == -1).any()
    cued = c[c["condition"].isin(["valid", "invalid"])]
    assert ((cued["condition"] == "valid") == (cued["cued"] == cued["target"])).all()


def test_stratified_nondecision_time_stays_in_its_slice_and_rejects_a_bad_stratum():
    rng = np.random.default_rng(5)
    t = np.array([uniform_nondecision(rng, 0.2, 0.1, 2, 5) for _ in range(500)])
    assert t.min() >= 0.19 and t.max() <= 0.21
    assert t.mean() == pytest.approx(0.2, abs=0.001)
    with pytest.raises(ValidationError, match=r"uniform_nondecision.stratum: .*\[0, 3\)"):
        uniform_nondecision(rng, 0.2, 0.1, 3, 3)


def test_nondecision_times_are_uniform_overall_and_balanced_within_each_condition():
    """Each block gives a condition's trials one slice each of the non-decision range,
    so every trial's time is still uniform on the range, while the condition means
    (what the RT effects compare) scatter over seeds far less than independent draws'
    SD / sqrt(n) (28.9 ms / sqrt(27) = 5.6 ms for the ~27 invalid trials of 200)."""
    from scipy import stats

    task = Posner()
    all_t, means, counts = [], {c: [] for c in ("valid", "neutral", "invalid")}, {}
    for seed in range(40, 70):
        trials = task.make_trials(200, seed=seed)
        t, cond = trials.extra["t_nd"], trials.conditions["condition"].to_numpy()
        np.testing.assert_array_equal(t, trials.conditions["t_nd"].to_numpy())
        all_t.append(t)
        for c in means:
            means[c].append(t[cond == c].mean())
            counts[c] = counts.get(c, 0) + (cond == c).sum() / 30
    all_t = np.concatenate(all_t)
    assert all_t.min() >= 0.15 and all_t.max() <= 0.25
    assert stats.kstest((all_t - 0.15) / 0.1, "uniform").pvalue > 0.01
    for c, m in means.items():
        independent = 0.1 / math.sqrt(12) / math.sqrt(counts[c])  # SD of a mean of draws
        assert np.mean(m) == pytest.approx(0.2, abs=0.001), c
        assert np.std(m) < 0.45 * independent, (c, np.std(m), independent)


def test_stimulus_carries_the_target_and_the_cue_bias_where_the_table_says():
    task = Posner(noise=0.0)
    trials = task.make_trials(60, seed=2)
    cue, tgt = round(task.cue_onset / task.dt), round(task.target_onset / task.dt)
    ev, bias = trials.role("evidence"), trials.role("bias")
    for t, row in trials.conditions.iterrows():
        assert np.all(bias[t, :cue] == 0) and np.all(ev[t, :tgt] == 0)
        expect = np.zeros(2) if row["cued"] < 0 else task.cue_bias(row["cued"], row["p_cued"])
        np.testing.assert_allclose(bias[t, cue:], np.broadcast_to(expect, (len(ev[t]) - cue, 2)),
                                   rtol=1e-6)
        on = np.zeros(2)
        if row["target"] >= 0:
            on[row["target"]] = task.contrast
        np.testing.assert_allclose(ev[t, tgt:], np.broadcast_to(on, (len(ev[t]) - tgt, 2)))
    # the softmax tier is calibrated on the inputs after target onset
    u = task.bridge_inputs(trials)
    np.testing.assert_allclose(u, np.concatenate([ev[:, tgt], bias[:, tgt]], axis=1), rtol=1e-6)


def test_cue_bias_is_the_centred_log_prior_and_stays_bounded():
    task = Posner(bias_gain=0.7)
    np.testing.assert_allclose(task.cue_bias(1, 0.8), [-0.35 * math.log(4), 0.35 * math.log(4)])
    np.testing.assert_array_equal(task.cue_bias(None), [0.0, 0.0])
    np.testing.assert_allclose(task.cue_bias(0, 0.5), [0.0, 0.0], atol=1e-15)
    three = Posner(k=3, bias_gain=1.0).cue_bias(2, 0.6)
    assert three.sum() == pytest.approx(0.0, abs=1e-12)
    assert three[2] - three[0] == pytest.approx(math.log(0.6 / 0.2))
    # validity 1 is accepted; the belief stops at max_belief, so the bias stays finite
    np.testing.assert_allclose(Posner(validity=1.0).cue_bias(0), task.cue_bias(0, 0.9))


# --------------------------------------------------------------------------- learned prior


def test_learned_validity_is_the_beta_posterior_mean():
    assert learned_validity(0, 0, 2) == 0.5
    assert learned_validity(0, 0, 4) == 0.25
    assert learned_validity(8, 10, 2) == pytest.approx(9 / 12)
    assert learned_validity(8, 10, 2, strength=10.0) == pytest.approx(13 / 20)


def test_the_observer_learns_the_validity_from_the_trials_it_has_seen():
    task = Posner(validity=0.8)
    c = task.make_trials(400, seed=5).conditions
    valid = (c["condition"] == "valid").to_numpy()
    is_cued = c["condition"].isin(["valid", "invalid"]).to_numpy()
    n_valid = np.concatenate([[0], np.cumsum(valid)[:-1]])
    n_cued = np.concatenate([[0], np.cumsum(is_cued)[:-1]])
    expect = np.minimum((1 + n_valid) / (2 + n_cued), task.max_belief)
    shown = c["cued"].to_numpy() >= 0
    np.testing.assert_allclose(c["p_cued"].to_numpy()[shown], expect[shown])
    assert c["p_cued"].dropna().iloc[0] == 0.5          # first cue: chance, no bias
    assert c["p_cued"].dropna().iloc[-50:].mean() == pytest.approx(0.8, abs=0.04)
    # a nominal observer knows the validity from the start
    nominal = Posner(prior="nominal").make_trials(50, seed=5).conditions["p_cued"].dropna()
    assert (nominal == 0.8).all()


def test_at_chance_validity_the_learned_bias_wanders_around_zero():
    task = Posner(validity=0.5, noise=0.0)
    trials = task.make_trials(400, seed=9)
    c = trials.conditions
    p = c["p_cued"].dropna()
    assert (p > 0.5).any() and (p < 0.5).any()
    assert p.mean() == pytest.approx(0.5, abs=0.03)
    cue = round(task.cue_onset / task.dt)
    cued = c["cued"].to_numpy()
    sel = cued >= 0
    on_cued = trials.role("bias")[sel, cue, :][np.arange(sel.sum()), cued[sel]]
    assert on_cued.mean() == pytest.approx(0.0, abs=0.02)
    assert on_cued.std() > 0.005


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize("kwargs,message", [
    ({"validity": 0.4}, r"Posner.validity: expected a probability in \[1/K, 1\] = \[0.5, 1\] "
                        r"\(got 0.4\)"),
    ({"validity": 1.2}, r"Posner.validity: expected a probability in \[1/K, 1\] = \[0.5, 1\] "
                        r"\(got 1.2\)"),
    ({"k": 4, "validity": 0.2}, r"Posner.validity: .* \[0.25, 1\] \(got 0.2\)"),
    ({"catch_fraction": 1.0}, r"Posner.catch_fraction: expected a fraction in \[0, 1\) "
                              r"\(got 1.0\)"),
    ({"prior": "oracle"}, r"Posner.prior: expected one of \['learned', 'nominal'\] "
                          r"\(got 'oracle'\)"),
    ({"block_size": 0}, r"Posner.block_size: must be >= 1 \(got 0\)"),
    ({"leak": -0.1}, r"Posner.leak: must be > 0 s \(got -0.1\)"),
    ({"bound": 0.0}, r"Posner.bound: must be > 0 Hz s \(got 0.0\)"),
    ({"t_nd": 0.04}, r"Posner.t_nd: expected t_nd - t_nd_range/2 >= 0 s"),
    ({"max_belief": 1.0}, r"Posner.max_belief: expected a probability in \[0.5, 1\) "
                          r"\(got 1.0\)"),
])
def test_bad_parameters_are_refused_naming_the_parameter(kwargs, message):
    with pytest.raises(ValidationError, match=message):
        Posner(**kwargs).make_trials(5)


def test_validity_one_and_chance_are_accepted():
    c = Posner(validity=1.0).make_trials(100, seed=1).conditions
    assert (c["condition"] != "invalid").all()
    c = Posner(validity=0.5).make_trials(100, seed=1).conditions
    assert {"valid", "invalid"} <= set(c["condition"])


# --------------------------------------------------------------------------- readout, score


def _synthetic(trials, task, latency=0.05, rate=60.0, base=8.0):
    """Rates: ``base`` everywhere; ``rate`` at the target from ``latency`` after onset."""
    bins = int(round(task.duration / W))
    r = np.full((trials.n, bins, task.k), base)
    on = int(round((task.target_onset + latency) / W))
    for t, tgt in enumerate(trials.conditions["target"]):
        if tgt >= 0:
            r[t, on:, tgt] = rate
    return r


def _recording(rates):
    names = tuple(f"item{i}" for i in range(rates.shape[2]))
    return Recording(rates, W, names, roles={"items": names})


def test_readout_interpolates_the_crossing_and_adds_the_trials_nondecision_time():
    task = Posner()
    trials = task.make_trials(40, seed=4)
    out = task.readout(_recording(_synthetic(trials, task)), trials)
    tc = trials.conditions
    has = (tc["target"] >= 0).to_numpy()
    assert (out["choice"].to_numpy()[has] == tc["target"].to_numpy()[has]).all()
    assert (out["choice"].to_numpy()[~has] == -1).all()
    excess = 60.0 - task.criterion
    dt_expect = 0.05 - task.leak * math.log(1 - task.bound / (excess * task.leak))
    np.testing.assert_allclose(out["decision_time"].to_numpy()[has], dt_expect, rtol=1e-9)
    np.testing.assert_allclose(out["rt"].to_numpy()[has],
                               dt_expect + trials.extra["t_nd"][has], rtol=1e-9)
    # RTs are not quantised to the 5 ms rate bin
    assert len(np.unique(np.round(out["rt"].to_numpy()[has] / 1e-4))) > 10


def test_score_counts_anticipations_false_alarms_and_misses_as_errors_and_keeps_error_rts():
    task = Posner()
    trials = task.make_trials(200, seed=6)
    rates = _synthetic(trials, task)
    c = trials.conditions
    valid = np.flatnonzero(c["condition"] == "valid")
    invalid = np.flatnonzero(c["condition"] == "invalid")
    catch = np.flatnonzero(c["condition"] == "catch")
    neutral = np.flatnonzero(c["condition"] == "neutral")
    rates[valid[0], :, :] = 200.0                       # responds before the target: anticipation
    i = invalid[0]                                     # the cued location wins: wrong location
    rates[i, :, c.loc[i, "cued"]] = 200.0
    rates[i, :int(round(task.target_onset / W)) + 2, :] = 8.0
    rates[catch[0], :, 0] = 200.0                      # a response without a target
    rates[neutral[0], :, :] = 8.0                      # nothing crosses: a miss
    res = task.score(trials, _recording(rates), seed=6)
    tab = res.table
    assert tab.loc[valid[0], "outcome"] == "anticipation" and not tab.loc[valid[0], "correct"]
    assert tab.loc[valid[0], "decision_time"] < 0
    assert tab.loc[i, "outcome"] == "wrong_location" and np.isfinite(tab.loc[i, "rt"])
    assert tab.loc[catch[0], "outcome"] == "false_alarm"
    assert tab.loc[neutral[0], "outcome"] == "miss" and math.isnan(tab.loc[neutral[0], "rt"])
    s = res.summary.set_index("condition")
    n_catch = len(catch)
    assert s.loc["catch", "accuracy"] == pytest.approx(1 - 1 / n_catch)
    assert res.effect("false_alarms").estimate == pytest.approx(1 / n_catch)
    assert s.loc["invalid", "accuracy"] == pytest.approx(1 - 1 / len(invalid))
    # condition means are over correct trials only: the error RT does not move them
    ok = tab[(tab["condition"] == "invalid") & tab["correct"]]
    assert s.loc["invalid", "rt_mean"] == pytest.approx(ok["rt"].mean())
    assert s.loc["invalid", "anticipations"] == 0.0
    assert s.loc["neutral", "misses"] == pytest.approx(1 / len(neutral))


def test_effects_are_held_to_the_published_bands_and_undefined_without_invalid_trials():
    task = Posner(validity=1.0)
    trials = task.make_trials(100, seed=2)
    res = task.score(trials, _recording(_synthetic(trials, task)), seed=2)
    names = [e.name for e in res.effects]
    assert names == ["rt_neutral", "benefit_rt", "cost_rt", "validity_rt", "accuracy_valid",
                     "accuracy_neutral", "accuracy_invalid", "accuracy_validity",
                     "false_alarms"]
    # a target that stays on: the data-limited accuracy effect is reported, not held
    assert res.effect("accuracy_validity").passed is None
    for name in ("cost_rt", "validity_rt", "accuracy_invalid"):
        e = res.effect(name)
        assert math.isnan(e.estimate) and e.passed is None, e
    assert res.effect("rt_neutral").band == TARGETS["posner.rt_neutral"].band
    assert res.effect("benefit_rt").passed is None  # validity 1: not the bands' 80 %
    assert res.effect("false_alarms").passed is True


def _cued_latencies(trials, task, latency):
    """Rates of a detector whose latency depends on the condition (``latency[cond]``)."""
    rates = _synthetic(trials, task, latency=0.0)
    bins = rates.shape[1]
    t = np.arange(bins) * W
    for i, row in trials.conditions.iterrows():
        if row["target"] >= 0:
            late = t < task.target_onset + latency[row["condition"]] - W / 2
            rates[i, late, row["target"]] = 8.0
    return _recording(rates)


def test_rt_bands_are_held_at_the_papers_validity_and_reported_at_others():
    """The benefit (20-50 ms), cost (20-80 ms) and validity-effect bands are Posner's for
    80 % valid cues; at 0.7 the same recording's effects are reported without a verdict
    (the series holds their growth), while RT level, accuracy and false alarms stay held.
    With a brief target the benefit and cost are reported without a verdict; the validity
    effect's direction (80 % valid cues) and the accuracy effect (an informative cue) are
    held."""
    lat = {"valid": 0.02, "neutral": 0.05, "invalid": 0.09}  # benefit 30 ms, cost 40 ms,
    # give or take the ~1 ms between the conditions' mean non-decision times
    for validity in (0.8, 0.7):
        task = Posner(validity=validity)
        trials = task.make_trials(200, seed=3)
        res = task.score(trials, _cued_latencies(trials, task, lat), seed=3)
        assert res.effect("benefit_rt").estimate == pytest.approx(0.03, abs=3e-3)
        assert res.effect("cost_rt").estimate == pytest.approx(0.04, abs=3e-3)
        for name in ("benefit_rt", "cost_rt", "validity_rt"):
            e = res.effect(name)
            if validity == 0.8:
                assert e.passed is True and e.null == 0.0, e
            else:
                assert e.passed is None and "80% valid cues, validity 0.7 here" in e.target, e
        assert res.effect("rt_neutral").band == TARGETS["posner.rt_neutral"].band
        for name in ("accuracy_valid", "accuracy_invalid", "false_alarms"):
            assert res.effect(name).passed is True, res.effect(name)
    for validity, held in ((0.5, False), (0.8, True)):
        task = Posner(validity=validity, target_duration=0.15)
        trials = task.make_trials(60, seed=3)
        res = task.score(trials, _cued_latencies(trials, task, lat), seed=3)
        assert (res.effect("accuracy_validity").passed is not None) == held
        # a brief target: slower (held at 80 %), but the sizes are detection's bands
        assert (res.effect("validity_rt").passed is not None) == held
        for name in ("benefit_rt", "cost_rt"):
            assert res.effect(name).passed is None, res.effect(name)
            assert held is False or "a brief target" in res.effect(name).target


def test_validity_series_gives_rho_over_the_finite_validities():
    def fake(est):
        e = Effect("validity_rt", est, est - 0.01, est + 0.01, "s", "", None)
        return TaskResult(None, (e,), None)

    grows = {0.9: fake(0.11), 0.5: fake(0.0), 0.6: fake(0.02), 0.7: fake(0.04),
             0.8: fake(0.05), 1.0: fake(math.nan)}
    out = validity_series(grows)
    assert list(out["table"]["validity"]) == [0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
    assert out["rho"] == pytest.approx(1.0) and out["effect"].passed is True
    swapped = validity_series({**grows, 0.7: fake(0.05), 0.8: fake(0.04)})
    assert swapped["rho"] == pytest.approx(0.9)
    line = validity_series({v: fake(0.3 * v - 0.15) for v in (0.5, 0.6, 0.7, 0.8, 0.9)})
    assert line["r2_linear"] == pytest.approx(1.0)
    assert 0.5 < out["r2_linear"] < 1.0
    flat = validity_series({v: fake(0.05 - 0.01 * i) for i, v in enumerate((0.5, 0.6, 0.7,
                                                                           0.8, 0.9))})
    assert flat["rho"] == pytest.approx(-1.0) and flat["effect"].passed is False
    few = validity_series({0.5: fake(0.0), 0.7: fake(0.01), 0.9: fake(0.02)})
    assert few["rho"] == pytest.approx(1.0) and few["effect"].passed is None


# --------------------------------------------------------------------------- both tiers

SEED, TRIALS = 13, 500   # the defaults were tuned on seeds 1-5 with 400 trials


@pytest.fixture(scope="module")
def mechanism():
    from neuroattn.mechanisms import get_mechanism

    return get_mechanism("biased-competition")


def _run(mechanism, task, n, seed, tier):
    spec = task.spec()
    trials = task.make_trials(n, seed=seed)
    if tier == "spiking":
        agent = mechanism.agent("spiking", spec, "numba")
    else:
        cal = task.bridge_inputs(task.make_trials(60, seed=seed + 1000))
        fitted = mechanism.calibrate(spec, inputs=cal, backend="numba", seed=seed)
        agent = mechanism.agent("softmax", spec, "numba", fitted=fitted)
    return task.score(trials, agent.run(trials), seed=seed)


@pytest.mark.slow
@pytest.mark.parametrize("tier", ["spiking", "softmax"])
def test_published_effects_hold_on_both_tiers(mechanism, tier):
    res = _run(mechanism, Posner(), TRIALS, SEED, tier)
    for e in res.effects:
        assert e.passed or (e.band is None and e.null is None), (tier, e)
    s = res.summary.set_index("condition")
    assert s.loc["valid", "rt_mean"] < s.loc["neutral", "rt_mean"] < s.loc["invalid", "rt_mean"]


@pytest.mark.slow
@pytest.mark.parametrize("tier", ["spiking", "softmax"])
@pytest.mark.parametrize("name", ["biased-competition", "precision"])
def test_a_brief_target_makes_invalid_trials_slower_and_less_accurate(name, tier):
    # data-limited display (Prinzmetal, McCool & Park 2005): a brief target at the
    # uncued location often fails to reach the bound, so the informative cue costs
    # accuracy as well as time; checked at a seed and a duration the docs do not quote
    from neuroattn.mechanisms import get_mechanism

    res = _run(get_mechanism(name), Posner(target_duration=0.15), 300, SEED + 2, tier)
    assert res.effect("accuracy_validity").passed, res.effect("accuracy_validity")
    assert res.effect("accuracy_validity").estimate >= 0.05
    assert res.effect("validity_rt").estimate > 0.0
    s = res.summary.set_index("condition")
    assert s.loc["invalid", "accuracy"] < s.loc["neutral", "accuracy"] + 1e-9
    assert s.loc["valid", "accuracy"] >= 0.95
    assert res.effect("false_alarms").passed


@pytest.mark.slow
@pytest.mark.parametrize("tier", ["spiking", "softmax"])
def test_validity_effect_grows_with_validity_and_vanishes_at_chance(mechanism, tier):
    results = {v: _run(mechanism, Posner(validity=v), 300, SEED + 1, tier)
               for v in (0.5, 0.6, 0.7, 0.8, 0.9)}
    out = validity_series(results)
    assert out["rho"] >= 0.9 and out["effect"].passed, out["table"]
    assert out["r2_linear"] >= 0.85, out
    at_chance = results[0.5].effect("validity_rt")
    assert at_chance.ci_low < 0.0 < at_chance.ci_high, at_chance
    assert results[0.9].effect("validity_rt").estimate > 0.04
