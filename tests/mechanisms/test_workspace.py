"""The global workspace: spiking ignition, blocking and drive; the softmax layers; the
bridge; the attentional-blink task (synthetic oracle and both tiers)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from neuroattn.exceptions import ValidationError
from neuroattn.mechanisms import get_mechanism
from neuroattn.mechanisms.base import row_shares
from neuroattn.mechanisms.workspace import WorkspaceCircuit, WorkspaceParams
from neuroattn.mechanisms.workspace import bridge
from neuroattn.model import Recording, Stimulus, TaskSpec
from neuroattn.tasks import Blink
from neuroattn.tasks.blink import bimodality_coefficient


def _simulate(circuit, stim, seed, dt_stim=1e-3):
    from neuroattn.backends import simulate

    m = circuit.spiking_model(TaskSpec("time", circuit.k))
    rec = simulate(m.network, Stimulus(stim, dt_stim, m.drives), dt=1e-4, seed=seed,
                   backend="numba")
    return rec, list(rec.units)


def _window(rec, unit, names, t0, t1):
    sel = (rec.times >= t0 - 1e-9) & (rec.times < t1 - 1e-9)
    return rec.rates[:, sel, names.index(unit)].mean(axis=1)


# -- spiking tier -------------------------------------------------------------------


@pytest.mark.parametrize("seed", [3, 11])
def test_ignition_all_or_none_while_sensory_activity_is_graded(seed):
    """A 100 ms stimulus of growing size: the processor's rate grows with it; the late
    workspace activity (100-250 ms after offset) is either near rest or near the
    ignited level, the same for a stimulus twice as large."""
    amps = np.repeat([0.25, 0.5, 1.0, 1.5, 2.0], 2)
    stim = np.zeros((amps.size, 450, 4))
    stim[:, 100:200, 0] = amps[:, None]
    stim[:, :, 2:] = 1.0                       # both items are targets (task set)
    rec, names = _simulate(WorkspaceCircuit(k=2), stim, seed)
    early = _window(rec, "P0", names, 0.1, 0.2)
    late = _window(rec, "W0", names, 0.3, 0.45)
    by_amp = {a: (early[amps == a].mean(), late[amps == a].mean()) for a in np.unique(amps)}
    # graded early: monotonic, more than 4x from the smallest to the largest stimulus
    e = [by_amp[a][0] for a in sorted(by_amp)]
    assert np.all(np.diff(e) > 0) and e[-1] > 4 * e[0]
    # all-or-none late: below threshold near rest, above it ignited and flat
    assert by_amp[0.25][1] < 6 and by_amp[0.5][1] < 8
    high = np.array([by_amp[a][1] for a in (1.0, 1.5, 2.0)])
    assert high.min() > 15
    assert np.ptp(high) < 0.5 * high.mean()        # early doubles from 1 to 2; late does not
    assert by_amp[2.0][0] > 1.8 * by_amp[1.0][0]


def test_ignition_blocks_a_stimulus_after_a_mask_not_after_a_blank():
    """The blink's dual and blank conditions at lag 3: item 1 shown 300 ms after item 0
    stays out when a stream of distractors (item 2, to be ignored) followed item 0, and
    ignites on most trials when the first of them was a blank (the competitor that
    recruits the inhibition guarding the ignition came 100 ms later: only an ignition of
    item 0 that outlasts it still recruits the inhibition); in the stream without T1 it
    ignites; its processor responds alike in every case. Six trials each."""
    n = 6
    stim = np.zeros((3 * n, 700, 6))
    stim[:, 0:100, 2] = 1.0                    # a distractor, then
    stim[:2 * n, 100:200, 0] = 1.0             # T1 (the last n trials: another one) ...
    stim[2 * n:, 100:200, 2] = 1.0
    stim[:n, 200:400, 2] = 1.0                 # ... two distractors (dual)
    stim[n:2 * n, 300:400, 2] = 1.0            # ... a blank, then one (blank)
    stim[2 * n:, 200:400, 2] = 1.0
    stim[:, 400:500, 1] = 1.0                  # ... and T2 at lag 3
    stim[:, :, 3:5] = 1.0                      # T1 and T2 are targets
    stim[:, :, 5] = -1.0                       # the distractors are to be ignored
    rec, names = _simulate(WorkspaceCircuit(k=3), stim, 5)
    w1 = _window(rec, "W1", names, 0.45, 0.65)
    p1 = _window(rec, "P1", names, 0.4, 0.5)
    w0 = _window(rec, "W0", names, 0.2, 0.3)
    i0 = _window(rec, "I0", names, 0.3, 0.4)
    dual, blank, alone = slice(0, n), slice(n, 2 * n), slice(2 * n, 3 * n)
    assert np.all(w0[:2 * n] > 15)             # item 0 ignited
    assert np.all(w1[dual] < 8)                # after distractors: item 1 blocked
    assert np.mean(w1[blank] > 15) >= 2 / 3    # after a blank: it ignites on most trials
    assert np.all(w1[alone] > 15)              # without T1: it ignites
    assert w1[blank].mean() > 2 * w1[dual].mean() + 5
    # the distractors recruited the inhibition; after the blank it is late and weak
    assert i0[dual].min() > 2 * i0[blank].mean() + 1
    assert abs(p1[dual].mean() - p1[2 * n:].mean()) < 0.3 * p1.mean()  # same sensory response


def test_spontaneous_ignition_above_a_critical_drive():
    """No stimulus: below the critical neuromodulatory drive the workspace stays at
    rest, above it an assembly ignites on its own; the mean field puts the critical
    drive between the two."""
    stim = np.zeros((2, 800, 4))
    stim[:, :, 2:] = 1.0
    out = {}
    for drive in (55e-12, 100e-12):
        rec, names = _simulate(WorkspaceCircuit(k=2, drive=drive), stim, 7)
        w = np.maximum(_window(rec, "W0", names, 0.3, 0.8), _window(rec, "W1", names, 0.3, 0.8))
        out[drive] = w
    assert np.all(out[55e-12] < 5)
    assert np.all(out[100e-12] > 15)
    c = WorkspaceCircuit(k=2)
    critical = bridge._saddle_node(c) - c.bias_gain       # drive at which rest vanishes
    assert 55e-12 < critical < 100e-12


def test_circuit_refuses_bad_parameters():
    with pytest.raises(ValidationError, match="WorkspaceCircuit.w_ww"):
        WorkspaceCircuit(w_ww=-1e-12)
    with pytest.raises(ValidationError, match="WorkspaceCircuit.tau_slow"):
        WorkspaceCircuit(tau_slow=0.0)
    with pytest.raises(ValidationError, match="WorkspaceCircuit.k"):
        WorkspaceCircuit(k=2).spiking_model(TaskSpec("time", 3))
    m = get_mechanism("workspace")
    with pytest.raises(ValidationError, match="unknown parameter"):
        m.resolve(w_nope=1.0)
    assert m.supports(TaskSpec("space", 2, readouts=("items", "unit"), values=(1.0, 0.0)))


# -- softmax tier -------------------------------------------------------------------


def _params(**kw):
    base = dict(k=2, temperature=0.05, threshold=1.2, input_gain=1.5, recurrent=1.5,
                lateral=6.0, adapt_gain=5.0, adapt_onset=0.2, rate=60.0)
    return WorkspaceParams(**{**base, **kw})


def test_layer_ignites_blocks_and_recovers():
    import torch

    from neuroattn.mechanisms.workspace import WorkspaceLayer

    x = torch.zeros(3, 400, 2, dtype=torch.float64)   # 2 ms rows
    x[:2, 25:75, 0] = 1.0
    x[0, 125:175, 1] = 1.0                     # lag 2: during item 0's ignition
    x[1, 325:375, 1] = 1.0                     # lag 6: after it
    x[2, 125:175, 1] = 1.0                     # alone
    with torch.no_grad():
        r = WorkspaceLayer(_params(), "torch")(x, torch.ones_like(x), 2e-3).numpy()
    assert r[0, 75:175, 0].max() > 50 and r[0, 125:300, 1].max() < 10
    assert r[1, 325:400, 1].max() > 40
    assert r[2, 125:300, 1].max() > 50
    assert r[:, :25].max() < 5                   # no ignition at rest


def test_layer_matches_a_plain_softmax_and_has_gradients():
    """One step of the write against a hand-written softmax with a null key; gradients
    reach every parameter."""
    import torch

    from neuroattn.mechanisms.workspace import WorkspaceLayer

    layer = WorkspaceLayer(_params(temperature=0.5), "torch")
    z = torch.tensor([[0.3, 1.7], [2.0, -1.0]], dtype=torch.float64)
    want = torch.softmax(torch.cat([z, torch.full((2, 1), 1.2, dtype=torch.float64)], 1) / 0.5,
                         dim=1)[:, :2]
    torch.testing.assert_close(layer.write(z), want)
    x = torch.zeros(1, 200, 2, dtype=torch.float64)
    x[0, 20:120, 0] = 1.0
    layer(x, torch.ones_like(x), 1e-3).sum().backward()
    grads = [p.grad for p in layer.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert any(float(g.abs().sum()) > 0 for g in grads)


def test_layer_refuses_bad_input():
    import torch

    from neuroattn.mechanisms.workspace import WorkspaceLayer

    layer = WorkspaceLayer(_params(), "torch")
    x = torch.zeros(1, 10, 2, dtype=torch.float64)
    with pytest.raises(ValidationError, match="dt"):
        layer(x, x, 0.0)
    with pytest.raises(ValidationError, match=r"shape \[trials, steps, 2\]"):
        layer(torch.zeros(1, 10, 3, dtype=torch.float64), torch.zeros(1, 10, 3,
                                                                      dtype=torch.float64), 1e-3)
    with pytest.raises(ValidationError, match="temperature"):
        _params(temperature=0.0).validate()
    with pytest.raises(ValidationError, match="adapt_onset"):
        _params(adapt_onset=1.5).validate()
    with pytest.raises(ValidationError, match="WorkspaceParams.competition"):
        _params(competition=-0.5).validate()
    with pytest.raises(ValidationError, match="WorkspaceParams.tau_block"):
        _params(tau_block=0.0).validate()
    with pytest.raises(ValidationError, match="WorkspaceParams.lateral_power"):
        _params(lateral_power=0.0).validate()
    with pytest.raises(ValidationError, match="WorkspaceParams.compete_saturation"):
        _params(compete_saturation=-1.0).validate()
    with pytest.raises(ValidationError, match="WorkspaceParams.compete_onset"):
        _params(compete_onset=1.0).validate()
    with pytest.raises(ValidationError, match="WorkspaceParams.no_return"):
        _params(no_return=1.0).validate()
    with pytest.raises(ValidationError, match="WorkspaceParams.no_return"):
        _params(no_return=-0.1).validate()
    with pytest.raises(ValidationError, match="WorkspaceParams.hold_temperature"):
        _params(hold_temperature=-0.1).validate()
    with pytest.raises(ValidationError, match="WorkspaceParams.hold_temperature"):
        _params(hold_temperature=float("nan")).validate()
    with pytest.raises(ValidationError, match="WorkspaceCircuit.n_pool"):
        WorkspaceCircuit(n_pool=0)


def test_layer_hold_matches_a_two_key_softmax_and_has_gradients():
    """The hold of each item against its own key ``1 + recurrent no_return`` equals a
    hand-written two-way softmax; a held item keeps writing after its input is gone
    without taking a share from a new winner; gradients reach every parameter."""
    import torch

    from neuroattn.mechanisms.workspace import WorkspaceLayer

    layer = WorkspaceLayer(_params(temperature=0.5, no_return=0.3), "torch")
    v = torch.tensor([[0.3, 1.7], [2.0, -1.0]], dtype=torch.float64)
    key = 1.0 + 1.5 * 0.3
    want = torch.sigmoid((v - key) / 0.5)
    torch.testing.assert_close(layer.hold_write(v), want)
    assert layer.params().no_return == 0.3
    assert layer.params().hold_temperature == 0.0              # 0: the layer's temperature
    own = WorkspaceLayer(_params(temperature=0.5, no_return=0.3, hold_temperature=0.2),
                         "torch")
    torch.testing.assert_close(own.hold_write(v), torch.sigmoid((v - key) / 0.2))
    assert own.params().hold_temperature == pytest.approx(0.2)
    # item 0 for 60 ms, then item 1 for 60 ms from 200 ms, threshold 2: without a hold
    # (point of no return (2 - 1) / 1.5 = 0.67 of an ignition) item 0 falls back once
    # its input goes; with one at 0.2 it holds, and item 1 ignites beside it
    x = torch.zeros(2, 600, 2, dtype=torch.float64)       # 1 ms rows
    x[:, 50:110, 0] = 1.0
    x[:, 200:260, 1] = 1.0
    cold = dict(temperature=0.01, threshold=2.0, adapt_gain=0.0, lateral=0.0)
    with torch.no_grad():
        r0 = WorkspaceLayer(_params(**cold), "torch")(x, torch.ones_like(x), 1e-3).numpy()
        r1 = WorkspaceLayer(_params(**cold, no_return=0.2), "torch")(
            x, torch.ones_like(x), 1e-3).numpy()
    assert r0[0, 500:].max() < 5                           # transients, both fall back
    assert r1[0, 500:].min() > 50                          # both held, side by side
    x = torch.zeros(1, 200, 2, dtype=torch.float64)
    x[0, 20:120, 0] = 1.0
    layer(x, torch.ones_like(x), 1e-3).sum().backward()
    grads = [p.grad for p in layer.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert float(layer.recurrent.grad.abs()) > 0


def test_layer_hold_shift_is_an_argument_per_trial():
    """``forward(..., hold_shift=)`` lowers each trial's hold key: a float, a tensor [n]
    and [n, 1] give the same rates, each row as if run alone with its own shift, 0 as
    None; a lower key holds what a higher one lets fall back; bad shifts are refused by
    name. The layer keeps no shift of its own."""
    import torch

    from neuroattn.mechanisms.workspace import WorkspaceLayer

    cold = dict(temperature=0.01, threshold=2.0, adapt_gain=0.0, lateral=0.0)
    layer = WorkspaceLayer(_params(**cold, no_return=0.5), "torch")
    assert not hasattr(layer, "hold_shift")
    x = torch.zeros(3, 400, 2, dtype=torch.float64)
    x[:, 50:110, 0] = 1.0
    b = torch.ones_like(x)
    with torch.no_grad():
        none = layer(x, b, 1e-3)
        torch.testing.assert_close(layer(x, b, 1e-3, hold_shift=0.0), none, rtol=0, atol=0)
        flat = layer(x, b, 1e-3, hold_shift=0.4)
        torch.testing.assert_close(
            layer(x, b, 1e-3, hold_shift=torch.full((3,), 0.4, dtype=torch.float64)), flat,
            rtol=0, atol=0)
        per = torch.tensor([-1.0, 0.0, 0.4], dtype=torch.float64)
        rows = layer(x, b, 1e-3, hold_shift=per[:, None])
        for i in range(3):
            torch.testing.assert_close(rows[i:i + 1], layer(x[i:i + 1], b[i:i + 1], 1e-3,
                                                            hold_shift=float(per[i])))
    # key 1 + 1.5 * 0.5 = 1.75 under an ignited item's reverberation 1 + 1.5 = 2.5: it
    # holds; raised by 1 (2.75) it lets the item fall back once its input goes
    assert rows[0, 350:, 0].max() < 5 and rows[1, 350:, 0].min() > 50
    for bad, what in ((float("nan"), "finite"), (True, "float or a tensor"),
                      ("0.1", "float or a tensor"),
                      (torch.zeros(2, dtype=torch.float64), r"shape \[3\]")):
        with pytest.raises(ValidationError, match=f"WorkspaceLayer.forward.hold_shift.*{what}"):
            layer(x, b, 1e-3, hold_shift=bad)


def test_shared_workspace_top_k_soft_and_hard():
    import torch

    from neuroattn.mechanisms.workspace import SharedWorkspace

    torch.manual_seed(0)
    h = torch.randn(4, 6, 8, dtype=torch.float64)
    ws = SharedWorkspace(dim=8, n_slots=3, top_k=2, temperature=0.7).double()
    out, slots, w = ws(h)
    writers = (w.sum(dim=1) > 0).sum(dim=-1)
    assert writers.tolist() == [2, 2, 2, 2]                       # exactly top_k write
    torch.testing.assert_close(w.sum(-1), torch.ones(4, 3, dtype=torch.float64))
    # the soft slots are the write weights applied to the values (an oracle in torch)
    torch.testing.assert_close(slots, w @ ws.write_v(h))
    out.sum().backward()
    assert ws.broadcast_gain.grad is not None and ws.slots.grad is not None
    hard = SharedWorkspace(dim=8, n_slots=3, top_k=2, hard=True, seed=1).double()
    hard.load_state_dict(ws.state_dict())
    with torch.no_grad():
        _, _, wh = hard(h)
    assert torch.all((wh == 0) | (wh == 1)) and torch.all(wh.sum(-1) == 1)
    assert torch.all((wh.sum(1) > 0).sum(-1) <= 2)
    with pytest.raises(ValidationError, match="temperature"):
        SharedWorkspace(dim=8, temperature=-1.0)
    with pytest.raises(ValidationError, match="last dimension 8"):
        ws(torch.zeros(1, 2, 5, dtype=torch.float64))


# -- bridge -------------------------------------------------------------------------


def test_to_softmax_and_to_spiking():
    c = WorkspaceCircuit(k=3)
    p = bridge.to_softmax(c)
    assert p.k == 3 and 40 < p.rate < 90
    assert p.lateral > p.recurrent > 0 and p.threshold > 0 and 0 < p.adapt_onset < 1
    # one unit of bias leaves a target below the ignition threshold at rest
    assert 1.0 < p.threshold + 0.5 and p.recurrent + 1.0 > p.threshold
    # the inhibition: a competitor's processor input over the ignition's (mean field),
    # an onset that an ignition alone does not reach, the circuit's time constants
    own, comp, rest = bridge._inhibition_inputs(c, p.rate)
    assert p.competition == pytest.approx(comp / own) and comp > 0 and rest >= 0
    need = (c.inh.v_th - c.inh.v_rest) / c.inh.r_m
    assert p.lateral_onset == pytest.approx((need - rest) / (own + comp))
    # the competitors reach the inhibition through their mean and a pool whose rate
    # saturates: a display of many items (search, capacity) drives it as one competitor
    # does, whatever the number of items, and strong competitors hardly more
    wide = bridge.to_softmax(WorkspaceCircuit(k=12))
    assert (wide.competition, wide.lateral_onset, wide.compete_saturation) == pytest.approx(
        (p.competition, p.lateral_onset, p.compete_saturation))
    r0, half, one, strong = bridge._competitor_rate(c, [0.0, 0.5, 1.0, 2.65])
    assert r0 < 1.0 and 0.75 * one < half < one < strong < 1.15 * one
    # ... and so alone, at its strongest, stays below the inhibitory neurons' threshold
    assert rest + comp * strong / one < need
    # the layer's hyperbola follows the pool's mean-field rate
    x = max(0.5 - p.compete_onset, 0.0) / (1.0 - p.compete_onset)
    h = p.compete_saturation
    assert x * (1 + h) / (1 + h * x) == pytest.approx(half / one, abs=0.05)
    # at the ~41 Hz the circuit's ignitions reach (calibrate's rate) an ignition alone
    # stays below the onset; at the mean field's 68 Hz (no adaptation) it would not
    _, onset41 = bridge._onsets(c, 41.0)
    assert 1.0 / (1.0 + bridge._competition(c, 41.0)) < onset41 < 1.0
    assert p.lateral_onset < 1.0 / (1.0 + p.competition)
    assert (p.tau_lateral, p.tau_compete, p.tau_block) == pytest.approx(
        (c.tau_wi, c.tau_pi, c.tau_block))
    off = bridge.to_softmax(WorkspaceCircuit(k=3, w_pi=0.0))
    assert off.competition == 0.0
    back = bridge.to_spiking(p, c)
    assert math.isclose(bridge.to_softmax(back).temperature, p.temperature, rel_tol=1e-9)
    with pytest.raises(ValidationError, match="to_softmax.circuit"):
        bridge.to_softmax("no circuit")


def test_bridge_shares_agree_on_task_inputs():
    """Constant inputs of the blink (T1 on; T2 on): the layer's time-averaged shares
    track the workspace's spike shares far closer than uniform weights do."""
    task = Blink()
    u = task.bridge_inputs(task.make_trials(3, seed=2))
    c = WorkspaceCircuit(k=3)
    spikes = row_shares(bridge.spike_counts(c, u, (0.5,), seed=2)[0.5])
    layer = bridge.layer_shares(_params(k=3, rate=bridge.to_softmax(c).rate), u, (0.5,))[0.5]
    from neuroattn.mechanisms import js_divergence

    js = js_divergence(spikes, layer).mean()
    uniform = js_divergence(spikes, np.ones_like(spikes)).mean()
    assert js < 0.05 < uniform


