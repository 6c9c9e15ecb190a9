"""The whole spiking-vs-standard attention table: 2 tasks x 6 variants x 3 seeds.

    python benchmarks/ml.py [--tasks digits,recall] [--seeds 3] [--attention ...]
                            [--workers 2] [--out DIR] [--force]

Runs ``neuroattn ml`` (:func:`neuroattn.ml.run_ml`) for each task with the settings of
:func:`neuroattn.ml.default_run` (the ones docs/ml.md quotes), prints each table, the
issue's targets as PASS/MISS, and the time budget: the whole table within 30 minutes
on 2 cores, judged on the wall time of this run (start to end, both tasks). With
``--workers 2`` (the default) two (variant, seed) cells train side by side, one torch
thread each. The load average before and after is printed: on a shared machine other
loads lengthen the wall time, and the line says so. The CPU seconds of every (task,
variant, seed) cell are printed too (training, testing, counting, the bridge's
time-step sweep; summed over threads), with CPU s / 2 as what two idle cores would
need at best; with fewer seeds than 3 the time is extrapolated per (task, variant)
from the mean over the seeds run, and the line says so.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BUDGET_S = 30 * 60
FULL_SEEDS = 3


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tasks", default="digits,recall")
    p.add_argument("--attention", default="torch,softmax,local,hard,spiking,bridge")
    p.add_argument("--seeds", type=int, default=FULL_SEEDS)
    p.add_argument("--workers", type=int, default=2,
                   help="cells trained side by side (processes of cores/workers threads)")
    p.add_argument("--out", default=str(ROOT / "results" / "benchmarks"))
    p.add_argument("--force", action="store_true", help="rerun runs found in the store")
    args = p.parse_args(argv)

    import os

    from neuroattn.ml import default_run, format_bridge, format_table, run_ml

    load0 = os.getloadavg()
    cpu_total, projected, wall0 = 0.0, 0.0, time.perf_counter()
    misses, cells, stored = 0, [], []
    for task in args.tasks.split(","):
        run = default_run(task, args.attention, args.seeds)
        res = run_ml(run, args.out, force=args.force, progress=True, workers=args.workers)
        col = "cpu_s" if "cpu_s" in res.table else "train_cpu_s"
        cpu = float(res.table[col].sum())   # each cell's CPU time, measured where it ran
        stored.append(res)
        cpu_total += cpu
        projected += cpu * FULL_SEEDS / args.seeds
        cells += [(task, r["variant"], int(r["seed"]), float(r[col]),
                   int(r["epochs"]) if "epochs" in r else None)
                  for r in res.table.to_dict("records")]
        print(f"\n=== {task} ({', '.join(run.attention)}; {args.seeds} seeds; "
              f"{'from the store' if res.from_store else f'{cpu:.0f} CPU s'})\n")
        print(format_table(res.summary))
        bridge = format_bridge(res.summary)
        if bridge:
            print(f"\nbridge (row above at {run.bridge_steps} steps):\n{bridge}")
        misses += sum(not t["pass"] for t in res.summary["targets"])
        print(f"\nstored: {res.path}")
    wall = time.perf_counter() - wall0
    print("\nCPU seconds per (task, variant, seed) cell (training + test + counting):\n")
    print("| task | variant | " + " | ".join(f"seed {s}" for s in range(args.seeds))
          + " | epochs | projected for 3 seeds |")
    print("|---|---|" + "---|" * args.seeds + "---|---|")
    for task in args.tasks.split(","):
        for variant in args.attention.split(","):
            mine = [c for c in cells if c[0] == task and c[1] == variant]
            if not mine:
                continue
            cpu = [c[3] for c in sorted(mine, key=lambda c: c[2])]
            ep = "/".join("-" if c[4] is None else str(c[4]) for c in mine)
            print(f"| {task} | {variant} | " + " | ".join(f"{c:.0f}" for c in cpu)
                  + f" | {ep} | {sum(cpu) * FULL_SEEDS / len(cpu):.0f} |")
    two_core = projected / 2
    note = "" if args.seeds == FULL_SEEDS else f"extrapolated from {args.seeds} seed(s); "
    ran = len(args.attention.split(",")) * len(args.tasks.split(","))
    if ran < 12:
        note += f"only {ran} of the 12 (task, variant) cells ran; "
    load1 = os.getloadavg()
    whole = ran == 12 and args.seeds == FULL_SEEDS and not any(
        r.from_store for r in stored)
    verdict = ("PASS" if wall <= BUDGET_S else "MISS") if whole else "n/a "
    print(f"\n{verdict}  whole table within 30 min on 2 cores: {wall / 60:.1f} min wall "
          f"with {args.workers} worker(s) ({'' if whole else 'not the whole table: '}{note}"
          f"load average {load0[0]:.1f} before, {load1[0]:.1f} after, on {os.cpu_count()} "
          f"cores); the cells' CPU time: {cpu_total:.0f} s, i.e. {two_core / 60:.1f} min "
          f"on 2 idle cores at best")
    return 0 if misses == 0 and verdict != "MISS" else 1


if __name__ == "__main__":
    raise SystemExit(main())
