"""Change detection (Luck & Vogel 1997; Cowan 2001) with the working-memory mechanism."""

import math

import numpy as np
import pytest
import torch

from neuroattn.exceptions import ValidationError
from neuroattn.mechanisms import get_mechanism
from neuroattn.mechanisms.memory import (MemoryCircuit, SlotMemory, SlotParams, calibrate,
                                         to_softmax)
from neuroattn.model import Recording, TaskSpec
from neuroattn.tasks import TASKS, Capacity
from neuroattn.tasks.capacity import cowan_k

#: a small design that still has set sizes on both sides of the limit
SMALL = dict(set_sizes=(1, 3, 6, 12), features=(1,))


def _recording(trials, rates_per_trial):
    """A Recording whose item rates hold ``rates_per_trial`` [trials, locations] throughout."""
    bins = int(round(Capacity().duration / 5e-3))
    rates = np.repeat(np.asarray(rates_per_trial, float)[:, None, :], bins, axis=1)
    spec = trials.spec
    return Recording(rates, 5e-3, spec.unit_names()["items"], roles=spec.unit_names())


def _presented(trials):
    out = np.zeros((trials.n, trials.spec.n_items))
    for t, locs in enumerate(trials.conditions["locations"]):
        out[t, [int(x) for x in locs.split()]] = 1.0
    return out


def _held(result, sizes, kind="feature"):
    s = result.summary
    s = s[s["objects"] == kind].set_index("set_size")
    return np.array([s.loc[n, "held"] for n in sizes])


def test_registered():
    assert TASKS["capacity"] is Capacity
    m = get_mechanism("working-memory")
    assert m.supports(Capacity().spec()) is None
    assert "slots" in m.supports(TaskSpec("space", 2))


def test_trials_pair_feature_and_conjunction_and_depend_only_on_seed_and_index():
    task = Capacity()
    a = task.make_trials(56, seed=4)
    b = task.make_trials(8, seed=4)
    np.testing.assert_array_equal(a.stimulus[:8], b.stimulus)
    c = a.conditions
    for col in ("set_size", "change", "probe", "guess_draw", "locations"):
        assert (c[col].to_numpy()[0::2] == c[col].to_numpy()[1::2]).all(), col
    assert (c["objects"].iloc[0::2] == "feature").all()
    assert (c["objects"].iloc[1::2] == "conjunction").all()
    # every set size and change/no-change appears equally often in one cycle of 28
    assert c.groupby(["set_size", "change", "objects"]).size().eq(2).all()
    # the sample drives exactly the sampled locations; the bias is zero
    ev = a.role("evidence")
    on = int(round(task.fixation / task.dt)), int(round((task.fixation + task.sample) / task.dt))
    sample = ev[:, on[0]:on[1]].mean(axis=1)
    assert np.all(np.abs(sample - task.contrast * _presented(a)) < 0.25)
    assert not a.role("bias").any()
    # a conjunction averages two feature channels: half the noise variance
    noise = ev[:, on[1]:]
    ratio = noise[1::2].var() / noise[0::2].var()
    assert 0.4 < ratio < 0.6


def test_cowan_k_oracle_from_synthetic_recordings():
    task = Capacity(**SMALL)
    trials = task.make_trials(160, seed=2)
    presented = _presented(trials)
    # every presented item held: H = 1, FA = 0, K = N exactly
    res = task.score(trials, _recording(trials, 60.0 * presented), seed=2)
    assert np.allclose(res.summary["k"], res.summary["set_size"])
    assert np.allclose(res.summary["held"], res.summary["set_size"])
    # nothing held: the answer is the guess, so H = FA in expectation and K = 0 when
    # the observer always (guess=1) or never (guess=0) guesses 'change'
    for guess in (0.0, 1.0):
        t = Capacity(**SMALL, guess=guess)
        r = t.score(trials, _recording(trials, np.zeros_like(presented)), seed=2)
        assert np.allclose(r.summary["k"], 0.0)
    # exactly the two lowest sampled locations held: E[K] = min(N, 2)
    two = np.zeros_like(presented)
    for i, row in enumerate(presented):
        two[i, np.flatnonzero(row)[:2]] = 60.0
    r = task.score(trials, _recording(trials, two), seed=2)
    assert np.allclose(r.summary["held"], np.minimum(r.summary["set_size"], 2))
    assert cowan_k(8, 0.75, 0.25) == 4.0