def _brief_pulse_oracle(n: int = 20):
    """A layer of known threshold (1.8) standing for the circuit, and its ignitions on
    full 100 ms pulses and on brief ones (``BRIEF`` of the pulse): 16 targets of
    evidence 0.8-1.2, then masks."""
    from dataclasses import replace

    truth = replace(bridge.to_softmax(WorkspaceCircuit(k=2)), temperature=0.003,
                    threshold=1.8, adapt_gain=0.0)
    x = np.zeros((n, 2))
    x[:16, 0] = np.linspace(0.8, 1.2, 16)
    x[16:, 1] = 1.0
    b = np.tile([1.0, -1.0], (n, 1))
    full = bridge._pulse_trials(x, b, 0.1, 0.5)
    short = bridge._pulse_trials(x, b, tuple(f * 0.1 for f in bridge.BRIEF), 0.5)
    zero = np.zeros(1)
    ignited = bridge._layer_ignites(truth, full, zero, 15.0, 0.025, 0.5)[0]
    seen = bridge._layer_ignites(truth, short, zero, 15.0, bridge.SEEN_SMOOTH, 0.5)[0]
    which = np.repeat(np.arange(len(bridge.BRIEF)), n)
    return truth, full, short, ignited, seen, which


def test_calibration_pins_the_threshold_on_brief_pulses():
    """Oracle: a layer of known threshold (1.8) stands for the circuit. Full 100 ms pulses
    of a target ignite it at every evidence (0.8-1.2) and a mask never, as they would at
    any threshold over a wide range; brief pulses (a third to two thirds of the pulse)
    ignite it on some inputs only, and matching the probability of ignition at each
    duration recovers the threshold."""
    from dataclasses import replace

    truth, full, short, ignited, seen, which = _brief_pulse_oracle()
    n = len(ignited)
    probs = [seen[which == d].mean() for d in range(len(bridge.BRIEF))]
    assert ignited[:16].all() and not ignited[16:].any()
    assert probs[0] < probs[-1] and 0 < sum(probs) < len(probs) * 16 / n
    start = replace(truth, threshold=1.3)
    fit, agree, got = bridge._match_ignitions(start, full, ignited, 15.0,
                                              (short, seen, which), span=0.6, fine=0.02,
                                              octaves=0)
    assert agree == 1.0 and got == pytest.approx(probs)
    assert fit.threshold == pytest.approx(1.8, abs=0.05)
    with pytest.raises(ValidationError, match="calibrate.brief"):
        bridge.calibrate(WorkspaceCircuit(k=2), brief=(0.5, 1.5))


