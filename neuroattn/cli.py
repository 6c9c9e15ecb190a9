"""The ``neuroattn`` command.

    neuroattn list
    neuroattn run TASK --mechanism M --tier spiking|softmax --backend B --trials N --seed S --out DIR [--figure]
    neuroattn compare TASK --mechanism M [--backend B --trials N --seed S --out DIR]
    neuroattn run|compare TASK --config FILE --set name=value [--set ...] [--vary name=[v1,v2,...]]
    neuroattn sweep SPEC [--workers N | --scheduler tcp://HOST:PORT] [--trials N --seed S --set ...]
    neuroattn experiment SPEC [same options]
    neuroattn demo
    neuroattn compile
    neuroattn ml TASK --attention NAME[,NAME...] --seeds N
    neuroattn hw export|import|map|energy|quantize ...   (neuromorphic prototyping)

Bad input exits with status 2 and one line on stderr; a failed simulation with 1.
"""

from __future__ import annotations

import argparse
import sys
import time

from neuroattn.exceptions import BackendUnavailable, NeuroAttnError, ValidationError

__all__ = ["main", "build_parser", "entry"]


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors are one line and exit status 2."""

    def error(self, message):  # noqa: D401 - argparse's hook
        self.exit(2, f"neuroattn: error: {message}\n")


def _int(name):
    def parse(text):
        try:
            return int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name}: expected an integer (got {text!r})") \
                from None
    return parse


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for documentation and tests)."""
    from neuroattn.backends import BACKENDS
    from neuroattn.mechanisms import MECHANISMS
    from neuroattn.tasks import TASKS

    p = _Parser(prog="neuroattn", description="Biologically inspired attention: spiking "
                "networks and their softmax counterparts on cognitive-science tasks.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    lst = sub.add_parser("list", help="mechanisms, tasks and backends (and why one is unavailable)")
    lst.add_argument("--check", action="store_true", help="import each backend to check that it "
                     "loads (slow); by default only checks that its packages are installed")

    def common(sp, trials_default):
        sp.add_argument("task", help=f"one of {sorted(TASKS)}")
        sp.add_argument("--mechanism", default=None,
                        help=f"one of {sorted(MECHANISMS)} (default: the --model's mechanism, "
                        f"else biased-competition)")
        sp.add_argument("--model", default=None, metavar="FILE",
                        help="a model file (models/NAME.toml): the mechanism's parameters")
        sp.add_argument("--backend", default=None,
                        help=f"spiking backend, one of {sorted(BACKENDS)} (default brian2); "
                        f"with --tier softmax, the attention backend (default numba)")
        sp.add_argument("--trials", type=_int("--trials"), default=None,
                        help=f"number of trials (default {trials_default})")
        sp.add_argument("--seed", type=_int("--seed"), default=None, help="seed (default 0)")
        sp.add_argument("--config", default=None, metavar="FILE",
                        help="a TOML config (e.g. a run's config.toml); options and --set "
                        "override it")
        sp.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        dest="sets", help="set a task, mechanism or agent parameter; the value "
                        "is a TOML literal (--set validity=0.6, --set values=[0.8,0.4]); "
                        "repeatable; qualify ambiguous names (task.x, mechanism.x, agent.x)")
        sp.add_argument("--vary", default=None, metavar="NAME=[V1,V2,...]",
                        help="run once per value and print each effect per value with "
                        "Spearman's rho (e.g. --vary validity=[0.5,0.6,0.7,0.8,0.9])")
        sp.add_argument("--out", default="results", help="results directory (default results)")
        sp.add_argument("--force", action="store_true", help="rerun even if stored")
        sp.add_argument("--pdf", action="store_true", help="also write the figures as PDF")
        sp.add_argument("--no-progress", action="store_true", help="no progress bar")

    run = sub.add_parser("run", help="run a task with a mechanism at one tier")
    common(run, 100)
    run.add_argument("--tier", default=None, help="spiking or softmax (default spiking)")
    run.add_argument("--figure", action="store_true",
                     help="also draw the run's figure (figure.png; --pdf adds a PDF); "
                     "compare and experiment always draw theirs")
    cmp_ = sub.add_parser("compare", help="run a task at both tiers side by side")
    common(cmp_, 200)
    demo = sub.add_parser("demo", help="compare both tiers on Posner cueing and paired stimuli")
    demo.add_argument("--out", default="results", help="results directory (default results)")
    demo.add_argument("--force", action="store_true", help="rerun even if stored")
    for command, text in (("sweep", "run a spec's grid of cells (results store, resumable) "
                                     "and merge them"),
                          ("experiment", "run an experiment spec and write its figure "
                                         "(both tiers, published values marked)")):
        sp = sub.add_parser(command, help=text)
        sp.add_argument("spec", help="the spec file (e.g. experiments/posner-validity.toml)")
        sp.add_argument("--workers", type=_int("--workers"), default=1,
                        help="processes on this machine (default 1: this process)")
        sp.add_argument("--scheduler", default=None, metavar="tcp://HOST:PORT",
                        help="run the cells on a Dask distributed cluster instead")
        sp.add_argument("--trials", type=_int("--trials"), default=None,
                        help="trials per cell (default: the spec's)")
        sp.add_argument("--seed", type=_int("--seed"), default=None,
                        help="seed (default: the spec's)")
        sp.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        dest="sets", help="a fixed setting on top of the spec's [set]")
        sp.add_argument("--out", default="results", help="results directory (default results)")
        sp.add_argument("--force", action="store_true", help="rerun cells even if stored")
        sp.add_argument("--no-progress", action="store_true", help="no progress bar")
        if command == "sweep":
            sp.add_argument("--pdf", action="store_true", help="also write the figure as PDF")
    ml = sub.add_parser("ml", help="train a small transformer with each attention variant "
                        "(torch, softmax, local, hard, spiking, bridge) on a learning task; "
                        "accuracy beside operations and energy")
    ml.add_argument("task", help="digits or recall (associative recall)")
    ml.add_argument("--attention", default="torch,softmax,local,hard,spiking,bridge",
                    metavar="NAME[,NAME...]", help="attention variants (default: all six)")
    ml.add_argument("--seeds", type=_int("--seeds"), default=3,
                    help="number of seeds, 0..N-1 (default 3)")
    ml.add_argument("--epochs", type=_int("--epochs"), default=None,
                    help="training epochs (default: the task's, 40 digits, 12 recall)")
    ml.add_argument("--length", type=_int("--length"), default=None,
                    help="recall: sequence length (default 128)")
    ml.add_argument("--steps", type=_int("--steps"), default=None,
                    help="time steps of the bridge's spiking circuit in the table (default 32)")
    ml.add_argument("--device", default=None, help="cpu or cuda (default: cuda when present)")
    ml.add_argument("--workers", type=_int("--workers"), default=1,
                    help="CPU: train this many (variant, seed) cells side by side in "
                         "processes of cores/N torch threads each (default 1)")
    ml.add_argument("--out", default="results", help="results directory (default results)")
    ml.add_argument("--force", action="store_true", help="rerun even if stored")
    ml.add_argument("--no-progress", action="store_true", help="no progress bar")
    from neuroattn.hardware._cli import add_hw_parser

    add_hw_parser(sub, _Parser, _int)
    sub.add_parser("compile", help="compile the numba engine's kernel into numba's on-disk "
                   "cache, so that a new process starts simulating at once (make does this)")
    return p


