"""Every mechanism runs every task it supports through the contracts, at both tiers."""

import math

import numpy as np
import pytest
import torch

import neuroattn.attention.dispatch as dispatch
from neuroattn.mechanisms import MECHANISMS, BridgeReport, Mechanism
from neuroattn.model import Recording
from neuroattn.tasks import TASKS, Task
from neuroattn.tasks.targets import TARGETS
from tests.mechanisms.conftest import BRIDGE_BORDERLINE, BRIDGE_GAPS, UNSUPPORTED


@pytest.mark.parametrize("mech_name", sorted(MECHANISMS))
@pytest.mark.parametrize("task_name", sorted(TASKS))
def test_unsupported_table_agrees_with_supports(mech_name, task_name):
    mech = MECHANISMS[mech_name]
    reason = mech.supports(TASKS[task_name]().spec())
    listed = (mech_name, task_name) in UNSUPPORTED
    assert (reason is not None) == listed, (mech_name, task_name, reason)


def test_registries_hold_contract_objects():
    assert MECHANISMS and all(isinstance(m, Mechanism) and m.name == n
                              for n, m in MECHANISMS.items())
    assert TASKS and all(issubclass(t, Task) and t.name == n for n, t in TASKS.items())


def test_spiking_tier_reads_out_the_roles_the_task_declares(pair):
    mech, task_cls = pair
    task = task_cls()
    spec = task.spec()
    trials = task.make_trials(6, seed=11)
    rec = mech.agent("spiking", spec, "numba").run(trials)
    assert isinstance(rec, Recording)
    assert rec.roles == spec.unit_names()
    for role, names in spec.unit_names().items():
        rates = rec.role(role)
        assert rates.shape[:2] == (6, rec.rates.shape[1]) and rates.shape[2] == len(names)
        # NaN only after a trial that an engine stopped early (the decision's stop rule):
        # the first bin is simulated, and once a bin is not, no later bin is
        simulated = np.isfinite(rates).all(axis=2)
        assert simulated[:, 0].all() and np.all(np.diff(simulated.astype(int), axis=1) <= 0)
        assert np.all(np.isfinite(rates[simulated])) and np.all(rates[simulated] >= 0)
    result = task.score(trials, rec, seed=11)
    assert len(result.table) == 6
    for e in result.effects:
        assert e.target and e.unit
        assert e.band is not None or e.null is not None or e.passed is None, e


def test_softmax_tier_computes_its_weights_through_neuroattn_attention(pair, monkeypatch):
    mech, task_cls = pair
    task = task_cls()
    spec = task.spec()
    trials = task.make_trials(4, seed=3)
    calls = []
    original = dispatch._RUN["numba"]

    def counting(call):
        calls.append(call.batch_shape)
        return original(call)

    monkeypatch.setitem(dispatch._RUN, "numba", counting)
    agent = mech.agent("softmax", spec, "numba", fitted=mech.to_softmax(spec))
    rec = agent.run(trials)
    assert calls, "the softmax tier did not call scaled_dot_product_attention"
    assert rec.roles == spec.unit_names()
    assert np.all(np.isfinite(rec.rates))
    # the other backends give the same rates: the layer's result is the attention's
    ref = mech.agent("softmax", spec, "reference", fitted=mech.to_softmax(spec)).run(trials)
    np.testing.assert_allclose(rec.rates, ref.rates, rtol=1e-9, atol=1e-9)


def test_softmax_tier_is_differentiable(pair):
    mech, task_cls = pair
    task = task_cls()
    spec = task.spec()
    module = mech.softmax(spec, mech.to_softmax(spec), None)
    trials = task.make_trials(2, seed=0)
    ev = torch.as_tensor(trials.role("evidence"), dtype=torch.float64)
    bias = torch.as_tensor(trials.role("bias"), dtype=torch.float64)
    module(ev, bias, trials.dt).sum().backward()
    grads = [p.grad for p in module.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)
    assert any(g.abs().sum() > 0 for g in grads)


@pytest.mark.parametrize("mech_name", sorted(MECHANISMS))
def test_spike_counts_are_whole_spikes_that_accumulate_over_the_window(mech_name):
    """The bridge's contract: ``spike_counts`` gives each item's spikes per window, whole
    numbers, on the first task the mechanism runs. The windows start together, so a
    longer one holds every spike of a shorter one."""
    mech = MECHANISMS[mech_name]
    task = next(t() for _, t in sorted(TASKS.items()) if mech.supports(t().spec()) is None)
    spec = task.spec()
    u = task.bridge_inputs(task.make_trials(3, seed=21))
    counts = mech.spike_counts(spec, u, (0.02, 0.06), seed=8)
    assert set(counts) == {0.02, 0.06}
    for c in counts.values():
        assert c.shape == (len(u), spec.n_items)
        assert np.all(c >= 0) and np.array_equal(c, np.round(c))
    assert np.all(counts[0.06] >= counts[0.02])
    # counts, not shares: rows are not normalised
    assert counts[0.06].sum() > len(u), counts


