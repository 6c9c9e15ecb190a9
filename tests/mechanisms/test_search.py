"""Visual search: the closed-loop search (items and the quit unit competing) against an
analytic agent, the slopes' order and the quitting on both tiers of biased competition (at a
seed other than the default), bad input."""

import math

import numpy as np
import pytest

from neuroattn.exceptions import ValidationError
from neuroattn.mechanisms import get_mechanism
from neuroattn.model import Recording
from neuroattn.tasks import Search
from neuroattn.tasks.decision import race_to_bound
from neuroattn.tasks.search import _above, template_mismatch


class _RateAgent:
    """An agent whose item rates are a fixed function of the input (no noise, no
    competition): ``base + gain * max(evidence + bias, 0)`` Hz, in 5 ms bins."""

    def __init__(self, base=5.0, gain=30.0):
        self.base, self.gain = base, gain
        self.calls = 0

    def run(self, trials, progress=False):
        self.calls += 1
        u = trials.role("evidence").astype(float) + trials.role("bias").astype(float)
        return self._recording(trials, u)

    def _recording(self, trials, u):
        """Rates ``base + gain * max(u, 0)`` of input ``u`` [n, steps, k] in 5 ms bins."""
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


def _dwell(rate, task, bw=5e-3):
    """One selection's length (s): the crossing plus identification, cut at a bin edge."""
    return math.ceil((_crossing(rate, task) + task.identification) / bw - 1e-9) * bw


def test_search_against_an_analytic_agent():
    # no noise: priorities are exact, so every RT follows from the crossing formula
    task = Search(noise=0.0, priority_noise=0.0, t_nd_range=0.0, salience=1.4,
                  feature_contrast=1.5, guidance=1.2, quit_drive=0.2, quit_growth=0.6,
                  criterion=12.5, bound=1.0, leak=0.2, selection_window=0.1, onset=0.0,
                  identification=0.08, verification=0.1)
    trials = task.make_trials(96, seed=5)
    agent = _RateAgent()
    result = task.score(trials, task.run(agent, trials), seed=5)
    t = result.table
    # item inputs: salience 1.4 (target; + 1.5 for a feature singleton), 1.4 - guidance *
    # mismatch (distractors), the quit unit 0.2 + 0.6 ln(1 + j) after j rejected items.
    # With rate 5 + 30 u a feature target (u = 2.9) crosses; a feature distractor (u = 0.2)
    # and the quit unit at the start (11 Hz, below the 12.5 Hz criterion) never do
    on_target = _crossing(5 + 30 * (task.salience + task.feature_contrast), task)
    rows = t[(t["search_type"] == "feature") & t["present"]]
    assert np.allclose(rows["rt"], on_target + task.identification + task.verification
                       + task.t_nd, atol=1e-9)
    assert (rows["selections"] == 1).all()
    # feature absent: nothing crosses within the window, the activation threshold ends it
    rows = t[(t["search_type"] == "feature") & ~t["present"]]
    window = math.ceil(task.selection_window / 5e-3 - 1e-9) * 5e-3
    assert (rows["selections"] == 0).all() and (rows["response"] == "absent").all()
    assert np.allclose(rows["rt"], window + task.t_nd)
    # absent: each round selects item or quit unit in proportion to their rates, among the
    # units above the criterion (configuration items 47 Hz, conjunction distractors 29 Hz;
    # quit 11 + 18 ln(1 + w j) Hz after j rejections, each counting w = exp(quit_mismatch x
    # guidance x mismatch): 1 in configuration search, 1.82 in conjunction search), and the
    # first crossing, of the fastest unit, sets the time
    for stype, share_max in (("configuration", 0.8), ("conjunction", 0.6)):
        rows = t[(t["search_type"] == stype) & ~t["present"]]
        mismatch = template_mismatch(stype)
        item = 5 + 30 * (task.salience - task.guidance * mismatch)
        w = math.exp(task.quit_mismatch * task.guidance * mismatch)

        def quit_rate(j, w=w):
            return 5 + 30 * (task.quit_drive + task.quit_growth * math.log1p(w * j))

        expected, observed, var = [], [], []
        for _, row in rows.iterrows():
            n, s = int(row["set_size"]), int(row["selections"])
            fastest = [max(item if j < n else 0.0, quit_rate(j)) for j in range(s + 1)]
            rt = sum(_dwell(f, task) for f in fastest[:s])
            # every item rejected: nothing left to select, the search ends at onset;
            # else the quit unit's crossing ends it
            rt += task.onset if s == n else _crossing(fastest[s], task)
            assert row["response"] == "absent"
            assert math.isclose(row["rt"], rt + task.t_nd, abs_tol=1e-6), (row, rt)
            # the distribution of the number of items inspected before the quit unit wins
            p_go, dist = 1.0, []
            for j in range(n + 1):
                xq = quit_rate(j) if quit_rate(j) > task.criterion else 0.0
                p_quit = 1.0 if j == n else xq / (xq + (n - j) * item)
                dist.append(p_go * p_quit)
                p_go *= 1 - p_quit
            mean = sum(j * p for j, p in enumerate(dist))
            expected.append(mean)
            var.append(sum((j - mean) ** 2 * p for j, p in enumerate(dist)))
            observed.append(s)
        # the quit unit ends the big displays early, the sooner where guidance held the
        # rejected items down: far from exhaustive at 18 items
        assert sum(expected) < share_max * rows["set_size"].sum(), (stype, sum(expected))
        z = (sum(observed) - sum(expected)) / math.sqrt(sum(var))
        assert abs(z) < 3.5, (stype, z, sum(observed), sum(expected))
    assert (t["response"] != "none").all() and result.effect("false_alarms").estimate == 0


