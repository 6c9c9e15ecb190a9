"""Start-up and end-to-end CLI timings, every command in a cold process.

    python benchmarks/startup.py [--repeats N] [--brian2-repeats N] [--trials 256]

Rows (median wall time over the repeats, each a fresh ``python`` process, as a user
would start it):

- ``neuroattn --help`` and ``neuroattn list``: they import no engine (torch, brian2,
  numba), so they answer in well under a second.
- start-up to the first simulated step, per spiking backend: a process that imports
  neuroattn, builds the Posner circuit and simulates one step (numba loads its cached
  kernel; brian2 generates and, for cython, compiles or loads its code; torch imports).
- ``neuroattn run posner --backend numba --trials 256`` against the same command with
  ``--backend brian2``, each into a fresh results directory (nothing answered from the
  store). Target: numba >= 10x faster end to end. ``run`` draws its figure on request;
  the same two runs with ``--figure`` follow, with their ratio (not held to the target:
  drawing takes matplotlib's import and ~0.3 CPU s whichever engine simulated).
  Each is run as the console script runs it (``main(..., reporter=True)``): a
  reporter process scores, draws and writes while the command simulates
  (``neuroattn.study._reporter``); the modules listed are the simulating process's.

The modules each command imported are listed beside it. Timings on a shared machine
are noisy: compare the ratio, measured in one run of this script. Beside the wall times
the script reports each command's CPU seconds (user + system of the child process, also
a median): on a machine other jobs load, wall time counts the waiting and CPU time does
not, so the CPU ratio is the steadier of the two there (it also counts both cores of a
parallel simulation, so on an idle machine it is the stricter one).

Before timing, the script byte-compiles the package as ``make install`` does
(``compileall``), and warm-up runs fill numba's cache (the checkout's, or
``NUMBA_CACHE_DIR``) once; a warm-up that finds another process compiling the engine
waits for it and loads its work (``neuroattn/_numba_cache.py``), so the timed runs
never compile. Where a numba run's CPU time goes, part by part, and what each change
saved: docs/engines.md, "Start-up and the end-to-end run" (its figures come from
``time.process_time`` checkpoints in one process, the code before and after
interleaved, since on a loaded machine the totals here move by more than the changes).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "brian2", "numba", "scipy.stats", "matplotlib", "pandas")
TARGET = 10.0

FIRST_STEP = """
import time, sys
t0 = time.perf_counter()
from neuroattn.backends import simulate
from neuroattn.tasks import Posner
from neuroattn.mechanisms import get_mechanism
task = Posner()
mech = get_mechanism("biased-competition")
model = mech.spiking(task.spec(), **mech.resolve())
simulate(model.network, duration=1e-4, dt=1e-4, seed=0, backend={backend!r})
print("SECONDS", time.perf_counter() - t0)
"""

CLI = """
import json, os, sys
from neuroattn.cli import console_environment, main
console_environment()  # as the console script (neuroattn.cli.entry) starts
try:
    rc = main({argv!r}, reporter=True)  # as the console script (neuroattn.cli.entry) runs it
except SystemExit as exc:
    rc = exc.code
