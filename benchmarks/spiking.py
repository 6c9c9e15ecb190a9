"""Spiking engines against Brian2: one run, one table, targets marked PASS/MISS.

    python benchmarks/spiking.py [--quick] [--brian2-numpy] [--engines numba,torch,...]

Two cases, every engine in a fresh subprocess (its own imports, JIT caches and peak
memory):

- ``cuba``: the CUBA network (``neuroattn.model.library.cuba``, 4000 LIF, p = 0.02),
  1 s at dt = 0.1 ms, one trial. Brian2 with the numpy and cython targets through the
  brian2 backend, each timed on its second run in the process (the first builds the
  equations and, for cython, compiles); Brian2 cpp_standalone directly (the backend
  does not run it) on the backend's own objects, with code generation + compilation
  ("build") and the binary's run timed apart; numba and torch (CPU) through
  ``simulate``, timed warm (JIT cache loaded). "total" includes building the network
  (drawing the connectivity); numba's "run" is a second ``simulate`` of the same
  Network object, whose connectivity the engine has cached.
- ``posner``: a Posner cueing experiment end to end (``Posner.make_trials`` ->
  ``SpikingAgent.run`` -> ``Posner.score``): 256 trials of a biased-competition
  circuit of 500 noisy LIF neurons (4 locations x 100 E + 100 I, ``LIFCircuit``), 0.5 s
  at dt = 0.1 ms, the trials side by side (block-diagonal). Brian2 cython (backend,
  warm; it splits the trials into networks of at most about 2 million neurons +
  synapses) and cpp_standalone (direct, all trials in one network); numba; torch
  (CPU). Brian2 numpy only with ``--brian2-numpy`` (slowest). The exit status is 1 if
  an engine failed (``--engines ...,torch-cuda`` on a GPU machine: see gpu_check.sh).

Targets: CUBA on numba (run) <= Brian2 cpp_standalone's run (build excluded) and
<= 0.2 s per simulated second; Posner end to end on numba >= 20x faster than Brian2's
best mode (cython or cpp_standalone, including its build). cpp_standalone runs twice,
the second time with the compiler's output of the first in place (its "build" is then
mostly code generation); the table shows the second run and the first run's build.
Brian2 runs single-threaded (no OpenMP), numba on all cores.

Numba's timed parts are repeated three times and the median is shown (its runs take
about a second, short enough for other processes on a shared machine to distort one).

Peak memory: the worker's resident high-water mark (``ru_maxrss``: imports included;
for cpp_standalone also its children, the compiler and the binary), and the growth of
the resident set during the timed part ("extra": high-water mark minus the size
before it). ``--quick``: 0.2 s of CUBA and 32 Posner trials (a smoke test; the targets
are for the full sizes).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

from _memory import rss_kib

DT = 1e-4
CUBA_N = 4000
POSNER_K, POSNER_EXC, POSNER_INH, POSNER_SOA = 4, 100, 100, 0.1  # 0.5 s trials
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "neuroattn-bench"
WORKER_TIMEOUT = 900
NUMBA_REPEATS = 3  # numba's runs are short: report the median of three


# ----------------------------------------------------------------------------- workers
def _sizes(quick: bool):
    return (0.2 if quick else 1.0), (32 if quick else 256)


def _timed(fn):
    """(result, seconds, peak extra bytes) of fn().

    Peak extra memory: the resident high-water mark during fn() minus the resident size
    before it (Linux: /proc/self/clear_refs resets the mark). tracemalloc is not used:
    it slows Python-heavy code (Brian2's code generation) tens of times.
    """
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        before = rss_kib("VmRSS:")
    except OSError:
        before = None
    t0 = time.perf_counter()
    out = fn()
    seconds = time.perf_counter() - t0
    extra = float("nan") if before is None else (rss_kib("VmHWM:") - before) * 1024.0
    return out, seconds, extra


def _timed_median(fn, repeats: int):
    """``_timed`` repeated: (last result, median seconds, largest extra bytes)."""
    runs = [_timed(fn) for _ in range(repeats)]
    seconds = sorted(r[1] for r in runs)[len(runs) // 2]
    return runs[-1][0], seconds, max(r[2] for r in runs)


def _standalone(net_spec, directory: Path):
    """Build and run ``net_spec`` (a RunSpec) with Brian2 cpp_standalone; collect it.

    Returns (built objects, seconds to create them, build seconds, run seconds).
    """
    from neuroattn.backends.brian2_backend._build import build
    from neuroattn.neurons.brian2_eqs import quiet_brian2

    with quiet_brian2():
        import brian2 as b2

        directory.mkdir(parents=True, exist_ok=True)
        b2.set_device("cpp_standalone", build_on_run=False, directory=str(directory))
        b2.seed(net_spec.seed)
        t0 = time.perf_counter()
        built = build(net_spec, range(net_spec.trials), b2)
        built.network.run(net_spec.n_steps * net_spec.dt * b2.second)
        t1 = time.perf_counter()
        b2.device.build(directory=str(directory), compile=True, run=False, with_output=False)
        t2 = time.perf_counter()
        b2.device.run(directory=str(directory), with_output=False)
        t3 = time.perf_counter()
    return built, t1 - t0, t2 - t1, t3 - t2


def _standalone_recording(spec, built, directory: Path):
    """The Recording of a standalone run; its result files are deleted after reading
    (the compiled code stays, for the next run's build)."""
    from neuroattn.backends.brian2_backend import _recording
    from neuroattn.backends.brian2_backend._record import collect

    rec = _recording(spec, [collect(spec, built)], spec.trials, "cpp_standalone", "exact")
    shutil.rmtree(directory / "results", ignore_errors=True)
    return rec


def worker_cuba(engine: str, quick: bool) -> dict:
    from neuroattn.backends import check_run, simulate
    from neuroattn.model.library import cuba

    duration, _ = _sizes(quick)
    out = {"case": "cuba", "engine": engine, "sim_seconds": duration}
    if engine == "brian2-standalone":
        spec = check_run(cuba(CUBA_N, seed=0), None, duration, DT, 0, 1)
        (built, make, build, run), total, peak = _timed(
            lambda: _standalone(spec, CACHE / "cuba_standalone"))
        rec = _standalone_recording(spec, built, CACHE / "cuba_standalone")
        out.update(total=total, build=build, run=run, objects=make)
    else:
        name, opts = _engine(engine)
        simulate(cuba(400, seed=1), duration=0.01, dt=DT, backend=name, **opts)  # warm-up
        net = cuba(CUBA_N, seed=0)
        rec, total, peak = _timed(lambda: simulate(net, duration=duration, dt=DT, seed=0,
                                                   backend=name, **opts))
        out.update(total=total)
        if engine == "numba":
            rec, run, _ = _timed_median(lambda: simulate(net, duration=duration, dt=DT, seed=0,
                                                         backend=name, **opts), NUMBA_REPEATS)
            out.update(run=run)
    out["rate_hz"] = float(rec.rates.mean())
    out["extra_mb"] = peak / 2**20
    return out


def worker_posner(engine: str, quick: bool) -> dict:
    import numba
    import numpy as np

    from neuroattn.backends import check_run
    from neuroattn.mechanisms import SpikingAgent
    from neuroattn.mechanisms.biased_competition import LIFCircuit
    from neuroattn.model import Recording, Stimulus
    from neuroattn.tasks import Posner

    _, n_trials = _sizes(quick)
    task = Posner(k=POSNER_K, soa=POSNER_SOA)
    circuit = LIFCircuit(k=POSNER_K, n_exc=POSNER_EXC, n_inh=POSNER_INH)
    model = circuit.spiking_model(task.spec())
    out = {"case": "posner", "engine": engine, "trials": n_trials,
           "sim_seconds": task.duration}
    if engine == "brian2-standalone":
        def experiment():
            trials = task.make_trials(n_trials, seed=0)
            stim = Stimulus(np.asarray(trials.stimulus, dtype=np.float64), trials.dt,
                            model.drives)
            spec = check_run(model.network, stim, None, DT, trials.seed, None)
            built, make, build, run = _standalone(spec, CACHE / "posner_standalone")
            rec = _standalone_recording(spec, built, CACHE / "posner_standalone")
            names = task.spec().unit_names()
            rec = Recording(rec.rates, rec.bin_width, names["items"], meta=rec.meta, roles=names)
            return task.score(trials, rec), make, build, run

        (result, make, build, run), total, peak = _timed(experiment)
        out.update(objects=make, build=build, run=run)
    else:
        name, opts = _engine(engine)
        agent = SpikingAgent(model, task.spec(), name, DT, "biased-competition", **opts)
        # warm-up (JIT cache, cython compile) with two trials per numba thread, so that
        # numba compiles or loads the stages of a batch, which the timed run uses
        agent.run(task.make_trials(2 * numba.get_num_threads(), seed=1))

        def experiment():
            trials = task.make_trials(n_trials, seed=0)
            return task.score(trials, agent.run(trials))

        repeats = NUMBA_REPEATS if engine == "numba" else 1
        result, total, peak = _timed_median(experiment, repeats)
    out.update(total=total, extra_mb=peak / 2**20)
    table = result.table
    out["accuracy"] = float(table["correct"].mean())
    out["rt_valid_ms"] = 1e3 * float(table.loc[table["condition"] == "valid", "rt"].mean())
    return out


def _engine(engine: str):
    """Backend name and options of an engine label."""
    return {"brian2-numpy": ("brian2", {"target": "numpy"}),
            "brian2-cython": ("brian2", {"target": "cython"}),
            "numba": ("numba", {}),
            "torch": ("torch", {"device": "cpu"}),
            "torch-cuda": ("torch", {"device": "cuda"})}[engine]


def run_worker(case: str, engine: str, quick: bool) -> None:
    out = (worker_cuba if case == "cuba" else worker_posner)(engine, quick)
    self_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    out.update(rss_mb=self_rss, child_rss_mb=child_rss)
    print("RESULT " + json.dumps(out), flush=True)


# ------------------------------------------------------------------------------ driver
def _spawn(case: str, engine: str, quick: bool) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", case, engine]
    if quick:
        cmd.append("--quick")
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=WORKER_TIMEOUT)
    except subprocess.TimeoutExpired:
        return {"case": case, "engine": engine, "error": f"timeout {WORKER_TIMEOUT} s"}
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            out = json.loads(line[7:])
            out["process"] = time.perf_counter() - t0
            return out
    tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
    return {"case": case, "engine": engine, "error": tail[0][:100]}


def _fmt(x, digits=3):
    return "-" if x is None else f"{x:.{digits}f}"


def _available(name: str) -> bool:
    from neuroattn.backends import available_backends

    return available_backends().get(name) is None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="0.2 s CUBA, 32 Posner trials")
    ap.add_argument("--brian2-numpy", action="store_true",
                    help="also run the Posner experiment on Brian2's numpy target")
    ap.add_argument("--engines", help="comma-separated subset of: brian2-numpy, "
                    "brian2-cython, brian2-standalone, numba, torch, torch-cuda")
    ap.add_argument("--worker", nargs=2, metavar=("CASE", "ENGINE"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        run_worker(*args.worker, args.quick)
        return 0

    import numba

    print(f"neuroattn spiking benchmark -- {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores, numba {numba.__version__} "
          f"({numba.get_num_threads()} threads), python {platform.python_version()}"
          f"{'  [--quick]' if args.quick else ''}")
    torch_ok = _available("torch")
    cuba_engines = ["brian2-numpy", "brian2-cython", "brian2-standalone", "numba"]
    posner_engines = (["brian2-numpy"] if args.brian2_numpy else []) + [
        "brian2-cython", "brian2-standalone", "numba"]
    if torch_ok:
        cuba_engines.append("torch")
        posner_engines.append("torch")
    if args.engines:
        wanted = args.engines.split(",")
        cuba_engines = [e for e in wanted if e in cuba_engines + ["torch-cuda"]]
        posner_engines = [e for e in wanted if e in posner_engines + ["torch-cuda",
                                                                      "brian2-numpy"]]
    results = {}
    for case, engines in (("cuba", cuba_engines), ("posner", posner_engines)):
        for engine in engines:
            print(f"  running {case} / {engine} ...", flush=True)
            results[case, engine] = _spawn(case, engine, args.quick)
            if engine == "brian2-standalone" and "error" not in results[case, engine]:
                first_build = results[case, engine]["build"]  # compiled from scratch?
                results[case, engine] = _spawn(case, engine, args.quick)  # warm build cache
                results[case, engine]["first_build"] = first_build
    _report(results, args.quick)
    return 1 if any("error" in r for r in results.values()) else 0


def _rss(engine: str, r: dict) -> float:
    return r["rss_mb"] if engine != "brian2-standalone" else max(r["rss_mb"], r["child_rss_mb"])


def _table(results: dict, case: str, header: str, cells) -> None:
    """Print one case's rows: the engine, then ``cells(r)``, then memory."""
    print(header)
    for (c, engine), r in results.items():
        if c != case:
            continue
        if "error" in r:
            print(f"{engine:20s}  failed: {r['error']}")
            continue
        print(f"{engine:20s}{cells(r)}{_rss(engine, r):9.0f}{r['extra_mb']:10.1f}")


def _report(results: dict, quick: bool) -> None:
    duration, n_trials = _sizes(quick)
    _table(results, "cuba",
           f"\nCUBA {CUBA_N} LIF x {duration:g} s (dt 0.1 ms, 1 trial); seconds\n"
           f"{'engine':20s}{'total':>9s}{'build':>9s}{'run':>9s}{'rate Hz':>9s}"
           f"{'RSS MB':>9s}{'extra MB':>10s}",
           lambda r: f"{_fmt(r['total']):>9s}{_fmt(r.get('build')):>9s}"
                     f"{_fmt(r.get('run')):>9s}{r['rate_hz']:9.2f}")
    _table(results, "posner",
           f"\nPosner, {n_trials} trials x 500 noisy LIF x 0.5 s, end to end; seconds\n"
           f"{'engine':20s}{'total':>9s}{'build':>9s}{'run':>9s}{'accuracy':>9s}"
           f"{'RT ms':>8s}{'RSS MB':>9s}{'extra MB':>10s}",
           lambda r: f"{_fmt(r['total'], 2):>9s}{_fmt(r.get('build'), 2):>9s}"
                     f"{_fmt(r.get('run'), 2):>9s}{r['accuracy']:9.3f}{r['rt_valid_ms']:8.1f}")
    for case in ("cuba", "posner"):
        r = results.get((case, "brian2-standalone"), {})
        if "first_build" in r:
            print(f"(brian2-standalone, {case}: the first build took {r['first_build']:.1f} s)")
    print("\nTargets")
    cuba_nb = results.get(("cuba", "numba"), {})
    cuba_sa = results.get(("cuba", "brian2-standalone"), {})
    if "run" in cuba_nb and "run" in cuba_sa:
        ok = cuba_nb["run"] <= cuba_sa["run"]
        print(f"  CUBA numba run {cuba_nb['run']:.3f} s <= Brian2 cpp_standalone run "
              f"{cuba_sa['run']:.3f} s: {'PASS' if ok else 'MISS'}")
        per = cuba_nb["run"] / duration
        print(f"  CUBA numba {per:.3f} s per simulated second <= 0.2: "
              f"{'PASS' if per <= 0.2 else 'MISS'}")
    best = [(r["total"], e) for (c, e), r in results.items()
            if c == "posner" and e.startswith("brian2") and "total" in r]
    nb = results.get(("posner", "numba"), {})
    if best and "total" in nb:
        t_best, e_best = min(best)
        ratio = t_best / nb["total"]
        print(f"  Posner numba {nb['total']:.2f} s vs best Brian2 ({e_best}) {t_best:.2f} s: "
              f"{ratio:.1f}x >= 20x: {'PASS' if ratio >= 20 else 'MISS'}"
              f"{'  (quick sizes)' if quick else ''}")


if __name__ == "__main__":
    sys.exit(main())
