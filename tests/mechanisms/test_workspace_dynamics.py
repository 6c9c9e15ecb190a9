"""The workspace's integration window (lag-1 sparing) and the blank-after-T1 control
on the softmax tier, and the inattentional-blindness task (trials, scoring oracle, the
spiking tier)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from neuroattn.exceptions import ValidationError
from neuroattn.mechanisms import get_mechanism
from neuroattn.mechanisms.workspace import WorkspaceCircuit, bridge
from neuroattn.model import Recording
from neuroattn.tasks import Blindness, Blink


def _layer_blink(params, lags, n, seed):
    import torch

    from neuroattn.mechanisms.workspace import WorkspaceLayer

    task = Blink(lags=lags, n_before=(1, 2), n_after=1)
    tr = task.make_trials(n, seed=seed)
    with torch.no_grad():
        r = WorkspaceLayer(params, "torch", max_step=8e-3)(
            torch.as_tensor(tr.role("evidence"), dtype=torch.float64),
            torch.as_tensor(tr.role("bias"), dtype=torch.float64), tr.dt).numpy()
    rec = Recording(r, tr.dt, ("i0", "i1", "i2"), roles={"items": ("i0", "i1", "i2")})
    res = task.score(tr, rec, seed)
    return res.summary.set_index(["paradigm", "lag"])["accuracy"]


def test_layer_blocks_after_a_competitor_and_spares_lag1_and_the_blank():
    """The layer with the circuit's inhibition (``to_softmax``: recruited by an ignition
    together with the competitors' pool, through its 125 ms synapses; rate, held rate,
    temperature, threshold and adaptation near a calibration's): T2 at lag 1
    ignites with T1, at the deepest of lags 2-4 it is blocked, at lag 7 seen; with a
    blank after T1 it is seen at lags 2-4 too. The same layer whose competitors act at
    once, or whose ignition recruits the inhibition alone, blocks T2 after the blank as
    well: the control comes from the competitor's slow drive."""
    c = WorkspaceCircuit(k=3)
    # a calibration's (seed 5): peak 41 Hz, an ignition holds 26 Hz
    adapt_onset, _ = bridge._onsets(c, 41.0)
    _, lateral_onset = bridge._onsets(c, 26.0)
    p = replace(bridge.to_softmax(c), rate=41.0, temperature=0.0016, threshold=1.64,
                adapt_gain=2.2, adapt_onset=adapt_onset,
                lateral_onset=lateral_onset, competition=bridge._competition(c, 26.0),
                lateral_power=bridge._lateral_power(c, 26.0))
    assert p.tau_compete == pytest.approx(c.tau_pi) and p.tau_block == pytest.approx(
        c.tau_block)
    # an ignition alone stays below the inhibition's onset; with a competitor above it
    assert 1.0 / (1.0 + p.competition) < p.lateral_onset < 0.9
    acc = _layer_blink(p, (1, 2, 3, 4, 7), 30, 2)
    deep = [acc["dual", lag] for lag in (2, 3, 4)]
    assert acc["dual", 1] == 1.0 and min(deep) == 0.0 and acc["dual", 7] == 1.0
    assert all(acc["t1_blank", lag] == 1.0 and acc["t1_ignored", lag] == 1.0
               for lag in (2, 3, 4))
    at_once = _layer_blink(replace(p, tau_compete=1e-3), (3,), 6, 2)
    assert at_once["t1_blank", 3] == 0.0 and at_once["t1_ignored", 3] == 1.0
    alone = _layer_blink(replace(p, competition=0.0, lateral_onset=0.5), (3,), 6, 2)
    assert alone["t1_blank", 3] == 0.0 and alone["t1_ignored", 3] == 1.0


# -- displays of many items at once -------------------------------------------------


def _display(n_trials=4, k=7, items=6, salience=2.65, seed=3):
    """A search-like display held for 0.6 s: ``items`` salient items (one a target, bias
    0; the rest conjunction distractors, bias -0.5), one empty location; 1 ms rows."""
    rng = np.random.default_rng(seed)
    stim = np.zeros((n_trials, 600, 2 * k))
    stim[:, :, :items] = salience + 0.3 * rng.normal(size=(n_trials, 1, items))
    stim[:, :, k + 1:k + items] = -0.5
    return stim


