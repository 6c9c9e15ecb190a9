"""Run a task with a mechanism at one tier, at both tiers side by side, or over a series.

These are the library functions behind ``neuroattn run``, ``neuroattn compare`` and
their ``--vary`` option. Each takes a resolved config (:func:`~neuroattn.study.config.
resolve_config`), answers from the results store when that config has been run before,
and otherwise runs, scores and saves atomically. They know tasks and mechanisms only
through the Task and Mechanism contracts.

Both commands give the softmax tier the same parameters for the same config: fitted
(``agent.softmax_from = 'calibrate'``) to simulations of the task's own inputs, or the
mechanism's analytic mapping (``'analytic'``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from neuroattn.exceptions import ValidationError
from neuroattn.mechanisms import BridgeReport, get_mechanism
from neuroattn.model.units import check_choice, check_int, check_positive
from neuroattn.study.config import flatten
from neuroattn.study.store import is_stored, load_summary, run_path, save_run
from neuroattn.tasks import get_task

if TYPE_CHECKING:  # pandas is imported where a table is made: not before a run simulates
    import pandas as pd

__all__ = ["RunOutcome", "Setup", "build", "run_task", "compare_tiers", "run_series",
           "fit_softmax", "trial_agreement", "series_effects", "load_result", "TIERS"]

TIERS = ("spiking", "softmax")
#: seed offsets of the trials the softmax tier is calibrated on, and of the held-out
#: inputs the bridge is judged on (apart from the run's own trials)
_CALIBRATION_SEED = 1_000_003
_HELDOUT_SEED = 2_000_003


@dataclass
class RunOutcome:
    """What a run or a comparison produced (or found in the store)."""

    path: object
    summary: dict
    from_store: bool
    results: dict | None = None
    figures: dict | None = None


@dataclass
class Setup:
    """A config made into objects: the task, the mechanism, its parameters, the agent settings."""

    config: dict
    task: object
    mechanism: object
    params: dict
    agent: dict

    @property
    def spec(self):
        """The task's spec."""
        return self.task.spec()


def _task_from(table: dict):
    cls = get_task(table["name"])
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in table.items() if k != "name"}
    try:
        task = cls(**kwargs)
    except TypeError as exc:
        raise ValidationError(f"task {table['name']}: {exc}") from None
    task.validate()
    return task


def _check_agent(agent: dict, tier: str | None) -> None:
    from neuroattn.attention import BACKENDS as ATTENTION_BACKENDS
    from neuroattn.backends import BACKENDS as SPIKING_BACKENDS

    if tier is not None:
        check_choice(tier, "--tier", TIERS)
    where = "--backend" if tier != "softmax" else "agent.backend"
    check_choice(agent["backend"], where, sorted(SPIKING_BACKENDS))
    where = ("--backend (with --tier softmax it selects the attention backend)"
             if tier == "softmax" else "agent.attention_backend")
    check_choice(agent["attention_backend"], where, ATTENTION_BACKENDS)
    check_choice(agent["softmax_from"], "agent.softmax_from", ("calibrate", "analytic"))
    check_choice(agent["calibration_backend"], "agent.calibration_backend",
                 sorted(SPIKING_BACKENDS))
    check_positive(float(agent["dt"]), "s", "agent.dt")
    check_int(agent["calibration_trials"], "agent.calibration_trials", minimum=3)
    check_int(agent["random_inputs"], "agent.random_inputs", minimum=3)
    windows = agent["bridge_windows"]
    if not isinstance(windows, list) or not windows or not all(
            isinstance(w, (int, float)) and not isinstance(w, bool) and w > 0 for w in windows):
        raise ValidationError(f"agent.bridge_windows: expected a non-empty list of durations "
                              f"> 0 s (got {windows!r})")


def _check_trials_memory(task, n: int, both: bool) -> None:
    """Refuse a run whose trials cannot be held in memory, before making them."""
    from neuroattn.model.units import check_memory, format_bytes

    one = np.asarray(task.make_trials(1, 0).stimulus).nbytes
    # the stimulus, the engine's copy of it and the recording are each about its size;
    # a comparison holds both tiers
    need = n * one * 3 * (2 if both else 1)
    check_memory(need, "--trials", f"{n} trials ({format_bytes(one)} of stimulus each)",
                 "run fewer trials per run and pool several seeds (neuroattn sweep)")