def _list(check: bool = False) -> int:
    from neuroattn.backends import available_backends
    from neuroattn.mechanisms import MECHANISMS
    from neuroattn.tasks import TASKS

    print("mechanisms:")
    for name, mech in MECHANISMS.items():
        print(f"  {name:22s} {mech.summary}")
    print("tasks:")
    for name, cls in TASKS.items():
        print(f"  {name:22s} {(sys.modules[cls.__module__].__doc__ or '').strip().splitlines()[0]}")
    print("spiking backends:")
    for name, why in available_backends(import_modules=check).items():
        print(f"  {name:22s} {'available' if why is None else 'unavailable: ' + why}")
    print("attention backends:")
    try:
        from neuroattn.attention import available_backends as attention_backends
    except ImportError as exc:
        print(f"  (attention package unavailable: {exc})")
    else:
        for name, why in attention_backends(import_modules=check).items():
            print(f"  {name:22s} {'available' if why is None else 'unavailable: ' + why}")
    return 0


def _check_out(out: str) -> None:
    from neuroattn.study import check_writable

    check_writable(out)


def _configs(args, command: str) -> tuple[list, str | None, list]:
    """The resolved config(s) of a run or comparison; several with --vary."""
    from neuroattn.study.config import parse_set, read_config, resolve_config

    from neuroattn.study.models import load_model

    base = read_config(args.config) if args.config else None
    model = load_model(args.model) if getattr(args, "model", None) else None
    mechanism = args.mechanism or (model.target if model is not None and
                                   model.kind == "mechanism" else "biased-competition")
    tier = getattr(args, "tier", None)

    def one(extra=()):
        return resolve_config(command, args.task, mechanism, base, list(args.sets)
                              + list(extra), args.trials, args.seed, tier, args.backend, model)

    if not args.vary:
        return [one()], None, []
    name, values = parse_set(args.vary)
    if not isinstance(values, list) or len(values) < 2:
        raise ValidationError(f"--vary {name}: expected a list of at least two values, e.g. "
                              f"--vary {name}=[0.5,0.6,0.7] (got {values!r})")
    from neuroattn.study.store import toml_value

    return [one([f"{name}={toml_value(v)}"]) for v in values], name, values


