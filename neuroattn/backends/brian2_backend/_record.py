"""Read the monitors of one chunk back into numpy arrays in the Recording's layout."""

from __future__ import annotations

import numpy as np

from neuroattn.backends._common import RunSpec

__all__ = ["ChunkResult", "collect"]


class ChunkResult:
    """Spike counts [trials, steps] per population, per-trial spikes, and v traces."""

    __slots__ = ("counts", "spikes", "v")

    def __init__(self, counts: dict, spikes: list, v: dict):
        self.counts = counts
        self.spikes = spikes
        self.v = v


def collect(spec: RunSpec, built) -> ChunkResult:
    """Counts per step, spikes per trial (local indices, times step*dt) and v [trials, steps, k]."""
    n_b, n_steps, dt = built.n_trials, spec.n_steps, spec.dt
    sizes = {p.name: p.size for p in spec.network.populations}
    spike_pops = [pb.population for pb in spec.network.probes if pb.kind == "spikes"]
    counts, spikes = {}, [dict() for _ in range(n_b)]
    for pop, mon in built.spike_monitors.items():
        idx = np.asarray(mon.i[:], dtype=np.int64)
        step = np.rint(np.asarray(mon.t_[:]) / dt).astype(np.int64)
        keep = step < n_steps
        idx, step = idx[keep], step[keep]
        trial, local = np.divmod(idx, sizes[pop])
        flat = np.bincount(trial * n_steps + step, minlength=n_b * n_steps)
        counts[pop] = flat.reshape(n_b, n_steps)
        if pop in spike_pops:
            order = np.argsort(trial, kind="stable")
            bounds = np.searchsorted(trial[order], np.arange(n_b + 1))
            for b in range(n_b):
                sel = order[bounds[b]:bounds[b + 1]]
                spikes[b][pop] = (local[sel].astype(np.int64), step[sel].astype(np.float64) * dt)
    v = {}
    for pop, (mon, neurons) in built.v_monitors.items():
        arr = np.asarray(mon.v_[:], dtype=np.float64)[:, :n_steps]  # [b*k, steps]
        v[pop] = arr.reshape(n_b, len(neurons), -1).transpose(0, 2, 1).copy()
    return ChunkResult(counts, spikes, v)
