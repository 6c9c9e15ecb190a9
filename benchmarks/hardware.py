"""Hardware workflow timings: NIR export/import, operation counting, core mapping.

    python benchmarks/hardware.py [--n 4000] [--repeats 3]

Rows (median wall time over the repeats) on the CUBA network of ``--n`` neurons:

- ``export_nir`` + ``nir.write`` and ``nir.read`` + ``import_nir``, against one
  simulated second of the same network on the numba engine. NIR stores a projection
  as a dense matrix and ``nir.write`` gzips it, so this grows with n_source x n_target,
  not with the synapse count;
- ``count_synops`` of that second against the simulation itself: it resolves every
  projection's connectivity once (``Projection.connections``), which costs about what
  the engine's own build does;
- ``map_network`` onto SpiNNaker2 with METIS against networkx's Kernighan-Lin
  bisection (METIS is the default; the ratio says why; target: METIS >= 5x faster at
  a cut no larger), with the cut synapses each leaves, both on a fifth of the network
  (Kernighan-Lin grows too fast for the whole).

Timings on a shared machine are noisy: compare the ratios measured in one run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time


def _median(fn, repeats):
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=4000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)

    from neuroattn.backends import simulate
    from neuroattn.hardware import count_synops, export_nir, import_nir, map_network, write_nir
    from neuroattn.model.library import cuba

    net = cuba(args.n, spikes=True)
    simulate(net, duration=0.01, dt=1e-4, backend="numba")  # load the kernel
    t_sim, rec = _median(lambda: simulate(net, duration=1.0, dt=1e-4, seed=0,
                                          backend="numba"), args.repeats)
    path = os.path.join(tempfile.mkdtemp(), "cuba.nir")
    t_exp, _ = _median(lambda: write_nir(export_nir(net), path), args.repeats)
    t_imp, _ = _median(lambda: import_nir(path), args.repeats)
    t_cnt, count = _median(lambda: count_synops(net, rec, 1e-4), args.repeats)
    t_metis, m = _median(lambda: map_network(net, "spinnaker2", "metis"), args.repeats)
    small = cuba(max(args.n // 5, 400), spikes=True)
    t_metis_s, ms = _median(lambda: map_network(small, "spinnaker2", "metis"), args.repeats)
    t_kl, mk = _median(lambda: map_network(small, "spinnaker2", "kernighan-lin"), 1)

    print(f"CUBA, {args.n} neurons, {m.total_synapses} synapses; median of {args.repeats}")
    print(f"{'step':<44}{'seconds':>10}{'ratio':>10}")
    print(f"{'numba: 1 s simulated':<44}{t_sim:>10.3f}{1.0:>10.2f}")
    rt = t_exp + t_imp
    print(f"{'NIR export + write, read + import':<44}{rt:>10.3f}{rt / t_sim:>10.2f}")
    print(f"{'count_synops of that second':<44}{t_cnt:>10.3f}{t_cnt / t_sim:>10.2f}")
    print(f"  {count.total_synops} synaptic operations, {sum(count.spikes.values())} spikes")
    print(f"{'map onto SpiNNaker2, METIS':<44}{t_metis:>10.3f}"
          f"  {m.n_cores} cores, {m.cut_synapses} cut")
    print(f"{f'  {small.n_neurons} neurons, METIS':<44}{t_metis_s:>10.3f}{1.0:>10.2f}"
          f"  {ms.n_cores} cores, {ms.cut_synapses} cut")
    ok = t_kl >= 5 * t_metis_s and ms.cut_synapses <= mk.cut_synapses
    print(f"{f'  {small.n_neurons} neurons, Kernighan-Lin':<44}{t_kl:>10.3f}"
          f"{t_kl / t_metis_s:>10.1f}  {mk.n_cores} cores, {mk.cut_synapses} cut; "
          f"target METIS >= 5x faster, cut no larger: {'met' if ok else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