# -- the attentional blink ----------------------------------------------------------


def test_blink_trials_and_validation():
    task = Blink(noise=0.0)
    tr = task.make_trials(6, seed=3)
    cond = tr.conditions
    assert cond["condition"].tolist()[:3] == ["dual", "t1_ignored", "t1_blank"]
    ev, bias = tr.role("evidence"), tr.role("bias")
    for t, row in cond.iterrows():
        s1, s2 = int(round(row.t1_onset / tr.dt)), int(round(row.t2_onset / tr.dt))
        assert ev[t, s1 + 5, 0] == 1.0 and ev[t, s2 + 5, 1] == 1.0
        after = ev[t, s1 + 100 + 5, 2]
        assert after == (0.0 if row.condition == "t1_blank" or row.lag == 1 else 1.0)
        assert bias[t, 0, 0] == (-1.0 if row.condition == "t1_ignored" else 1.0)
    with pytest.raises(ValidationError, match="Blink.lags"):
        Blink(lags=(0, 2)).validate()
    with pytest.raises(ValidationError, match="Blink.soa"):
        Blink(soa=0.1005).validate()
    with pytest.raises(ValidationError, match="Blink.noise"):
        Blink(noise=float("nan")).validate()


def _synthetic(task, trials, seen):
    """A Recording where T1 always ignites and T2 ignites where ``seen(row)``."""
    bw = 5e-3
    bins = int(round(task.duration / bw))
    rates = np.zeros((trials.n, bins, 3))
    times = np.arange(bins) * bw
    for t, row in trials.conditions.iterrows():
        if row.condition != "t1_ignored":
            rates[t, (times >= row.t1_onset + 0.1) & (times < row.t1_onset + 0.4), 0] = 40.0
        if seen(row, t):
            rates[t, (times >= row.t2_onset + 0.1) & (times < row.t2_onset + 0.4), 1] = 40.0
    return Recording(rates, bw, ("item0", "item1", "item2"), roles={"items": (
        "item0", "item1", "item2")})


