"""``neuroattn ml``: train every attention variant on a task, count, price, store.

One row per (task, variant, seed): test accuracy, parameters, MACs, ACs and exponentials
per sample (counted on the whole test set), spikes per sample and spike rate, energy per
inference under two conventions (:mod:`neuroattn.ml.energy`), training time (wall and
CPU seconds: on a shared machine the CPU time is what an idle one would take, summed
over threads), the epochs trained (early stopping) and the CPU seconds of the whole
cell (training, test, counting, the bridge sweep), and inference time per sample. On
recall the rows also split the test accuracy by where the answer sits:
``acc_near`` (the matching pair within ``ModelConfig.window`` tokens of the query) and
``acc_far`` (beyond it), with their query counts ``n_near`` and ``n_far``.

The bridge variant is trained with biased competition's softmax layer as its attention
and tested with that attention replaced by its spiking circuit (no retraining): its
row holds the spiking model's numbers at ``bridge_steps`` time steps and the softmax
model's accuracy (``source_acc``); the accuracy at every step count in
``bridge_sweep`` goes to the summary (``bridge_steps`` per step count, ``bridge_rows``
per seed).

The run is written to the results store (``out/ml-<task>/<run-id>``): ``trials.csv``
(the rows), ``summary.json`` (mean and 95 % CI per variant, the issue's targets as
PASS/MISS), ``config.toml``, ``environment.json`` and the figure ``accuracy_energy.png``
(accuracy against energy per inference, CIs as error bars).
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from neuroattn.exceptions import ValidationError
from neuroattn.ml.attention import VARIANTS
from neuroattn.ml.data import TASKS, check_seed
from neuroattn.ml.model import ModelConfig
from neuroattn.ml.training import TrainConfig

__all__ = ["MLRun", "MLResult", "parse_attention", "default_run", "run_ml", "summarise",
           "format_table", "format_bridge", "accuracy_energy_figure"]

#: time steps at which the bridge's spiking circuit is tested
BRIDGE_SWEEP = (1, 2, 4, 8, 16, 32, 64)


def parse_attention(text) -> tuple:
    """``'torch,softmax'`` (or a sequence) -> ('torch', 'softmax'); checked, no repeats."""
    names = [s.strip() for s in text.split(",")] if isinstance(text, str) else list(text)
    if not names or any(not n for n in names):
        raise ValidationError(f"--attention: expected names separated by commas from "
                              f"{list(VARIANTS)} (got {text!r})")
    bad = [n for n in names if n not in VARIANTS]
    if bad:
        raise ValidationError(f"--attention: unknown attention {bad[0]!r}; expected one or "
                              f"more of {list(VARIANTS)} separated by commas")
    if len(set(names)) != len(names):
        raise ValidationError(f"--attention: each name once (got {text!r})")
    return tuple(names)


@dataclass(frozen=True)
class MLRun:
    """Everything that decides a run's numbers (its config; hashed into the run-id).

    Attributes
    ----------
    task : str
        ``'digits'`` or ``'recall'``.
    attention : tuple of str
        Variants, in order.
    seeds : int
        Seeds 0 .. seeds - 1: each fixes the data split, the initial weights, the
        batches and the samples of the stochastic layers.
    task_options : dict
        Keyword arguments of the task (digits: ``patch``; recall: ``length``,
        ``n_train``, ...).
    model : ModelConfig
    training : TrainConfig
    bridge_steps : int
        Time steps at which the bridge row is reported.
    bridge_sweep : tuple of int
        Time steps of the bridge table.
    """

    task: str
    attention: tuple
    seeds: int
    task_options: dict = field(default_factory=dict)
    model: ModelConfig = ModelConfig()
    training: TrainConfig = TrainConfig()
    bridge_steps: int = 32
    bridge_sweep: tuple = BRIDGE_SWEEP

    def validate(self) -> None:
        """Raise ValidationError naming the first bad field."""
        if self.task not in TASKS:
            raise ValidationError(f"task: must be one of {list(TASKS)} (got {self.task!r})")
        parse_attention(self.attention)
        if isinstance(self.seeds, bool) or not isinstance(self.seeds, int) or \
                not 1 <= self.seeds <= 1000:
            raise ValidationError(f"--seeds: must be an int from 1 to 1000, the number of "
                                  f"seeds (got {self.seeds!r})")
        self.model.validate()
        self.training.validate()
        for s in (self.bridge_steps, *self.bridge_sweep):
            if isinstance(s, bool) or not isinstance(s, int) or s < 1:
                raise ValidationError(f"bridge_steps: time steps must be ints >= 1 (got "
                                      f"{s!r})")

    def config(self) -> dict:
        """The resolved config as a nested dict (config.toml)."""
        return {"command": "ml", "task": self.task, "attention": list(self.attention),
                "seeds": self.seeds, "task_options": dict(self.task_options),
                "model": asdict(self.model), "training": asdict(self.training),
                "bridge": {"steps": self.bridge_steps, "sweep": list(self.bridge_sweep)}}


def default_run(task: str, attention, seeds: int) -> MLRun:
    """The settings the benchmark and the docs use for ``task``.

    digits: 4 x 4-pixel patches (4 tokens), 40 epochs. recall: length 128 (127 pairs
    over 128 key ids, 16 values), 8000 training sequences; half of them put the answer
    within the local variant's window of 8 tokens of the query, half beyond; at most 12
    epochs, stopped early once the validation accuracy reaches 99.5 % or after 4
    epochs without a gain of 1 point.
    """
    if task not in TASKS:
        raise ValidationError(f"task: must be one of {list(TASKS)} (got {task!r})")
    if task == "recall":
        model = ModelConfig()
        return MLRun(task, parse_attention(attention), seeds,
                     {"length": 128, "n_keys": 128, "n_train": 8000, "n_val": 1000,
                      "n_test": 1000, "near": model.window, "near_fraction": 0.5}, model,
                     TrainConfig(epochs=12, target=0.995, patience=4))
    return MLRun(task, parse_attention(attention), seeds, {"patch": 4})


@dataclass
class MLResult:
    """What :func:`run_ml` returns: the rows, the bridge table, the summary, the path."""

    table: object
    bridge: object
    summary: dict
    path: Path
    from_store: bool = False


def _ci(values) -> tuple:
    """(mean, low, high): 95 % CI of the mean, Student t over the seeds (n = 1: no CI)."""
    v = np.asarray(values, dtype=float)
    m = float(v.mean())
    if len(v) < 2:
        return m, math.nan, math.nan
    from scipy.stats import t

    half = float(t.ppf(0.975, len(v) - 1) * v.std(ddof=1) / math.sqrt(len(v)))
    return m, m - half, m + half


def _one(run: MLRun, data, variant: str, seed: int, device, bar) -> tuple:
    """Train and test one (variant, seed): (row dict, bridge rows)."""
    import torch

    from neuroattn.ml.energy import arithmetic_pj, memory_aware_pj
    from neuroattn.ml.model import TinyTransformer
    from neuroattn.ml.training import evaluate, train

    torch.manual_seed(seed)
    model = TinyTransformer(variant, data.kind, data.tokens, data.features, data.n_classes,
                            data.n_values, run.model).to(device)
    params = sum(p.numel() for p in model.parameters())
    cpu0 = time.process_time()
    model, train_s, val_acc, epochs = train(model, data.train, data.val, run.training, seed,
                                            bar)
    row = {"task": run.task, "variant": variant, "seed": seed, "val_acc": val_acc,
           "epochs": epochs, "params": params, "train_s": train_s,
           "train_cpu_s": time.process_time() - cpu0}
    bridge_rows = []
    if variant == "bridge":
        source = evaluate(model, data.test, seed)
        row["source_acc"] = source.accuracy
        bridge_rows.append({"seed": seed, "steps": 0, "accuracy": source.accuracy,
                            "kind": "softmax (source)"})
        for steps in run.bridge_sweep:
            acc = evaluate(model.bridged(steps), data.test, seed).accuracy
            bridge_rows.append({"seed": seed, "steps": steps, "accuracy": acc,
                                "kind": "spiking circuit"})
        model = model.bridged(run.bridge_steps)
        row["temperature"] = float(np.mean([
            math.exp(float(b.attn.competition.log_temperature.detach())) for b in model.blocks]))
    ev = evaluate(model, data.test, seed, count=True)
    n, c = ev.n, ev.cost
    row.update(test_acc=ev.accuracy, macs=c.macs / n, acs=c.acs / n, exps=c.exps / n,
               spikes=c.spikes / n, neuron_updates=c.neuron_updates / n,
               spike_rate=(c.spikes / c.neuron_steps) if c.neuron_steps else math.nan,
               energy_pj=arithmetic_pj(c.macs, c.acs) / n,
               energy_mem_pj=memory_aware_pj(c.macs, c.acs, c.neuron_updates) / n,
               infer_us=1e6 * ev.seconds / n)
    if data.kind == "pairs":
        row.update(_by_distance(ev.correct, data.test.info, run.model.window))
    row["cpu_s"] = time.process_time() - cpu0
    return row, bridge_rows


def _by_distance(correct, distance, window: int) -> dict:
    """Accuracy on the queries whose answer lies within ``window`` tokens of the query
    (``acc_near``) and beyond it (``acc_far``), with the counts ``n_near``, ``n_far``.

    Examples
    --------
    >>> import numpy as np
    >>> d = _by_distance(np.array([1, 1, 0, 0], bool), np.array([1, 2, 9, 30]), 8)
    >>> d["acc_near"], d["acc_far"], d["n_near"], d["n_far"]
    (1.0, 0.0, 2, 2)
    """
    correct, distance = np.asarray(correct, bool), np.asarray(distance)
    near = distance <= window
    return {"acc_near": float(correct[near].mean()) if near.any() else math.nan,
            "acc_far": float(correct[~near].mean()) if (~near).any() else math.nan,
            "n_near": int(near.sum()), "n_far": int((~near).sum())}


def _targets(task: str, stats: dict, bridge_stats: dict, run: MLRun) -> list:
    """The issue's targets for ``task`` that these variants allow to check."""
    out = []

    def add(name, ok, detail):
        out.append({"target": name, "pass": bool(ok), "detail": detail})

    acc = {v: s["test_acc"] for v, s in stats.items()}
    if task == "digits":
        for v in ("torch", "softmax"):
            if v in acc:
                add(f"{v} >= 96 %", acc[v]["mean"] >= 0.96, f"{100 * acc[v]['mean']:.1f} %")
        if "torch" in acc and "softmax" in acc:
            a, b = acc["torch"], acc["softmax"]
            ok = (a["low"] <= b["high"] and b["low"] <= a["high"]) if not math.isnan(
                a["low"]) else abs(a["mean"] - b["mean"]) < 1e-9
            add("torch = softmax within CIs", ok, f"{100 * a['mean']:.1f} vs "
                f"{100 * b['mean']:.1f} %")
        if "spiking" in acc and "softmax" in acc:
            gap = acc["softmax"]["mean"] - acc["spiking"]["mean"]
            add("spiking within 3 points of softmax", gap <= 0.03,
                f"gap {100 * gap:+.1f} points")
        if "bridge" in stats:
            gap = stats["bridge"]["source_acc"]["mean"] - acc["bridge"]["mean"]
            add(f"bridge within 2 points of its softmax model at {run.bridge_steps} steps",
                gap <= 0.02, f"gap {100 * gap:+.1f} points")
    else:
        length = run.task_options.get("length", 128)
        if "softmax" in acc:
            add(f"softmax >= 99 % at length {length}", acc["softmax"]["mean"] >= 0.99,
                f"{100 * acc['softmax']['mean']:.1f} %")
        if "local" in stats:
            far = stats["local"]["acc_far"]["mean"]
            near = stats["local"]["acc_near"]["mean"]
            add("local fails beyond its window (< 25 %) and succeeds within it (>= 90 %)",
                far < 0.25 and near >= 0.9,
                f"within window {100 * near:.1f} %, beyond {100 * far:.1f} %")
    return out


