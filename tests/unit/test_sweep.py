"""Sweeps and experiment specs: expansion, seeds, resuming, failures, pool vs Dask."""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import numpy as np
import pytest

from neuroattn.cli import main
from neuroattn.exceptions import ValidationError
from neuroattn.study.sweep import cell_seed, expand, read_spec, run_sweep

ROOT = Path(__file__).resolve().parents[2]

SPEC = """
[experiment]
name = "tiny"
task = "posner"
tiers = {tiers}
trials = {trials}
seed = 5

[set]
"agent.backend" = "numba"
"agent.softmax_from" = "analytic"

[grid]
validity = {validity}
"""


def _spec(tmp_path, name="tiny.toml", tiers='["spiking", "softmax"]', trials=24,
          validity="[0.6, 0.8]", extra=""):
    path = tmp_path / name
    path.write_text(SPEC.format(tiers=tiers, trials=trials, validity=validity) + extra)
    return path


def _merged(result) -> pd.DataFrame:
    return pd.read_csv(result.path / "trials.csv")


def test_cells_cross_grid_zip_and_tiers_and_seed_from_values(tmp_path):
    path = _spec(tmp_path, extra='[zip]\nsoa = [0.1, 0.3]\n"task.neutral_fraction" = [0.2, 0.3]\n')
    cells = expand(read_spec(path))
    assert len(cells) == 2 * 2 * 2  # validity x zipped rows x tiers
    points = {(c.params["validity"], c.params["soa"]) for c in cells}
    assert points == {(0.6, 0.1), (0.6, 0.3), (0.8, 0.1), (0.8, 0.3)}
    for c in cells:
        assert c.config["task"]["validity"] == c.params["validity"]
        assert c.config["task"]["neutral_fraction"] == c.params["task.neutral_fraction"]
        assert c.config["seed"] == c.seed == cell_seed(5, c.params)
        assert c.config["agent"]["tier"] == c.tier
    by_point = {}
    for c in cells:
        by_point.setdefault(tuple(sorted(c.params.items())), set()).add(c.seed)
    assert all(len(s) == 1 for s in by_point.values())        # tiers share the trials
    assert len({next(iter(s)) for s in by_point.values()}) == 4  # points do not
    # adding a value leaves the other points' seeds alone
    wider = expand(read_spec(_spec(tmp_path, "wide.toml", validity="[0.6, 0.7, 0.8]")))
    narrow = expand(read_spec(_spec(tmp_path, "narrow.toml")))
    seeds = {c.params["validity"]: c.seed for c in wider}
    assert all(seeds[c.params["validity"]] == c.seed for c in narrow)


@pytest.mark.parametrize("text, match", [
    ('[experiment]\nname = "x"\n', r"experiment\.task: expected a non-empty string"),
    ('[experiment]\nname = "x"\ntask = "posner"\ntiers = ["fast"]\n', r"experiment\.tiers"),
    ('[experiment]\nname = "x"\ntask = "posner"\ntrials = 0\n', r"experiment\.trials: expected an "
     r"integer >= 1 \(got 0\)"),
    ('[experiment]\nname = "x"\ntask = "posner"\ncolour = 1\n', r"experiment\.colour: unknown key"),
    ('[experiment]\nname = "x"\ntask = "posner"\n[grid]\nvalidity = 0.6\n',
     r"grid\.validity: expected a non-empty list"),
    ('[experiment]\nname = "x"\ntask = "posner"\n[zip]\na = [1]\nb = [1, 2]\n',
     r"\[zip\]: the lists must have equal lengths"),
    ('[experiment]\nname = "x"\ntask = "posner"\n[set]\nvalidity = 0.6\n[grid]\n'
     'validity = [0.6]\n', r"set\.validity is also varied"),
    ('[experiment]\nname = "x"\ntask = "posner"\n[sweep]\n', r"unknown table\(s\) \['sweep'\]"),
    ('[experiment\n', r"not valid TOML"),
])
def test_a_bad_spec_is_refused_naming_the_file_and_key(tmp_path, text, match):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ValidationError, match=match) as info:
        read_spec(path)
    assert str(path) in str(info.value)


