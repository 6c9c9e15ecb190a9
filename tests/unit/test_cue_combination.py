"""Cue combination: trials carry real cue noise, the score measures Ernst & Banks' weights."""

import numpy as np
import pytest

from neuroattn.exceptions import ValidationError
from neuroattn.mechanisms import get_mechanism
from neuroattn.model import Recording
from neuroattn.tasks import TASKS, CueCombination
from neuroattn.tasks.cue_combination import optimal_weight


def test_registered_and_conditions_cycle():
    assert TASKS["cue-combination"] is CueCombination
    trials = CueCombination(ratios=(0.5, 2.0, 8.0)).make_trials(12, seed=3)
    assert trials.conditions["condition"].tolist()[:5] == [
        "cue0", "cue1", "both_r0.5", "both_r2", "both_r8"]
    assert trials.spec.values == (1.0, 0.0) and trials.spec.readouts == ("items", "unit")


def test_cue_noise_has_the_stated_reliabilities_and_the_bias_is_their_log_ratio():
    task = CueCombination(ratios=(4.0,), noise=0.5)
    trials = task.make_trials(30, seed=1)
    both = (trials.conditions["condition"] == "both_r4").to_numpy()
    on = int(round(task.onset / task.dt))
    ev = trials.role("evidence")[both, on:].astype(np.float64)
    var = ev.reshape(-1, 2).var(axis=0)
    # pi0 / pi1 = var1 / var0 = 4 (20 000 draws per cue: within 5 %)
    assert var[1] / var[0] == pytest.approx(4.0, rel=0.05)
    assert ev.mean(axis=(0, 1)) == pytest.approx([2.0, 2.0], abs=0.02)
    bias = trials.role("bias")[both][:, 0]
    np.testing.assert_allclose(bias, np.tile([np.log(4) / 2, -np.log(4) / 2], (both.sum(), 1)),
                               rtol=1e-6)
    # a single cue: the absent cue's expected reliability is 1/16 of the shown one's
    cond = trials.conditions["condition"].to_numpy()
    for shown in (0, 1):
        single = trials.role("bias")[cond == f"cue{shown}"]
        expect = np.full(2, -np.log(16) / 2)
        expect[shown] *= -1
        np.testing.assert_allclose(single, np.broadcast_to(expect, single.shape), rtol=1e-6)
    flat = CueCombination(ratios=(4.0,), absent_reliability=1.0).make_trials(30, seed=1)
    assert np.all(flat.role("bias")[~both] == 0)


def test_trial_t_does_not_depend_on_the_batch():
    task = CueCombination()
    a = task.make_trials(7, seed=5).stimulus
    b = task.make_trials(3, seed=5).stimulus
    np.testing.assert_array_equal(a[:3], b)


def _recording(task, trials, weight_of_ratio, noise_seed=0):
    """A unit whose rate is 20 + 40 * (w v0 + (1 - w) v1) + N(0, 1) Hz, w per condition."""
    n = trials.n
    bins = int(round(task.duration / 5e-3))
    rates = np.zeros((n, bins, 3))
    rng = np.random.default_rng(noise_seed)
    for t, row in trials.conditions.iterrows():
        if row["condition"] == "cue0":
            w = 1.0
        elif row["condition"] == "cue1":
            w = 0.0
        else:
            w = weight_of_ratio(row["ratio"])
        rates[t, :, 2] = 20 + 40 * w + rng.normal(0, 1.0)
        rates[t, :, :2] = 10.0
    roles = {"items": ("item0", "item1"), "unit": ("unit",)}
    return Recording(rates, 5e-3, ("item0", "item1", "unit"), roles=roles)


def test_score_passes_the_optimal_observer_and_fails_an_equal_split():
    task = CueCombination()
    trials = task.make_trials(100, seed=2)
    good = task.score(trials, _recording(task, trials, optimal_weight), seed=2)
    assert [e.passed for e in good.effects] == [True, True, True]
    assert good.effect("weight_r4").estimate == pytest.approx(0.8, abs=0.02)
    equal = task.score(trials, _recording(task, trials, lambda r: 0.5), seed=2)
    assert [e.passed for e in equal.effects] == [False, True, False]
    over = task.score(trials, _recording(task, trials, lambda r: r ** 2 / (1 + r ** 2)), seed=2)
    assert over.effect("weight_r4").passed is False


