"""Benchmark: the random-dot experiment on the Wang (2002) network, numba vs Brian2.

The full psychometric/chronometric experiment (6 coherences x ``--per-coherence`` trials,
reaction-time version, up to ``pre + max_time`` seconds of network time each) on the
Numba engine, then ``--brian2-trials`` of the same trials on Brian2 (cython target,
its fastest mode here); both timed in this run, the ratio is per simulated trial.

    python benchmarks/wang2002.py                       # 200 per coherence, N = 2000
    python benchmarks/wang2002.py --per-coherence 5 --brian2-trials 2   # a quick look

Prints a table (and --json writes it): wall time per engine, seconds per trial, the
ratio, and the task's effects (Weibull alpha/beta, RT ratio) from the numba run.
"""

from __future__ import annotations

import argparse
import json
import os
import time


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000, help="neurons (2000: published)")
    ap.add_argument("--per-coherence", type=int, default=200)
    ap.add_argument("--brian2-trials", type=int, default=20)
    ap.add_argument("--brian2-target", default="cython")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--max-time", type=float, default=2.0, help="longest viewing, s")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)

    from neuroattn.tasks.random_dots import RandomDots, Wang2002Agent

    task = RandomDots(max_time=args.max_time)
    n_trials = 6 * args.per_coherence
    trials = task.make_trials(n_trials, args.seed)
    out = {"n": args.n, "trials": n_trials, "sim_seconds_per_trial": task.pre + args.max_time,
           "threads": args.threads}
    # warm the compiled kernel once (cached on disk afterwards)
    Wang2002Agent(network={"n": args.n}, threads=1).run(task.make_trials(1, 99))
    t0 = time.perf_counter()
    rec = Wang2002Agent(network={"n": args.n}, threads=args.threads).run(trials, progress=True)
    out["numba_s"] = time.perf_counter() - t0
    out["numba_s_per_trial"] = out["numba_s"] / n_trials
    res = task.score(trials, rec, args.seed)
    out["effects"] = {e.name: [e.estimate, e.ci_low, e.ci_high, e.passed] for e in res.effects}
    out["summary"] = res.summary.to_dict("list")
    if args.brian2_trials > 0:
        from neuroattn.model import Trials

        k = args.brian2_trials
        sub = Trials(trials.stimulus[:k], trials.dt, trials.spec, trials.conditions.iloc[:k],
                     trials.seed, trials.task, {**trials.extra,
                                                "nondecision": trials.extra["nondecision"][:k]})
        agent = Wang2002Agent(network={"n": args.n}, backend="brian2",
                              target=args.brian2_target)
        agent.run(Trials(sub.stimulus[:1, :200], sub.dt, sub.spec, sub.conditions.iloc[:1],
                         sub.seed, sub.task, sub.extra))  # compile the generated code once
        t0 = time.perf_counter()
        agent.run(sub, progress=True)
        out["brian2_s"] = time.perf_counter() - t0
        out["brian2_s_per_trial"] = out["brian2_s"] / k
        out["ratio"] = out["brian2_s_per_trial"] / out["numba_s_per_trial"]
    print(f"Wang 2002, N = {args.n}, {n_trials} trials of {out['sim_seconds_per_trial']:.1f} s "
          f"({args.threads} threads)")
    print(f"  numba : {out['numba_s']:.1f} s total, {out['numba_s_per_trial']:.2f} s/trial")
    if "brian2_s" in out:
        print(f"  brian2 ({args.brian2_target}): {out['brian2_s']:.1f} s for {k} trials, "
              f"{out['brian2_s_per_trial']:.2f} s/trial")
        print(f"  ratio brian2/numba per trial: {out['ratio']:.1f}x (target >= 20x)")
    for name, (est, lo, hi, ok) in out["effects"].items():
        print(f"  {name:24s} {est:8.3f} [{lo:.3f}, {hi:.3f}] {'PASS' if ok else 'FAIL'}")
    if args.json:
        with open(args.json + ".tmp", "w") as fh:
            json.dump(out, fh, indent=1, default=float)
        os.replace(args.json + ".tmp", args.json)
    return out


if __name__ == "__main__":
    main()
