"""The Task and Mechanism contracts' own pieces: specs, trials, roles, effects, kappa."""

import math

import numpy as np
import pandas as pd
import pytest

from neuroattn.exceptions import ValidationError
from neuroattn.mechanisms import cohen_kappa, js_divergence
from neuroattn.model import Recording, TaskSpec, Trials
from neuroattn.tasks import Effect


def test_task_spec_lays_out_roles_and_checks_its_arguments():
    spec = TaskSpec("slots", 3, readouts=("items", "unit"), values=(1.0, 0.5, 0.0))
    assert spec.channels() == {"evidence": (0, 1, 2), "bias": (3, 4, 5)}
    assert spec.unit_names() == {"items": ("item0", "item1", "item2"), "unit": ("unit",)}
    assert spec.n_channels == 6
    with pytest.raises(ValidationError, match=r"TaskSpec.layout: expected one of \['space', "
                                              r"'time', 'slots'\] \(got 'grid'\)"):
        TaskSpec("grid", 2)
    with pytest.raises(ValidationError, match=r"TaskSpec.values: the 'unit' readout needs 2 "
                                              r"selectivities in \[0, 1\]"):
        TaskSpec("space", 2, readouts=("items", "unit"), values=(1.0, 1.5))
    with pytest.raises(ValidationError, match=r"TaskSpec.values: only the 'unit' readout"):
        TaskSpec("space", 2, values=(1.0, 0.5))


def test_trials_give_each_role_its_columns():
    spec = TaskSpec("space", 2)
    stim = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4)
    trials = Trials(stim, 1e-3, spec, pd.DataFrame({"trial": [0, 1]}), 0, "t")
    np.testing.assert_array_equal(trials.role("evidence"), stim[:, :, :2])
    np.testing.assert_array_equal(trials.role("bias"), stim[:, :, 2:])
    only = Trials(stim[:, :, :2], 1e-3, TaskSpec("space", 2, inputs=("evidence",)),
                  pd.DataFrame({"trial": [0, 1]}), 0, "t")
    assert not only.role("bias").any()  # a role the trials lack reads as zeros
    with pytest.raises(ValidationError, match=r"Trials.stimulus: expected shape \[trials, "
                                              r"steps, 4\]"):
        Trials(stim[:, :, :3], 1e-3, spec, pd.DataFrame(), 0, "t")


def test_recording_roles_select_units_in_their_order():
    rates = np.random.default_rng(0).random((2, 5, 3))
    rec = Recording(rates, 5e-3, ("unit", "item0", "item1"),
                    roles={"items": ("item0", "item1"), "unit": ("unit",)})
    np.testing.assert_array_equal(rec.role("items"), rates[:, :, 1:])
    np.testing.assert_array_equal(rec.select(["item1", "unit"]).role("unit"), rates[:, :, :1])
    with pytest.raises(ValidationError, match=r"Recording.roles\['items'\]: units \['item2'\] "
                                              r"are not recorded"):
        Recording(rates, 5e-3, ("a", "b", "c"), roles={"items": ("item2",)})
    with pytest.raises(ValidationError, match=r"no readout role 'slots'; this recording has "
                                              r"roles \['items', 'unit'\]"):
        rec.role("slots")


@pytest.mark.parametrize("est, lo, hi, band, null, passed", [
    (0.03, 0.02, 0.04, (0.02, 0.05), 0.0, True),
    (0.06, 0.05, 0.07, (0.02, 0.05), 0.0, False),   # outside the band
    (0.03, -0.01, 0.07, (0.02, 0.05), 0.0, False),  # CI includes the null
    (0.03, 0.01, 0.05, None, 0.0, True),            # direction only
    (0.95, 0.9, 1.0, (0.9, 1.0), None, True),       # band only
    (math.nan, math.nan, math.nan, (0.0, 1.0), None, None),
    (0.5, 0.4, 0.6, None, None, None),              # reported without a verdict
])
def test_effect_passes_when_in_band_and_ci_excludes_null(est, lo, hi, band, null, passed):
    e = Effect.held_to("x", est, lo, hi, "s", "text", band, null)
    assert e.passed is passed
    d = e.as_dict()
    assert d["band"] == (None if band is None else list(band))


def test_cohen_kappa_against_hand_computed_values():
    a = [0, 0, 1, 1, 1, 1, 0, 1]
    b = [0, 1, 1, 1, 0, 1, 0, 1]
    obs, chance, kappa = cohen_kappa(a, b)
    assert obs == 6 / 8
    # p_a(0)=3/8, p_b(0)=3/8; p_a(1)=p_b(1)=5/8
    assert chance == pytest.approx((3 / 8) ** 2 + (5 / 8) ** 2)
    assert kappa == pytest.approx((obs - chance) / (1 - chance))
    with pytest.raises(ValidationError, match="two labelings of equal, non-zero length"):
        cohen_kappa([0, 1], [0])


def test_js_divergence_oracles():
    assert js_divergence([0.5, 0.5], [0.5, 0.5]) == pytest.approx(0.0, abs=1e-15)
    assert js_divergence([1.0, 0.0], [0.0, 1.0]) == pytest.approx(math.log(2))


def test_trial_state_is_drawn_from_the_seed_and_the_trial_index():
    from neuroattn.mechanisms.base import TrialState, trial_states

    s = TrialState("arousal", 2.0, 0.5)
    v = s.values(7, 50)
    assert v.dtype == np.float64 and v.shape == (50,)
    np.testing.assert_array_equal(s.values(7, 20), v[:20])   # not the run's length
    assert not np.array_equal(s.values(8, 50), v)
    assert not np.array_equal(TrialState("arousal", 2.0, 0.5, stream=1).values(7, 50), v)
    assert abs(v.mean() - 2.0) < 0.3 and 0.3 < v.std() < 0.7
    trials = Trials(np.zeros((3, 2, 4), np.float32), 1e-3, TaskSpec("space", 2),
                    pd.DataFrame({"trial": [0, 1, 2]}), 7, "t")
    np.testing.assert_array_equal(trial_states((s,), trials)[:, 0], v[:3])
    assert trial_states((), trials).shape == (3, 0)
    with pytest.raises(ValidationError, match=r"TrialState\('arousal'\).sd: expected a "
                                              r"spread > 0 \(got 0.0\)"):
        TrialState("arousal", 1.0, 0.0)
    with pytest.raises(ValidationError, match=r"TrialState\('arousal'\).mean: expected a "
                                              r"finite number \(got nan\)"):
        TrialState("arousal", float("nan"), 1.0)
    with pytest.raises(ValidationError, match=r"TrialState.name: expected a non-empty str"):
        TrialState("", 1.0, 1.0)


def test_a_recorded_state_goes_into_the_trial_table():
    from neuroattn.tasks.base import add_subject_state

    rec = Recording(np.zeros((2, 3, 1)), 5e-3, ("a",), meta={"state": {"block": [1.0, 2.0]}})
    table = pd.DataFrame({"trial": [0, 1]})
    add_subject_state(table, rec)
    assert table["state_block"].tolist() == [1.0, 2.0]
    plain = pd.DataFrame({"trial": [0, 1]})
    add_subject_state(plain, Recording(np.zeros((2, 3, 1)), 5e-3, ("a",)))
    assert list(plain) == ["trial"]
    with pytest.raises(ValidationError, match=r"Recording.meta\['state'\]\['block'\]: "
                                              r"expected one value per trial \(3\)"):
        add_subject_state(pd.DataFrame({"trial": [0, 1, 2]}), rec)