def test_a_display_of_many_items_ignites_one_through_the_saturating_pool():
    """Six salient items at once (search's displays): each item's competitor pool is
    saturated (the other processors at 80-100 Hz drive it hardly more than one
    competitor does), the inhibition stays below threshold until an assembly ignites,
    and then one item holds the workspace. (The processors' drive summed, or only
    averaged, charged every inhibition before anything ignited: 0 of 10 search inputs.)"""
    from neuroattn.backends import simulate
    from neuroattn.model import Stimulus, TaskSpec

    c = WorkspaceCircuit(k=7)
    m = c.spiking_model(TaskSpec("time", 7))
    rec = simulate(m.network, Stimulus(_display(), 1e-3, m.drives), dt=1e-4, seed=4,
                   backend="numba")
    names = list(rec.units)
    late = rec.times >= 0.2

    def rate(x):
        return rec.rates[:, late][:, :, [names.index(f"{x}{i}") for i in range(6)]].mean(1)

    w, pool, proc = rate("W"), rate("C"), rate("P")
    assert proc.min() > 60                                   # strongly driven processors
    one = bridge._competitor_rate(c, [1.0])[0]               # the pool at one unit
    assert np.all((pool > 0.85 * one) & (pool < 1.2 * one))  # saturated, not summed
    assert np.all(w.max(axis=1) > 15)                        # an item ignites ...
    assert np.all((w > 15).sum(axis=1) <= 2)                 # ... and holds the rest off


def test_layer_ignites_on_a_display_of_many_items_through_the_pool_saturation():
    """The layer with the circuit's inhibition (to_softmax, rate and onsets near a
    calibration's) ignites one item of the same display and holds the rest off; the
    competitors alone (their mean evidence, 2.2 units here) stay below the inhibition's
    onset through the pool's saturation, and would pass it if their drive were linear
    in their mean evidence."""
    import torch

    from neuroattn.mechanisms.workspace import WorkspaceLayer

    c = WorkspaceCircuit(k=7)
    _, lateral_onset = bridge._onsets(c, 30.0)
    p = replace(bridge.to_softmax(c), rate=41.0, temperature=0.0016, threshold=1.64,
                adapt_gain=2.2, lateral_onset=lateral_onset,
                competition=bridge._competition(c, 30.0),
                lateral_power=bridge._lateral_power(c, 30.0))
    stim = torch.as_tensor(_display())
    layer = WorkspaceLayer(p, "torch")
    with torch.no_grad():
        r = layer(stim[:, :, :7], stim[:, :, 7:], 1e-3).numpy()[:, 100:400, :6]
    assert np.all(r.max(axis=(1, 2)) > 15)                   # an item ignites ...
    assert np.all((r.max(axis=1) > 15).sum(axis=1) == 1)    # ... one only
    mean = torch.tensor(2.65 * 5 / 6, dtype=torch.float64)  # the others' mean evidence
    comp = p.competition / (1 + p.competition)
    with torch.no_grad():
        assert comp * float(layer._pooled(mean)) < p.lateral_onset < comp * float(mean)


# -- inattentional blindness ----------------------------------------------------------


def test_blindness_trials_and_validation():
    task = Blindness(noise=0.0)
    tr = task.make_trials(4, seed=0)
    ev, bias = tr.role("evidence"), tr.role("bias")
    on, probe = int(round(task.onset / tr.dt)), int(round(task.probe_onset / tr.dt))
    assert tr.conditions["condition"].tolist() == ["busy", "rest", "busy", "rest"]
    assert ev[0, on, 0] == task.primary and ev[0, on - 1, 0] == 0.0
    assert ev[1, :, 0].max() == 0.0                            # no primary at rest
    np.testing.assert_array_equal(ev[0, :, 1], ev[1, :, 1])    # the same probe
    assert ev[1, probe, 1] == task.probe and ev[1, probe - 1, 1] == 0.0
    assert np.all(bias[:, :, 0] == task.bias) and np.all(bias[:, :, 1] == task.probe_bias)
    assert task.duration == pytest.approx(task.probe_onset + task.window)
    assert np.all(bias[:, :, 2] == task.mask_bias)
    mask = int(round((task.onset + task.primary_duration) / tr.dt))
    for t in range(2):                                         # the same mask after the
        assert ev[t, mask, 2] == task.mask and ev[t, mask - 1, 2] == 0.0   # primary's slot
        assert ev[t, mask + int(round(task.mask_duration / tr.dt)), 2] == 0.0
    assert task.bridge_inputs(tr).shape == (8, 6)
    for kw, name in (({"delay": -0.1}, "Blindness.delay"), ({"probe": float("nan")},
                     "Blindness.probe"), ({"dt": 0.5}, "Blindness.dt"),
                     ({"noise": -1.0}, "Blindness.noise"),
                     ({"mask_duration": 0.0}, "Blindness.mask_duration")):
        with pytest.raises(ValidationError, match=name):
            Blindness(**kw).make_trials(2)


