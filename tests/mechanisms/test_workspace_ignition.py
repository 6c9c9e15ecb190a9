"""How fast an ignition climbs decides whether late activity is all-or-none near the
masking threshold: the default circuit against models/workspace-fast-ignition.toml."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from neuroattn.mechanisms import get_mechanism
from neuroattn.mechanisms.workspace import WorkspaceCircuit, bridge
from neuroattn.study.models import load_model
from neuroattn.tasks import Masking
from neuroattn.tasks.blink import bimodality_coefficient

ROOT = Path(__file__).resolve().parents[2]


def test_fast_ignition_makes_late_activity_all_or_none_near_the_masking_threshold():
    """Targets masked 42 and 50 ms after onset (around the visibility threshold). In the
    default circuit an ignition creeps up the slow loop and is caught by its adaptation
    at ~20-30 Hz, so the late peaks spread between the evoked response (~10 Hz) and that
    level: one broad mode. With the fast-ignition model the same targets either stay at
    the evoked level or climb to the ignited state (~65 Hz): two modes, few trials
    between, Sarle's coefficient above 5/9 (the masking band)."""
    m = get_mechanism("workspace")
    fast = load_model(ROOT / "models" / "workspace-fast-ignition.toml").parameters
    task = Masking(soas=(0.042, 0.05), catch=False)
    tr = task.make_trials(32, seed=4)
    peaks = {}
    for name, params in (("default", {}), ("fast", fast)):
        rec = m.agent("spiking", task.spec(), "numba", params=params).run(tr)
        peaks[name] = task.readout(rec, tr)["peak"].to_numpy()
    d, f = peaks["default"], peaks["fast"]
    assert 0.25 <= (f > 15).mean() <= 0.8                  # near threshold: some seen
    assert np.mean((f > 25) & (f < 45)) <= 0.1              # nothing half-ignited ...
    assert f.max() > 55                                     # ... the ignited state
    assert bimodality_coefficient(f) > 0.65
    assert d.max() < 40                                     # default: a creeping climb
    assert bimodality_coefficient(d) < bimodality_coefficient(f) - 0.2
    # the mean field: the stronger loop keeps the target's resting margin below the
    # ignition threshold and raises the ignited state
    c = WorkspaceCircuit(k=2, **{k: v for k, v in fast.items() if "." not in k})
    tonic = c.drive + c.bias_gain
    assert 5e-12 < bridge._saddle_node(c) - tonic < 20e-12
    assert bridge._roots(c, tonic)[-1] > 80


# -- the layer's point of no return ---------------------------------------------------


def _layer_late(params, durations, dt=1e-3):
    """The layer's target (bias 1) shown for each of ``durations`` from 100 ms, then a
    mask (bias -1) for 200 ms, no noise: its peak rate averaged over 50 ms (how the
    task reads it as seen) and its late activity (mean rate 200-500 ms after onset)."""
    import torch

    from neuroattn.mechanisms.workspace import WorkspaceLayer

    n, steps = len(durations), 700
    x = np.zeros((n, steps, 2))
    b = np.zeros_like(x)
    b[..., 0], b[..., 1] = 1.0, -1.0
    for i, d in enumerate(durations):
        off = 100 + int(round(d / dt))
        x[i, 100:off, 0] = 1.0
        x[i, off:off + 200, 1] = 1.0
    with torch.no_grad():
        r = WorkspaceLayer(params, "torch")(torch.as_tensor(x), torch.as_tensor(b),
                                            dt).numpy()[..., 0]
    kernel = np.ones(50) / 50
    peak = np.array([np.convolve(row, kernel, mode="same")[100:700].max() for row in r])
    return peak, r[:, 300:600].mean(axis=1)


def _late_on_masking(params, soas, n, seed):
    """The layer's late activity (mean rate 200-500 ms after the target) on ``n``
    noisy masking trials at ``soas`` (no catch trials)."""
    import torch

    from neuroattn.mechanisms.workspace import WorkspaceLayer

    tr = Masking(soas=soas, catch=False).make_trials(n, seed=seed)
    with torch.no_grad():
        r = WorkspaceLayer(params, "torch")(
            torch.as_tensor(tr.role("evidence"), dtype=torch.float64),
            torch.as_tensor(tr.role("bias"), dtype=torch.float64), tr.dt).numpy()
    return r[:, 300:600, 0].mean(axis=1)