def test_spiking_tier_on_numba_holds_n_up_to_three_and_plateaus_at_another_seed():
    task = Capacity(**SMALL)
    trials = task.make_trials(56, seed=17)
    agent = get_mechanism("working-memory").agent("spiking", task.spec(), "numba")
    res = task.score(trials, task.run(agent, trials), seed=17)
    small = res.summary[res.summary["set_size"] <= 3]
    # a small load is held without loss: hits 1, no false alarms, K = N
    assert np.all(np.abs(small["k"] - small["set_size"]) <= 0.5)
    assert res.effect("k_small_error_feature").passed
    held = _held(res, (6, 12))
    # the limit comes from the dynamics: not every item of a large array survives the
    # delay, and yet 3-5 of them do
    assert np.all(held < np.array([6, 12]) - 0.5)
    assert 3.0 <= held.mean() <= 5.0


def test_softmax_tier_calibrated_holds_n_up_to_three_and_plateaus_as_the_circuit():
    task = Capacity(**SMALL)
    mech = get_mechanism("working-memory")
    spec = task.spec()
    # calibrated as `compare` does it: on 60 of the full task's sample arrays
    full = Capacity()
    fitted = mech.calibrate(spec, full.bridge_inputs(full.make_trials(60, seed=1_000_006)),
                            seed=6)
    # the rate noise measured in calibration is the counting noise of an assembly's 20
    # neurons (1 / sqrt(20) = 0.224), within a fifth
    assert abs(fitted.noise - 20 ** -0.5) < 0.2 * 20 ** -0.5, fitted
    trials = task.make_trials(112, seed=6)
    # the float64 reference attention (the numba kernel agrees with it: see
    # test_slot_memory_layer_matches_its_numpy_reference and the conformance suite)
    agent = mech.agent("softmax", spec, "reference", fitted=fitted)
    res = task.score(trials, task.run(agent, trials), 6)
    small = res.summary[res.summary["set_size"] <= 3]
    assert np.all(np.abs(small["k"] - small["set_size"]) <= 0.5)
    held = _held(res, (6, 12))
    assert np.all(held < np.array([6, 12]) - 0.5)
    assert 3.0 <= held.mean() <= 5.0
    # the layer holds as many items as the circuit it was calibrated on, on the same trials
    spiking = task.score(trials, task.run(mech.agent("spiking", spec, "numba"), trials), 6)
    assert abs(held.mean() - _held(spiking, (6, 12)).mean()) <= 0.5, (held, _held(spiking,
                                                                                (6, 12)))


def test_the_layers_noise_is_drawn_from_the_trials_seed_and_resolves_the_competition():
    """Without its rate noise the layer's competition has nothing to pick survivors by: an
    overfull array is held whole or lost whole. With it, part of the array survives."""
    task = Capacity(set_sizes=(1, 12), features=(1,), noise=0.0)
    mech = get_mechanism("working-memory")
    spec = task.spec()
    fitted = to_softmax(MemoryCircuit(k=12))
    assert math.isclose(fitted.noise, 20 ** -0.5) and math.isclose(fitted.tau_in, 20e-3)
    agent = mech.agent("softmax", spec, "numba", fitted=fitted)
    a = agent.run(task.make_trials(8, seed=3)).rates
    b = agent.run(task.make_trials(4, seed=3)).rates
    np.testing.assert_array_equal(a[:4], b)
    trials = task.make_trials(16, seed=3)
    noisy = task.score(trials, agent.run(trials), 3)
    quiet = SlotMemory(fitted)(torch.as_tensor(trials.role("evidence"), dtype=torch.float64),
                               torch.zeros(trials.stimulus.shape[:2] + (12,),
                                           dtype=torch.float64), trials.dt)
    end = quiet.detach().numpy()[:, -40:].mean(axis=1)
    presented = _presented(trials).astype(bool)
    counts = np.array([(end[t][presented[t]] >= 20).sum() for t in range(trials.n)])
    twelve = trials.conditions["set_size"].to_numpy() == 12
    # noise-free: every item of the array ends alike (all held or none)
    assert set(counts[twelve]) <= {0, 12}
    held = _held(noisy, (12,))[0]
    assert 1.0 <= held <= 8.0, held