def summarise(table, bridge, run: MLRun) -> dict:
    """summary.json: per variant, mean and 95 % CI of each numeric column; targets."""
    from neuroattn.ml.energy import CONVENTIONS

    skip = {"task", "variant", "seed"}
    stats = {}
    for variant, rows in table.groupby("variant", sort=False):
        stats[variant] = {}
        for col in rows.columns:
            if col in skip or rows[col].isna().all():
                continue
            m, lo, hi = _ci(rows[col].to_numpy(dtype=float))
            stats[variant][col] = {"mean": m, "low": lo, "high": hi}
    bridge_stats = {}
    if bridge is not None and len(bridge):
        for steps, rows in bridge.groupby("steps"):
            m, lo, hi = _ci(rows["accuracy"].to_numpy(dtype=float))
            bridge_stats[int(steps)] = {"mean": m, "low": lo, "high": hi}
    return {"task": run.task, "seeds": run.seeds, "window": run.model.window, "variants": stats,
            "bridge_steps": bridge_stats, "bridge_reported_at": run.bridge_steps,
            "bridge_rows": [] if bridge is None else bridge.to_dict("records"),
            "energy_conventions": CONVENTIONS,
            "targets": _targets(run.task, stats, bridge_stats, run)}


def accuracy_energy_figure(summary: dict):
    """Test accuracy against energy per inference, one point per variant, 95 % CIs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    colours = plt.get_cmap("tab10")
    for ax, key, label in ((axes[0], "energy_pj", "45 nm arithmetic (memory excluded)"),
                           (axes[1], "energy_mem_pj", "memory-aware (+ SRAM fetches)")):
        for i, (variant, s) in enumerate(summary["variants"].items()):
            acc, e = s["test_acc"], s[key]

            def err(d, scale):
                if math.isnan(d["low"]):
                    return None
                return [[scale * (d["mean"] - d["low"])], [scale * (d["high"] - d["mean"])]]

            ax.errorbar(1e-6 * e["mean"], 100 * acc["mean"], yerr=err(acc, 100),
                        xerr=err(e, 1e-6), fmt="o", capsize=3, color=colours(i),
                        label=variant)
            ax.annotate(variant, (1e-6 * e["mean"], 100 * acc["mean"]), fontsize=7,
                        xytext=(4, 4 + 8 * (i % 3)), textcoords="offset points",
                        color=colours(i))
        ax.set_xscale("log")
        ax.set_xlabel(f"energy per inference (uJ), {label}")
        ax.set_ylabel("test accuracy (%)")
        ax.grid(alpha=0.3)
    axes[0].legend(frameon=False, fontsize=8)
    fig.suptitle(f"{summary['task']}: accuracy vs energy ({summary['seeds']} seeds, "
                 f"mean and 95 % CI)", fontsize=10)
    fig.tight_layout()
    return fig


def _fmt(d, scale=1.0, digits=1) -> str:
    if math.isnan(d["low"]):
        return f"{scale * d['mean']:.{digits}f}"
    return (f"{scale * d['mean']:.{digits}f} [{scale * d['low']:.{digits}f}, "
            f"{scale * d['high']:.{digits}f}]")


def format_table(summary: dict) -> str:
    """The per-variant table (Markdown): accuracy with CI, operations, energy, times."""
    head = ("| variant | test acc % [95% CI] | params | MACs | ACs | spike rate | "
            "energy uJ (45 nm) | energy uJ (memory-aware) | epochs | CPU s | "
            "infer us/sample |")
    lines = [head, "|" + "---|" * 11]
    for variant, s in summary["variants"].items():
        rate = s.get("spike_rate")
        epochs = s.get("epochs")
        cpu = s.get("cpu_s", s["train_cpu_s"])
        lines.append(
            f"| {variant} | {_fmt(s['test_acc'], 100)} | {s['params']['mean']:.0f} | "
            f"{s['macs']['mean']:.3g} | {s['acs']['mean']:.3g} | "
            f"{'-' if rate is None else format(rate['mean'], '.3f')} | "
            f"{1e-6 * s['energy_pj']['mean']:.3f} | {1e-6 * s['energy_mem_pj']['mean']:.3f} | "
            f"{'-' if epochs is None else format(epochs['mean'], '.1f')} | "
            f"{cpu['mean']:.1f} | {s['infer_us']['mean']:.0f} |")
    extra = [v for v, s in summary["variants"].items() if "acc_near" in s]
    if extra:
        window = summary.get("window", "w")
        s0 = summary["variants"][extra[0]]
        n_near, n_far = (s0.get(k, {}).get("mean", math.nan) for k in ("n_near", "n_far"))
        lines += ["", f"| variant | acc % answer within the window (distance <= {window}; "
                      f"{n_near:.0f} queries per seed) | acc % beyond ({n_far:.0f}) |",
                  "|---|---|---|"]
        for v in extra:
            s = summary["variants"][v]
            lines.append(f"| {v} | {_fmt(s['acc_near'], 100)} | {_fmt(s['acc_far'], 100)} |")
    lines.append("")
    for t in summary["targets"]:
        lines.append(f"{'PASS' if t['pass'] else 'MISS'}  {t['target']}: {t['detail']}")
    return "\n".join(lines)


def format_bridge(summary: dict) -> str:
    """The bridge table: accuracy against the circuit's time steps (0 = softmax)."""
    if not summary["bridge_steps"]:
        return ""
    lines = ["| time steps | test acc % [95% CI] |", "|---|---|"]
    for steps, d in summary["bridge_steps"].items():
        label = "softmax (source)" if int(steps) == 0 else str(steps)
        lines.append(f"| {label} | {_fmt(d, 100)} |")
    return "\n".join(lines)