def build(config: dict) -> Setup:
    """Check a resolved config and make its task and mechanism (ValidationError naming what)."""
    check_int(config["trials"], "--trials", minimum=1)
    if config["trials"] > 10_000_000:
        raise ValidationError(f"--trials: at most 10000000 per run (got {config['trials']}); "
                              f"split the run or use several seeds")
    check_int(config["seed"], "--seed", minimum=0)
    task = _task_from(config["task"])
    _check_trials_memory(task, config["trials"], config["command"] == "compare")
    mech = get_mechanism(config["mechanism"]["name"])
    reason = mech.supports(task.spec())
    if reason is not None:
        raise ValidationError(f"--mechanism {mech.name}: cannot run task {task.name}: {reason}")
    params = {k: v for k, v in flatten(config["mechanism"]).items() if k != "name"}
    params = mech.resolve(**params)
    mech.spiking(task.spec(), **params)  # builds and validates the network description
    agent = config["agent"]
    _check_agent(agent, agent.get("tier"))
    return Setup(config, task, mech, params, agent)


def fit_softmax(setup: Setup, progress: bool = False):
    """The softmax tier's parameters for ``setup`` (the same in run and compare)."""
    a = setup.agent
    seed = setup.config["seed"]
    inputs = None
    if a["softmax_from"] == "calibrate":
        cal_trials = setup.task.make_trials(a["calibration_trials"], seed + _CALIBRATION_SEED)
        inputs = setup.task.bridge_inputs(cal_trials)
    return setup.mechanism.fit_softmax(setup.spec, a["softmax_from"], inputs=inputs,
                                       backend=a["calibration_backend"], seed=seed,
                                       dt=a["dt"], progress=progress, **setup.params)


def _plain(obj) -> dict:
    import dataclasses

    if dataclasses.is_dataclass(obj):
        return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
    return dict(obj)


def _records(frame: pd.DataFrame) -> list:
    return frame.astype(object).where(frame.notna(), None).to_dict(orient="records")


def _tier_summary(result) -> dict:
    return {"conditions": _records(result.summary),
            "effects": [e.as_dict() for e in result.effects]}


def _figures(task, results: dict, bridge: dict | None = None) -> dict:
    figures = {"figure": task.figure(results)}
    if bridge is not None:
        from neuroattn.study.report import bridge_figure
        figures["bridge"] = bridge_figure(bridge)
    return figures


def _import_figure_modules() -> None:
    import matplotlib.backends.backend_agg  # noqa: F401
    import matplotlib.figure  # noqa: F401

    import neuroattn.study.plots  # noqa: F401
    from neuroattn.study.store import environment

    environment(0)  # environment.json's versions, platform and commit: read once


def _import_figures_while_simulating() -> None:
    """Import matplotlib while the numba engine's workers simulate, not after them.

    The figure needs the results, but not its modules: importing them (about 0.35 CPU
    seconds) in a helper thread while the engine's GIL-free workers simulate overlaps
    the two on a machine with more than one core (``while_simulating``). The same
    modules are imported, the same figure drawn. What environment.json records (package
    versions, platform, git commit: file reads and a child process) is found there too
    (``store.environment``).
    """
    from neuroattn.backends import get_backend

    get_backend("numba").while_simulating(_import_figure_modules)


