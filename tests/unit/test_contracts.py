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