def test_blink_scoring_against_a_synthetic_oracle():
    task = Blink()
    tr = task.make_trials(240, seed=4)
    rng = np.random.default_rng(0)

    def seen(row, t):
        if row.condition == "dual" and 2 <= row.lag <= 4:
            return rng.random() < 0.3                 # blink: 30 % at lags 2-4
        return True

    res = task.score(tr, _synthetic(task, tr, seen), seed=0)
    eff = {e.name: e for e in res.effects}
    assert eff["blink_depth"].passed and 0.5 < eff["blink_depth"].estimate < 0.95
    assert eff["lag1_sparing"].passed and eff["recovery"].passed
    assert eff["blink_t1_ignored"].passed and eff["blink_t1_blank"].passed
    assert eff["blink_t1_ignored"].estimate == 0.0
    bim = [e for n, e in eff.items() if n.startswith("bimodality")][0]
    assert bim.passed                                  # 0/40 Hz peaks: bimodal
    # no blink at all: depth 0, refused
    flat = task.score(tr, _synthetic(task, tr, lambda row, t: True), seed=0)
    assert not {e.name: e for e in flat.effects}["blink_depth"].passed
    with pytest.raises(ValidationError, match="needs the trials"):
        task.readout(_synthetic(task, tr, seen))


def test_bimodality_coefficient_oracle():
    rng = np.random.default_rng(1)
    assert bimodality_coefficient(np.r_[rng.normal(0, 1, 200), rng.normal(8, 1, 200)]) > 0.7
    assert bimodality_coefficient(rng.normal(0, 1, 400)) < 0.45
    assert math.isnan(bimodality_coefficient([1.0, 1.0, 1.0, 1.0]))
    # a sample that is constant but for rounding (a blocked layer's peaks) says nothing
    assert math.isnan(bimodality_coefficient(np.r_[np.zeros(9), 3e-13]))


