"""Experiment specs and parameter sweeps: many seeded runs over a grid, kept and merged.

A spec file (``experiments/NAME.toml``) names a task, a mechanism, the tiers, fixed
settings and the parameters to vary::

    [experiment]
    name = "posner-validity"
    title = "Posner cueing: the validity effect grows with cue validity"
    source = "Posner, Snyder & Davidson 1980"
    task = "posner"
    mechanism = "biased-competition"
    model = "../models/biased-competition.toml"   # optional; relative to this file
    tiers = ["spiking", "softmax"]
    trials = 400
    seed = 1

    [set]                  # fixed settings, as --set takes them
    "agent.backend" = "numba"

    [grid]                 # every combination of these lists
    validity = [0.5, 0.6, 0.7, 0.8, 0.9]

    [zip]                  # lists varied together (equal lengths), crossed with [grid]
    # soa = [0.1, 0.2]
    # isi = [0.05, 0.1]

The grid expands into cells: one per combination and tier. Each cell is an ordinary run
(:func:`~neuroattn.study.experiment.run_task`) stored in the results store, with a seed
drawn from the spec's seed and the cell's parameter values (not its position, so adding
a value to a list leaves the other cells' seeds alone; the tiers of one grid point share
a seed, and so their trials). A rerun finds the finished cells in the store and runs
only the missing ones. The cells run in this process (``workers=1``), on a local
process pool, or on a Dask distributed cluster; whichever runs them, the merged table
is the same, because every cell's result depends only on its config.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from neuroattn.exceptions import ValidationError

__all__ = ["Spec", "Cell", "SweepResult", "read_spec", "expand", "run_sweep", "cell_seed",
           "effects_table", "effects_figure", "format_sweep", "run_experiment",
           "experiment_figure"]

_EXPERIMENT_KEYS = {"name", "title", "source", "task", "mechanism", "model", "tiers", "trials",
                    "seed", "description"}


@dataclass(frozen=True)
class Spec:
    """An experiment or sweep spec, read and checked (see the module notes)."""

    path: Path
    name: str
    title: str
    source: str
    task: str
    mechanism: str | None
    model: Path | None
    tiers: tuple
    trials: int
    seed: int
    sets: dict = field(default_factory=dict)
    grid: dict = field(default_factory=dict)
    zipped: dict = field(default_factory=dict)
    description: str = ""

    @property
    def swept(self) -> list:
        """The names of the varied parameters, grid first."""
        return list(self.grid) + list(self.zipped)

    def with_overrides(self, trials: int | None = None, seed: int | None = None,
                       sets=()) -> "Spec":
        """A copy with the trials, seed or fixed settings changed (the CLI's options)."""
        from dataclasses import replace

        from neuroattn.study.config import parse_set

        extra = dict(parse_set(s) for s in sets)
        for name in extra:
            if name in self.swept:
                raise ValidationError(f"--set {name}: {name} is varied by the spec "
                                      f"({self.path}); edit its list there")
        return replace(self, trials=self.trials if trials is None else trials,
                       seed=self.seed if seed is None else seed, sets={**self.sets, **extra})


@dataclass(frozen=True)
class Cell:
    """One run of a sweep: a grid point at one tier."""

    index: int
    params: dict
    tier: str
    seed: int
    config: dict

    def label(self) -> str:
        """``validity=0.6 tier=softmax``."""
        return " ".join([f"{k}={v}" for k, v in self.params.items()] + [f"tier={self.tier}"])


@dataclass
class SweepResult:
    """What a sweep produced: per cell its status and summary, the merged trial table."""

    spec: Spec
    cells: list
    outcomes: list           # per cell: dict(status, path, summary, error, seconds)
    table: object            # pandas DataFrame, one row per trial of every finished cell
    path: Path | None = None

    @property
    def failed(self) -> list:
        """The cells that raised, with their errors: [(cell, error)]."""
        return [(c, o["error"]) for c, o in zip(self.cells, self.outcomes)
                if o["status"] == "failed"]

    @property
    def n_from_store(self) -> int:
        """How many cells were answered from the store."""
        return sum(o["status"] == "stored" for o in self.outcomes)


def _bad(path, key, expected, got) -> ValidationError:
    return ValidationError(f"{path}: {key}: expected {expected} (got {got!r})")


def _table(raw: dict, name: str, path) -> dict:
    value = raw.get(name, {})
    if not isinstance(value, dict):
        raise _bad(path, f"[{name}]", "a table", value)
    return value


def read_spec(path) -> Spec:
    """Read and check an experiment/sweep spec (ValidationError naming the file and key)."""
    from neuroattn.study.config import flatten, read_toml

    p = Path(path)
    raw = read_toml(p, "spec")
    unknown = sorted(set(raw) - {"experiment", "set", "grid", "zip"})
    if unknown:
        raise ValidationError(f"{p}: unknown table(s) {unknown}; expected [experiment], [set], "
                              f"[grid], [zip]")
    head = _table(raw, "experiment", p)
    extra = sorted(set(head) - _EXPERIMENT_KEYS)
    if extra:
        raise ValidationError(f"{p}: experiment.{extra[0]}: unknown key; expected "
                              f"{sorted(_EXPERIMENT_KEYS)}")
    for key in ("name", "task"):
        if not isinstance(head.get(key), str) or not head[key]:
            raise _bad(p, f"experiment.{key}", "a non-empty string", head.get(key))
    if not all(c.isalnum() or c in "-_." for c in head["name"]):
        raise _bad(p, "experiment.name", "letters, digits, '-', '_' or '.'", head["name"])
    tiers = head.get("tiers", ["spiking"])
    if (not isinstance(tiers, list) or not tiers or len(set(tiers)) != len(tiers)
            or any(t not in ("spiking", "softmax") for t in tiers)):
        raise _bad(p, "experiment.tiers", "a list of distinct tiers from ['spiking', "
                   "'softmax']", tiers)
    for key, default in (("trials", 100), ("seed", 0)):
        v = head.get(key, default)
        if isinstance(v, bool) or not isinstance(v, int) or v < (1 if key == "trials" else 0):
            raise _bad(p, f"experiment.{key}", f"an integer >= {1 if key == 'trials' else 0}", v)
    model = head.get("model")
    if model is not None:
        if not isinstance(model, str):
            raise _bad(p, "experiment.model", "a path to a model file", model)
        model = (p.parent / model).resolve()
    grid = flatten(_table(raw, "grid", p))
    zipped = flatten(_table(raw, "zip", p))
    for section, table in (("grid", grid), ("zip", zipped)):
        for key, values in table.items():
            if not isinstance(values, list) or not values:
                raise _bad(p, f"{section}.{key}", "a non-empty list of values", values)
            if len(set(map(repr, values))) != len(values):
                raise _bad(p, f"{section}.{key}", "distinct values", values)
    if len({len(v) for v in zipped.values()}) > 1:
        raise ValidationError(f"{p}: [zip]: the lists must have equal lengths (got "
                              f"{ {k: len(v) for k, v in zipped.items()} })")
    both = sorted(set(grid) & set(zipped))
    if both:
        raise ValidationError(f"{p}: {both[0]} is in both [grid] and [zip]; keep one")
    sets = flatten(_table(raw, "set", p))
    clash = sorted(set(sets) & (set(grid) | set(zipped)))
    if clash:
        raise ValidationError(f"{p}: set.{clash[0]} is also varied; drop one of them")
    spec = Spec(p, head["name"], head.get("title", head["name"]), head.get("source", ""),
                head["task"], head.get("mechanism"), model, tuple(tiers),
                head.get("trials", 100), head.get("seed", 0), sets, grid, zipped,
                head.get("description", ""))
    return spec


def cell_seed(seed: int, params: dict) -> int:
    """The seed of the grid point ``params`` of a sweep seeded with ``seed``.

    Derived from the values, not the position: ``SeedSequence([seed, h])`` with ``h``
    the first 8 bytes of the SHA-256 of the parameters as canonical JSON.
    """
    text = json.dumps(params, sort_keys=True, separators=(",", ":"), default=repr)
    h = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
    return int(np.random.SeedSequence([seed, h]).generate_state(1, np.uint32)[0] >> 1)


def _points(spec: Spec) -> list:
    names = list(spec.grid)
    combos = list(itertools.product(*(spec.grid[n] for n in names))) or [()]
    n_zip = len(next(iter(spec.zipped.values()))) if spec.zipped else 0
    rows = [dict(zip(spec.zipped, vals)) for vals in zip(*spec.zipped.values())] \
        if n_zip else [{}]
    return [{**dict(zip(names, combo)), **row} for combo in combos for row in rows]


def expand(spec: Spec) -> list:
    """The spec's cells, each with its fully resolved (and checked) config."""
    from neuroattn.study.config import resolve_config
    from neuroattn.study.experiment import build
    from neuroattn.study.models import load_model
    from neuroattn.study.store import toml_value

    model = load_model(spec.model) if spec.model is not None else None
    mechanism = spec.mechanism or (model.target if model is not None else "biased-competition")
    fixed = [f"{k}={toml_value(v)}" for k, v in spec.sets.items()]
    cells = []
    for params in _points(spec):
        seed = cell_seed(spec.seed, params)
        varied = [f"{k}={toml_value(v)}" for k, v in params.items()]
        for tier in spec.tiers:
            try:
                config = resolve_config("run", spec.task, mechanism, None, fixed + varied,
                                        spec.trials, seed, tier, None, model)
                build(config)
            except ValidationError as exc:
                where = " ".join(f"{k}={v}" for k, v in params.items()) or "the spec"
                raise ValidationError(f"{spec.path}: {where}, tier {tier}: {exc}") from None
            cells.append(Cell(len(cells), params, tier, seed, config))
    return cells


def _run_cell(config: dict, out: str, force: bool) -> dict:
    """Run one cell (in whatever process runs it); never raises for a failed simulation."""
    from neuroattn.study.experiment import run_task

    t0 = time.perf_counter()
    try:
        res = run_task(config, out, force, progress=False, formats=())
    except Exception as exc:  # noqa: BLE001 - a cell's failure is reported, the rest go on
        last = traceback.format_exception_only(type(exc), exc)[-1].strip()
        return {"status": "failed", "path": None, "summary": None, "error": last,
                "seconds": time.perf_counter() - t0}
    return {"status": "stored" if res.from_store else "ran", "path": str(res.path),
            "summary": res.summary, "error": None, "seconds": time.perf_counter() - t0}


def _init_worker(threads: int) -> None:
    # before numba is imported in this process: its thread pool takes this size
    os.environ["NUMBA_NUM_THREADS"] = str(threads)
    os.environ.setdefault("MPLBACKEND", "Agg")


def _progress(total: int, desc: str, show: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="cell", disable=not show, leave=False)


def _submit_local(cells, out, force, workers, bar):
    outcomes = [None] * len(cells)
    if workers == 1:
        for cell in cells:
            outcomes[cell.index] = _run_cell(cell.config, out, force)
            bar.update(1)
        return outcomes
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    threads = max(1, (os.cpu_count() or 1) // workers)
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker,
                             initargs=(threads,)) as pool:
        futures = {pool.submit(_run_cell, c.config, out, force): c for c in cells}
        try:
            for fut in as_completed(futures):
                outcomes[futures[fut].index] = fut.result()
                bar.update(1)
        except BaseException:
            for fut in futures:
                fut.cancel()
            raise
    return outcomes


def _submit_dask(cells, out, force, scheduler, bar):
    try:
        from distributed import Client, as_completed
    except ImportError as exc:
        raise ValidationError(f"--scheduler: needs dask's distributed package ({exc}); "
                              f"pip install 'neuroattn[dask]'") from None
    try:
        client = Client(scheduler, timeout=10, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise ValidationError(f"--scheduler: cannot connect to {scheduler!r} ({exc})") \
            from None
    outcomes = [None] * len(cells)
    try:
        futures = [client.submit(_run_cell, c.config, out, force, key=f"cell-{c.index}-"
                                 f"{_config_key(c.config)}", pure=False) for c in cells]
        index = {f.key: c.index for f, c in zip(futures, cells)}
        with client.as_current():
            for fut in as_completed(futures):
                outcomes[index[fut.key]] = fut.result()
                bar.update(1)
    finally:
        client.close()
    return outcomes


def _config_key(config: dict) -> str:
    from neuroattn.study.store import config_id

    return config_id(config)


def run_sweep(spec: Spec, out="results", workers: int = 1, scheduler: str | None = None,
              force: bool = False, progress: bool = True, formats=("png",),
              experiment: bool = False) -> SweepResult:
    """Run every cell of ``spec`` (skipping stored ones); write the merged results.

    Parameters
    ----------
    spec : Spec
    out : path
        The results store; each cell is a run under it, and the merged results go to
        ``out/sweeps/<spec name>/<sweep id>/`` (trials.csv with one row per trial and one
        column per varied parameter, cells.csv, summary.json, the effects figure).
        With a Dask scheduler, ``out`` must be a directory the workers can write.
    workers : int
        Processes on this machine (1: run in this process). Each gets
        ``cores // workers`` numba threads.
    scheduler : str or None
        ``tcp://HOST:PORT`` of a Dask distributed scheduler; the cells run on its workers.
    force : bool
        Rerun cells that are stored.
    progress : bool
        A progress bar over the cells.
    formats : sequence of str
        File formats of the sweep's figure (``()``: none).
    experiment : bool
        Write the experiment's figure and series instead of the effects figure (see
        :func:`run_experiment`).

    Returns
    -------
    SweepResult
        Failed cells are reported in it (with their parameters and errors); the others
        are merged. Nothing raises for a failed cell.
    """
    from neuroattn.model.units import check_int
    from neuroattn.study.store import check_writable

    check_int(workers, "--workers", minimum=1)
    if scheduler is not None and workers != 1:
        raise ValidationError("--workers and --scheduler: pass one of them (the scheduler's "
                              "workers run the cells)")
    if scheduler is not None and not (isinstance(scheduler, str) and "://" in scheduler):
        raise ValidationError(f"--scheduler: expected an address such as tcp://127.0.0.1:8786 "
                              f"(got {scheduler!r})")
    cells = expand(spec)
    out_dir = check_writable(out).resolve()
    with _progress(len(cells), spec.name, progress) as bar:
        if scheduler is not None:
            outcomes = _submit_dask(cells, str(out_dir), force, scheduler, bar)
        else:
            outcomes = _submit_local(cells, str(out_dir), force, workers, bar)
    result = SweepResult(spec, cells, outcomes, _merge(cells, outcomes))
    result.path = _save(result, out_dir, formats, experiment)
    return result


def _merge(cells, outcomes):
    import pandas as pd

    frames = []
    for cell, o in zip(cells, outcomes):
        if o["status"] == "failed":
            continue
        t = pd.read_csv(Path(o["path"]) / "trials.csv")
        front = {"cell": cell.index, **{k: _column_value(v) for k, v in cell.params.items()},
                 "seed": cell.seed}
        for i, (k, v) in enumerate(front.items()):
            if k in t.columns:
                if (t[k] == v).all():      # the task already records it per trial
                    t = t.drop(columns=k)
                else:
                    k = f"swept.{k}"
            t.insert(i, k, [v] * len(t))
        frames.append(t)
    if not frames:
        return pd.DataFrame({"cell": []})
    return pd.concat(frames, ignore_index=True)


def _column_value(v):
    return json.dumps(v) if isinstance(v, (list, dict)) else v


def effects_table(result: SweepResult):
    """One row per (cell, effect): the varied parameters, tier, estimate, CI, band, verdict."""
    import pandas as pd

    rows = []
    for cell, o in zip(result.cells, result.outcomes):
        if o["status"] == "failed":
            continue
        for e in o["summary"]["effects"]:
            rows.append({"cell": cell.index, **{k: _column_value(v) for k, v in
                                                cell.params.items()},
                         "tier": cell.tier, "effect": e["name"], "unit": e["unit"],
                         "estimate": e["estimate"], "ci_low": e["ci_low"],
                         "ci_high": e["ci_high"], "band": e.get("band"),
                         "passed": e["passed"]})
    return pd.DataFrame(rows)


def _cells_frame(result: SweepResult):
    import pandas as pd

    return pd.DataFrame([{"cell": c.index, **{k: _column_value(v) for k, v in c.params.items()},
                          "tier": c.tier, "seed": c.seed, "status": o["status"],
                          "run": o["path"], "error": o["error"]}
                         for c, o in zip(result.cells, result.outcomes)])


def sweep_id(spec: Spec, cells) -> str:
    """12 hex digits naming a sweep: a hash of its cells' configs."""
    from neuroattn.study.store import config_id

    return config_id({"cells": [c.config for c in cells]})


def _series(result: SweepResult) -> dict:
    """Per tier, each effect against the one varied parameter (series targets held)."""
    from neuroattn.study.experiment import series_effects

    spec = result.spec
    name = spec.swept[0]
    values = list(spec.grid.get(name) or spec.zipped[name])
    series: dict = {}
    for tier in spec.tiers:
        cells = {json.dumps(c.params[name]): o["summary"] for c, o in
                 zip(result.cells, result.outcomes) if c.tier == tier}
        series.update(series_effects(spec.task, name, values,
                                     [cells[json.dumps(v)] for v in values]))
    return series


def _save(result: SweepResult, out_dir: Path, formats, experiment: bool) -> Path:
    from neuroattn.study.store import save_run

    spec = result.spec
    path = out_dir / "sweeps" / spec.name / sweep_id(spec, result.cells)
    effects = effects_table(result)
    summary = {"name": spec.name, "title": spec.title, "source": spec.source,
               "task": spec.task, "swept": spec.swept, "tiers": list(spec.tiers),
               "trials": spec.trials, "seed": spec.seed,
               "cells": _cells_frame(result).astype(object).where(
                   lambda f: f.notna(), None).to_dict(orient="records"),
               "effects": effects.astype(object).where(effects.notna(), None)
               .to_dict(orient="records"),
               "failed": [{"cell": c.index, "params": c.params, "tier": c.tier, "error": e}
                          for c, e in result.failed]}
    figures = {}
    if experiment:
        if len(spec.swept) == 1 and not result.failed:
            summary["series"] = _series(result)
        fig = experiment_figure(result) if formats else None
        if fig is not None:
            figures["figure"] = fig
    elif formats and len(effects):
        figures["effects"] = effects_figure(result)
    config = {"spec": str(spec.path), "sets": spec.sets, "grid": spec.grid,
              "zip": spec.zipped, "cells": len(result.cells)}
    save_run(path, config, summary, result.table, figures, spec.seed, formats)
    return path


def effects_figure(result: SweepResult):
    """Each effect against the first varied parameter, per tier (and per value of the
    others), with its 95 % CI and the published band shaded."""
    from neuroattn.study.plots import TIER_COLORS, plt

    effects = effects_table(result)
    spec = result.spec
    names = list(dict.fromkeys(effects["effect"]))
    n_cols = min(3, len(names))
    n_rows = -(-len(names) // n_cols)
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(4.2 * n_cols, 3.3 * n_rows),
                             squeeze=False)
    swept = spec.swept
    x_name = swept[0] if swept else None
    others = swept[1:]
    styles = ["-", "--", ":", "-."]
    for ax, name in zip(axes.ravel(), names):
        rows = effects[effects["effect"] == name]
        unit = rows["unit"].iloc[0]
        scale = 1e3 if unit == "s" else 1.0
        band = next((b for b in rows["band"] if b is not None), None)
        groups = rows.groupby(["tier", *others], sort=False) if others else \
            rows.groupby("tier", sort=False)
        for j, (key, g) in enumerate(groups):
            tier = key[0] if isinstance(key, tuple) else key
            label = tier if not others else f"{tier}, " + ", ".join(
                f"{o}={v}" for o, v in zip(others, key[1:]))
            x = (g[x_name].astype(float).to_numpy() if x_name is not None
                 else np.zeros(len(g)))
            order = np.argsort(x, kind="stable")
            est = g["estimate"].astype(float).to_numpy()[order] * scale
            lo = g["ci_low"].astype(float).to_numpy()[order] * scale
            hi = g["ci_high"].astype(float).to_numpy()[order] * scale
            ok = np.isfinite(est)
            ax.errorbar(x[order][ok], est[ok], yerr=np.vstack([(est - lo)[ok], (hi - est)[ok]]),
                        fmt="o" + styles[j // 2 % len(styles)] if x_name else "o",
                        color=TIER_COLORS.get(tier), capsize=3, label=label, lw=1)
        if band is not None:
            # summary.json writes an open end (+-inf) as null: shade it to the axis' edge
            y0, y1 = ax.get_ylim()
            b0 = y0 if band[0] is None or not math.isfinite(band[0]) else band[0] * scale
            b1 = y1 if band[1] is None or not math.isfinite(band[1]) else band[1] * scale
            ax.axhspan(b0, b1, color="0.88", zorder=0, label="published band")
            if band[0] is None or band[1] is None:
                ax.set_ylim(y0, y1)
        ax.set_title(name, fontsize=10)
        ax.set_xlabel(x_name or "")
        ax.set_ylabel("ms" if unit == "s" else unit)
        ax.legend(frameon=False, fontsize=7)
    for ax in axes.ravel()[len(names):]:
        ax.set_visible(False)
    fig.suptitle(f"{spec.title} ({spec.trials} trials per cell)", fontsize=11)
    fig.tight_layout()
    return fig


def format_sweep(result: SweepResult) -> str:
    """A text report: cells run, from the store and failed; each effect per cell."""
    lines = [f"sweep {result.spec.name}: {len(result.cells)} cells "
             f"({sum(o['status'] == 'ran' for o in result.outcomes)} run, "
             f"{result.n_from_store} from the store, {len(result.failed)} failed)"]
    effects = effects_table(result)
    if len(effects):
        for (cell, tier), g in effects.groupby(["cell", "tier"], sort=True):
            c = result.cells[int(cell)]
            parts = []
            for _, e in g.iterrows():
                scale, unit = (1e3, "ms") if e["unit"] == "s" else (1.0, "")
                est = e["estimate"]
                v = "n/a" if est is None or not math.isfinite(est) else f"{est * scale:.3g}"
                mark = {True: "", False: "!", None: ""}[e["passed"]]
                parts.append(f"{e['effect']}={v}{unit}{mark}")
            lines.append(f"  {c.label():40s} " + " ".join(parts))
    for c, err in result.failed:
        lines.append(f"  FAILED {c.label()}: {err}")
    return "\n".join(lines)


def experiment_figure(result: SweepResult):
    """The experiment's figure in the paper's layout, both tiers side by side, the
    published values marked: with nothing varied, the task's own figure
    (:meth:`Task.figure`); otherwise each effect against the varied parameter."""
    if result.spec.swept:
        return effects_figure(result)
    from neuroattn.study.experiment import load_result
    from neuroattn.tasks import get_task

    results = {c.tier: load_result(o["path"]) for c, o in zip(result.cells, result.outcomes)
               if o["status"] != "failed"}
    if not results:
        return None
    config = result.cells[0].config
    task = get_task(result.spec.task)(**{k: tuple(v) if isinstance(v, list) else v
                                        for k, v in config["task"].items() if k != "name"})
    return task.figure(results)


def run_experiment(spec: Spec, out="results", workers: int = 1, scheduler: str | None = None,
                   force: bool = False, progress: bool = True,
                   formats=("png", "pdf")) -> SweepResult:
    """Run an experiment spec (as :func:`run_sweep`) and write its figure.

    The figure (:func:`experiment_figure`) goes beside the merged results as
    ``figure.png`` and ``figure.pdf``; with one varied parameter, summary.json's
    ``series`` holds each effect's Spearman rho against it, held to the task's series
    target where the task declares one.
    """
    return run_sweep(spec, out, workers, scheduler, force, progress, formats,
                     experiment=True)


def format_series_rows(result: SweepResult) -> str:
    """The experiment's series verdicts (rho against the varied parameter), if any."""
    path = result.path / "summary.json"
    series = json.loads(path.read_text()).get("series", {})
    lines = []
    for tier, effects in series.items():
        for effect, row in effects.items():
            if "target" not in row:
                continue
            rho = row["rho"]
            verdict = "PASS" if row["passed"] else "FAIL"
            rho_text = "n/a" if rho is None else f"{rho:.2f}"
            lines.append(f"  {tier:8s} {effect:18s} rho={rho_text} {verdict}  {row['target']}")
    return "\n".join(lines)