def test_an_optimal_observer_passes_every_ratio_in_95_percent_of_runs():
    """The weights' CIs are simultaneous: an observer with exactly the optimal weights
    passes all three ratios in ~95 % of runs of 200 trials (0.96 over these 200 runs;
    separate 95 % CIs: 0.87), and each interval is the bootstrap interval at level
    1 - 0.05/3."""
    from neuroattn.tasks.cue_combination import _weight, weight_level
    from neuroattn.tasks.stats import bootstrap_stat_ci

    task = CueCombination()
    trials = task.make_trials(200, seed=2)
    passed = []
    for run in range(200):
        res = task.score(trials, _recording(task, trials, optimal_weight, run), seed=run)
        passed.append(all(e.passed for e in res.effects))
    assert np.mean(passed) >= 0.93, np.mean(passed)
    resp = {c: res.table.loc[res.table["condition"] == c, "response"].to_numpy()
            for c in ("both_r4", "cue0", "cue1")}
    _, lo, hi = bootstrap_stat_ci(list(resp.values()), _weight, 199, level=weight_level(3))
    e = res.effect("weight_r4")
    assert (e.ci_low, e.ci_high) == pytest.approx((lo, hi), rel=1e-12)


@pytest.mark.parametrize("kwargs, match", [
    (dict(ratios=(1.0, -2.0)), r"CueCombination\.ratios: expected distinct reliability ratios"),
    (dict(ratios=(2.0, 2.0)), r"CueCombination\.ratios"),
    (dict(values=(0.2, 0.8)), r"CueCombination\.values: expected \(v0, v1\) with 1 >= v0 > v1"),
    (dict(noise=0.0), r"CueCombination\.noise"),
    (dict(window=0.5), r"CueCombination\.window: must fit after the onset"),
    (dict(absent_reliability=0.0), r"CueCombination\.absent_reliability: expected .* in "
                                   r"\(0, 1\]"),
    (dict(absent_reliability=2.0), r"CueCombination\.absent_reliability"),
])
def test_bad_parameters_name_themselves(kwargs, match):
    with pytest.raises(ValidationError, match=match):
        CueCombination(**kwargs).make_trials(2)


def test_single_bias_refuses_a_cue_that_does_not_exist():
    with pytest.raises(ValidationError, match=r"single_bias: shown: expected the shown cue, "
                                              r"0 or 1 \(got 2\)"):
        CueCombination().single_bias(2)


def test_seconds_accept_brian2_quantities():
    ms = pytest.importorskip("brian2").ms
    assert CueCombination(onset=40 * ms, window=200 * ms) == CueCombination(onset=0.04,
                                                                           window=0.2)


