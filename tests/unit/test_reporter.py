"""A run's reporter process (neuroattn.study._reporter) and the pandas-free trials it
relies on. Forking happens in child Python processes here, never in the test worker
(whose numba and torch thread pools a fork would copy)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from neuroattn.exceptions import ValidationError

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="the reporter forks on Linux only")

RUN = """
import json, sys
from neuroattn.cli import main
{patch}
rc = main({argv!r}, reporter={reporter!r})
sys.stdout.flush()
print("\\nMODULES=" + json.dumps(sorted(m for m in {heavy!r} if m in sys.modules)))
print("RC=" + str(rc))
"""


def _python(code, tmp_path, env=None):
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300, cwd=tmp_path,
                          env={**os.environ, "MPLBACKEND": "Agg", **(env or {})})
    return done


def _run(tmp_path, out, reporter, patch="", heavy=("pandas", "matplotlib", "numba"),
         extra=("--figure",)):
    argv = ["run", "posner", "--backend", "numba", "--trials", "24", "--seed", "3",
            "--out", str(out), "--no-progress", *extra]
    done = _python(RUN.format(argv=argv, reporter=reporter, patch=patch, heavy=heavy),
                   tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    modules = json.loads([x for x in lines if x.startswith("MODULES=")][-1].split("=", 1)[1])
    rc = int([x for x in lines if x.startswith("RC=")][-1].split("=", 1)[1])
    return rc, modules, done


def test_a_run_scored_by_its_reporter_writes_what_one_process_writes(tmp_path):
    """Same files byte for byte, while the process that simulated imported neither pandas
    nor matplotlib (the reporter did, beside the simulation)."""
    rc, forked, _ = _run(tmp_path, tmp_path / "forked", True)
    assert rc == 0 and forked == ["numba"]
    rc, single, _ = _run(tmp_path, tmp_path / "single", False)
    assert rc == 0 and single == ["matplotlib", "numba", "pandas"]
    a = list((tmp_path / "forked").glob("*/*"))
    b = list((tmp_path / "single").glob("*/*"))
    assert len(a) == len(b) == 1 and a[0].name == b[0].name
    names = sorted(p.name for p in a[0].iterdir())
    assert names == ["config.toml", "environment.json", "figure.png", "summary.json",
                     "trials.csv"]
    assert names == sorted(p.name for p in b[0].iterdir())
    for name in names:
        assert (a[0] / name).read_bytes() == (b[0] / name).read_bytes(), name
    summary = json.loads((a[0] / "summary.json").read_text())
    assert summary["trials"] == 24 and summary["effects"]


def test_a_run_draws_its_figure_on_request_only_and_a_stored_run_without_one_is_rerun(
        tmp_path):
    """Without --figure no process imports matplotlib and no figure is written; asking
    for the figure later reruns the stored run (same trials and summary) to draw it."""
    out = tmp_path / "runs"
    rc, modules, done = _run(tmp_path, out, False, extra=())
    assert rc == 0 and modules == ["numba", "pandas"]
    assert "figure: not drawn (--figure draws it)" in done.stdout
    (run,) = out.glob("*/*")
    assert sorted(p.name for p in run.iterdir()) == ["config.toml", "environment.json",
                                                     "summary.json", "trials.csv"]
    before = {n: (run / n).read_bytes() for n in ("summary.json", "trials.csv")}
    rc, modules, done = _run(tmp_path, out, True, extra=("--figure",))
    assert rc == 0 and "answered from the store" not in done.stdout
    assert (run / "figure.png").is_file() and "figures: figure.png" in done.stdout
    assert all((run / n).read_bytes() == b for n, b in before.items())
    rc, _, done = _run(tmp_path, out, True, extra=())  # has more than it asks for
    assert rc == 0 and "answered from the store" in done.stdout


@pytest.mark.parametrize("method, error, rc", [
    ("score", "ValidationError", 2),   # in the reporter: its error comes back
    ("run", "SimulationError", None),  # in the command: the reporter is stopped
])
def test_a_failure_on_either_side_fails_the_run_and_writes_nothing(method, error, rc,
                                                                    tmp_path):
    patch = f"""
from neuroattn.exceptions import {error}
from neuroattn.tasks.posner import Posner
def broken(self, *a, **k):
    raise {error}("Posner.{method}: refused (the test's own error)")