def test_effects_name_published_targets(pair):
    mech, task_cls = pair
    task = task_cls()
    trials = task.make_trials(10, seed=2)
    result = task.score(trials, mech.agent("spiking", task.spec(), "numba").run(trials))
    texts = {t.describe() for t in TARGETS.values()}
    held = [e for e in result.effects if e.band is not None or e.null is not None]
    assert held, "a task must hold at least one effect to a published band"
    assert all(e.target in texts for e in held), [e.target for e in held]


#: settings that keep a bridge check affordable: search runs the engine once per
#: selection, on a circuit as wide as its largest display; gain's presentation and
#: capacity's delay are shortened as in tests/backends/test_task_agreement.py. The
#: decision network runs at its published 2000 neurons: the bridge reads the layer's R
#: from the network's winner rate, which a smaller network (400: 26-32 Hz against 34)
#: holds lower, and its layer then fits closer to even shares than the network's (JS
#: 0.0070 against the bound 0.0059 at n = 400; 0.42 of uniform's at n = 2000, about 50
#: CPU s)
_SMALLER = {"search": ["task.set_sizes=[3, 6]"],
            "gain": ["task.duration=0.3", "task.window=0.15"],
            "capacity": ["task.delay=0.4", "task.set_sizes=[1, 2, 4, 8]"]}
#: the decision layer's 60 trials on torch's attention kernels: the same choices and RTs
#: as on numba's, in half the CPU time (the bridge's JS does not use this run)
_SMALLER_PAIR: dict = {("decision-attractor", "decision"): ["agent.attention_backend=torch"]}


@pytest.mark.slow
def test_bridge_report_states_the_agreement_against_chance(pair, tmp_path, request):
    from neuroattn.study.config import resolve_config
    from neuroattn.study.experiment import compare_tiers

    mech, task_cls = pair
    gap = BRIDGE_GAPS.get((mech.name, task_cls.name))
    if gap is not None:
        request.applymarker(pytest.mark.xfail(
            reason=gap, strict=(mech.name, task_cls.name) not in BRIDGE_BORDERLINE))
    config = resolve_config("compare", task_cls.name, mech.name, trials=60, seed=4,
                            backend="numba", sets=["agent.random_inputs=20",
                                                   "agent.calibration_trials=20",
                                                   *_SMALLER.get(task_cls.name, ()),
                                                   *_SMALLER_PAIR.get((mech.name,
                                                                       task_cls.name), ())])
    out = compare_tiers(config, tmp_path)
    b = out.summary["bridge"]
    assert set(b) == {f for f in BridgeReport.__dataclass_fields__}
    assert len(b["js_task"]) == len(b["windows"]) == len(b["js_random"])
    assert len(b["js_task_plain"]) == len(b["windows"]) == len(b["js_random_plain"])
    # the softmax weights are far closer to the spike shares than uniform weights are
    assert b["js_task"][-1] < 0.5 * b["js_uniform"], b
    if task_cls.agreement == "choice":
        assert 0 <= b["chance_agreement"] <= b["choice_agreement"] <= 1
        assert -1 <= b["kappa"] <= 1
        if any(np.isfinite(r.table["rt"]).any() for r in out.results.values()):
            # a task with reaction times (blink and masking report seen / not seen only)
            assert math.isfinite(b["rt_correlation_shuffled"])
    else:
        assert math.isfinite(b["response_mean_abs_difference"])


def test_both_tiers_declare_the_same_per_trial_state(pair):
    """A mechanism's subject state (TrialState) is the same on its two tiers, so that both
    see the same value on each trial; a mechanism without one declares none on either."""
    from neuroattn.mechanisms.base import TrialState

    mech, task_cls = pair
    spec = task_cls().spec()
    softmax = mech.agent("softmax", spec, "torch", fitted=mech.to_softmax(spec))
    states = tuple(mech.spiking(spec).state)
    assert all(isinstance(s, TrialState) for s in states)
    assert tuple(getattr(softmax.module, "trial_state", ()) or ()) == states
    expected = ("block",) if mech.name == "workspace" else ()
    assert tuple(s.name for s in states) == expected