def test_a_bad_value_in_the_grid_is_refused_before_anything_runs(tmp_path):
    path = _spec(tmp_path, validity="[0.6, 1.5]")
    with pytest.raises(ValidationError, match=r"validity=1\.5, tier spiking: .*validity"):
        expand(read_spec(path))
    assert main(["sweep", str(path), "--out", str(tmp_path / "out"), "--no-progress"]) == 2
    assert not (tmp_path / "out" / "posner-biased-competition-spiking").exists()


def test_merged_table_has_a_row_per_trial_and_a_column_per_swept_parameter(tmp_path):
    spec = read_spec(_spec(tmp_path, extra='[zip]\nsoa = [0.1, 0.3]\n'))
    res = run_sweep(spec, tmp_path / "out", progress=False)
    table = _merged(res)
    assert len(table) == 8 * 24
    assert {"cell", "validity", "soa", "seed", "tier", "rt", "condition"} <= set(table.columns)
    for cell in res.cells:
        rows = table[table["cell"] == cell.index]
        assert len(rows) == 24 and (rows["tier"] == cell.tier).all()
        assert (rows["soa"] == cell.params["soa"]).all()
    # a cell is an ordinary stored run: the same trials as `neuroattn run`
    cell = res.cells[0]
    single = pd.read_csv(Path(res.outcomes[0]["path"]) / "trials.csv")
    assert single["rt"].equals(table[table["cell"] == 0]["rt"].reset_index(drop=True))
    effects = pd.DataFrame(
        __import__("json").loads((res.path / "summary.json").read_text())["effects"])
    assert set(effects["effect"]) >= {"benefit_rt", "cost_rt"}
    assert (res.path / "effects.png").is_file()
    assert cell.seed == int(table[table["cell"] == 0]["seed"].iloc[0])


def test_a_failed_cell_is_reported_and_the_others_go_on(tmp_path, monkeypatch, capsys):
    import neuroattn.study.experiment as experiment

    real = experiment.run_task

    def flaky(config, *args, **kwargs):
        if config["task"]["validity"] == 0.8 and config["agent"]["tier"] == "softmax":
            raise FloatingPointError("rates diverged")
        return real(config, *args, **kwargs)

    monkeypatch.setattr(experiment, "run_task", flaky)
    path = _spec(tmp_path)
    rc = main(["sweep", str(path), "--out", str(tmp_path / "out"), "--no-progress"])
    captured = capsys.readouterr()
    assert rc == 1
    assert re.search(r"1 of 4 cells failed: cell 3 \(validity=0\.8 tier=softmax\)", captured.err)
    assert "FAILED validity=0.8 tier=softmax: FloatingPointError: rates diverged" in captured.out
    res_dir = next((tmp_path / "out" / "sweeps" / "tiny").iterdir())
    table = pd.read_csv(res_dir / "trials.csv")
    assert sorted(table["cell"].unique()) == [0, 1, 2]
    # fixed: only the failed cell runs again
    monkeypatch.setattr(experiment, "run_task", real)
    assert main(["sweep", str(path), "--out", str(tmp_path / "out"), "--no-progress"]) == 0
    assert "(1 run, 3 from the store, 0 failed)" in capsys.readouterr().out


