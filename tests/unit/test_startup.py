"""Start-up: each command imports only what it needs (timings live in benchmarks/startup.py)."""

import json
import os
import subprocess
import sys
import threading

import numpy as np
import pytest

HEAVY = ("torch", "brian2", "numba", "snntorch", "triton")

PROBE = """
import json, sys
from neuroattn.cli import main
try:
    rc = main({argv!r})
except SystemExit as exc:
    rc = exc.code
sys.stdout.flush()
print("\\nMODULES=" + json.dumps(sorted(m for m in {heavy!r} if m in sys.modules)))
"""


def _imported(argv, tmp_path, heavy=HEAVY) -> list:
    code = PROBE.format(argv=argv, heavy=heavy)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300, cwd=tmp_path, env={**os.environ, "MPLBACKEND": "Agg"})
    assert done.returncode == 0, done.stderr
    line = [x for x in done.stdout.splitlines() if x.startswith("MODULES=")][-1]
    return json.loads(line.split("=", 1)[1])


@pytest.mark.parametrize("argv", [["--help"], ["list"], ["run", "--help"]])
def test_help_and_list_import_no_engine(argv, tmp_path):
    assert _imported(argv, tmp_path) == []


def test_help_imports_no_task_or_mechanism_module(tmp_path):
    """The registries name their tasks and mechanisms without importing them, so
    ``neuroattn --help`` imports no pandas (the tasks' tables), scipy or matplotlib."""
    modules = ("pandas", "scipy", "matplotlib", "neuroattn.tasks.posner",
               "neuroattn.mechanisms.biased_competition")
    assert _imported(["--help"], tmp_path, modules) == []


def test_a_numba_run_imports_neither_torch_nor_brian2(tmp_path):
    """Nor what else a numba run of a current-based circuit leaves out: pyplot (its
    figure is drawn on the Agg canvas directly), scipy.stats, networkx (graphs are built
    on use) and the conductance engine's kernels."""
    argv = ["run", "posner", "--backend", "numba", "--trials", "4", "--out", str(tmp_path),
            "--no-progress", "--figure"]
    unused = ("matplotlib.pyplot", "scipy.stats", "networkx",
              "neuroattn.backends.numba._conductance")
    drawn = ("matplotlib.figure",)  # the probe sees the figure's modules: not vacuous
    assert _imported(argv, tmp_path, HEAVY + unused + drawn) == ["matplotlib.figure", "numba"]


def test_a_softmax_run_needs_no_brian2(tmp_path):
    argv = ["run", "pair", "--tier", "softmax", "--trials", "10", "--set",
            "agent.softmax_from=analytic", "--out", str(tmp_path), "--no-progress"]
    assert "brian2" not in _imported(argv, tmp_path)


@pytest.mark.parametrize("command", ["run", "compare"])
def test_run_and_compare_relax_the_cyclic_collector_and_restore_it(command, monkeypatch):
    """A run's start-up makes objects that live until it ends; the collector passes over
    them less often while the command runs (``study._startup``), and the caller's
    thresholds are back afterwards, also when the command fails."""
    import gc

    from neuroattn import cli
    from neuroattn.exceptions import ValidationError
    from neuroattn.study._startup import RELAXED

    seen = []

    def execute(args, command, progress=True, reporter=False):
        seen.append((gc.isenabled(), gc.get_threshold()))
        if args.trials == 3:
            raise ValidationError("--trials: refused (the test's own error)")
        return 0

    monkeypatch.setattr(cli, "_execute", execute)
    before = gc.get_threshold()
    assert before != RELAXED
    assert cli.main([command, "posner", "--trials", "5"]) == 0
    assert cli.main([command, "posner", "--trials", "3"]) == 2
    assert seen == [(True, RELAXED)] * 2 and gc.get_threshold() == before


def _noisy_population(trials=4):
    from neuroattn.model import Drive, Network, Population, Probe, Stimulus
    from neuroattn.neurons import LIFParams

    net = Network([Population("a", 12, LIFParams(sigma=4e-3, i_bias=150e-12))], [],
                  [Probe("a", "rate", 5e-3)], name="noisy")
    stim = Stimulus(np.linspace(0.0, 1.0, trials * 20).reshape(trials, 20, 1), 1e-3,
                    [Drive(0, "a", gain=100e-12)])
    return net, stim