def _execute(args, command: str, progress: bool = True, reporter: bool = False) -> int:
    from neuroattn.study.experiment import build, compare_tiers, run_series, run_task
    from neuroattn.study.report import format_compare, format_run, format_series

    configs, name, values = _configs(args, command)
    for c in configs:
        build(c)  # every config is checked before anything runs
    _check_out(args.out)
    t0 = time.perf_counter()
    fmt = format_compare if command == "compare" else format_run
    if name is None:
        if command == "compare":
            res = compare_tiers(configs[0], args.out, args.force, progress=progress,
                                formats=_formats(args))
        else:
            res = run_task(configs[0], args.out, args.force, progress=progress,
                           formats=_formats(args, command), reporter=reporter)
        print(fmt(res.summary))
        _footer(res, t0, command)
        return 0
    series = run_series(configs, name, values, command, args.out, args.force, progress,
                        _formats(args, command))
    for value, res in zip(values, series["outcomes"]):
        print(f"--- {name} = {value}\n")
        print(fmt(res.summary))
        _footer(res, t0, command)
        print()
    print(f"=== {args.task}: effects against {name}\n")
    print(format_series(series))
    return 0


def _formats(args, command: str = "compare") -> tuple:
    """The figure files a command writes: ``run`` draws its figure on request
    (``--figure`` or ``--pdf``; drawing it takes matplotlib's import and about 0.3 CPU s,
    as long as a 256-trial numba run simulates), ``compare`` and ``sweep`` always."""
    pdf = getattr(args, "pdf", False)
    if command == "run" and not (pdf or getattr(args, "figure", False)):
        return ()
    return ("png", "pdf") if pdf else ("png",)


def _run(args, reporter: bool = False) -> int:
    from neuroattn.study._startup import collection_relaxed

    with collection_relaxed():  # a run's imports make objects that live to its end
        return _execute(args, "run", progress=not args.no_progress, reporter=reporter)


def _footer(res, t0, command: str = "compare") -> None:
    where = "answered from the store (--force to rerun)" if res.from_store else "written"
    print(f"\nresults {where}: {res.path}  ({time.perf_counter() - t0:.1f} s)")
    figures = sorted(p.name for p in res.path.glob("*.png"))
    if figures:
        pdf = " (and PDF)" if any(res.path.glob("*.pdf")) else ""
        print(f"figures: {', '.join(figures)}{pdf}")
    elif command == "run":
        print("figure: not drawn (--figure draws it)")


def _compare(args, progress=True) -> int:
    from neuroattn.study._startup import collection_relaxed

    with collection_relaxed():  # see _run
        return _execute(args, "compare", progress=progress)


def _demo(args) -> int:
    ns = argparse.Namespace(mechanism="biased-competition", backend=None, seed=1, out=args.out,
                            force=args.force, config=None, sets=[], vary=None, pdf=False,
                            model=None)
    print("neuroattn demo: biased competition as a spiking circuit (Brian2) and as a softmax "
          "layer, on two classic paradigms.\n")
    ns.task, ns.trials = "posner", 200
    _compare(ns, progress=False)
    print("\n" + "=" * 78 + "\n")
    ns.task, ns.trials = "pair", 100
    _compare(ns, progress=False)
    return 0


