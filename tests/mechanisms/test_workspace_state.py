"""The workspace's per-trial neuromodulatory state of its blocking interneurons: drawn
from the run's seed and the trial's index, the same on both tiers, off at sd 0, and what
makes T2's late activity at the blink's deepest lag all-or-none across trials."""

import dataclasses

import numpy as np
import pytest
import torch

from neuroattn.exceptions import ValidationError
from neuroattn.mechanisms import get_mechanism
from neuroattn.mechanisms.base import SpikingAgent, TrialState
from neuroattn.mechanisms.workspace import WorkspaceCircuit, bridge
from neuroattn.mechanisms.workspace.softmax import WorkspaceLayer
from neuroattn.tasks import Blink, Blindness
from neuroattn.tasks.blink import bimodality_coefficient


def test_the_state_is_a_current_onto_the_block_drawn_per_trial_on_both_tiers():
    m = get_mechanism("workspace")
    task = Blindness()
    spec = task.spec()
    model = m.spiking(spec)
    (state,) = model.state
    assert state == TrialState("block", -10e-12, 10e-12)
    col = spec.n_channels
    onto = sorted(d.population for d in model.drives if d.channel == col)
    assert onto == [f"I{i}" for i in range(spec.n_items)]
    tr = task.make_trials(6, seed=5)
    spk = m.agent("spiking", spec, "numba").run(tr)
    fitted = m.to_softmax(spec)
    sm = m.agent("softmax", spec, "torch", fitted=fitted).run(tr)
    want = state.values(5, 6)
    np.testing.assert_array_equal(spk.meta["state"]["block"], want)
    np.testing.assert_array_equal(sm.meta["state"]["block"], want)
    # trial t's value depends on (seed, t) alone, not on how many trials the run has
    np.testing.assert_array_equal(state.values(5, 3), want[:3])
    assert not np.array_equal(state.values(6, 6), want)
    table = task.score(tr, spk, 5).table
    np.testing.assert_array_equal(table["state_block"], want)
    # the layer's map: the interneurons' threshold over their full input
    own, comp, _ = bridge._inhibition_inputs(WorkspaceCircuit(k=spec.n_items), fitted.rate)
    assert fitted.state_onset == pytest.approx(1.0 / (own + comp))
    assert (fitted.state_mean, fitted.state_sd) == (state.mean, state.sd)


def test_sd_zero_is_the_circuit_and_the_layer_of_before_exactly():
    m = get_mechanism("workspace")
    task = Blink(lags=(3,))
    spec = task.spec()
    tr = task.make_trials(6, seed=2)
    off = m.agent("spiking", spec, "numba", params={"state_sd": 0.0})
    assert off.model.state == ()
    # the resting circuit as every run built it before the state existed
    circuit = WorkspaceCircuit(k=3, state_sd=0.0)
    before = SpikingAgent(circuit.spiking_model(spec), spec, "numba").run(tr)
    rec = off.run(tr)
    np.testing.assert_array_equal(rec.rates, before.rates)
    assert "state" not in rec.meta
    assert "state_block" not in task.score(tr, rec, 2).table
    # the layer: no state, or a state that moves nothing, is the layer without one
    p = bridge.to_softmax(WorkspaceCircuit(k=3, state_sd=0.0))
    assert WorkspaceLayer(p).trial_state == ()
    x = torch.as_tensor(tr.role("evidence"), dtype=torch.float64)
    b = torch.as_tensor(tr.role("bias"), dtype=torch.float64)
    with torch.no_grad():
        plain = WorkspaceLayer(p)(x, b, tr.dt)
        moved = WorkspaceLayer(p)(x, b, tr.dt, state=torch.full((6,), -30e-12))
    torch.testing.assert_close(plain, WorkspaceLayer(p)(x, b, tr.dt, state=torch.zeros(6)))
    assert not torch.equal(plain, moved) or p.state_onset == 0.0


def test_state_parameters_and_inputs_are_checked():
    with pytest.raises(ValidationError, match=r"WorkspaceCircuit.state_sd: expected a spread "
                                              r"in \[0, 50\] pA \(got 60 pA\)"):
        WorkspaceCircuit(state_sd=60e-12)
    with pytest.raises(ValidationError, match=r"WorkspaceCircuit.state_sd: must be >= 0 A"):
        WorkspaceCircuit(state_sd=-1e-12)
    with pytest.raises(ValidationError, match=r"WorkspaceCircuit.state_mean: expected a "
                                              r"current within \+-100 pA \(got -150 pA\)"):
        WorkspaceCircuit(state_mean=-150e-12)
    with pytest.raises(ValidationError, match=r"TrialState\('block'\).sd: expected a spread "
                                              r"> 0"):
        TrialState("block", 0.0, 0.0)
    p = bridge.to_softmax(WorkspaceCircuit(k=2))
    x = torch.zeros(2, 10, 2, dtype=torch.float64)
    with pytest.raises(ValidationError, match=r"WorkspaceLayer.forward.state: expected None "
                                              r"or a tensor of shape \[2\] or \[2, 1\]"):
        WorkspaceLayer(p)(x, x, 1e-3, state=torch.zeros(3))
    # a state column that no drive reads is refused
    spec = Blink().spec()
    model = WorkspaceCircuit(k=3).spiking_model(spec)
    with pytest.raises(ValidationError, match=r"no drive reads state 'block' \(column 6"):
        SpikingAgent(dataclasses.replace(model, state=(TrialState("block", 0.0, 1e-12),)),
                     spec)


def _deepest_lag_late(params, seed, n=150):
    task = Blink(lags=(3,))
    tr = task.make_trials(n, seed=seed)
    agent = get_mechanism("workspace").agent("spiking", task.spec(), "numba", params=params)
    t = task.score(tr, agent.run(tr), seed).table
    return t.loc[(t.paradigm == "dual") & t.valid, "t2_late"].to_numpy()


@pytest.mark.parametrize("seed", [4])
def test_the_state_makes_t2_at_the_deepest_lag_all_or_none(seed):
    """T2 at lag 3 (50 dual trials): with the state, some T2s sustain an ignition and the
    others stay near rest -- Sarle's coefficient above 5/9 with a share above 10 Hz;
    without it (sd 0) T1's block is whole on every trial and none sustains."""
    on = _deepest_lag_late({}, seed)
    off = _deepest_lag_late({"state_sd": 0.0}, seed)
    assert np.mean(on > 10.0) >= 0.06 and bimodality_coefficient(on) > 5 / 9
    assert np.mean(off > 10.0) == 0.0