def _restored(summary: dict, run: MLRun) -> dict:
    """A stored summary in run order (the file keeps its keys sorted, as strings, and
    writes NaN, a CI from one seed, as null)."""
    def nan(d):
        return {k: math.nan if v is None else v for k, v in d.items()}

    variants = {v: {col: nan(st) for col, st in cols.items()}
                for v, cols in summary["variants"].items()}
    summary["variants"] = {v: variants[v] for v in run.attention if v in variants}
    summary["bridge_steps"] = {int(k): nan(d) for k, d in sorted(summary["bridge_steps"].items(),
                                                            key=lambda kv: int(kv[0]))}
    return summary


#: rough cost of one (variant, seed) cell relative to ``torch`` (recall, CPU), used only
#: to start the longest cells first when they are spread over worker processes
_COST = {"spiking": 5.0, "hard": 2.5, "bridge": 2.3}


def _cell(run: MLRun, seed: int, variant: str, threads: int) -> tuple:
    """One (variant, seed) cell in a worker process with ``threads`` torch threads."""
    import torch

    from neuroattn.ml.data import load_task

    torch.set_num_threads(threads)
    data = load_task(run.task, seed, **run.task_options)
    return _one(run, data, variant, seed, torch.device("cpu"), None)


def _check_workers(workers) -> int:
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValidationError(f"--workers: must be an int >= 1, the processes that train "
                              f"cells side by side (got {workers!r})")
    return workers