def test_slot_memory_layer_matches_its_numpy_reference():
    p = to_softmax(MemoryCircuit(k=5))
    rng = np.random.default_rng(0)
    u = rng.normal(0.0, 0.3, (3, 60, 5))
    u[:, 10:30, :3] += 1.0
    z = rng.standard_normal(u.shape)
    x = torch.as_tensor(u)
    for draws in (None, z):
        ref = p.run(u, 5e-3, draws)
        with torch.no_grad():
            out = SlotMemory(p, "numba")(x, torch.zeros_like(x), 5e-3,
                                         None if draws is None else torch.as_tensor(draws))
        assert np.max(np.abs(out.numpy() - ref)) < 1e-9 * max(1.0, ref.max())
    back = SlotMemory(p).params()
    for name in ("temperature", "rate", "null_logit", "w_self", "w_inh", "tau", "tau_inh",
                 "noise", "tau_in"):
        assert math.isclose(getattr(back, name), getattr(p, name), rel_tol=1e-12), name


def test_mean_field_layer_is_bistable():
    """A sampled item ignites and holds itself after the sample; the others stay at rest."""
    p = to_softmax(MemoryCircuit(k=3))
    u = np.zeros((1, 200, 3))
    u[0, 20:40, 0] = 1.0
    r = p.run(u, 5e-3)
    assert r[0, -1, 0] > 0.8 * p.rate
    assert r[0, -1, 1] < 5.0 and r[0, -1, 2] < 5.0


@pytest.mark.parametrize("kwargs, name", [
    (dict(set_sizes=(0, 4)), "set_sizes"),
    (dict(set_sizes=(1, 2)), "set_sizes"),
    (dict(set_sizes=(1, 13)), "set_sizes"),
    (dict(features=(3,)), "features"),
    (dict(guess=1.5), "guess"),
    (dict(window=2.0), "window"),
    (dict(threshold=-1.0), "threshold"),
    (dict(noise=-0.1), "noise"),
])
def test_bad_task_parameters_are_refused_by_name(kwargs, name):
    with pytest.raises(ValidationError, match=f"Capacity.{name}"):
        Capacity(**kwargs).make_trials(4)


def test_bad_mechanism_input_is_refused_by_name():
    mech = get_mechanism("working-memory")
    spec = Capacity().spec()
    with pytest.raises(ValidationError, match="w_ee"):
        mech.spiking(spec, w_ee=-1e-12)
    with pytest.raises(ValidationError, match="unknown parameter"):
        mech.spiking(spec, w_self=1.0)
    with pytest.raises(ValidationError, match="calibrate.inputs"):
        mech.calibrate(spec, inputs=np.zeros((3, 5)))
    with pytest.raises(ValidationError, match="readout.trials"):
        Capacity().readout(_recording(Capacity().make_trials(2), np.zeros((2, 12))))
    with pytest.raises(ValidationError, match="SlotParams.temperature"):
        SlotParams(k=2, temperature=0.0, rate=50.0, null_logit=1.0, w_self=0.0,
                   w_inh=0.0).validate()
    with pytest.raises(ValidationError, match="SlotParams.noise"):
        SlotParams(k=2, temperature=1.0, rate=50.0, null_logit=1.0, w_self=0.0,
                   w_inh=0.0, noise=-0.1).validate()
    with pytest.raises(ValidationError, match="SlotParams.run.z"):
        SlotParams(k=2, temperature=1.0, rate=50.0, null_logit=1.0, w_self=0.0,
                   w_inh=0.0).run(np.zeros((1, 3, 2)), 5e-3, np.zeros((1, 2, 2)))
    with pytest.raises(ValidationError, match="calibrate.repeats"):
        calibrate(MemoryCircuit(k=2), np.ones((1, 2)), repeats=0)


def test_the_task_sets_its_own_default_trial_count():
    from neuroattn.study.config import resolve_config

    cfg = resolve_config("compare", "capacity", "working-memory")
    assert cfg["trials"] == 5600 and cfg["task"]["name"] == "capacity"
    assert resolve_config("run", "capacity", "working-memory")["trials"] == 5600
    assert resolve_config("compare", "posner")["trials"] == 200
    # 5600 trials: 200 change and 200 no-change trials per set size and object kind
    c = Capacity().make_trials(5600, seed=0).conditions
    assert c.groupby(["set_size", "objects", "change"]).size().eq(200).all()