def _calibrated_like(circuit):
    """The layer as the masking calibration leaves it (seed 14: temperature 0.004,
    threshold 1.96, adaptation gain 3.4, rate 42 Hz), without its hold."""
    from dataclasses import replace

    return replace(bridge.to_softmax(circuit), temperature=0.004, threshold=1.96,
                   adapt_gain=3.4, rate=42.0, adapt_onset=bridge._onsets(circuit, 42.0)[0])


def test_the_layers_point_of_no_return_is_the_circuits_unstable_point():
    """Targets of 30-80 ms, then a mask. Without a hold a brief target that passes the
    seen criterion (15 Hz) has not passed the layer's point of no return, (threshold -
    1) / recurrent = 0.8 of an ignition: its trace falls back once the target goes, and
    late activity is a few Hz whether it was seen or not (graded). With the hold at the
    circuit's unstable fixed point (12.9 Hz of 42, 0.31 of an ignition), every target
    that is seen sustains (late activity > 20 Hz) and every one that is not falls back
    (< 2 Hz): all-or-none, with one critical duration between."""
    from dataclasses import replace

    c = WorkspaceCircuit(k=2)
    lo, mid, hi = bridge._roots(c, c.drive + c.bias_gain)
    assert bridge._no_return(c) == pytest.approx(mid) and lo < mid < hi
    assert 8.0 < bridge._no_return(c) < 18.0
    assert np.isnan(bridge._no_return(c, bias=0.0))      # no ignited state at bias 0
    base = _calibrated_like(c)
    durations = np.arange(0.030, 0.081, 0.002)
    peak, late = _layer_late(base, durations)
    seen = peak > 15.0
    assert seen.any() and (late[seen] < 5.0).all()             # seen, but transients
    held = replace(base, no_return=bridge._no_return(c) / 42.0)
    peak, late = _layer_late(held, durations)
    seen = peak > 15.0
    assert 0 < seen.sum() < seen.size
    assert (late[seen] > 20.0).all() and (late[~seen] < 2.0).all()
    assert seen[np.argmax(seen):].all()                        # one critical duration
    # masked targets with noise around that duration: two modes, nothing between
    late = _late_on_masking(held, (0.048, 0.054), 40, seed=11)
    assert 0.2 <= (late > 10).mean() <= 0.8
    assert np.mean((late > 3) & (late < 20)) == 0.0
    assert bimodality_coefficient(late) > 0.7


def test_the_holds_temperature_rests_a_target_at_the_circuits_resting_rate():
    """A target (one unit of bias) with no input rests at the circuit's lowest fixed
    point (mean field, 0.4-0.8 Hz, refined between _roots' grid points). The hold's
    temperature from the bridge puts the layer's resting target there (within 15 %);
    the competition's temperature (fitted to ignitions, ~0.14 on blindness' inputs, down
    to ~0.003 on masking's) leaves it several times above it, or at ~0, while the point
    of no return and the ignited state do not move."""
    from dataclasses import replace

    import torch

    from neuroattn.mechanisms.workspace import WorkspaceLayer

    c = WorkspaceCircuit(k=2)
    rest = bridge._resting_rate(c)
    lo = bridge._roots(c, c.drive + c.bias_gain)[0]
    assert lo <= rest < lo + 0.2 and 0.3 < rest < 0.8
    assert np.isnan(bridge._resting_rate(c, bias=0.0))        # rests at 0 Hz
    held = replace(_calibrated_like(c), no_return=bridge._no_return(c) / 42.0)
    x = torch.zeros(1, 1000, 2, dtype=torch.float64)
    b = torch.ones_like(x)
    b[..., 1] = -1.0

    def resting(p):
        with torch.no_grad():
            return float(WorkspaceLayer(p, "torch")(x, b, 1e-3)[0, 500:, 0].mean())

    t = bridge._hold_temperature(c, held)
    assert 0.03 < t < 0.2
    assert resting(replace(held, hold_temperature=t)) == pytest.approx(rest, rel=0.15)
    assert resting(replace(held, temperature=0.14)) > 3 * rest
    assert resting(held) < 0.01                               # at 0.004: none
    assert bridge._hold_temperature(c, replace(held, no_return=0.0)) == 0.0
    # an item pushed past the point of no return still holds (no adaptation to end it)
    x[0, 50:150, 0] = 1.5
    with torch.no_grad():
        r = WorkspaceLayer(replace(held, hold_temperature=t, adapt_gain=0.0), "torch")(
            x, b, 1e-3)
    assert float(r[0, 500:, 0].min()) > 30.0