@pytest.mark.parametrize("seed", [0, 9])
def test_blink_follows_from_ignition_on_the_spiking_tier_at_rest(seed):
    """Without the per-trial state (``state_sd`` 0: the circuit at rest on every trial,
    as before the state existed): T2 at lag 3 falls while T1 holds the workspace, and is
    seen at lag 7, when T1 is ignored and when a blank follows T1; at lag 1 it arrives
    before T1's inhibition is recruited and ignites too (lag-1 sparing); at two seeds."""
    task = Blink(lags=(1, 3, 7))
    tr = task.make_trials(36, seed=seed)
    agent = get_mechanism("workspace").agent("spiking", task.spec(), "numba",
                                             params={"state_sd": 0.0})
    res = task.score(tr, agent.run(tr), seed)
    acc = res.summary.set_index(["paradigm", "lag"])["accuracy"]
    assert acc["dual", 3] <= 0.34 and acc["dual", 7] >= 0.66
    assert acc["dual", 1] >= 0.5 and acc["dual", 1] > acc["dual", 3] + 0.25
    assert acc["t1_ignored", 3] >= 0.66 and acc["t1_blank", 3] >= 0.66
    assert res.summary["t1_seen"][res.summary["paradigm"] == "dual"].min() >= 0.66


@pytest.mark.parametrize("seed", [0, 9])
def test_blink_follows_from_ignition_on_the_spiking_tier(seed):
    """With the per-trial state (the default): T2 at lag 3 is seen on a minority of the
    trials (those whose block ended early), far less often than at lag 7; the controls
    and lag-1 sparing hold; at two seeds, 14 trials per condition and lag."""
    task = Blink(lags=(1, 3, 7))
    tr = task.make_trials(126, seed=seed)
    agent = get_mechanism("workspace").agent("spiking", task.spec(), "numba")
    res = task.score(tr, agent.run(tr), seed)
    acc = res.summary.set_index(["paradigm", "lag"])["accuracy"]
    assert acc["dual", 3] <= 0.65 and acc["dual", 7] >= 0.75
    assert acc["dual", 7] - acc["dual", 3] >= 0.3 and acc["dual", 1] > acc["dual", 3]
    assert acc["t1_ignored", 3] >= 0.75 and acc["t1_blank", 3] >= 0.75
    assert res.summary["t1_seen"][res.summary["paradigm"] == "dual"].min() >= 0.66