def test_a_search_ends_when_every_item_is_rejected():
    # a quit unit that never reaches the criterion (input -5: rate 0): only the items end
    # the search. Absent displays are searched exhaustively, and the last rejection ends
    # the search "absent" at onset into the next round, without the activation threshold's
    # wait (selection_window); nothing crosses in a feature-absent display, where the
    # window does end it
    task = Search(noise=0.0, priority_noise=0.0, t_nd_range=0.0, salience=1.4,
                  guidance=1.2, quit_drive=-5.0, onset=5e-3, set_sizes=(3, 6))
    trials = task.make_trials(72, seed=4)
    t = task.score(trials, task.run(_RateAgent(), trials), seed=4).table
    for stype in ("conjunction", "configuration"):
        rows = t[(t["search_type"] == stype) & ~t["present"]]
        item = 5 + 30 * (task.salience - task.guidance * template_mismatch(stype))
        assert (rows["selections"] == rows["set_size"]).all(), rows
        assert (rows["response"] == "absent").all()
        # n dwells (each starting after onset) and the onset of the round that finds
        # nothing left
        dwell = math.ceil((task.onset + _crossing(item, task) + task.identification)
                          / 5e-3 - 1e-9) * 5e-3
        expected = rows["set_size"] * dwell + task.onset + task.t_nd
        assert np.allclose(rows["rt"], expected, atol=1e-9), (rows["rt"], expected)
        # present displays: every target is found (nothing quits), misses are 0
        found = t[(t["search_type"] == stype) & t["present"]]
        assert (found["response"] == "present").all()
    rows = t[(t["search_type"] == "feature") & ~t["present"]]
    window = math.ceil((task.onset + task.selection_window) / 5e-3 - 1e-9) * 5e-3
    assert np.allclose(rows["rt"], window + task.t_nd)


