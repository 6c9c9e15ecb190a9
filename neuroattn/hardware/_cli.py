"""``neuroattn hw``: NIR export and import, core mapping, energy and fixed-point reports.

    neuroattn hw export MODEL OUT.nir [--task TASK] [--noise refuse|metadata] [--dt S]
    neuroattn hw import IN.nir [--duration S] [--input V] [--backend B]
    neuroattn hw map MODEL --platform NAME [--task TASK] [--trials N] [--seed S]
    neuroattn hw energy TASK --mechanism M [--trials N] [--seed S] [--backend B] [--out DIR]
    neuroattn hw quantize TASK --mechanism M [--bits 4,6,8,16] [--trials N] [--seed S] [--state]

MODEL is a model file (models/NAME.toml) or a mechanism's name. This module imports
only argparse at import time; the handlers import what they use.
"""

from __future__ import annotations

__all__ = ["add_hw_parser", "hw_command"]


def add_hw_parser(sub, parser_class, int_type) -> None:
    """Add the ``hw`` command group to ``sub`` (argparse subparsers)."""
    hw = sub.add_parser("hw", help="neuromorphic prototyping: NIR export/import, core mapping, "
                        "operation and energy counts, fixed-point networks")
    cmd = hw.add_subparsers(dest="hw_command", required=True, parser_class=parser_class)

    def model_args(sp):
        sp.add_argument("model", help="a model file (models/NAME.toml) or a mechanism name")
        sp.add_argument("--task", default="posner",
                        help="the task whose spec builds a mechanism's network (default posner)")

    ex = cmd.add_parser("export", help="write a model's spiking network as a NIR graph")
    model_args(ex)
    ex.add_argument("out", help="output file (.nir, HDF5)")
    ex.add_argument("--noise", default="refuse", choices=("refuse", "metadata"),
                    help="membrane noise: refuse (default) or keep it in node metadata")
    ex.add_argument("--dt", type=float, default=1e-4, help="step in seconds (default 1e-4)")
    im = cmd.add_parser("import", help="read a NIR graph into a network and run it")
    im.add_argument("path", help="a NIR file")
    im.add_argument("--duration", type=float, default=0.5, help="seconds (default 0.5)")
    im.add_argument("--input", type=float, default=0.0,
                    help="constant value of every input column (default 0)")
    im.add_argument("--backend", default="numba", help="spiking backend (default numba)")
    mp = cmd.add_parser("map", help="partition a model's network onto a platform's cores")
    model_args(mp)
    mp.add_argument("--platform", required=True, help="loihi2, truenorth, spinnaker2, speck "
                    "or xylo")
    mp.add_argument("--trials", type=int_type("--trials"), default=4,
                    help="task trials for the spike traffic (default 4)")
    mp.add_argument("--seed", type=int_type("--seed"), default=0)
    mp.add_argument("--partitioner", default="auto", help="auto, metis or kernighan-lin")
    en = cmd.add_parser("energy", help="operations and energy of both tiers on a task")
    en.add_argument("task")
    en.add_argument("--mechanism", default="biased-competition")
    en.add_argument("--trials", type=int_type("--trials"), default=20)
    en.add_argument("--seed", type=int_type("--seed"), default=0)
    en.add_argument("--backend", default="numba")
    en.add_argument("--out", default="results/hw", help="directory of the figure and table")
    qu = cmd.add_parser("quantize", help="the task's effects with n-bit weights against float")
    qu.add_argument("task")
    qu.add_argument("--mechanism", default="biased-competition")
    qu.add_argument("--bits", default="4,6,8,16", help="comma-separated bit widths")
    qu.add_argument("--trials", type=int_type("--trials"), default=40)
    qu.add_argument("--seed", type=int_type("--seed"), default=0)
    qu.add_argument("--backend", default="numba")
    qu.add_argument("--state", action="store_true",
                    help="also hold potentials and synaptic currents on an n-bit grid")


def _model(name: str, task: str):
    """(network, drives, readout populations) of a model file or mechanism name."""
    import os

    from neuroattn.exceptions import ValidationError
    from neuroattn.mechanisms import MECHANISMS, get_mechanism

    params = {}
    if os.path.exists(name):
        from neuroattn.study.models import load_model

        mf = load_model(name)
        if mf.kind == "network":
            return mf.network(), (), None
        mech, params = get_mechanism(mf.target), dict(mf.parameters)
    elif name in MECHANISMS:
        mech = get_mechanism(name)
    else:
        raise ValidationError(f"MODEL: no such file and no mechanism {name!r}; expected a "
                              f"models/NAME.toml file or one of {sorted(MECHANISMS)}")
    from neuroattn.tasks import get_task

    spec = get_task(task)().spec()
    model = mech.spiking(spec, **mech.resolve(**params))
    return model.network, model.drives, (mech, spec, params)


def _export(args) -> int:
    from neuroattn.hardware.nir_io import export_nir, write_nir

    net, drives, _ = _model(args.model, args.task)
    graph = export_nir(net, drives, args.dt, noise=args.noise)
    write_nir(graph, args.out)
    kinds = {}
    for node in graph.nodes.values():
        kinds[type(node).__name__] = kinds.get(type(node).__name__, 0) + 1
    print(f"wrote {args.out}: {net!r} as {len(graph.nodes)} NIR nodes "
          f"({', '.join(f'{v} {k}' for k, v in sorted(kinds.items()))}), dt = {args.dt:g} s")
    return 0