def run_ml(run: MLRun, out="results", force: bool = False, progress: bool = True,
           device=None, workers: int = 1) -> MLResult:
    """Train and test every (variant, seed) of ``run``; store and return the results.

    A stored run with the same config is returned as it is unless ``force``.
    ``workers`` > 1 (CPU only) trains that many (variant, seed) cells side by side in
    worker processes, each with ``cores // workers`` torch threads (at least 1): small
    models keep one thread busier than two, so on 2 cores two workers of one thread
    finish the table sooner than one process of two threads. Every cell is seeded on
    its own, so the rows do not depend on which worker ran them; on CPU they are the
    same for a given number of torch threads per cell.
    """
    import pandas as pd
    from tqdm.auto import tqdm

    from neuroattn.ml.data import load_task
    from neuroattn.ml.training import default_device
    from neuroattn.study.store import check_writable, is_stored, load_summary, run_path, save_run

    run.validate()
    workers = _check_workers(workers)
    check_writable(out)
    path = run_path(out, f"ml-{run.task}", run.config())
    if is_stored(path) and not force:
        table = pd.read_csv(path / "trials.csv")
        summary = _restored(load_summary(path), run)
        bridge = pd.DataFrame(summary["bridge_rows"]) if summary["bridge_rows"] else None
        return MLResult(table, bridge, summary, path, True)
    device = device or default_device()
    cells = [(seed, variant) for seed in range(run.seeds) for variant in run.attention]
    done = {}
    total = len(cells) * run.training.epochs
    with tqdm(total=total, desc=f"ml {run.task}", unit="epoch", disable=not progress) as bar:
        if workers > 1 and getattr(device, "type", str(device)) == "cpu":
            import multiprocessing
            import os
            from concurrent.futures import ProcessPoolExecutor, as_completed

            threads = max(1, (os.cpu_count() or 1) // workers)
            order = sorted(cells, key=lambda c: -_COST.get(c[1], 1.0))
            ctx = multiprocessing.get_context("spawn")   # torch's threads do not survive fork
            with ProcessPoolExecutor(min(workers, len(cells)), mp_context=ctx) as pool:
                futures = {pool.submit(_cell, run, seed, variant, threads): (seed, variant)
                           for seed, variant in order}
                for fut in as_completed(futures):
                    seed, variant = futures[fut]
                    done[seed, variant] = fut.result()
                    bar.set_postfix_str(f"{variant} seed {seed} done")
                    bar.update(run.training.epochs)
        else:
            for seed in range(run.seeds):
                data = load_task(run.task, check_seed(seed, "seed"), **run.task_options)
                for variant in run.attention:
                    bar.set_postfix_str(f"{variant} seed {seed}")
                    done[seed, variant] = _one(run, data, variant, seed, device, bar)
    rows = [done[c][0] for c in cells]
    bridge_rows = [b for c in cells for b in done[c][1]]
    table = pd.DataFrame(rows)
    bridge = pd.DataFrame(bridge_rows) if bridge_rows else None
    summary = summarise(table, bridge, run)
    fig = accuracy_energy_figure(summary)
    path = save_run(path, run.config(), summary, table, {"accuracy_energy": fig}, 0)
    return MLResult(table, bridge, summary, path, False)