def test_blink_runs_on_the_softmax_tier():
    task = Blink(lags=(2, 7))
    tr = task.make_trials(12, seed=1)
    m = get_mechanism("workspace")
    fitted = _params(k=3, threshold=1.25, rate=bridge.to_softmax(WorkspaceCircuit(k=3)).rate)
    res = task.score(tr, m.agent("softmax", task.spec(), "torch", fitted=fitted).run(tr), 1)
    acc = res.summary.set_index(["paradigm", "lag"])["accuracy"]
    assert acc["dual", 2] == 0.0 and acc["dual", 7] == 1.0 and acc["t1_ignored", 2] == 1.0
    assert isinstance(res.table, pd.DataFrame) and len(res.table) == 12


@pytest.mark.slow
def test_brian2_agrees_with_numba_on_ignition_and_blocking():
    """The reference engine: item 0 ignites, item 1 (lag 3 of a stream of distractors,
    item 2: past the integration window, which lag 2 sometimes still reaches) is
    blocked, item 1's processor responds alike; the engines' mean rates agree within 3
    standard errors."""
    pytest.importorskip("brian2")
    from neuroattn.backends import simulate

    c = WorkspaceCircuit(k=3)
    m = c.spiking_model(TaskSpec("time", 3))
    stim = np.zeros((6, 700, 6))
    stim[:, 0:100, 2] = 1.0
    stim[:, 100:200, 0] = 1.0
    stim[:, 200:400, 2] = 1.0
    stim[:, 400:500, 1] = 1.0
    stim[:, :, 3:5] = 1.0
    stim[:, :, 5] = -1.0
    out = {}
    for backend in ("numba", "brian2"):
        rec = simulate(m.network, Stimulus(stim, 1e-3, m.drives), dt=1e-4, seed=2,
                       backend=backend)
        names = list(rec.units)
        out[backend] = {"W0": _window(rec, "W0", names, 0.25, 0.45),
                        "W1": _window(rec, "W1", names, 0.45, 0.65),
                        "P1": _window(rec, "P1", names, 0.4, 0.5)}
    for unit in ("W0", "P1"):
        a, b = out["numba"][unit], out["brian2"][unit]
        se = math.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)
        assert abs(a.mean() - b.mean()) < 3 * se + 1.0, (unit, a, b)
    assert out["brian2"]["W0"].min() > 15 and out["brian2"]["W1"].max() < 8