def _sweep(args, experiment: bool) -> int:
    from neuroattn.study.sweep import (format_series_rows, format_sweep, read_spec,
                                       run_experiment, run_sweep)

    spec = read_spec(args.spec).with_overrides(args.trials, args.seed, args.sets)
    t0 = time.perf_counter()
    if experiment:
        res = run_experiment(spec, args.out, args.workers, args.scheduler, args.force,
                             progress=not args.no_progress)
    else:
        res = run_sweep(spec, args.out, args.workers, args.scheduler, args.force,
                        progress=not args.no_progress, formats=_formats(args))
    print(format_sweep(res))
    if experiment:
        rows = format_series_rows(res)
        if rows:
            print(f"\neffects against {spec.swept[0]} (Spearman rho):\n{rows}")
    print(f"\nmerged results: {res.path}  ({time.perf_counter() - t0:.1f} s)")
    figures = sorted(p.name for p in res.path.glob("*.png"))
    if figures:
        print(f"figures: {', '.join(figures)}")
    if res.failed:
        names = "; ".join(f"cell {c.index} ({c.label()})" for c, _ in res.failed)
        print(f"neuroattn: {len(res.failed)} of {len(res.cells)} cells failed: {names}",
              file=sys.stderr)
        return 1
    return 0


def _compile() -> int:
    from neuroattn.backends.numba._warm import compile_kernel

    done = compile_kernel()
    how = "loaded from the cache" if done.from_cache else "compiled"
    print(f"numba engine: kernel {how} in {done.seconds:.1f} s; cache: {done.cache_dir}")
    return 0


def main(argv=None, reporter: bool = False) -> int:
    """Entry point of the ``neuroattn`` command; returns the exit status.

    ``reporter``: let ``run`` score, draw and write in a forked reporter process while
    it simulates (``neuroattn.study._reporter``). The console script (:func:`entry`)
    does, being a process of its own with no threads but numpy's; a caller inside a
    larger program (a test, a notebook) runs everything in its own process by default.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "list":
            return _list(args.check)
        if args.command == "run":
            return _run(args, reporter)
        if args.command == "compare":
            return _compare(args, progress=not args.no_progress)
        if args.command == "compile":
            return _compile()
        if args.command == "hw":
            from neuroattn.hardware._cli import hw_command

            return hw_command(args)
        if args.command == "ml":
            from neuroattn.ml.cli import ml_command

            return ml_command(args)
        if args.command in ("sweep", "experiment"):
            return _sweep(args, args.command == "experiment")
        return _demo(args)
    except (ValidationError, BackendUnavailable) as exc:
        print(f"neuroattn: error: {exc}", file=sys.stderr)
        return 2
    except NeuroAttnError as exc:
        print(f"neuroattn: simulation failed: {exc}", file=sys.stderr)
        return 1
    except MemoryError as exc:
        print(f"neuroattn: out of memory: {exc or 'an allocation failed'}; run fewer trials "
              f"or a smaller network", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("neuroattn: interrupted; no partial results were written", file=sys.stderr)
        return 130


#: Settings the console script gives its process where the environment has none.
#: ``OPENBLAS_NUM_THREADS=1``: numpy's OpenBLAS starts a worker per core when numpy is
#: imported, and each worker spins for about 0.1 s before it sleeps; the command's work
#: runs on the engines' own threads (numba, torch) and on small arrays, so the pool only
#: took CPU from them -- about 0.1 CPU s of a 256-trial numba run, on a core the
#: simulation and the run's reporter were using (docs/engines.md, "Start-up").
CONSOLE_ENVIRONMENT = {"OPENBLAS_NUM_THREADS": "1"}


def console_environment() -> None:
    """Set :data:`CONSOLE_ENVIRONMENT` where the environment has no value of its own.

    Must run before numpy is imported (``neuroattn.cli`` imports no numpy); a user's own
    ``OPENBLAS_NUM_THREADS`` is kept.
    """
    import os

    for name, value in CONSOLE_ENVIRONMENT.items():
        os.environ.setdefault(name, value)


def entry() -> None:
    """The console script: ``main``, then leave without the interpreter's teardown.

    First the process's defaults (:func:`console_environment`). Once ``main`` has
    returned, every result is written, renamed into place and closed; what remains is
    Python's teardown (collecting thousands of modules, joining numba's thread pool),
    about half a second after a numba run, a sizeable part of a short one. Flush the
    standard streams and end the process with ``main``'s status instead.
    """
    import os

    console_environment()
    try:
        code = main(reporter=True)
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:  # `neuroattn list | head`: the reader left; say nothing more
        os._exit(1)
    os._exit(code)


if __name__ == "__main__":
    entry()