def run_task(config: dict, out="results", force: bool = False,
             progress: bool = False, formats=("png",), reporter: bool = False) -> RunOutcome:
    """Run the config's task with its mechanism at ``config['agent']['tier']``; save it.

    ``formats``: the figure files to write (see :func:`~neuroattn.study.store.save_run`);
    ``()`` writes none and does not draw them (sweep cells). ``reporter``: score, draw
    and write in a forked process that imports pandas and matplotlib while this one
    simulates (``neuroattn run`` does; see ``neuroattn.study._reporter``); the outcome
    then holds the summary and the path, not the TaskResult and figures.
    """
    from neuroattn.study import _reporter

    setup = build(config)
    path = run_path(out, config["experiment"], config)
    if is_stored(path, formats) and not force:
        return RunOutcome(path, load_summary(path), True)
    task, mech, a = setup.task, setup.mechanism, setup.agent
    trials = task.make_trials(config["trials"], config["seed"])
    tier = a["tier"]
    report = _RunReport(config, task, mech.name, trials, path, formats)
    child = None
    if reporter and _reporter.available():
        child = _reporter.Reporter(report.prepare, report.finish)
    try:
        if tier == "spiking":
            agent = mech.agent("spiking", setup.spec, a["backend"], a["dt"], params=setup.params)
            backend, softmax_params = a["backend"], None
            if formats and backend == "numba" and child is None:
                _import_figures_while_simulating()
        else:
            fitted = fit_softmax(setup, progress)
            agent = mech.agent("softmax", setup.spec, a["attention_backend"], fitted=fitted)
            backend, softmax_params = a["attention_backend"], _plain(agent.fitted)
        recording = task.run(agent, trials, progress)
    except BaseException:
        if child is not None:
            child.cancel()
        raise
    if child is not None:
        return RunOutcome(path, child.finish((recording, backend, softmax_params)), False)
    summary, result, figures = report.write(recording, backend, softmax_params)
    return RunOutcome(path, summary, False, {tier: result}, figures)


@dataclass
class _RunReport:
    """Score a run's Recording, draw its figure and save it: in the running process or
    in a reporter (``prepare`` and ``finish`` are what a reporter calls)."""

    config: dict
    task: object
    mechanism: str
    trials: object
    path: object
    formats: tuple

    def prepare(self) -> None:
        import pandas  # noqa: F401

        if self.formats:
            _import_figure_modules()

    def finish(self, message) -> dict:
        return self.write(*message)[0]

    def write(self, recording, backend: str, softmax_params) -> tuple:
        """(summary, TaskResult, figures) of ``recording``, the run saved;
        ``softmax_params``: the softmax tier's fitted parameters (None: spiking tier)."""
        config, task, tier = self.config, self.task, self.config["agent"]["tier"]
        result = task.score(self.trials, recording, config["seed"])
        summary = {"task": task.name, "mechanism": self.mechanism, "tier": tier,
                   "backend": backend, "trials": config["trials"], "seed": config["seed"],
                   **_tier_summary(result)}
        if softmax_params is not None:
            summary["softmax_params"] = softmax_params
        figures = _figures(task, {tier: result}) if self.formats else {}
        save_run(self.path, config, summary, result.table.assign(tier=tier), figures,
                 config["seed"], self.formats)
        return summary, result, figures


def compare_tiers(config: dict, out="results", force: bool = False,
                  progress: bool = False, formats=("png",)) -> RunOutcome:
    """Run the config's task at both tiers on the same trials; report effects and the bridge.

    The bridge figures (:class:`~neuroattn.mechanisms.BridgeReport`): JS divergence
    between spike shares and softmax weights per counting window on held-out inputs of
    the task itself and on random inputs over the same range; choice agreement beside
    chance agreement and Cohen's kappa; RT correlation within condition beside its
    shuffled-within-condition null (or, for response tasks, agreement of condition means).
    """
    setup = build(config)
    path = run_path(out, config["experiment"], config)
    if is_stored(path, formats) and not force:
        return RunOutcome(path, load_summary(path), True)
    task, mech, a = setup.task, setup.mechanism, setup.agent
    seed = config["seed"]
    trials = task.make_trials(config["trials"], seed)
    fitted = fit_softmax(setup, progress)
    spiking = mech.agent("spiking", setup.spec, a["backend"], a["dt"], params=setup.params)
    softmax = mech.agent("softmax", setup.spec, a["attention_backend"], fitted=fitted)
    results = {"spiking": task.score(trials, task.run(spiking, trials, progress), seed),
               "softmax": task.score(trials, task.run(softmax, trials), seed)}
    report = bridge_report(setup, fitted, results, progress)
    bridge = report.as_dict()
    import pandas as pd

    table = pd.concat([r.table.assign(tier=t) for t, r in results.items()], ignore_index=True)
    summary = {"task": task.name, "mechanism": mech.name, "backend": a["backend"],
               "attention_backend": a["attention_backend"], "trials": config["trials"],
               "seed": seed, "bridge": bridge,
               "tiers": {t: _tier_summary(r) for t, r in results.items()}}
    figures = _figures(task, results, bridge) if formats else {}
    save_run(path, config, summary, table, figures, seed, formats)
    return RunOutcome(path, summary, False, results, figures)


