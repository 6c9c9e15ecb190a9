"""Run a task with a mechanism at one tier, or at both tiers side by side.

These are the library functions behind ``neuroattn run`` and ``neuroattn compare``:
they resolve a full config, answer from the results store when that config has been
run before, and otherwise run, score and save atomically.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

import neuroattn
from neuroattn.exceptions import ValidationError
from neuroattn.mechanisms import MECHANISMS
from neuroattn.model.units import check_int
from neuroattn.study.store import is_stored, load_summary, run_path, save_run
from neuroattn.tasks import TASKS

__all__ = ["RunOutcome", "run_task", "compare_tiers", "resolve_task", "resolve_mechanism",
           "TIERS", "BRIDGE_WINDOWS"]

TIERS = ("spiking", "softmax")
#: counting windows (s) at which compare reports the bridge's JS divergence
BRIDGE_WINDOWS = (0.02, 0.05, 0.1, 0.2, 0.5)


@dataclass
class RunOutcome:
    """What a run or a comparison produced (or found in the store)."""

    path: object
    summary: dict
    from_store: bool
    results: dict | None = None
    figures: dict | None = None


def resolve_task(name: str):
    """The task called ``name`` with default parameters."""
    if name not in TASKS:
        raise ValidationError(f"task: unknown task {name!r}; expected one of {sorted(TASKS)}")
    return TASKS[name]()


def resolve_mechanism(name: str):
    """The mechanism module called ``name``."""
    if name not in MECHANISMS:
        raise ValidationError(f"--mechanism: unknown mechanism {name!r}; expected one of "
                              f"{sorted(MECHANISMS)}")
    return MECHANISMS[name]


def _asdict(obj) -> dict:
    out = {}
    for f in dataclasses.fields(obj):
        v = getattr(obj, f.name)
        out[f.name] = _asdict(v) if dataclasses.is_dataclass(v) else v
    return out


def _check(trials, seed, tier=None):
    check_int(trials, "--trials", minimum=1)
    check_int(seed, "--seed", minimum=0)
    if tier is not None and tier not in TIERS:
        raise ValidationError(f"--tier: expected one of {list(TIERS)} (got {tier!r})")


def _circuit_for(mech, task):
    return mech.LIFCircuit(k=task.k)


def _values(task):
    return tuple(task.values) if hasattr(task, "values") else None


def _effects_dict(result) -> list:
    return [e.as_dict() for e in result.effects]


def _summary_records(result) -> list:
    return result.summary.replace({np.nan: None}).to_dict(orient="records")


def _base_config(kind: str, task, mechanism: str, circuit, trials: int, seed: int,
                 dt: float) -> dict:
    return {"experiment": f"{task.name}-{mechanism}-{kind}", "version": neuroattn.__version__,
            "task": {"name": task.name, **_asdict(task)},
            "mechanism": {"name": mechanism, "circuit": _asdict(circuit)},
            "trials": trials, "seed": seed, "dt": dt}


def _calibrated(mech, circuit, task, backend, seed, dt, progress):
    values = _values(task)
    u_max = max(2.0 * getattr(task, "contrast", 1.0), 1.5)
    cal = mech.calibrate(circuit, backend=backend, n_inputs=30, values=values, u_max=u_max,
                         seed=seed, dt=dt, progress=progress)
    return cal, u_max


def run_task(task_name: str, mechanism: str = "biased-competition", tier: str = "spiking",
             backend: str = "brian2", trials: int = 100, seed: int = 0, out="results",
             force: bool = False, dt: float = 1e-4, progress: bool = False) -> RunOutcome:
    """Run ``task_name`` with one mechanism at one tier; save to the store.

    The softmax tier takes its parameters from the circuit's analytic mapping
    (``to_softmax``), so a softmax run needs no simulation.
    """
    _check(trials, seed, tier)
    task = resolve_task(task_name)
    mech = resolve_mechanism(mechanism)
    circuit = _circuit_for(mech, task)
    values = _values(task)
    config = {**_base_config(tier, task, mechanism, circuit, trials, seed, dt), "command": "run",
              "tier": tier, "backend": backend if tier == "spiking" else "torch"}
    path = run_path(out, config["experiment"], config)
    if is_stored(path) and not force:
        return RunOutcome(path, load_summary(path), True)
    tr = task.make_trials(trials, seed)
    if tier == "spiking":
        agent = mech.SpikingAgent(circuit, backend=backend, dt=dt, values=values)
    else:
        params = mech.to_softmax(circuit, values=values,
                                 u_max=max(2.0 * getattr(task, "contrast", 1.0), 1.5))
        agent = mech.SoftmaxAgent(params, values=values)
        config["softmax_params"] = _asdict(params)
    rec = agent.run(tr, progress=progress)
    result = task.score(tr, rec, seed)
    table = result.table.assign(tier=tier)
    summary = {"task": task.name, "mechanism": mechanism, "tier": tier,
               "backend": config["backend"], "trials": trials, "seed": seed,
               "conditions": _summary_records(result), "effects": _effects_dict(result)}
    from neuroattn.study.report import task_figure

    figures = {"figure": task_figure(task.name, {tier: result})}
    save_run(path, config, summary, table, figures, seed)
    return RunOutcome(path, summary, False, {tier: result}, figures)


def compare_tiers(task_name: str, mechanism: str = "biased-competition", backend: str = "brian2",
                  trials: int = 200, seed: int = 0, out="results", force: bool = False,
                  dt: float = 1e-4, n_heldout: int = 100, progress: bool = False) -> RunOutcome:
    """Run ``task_name`` at both tiers on the same trials; report effects and the bridge.

    The softmax tier is calibrated to the circuit (30 random inputs); the bridge figures
    are the calibration fit, the JS divergence between spike shares and softmax weights
    on ``n_heldout`` held-out inputs per counting window (calibrated and analytic
    mapping), and the trial-by-trial agreement of choices and RTs.
    """
    _check(trials, seed)
    check_int(n_heldout, "n_heldout", minimum=2)
    task = resolve_task(task_name)
    mech = resolve_mechanism(mechanism)
    circuit = _circuit_for(mech, task)
    values = _values(task)
    config = {**_base_config("compare", task, mechanism, circuit, trials, seed, dt),
              "command": "compare", "backend": backend, "n_heldout": n_heldout}
    path = run_path(out, config["experiment"], config)
    if is_stored(path) and not force:
        return RunOutcome(path, load_summary(path), True)
    tr = task.make_trials(trials, seed)
    cal, u_max = _calibrated(mech, circuit, task, backend, seed, dt, progress)
    analytic = mech.to_softmax(circuit, values=values, u_max=u_max)
    u, shares = mech.spike_shares(circuit, n_heldout, BRIDGE_WINDOWS, u_max=u_max,
                                  seed=seed + 12345, dt=dt, backend=backend, progress=progress)
    eq_cal = mech.equivalence_from_shares(u, shares, cal.params)
    eq_ana = mech.equivalence_from_shares(u, shares, analytic)
    results = {
        "spiking": task.score(tr, mech.SpikingAgent(circuit, backend=backend, dt=dt,
                                                    values=values).run(tr, progress=progress),
                              seed),
        "softmax": task.score(tr, mech.SoftmaxAgent(cal.params, values=values).run(tr), seed),
    }
    agreement = _agreement(results)
    bridge = {"calibrated": _asdict(cal.params), "analytic": _asdict(analytic),
              "calibration_js": cal.js_fit, "calibration_inputs": cal.n_inputs,
              "heldout_inputs": n_heldout, "u_max": u_max, "windows": list(eq_cal.windows),
              "js_calibrated": list(eq_cal.js), "js_analytic": list(eq_ana.js),
              "js_uniform": eq_cal.js_uniform, "js_slope": eq_cal.slope, **agreement}
    config["softmax_params"] = _asdict(cal.params)
    table = pd.concat([r.table.assign(tier=t) for t, r in results.items()], ignore_index=True)
    summary = {"task": task.name, "mechanism": mechanism, "backend": backend, "trials": trials,
               "seed": seed, "bridge": bridge,
               "tiers": {t: {"conditions": _summary_records(r), "effects": _effects_dict(r)}
                         for t, r in results.items()}}
    from neuroattn.study.report import bridge_figure, task_figure

    figures = {"figure": task_figure(task.name, results), "bridge": bridge_figure(bridge)}
    save_run(path, config, summary, table, figures, seed)
    return RunOutcome(path, summary, False, results, figures)


def _agreement(results) -> dict:
    a, b = results["spiking"].table, results["softmax"].table
    out = {}
    if "response" in a:
        ma = a.groupby("condition")["response"].mean()
        mb = b.groupby("condition")["response"].mean().reindex(ma.index)
        out["response_correlation"] = float(np.corrcoef(ma, mb)[0, 1])
        out["response_mean_abs_difference"] = float(np.mean(np.abs(ma - mb)))
        return out
    out["choice_agreement"] = float((a["choice"].to_numpy() == b["choice"].to_numpy()).mean())
    ra, rb = a["rt"].to_numpy(dtype=float), b["rt"].to_numpy(dtype=float)
    ok = np.isfinite(ra) & np.isfinite(rb)
    if ok.sum() >= 3 and np.std(ra[ok]) > 0 and np.std(rb[ok]) > 0:
        out["rt_correlation"] = float(np.corrcoef(ra[ok], rb[ok])[0, 1])
        out["rt_mean_difference"] = float(np.mean(rb[ok] - ra[ok]))
    else:
        out["rt_correlation"] = math.nan
        out["rt_mean_difference"] = math.nan
    return out
