"""Visual search: the closed-loop search against an analytic agent, the slopes' order and
bands on both tiers of biased competition (at a seed other than the default), bad input."""

import math

import numpy as np
import pytest

from neuroattn.exceptions import ValidationError
from neuroattn.mechanisms import get_mechanism
from neuroattn.model import Recording
from neuroattn.tasks import Search


class _RateAgent:
    """An agent whose item rates are a fixed function of the input (no noise, no
    competition): ``base + gain * max(evidence + bias, 0)`` Hz, in 5 ms bins."""

    def __init__(self, base=5.0, gain=30.0):
        self.base, self.gain = base, gain
        self.calls = 0

    def run(self, trials, progress=False):
        self.calls += 1
        u = trials.role("evidence").astype(float) + trials.role("bias").astype(float)
        per_bin = int(round(5e-3 / trials.dt))
        n, steps, k = u.shape
        u = u[:, : steps // per_bin * per_bin].reshape(n, -1, per_bin, k).mean(axis=2)
        names = trials.spec.unit_names()
        return Recording(self.base + self.gain * np.maximum(u, 0.0), 5e-3, names["items"],
                         roles=names)


def _crossing(rate, task):
    """Time (s) a constant rate takes to drive the leaky accumulator to the bound."""
    e = rate - task.criterion
    return -task.leak * math.log(1.0 - task.bound / (e * task.leak))


def test_search_against_an_analytic_agent():
    # no noise: priorities are exact, so every RT follows from the crossing formula
    task = Search(noise=0.0, priority_noise=0.0, t_nd_range=0.0)
    trials = task.make_trials(48, seed=5)
    agent = _RateAgent()
    result = task.score(trials, task.run(agent, trials), seed=5)
    t = result.table
    # item inputs: salience 1.4 (target), 1.4 - guidance * mismatch (distractors);
    # with rate 5 + 30 u a feature target (u = 2.4) crosses, a feature distractor (u = 0.2,
    # 11 Hz, below the 12.5 Hz criterion) never does
    on_target = _crossing(5 + 30 * (task.salience + task.feature_contrast), task)
    rows = t[(t["search_type"] == "feature") & t["present"]]
    # each episode is cut at the bin that ends identification
    assert np.allclose(rows["rt"], on_target + task.identification + task.verification
                       + task.t_nd, atol=1e-9)
    assert (t.loc[t["search_type"] == "feature", "selections"]
            == t.loc[t["search_type"] == "feature", "present"].astype(int)).all()
    # configuration, absent: every item is selected once (inhibition of the rejected
    # ones), then the search quits after a window without a selection
    conf = t[(t["search_type"] == "configuration") & ~t["present"]]
    assert (conf["selections"] == conf["set_size"]).all()
    dwell = math.ceil((_crossing(5 + 30 * task.salience, task) + task.identification)
                      / 5e-3 - 1e-9) * 5e-3
    window = math.ceil(task.selection_window / 5e-3 - 1e-9) * 5e-3
    assert np.allclose(conf["rt"], conf["set_size"] * dwell + window + task.t_nd)
    assert (t["response"] != "none").all() and result.effect("false_alarms").estimate == 0
    assert agent.calls == max(task.set_sizes) + 1


def test_an_open_loop_recording_is_read_without_error():
    # the conformance suite runs agents open-loop: one selection, then the recording ends
    task = Search(noise=0.0, priority_noise=0.0)
    trials = task.make_trials(24, seed=2)
    result = task.score(trials, _RateAgent().run(trials))
    assert len(result.table) == 24
    assert set(result.table["response"]) <= {"present", "absent", "none"}


@pytest.fixture(scope="module")
def small_design():
    # the smallest and largest set sizes of the paradigm: the network has its 18
    # locations (the competition among many items is what sets the dwell), and two
    # sizes keep the test short
    return Search(set_sizes=(3, 18))


@pytest.mark.slow
@pytest.mark.parametrize("tier", ["spiking", "softmax"])
def test_slopes_follow_guidance_on_both_tiers(small_design, tier):
    task = small_design
    mech = get_mechanism("biased-competition")
    spec = task.spec()
    if tier == "spiking":
        agent = mech.agent("spiking", spec, "numba")
    else:
        agent = mech.agent("softmax", spec, "numba", fitted=mech.to_softmax(spec))
    trials = task.make_trials(120, seed=7)
    result = task.score(trials, task.run(agent, trials), seed=7)
    slope = {e.name: e.estimate * 1e3 for e in result.effects if e.name.startswith("slope_")}
    # guidance orders the slopes: feature flat, configuration steepest
    assert abs(slope["slope_feature_present"]) < 5, slope
    assert abs(slope["slope_feature_absent"]) < 10, slope
    assert slope["slope_conjunction_present"] < slope["slope_configuration_present"], slope
    t = result.table
    found = t[t["present"] & (t["response"] == "present")]
    share = found.groupby("search_type").apply(
        lambda g: float((g["selections"] / g["set_size"]).mean()), include_groups=False)
    # the share of the display inspected before the target: least in feature search, about
    # half, (n + 1) / 2n, in configuration search, where nothing guides
    assert share["feature"] < share["conjunction"] < share["configuration"], share
    assert 0.4 < share["configuration"] < 0.8, share
    # exhaustive configuration search: one dwell per item; the absent slope about
    # twice the present one
    assert 60 < slope["slope_configuration_absent"] < 130, slope
    assert slope["slope_configuration_absent"] > 1.3 * slope["slope_configuration_present"]
    assert result.effect("false_alarms").passed


@pytest.mark.parametrize("kwargs, name", [
    ({"set_sizes": (3,)}, "set_sizes"),
    ({"set_sizes": (3, 3)}, "set_sizes"),
    ({"set_sizes": (1, 6)}, "set_sizes"),
    ({"search_types": ("pop-out",)}, "search_types"),
    ({"search_types": ()}, "search_types"),
    ({"present_fraction": 1.0}, "present_fraction"),
    ({"guidance": -1.0}, "guidance"),
    ({"bound": 0.0}, "bound"),
    ({"selection_window": 0.0}, "selection_window"),
    ({"t_nd": 0.01, "t_nd_range": 0.1}, "t_nd"),
    ({"priority_noise": "lots"}, "priority_noise"),
])
def test_bad_parameters_are_refused_naming_them(kwargs, name):
    with pytest.raises(ValidationError, match=f"Search.{name}"):
        Search(**kwargs).make_trials(4)


def test_bad_calls_are_refused():
    task = Search()
    with pytest.raises(ValidationError, match="make_trials.n"):
        task.make_trials(0)
    trials = task.make_trials(4, seed=1)
    rec = _RateAgent().run(trials)
    with pytest.raises(ValidationError, match="Search.readout.trials"):
        task.readout(rec)
    from neuroattn.tasks import Posner

    other = Posner(k=18).make_trials(2)
    with pytest.raises(ValidationError, match="Search.run.trials"):
        task.run(_RateAgent(), other)