class _BurstAgent(_RateAgent):
    """The rate agent with an onset burst: every unit, empty locations included, fires
    ``burst`` Hz in the first 5 ms bin of each selection round, before its rate follows
    the input (as the LIF circuit does before its shared inhibition arrives)."""

    def __init__(self, burst=60.0):
        super().__init__()
        self.burst = burst

    def run(self, trials, progress=False):
        rec = super().run(trials, progress)
        rates = rec.rates.copy()
        rates[:, 0, :] = self.burst
        return Recording(rates, rec.bin_width, rec.units, roles=rec.roles)


def test_the_selection_counts_from_onset_past_the_onset_burst():
    # feature search, no noise: the singleton (u = 2.9, 92 Hz) is the only item above the
    # 12.5 Hz criterion once the burst is over (distractors u = 0.2 and the quit unit,
    # 11 Hz)
    kw = dict(noise=0.0, priority_noise=0.0, salience=1.4, feature_contrast=1.5,
              guidance=1.2, quit_drive=0.2, search_types=("feature",), set_sizes=(3, 18),
              present_fraction=0.99)
    late = Search(onset=5e-3, **kw)
    trials = late.make_trials(48, seed=3)
    t = late.score(trials, late.run(_BurstAgent(), trials)).table
    # from onset on, the sample sees the competition only: the singleton always comes first
    assert (t.loc[t["present"], "selections"] == 1).all()
    # counting from the round's start, the burst makes every distractor eligible (mean
    # rate 27 Hz until the target's crossing at about 15 ms, against its 81 Hz): the
    # singleton is first on about 1 trial in 7 at 18 items, so search is no longer flat
    early = Search(onset=0.0, **kw)
    trials = early.make_trials(48, seed=3)
    t = early.score(trials, early.run(_BurstAgent(), trials)).table
    big = t[t["present"] & (t["set_size"] == 18)]
    assert big["selections"].mean() > 3, big["selections"].describe()


def test_the_spiking_selection_starts_past_the_inhibitions_overshoot():
    # feature search on the spiking circuit, first selection, target present among 17
    # distractors held below the criterion by the template (input 0.55). After the onset
    # burst (bin 0) the shared inhibition overshoots: in the second 5 ms bin the target is
    # held down and the distractors are lifted above their settled rates, and over the
    # ~12 ms until the target crosses, a distractor population's few spikes put it above
    # the criterion by chance -- every one that passes takes a share of the sample.
    # Counting from the default onset (two bins) lets fewer distractors in than from 5 ms,
    # so the singleton is selected first more often
    task = Search(search_types=("feature",), set_sizes=(3, 18), present_fraction=0.99)
    agent = get_mechanism("biased-competition").agent("spiking", task.spec(), "numba")
    trials = task.make_trials(128, seed=13)
    rates = agent.run(trials).role("items")
    bw = 5e-3
    target = trials.extra["target"]
    rows = np.flatnonzero((trials.conditions["set_size"].to_numpy() == 18) & (target >= 0))
    distractors = trials.extra["items"][rows].copy()
    distractors[np.arange(len(rows)), target[rows]] = False
    mean_d = ((rates[rows] * distractors[:, None, :]).sum(axis=2)
              / distractors.sum(axis=1)[:, None])
    settled = mean_d[:, 3:12].mean()
    assert mean_d[:, 1].mean() > 1.25 * settled, (mean_d[:, :4].mean(axis=0), settled)
    share, passed = {}, {}
    for onset in (5e-3, task.onset):
        choice, time = race_to_bound(rates[rows], bw, task.criterion, task.bound, start=onset,
                                     stop=onset + task.selection_window, leak=task.leak)
        assert (choice == target[rows]).all()  # the singleton crosses first either way
        x = np.array([_above(rates[r], bw, task.criterion, onset, float(t))
                      for r, t in zip(rows, time)])
        share[onset] = float(np.mean(x[np.arange(len(rows)), target[rows]] / x.sum(axis=1)))
        passed[onset] = float(((x > 0) & distractors).sum(axis=1).mean())
    # about 4 of the 17 distractors pass from 5 ms, 3 from 10 ms; the singleton's share
    # of the sample rises from about 0.57 to 0.67 (seeds 1, 2, 13)
    assert passed[task.onset] < 0.85 * passed[5e-3], passed
    assert share[task.onset] > share[5e-3] + 0.05, share