class WindowJS(NamedTuple):
    """One counting window's JS divergence (nats) between a circuit's spike shares and a
    layer's weights (:func:`window_js`)."""

    #: mean over the inputs weighted by their spike counts: JS per spike (the estimate)
    weighted: float
    #: plain mean over the inputs that fired (sampling-limited in short windows)
    plain: float
    #: inputs on which the circuit fired no spike in the window
    silent: int


def window_js(spike_counts, weights) -> WindowJS:
    """JS divergence (nats) of one counting window's spike counts [inputs, K] against the
    layer's weights [inputs, K]: the spike-count-weighted mean over the inputs, the plain
    mean beside it, and how many inputs fired no spike.

    Each input's JS compares its spike shares ``c_i / n_i`` (``n_i`` spikes in the
    window) with the weights ``w_i``. Those shares are a sample: ``n_i`` draws of the
    circuit's own shares ``p_i``, and the plug-in divergence carries a sampling cost
    that falls as ``O(1 / n_i)`` (about ``(K - 1) / (8 n_i)`` nats where ``p_i = w_i``;
    up to log 2 for one stray spike of ``n_i = 1`` against a zero weight). The plain
    mean over inputs therefore grows with the inputs that fired least: a workspace at
    rest fires 1-4 spikes in 50 ms, and the plain mean then measures those few spikes'
    sampling, not the layer's disagreement with the circuit. Weighted by ``n_i``,
    ``sum_i n_i JS_i / sum_i n_i``, each input adds an expected O(1) sampling cost to
    the numerator, so the whole estimate's cost is O(inputs / spikes) -- it falls as the
    window collects spikes, whichever inputs they come from -- and what remains is the
    divergence per spike: each spike a sample of the circuit's attention (the bridge's
    anchor), scored against the layer. Where the layer equals the circuit's shares it
    tends to 0 as the spike total grows, which the plain mean does not (the oracle test
    in ``tests/mechanisms/test_bridge_estimator.py``).

    An input on which the circuit fired no spike has nothing to compare: it weighs 0 and
    is left out of the plain mean (counted in ``silent``). One on which the layer wrote
    nothing (NaN weights) while the circuit fired scores the largest divergence, log 2.
    Both means are NaN when the circuit fired on no input.

    Raises
    ------
    ValidationError
        ``spike_counts`` and ``weights`` differ in shape or are not [inputs, K], or a count
        is negative or not finite.

    Examples
    --------
    >>> import numpy as np
    >>> c = np.array([[50, 50], [0, 0], [1, 0], [3, 0]])
    >>> w = np.array([[0.5, 0.5], [0.5, 0.5], [0.0, 1.0], [np.nan, np.nan]])
    >>> r = window_js(c, w)     # log 2 on 2 of the 3 inputs that fired, on 4 of 104 spikes
    >>> round(r.plain, 4), round(r.weighted, 4), r.silent
    (0.4621, 0.0267, 1)
    """
    from neuroattn.mechanisms import js_divergence

    c, w = np.asarray(spike_counts, float), np.asarray(weights, float)
    if c.ndim != 2 or c.shape != w.shape:
        raise ValidationError(f"window_js: expected spike counts and weights of one shape "
                              f"[inputs, K] (got {c.shape} and {w.shape})")
    if not np.all(np.isfinite(c)) or np.any(c < 0):
        raise ValidationError("window_js.spike_counts: expected finite counts >= 0 (got "
                              f"min {np.min(c) if c.size else math.nan})")
    n = c.sum(axis=1)
    fired = n > 0
    ok = fired & np.all(np.isfinite(w), axis=1)
    d = js_divergence(np.where(ok[:, None], c, 1.0), np.where(ok[:, None], w, 1.0))
    d = np.where(ok, d, math.log(2))[fired]
    if not d.size:
        return WindowJS(math.nan, math.nan, int((~fired).sum()))
    return WindowJS(float(np.sum(n[fired] * d) / np.sum(n[fired])), float(d.mean()),
                    int((~fired).sum()))


