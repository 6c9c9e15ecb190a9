"""Attention scaling of orientation tuning (McAdams & Maunsell 1999) at both tiers."""

import numpy as np
import pytest

from neuroattn.exceptions import ValidationError
from neuroattn.mechanisms import get_mechanism
from neuroattn.model import Recording
from neuroattn.tasks import TASKS, Gain
from neuroattn.tasks.gain import fit_tuning


def test_registered_with_the_other_tasks():
    assert TASKS["gain"] is Gain


def test_trials_show_one_orientation_with_centred_attention():
    task = Gain(n_orientations=4, tuning_width=40.0, contrast=1.5, attention_bias=0.8)
    np.testing.assert_allclose(task.offsets(), [0, 45, 90, -45])
    np.testing.assert_allclose(task.spec().values,
                               np.exp(-np.array([0, 45, 90, 45.0]) ** 2 / (2 * 40.0 ** 2)))
    trials = task.make_trials(16, seed=2)
    assert trials.stimulus.shape == (16, 450, 8)
    cond = trials.conditions
    assert cond["item"].tolist()[:8] == [0, 0, 1, 1, 2, 2, 3, 3]
    assert cond["attended"].tolist()[:4] == [False, True, False, True]
    u = task.bridge_inputs(trials)
    for t in range(8):
        k, att = cond.loc[t, "item"], cond.loc[t, "attended"]
        evidence, bias = np.zeros(4), np.zeros(4)
        evidence[k] = 1.5
        if att:
            bias = 0.8 * (np.eye(4)[k] - 0.25)
        # the bridge sees each role apart: evidence then bias
        np.testing.assert_allclose(u[t], np.concatenate([evidence, bias]), atol=0.06)
    bias = trials.role("bias")
    np.testing.assert_allclose(bias.sum(axis=2), 0.0, atol=1e-6)
    np.testing.assert_array_equal(task.make_trials(3, seed=2).stimulus, trials.stimulus[:3])


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"n_orientations": 3}, r"Gain.n_orientations: must be >= 4 \(got 3\)"),
    ({"tuning_width": 120.0}, r"Gain.tuning_width: expected degrees in \(0, 90\]"),
    ({"contrast": 0.0}, r"Gain.contrast: must be > 0"),
    ({"window": 1.0}, r"Gain.window: must fit after the onset"),
    ({"noise": -1.0}, r"Gain.noise: must be >= 0"),
])
def test_bad_parameters_name_themselves(kwargs, match):
    with pytest.raises(ValidationError, match=match):
        Gain(**kwargs).make_trials(4)


def test_seconds_accept_brian2_quantities():
    b2 = pytest.importorskip("brian2")
    assert Gain(duration=500 * b2.ms) == Gain(duration=0.5)
    with pytest.raises(ValidationError, match=r"Gain.dt"):
        Gain(dt=1 * b2.mV)


def test_fit_tuning_recovers_gaussians_per_curve():
    d = np.array([0.0, 30, 60, 90, -60, -30])
    curves = np.stack([3 + 20 * np.exp(-d ** 2 / (2 * 28.0 ** 2)),
                       7 + 30 * np.exp(-d ** 2 / (2 * 45.0 ** 2))])
    base, amp, sigma = fit_tuning(d, curves)
    np.testing.assert_allclose(base, [3, 7], atol=0.05)
    np.testing.assert_allclose(amp, [20, 30], rtol=0.01)
    np.testing.assert_allclose(sigma, [28, 45], rtol=0.01)


def _recording(task, trials, gain, width_att, seed=0):
    """Unit rates: Gaussian tuning, the attended curve scaled by ``gain`` (+ noise)."""
    rng = np.random.default_rng(seed)
    d = task.offsets()[trials.conditions["item"].to_numpy()]
    att = trials.conditions["attended"].to_numpy()
    width = np.where(att, width_att, 30.0)
    mean = 10 + 30 * np.where(att, gain, 1.0) * np.exp(-d ** 2 / (2 * width ** 2))
    k = task.n_orientations
    rates = np.full((trials.n, 90, k + 1), 15.0)
    rates[:, :, k] = (mean + rng.normal(0, 2.0, trials.n))[:, None]
    items = tuple(f"item{i}" for i in range(k))
    return Recording(rates, 0.005, items + ("unit",), roles={"items": items, "unit": ("unit",)})


def test_gain_and_width_follow_the_fitted_gaussians():
    task = Gain()
    trials = task.make_trials(600, seed=3)
    res = task.score(trials, _recording(task, trials, 1.3, 30.0), seed=3)
    ratio, width = res.effect("amplitude_ratio"), res.effect("width_change")
    assert ratio.estimate == pytest.approx(1.3, abs=0.05) and ratio.passed
    assert abs(width.estimate) < 0.05 and width.passed
    assert res.effect("baseline_change").estimate == pytest.approx(0.0, abs=1.0)
    # a narrower attended curve is a width change, not a gain
    res = task.score(trials, _recording(task, trials, 1.0, 22.0), seed=3)
    assert res.effect("width_change").estimate == pytest.approx(22 / 30 - 1, abs=0.06)
    assert res.effect("width_change").passed is False
    assert res.effect("amplitude_ratio").passed is False


def test_published_effects_on_both_tiers_off_the_tuned_defaults():
    """Issue targets at a contrast, tuning width, seed and trial count not the defaults."""
    task = Gain(contrast=1.8, tuning_width=35.0)
    mech = get_mechanism("biased-competition")
    spec = task.spec()
    trials = task.make_trials(300, seed=9)
    fitted = mech.calibrate(spec, inputs=task.bridge_inputs(task.make_trials(60, seed=509)),
                            backend="numba", seed=9)
    for tier, agent in (("spiking", mech.agent("spiking", spec, "numba")),
                        ("softmax", mech.agent("softmax", spec, "numba", fitted=fitted))):
        res = task.score(trials, agent.run(trials), seed=9)
        assert res.effect("amplitude_ratio").passed, (tier, res.effect("amplitude_ratio"))
        assert res.effect("width_change").passed, (tier, res.effect("width_change"))