def _import(args) -> int:
    import numpy as np

    from neuroattn.backends import simulate
    from neuroattn.hardware.nir_io import import_nir

    imp = import_nir(args.path)
    print(f"{imp.network!r}, dt = {imp.dt:g} s, inputs: {list(imp.channels) or 'none'}")
    for note in imp.notes:
        print(f"  note: {note}")
    steps = int(round(args.duration / imp.dt))
    stim = imp.stimulus(np.full((steps, len(imp.channels)), args.input)) if imp.channels else None
    rec = simulate(imp.network, stim, duration=args.duration, dt=imp.dt, backend=args.backend)
    print(f"{'population':<20}{'neurons':>8}{'rate (Hz)':>12}")
    for p in imp.network.populations:
        n = len(rec.spikes[0][p.name][0])
        print(f"{p.name:<20}{p.size:>8}{n / (p.size * args.duration):>12.2f}")
    return 0


def _map(args) -> int:
    from neuroattn.hardware.mapping import check_mapping, map_network

    net, drives, mech = _model(args.model, args.task)
    m = map_network(net, args.platform, args.partitioner, seed=args.seed)
    p = m.platform
    print(f"{net!r} on {p.title} ({m.partitioner}): {m.n_cores} cores of {p.cores}")
    print(f"  neurons per core: max {m.neurons.max()} (limit {p.neurons_per_core})")
    if p.synapse_capacity is not None:
        print(f"  synapses per core: max {m.synapses.max()} (limit {p.synapse_capacity})")
    if p.axons_per_core is not None:
        print(f"  presynaptic axons per core: max {m.axons.max()} (limit {p.axons_per_core})")
    print(f"  fan-in: max {m.max_fan_in}" + (f" (limit {p.fan_in})" if p.fan_in else ""))
    print(f"  cut synapses: {m.cut_synapses} of {m.total_synapses}")
    print(f"  limits broken: {check_mapping(m) or 'none'}")
    if mech is not None:
        from neuroattn.hardware.ops import with_spike_probes
        from neuroattn.mechanisms.base import SpikingAgent, SpikingModel
        from neuroattn.tasks import get_task

        mechanism, spec, params = mech
        task = get_task(args.task)()
        spk = with_spike_probes(net)
        model = mechanism.spiking(spec, **mechanism.resolve(**params))
        agent = SpikingAgent(SpikingModel(spk, drives, model.readout), spec, "numba")
        rec = task.run(agent, task.make_trials(args.trials, seed=args.seed))
        t = m.traffic(spk, rec)
        print(f"  inter-core traffic on {args.task} ({args.trials} trials): "
              f"{t['packets_per_s']:.0f} packets/s, {t['cut_events_per_s']:.0f} cut synaptic "
              f"events/s, {t['spikes_per_s']:.0f} spikes/s")
    return 0


def _energy(args) -> int:
    import os

    from neuroattn.hardware.report import task_energy

    r = task_energy(args.task, args.mechanism, args.trials, args.seed, args.backend)
    rows = r["rows"]
    print(f"{args.mechanism} on {args.task}: operations and energy per trial "
          f"({args.trials} trials, seed {args.seed}, {args.backend})")
    print(f"{'tier':<9}{'pricing':<34}{'synops':>12}{'neuron upd':>12}{'MACs':>10}"
          f"{'energy (nJ)':>14}")
    for row in rows:
        print(f"{row['model']:<9}{row['pricing']:<34}{row['synops']:>12.0f}"
              f"{row['neuron_updates']:>12.0f}{row['macs']:>10.0f}{row['energy_j'] * 1e9:>14.3f}")
    print(f"note: {r['caveat']}")
    os.makedirs(args.out, exist_ok=True)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.2))
    labels = [f"{row['model']}\n{row['pricing']}" for row in rows]
    ax.barh(labels, [row["energy_j"] * 1e9 for row in rows],
            color=["C0" if row["model"] == "spiking" else "C1" for row in rows])
    ax.set_xscale("log")
    ax.set_xlabel("energy per trial (nJ; memory access excluded)")
    ax.set_title(f"{args.mechanism} on {args.task}")
    fig.tight_layout()
    path = os.path.join(args.out, f"energy_{args.task}_{args.mechanism}.png")
    fig.savefig(path, dpi=120)
    plt.close(fig)
    print(f"figure: {path}")
    return 0


def _quantize(args) -> int:
    from neuroattn.exceptions import ValidationError
    from neuroattn.hardware.report import quantization_report

    try:
        bits = tuple(int(b) for b in args.bits.split(","))
    except ValueError:
        raise ValidationError(f"--bits: expected comma-separated integers such as 4,6,8,16 "
                              f"(got {args.bits!r})") from None
    rows = quantization_report(args.task, args.mechanism, bits, args.trials, args.seed,
                               args.backend, state=args.state)
    effects = [k for k in rows[0] if k not in ("bits", "state_bits", "rate", "js_vs_float",
                                               "js_vs_softmax", "choice_agreement")]
    print(f"{'weights':<9}{'state':<9}{'rate (Hz)':>10}{'JS vs float':>12}{'JS vs softmax':>14}"
          f"{'choices':>9}  " + "  ".join(effects))
    for row in rows:
        name = "float64" if row["bits"] is None else f"{row['bits']}-bit"
        st = "float64" if row["state_bits"] is None else f"{row['state_bits']}-bit"
        vals = "  ".join(f"{row[e][0]:.4g}" for e in effects)
        agree = row.get("choice_agreement", float("nan"))
        print(f"{name:<9}{st:<9}{row['rate']:>10.1f}{row['js_vs_float']:>12.2e}"
              f"{row['js_vs_softmax']:>14.2e}{agree:>9.3f}  {vals}")
    return 0


def hw_command(args) -> int:
    """Run ``neuroattn hw ...``; returns the exit status."""
    handlers = {"export": _export, "import": _import, "map": _map, "energy": _energy,
                "quantize": _quantize}
    return handlers[args.hw_command](args)