def test_threshold_search_moves_the_hold_key_with_the_biases():
    """The threshold search raises the threshold by lowering every bias; the hold's key
    stays where it is when the threshold moves, so it is lowered with the biases: the
    search's rows ignite exactly where layers built with those thresholds do."""
    from dataclasses import replace

    c = WorkspaceCircuit(k=2)
    held = replace(_calibrated_like(c), no_return=bridge._no_return(c) / 42.0)
    n = 12
    x = np.zeros((n, 2))
    x[:, 0] = np.linspace(0.6, 1.4, n)
    b = np.tile([1.0, -1.0], (n, 1))
    trials = bridge._pulse_trials(x, b, 0.05, 0.6)
    shifts = np.array([-0.3, 0.0, 0.2])
    lit, last = bridge._layer_ignites(held, trials, shifts, 15.0, 0.05, 0.6, durations=True)
    for row, d in enumerate(shifts):
        one, dur = bridge._layer_ignites(replace(held, threshold=held.threshold + d),
                                         trials, np.zeros(1), 15.0, 0.05, 0.6,
                                         durations=True)
        np.testing.assert_array_equal(lit[row], one[0])
        np.testing.assert_allclose(last[row], dur[0])
    assert lit[0].sum() > lit[1].sum() > lit[2].sum() > 0


def test_calibration_puts_the_point_of_no_return_at_the_circuits_unstable_point():
    """Calibrated on masking's inputs, the layer's point of no return is the circuit's
    unstable fixed point over the layer's rate (0.29-0.31 of an ignition), and masked
    targets near the threshold leave it at rest or ignited late: two modes. With the
    hold's own temperature (the circuit's resting rate, ~0.07 here, against the
    competition's ~0.004) a few linger between (4 of 60 at 3-8 Hz; none at the
    competition's temperature), as the circuit's near-threshold ignitions creep."""
    c = WorkspaceCircuit(k=2)
    task = Masking()
    cal = bridge.calibrate(c, inputs=task.bridge_inputs(task.make_trials(7, seed=3)), seed=3)
    p = cal.params
    assert p.no_return == pytest.approx(bridge._no_return(c) / p.rate)
    assert 0.2 < p.no_return < 0.4 and cal.extra["no_return"] == p.no_return
    assert p.hold_temperature > 0
    assert p.hold_temperature == pytest.approx(bridge._hold_temperature(c, p))
    assert cal.extra["hold_temperature"] == p.hold_temperature
    late = _late_on_masking(p, (0.042, 0.05, 0.058), 60, seed=8)
    assert 0.1 <= (late > 10).mean() <= 0.9
    assert np.mean((late > 3) & (late < 0.4 * p.rate)) <= 0.1
    assert bimodality_coefficient(late) > 0.8


# -- where the circuit's masking threshold sits in the band ---------------------------


def test_masking_threshold_sits_inside_the_band_with_room_for_a_seeds_sampling():
    """The default circuit's 50 % visibility point, measured on 200 targets per SOA
    around it (42 / 50 / 58 ms; a seed no issue names), lies at the ~50 ms of Del Cul et
    al. 2007, inside the 35-55 ms band by more than a seed's sampling with the task's 20
    trials per SOA (~3 ms): 45-51.5 ms (50.6 ms here). With the processor -> workspace
    weight at 9 pA instead of 9.25 the same trials give 52.2 ms (51.5 ms over 1000
    targets), and one seed in seven of the task fell past 55 ms (seed 23: 55.3 ms)."""
    from neuroattn.tasks.masking import threshold_crossing

    task = Masking(soas=(0.042, 0.05, 0.058), catch=False)
    tr = task.make_trials(600, seed=61)
    res = task.score(tr, get_mechanism("workspace").agent("spiking", task.spec(),
                                                          "numba").run(tr), 61)
    vis = res.summary.set_index("condition")["visibility"]
    assert vis["soa42"] < vis["soa50"] < vis["soa58"]
    thr = threshold_crossing(task.soas, *vis[["soa42", "soa50", "soa58"]].to_numpy())
    assert 0.045 <= thr <= 0.0515


# -- the layer's block of a new input during an ignition ------------------------------


def _blindness_like(circuit):
    """The layer as the blindness calibration leaves it before the busy protocol (seed
    515: temperature 0.002, threshold 1.60, adaptation gain 3.18, rate 41 Hz, the hold,
    and the inhibition's mean-field onset 0.768 with competition 2.0)."""
    from dataclasses import replace

    p = replace(bridge.to_softmax(circuit), temperature=0.002, threshold=1.60,
                adapt_gain=3.18, rate=41.0, adapt_onset=0.313, lateral_onset=0.768,
                competition=2.0, state_onset=3.84e9)
    p = replace(p, no_return=bridge._no_return(circuit) / 41.0)
    return replace(p, hold_temperature=bridge._hold_temperature(circuit, p))