def bridge_report(setup: Setup, fitted, results: dict, progress: bool = False) -> BridgeReport:
    """The :class:`BridgeReport` of a comparison (see :func:`compare_tiers`); its JS
    figures are :func:`window_js`'s, both means per window."""
    task, mech, a = setup.task, setup.mechanism, setup.agent
    seed = setup.config["seed"]
    windows = tuple(sorted(float(w) for w in a["bridge_windows"]))
    n = a["random_inputs"]
    task_u = task.bridge_inputs(task.make_trials(n, seed + _HELDOUT_SEED))
    rng = np.random.default_rng([seed, 4242])
    # random inputs over the range the task spans, role by role: each item's evidence
    # over the evidence range, its bias over the bias range
    k = setup.spec.n_items
    blocks = [task_u[:, :k], task_u[:, k:]]
    rand_u = np.concatenate([rng.uniform(b.min(), b.max(), b.shape) for b in blocks], axis=1)
    js, counts = {}, {}
    for name, u in (("task", task_u), ("random", rand_u)):
        counts[name] = mech.spike_counts(setup.spec, u, windows, backend=a["backend"],
                                         seed=seed, dt=a["dt"], progress=progress,
                                         **setup.params)
        target = mech.softmax_shares(fitted, u)
        js[name] = [window_js(counts[name][w], target) for w in windows]
    longest = counts["task"][windows[-1]]
    # the scale, by the same estimator: NaN when no input gave the circuit a spike to
    # share (e.g. a workspace that ignites on none of them)
    uniform = window_js(longest, np.full(longest.shape, 1.0 / longest.shape[1])).weighted
    agreement = trial_agreement(results["spiking"].table, results["softmax"].table,
                                task.agreement, seed)
    calibration = {"method": a["softmax_from"], "backend": a["calibration_backend"],
                   "task_input_min": float(task_u.min()), "task_input_max": float(task_u.max())}

    def per_window(kind, part):
        return tuple(getattr(r, part) for r in js[kind])

    return BridgeReport(mech.name, a["softmax_from"], _plain(fitted), windows,
                        per_window("task", "weighted"), per_window("random", "weighted"),
                        uniform, len(task_u), len(rand_u), per_window("task", "silent"),
                        per_window("random", "silent"), per_window("task", "plain"),
                        per_window("random", "plain"), calibration=calibration, **agreement)


def load_result(path, tier: str | None = None):
    """The :class:`~neuroattn.tasks.base.TaskResult` of a stored run (of ``tier`` in a
    stored comparison), rebuilt from its summary.json and trials.csv."""
    from pathlib import Path

    import pandas as pd

    from neuroattn.tasks.base import Effect, TaskResult

    path = Path(path)
    summary = load_summary(path)
    table = pd.read_csv(path / "trials.csv")
    if "tiers" in summary:
        if tier not in summary["tiers"]:
            raise ValidationError(f"load_result.tier: expected one of {list(summary['tiers'])} "
                                  f"(got {tier!r})")
        part, table = summary["tiers"][tier], table[table["tier"] == tier]
    else:
        part = summary

    def effect(d):
        d = dict(d)
        for k in ("estimate", "ci_low", "ci_high"):
            d[k] = math.nan if d[k] is None else float(d[k])
        d["band"] = None if d.get("band") is None else tuple(
            math.nan if x is None else x for x in d["band"])
        return Effect(**d)

    return TaskResult(table.reset_index(drop=True), tuple(effect(e) for e in part["effects"]),
                      pd.DataFrame(part["conditions"]))


def series_effects(task_name: str, name: str, values: list, summaries: list) -> dict:
    """Per tier, per effect: the estimates against the values of parameter ``name``.

    ``summaries``: one run or comparison summary per value. Each row has ``values``,
    ``estimates``, Spearman's ``rho`` against the values and ``n_finite``; where the task
    declares a series target for ``name`` (``Task.series``), ``target`` and ``passed``.
    """
    from scipy.stats import spearmanr

    from neuroattn.tasks.targets import target as published

    targets = getattr(get_task(task_name), "series", {})
    series: dict = {}
    for value, s in zip(values, summaries):
        tiers = s["tiers"] if "tiers" in s else {s["tier"]: s}
        for tier, t in tiers.items():
            for e in t["effects"]:
                row = series.setdefault(tier, {}).setdefault(e["name"], {"values": [],
                                                                         "estimates": []})
                row["values"].append(value)
                row["estimates"].append(e["estimate"])
    for tier, effects in series.items():
        for effect, row in effects.items():
            est = np.array([np.nan if x is None else x for x in row["estimates"]], float)
            ok = np.isfinite(est)
            rho = math.nan
            if ok.sum() >= 3 and np.std(est[ok]) > 0:
                rho = float(spearmanr(np.asarray(row["values"], float)[ok], est[ok])[0])
            row["rho"] = rho
            row["n_finite"] = int(ok.sum())
            key = targets.get(name, {}).get(effect)
            if key is not None:
                t = published(key)
                row["target"] = t.describe()
                # rho of n ranks takes exact fractions (0.9 = one swap in five) that
                # float arithmetic misses by an ulp
                tol = 1e-9
                row["passed"] = (bool(t.band[0] - tol <= rho <= t.band[1] + tol
                                      and ok.sum() >= 5) if np.isfinite(rho) else False)
    return series