def _synthetic(task, trials, p_busy, p_rest, seed=0):
    """Primary ignites on every busy trial; the probe with probability p_busy / p_rest."""
    rng = np.random.default_rng(seed)
    bw = 5e-3
    times = np.arange(int(round(task.duration / bw))) * bw
    rates = np.zeros((trials.n, times.size, 2))
    for t, row in trials.conditions.iterrows():
        busy = row.condition == "busy"
        if busy:
            rates[t, (times >= task.onset + 0.1) & (times < task.onset + 0.4), 0] = 35.0
        if rng.random() < (p_busy if busy else p_rest):
            rates[t, (times >= task.probe_onset + 0.1) & (times < task.probe_onset + 0.3),
                  1] = 35.0
    return Recording(rates, bw, ("i0", "i1"), roles={"items": ("i0", "i1")})


def test_blindness_scoring_against_a_synthetic_oracle():
    task = Blindness()
    tr = task.make_trials(200, seed=1)
    res = task.score(tr, _synthetic(task, tr, 0.1, 0.8), seed=0)
    eff = res.effect("blindness_ratio")
    s = res.summary.set_index("condition")
    assert abs(s.loc["busy", "probe_seen"] - 0.1) < 0.08
    assert abs(s.loc["rest", "probe_seen"] - 0.8) < 0.1
    assert eff.passed and abs(eff.estimate - s.loc["busy", "probe_seen"]
                              / s.loc["rest", "probe_seen"]) < 1e-9
    assert s.loc["busy", "primary_seen"] == 1.0 and s.loc["rest", "primary_seen"] == 0.0
    # no blindness: the ratio near 1, refused
    same = task.score(tr, _synthetic(task, tr, 0.8, 0.8), seed=0).effect("blindness_ratio")
    assert not same.passed and same.ci_low < 1.0 < same.ci_high


@pytest.mark.parametrize("seed", [0, 5])
def test_blindness_follows_from_blocking_on_the_spiking_tier(seed):
    """With the per-trial state (the default): the probe ignites at rest on most trials
    and during the primary's ignition less than half as often -- only on the trials whose
    block is weak; at two seeds, 150 trials per condition."""
    task = Blindness()
    tr = task.make_trials(300, seed=seed)
    agent = get_mechanism("workspace").agent("spiking", task.spec(), "numba")
    res = task.score(tr, agent.run(tr), seed)
    s = res.summary.set_index("condition")
    assert s.loc["busy", "primary_seen"] >= 0.9 and s.loc["rest", "primary_seen"] == 0.0
    assert s.loc["rest", "probe_seen"] >= 0.6
    assert 0.0 < s.loc["busy", "probe_seen"] < 0.5 * s.loc["rest", "probe_seen"]
    # the busy probes that escaped met a weaker block than those that did not
    t = res.table[res.table.valid & (res.table.condition == "busy")]
    assert t.loc[t.probe_seen == 1, "state_block"].mean() < t.loc[
        t.probe_seen == 0, "state_block"].mean()


@pytest.mark.parametrize("seed", [0, 5])
def test_blindness_follows_from_blocking_on_the_spiking_tier_at_rest(seed):
    """Without the per-trial state (``state_sd`` 0, the circuit before it): the same probe
    ignites at rest on most trials and almost never while the primary's ignition holds
    the workspace; at two seeds."""
    task = Blindness()
    tr = task.make_trials(24, seed=seed)
    agent = get_mechanism("workspace").agent("spiking", task.spec(), "numba",
                                             params={"state_sd": 0.0})
    res = task.score(tr, agent.run(tr), seed)
    s = res.summary.set_index("condition")
    assert s.loc["busy", "primary_seen"] >= 0.9 and s.loc["rest", "primary_seen"] == 0.0
    assert s.loc["rest", "probe_seen"] >= 0.4
    assert s.loc["busy", "probe_seen"] < 0.5 * s.loc["rest", "probe_seen"]