def test_the_layers_busy_probe_ignites_as_often_as_the_circuits():
    """Blindness' busy probe (a salient item outside the task set, 200 ms after a target,
    behind the target's mask): at the inhibition's mean-field onset the layer's block
    is barely recruited and the probe passes the seen criterion on most busy trials
    (0.84 at seed 515 against the circuit's 0.30). The busy protocol of the calibration
    (each pair of the task's inputs, the target, its mask, then the successor, at five
    quantiles of the state) moves the onset until the layer's probe ignites as often as
    the circuit's there; on the task's own trials (a seed no issue names) the layer's
    busy probe then ignites within 0.2 of the circuit's, less often in trials whose
    state strengthens the block, and the ratio to rest is below one half on both
    tiers. Pairs whose successor is a target (the blink's T2) are left out."""
    from neuroattn.tasks import Blindness, Blink

    c = WorkspaceCircuit(k=3)
    base = _blindness_like(c)
    task = Blindness()
    u = task.bridge_inputs(task.make_trials(24, seed=71))
    x, b = u[:, :3], u[:, 3:]
    states = bridge._state_values(base)
    assert states.size == bridge.BUSY_STATES and states[0] < base.state_mean < states[-1]
    tr, st, item, onsets = bridge._busy_trials(x, b, 0.1, bridge.BUSY_DELAY, states)
    assert (item == 1).all()                                   # the probe
    stim = tr.stimulus[0]
    assert stim[150:250, 2].min() > 0.5 and stim[150:250, 1].max() < 0.5   # the mask
    # the blink's successor (T2) is a target: no busy pair (the protocol's rule)
    ub = Blink().bridge_inputs(Blink().make_trials(8, seed=3))
    assert bridge._busy_trials(ub[:, :3], ub[:, 3:], 0.1, bridge.BUSY_DELAY, states) is None
    rates, width = bridge._circuit_busy(c, tr, st, "numba", 1e-4, 5, False)
    busy_c, second_c = bridge._busy_ignitions(rates, width, 15.0, item, onsets)
    assert busy_c.sum() >= 40                                  # the busy pairs' targets
    fitted, want, got = bridge._match_block(base, tr, st, item, onsets, busy_c, second_c,
                                            15.0)
    assert want < 0.6
    assert abs(got - want) <= 1.0 / busy_c.sum() + 0.05
    assert fitted.lateral_onset < base.lateral_onset - 0.03
    assert fitted.lateral_onset > 1.0 / (1.0 + fitted.competition)   # blank control
    # the task's own trials, held out
    trials = task.make_trials(160, seed=29)
    m = get_mechanism("workspace")
    spk = task.score(trials, m.agent("spiking", task.spec(), "numba").run(trials), 29).table
    seen = {}
    for name, p in (("mean field", base), ("fitted", fitted)):
        agent = m.agent("softmax", task.spec(), "torch", fitted=p)
        seen[name] = task.score(trials, agent.run(trials), 29).table
    busy = spk["condition"] == "busy"

    def rate(t):
        return float(t.loc[busy & t["valid"], "probe_seen"].mean())

    assert rate(seen["mean field"]) > rate(spk) + 0.3
    assert abs(rate(seen["fitted"]) - rate(spk)) <= 0.2          # 0.41 against 0.30
    lay = seen["fitted"]
    low = busy & lay["valid"] & (lay["state_block"] < base.state_mean)
    high = busy & lay["valid"] & (lay["state_block"] >= base.state_mean)
    assert lay.loc[low, "probe_seen"].mean() > lay.loc[high, "probe_seen"].mean() + 0.2
    for t in (spk, lay):
        at_rest = float(t.loc[~busy, "probe_seen"].mean())
        assert rate(t) / at_rest < 0.5


def test_calibrate_refuses_a_bad_busy_delay():
    """The busy protocol's delay is a time >= 0 (0 or None: no busy protocol)."""
    from neuroattn.exceptions import ValidationError

    c = WorkspaceCircuit(k=2)
    for bad in (-0.1, float("nan"), "0.2", True):
        with pytest.raises(ValidationError, match="calibrate.busy_delay"):
            bridge.calibrate(c, busy_delay=bad)