def test_work_handed_to_the_numba_run_is_done_once_beside_its_simulation():
    """``while_simulating``: the import of a run's figure modules overlaps the engine's
    GIL-free workers; it runs once, before the run returns, and changes no result."""
    from neuroattn.backends import simulate
    from neuroattn.backends.numba import while_simulating

    net, stim = _noisy_population()
    ref = simulate(net, stim, dt=1e-4, seed=3, backend="numba", threads=2)
    seen = []

    def note():
        seen.append(threading.current_thread() is threading.main_thread())

    def fail():
        raise ImportError("only a head start: ignored")

    for fn in (note, fail):
        while_simulating(fn)
    rec = simulate(net, stim, dt=1e-4, seed=3, backend="numba", threads=2)
    assert seen == [False]  # done by the time the run returns, in a helper thread
    np.testing.assert_array_equal(rec.rates, ref.rates)
    one = simulate(net, stim, dt=1e-4, seed=3, backend="numba", threads=1, progress=False)
    assert seen == [False]  # once only
    np.testing.assert_array_equal(one.rates, ref.rates)


LOAD = """
import json, sys
import numpy as np
from neuroattn.backends.numba import _warm
if {plain!r}:
    _warm._load_cached = lambda stages: False  # numba's own loading, with its refresh
from neuroattn.backends import simulate
from neuroattn.model import Drive, Network, Population, Probe, Stimulus
from neuroattn.neurons import LIFParams
net = Network([Population("a", 12, LIFParams(sigma=4e-3, i_bias=150e-12))], [],
              [Probe("a", "rate", 5e-3)], name="noisy")
stim = Stimulus(np.linspace(0.0, 1.0, 80).reshape(4, 20, 1), 1e-3,
                [Drive(0, "a", gain=100e-12)])
rec = simulate(net, stim, dt=1e-4, seed=3, backend="numba", threads=2)
print("OUT=" + json.dumps({{"rates": rec.rates.tolist(),
                           "refreshed": "numba.np.arraymath" in sys.modules}}))
"""


def test_the_cached_kernel_loads_without_numba_compiler_start_up_and_runs_the_same(tmp_path):
    """A cold process loads the kernel from numba's cache without numba's compiler
    refresh (its registries, scipy.linalg: 0.3-0.4 CPU s) and gets the same result."""
    from neuroattn.backends import simulate

    net, stim = _noisy_population()
    simulate(net, stim, dt=1e-4, seed=3, backend="numba", threads=2)  # in the cache now
    out = {}
    for plain in (False, True):
        done = subprocess.run([sys.executable, "-c", LOAD.format(plain=plain)],
                              capture_output=True, text=True, timeout=300, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        line = [x for x in done.stdout.splitlines() if x.startswith("OUT=")][-1]
        out[plain] = json.loads(line.split("=", 1)[1])
    assert not out[False]["refreshed"] and out[True]["refreshed"]
    assert out[False]["rates"] == out[True]["rates"]
    assert np.sum(out[False]["rates"]) > 0


BLAS = """
import json, os
from neuroattn.cli import console_environment
console_environment()
import numpy
from threadpoolctl import threadpool_info
print(json.dumps({"env": os.environ.get("OPENBLAS_NUM_THREADS"),
                  "blas": [p["num_threads"] for p in threadpool_info()
                           if p["user_api"] == "blas" and "openblas" in p["internal_api"]]}))
"""


@pytest.mark.parametrize("given", [None, "2"])
def test_the_console_script_runs_numpys_blas_on_one_thread_unless_the_user_says(given):
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    if given is not None:
        env["OPENBLAS_NUM_THREADS"] = given
    done = subprocess.run([sys.executable, "-c", BLAS], capture_output=True, text=True,
                          timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout.strip().splitlines()[-1])
    assert got["env"] == (given or "1")
    if given is None:  # numpy's OpenBLAS (when numpy uses it) started no worker pool
        assert all(n == 1 for n in got["blas"]), got


def test_package_versions_read_from_the_folder_names_agree_with_the_installed_metadata():
    from importlib import metadata

    from neuroattn.study.store import _RECORDED, package_versions

    got = package_versions()
    assert tuple(got) == _RECORDED
    for name in _RECORDED:
        try:
            expected = metadata.version(name)
        except metadata.PackageNotFoundError:
            expected = None
        assert got[name] == expected, name
    assert got["numpy"] == np.__version__