def trial_agreement(a: pd.DataFrame, b: pd.DataFrame, kind: str = "choice",
                    seed: int = 0, n_shuffles: int = 200) -> dict:
    """How two tiers' trial tables (same trials, same order) agree.

    ``kind='choice'``: observed and chance choice agreement and Cohen's kappa; the
    correlation of RTs after subtracting each condition's mean (trials where both tiers
    have an RT), and the mean of the same correlation over ``n_shuffles`` shuffles of
    one tier within each condition (the part the conditions alone explain: ~0).
    ``kind='response'``: correlation and mean absolute difference of the per-condition
    mean responses.
    """
    from neuroattn.mechanisms import cohen_kappa

    if len(a) != len(b):
        raise ValidationError(f"trial_agreement: tables differ in length ({len(a)} vs {len(b)})")
    if kind == "response":
        ma = a.groupby("condition")["response"].mean()
        mb = b.groupby("condition")["response"].mean().reindex(ma.index)
        # undefined (NaN) when a tier's condition means do not vary, e.g. a circuit
        # that responds to none of the conditions
        varies = len(ma) > 2 and np.ptp(ma.to_numpy()) > 0 and np.ptp(mb.to_numpy()) > 0
        corr = float(np.corrcoef(ma, mb)[0, 1]) if varies else math.nan
        return {"response_correlation": corr,
                "response_mean_abs_difference": float(np.mean(np.abs(ma - mb)))}
    observed, chance, kappa = cohen_kappa(a["choice"].to_numpy(), b["choice"].to_numpy())
    out = {"choice_agreement": observed, "chance_agreement": chance, "kappa": kappa}
    ra, rb = a["rt"].to_numpy(dtype=float), b["rt"].to_numpy(dtype=float)
    cond = a["condition"].to_numpy()
    ok = np.isfinite(ra) & np.isfinite(rb)
    out["rt_correlation_within"] = math.nan
    out["rt_correlation_shuffled"] = math.nan
    if ok.sum() < 3:
        return out
    ra, rb, cond = ra[ok], rb[ok], cond[ok]
    for c in np.unique(cond):
        sel = cond == c
        ra[sel] -= ra[sel].mean()
        rb[sel] -= rb[sel].mean()
    if np.std(ra) == 0 or np.std(rb) == 0:
        return out
    out["rt_correlation_within"] = float(np.corrcoef(ra, rb)[0, 1])
    rng = np.random.default_rng([seed, 5151])
    null = []
    for _ in range(n_shuffles):
        shuffled = rb.copy()
        for c in np.unique(cond):
            idx = np.flatnonzero(cond == c)
            shuffled[idx] = shuffled[rng.permutation(idx)]
        null.append(np.corrcoef(ra, shuffled)[0, 1])
    out["rt_correlation_shuffled"] = float(np.mean(null))
    return out


def run_series(configs: list, name: str, values: list, command: str, out="results",
               force: bool = False, progress: bool = False, formats=("png",)) -> dict:
    """Run each config (one per value of parameter ``name``); the effects per value.

    Returns a dict with ``outcomes`` (RunOutcome per value) and ``series``: per tier,
    per effect, the estimates per value and Spearman's rho against the values, held
    to the task's series target where it declares one (``Task.series``).
    """
    runner = compare_tiers if command == "compare" else run_task
    outcomes = [runner(c, out, force, progress, formats) for c in configs]
    series = series_effects(configs[0]["task"]["name"], name, values,
                            [o.summary for o in outcomes])
    return {"name": name, "values": list(values), "outcomes": outcomes, "series": series}
