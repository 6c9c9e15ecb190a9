"""Benchmark: the random-dot experiment on the Wang (2002) network, numba vs Brian2.

The full psychometric/chronometric experiment (6 coherences x ``--per-coherence`` trials,
reaction-time version: each trial ends one bin after a pool crosses the task's threshold,
or after ``pre + max_time`` s) on the Numba engine; then the first ``--brian2-trials`` of
those trials on Brian2 (cython target, its fastest mode here) and on numba again, both
simulating the whole viewing period (Brian2 has no stop rule), timed in this run: the
ratio is per simulated trial on the same trials. Wall and CPU seconds are both printed
(the CPU seconds of this process: on a loaded machine they are the fairer measure).

    python benchmarks/wang2002.py                       # 200 per coherence, N = 2000
    python benchmarks/wang2002.py --per-coherence 5 --brian2-trials 2   # a quick look

Prints a table (and --json writes it): time per engine, seconds per trial, the ratio,
and the task's effects (Weibull alpha/beta, RT ratio, ...) from the full numba run.

Targets, judged on wall seconds (run it on an otherwise idle machine): the full
experiment within 5 minutes on 2 cores, and Brian2 / numba >= 20x on the same trials.
Wall time is what a user of this machine waits for; Brian2's cython target runs on one
core while numba uses ``--threads``, so the CPU-second ratio (also printed) is lower.
"""

from __future__ import annotations

import argparse
import json
import os
import time


class _Clock:
    """Wall and process CPU seconds of a block."""

    def __enter__(self):
        self.w0, self.c0 = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.w0
        self.cpu = time.process_time() - self.c0


def _subset(trials, k):
    from neuroattn.model import Trials

    extra = {**trials.extra, "nondecision": trials.extra["nondecision"][:k]}
    return Trials(trials.stimulus[:k], trials.dt, trials.spec, trials.conditions.iloc[:k],
                  trials.seed, trials.task, extra)


def main(argv=None):
    from neuroattn.tasks.random_dots import RandomDots, Wang2002Agent

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000, help="neurons (2000: published)")
    ap.add_argument("--per-coherence", type=int, default=200)
    ap.add_argument("--brian2-trials", type=int, default=20)
    ap.add_argument("--brian2-target", default="cython")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--max-time", type=float, default=2.0, help="longest viewing, s")
    ap.add_argument("--coherence-sd", type=float, default=RandomDots.coherence_sd,
                    help="SD of a trial's coherence around the nominal one, %% (0: Wang's "
                         "stimulus exactly)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)

    task = RandomDots(max_time=args.max_time, coherence_sd=args.coherence_sd)
    n_trials = 6 * args.per_coherence
    trials = task.make_trials(n_trials, args.seed)
    out = {"n": args.n, "trials": n_trials, "max_seconds_per_trial": task.pre + args.max_time,
           "threads": args.threads}
    net = {"n": args.n}
    # compile (or load) the kernel once
    Wang2002Agent(network=net, threads=1).run(task.make_trials(1, 99))
    with _Clock() as c:
        rec = Wang2002Agent(network=net, threads=args.threads).run(trials, progress=True)
    out.update(numba_s=c.wall, numba_cpu_s=c.cpu, numba_s_per_trial=c.wall / n_trials)
    res = task.score(trials, rec, args.seed)
    out["effects"] = {e.name: [e.estimate, e.ci_low, e.ci_high, e.passed] for e in res.effects}
    out["summary"] = res.summary.to_dict("list")
    if args.brian2_trials > 0:
        k = min(args.brian2_trials, n_trials)
        sub = _subset(trials, k)
        with _Clock() as c:
            Wang2002Agent(network=net, threads=args.threads, stop=False).run(sub)
        out.update(numba_full_s=c.wall, numba_full_cpu_s=c.cpu)
        agent = Wang2002Agent(network=net, backend="brian2", target=args.brian2_target)
        agent.run(_subset(task.make_trials(1, 99), 1))  # compile the generated code once
        with _Clock() as c:
            agent.run(sub, progress=True)
        out.update(brian2_s=c.wall, brian2_cpu_s=c.cpu, brian2_trials=k)
        out["ratio"] = out["brian2_s"] / out["numba_full_s"]
        out["ratio_cpu"] = out["brian2_cpu_s"] / out["numba_full_cpu_s"]
    print(f"Wang 2002, N = {args.n}, {n_trials} trials of at most "
          f"{out['max_seconds_per_trial']:.1f} s ({args.threads} threads)")
    budget = "PASS" if out["numba_s"] <= 300 else "MISS"
    print(f"  numba, full experiment (stop at commitment): {out['numba_s']:.1f} s wall "
          f"({out['numba_s'] / 60:.2f} min; target <= 5 min) {budget}, "
          f"{out['numba_cpu_s']:.1f} s CPU, {out['numba_s_per_trial']:.3f} s/trial")
    if "brian2_s" in out:
        print(f"  same {k} trials, whole viewing period:")
        print(f"    numba : {out['numba_full_s']:.1f} s wall, {out['numba_full_cpu_s']:.1f} s CPU")
        print(f"    brian2 ({args.brian2_target}): {out['brian2_s']:.1f} s wall, "
              f"{out['brian2_cpu_s']:.1f} s CPU")
        verdict = "PASS" if out["ratio"] >= 20 else "MISS"
        print(f"    ratio brian2/numba: {out['ratio']:.1f}x wall (target >= 20x) {verdict}; "
              f"{out['ratio_cpu']:.1f}x in CPU seconds (Brian2's cython target runs on one "
              f"core, numba on {args.threads})")
    for name, (est, lo, hi, ok) in out["effects"].items():
        print(f"  {name:24s} {est:8.3f} [{lo:.3f}, {hi:.3f}] {'PASS' if ok else 'FAIL'}")
    if args.json:
        with open(args.json + ".tmp", "w") as fh:
            json.dump(out, fh, indent=1, default=float)
        os.replace(args.json + ".tmp", args.json)
    return out


if __name__ == "__main__":
    main()