# -- backward masking ----------------------------------------------------------------


def test_threshold_crossing_oracle():
    from neuroattn.tasks.masking import threshold_crossing

    assert threshold_crossing([0.02, 0.04, 0.06], 0.0, 0.25, 0.75) == pytest.approx(0.05)
    assert math.isnan(threshold_crossing([0.02, 0.04], 0.1, 0.2))       # never reaches 0.5
    assert math.isnan(threshold_crossing([0.02, 0.04], 0.9, 1.0))       # starts above it
    boots = threshold_crossing([0.02, 0.04], np.array([0.0, 0.4]), np.array([1.0, 0.6]))
    np.testing.assert_allclose(boots, [0.03, 0.03])


def test_masking_trials_and_validation():
    from neuroattn.tasks import Masking

    task = Masking(noise=0.0)
    tr = task.make_trials(7, seed=0)
    ev = tr.role("evidence")
    for t, row in tr.conditions.iterrows():
        on = int(round(task.onset / tr.dt))
        if row.condition == "absent":
            assert ev[t, :, 0].max() == 0 and ev[t, on + 5, 1] == 1.0
        else:
            cut = on + int(round(row.soa / tr.dt))
            assert ev[t, on:cut, 0].min() == 1.0 and ev[t, cut:, 0].max() == 0.0
            assert ev[t, cut, 1] == 1.0 and ev[t, :cut, 1].max() == 0.0
    with pytest.raises(ValidationError, match="Masking.soas"):
        Masking(soas=(0.05, 0.02)).validate()
    with pytest.raises(ValidationError, match="Masking.duration"):
        Masking(duration=0.2).validate()


def test_masking_visibility_is_a_sigmoid_of_soa_on_the_spiking_tier():
    """Late workspace activity: rarely ignited at 16 ms, always at 100 ms, the 50 %
    point between 30 and 70 ms (the target's duration sets whether it ignites)."""
    from neuroattn.tasks import Masking

    task = Masking(soas=(0.016, 0.033, 0.05, 0.066, 0.1), catch=False)
    tr = task.make_trials(30, seed=3)
    res = task.score(tr, get_mechanism("workspace").agent("spiking", task.spec(),
                                                          "numba").run(tr), 3)
    vis = res.summary.set_index("condition")["visibility"]
    assert vis["soa16"] <= 0.34 and vis["soa100"] == 1.0
    thr = res.effect("visibility_threshold").estimate
    assert 0.03 < thr < 0.07