def test_killed_sweep_reruns_only_the_missing_cells(tmp_path):
    path = _spec(tmp_path, tiers='["spiking"]', trials=200,
                 validity="[0.5, 0.6, 0.7, 0.8, 0.9, 0.95]")
    out = tmp_path / "out"
    env = {**os.environ, "MPLBACKEND": "Agg"}
    cmd = [sys.executable, "-m", "neuroattn.cli", "sweep", str(path), "--out", str(out),
           "--no-progress"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    runs = out / "posner-biased-competition-spiking"

    def finished():  # complete runs; a cell being written sits in a hidden temporary dir
        return [p for p in runs.glob("*/summary.json") if not p.parent.name.startswith(".")] \
            if runs.is_dir() else []

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None and len(finished()) < 2:
        time.sleep(0.05)
    assert proc.poll() is None, "the sweep finished before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done = len(finished())
    assert 2 <= done < 6
    rerun = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    m = re.search(r"\((\d+) run, (\d+) from the store, 0 failed\)", rerun.stdout)
    assert m and int(m.group(1)) == 6 - done and int(m.group(2)) == done
    # the same merged table as an uninterrupted sweep
    clean = run_sweep(read_spec(path), tmp_path / "clean", progress=False)
    got = pd.read_csv(next((out / "sweeps" / "tiny").iterdir()) / "trials.csv")
    pd.testing.assert_frame_equal(got, _merged(clean))


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.filterwarnings("ignore::ResourceWarning")
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_pool_and_dask_cluster_give_the_same_merged_table(tmp_path, capsys):
    distributed = pytest.importorskip("distributed")
    path = _spec(tmp_path, trials=20)
    assert main(["sweep", str(path), "--out", str(tmp_path / "one"), "--no-progress"]) == 0
    assert main(["sweep", str(path), "--workers", "2", "--out", str(tmp_path / "pool"),
                 "--no-progress"]) == 0
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        assert main(["sweep", str(path), "--scheduler", cluster.scheduler_address,
                     "--out", str(tmp_path / "dask"), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert out.count("(4 run, 0 from the store, 0 failed)") == 3
    tables = [pd.read_csv(next((tmp_path / d / "sweeps" / "tiny").iterdir()) / "trials.csv")
              for d in ("one", "pool", "dask")]
    assert len(tables[0]) == 4 * 20
    pd.testing.assert_frame_equal(tables[0], tables[1])
    pd.testing.assert_frame_equal(tables[0], tables[2])


def test_scheduler_that_does_not_answer_is_a_clear_error(tmp_path, capsys):
    pytest.importorskip("distributed")
    path = _spec(tmp_path, trials=4)
    rc = main(["sweep", str(path), "--scheduler", "tcp://127.0.0.1:9", "--out",
               str(tmp_path / "o"), "--no-progress"])
    assert rc == 2
    err = capsys.readouterr().err
    assert err.startswith("neuroattn: error: --scheduler: cannot connect to 'tcp://127.0.0.1:9'")
    assert main(["sweep", str(path), "--scheduler", "localhost", "--out",
                 str(tmp_path / "o")]) == 2
    assert "--scheduler: expected an address such as tcp://" in capsys.readouterr().err


@pytest.mark.parametrize("spec", sorted((ROOT / "experiments").glob("*.toml")),
                         ids=lambda p: p.stem)
def test_every_experiment_writes_its_figure(spec, tmp_path, capsys):
    argv = ["experiment", str(spec), "--trials", "24", "--out", str(tmp_path),
            "--set", "agent.calibration_trials=12", "--no-progress"]
    assert main(argv) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    result_dir = Path(re.search(r"merged results: (\S+)", out).group(1))
    for name in ("figure.png", "figure.pdf", "trials.csv", "summary.json"):
        assert (result_dir / name).is_file(), name
    tiers = read_spec(spec).tiers
    assert set(pd.read_csv(result_dir / "trials.csv")["tier"]) == set(tiers)


def test_the_effects_figure_shades_one_sided_bands_stored_with_an_open_end():
    """summary.json writes an infinite band end as null; the figure shades up to the
    axis' edge instead of failing on it, and keeps the axis on the estimates."""
    from types import SimpleNamespace

    from neuroattn.study.sweep import effects_figure

    cells = [SimpleNamespace(index=i, params={"trials_x": float(i)}, tier="spiking")
             for i in range(3)]

    def effect(v):
        return {"name": "rt_monotonic", "unit": "", "estimate": v, "ci_low": v - 0.5,
                "ci_high": v + 0.5, "band": [None, 2.33], "passed": v < 2.33}

    outcomes = [{"status": "ran", "summary": {"effects": [effect(v)]}}
                for v in (0.0, 1.0, 3.0)]
    spec = SimpleNamespace(swept=["trials_x"], title="one-sided band", trials=10)
    fig = effects_figure(SimpleNamespace(cells=cells, outcomes=outcomes, spec=spec))
    ax = fig.axes[0]
    y0, y1 = ax.get_ylim()
    assert y0 < -0.5 and 3.5 < y1 < 10        # the estimates set the axis, not the band
    shaded = [p for p in ax.patches if p.get_label() == "published band"]
    assert len(shaded) == 1
    ys = shaded[0].get_path().vertices[:, 1]
    if hasattr(shaded[0], "get_y"):           # a Rectangle (matplotlib >= 3.9)
        ys = np.array([shaded[0].get_y(), shaded[0].get_y() + shaded[0].get_height()])
    assert min(ys) == pytest.approx(y0) and max(ys) == pytest.approx(2.33)