Posner.{method} = broken
"""
    got, _, done = _run(tmp_path, tmp_path / "out", True, patch)
    assert got != 0 and (rc is None or got == rc)
    assert f"Posner.{method}: refused (the test's own error)" in done.stderr
    assert not list((tmp_path / "out").rglob("*.csv"))  # no run, no half-written one
    assert not [p for p in (tmp_path / "out").rglob("*") if ".tmp-" in p.name]


REPORTER = """
import os, sys, pickle
from neuroattn.study._reporter import Reporter
{body}
"""


@pytest.mark.parametrize("work, expected", [
    ("lambda m: m * 2", ["OK", "42"]),
    ("lambda m: 1 / 0", ["ZeroDivisionError", "division by zero",
                         "in the run's reporter process:"]),
    ("lambda m: os._exit(3)", ["RuntimeError", "ended without an answer (exit status 3)"]),
])
def test_the_reporter_returns_what_its_work_returns_or_raises(work, expected, tmp_path):
    body = f"""
rep = Reporter(lambda: None, {work})
try:
    print("OK|" + str(rep.finish(21)))
except Exception as exc:
    note = getattr(exc, "__notes__", [""])[0].splitlines()
    print(type(exc).__name__ + "|" + str(exc) + "|" + (note[0] if note else ""))
"""
    done = _python(REPORTER.format(body=body), tmp_path)
    assert done.returncode == 0, done.stderr
    got = done.stdout.splitlines()[0].split("|")
    assert got[0] == expected[0]
    for want, have in zip(expected[1:], got[1:]):
        assert want in have


def test_a_cancelled_reporter_does_no_work_and_is_reaped(tmp_path):
    marker = tmp_path / "worked"
    body = f"""
import time
rep = Reporter(lambda: time.sleep(0.2), lambda m: open({str(marker)!r}, "w").close())
rep.cancel()
try:
    os.waitpid(rep.pid, os.WNOHANG)
    print("STILL A CHILD")
except ChildProcessError:
    print("REAPED")
"""
    done = _python(REPORTER.format(body=body), tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["REAPED"] and not marker.exists()


def test_trials_take_rows_or_columns_and_make_the_dataframe_when_read():
    import pickle

    from neuroattn.model import TaskSpec, Trials

    spec = TaskSpec("space", 2, ("evidence",), ("items",))
    stim = np.zeros((3, 4, 2), np.float32)
    rows = [{"trial": t, "condition": c} for t, c in enumerate("abc")]
    by_rows = Trials(stim, 1e-3, spec, rows, 0, "x")
    by_cols = Trials(stim, 1e-3, spec, {"trial": [0, 1, 2], "condition": list("abc")}, 0, "x")
    assert by_rows.conditions.equals(by_cols.conditions)
    assert list(by_rows.conditions["condition"]) == ["a", "b", "c"]
    again = pickle.loads(pickle.dumps(by_rows))
    assert again.conditions.equals(by_rows.conditions)
    with pytest.raises(ValidationError, match=r"Trials.conditions: expected one row per "
                                              r"trial \(3\) \(got 2\)"):
        Trials(stim, 1e-3, spec, rows[:2], 0, "x")


def test_making_posner_trials_and_simulating_them_imports_no_pandas(tmp_path):
    code = """
import sys
from neuroattn.tasks import get_task
from neuroattn.mechanisms import get_mechanism
task = get_task("posner")()
trials = task.make_trials(6, 1)
mech = get_mechanism("biased-competition")
agent = mech.agent("spiking", task.spec(), "numba", 1e-4, params=mech.resolve())
rec = task.run(agent, trials)
print("PANDAS", "pandas" in sys.modules)
result = task.score(trials, rec, 1)
print("PANDAS", "pandas" in sys.modules, len(result.table))
"""
    done = _python(code, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["PANDAS", "False", "PANDAS", "True", "6"]


def test_the_console_script_runs_with_its_reporter(tmp_path):
    exe = Path(sys.executable).with_name("neuroattn")
    if not exe.exists():
        pytest.skip("the console script is not installed beside this Python")
    done = subprocess.run([str(exe), "run", "posner", "--trials", "8", "--out",
                           str(tmp_path / "out"), "--no-progress", "--figure"],
                          capture_output=True,
                          text=True, timeout=300, cwd=tmp_path,
                          env={**os.environ, "MPLBACKEND": "Agg"})
    assert done.returncode == 0, done.stderr
    assert "figures: figure.png" in done.stdout
    assert len(list((tmp_path / "out").glob("*/*/figure.png"))) == 1