print("MODULES=" + json.dumps(sorted(m for m in {heavy!r} if m in sys.modules)))
sys.stdout.flush()
os._exit(rc or 0)  # as the console script (neuroattn.cli.entry) ends
"""


def _cpu_children() -> float:
    use = resource.getrusage(resource.RUSAGE_CHILDREN)
    return use.ru_utime + use.ru_stime


def _cold(code: str) -> tuple[float, str, float]:
    """Wall time of a fresh ``python -c code``, its stdout and its CPU seconds."""
    c0 = _cpu_children()
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, env={**os.environ, "MPLBACKEND": "Agg"})
    seconds = time.perf_counter() - t0
    cpu = _cpu_children() - c0
    if done.returncode != 0:
        raise RuntimeError(f"{code!r} failed:\n{done.stderr[-2000:]}")
    return seconds, done.stdout, cpu


def _modules(stdout: str) -> str:
    lines = [x for x in stdout.splitlines() if x.startswith("MODULES=")]
    return ", ".join(json.loads(lines[-1].split("=", 1)[1])) or "-" if lines else "?"


def _cli(argv: list, repeats: int, fresh_out: bool = False) -> tuple:
    """(median wall s, wall times, imported modules, median CPU s) over ``repeats``."""
    times, cpus, mods = [], [], ""
    for _ in range(repeats):
        args = list(argv)
        tmp = None
        if fresh_out:
            tmp = tempfile.mkdtemp(prefix="neuroattn-startup-")
            args += ["--out", tmp]
        seconds, out, cpu = _cold(CLI.format(argv=args, heavy=HEAVY))
        times.append(seconds)
        cpus.append(cpu)
        mods = _modules(out)
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    return statistics.median(times), times, mods, statistics.median(cpus)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=5, help="cold starts per fast command")
    p.add_argument("--brian2-repeats", type=int, default=3,
                   help="cold starts of the Brian2 run (each takes ~20 s)")
    p.add_argument("--trials", type=int, default=256)
    p.add_argument("--no-figure-rows", dest="figure_rows", action="store_false",
                   help="leave out the two runs with --figure")
    args = p.parse_args(argv)

    # the package's bytecode, numba's cache and Brian2's compiled code, as after
    # `make install` (compileall, `neuroattn compile`) and a first run: where
    # PYTHONDONTWRITEBYTECODE is set, modules edited since the install would otherwise be
    # compiled from source by every timed process
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "neuroattn")],
                   capture_output=True, check=False)
    _cli(["run", "posner", "--backend", "numba", "--trials", "4", "--no-progress"], 1, True)
    _cli(["run", "posner", "--backend", "brian2", "--trials", "4", "--no-progress"], 1, True)

    rows = []
    for label, argv in (("neuroattn --help", ["--help"]), ("neuroattn list", ["list"])):
        rows.append((label, *_cli(argv, args.repeats)))
    for backend in ("numba", "torch", "brian2"):
        times, cpus = [], []
        for _ in range(args.repeats if backend != "brian2" else args.brian2_repeats):
            seconds, _, cpu = _cold(FIRST_STEP.format(backend=backend))
            times.append(seconds)
            cpus.append(cpu)
        rows.append((f"first simulated step, {backend}", statistics.median(times), times,
                     "(import + build + one step)", statistics.median(cpus)))
    run = ["run", "posner", "--trials", str(args.trials), "--no-progress"]
    numba = _cli(run + ["--backend", "numba"], args.repeats, True)
    brian2 = _cli(run + ["--backend", "brian2"], args.brian2_repeats, True)
    rows.append((f"run posner --trials {args.trials} --backend numba", *numba))
    rows.append((f"run posner --trials {args.trials} --backend brian2", *brian2))
    drawn = {}
    if args.figure_rows:
        for backend, repeats in (("numba", args.repeats), ("brian2", args.brian2_repeats)):
            drawn[backend] = _cli(run + ["--backend", backend, "--figure"], repeats, True)
            rows.append((f"  the same with --figure, {backend}", *drawn[backend]))

    print(f"cold-process timings (median of the repeats), python {sys.version.split()[0]}")
    print(f"{'command':48s} {'median s':>9s} {'cpu s':>6s}  {'all runs (s)':28s} imported")
    for label, med, times, mods, cpu in rows:
        runs = " ".join(f"{t:.2f}" for t in times)
        print(f"{label:48s} {med:9.2f} {cpu:6.2f}  {runs:28s} {mods}")
    ratio = brian2[0] / numba[0]
    verdict = "PASS" if ratio >= TARGET else "MISS"
    print(f"\nend to end, brian2 / numba: {ratio:.1f}x wall (target >= {TARGET:g}x) {verdict}; "
          f"{brian2[3] / numba[3]:.1f}x in CPU seconds")
    if drawn:
        print(f"with the figure drawn (--figure): {drawn['brian2'][0] / drawn['numba'][0]:.1f}x "
              f"wall, {drawn['brian2'][3] / drawn['numba'][3]:.1f}x in CPU seconds")
    return 0


if __name__ == "__main__":
    sys.exit(main())