class _NoInhibitionAgent(_RateAgent):
    """The rate agent deaf to top-down bias: a rejected item is not held down, so it is
    selected and rejected again (as a mechanism whose bias scales rather than subtracts
    might do). It notes the quit unit's input in every round, per trial, and how many
    distinct items the task has marked rejected (top-down bias below -1)."""

    def __init__(self):
        super().__init__()
        self.quit_inputs, self.marked = {}, {}

    def run(self, trials, progress=False):
        u = trials.role("evidence").astype(float)
        bias = trials.role("bias").astype(float)
        for i, t in enumerate(trials.conditions["trial"]):
            self.quit_inputs.setdefault(int(t), []).append(float(u[i, :, -1].mean()))
            self.marked.setdefault(int(t), []).append(int((bias[i, 0, :-1] < -1).sum()))
        return self._recording(trials, u)


def test_every_rejection_counts_towards_quitting_an_item_rejected_again_too():
    # items stay at 35 Hz whatever was rejected, so they come up again; only the quit
    # unit's count can end a search, and it grows with each rejection, repeats included
    task = Search(noise=0.0, priority_noise=0.0, search_types=("configuration",),
                  set_sizes=(3, 18), salience=1.0, quit_growth=2.5)
    trials = task.make_trials(48, seed=11)
    agent = _NoInhibitionAgent()
    t = task.score(trials, task.run(agent, trials)).table
    assert (t["response"] != "none").all()
    repeated = 0
    for trial, inputs in agent.quit_inputs.items():
        # round r follows r rejections (each counting 1: nothing guides)
        expected = [task.quit_drive + task.quit_growth * math.log1p(r)
                    for r in range(len(inputs))]
        assert np.allclose(inputs, expected, atol=1e-5), (trial, inputs)
        # fewer distinct items marked than rejections: an item was rejected again
        repeated += any(m < r for r, m in enumerate(agent.marked[trial]))
    # the same items came up again on some trials
    assert repeated > 0


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
    trials = task.make_trials(96, seed=7)
    result = task.score(trials, task.run(agent, trials), seed=7)
    slope = {e.name: e.estimate * 1e3 for e in result.effects if e.name.startswith("slope_")}
    # guidance orders the slopes: feature flat, configuration steepest
    assert abs(slope["slope_feature_present"]) < 5, slope
    assert slope["slope_conjunction_present"] < slope["slope_configuration_present"], slope
    t = result.table
    found = t[t["present"] & (t["response"] == "present")]
    share = found.groupby("search_type").apply(
        lambda g: float((g["selections"] / g["set_size"]).mean()), include_groups=False)
    # the share of the display inspected before the target: least in feature search, about
    # half, (n + 1) / 2n, in configuration search, where nothing guides
    assert share["feature"] < share["conjunction"] < share["configuration"], share
    assert 0.4 < share["configuration"] < 0.8, share
    # absent: the quit unit wins before every item is inspected in the big displays,
    # later where the items are stronger (configuration) than where guidance holds them
    # down (conjunction), and at once in feature search
    absent = t[~t["present"] & (t["set_size"] == 18)].groupby("search_type")["selections"]
    inspected = absent.mean()
    assert inspected["feature"] < 3, inspected
    assert inspected["conjunction"] < inspected["configuration"] < 17.5, inspected
    assert inspected["configuration"] > 9, inspected
    # the absent slope about twice the present one where nothing guides
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
    ({"quit_drive": float("inf")}, "quit_drive"),
    ({"quit_growth": float("nan")}, "quit_growth"),
    ({"quit_mismatch": -1.0}, "quit_mismatch"),
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