def test_bimodality_reads_late_activity_not_the_evoked_response():
    """The sample whose bimodality is scored is T2's mean rate 200-500 ms after its
    onset (Sergent et al. 2005): every T2 also gives an evoked response ~50-100 ms after
    onset, graded with the trial's noise, which must not count; with no late ignition at
    the deepest lags there is no second mode, and with half of them ignited there is."""
    task = Blink()
    # 20 dual trials per lag: Sarle's coefficient of a perfect 50/50 sample of 10 is only
    # 0.566 (its small-sample correction), of 20 0.767
    tr = task.make_trials(480, seed=4)
    rng = np.random.default_rng(2)

    def record(ignite_half):
        def seen(row, t):
            if row.condition == "dual" and 2 <= row.lag <= 4:
                return ignite_half and (t // 24) % 2 == 0     # every other repeat
            return True

        rec = _synthetic(task, tr, seen)
        evoked = (rec.times[None] >= tr.conditions["t2_onset"].to_numpy()[:, None] + 0.05) & (
            rec.times[None] < tr.conditions["t2_onset"].to_numpy()[:, None] + 0.1)
        rates = rec.rates.copy()
        # evoked transients: exponential heights (a skewed, unimodal spread up to ~20 Hz)
        rates[:, :, 1] += evoked * rng.exponential(4.0, (tr.n, 1))
        rates[:, :, 1] += rng.uniform(0.0, 1.0, rates.shape[:2])     # resting noise
        return Recording(rates, rec.bin_width, rec.units, roles=rec.roles)

    blocked = task.score(tr, record(False), seed=0)
    half = task.score(tr, record(True), seed=0)
    bim = {n: [e for e in r.effects if e.name.startswith("bimodality")][0]
           for n, r in (("blocked", blocked), ("half", half))}
    assert not bim["blocked"].passed and bim["blocked"].estimate < 0.5
    assert bim["half"].passed and bim["half"].estimate > 0.7
    # the late sample of an ignited T2 (40 Hz over 100-400 ms after onset): 2/3 of 40 Hz
    # plus the resting noise; the evoked response is outside the window
    t = half.table
    ign = t[(t.paradigm == "dual") & (t.lag == 7)]["t2_late"]
    assert np.all(np.abs(ign - (40 * 2 / 3 + 0.5)) < 0.2)
    for bad in ((0.3, 0.2), (-0.1, 0.5), (0.2, 0.9)):
        with pytest.raises(ValidationError, match="Blink.late"):
            Blink(late=bad).validate()


def test_masking_scores_the_bimodality_of_late_activity():
    """Targets near threshold either ignite (40 Hz from 150 ms) or stay at rest, each with
    an evoked response of graded height: the late sample is bimodal; the evoked peaks
    alone are not what it reads."""
    from neuroattn.tasks import Masking

    task = Masking(soas=(0.016, 0.05, 0.1), catch=False)
    tr = task.make_trials(60, seed=1)
    bw = 5e-3
    times = np.arange(int(round(task.duration / bw))) * bw
    rng = np.random.default_rng(3)
    rates = rng.uniform(0.0, 1.0, (tr.n, times.size, 2))
    evoked = (times >= task.onset + 0.05) & (times < task.onset + 0.1)
    rates[:, evoked, 0] += rng.exponential(4.0, (tr.n, 1))
    soa = tr.conditions["soa"].to_numpy()
    ignite = (soa >= 0.1) | ((soa == 0.05) & (np.arange(tr.n) % 2 == 0))
    rates[ignite[:, None] & (times >= task.onset + 0.15)[None], 0] += 40.0
    rec = Recording(rates, bw, ("item0", "item1"), roles={"items": ("item0", "item1")})
    res = task.score(tr, rec, seed=0)
    bim = [e for e in res.effects if e.name.startswith("bimodality")][0]
    assert bim.name == "bimodality_soa50" and bim.passed and bim.estimate > 0.7
    late = res.table.set_index("condition")["late"]
    assert np.all(late["soa16"] < 1.0) and np.all(late["soa100"] > 40.0)
    with pytest.raises(ValidationError, match="Masking.late"):
        Masking(late=(0.2, 0.95)).validate()


def test_a_layer_too_cold_to_write_on_resting_inputs_is_detected():
    """At a low enough temperature the layer's write on an input far below threshold
    underflows to exactly 0 (no shares to compare: the bridge report scores such an
    input log 2); ``calibrate`` skips such temperatures (masking, seed 23: 205 of 400
    held-out inputs at 0.0011, none at 0.002)."""
    p = _params(temperature=0.2, threshold=1.855, input_gain=1.291, recurrent=1.204,
                adapt_gain=0.0)
    rest = np.array([[0.0, 1.0, 1.0, -1.0], [1.0, 0.0, 1.0, -1.0]])   # mask only; target
    assert bridge._silent_rows(p, rest) == 0
    from dataclasses import replace

    cold = replace(p, temperature=0.001)
    assert bridge._silent_rows(cold, rest) == 1          # the mask-only input
    assert bridge._silent_rows(replace(p, temperature=0.002), rest) == 0


def test_calibration_warms_a_layer_whose_brief_pulse_threshold_leaves_it_silent():
    """The coldest temperature is checked for silent inputs at the threshold the grid
    starts from (1.3 here); the brief pulses then pin the threshold at the circuit's
    (1.8, a known layer standing for it), where the mask-only input's write underflows
    at that temperature. The temperature is raised until the fitted layer writes on
    every input the warmest one writes on (masking, seed 99: 68 of 120 calibration
    inputs silent before)."""
    from dataclasses import replace

    truth, full, short, ignited, seen, which = _brief_pulse_oracle()
    rest = np.array([[0.0, 1.0, 1.0, -1.0], [1.0, 0.0, 1.0, -1.0]])   # mask only; target
    start = replace(truth, threshold=1.3)
    coldest = start.temperature * 2.0 ** -2
    # the premise: silent at the coldest temperature only once the threshold has moved
    assert bridge._silent_rows(replace(start, temperature=coldest), rest) == 0
    assert bridge._silent_rows(replace(truth, temperature=coldest), rest) == 1
    fit, agree, _ = bridge._match_ignitions(start, full, ignited, 15.0,
                                            (short, seen, which), span=0.6, fine=0.02,
                                            octaves=2, shares_inputs=rest)
    assert fit.threshold == pytest.approx(1.8, abs=0.05) and agree == 1.0
    assert fit.temperature > coldest
    assert bridge._silent_rows(replace(fit, adapt_gain=0.0), rest) == 0