def test_precision_circuit_weights_cues_by_reliability(seed=7):
    """The spiking tier (numba) weights the cues by reliability at three ratios: every
    weight's (simultaneous 95 %) CI holds pi0/(pi0+pi1) and, for unequal reliabilities,
    excludes 0.5, and every estimate is within 0.05 of the optimum: an equal split (0.5) or weights
    that follow the squared reliabilities (0.94 at ratio 4) are far outside. The unit
    loop behind it, in every condition: the pool keeps the unit errors' summed rate
    within 25 % of the single cues' (it doubled without it), the net error drive onto
    the integrating unit is small (< 0.8 Hz of error rate, 6 pA; a leaky unit needs
    > 50 pA), and the unit does not oscillate with two cues: its 25 ms-binned std within
    a trial stays < 16 Hz and within 1.3x the single cues' (when the loop gain doubled
    it was 16-23 Hz with two cues against 7-8 Hz with one; the unit errors' 5 ms
    synapses onto the unit now leave ~10-14 Hz of fast shot noise in every condition)."""
    from neuroattn.backends import simulate
    from neuroattn.model import Stimulus

    task = CueCombination()
    model = get_mechanism("precision").spiking(task.spec())
    trials = task.make_trials(100, seed=seed)
    rec = simulate(model.network, Stimulus(trials.stimulus.astype(np.float64), trials.dt,
                                           model.drives), dt=1e-4, seed=seed, backend="numba")
    unit = rec.select(["R0", "R1", "V"])
    res = task.score(trials, Recording(unit.rates, unit.bin_width, ("item0", "item1", "unit"),
                                       roles=trials.spec.unit_names()), seed=seed)
    for e in res.effects:
        assert e.passed, e
        assert abs(e.estimate - e.band[0]) < 0.05, e
        assert e.ci_high - e.ci_low < 0.15, e  # simultaneous 95 % over 3 ratios, 20 trials each
    units = list(rec.units)
    late = rec.times >= task.duration - task.window - 1e-12
    cond = trials.conditions["condition"].to_numpy()

    def pop(name, c):
        return rec.rates[cond == c][:, late, units.index(name)]

    total = {c: sum(pop(f"U{s}{k}", c).mean() for s in "PN" for k in (0, 1))
             for c in task.conditions}
    single = (total["cue0"] + total["cue1"]) / 2

    def std25(c):
        v = pop("V", c)
        return v[:, :v.shape[1] // 5 * 5].reshape(len(v), -1, 5).mean(axis=2).std(axis=1).mean()

    one_cue = (std25("cue0") + std25("cue1")) / 2
    for c in task.conditions:
        assert total[c] < 1.25 * single, (c, total)
        net = sum(pop(f"UP{k}", c).mean() - pop(f"UN{k}", c).mean() for k in (0, 1))
        assert abs(net) < 0.8, (c, net)
        assert std25(c) < 16.0 and std25(c) < 1.3 * one_cue, (c, std25(c), one_cue)


def _unit_log_gain_ratio(circuit, noise, n, seed):
    """Per combined condition of CueCombination(noise, ratios (1/4, 4)): the log gain
    ratio of the two cues' unit errors, ``log sqrt(UP0 UN0) - log sqrt(UP1 UN1)`` over
    the response window (``log pi_0 - log pi_1`` whatever the value errors), less what
    each trial's realised evidence puts there (``x_k / T_unit``, the evidence averaged
    over the window shifted back by the unit errors' filter): the log precision ratio
    the circuit gives the cues' reliabilities, ``ln r`` when it is right."""
    from neuroattn.backends import simulate
    from neuroattn.model import Stimulus

    task = CueCombination(noise=noise, ratios=(0.25, 4.0))
    model = circuit.spiking_model(task.spec())
    trials = task.make_trials(n, seed=seed)
    rec = simulate(model.network, Stimulus(trials.stimulus.astype(np.float64), trials.dt,
                                           model.drives), dt=1e-4, seed=seed, backend="numba")
    units, cond = list(rec.units), trials.conditions["condition"].to_numpy()
    late = rec.times >= task.duration - task.window - 1e-12
    lag = circuit.tau_ue + circuit.tau_unit_err
    rows = np.arange(trials.stimulus.shape[1]) * trials.dt
    shifted = (rows >= task.duration - task.window - lag) & (rows < task.duration - lag)
    kappa = circuit.unit_evidence_gain * circuit.err.r_m / circuit.err.delta_u
    out = {}
    for ratio in task.ratios:
        sel = cond == f"both_r{ratio:g}"
        log_gain = [sum(0.5 * np.log(rec.rates[sel][:, late, units.index(f"U{s}{k}")]
                                     .mean(axis=1)) for s in "PN") for k in (0, 1)]
        x = trials.stimulus[sel][:, shifted, :2].mean(axis=1)
        out[ratio] = float(np.mean(log_gain[0] - log_gain[1] - kappa * (x[:, 0] - x[:, 1])))
    return out


def test_very_noisy_cues_keep_their_log_precision_ratio(seed=13):
    """At noise 1.0 (cue noise std 1.41 and 0.71 per row at r = 4, around a mean of 2)
    the cues' unit errors keep log gain ratios within 0.12 nats of +-ln 4 (their mean
    compression is the cue noise's Jensen term through the 50 ms membrane, ~0.05 nats).
    The earlier input coding, Poisson afferents (tau_ue 50 ms onto a 5 ms membrane),
    could not carry the rows where a noisy cue's input fell below 0 (8 % of them at
    sigma 1.41): its rectified half raised the noisier cue's log precision, and the ratio
    lost 0.16-0.22 nats (seeds 2, 3, 9, 13, 21), which put the spiking weight at r = 4
    near 0.75-0.77 (docs/tasks/cue_combination.md). 80 trials (20 per combined
    condition) resolve that (standard error ~0.025 nats) where the weight itself would
    need ~1000 trials to tell 0.75 from 0.8; this runs that circuit too, so the check
    is seen to fail where it should."""
    from neuroattn.mechanisms.precision import PCCircuit

    ln4 = np.log(4.0)
    ratio = _unit_log_gain_ratio(PCCircuit(k=2), 1.0, 80, seed)
    compression = ln4 - (ratio[4.0] - ratio[0.25]) / 2
    assert abs(compression) < 0.12, ratio
    assert abs(ratio[4.0] - ln4) < 0.15 and abs(ratio[0.25] + ln4) < 0.15, ratio
    poisson = PCCircuit(k=2, tau_ue=0.05, tau_unit_err=0.005, w_uv=1e-12, tau_uv=0.05)
    old = _unit_log_gain_ratio(poisson, 1.0, 80, seed)
    assert ln4 - (old[4.0] - old[0.25]) / 2 > 0.12, old


def _pool_shift(c, log_rates, dt):
    """Nats by which the normalisation pool ``UZ`` lowers every unit error's log rate
    (``log_rates``, ln Hz, without the pool), at the pool's steady state (Siegert rate of
    its neurons)."""
    from scipy.optimize import brentq

    from neuroattn.neurons import lif_rate_noisy

    nat = c.err.r_m / c.err.delta_u
    if c.w_ne == 0:
        return 0.0

    def total(z):  # summed rate of the unit errors (Hz per neuron) after the shift z
        return np.sum(-np.expm1(-np.exp(log_rates - z) * dt) / dt)

    def excess(z):
        pool = float(lif_rate_noisy(c.w_en * c.n_unit_err * c.tau_en * total(z), c.norm,
                                    n_points=200))
        return z - nat * c.w_ne * c.n_norm * c.tau_ne * pool

    return brentq(excess, 0.0, 30.0)


def _mean_field_unit_rate(c, evidence, bias, values=(1.0, 0.0), dt=1e-4, out=None):
    """The unit's rate where its errors balance (mean field of PCCircuit's unit level).

    Error rates ``rho0 exp(v / delta_u)`` with one escape draw per step of ``dt``; the
    precision populations at their Siegert rates; the normalisation pool at its steady
    state (:func:`_pool_shift`); ``V`` an integrator, so it settles where ``sum_k UP_k -
    UN_k = 0``. With ``out`` (a dict) the unit errors' summed rate there is stored in
    ``out['total']``.
    """
    from scipy.optimize import brentq

    from neuroattn.neurons import lif_rate_noisy

    nat = c.err.r_m / c.err.delta_u
    mod = np.array([float(lif_rate_noisy(b * c.cue_gain, c.mod, n_points=400)) for b in bias])
    gate = nat * (c.w_mod * c.n_mod * c.tau_mod * mod
                  + c.unit_evidence_gain * np.asarray(evidence) + c.value_offset)
    v = nat * c.value_gain * np.asarray(values)
    j = nat * c.w_vu * c.n_unit * c.tau_vu

    def log_rates(r):
        lr = np.log(c.err.rho0) + np.concatenate([gate + v - j * r,
                                                  gate + nat * c.err_offset - v + j * r])
        return lr - _pool_shift(c, lr, dt)

    def net(r):
        lr = log_rates(r)
        rate = -np.expm1(-np.exp(lr) * dt) / dt
        return np.sum(rate[:len(v)]) - np.sum(rate[len(v):])

    r = brentq(net, -200.0, 400.0)
    if out is not None:
        out["total"] = float(np.sum(-np.expm1(-np.exp(log_rates(r)) * dt) / dt))
    return r


def _mean_field_weight(c, ratio, contrast=2.0, task=None):
    task = task or CueCombination()
    one = _mean_field_unit_rate(c, (contrast, 0.0), task.single_bias(0))
    other = _mean_field_unit_rate(c, (0.0, contrast), task.single_bias(1))
    b = np.log(ratio) / 2
    return (_mean_field_unit_rate(c, (contrast, contrast), (b, -b)) - other) / (one - other)


def test_mean_field_oracle_the_unit_balances_at_the_optimal_weight():
    """Mean-field oracle of the circuit's unit level: with the default parameters the
    conflict estimator's weight at balance is within 0.002 of pi0/(pi0+pi1) at ratios 1/8
    to 8 (what is left, ~0.0013 toward 0.5: the log-sum-exp of the value errors and the
    escape draw's saturation). The task's single-cue conditions tell the observer which
    cue is absent (its expected reliability 1/16 of the shown one's); without that
    (``absent_reliability`` 1) an absent cue keeps exp(-2 x nats per unit x contrast) of
    the precision, and at 2 nats per unit of evidence (exp(-4)) the weights expand by
    ~0.014 at ratio 8, at 3 nats by ~0.0014; with it, 2 nats are within 0.002 too.
    Without the normalisation pool the unit errors' rates grow with the number of cues
    shown (x2.4 with two) until the escape draw saturates them, and the weights are off
    by > 0.01 at ratios 1/4 and 4."""
    from neuroattn.mechanisms.precision import PCCircuit

    c = PCCircuit(k=2)
    ratios = (0.125, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
    err = np.array([_mean_field_weight(c, r) - optimal_weight(r) for r in ratios])
    assert np.all(np.abs(err) < 0.002), err
    assert abs(err[3]) < 1e-6  # equal reliabilities: exactly 0.5
    leaky = PCCircuit(k=2, unit_evidence_gain=40e-12, value_offset=-12e-12)
    unaware = CueCombination(absent_reliability=1.0)
    assert _mean_field_weight(leaky, 8.0, task=unaware) - optimal_weight(8.0) > 0.01
    assert abs(_mean_field_weight(leaky, 8.0) - optimal_weight(8.0)) < 0.002
    no_pool = PCCircuit(k=2, w_ne=0.0)
    assert abs(_mean_field_weight(no_pool, 4.0) - optimal_weight(4.0)) > 0.01


def test_mean_field_the_pool_normalises_the_unit_errors_total_rate():
    """The pool UZ divides every unit error's gain alike, so the unit loop's gain (the
    errors' summed rate) changes by < 20 % between one cue and two (it doubles without
    the pool: a loop tuned for one cue rang, then oscillated, with two), while the
    balance point, which depends on the ratios of the gains only, does not move; and a
    stronger stimulus (contrast 3) no longer saturates the errors' escape draw."""
    from neuroattn.mechanisms.precision import PCCircuit

    c, no_pool = PCCircuit(k=2), PCCircuit(k=2, w_ne=0.0, value_offset=-94e-12)
    b = np.log(4) / 2
    for circuit, lo, hi in ((c, 1.0, 1.2), (no_pool, 2.0, 3.0)):
        one, two = {}, {}
        r1 = _mean_field_unit_rate(circuit, (2.0, 0.0), (0.0, 0.0), out=one)
        r2 = _mean_field_unit_rate(circuit, (2.0, 2.0), (b, -b), out=two)
        assert lo < two["total"] / one["total"] < hi, (two, one)
        assert r1 == pytest.approx(40.0, abs=0.2) and 35.0 < r2 < 37.0
    # a stronger stimulus raises every error's gain alike; the pool takes it back before
    # the escape draw saturates (the unnormalised errors compress the weight to ~0.76)
    assert _mean_field_weight(c, 4.0, contrast=3.0) == pytest.approx(0.8, abs=0.005)
    assert _mean_field_weight(no_pool, 4.0, contrast=3.0) < 0.77


def _uncorrected_unit_weights(p, task, trials, values=(1.0, 0.0)):
    """Per trial, the unit's mean weight over the response window as the layer computed
    it before the lognormal correction: softmax(log pi + u / T_unit) at every row, u the
    evidence through the unit_tau low-pass (the bias is constant, so its filter is the
    identity)."""
    x = trials.role("evidence").astype(np.float64)
    b = trials.role("bias").astype(np.float64)
    a = 1 - np.exp(-trials.dt / p.unit_tau)
    u, f = np.empty_like(x), x[:, 0]
    for s in range(x.shape[1]):
        f = f + a * (x[:, s] - f)
        u[:, s] = f
    z = p.log_pi(b) + u / p.unit_temperature
    w = np.exp(z - z.max(-1, keepdims=True))
    est = (w * np.asarray(values)).sum(-1) / w.sum(-1)
    late = np.arange(x.shape[1]) * trials.dt >= task.duration - task.window - 1e-12
    return est[:, late].mean(axis=1)


def test_the_layer_weights_very_noisy_cues_without_bias(seed=31):
    """Softmax tier at noise 1.0 (cue noise std 1.41 / 0.71 per row at r = 4): the layer's
    weights are within 0.006 of pi0/(pi0+pi1) on 2000 trials (400 per condition; SE
    ~0.0015). The evidence's noise reaches the unit's log precision
    (x / T_unit, 3 nats per unit); a per-row softmax averages it into weights compressed
    toward 0.5. The layer takes off half the evidence's variance in the logit (the
    lognormal mean), which for cues whose noise variances are 1 / pi cancels that
    compression to second order; without it, on the same trials, the weights are
    compressed by > 0.006 (~0.01)."""
    torch = pytest.importorskip("torch")  # noqa: F841
    from neuroattn.mechanisms.precision import PCCircuit, to_softmax

    task = CueCombination(noise=1.0)
    mech = get_mechanism("precision")
    p = to_softmax(PCCircuit(k=2), values=task.spec().values)
    trials = task.make_trials(2000, seed=seed)
    rec = mech.agent("softmax", task.spec(), "numba", fitted=p).run(trials)
    res = task.score(trials, rec, seed=seed)
    cond = trials.conditions["condition"].to_numpy()
    old = _uncorrected_unit_weights(p, task, trials)
    m = {c: old[cond == c].mean() for c in task.conditions}
    for e, ratio in zip(res.effects, task.ratios):
        opt = optimal_weight(ratio)
        assert abs(e.estimate - opt) < 0.006, e
        w_old = (m[f"both_r{ratio:g}"] - m["cue1"]) / (m["cue0"] - m["cue1"])
        if ratio != 1.0:
            # compressed toward 0.5, by more than the corrected layer is off
            assert (w_old - opt) * np.sign(0.5 - opt) > 0.006, (ratio, w_old)


def test_the_layers_single_cues_calibrate_the_weights_once_the_absent_cue_is_known(seed=41):
    """Softmax tier at the default noise 0.5, 2000 trials (400 per condition): the layer's
    own weight of cue 0 in the combined conditions, read off the unit response as
    ``(response - unit_base) / unit_gain``, is within 0.005 of pi0/(pi0+pi1) (SE 0.0011 at
    ratio 4, 0.0015 at ratio 1). The conflict estimator ``(both - cue1) / (cue0 - cue1)``
    reads the same weight when the single-cue responses sit at the ends of the unit's
    range: with the task's default, the observer expects 1/16 of the shown cue's
    reliability from the absent one, which keeps ``exp(-6 - ln 16)`` of the weight, and
    the estimator moves the weights by < 0.0004. Without it (``absent_reliability`` 1) an
    absent cue keeps ``exp(-6)`` (3 nats per unit at contrast 2), the single-cue responses
    sit that share ``e`` inside the range and the estimator reads ``(w - e) / (1 - 2 e)``:
    0.001-0.0025 away from 0.5 at ratios 4 and 1/4, the offset that gave the softmax
    tier 14 CI misses in 100 runs at ratio 4 (10 with the default;
    docs/tasks/cue_combination.md)."""
    torch = pytest.importorskip("torch")  # noqa: F841
    from neuroattn.mechanisms.precision import PCCircuit, to_softmax

    p = to_softmax(PCCircuit(k=2), values=CueCombination().spec().values)
    assert p.unit_temperature == pytest.approx(1 / 3)
    e = np.exp(-6) / (1 + np.exp(-6))
    for task, ends, lo, hi in ((CueCombination(), (0.0, 4 * e / 16), -0.0004, 0.0004),
                               (CueCombination(absent_reliability=1.0), (e, 2 * e), 0.001,
                                0.0025)):
        trials = task.make_trials(2000, seed=seed)
        cond = trials.conditions["condition"].to_numpy()
        agent = get_mechanism("precision").agent("softmax", task.spec(), "numba", fitted=p)
        rec = agent.run(trials)
        res = task.score(trials, rec, seed=seed)
        w = (task.readout(rec)["response"].to_numpy() - p.unit_base) / p.unit_gain
        m = {c: w[cond == c].mean() for c in task.conditions}
        assert ends[0] < 1 - m["cue0"] < ends[1] and ends[0] < m["cue1"] < ends[1], m
        for eff, ratio in zip(res.effects, task.ratios):
            opt = optimal_weight(ratio)
            assert abs(m[f"both_r{ratio:g}"] - opt) < 0.005, (ratio, m)
            if ratio != 1.0:
                shift = (eff.estimate - m[f"both_r{ratio:g}"]) * np.sign(opt - 0.5)
                assert lo < shift < hi, (task.absent_reliability, ratio, eff, m)
