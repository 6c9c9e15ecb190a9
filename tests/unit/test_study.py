"""The results store: atomic writes, stable run ids, TOML round trips."""

import json
import tomllib

import pandas as pd
import pytest

from neuroattn.exceptions import ValidationError
from neuroattn.study import check_writable, config_id, is_stored, run_path, save_run, to_toml


def test_config_id_is_stable_and_order_independent():
    a = {"task": {"name": "posner", "k": 2}, "seed": 1}
    b = {"seed": 1, "task": {"k": 2, "name": "posner"}}
    assert config_id(a) == config_id(b)
    assert config_id(a) != config_id({**a, "seed": 2})


def test_to_toml_round_trips_through_tomllib():
    cfg = {"experiment": "x", "trials": 3, "dt": 1e-4, "flag": True, "values": [1.0, 0.2],
           "mechanism": {"name": "bc", "circuit": {"k": 2, "exc": {"tau_mem": 0.02}}},
           "null": float("-inf")}
    back = tomllib.loads(to_toml(cfg))
    assert back == cfg


def test_save_run_writes_everything_and_leaves_nothing_on_failure(tmp_path):
    cfg = {"experiment": "e", "seed": 0}
    path = run_path(tmp_path, "e", cfg)
    table = pd.DataFrame({"trial": [0, 1], "rt": [0.1, 0.2]})
    save_run(path, cfg, {"effects": []}, table, seed=0)
    assert is_stored(path)
    assert sorted(p.name for p in path.iterdir()) == ["config.toml", "environment.json",
                                                      "summary.json", "trials.csv"]
    env = json.loads((path / "environment.json").read_text())
    assert env["seed"] == 0 and "numpy" in env["packages"]

    class Boom:
        def savefig(self, *a, **k):
            raise RuntimeError("disk full")

    other = run_path(tmp_path, "e", {"experiment": "e", "seed": 1})
    with pytest.raises(RuntimeError, match="disk full"):
        save_run(other, {"seed": 1}, {}, table, {"fig": Boom()}, seed=1)
    assert not other.exists()
    assert sorted(p.name for p in (tmp_path / "e").iterdir()) == [path.name]


def test_check_writable_names_out(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ValidationError, match=r"--out: cannot write results to .*file/sub"):
        check_writable(blocker / "sub")


def test_trial_agreement_separates_agreement_from_chance_and_conditions():
    import numpy as np

    from neuroattn.study.experiment import trial_agreement

    rng = np.random.default_rng(0)
    n = 4000
    cond = np.where(rng.random(n) < 0.5, "a", "b")
    shift = np.where(cond == "a", 0.25, 0.35)
    choice_a = (rng.random(n) < 0.9).astype(int)
    choice_b = (rng.random(n) < 0.9).astype(int)  # independent, same base rate
    rt_a = shift + rng.normal(0, 0.02, n)
    rt_b = shift + rng.normal(0, 0.02, n)  # only the condition means are shared
    a = pd.DataFrame({"condition": cond, "choice": choice_a, "rt": rt_a})
    b = pd.DataFrame({"condition": cond, "choice": choice_b, "rt": rt_b})
    out = trial_agreement(a, b)
    # independent models at 90 % agree on ~82 % of trials: all of it chance
    assert out["choice_agreement"] == pytest.approx(0.82, abs=0.02)
    assert out["chance_agreement"] == pytest.approx(out["choice_agreement"], abs=0.02)
    assert abs(out["kappa"]) < 0.05
    # raw RTs correlate through the conditions alone; within condition they do not
    assert np.corrcoef(rt_a, rt_b)[0, 1] > 0.5
    assert abs(out["rt_correlation_within"]) < 0.05
    assert abs(out["rt_correlation_shuffled"]) < 0.05
    same = trial_agreement(a, a)
    assert same["kappa"] == 1.0 and same["rt_correlation_within"] == pytest.approx(1.0)


def test_a_new_task_runs_through_study_without_changes_there(tmp_path, monkeypatch):
    """A task written only against the Task contract runs, scores and reports."""
    from dataclasses import dataclass

    import numpy as np

    from neuroattn.study.config import resolve_config
    from neuroattn.study.experiment import run_task
    from neuroattn.study.report import format_run
    from neuroattn.tasks import TASKS, Effect, Task, TaskResult, TaskSpec, Trials
    from neuroattn.tasks.base import Column
    from neuroattn.tasks.stats import bootstrap_mean_ci

    @dataclass(frozen=True)
    class Oddball(Task):
        """Three items; one is stronger; the choice is the item with the highest rate."""

        contrast: float = 1.0
        dt: float = 1e-3
        name = "oddball"
        columns = (Column("accuracy", "accuracy"),)

        def spec(self):
            return TaskSpec("space", 3)

        def validate(self):
            pass

        def make_trials(self, n, seed=0):
            odd = np.arange(n) % 3
            stim = np.zeros((n, 200, 6), np.float32)
            stim[:, 50:, :3] = 0.5
            stim[np.arange(n), 50:, odd] = 0.5 + self.contrast
            cond = pd.DataFrame({"trial": np.arange(n), "condition": "odd", "target": odd})
            return Trials(stim, self.dt, self.spec(), cond, seed, self.name)

        def readout(self, recording, trials=None):
            return pd.DataFrame({"choice": recording.role("items")[:, 20:].mean(1).argmax(1)})

        def score(self, trials, recording, seed=0):
            table = trials.conditions.assign(choice=self.readout(recording)["choice"].to_numpy())
            table["correct"] = table["choice"] == table["target"]
            m, lo, hi = bootstrap_mean_ci(table["correct"], seed)
            summary = pd.DataFrame([{"condition": "odd", "n": len(table), "accuracy": m}])
            effect = Effect.held_to("accuracy", m, lo, hi, "1", "above chance (1/3)", null=1 / 3)
            return TaskResult(table, (effect,), summary)

    monkeypatch.setitem(TASKS, "oddball", Oddball)
    cfg = resolve_config("run", "oddball", trials=30, backend="numba", sets=["contrast=1.5"])
    out = run_task(cfg, tmp_path)
    assert out.summary["effects"][0]["passed"] is True
    assert "accuracy" in format_run(out.summary)
    assert (out.path / "figure.png").is_file()
